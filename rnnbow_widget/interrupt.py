"""Deferred Ctrl-C: training finishes the chunk in progress before it stops.

An interrupt in the middle of a chunk would leave parameters, optimizer state and hidden
state out of step with each other. Inside :class:`DeferredInterrupt` a SIGINT (Ctrl-C, or a
notebook's "interrupt kernel") only sets ``requested``; the training loop checks it between
chunks and raises ``KeyboardInterrupt`` itself.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

__all__ = ["DeferredInterrupt"]


class DeferredInterrupt:
    """Context in which SIGINT sets ``requested`` instead of raising.

    Only the main thread receives SIGINT and may install handlers; in other threads this does
    nothing. The previous handler is restored on exit.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _request(self, signum: int, frame: object) -> None:
        self.requested = True

    def __enter__(self) -> DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._request)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            # None: the previous handler was not installed from Python; use Python's default.
            previous = self._previous
            signal.signal(
                signal.SIGINT, signal.default_int_handler if previous is None else previous
            )
            self._installed = False
