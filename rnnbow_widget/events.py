"""Listeners: callbacks that a trainer calls when something happens (a new record, the end of
``train``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Listeners"]


class Listeners:
    """A list of callbacks, called in the order they were added.

    Examples
    --------
    >>> heard = []
    >>> listeners = Listeners()
    >>> stop = listeners.add(heard.append)
    >>> listeners.call(1); stop(); listeners.call(2)
    >>> heard
    [1]
    """

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def add(self, callback: Callable[..., Any]) -> Callable[[], None]:
        """Add ``callback``; returns a function that removes it again."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    def call(self, *args: Any) -> None:
        """Call every callback with ``args`` (those added during the call wait for the next)."""
        for callback in list(self._callbacks):
            callback(*args)
