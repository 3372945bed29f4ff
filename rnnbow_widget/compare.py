"""Two or more runs side by side: linked hover, selection and magnitude scale.

``Comparison`` lays out one ``RNNbow`` per run in a grid. The views share a link group (the
``_link_group`` trait): in the browser, hovering or selecting a chunk in one run shows the
same chunk index in the others, without a round trip through the kernel (a busy kernel
cannot relay), and with ``linked_scale`` on the overview, the stacked bars and the horizon
panel of every run use the largest value over all runs. Each browser selection is still
written to every widget's ``selected_batch``, so Python sees it; from Python,
``Comparison.selected_batch`` sets all runs.

Intended uses: vanilla RNN vs LSTM, tanh vs relu, small vs large ``init_scale``, trained
on the same text with the same seed, so that the same chunk index covers the same text.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets

from rnnbow_widget import export

if TYPE_CHECKING:
    from rnnbow_widget.widget import RNNbow

__all__ = ["Comparison"]


class Comparison(ipywidgets.GridBox):
    """Runs shown side by side with linked hover, selection and magnitude scale.

    Built by :meth:`RNNbow.compare <rnnbow_widget.widget.RNNbow.compare>`.

    Parameters
    ----------
    widgets : sequence of RNNbow
        One widget per run (two or more).
    names : sequence of str or None, optional
        One heading per run, all different. Default: each recording's ``meta["title"]``,
        else "run 1", "run 2", ... (made unique by appending "(run i)" when titles repeat).
    linked_scale : bool, default True
        One magnitude scale across the runs: the overviews (over the chunks shown), the
        stacked bars and the horizon panel use the largest value over all runs (per chunk, or
        over all chunks with ``global_scale``).
    columns : int or None, optional
        Runs per row; default ``min(len(widgets), 2)``.

    Attributes
    ----------
    widgets : tuple of RNNbow
        One widget per run, in the order given.
    names : tuple of str
        The headings.

    Raises
    ------
    ValueError
        Fewer than two sources, a wrong number of names, or duplicate names.
    TypeError
        An unknown option, or a name that is not a str.

    Examples
    --------
    >>> from rnnbow_widget import CharRNNTrainer, RNNbow, corpora
    >>> text = corpora.c_code(50_000)  # doctest: +SKIP
    >>> rnn = CharRNNTrainer(text, cell="rnn", seed=0, record_every=10)  # doctest: +SKIP
    >>> lstm = CharRNNTrainer(text, cell="lstm", seed=0, record_every=10)  # doctest: +SKIP
    >>> cmp = RNNbow.compare(rnn, lstm, names=["vanilla", "LSTM"])  # doctest: +SKIP
    >>> cmp.display()  # doctest: +SKIP
    >>> cmp.selected_batch = 20  # both runs show chunk 20  # doctest: +SKIP
    >>> cmp.save_html("rnn-vs-lstm.html")  # doctest: +SKIP
    """

    def __init__(
        self,
        widgets: Sequence[RNNbow],
        *,
        names: Sequence[str] | None = None,
        linked_scale: bool = True,
        columns: int | None = None,
    ) -> None:
        if len(widgets) < 2:
            raise ValueError(
                f"sources: compare() needs at least two runs (trainers, recordings or .npz "
                f"paths), got {len(widgets)}"
            )
        if not isinstance(linked_scale, bool):
            raise TypeError(f"linked_scale must be a bool, got {type(linked_scale).__name__}")
        if columns is None:
            columns = min(len(widgets), 2)
        if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
            raise ValueError(f"columns must be a positive int or None, got {columns!r}")
        chosen = _names_for(list(widgets), names)
        group = f"rnnbow-compare-{uuid.uuid4().hex[:12]}"
        for widget, name in zip(widgets, chosen, strict=True):
            widget.set_trait("_link_group", group)
            widget.set_trait("_link_name", name)
            widget.linked_scale = linked_scale
        self._names = tuple(chosen)
        self._link_group = group
        self._relaying = False
        super().__init__(
            children=widgets,
            layout=ipywidgets.Layout(
                grid_template_columns=f"repeat({columns}, minmax(0, 1fr))",
                grid_gap="12px 16px",
                width="100%",
            ),
        )
        for widget in widgets:
            widget.observe(self._relay_selection, names="selected_batch")
            widget.observe(self._relay_linked_scale, names="linked_scale")
        self._open = True

    # ----------------------------------------------------------------- public API

    @property
    def widgets(self) -> tuple[RNNbow, ...]:
        """The ``RNNbow`` of each run, in the order given."""
        return tuple(self.children)

    @property
    def names(self) -> tuple[str, ...]:
        """The heading of each run."""
        return self._names

    @property
    def link_group(self) -> str:
        """The id the runs' views share in the browser (the widgets' ``_link_group``)."""
        return self._link_group

    @property
    def selected_batch(self) -> int:
        """Selected chunk index (the first run's; -1 = none). Setting it selects in every run.

        Each run clamps the value to its own ``[-1, len(recording) - 1]``.
        """
        return self.widgets[0].selected_batch

    @selected_batch.setter
    def selected_batch(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"selected_batch must be an int, got {type(value).__name__} {value!r}")
        self._set_all("selected_batch", value)

    @property
    def linked_scale(self) -> bool:
        """One magnitude scale across the runs (overview, stacked bars, horizon panel)."""
        return self.widgets[0].linked_scale

    @linked_scale.setter
    def linked_scale(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"linked_scale must be a bool, got {type(value).__name__}")
        self._set_all("linked_scale", value)

    def display(self) -> None:
        """Show the runs in the notebook output (same as ending a cell with the object)."""
        from IPython.display import display

        display(self)

    def save_html(self, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
        """Write one offline HTML page with every run, linked as in the notebook.

        As :meth:`RNNbow.save_html <rnnbow_widget.widget.RNNbow.save_html>`; the title
        defaults to the names joined by " vs ". Returns the path written.

        Examples
        --------
        >>> cmp.save_html("compare.html")  # doctest: +SKIP
        PosixPath('compare.html')
        """
        runs = [(widget.view_state(), widget.recording) for widget in self.widgets]
        return export.write_page(path, runs, " vs ".join(self.names) if title is None else title)

    def close(self) -> None:
        """Close every run's widget and the grid (again: no effect)."""
        if not getattr(self, "_open", False):
            return
        self._open = False
        for widget in self.widgets:
            widget.unobserve(self._relay_selection, names="selected_batch")
            widget.unobserve(self._relay_linked_scale, names="linked_scale")
            widget.close()
        super().close()

    def __repr__(self) -> str:
        return f"Comparison({', '.join(repr(name) for name in self._names)})"

    # ------------------------------------------------------------ linking in Python

    def _set_all(self, name: str, value: object) -> None:
        self._relaying = True
        try:
            for widget in self.widgets:
                setattr(widget, name, value)
        finally:
            self._relaying = False

    def _relay(self, change: dict[str, Any]) -> None:
        # A change to one run (from Python, or a browser write) is applied to the others;
        # their own changes (clamping, echoes) are not relayed back.
        if self._relaying:
            return
        self._relaying = True
        try:
            for widget in self.widgets:
                if widget is not change["owner"]:
                    setattr(widget, change["name"], change["new"])
        finally:
            self._relaying = False

    def _relay_selection(self, change: dict[str, Any]) -> None:
        self._relay(change)

    def _relay_linked_scale(self, change: dict[str, Any]) -> None:
        self._relay(change)


def _names_for(widgets: list[RNNbow], names: object) -> list[str]:
    count = len(widgets)
    if names is None:
        titles = [str(widget.recording.meta.get("title") or "") for widget in widgets]
        chosen = [title or f"run {i + 1}" for i, title in enumerate(titles)]
        if len(set(chosen)) < count:
            chosen = [f"{name} (run {i + 1})" for i, name in enumerate(chosen)]
        return chosen
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise TypeError(f"names must be a list or tuple of str, got {type(names).__name__}")
    if len(names) != count:
        raise ValueError(f"names: got {len(names)} names for {count} runs")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"names must all be str, got {type(name).__name__} {name!r}")
        if not name.strip():
            raise ValueError("names must not be empty")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"names must be different: {name!r} appears more than once")
        seen.add(name)
    return list(names)
