"""The progress bar of ``CharRNNTrainer.train``: chunks done, the smoothed loss and the
tokens per second, redrawn at most every 0.2 s (a widget in notebooks, text in a terminal)."""

from __future__ import annotations

import time

__all__ = ["TrainingProgress"]

REDRAW_SECONDS = 0.2


class TrainingProgress:
    """A progress bar over ``total`` chunks of ``tokens_per_chunk`` tokens named ``unit``."""

    def __init__(self, total: int, tokens_per_chunk: int, unit: str) -> None:
        from tqdm.auto import tqdm  # tqdm.auto looks for a notebook when first imported

        self._bar = tqdm(total=total, unit="chunk", desc="training", mininterval=REDRAW_SECONDS)
        self._tokens_per_chunk, self._unit = tokens_per_chunk, unit
        self._began = self._shown_at = time.perf_counter()

    def update(self, done: int, loss: float, *, now: bool = False) -> None:
        """Show ``done`` chunks and ``loss``, if the last redraw is old enough (or ``now``)."""
        moment = time.perf_counter()
        if not now and moment - self._shown_at < REDRAW_SECONDS:
            return
        self._shown_at, elapsed = moment, moment - self._began
        self._bar.update(done - self._bar.n)
        speed = done * self._tokens_per_chunk / elapsed if elapsed > 0 else 0.0
        self._bar.set_postfix_str(f"loss={loss:.3f}, {speed:,.0f} {self._unit}/s", refresh=False)

    def close(self, done: int, loss: float) -> None:
        """The final figures, then the bar is done."""
        self.update(done, loss, now=True)
        self._bar.close()
