"""The Jupyter widget: four linked views of a recording, live while a trainer runs.

``RNNbow`` owns the synced traits of ``docs/data-contract.md`` and sends records to the
browser as binary ``records`` messages. History is sent when a view asks for it
(``request_records``); while a trainer runs, every new record is pushed as it is recorded,
at most one message per ``PUSH_INTERVAL`` seconds, and whatever is left is flushed when
``train()`` or ``step()`` returns. Only records the browser has not been sent are pushed.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from rnnbow_widget import browser, export, payload, sources
from rnnbow_widget.browser import METRICS
from rnnbow_widget.columns import max_horizon
from rnnbow_widget.compare import Comparison
from rnnbow_widget.follow import RunFollower
from rnnbow_widget.recording import Record, Recording

PUSH_INTERVAL = 0.4
"""Seconds between two live pushes while a trainer runs."""

OPTIONS = (
    "horizon",
    "metric",
    "log_scale",
    "global_scale",
    "show_help",
    "show_others",
    "per_example",
    "height",
    "details_budget_mb",
)
"""The view options ``RNNbow(...)`` takes as keyword arguments."""

VIEW_TRAITS = (
    "selected_batch",
    *OPTIONS,
    "linked_scale",
    "_link_group",
    "_link_name",
    "_meta",
    "_record_count",
)
"""Every trait the views read: a page or a view needs all of them (``view_state``)."""


class RNNbow(anywidget.AnyWidget):
    """Interactive RNNbow views of a recording: overview, labels, stacked bars, horizon.

    Parameters
    ----------
    source : CharRNNTrainer, pytorch.Recorder, Recording, str or os.PathLike
        A trainer or a PyTorch ``Recorder`` (the views follow its recording live), a recording,
        or the path of a recording saved with ``Recording.save`` (``.npz``) or of a run
        directory (followed while another process writes it).
    horizon : int, optional
        k, the number of source losses stacked per bar (paper: 5); clamped to 1..n, and to
        1..32 (``columns.K_BAND``) for chunks of 64 steps or more, whose records the browser
        receives as that band.
    metric : {"max", "mean", "horizon", "reach"}, optional
        What the overview bars show.
    log_scale : bool, optional
        Log scale in the gradient-horizon panel.
    global_scale : bool, optional
        Scale the stacked bars across all chunks instead of per chunk.
    show_help : bool, optional
        Show the reading guidance.
    show_others : bool, optional
        Stack the sources beyond the k nearest as one grey "others" segment on top of each
        bar, so that a bar's height is the whole gradient of its step (default True).
    per_example : bool, optional
        For a recording with per-example magnitudes (a PyTorch ``Recorder``'s): the stacked
        bars and the gradient horizon show the gradient of the shown sequence's own losses
        instead of the whole batch's (default False). No effect on other recordings.
    height : int, optional
        Bound the widget to this many pixels (0, the default, lets it take the height its
        views need); for output areas that cut tall outputs off, such as marimo's editor.
    details_budget_mb : float, optional
        MiB of record details (labels, per-step losses, magnitudes) the browser keeps (160 by
        default): every record's summary numbers stay for the overview, details only for the
        newest records and evenly thinned older ones. Others are fetched from the kernel when
        shown, while it is not busy.

    Attributes
    ----------
    selected_batch : int
        Index of the selected record, -1 for none. Synced with the browser; values out of
        range are clamped to ``[-1, len(recording) - 1]``.

    Examples
    --------
    >>> from rnnbow_widget import CharRNNTrainer, RNNbow, corpora
    >>> trainer = CharRNNTrainer(corpora.c_code(50_000), hidden_size=32)  # doctest: +SKIP
    >>> w = RNNbow(trainer, horizon=5)  # doctest: +SKIP
    >>> w.display()  # doctest: +SKIP
    >>> trainer.train(2000)  # the overview grows while this runs  # doctest: +SKIP
    >>> w.selected_batch = 3; w.selected_record.inputs  # doctest: +SKIP
    """

    _esm = export.bundle("widget.js")
    _css = export.bundle("widget.css")

    selected_batch = traitlets.Int(-1).tag(sync=True)
    horizon = traitlets.Int(5).tag(sync=True)
    metric = traitlets.Unicode("max").tag(sync=True)
    log_scale = traitlets.Bool(False).tag(sync=True)
    global_scale = traitlets.Bool(False).tag(sync=True)
    show_help = traitlets.Bool(False).tag(sync=True)
    show_others = traitlets.Bool(True).tag(sync=True)
    per_example = traitlets.Bool(False).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    details_budget_mb = traitlets.Float(160.0).tag(sync=True)
    _meta = traitlets.Dict().tag(sync=True)
    _record_count = traitlets.Int(0).tag(sync=True)
    # Comparison (rnnbow_widget.compare): views with the same non-empty _link_group share
    # hover, selection and, when linked_scale is on, one magnitude scale.
    linked_scale = traitlets.Bool(True).tag(sync=True)
    _link_group = traitlets.Unicode("").tag(sync=True)
    _link_name = traitlets.Unicode("").tag(sync=True)

    _follower: RunFollower | None = None  # set when following a run directory

    def __init__(
        self,
        source: sources.Source,
        *,
        horizon: int = 5,
        metric: str = "max",
        log_scale: bool = False,
        global_scale: bool = False,
        show_help: bool = False,
        show_others: bool = True,
        per_example: bool = False,
        height: int = 0,
        details_budget_mb: float = 160.0,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise TypeError(
                f"RNNbow() got unexpected keyword argument(s) {', '.join(sorted(unknown))}; "
                f"accepted: {', '.join(OPTIONS)}"
            )
        recording, trainer, reader = sources.resolve(source)
        self._recording = recording
        self._trainer = trainer
        self._pushed = len(recording)
        self._last_push = float("-inf")
        self._unsubscribers: list[Callable[[], object]] = []
        super().__init__(
            _meta=payload.meta_of(recording),
            _record_count=len(recording),
            horizon=horizon,
            metric=metric,
            log_scale=log_scale,
            global_scale=global_scale,
            show_help=show_help,
            show_others=show_others,
            per_example=per_example,
            height=height,
            details_budget_mb=details_budget_mb,
        )
        self.on_msg(browser.answer)
        if trainer is not None:
            self._subscribe(trainer)
        if reader is not None:
            self._refresh_meta()
            if not reader.finished:
                self._follower = RunFollower(reader, self._on_run_change)

    # ----------------------------------------------------------------- public API

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **options: Any) -> RNNbow:
        """Open a recording saved with ``Recording.save``.

        Examples
        --------
        >>> w = RNNbow.from_file("run.npz")  # doctest: +SKIP
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
        return cls(path, **options)

    @property
    def recording(self) -> Recording:
        """The recording the views show (the trainer's own, when built from a trainer)."""
        return self._recording

    @property
    def trainer(self) -> sources.LiveSource | None:
        """The trainer or PyTorch recorder being followed, or None."""
        return self._trainer

    @property
    def selected_record(self) -> Record | None:
        """The selected record, or None when nothing is selected (``selected_batch == -1``).

        Examples
        --------
        >>> w.selected_batch = 0; w.selected_record.step  # doctest: +SKIP
        0
        """
        if self.selected_batch < 0 or self.selected_batch >= len(self._recording):
            return None
        return self._recording[self.selected_batch]

    def display(self) -> None:
        """Show the widget in the notebook output (same as ending a cell with it)."""
        from IPython.display import display

        display(self)

    @classmethod
    def default_view_state(cls) -> dict[str, Any]:
        """The default of every trait the views read (:data:`VIEW_TRAITS`): the one place
        view defaults come from (an empty ``_meta`` and no records)."""
        traits = cls.class_traits()
        return {name: traits[name].default() for name in VIEW_TRAITS}

    def view_state(self) -> dict[str, Any]:
        """The value of every trait the views read (:data:`VIEW_TRAITS`), e.g. for a page."""
        return {name: getattr(self, name) for name in VIEW_TRAITS}

    def save_html(self, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
        """Write a self-contained HTML page of these views (works offline, from file://).

        The page keeps the current horizon, metric, selection and scales.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write the page; its directory must exist.
        title : str or None, optional
            Page and view title; default: the recording's ``meta["title"]``, else "RNNbow".

        Examples
        --------
        >>> w.save_html("run.html")  # doctest: +SKIP
        PosixPath('run.html')
        """
        state = self.view_state()
        if title is None:
            title = state["_meta"]["title"] or "RNNbow"
        if isinstance(title, str):
            state["_meta"] = {**state["_meta"], "title": title}
        return export.write_page(path, [(state, self._recording)], title)

    @property
    def following(self) -> bool:
        """True while the views follow a run directory that another process writes."""
        return self._follower is not None and self._follower.running

    def stop_following(self) -> None:
        """Stop following the run directory (what arrived stays); it also stops by itself
        once the writer marks the run finished."""
        if self._follower is not None:
            self._follower.stop()

    def _on_run_change(self) -> None:
        self._refresh_meta()
        self._push_new_records(force=True)

    def close(self) -> None:
        """Stop following the trainer or run directory and close the widget."""
        self._unsubscribe()
        self.stop_following()
        super().close()

    # ------------------------------------------------------------ trait checks

    @traitlets.validate("selected_batch")
    def _clamp_selected_batch(self, proposal: dict[str, Any]) -> int:
        value = _integer(proposal["value"], "selected_batch")
        return max(-1, min(value, len(self._recording) - 1))

    @traitlets.validate("horizon")
    def _clamp_horizon(self, proposal: dict[str, Any]) -> int:
        value = _integer(proposal["value"], "horizon")
        return max(1, min(value, max_horizon(self._recording.seq_length)))

    @traitlets.validate("height")
    def _check_height(self, proposal: dict[str, Any]) -> int:
        value = _integer(proposal["value"], "height")
        if value < 0:
            raise traitlets.TraitError(
                f"height must be 0 (the views' natural height) or a number of pixels; got {value}"
            )
        return value

    @traitlets.validate("details_budget_mb")
    def _check_budget(self, proposal: dict[str, Any]) -> float:
        value = proposal["value"]
        if not value > 0 or value == float("inf"):
            raise traitlets.TraitError(
                f"details_budget_mb must be a positive number of MiB (e.g. 160); got {value!r}"
            )
        return value

    @traitlets.validate("metric")
    def _check_metric(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in METRICS:
            raise traitlets.TraitError(
                f"metric must be one of {', '.join(METRICS)}; got {proposal['value']!r}"
            )
        return proposal["value"]

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply a state update from the browser, repairing values instead of raising.

        A wrong type or an unknown metric is dropped and the kernel's value is sent back,
        so the browser returns to a valid state; numbers out of range are clamped by the
        validators and the clamped value is echoed.
        """
        repaired, rejected = browser.repair_state(sync_data)
        super().set_state(repaired)
        if rejected:
            self.send_state(rejected)

    # ------------------------------------------------------------ records out

    def _send_records(self, start: int, stop: int | None = None) -> None:
        blocks = payload.iter_blocks(self._recording, start, stop, payload.MAX_BLOCK_RECORDS)
        for content, buffers in blocks:
            self.send(content, buffers)

    def _answer_request(self, request: browser.RecordsRequest) -> None:
        """Send the records a browser asked for (all from its first gap on, thinned to its
        keep plan, or one range whole)."""
        count = len(self._recording)
        blocks = payload.iter_blocks(
            self._recording,
            request.start,
            request.stop,
            payload.MAX_BLOCK_RECORDS,
            detail_from=request.detail_from,
            detail_stride=request.detail_stride,
        )
        for content, buffers in blocks:
            self.send(content, buffers)
        if request.stop is None:
            self._pushed = max(self._pushed, count)
            self._record_count = count

    def _push_new_records(self, *, force: bool) -> None:
        """Send records appended since the last push (throttled unless ``force``)."""
        now = time.monotonic()
        if not force and now - self._last_push < PUSH_INTERVAL:
            return  # before len(): the recording keeps queueing the trainer's records
        count = len(self._recording)
        if count <= self._pushed:
            return
        self._send_records(self._pushed, count)
        self._pushed = count
        self._last_push = now
        self._record_count = count

    def _refresh_meta(self) -> None:
        """Send ``_meta`` again when the recording's meta changed (e.g. ``"diverged"``), or
        the run directory followed reported a problem."""
        meta = payload.meta_of(self._recording)
        if self._follower is not None and self._follower.reader.problems:
            meta["problems"] = list(self._follower.reader.problems)
        if meta != self._meta:
            self._meta = meta

    @classmethod
    def compare(
        cls,
        source_a: sources.Source,
        source_b: sources.Source,
        *more: sources.Source,
        names: list[str] | tuple[str, ...] | None = None,
        linked_scale: bool = True,
        columns: int | None = None,
        **options: Any,
    ) -> Comparison:
        """Show two or more runs side by side, with linked hover, selection and scale.

        Parameters
        ----------
        source_a, source_b, *more : CharRNNTrainer, pytorch.Recorder, Recording, str or path
            The runs: trainers (followed live), recordings or ``.npz`` paths.
        names : sequence of str or None, optional
            One heading per run, all different. Default: each recording's ``meta["title"]``,
            else "run 1", "run 2", ... (made unique when titles repeat).
        linked_scale : bool, default True
            One magnitude scale across the runs (overview, stacked bars, horizon panel).
        columns : int or None, optional
            Runs per row; default ``min(runs, 2)``.
        **options
            The view options of ``RNNbow`` (:data:`OPTIONS`): passed to
            every run's ``RNNbow``.

        Examples
        --------
        >>> cmp = RNNbow.compare(rnn_trainer, lstm_trainer, names=["RNN", "LSTM"])  # doctest: +SKIP
        >>> cmp.selected_batch = 10  # both runs select chunk 10  # doctest: +SKIP
        """
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            accepted = ", ".join(("names", "linked_scale", "columns", *OPTIONS))
            raise TypeError(
                f"compare() got unexpected keyword argument(s) {', '.join(unknown)}; "
                f"accepted: {accepted}"
            )
        sources = [source_a, source_b, *more]
        widgets = [cls(source, **options) for source in sources]
        try:
            return Comparison(widgets, names=names, linked_scale=linked_scale, columns=columns)
        except (TypeError, ValueError):
            for widget in widgets:
                widget.close()
            raise

    # --------------------------------------------------------- trainer links

    def _subscribe(self, trainer: sources.LiveSource) -> None:
        # The trainer holds only weak references to the widget: a widget that is garbage
        # collected stops being pushed to, and unsubscribes when it goes.
        ref = weakref.ref(self)

        def on_record(*_: object) -> None:
            widget = ref()
            if widget is not None:
                widget._push_new_records(force=False)

        def on_train_end(*_: object) -> None:
            widget = ref()
            if widget is not None:
                widget._push_new_records(force=True)
                widget._refresh_meta()

        self._unsubscribers = [
            trainer.on_record(on_record, decoded=False),
            trainer.on_train_end(on_train_end),
        ]
        self._finalizer = weakref.finalize(self, _call_all, list(self._unsubscribers))

    def _unsubscribe(self) -> None:
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()
        self._unsubscribers = []


def _call_all(callbacks: list[Callable[[], object]]) -> None:
    for callback in callbacks:
        callback()


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise traitlets.TraitError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    return value
