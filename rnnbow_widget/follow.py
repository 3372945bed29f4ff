"""Following a run directory that another process writes: a background thread keeps time.

Every ``POLL_SECONDS`` the thread asks for a poll of the directory (reading the new shards and
appending their records), run on the kernel's own event loop when there is one (Jupyter): the
loop runs between cells, so new records appear while the kernel is idle, never interrupt a
running cell, and the recording is only changed by the kernel's main thread. Without a kernel
(a script, marimo) the thread polls itself."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from rnnbow_widget.rundir import RunReader

__all__ = ["POLL_SECONDS", "RunFollower"]

POLL_SECONDS = 0.5
"""How often the directory is looked at: new records show within about a second."""


class RunFollower:
    """Poll ``reader`` every ``interval`` seconds and call ``on_change()`` after new records
    or problems arrived; stops by itself once the run is finished (and read to its end)."""

    def __init__(
        self, reader: RunReader, on_change: Callable[[], Any], interval: float = POLL_SECONDS
    ) -> None:
        self.reader = reader
        self._on_change = on_change
        self._interval = interval
        self._stop = threading.Event()
        self._loop = _kernel_loop()
        self._thread = threading.Thread(target=self._run, name="rnnbow-follow", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """True while the directory is being followed."""
        return self._thread.is_alive() and not self._stop.is_set()

    def stop(self) -> None:
        """Stop following (the records read so far stay)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            finished = self.reader.finished  # before the poll: no shard can follow it
            done = threading.Event()
            self._hand_over(functools.partial(self._poll, done))
            done.wait()
            if finished or not self.reader.path.is_dir():
                self._stop.set()

    def _hand_over(self, call: Callable[[], None]) -> None:
        if self._loop is None:
            call()
        else:
            self._loop.add_callback(call)

    def _poll(self, done: threading.Event) -> None:
        try:
            problems = len(self.reader.problems)
            if self.reader.poll() or len(self.reader.problems) != problems:
                self._on_change()
        finally:
            done.set()


def _kernel_loop() -> Any:
    """The running Jupyter kernel's event loop (tornado's IOLoop), or None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    return getattr(kernel, "io_loop", None)
