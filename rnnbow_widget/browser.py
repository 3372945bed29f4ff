"""What the browser sends the kernel: requests for records and for the data behind a view, and
synced state to check.

The browser asks for records (``request_records``: history from its first gap on, thinned to
its memory budget, or one record's details), per-unit data (``request_units``) and one record's
whole triangle (``request_magnitudes``); the answers are binary messages built by
:mod:`rnnbow_widget.payload`. State a browser sends is checked here before it reaches the
traits: a wrong type or an unknown metric is dropped, not raised.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rnnbow_widget import payload

if TYPE_CHECKING:
    from rnnbow_widget.widget import RNNbow

METRICS = ("max", "mean", "horizon", "reach")
"""Overview bar heights: max / mean per-step gradient, effective horizon, reach."""


@dataclass(frozen=True)
class RecordsRequest:
    """A ``request_records`` message, checked.

    ``stop`` None asks for everything from ``start`` on (the browser's catch-up); otherwise
    the records ``[start, stop)`` whole (details the browser did not keep). ``detail_from`` and
    ``detail_stride``: the browser's keep plan (:func:`rnnbow_widget.payload.iter_blocks`).
    """

    start: int
    stop: int | None = None
    detail_from: int | None = None
    detail_stride: int = 1


def records_request(content: dict[str, Any], count: int) -> RecordsRequest:
    """The request in ``content``, with values out of range or of the wrong type replaced by
    what asks for every record from the start (the browser's first gap, else 0)."""
    start = _browser_int(content.get("start"))
    start = 0 if start is None else max(0, min(start, count))
    stop = _browser_int(content.get("stop"))
    if stop is not None:
        return RecordsRequest(start, max(start, min(stop, count)))
    detail_from = _browser_int(content.get("detail_from"))
    stride = _browser_int(content.get("detail_stride"))
    if detail_from is None or stride is None or detail_from < 0 or stride < 1:
        return RecordsRequest(start)
    return RecordsRequest(start, None, detail_from, stride)


def answer(widget: RNNbow, content: object, buffers: list[bytes]) -> None:
    """Answer one message from the browser (anything unknown is ignored)."""
    if not isinstance(content, dict):
        return
    kind = content.get("type")
    if kind == "request_records":
        widget._answer_request(records_request(content, len(widget.recording)))
    elif kind == "request_units":
        # Per-unit drilldown data of one record, one binary message.
        widget.send(*payload.units_message(widget.recording, content.get("index")))
    elif kind == "request_magnitudes":
        # One record's whole triangle (its records carry only the band), or the shown
        # sequence's own (column "example_magnitudes"), one binary message.
        index, column = content.get("index"), content.get("column", "magnitudes")
        widget.send(*payload.magnitudes_message(widget.recording, index, column))


def repair_state(sync_data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The browser's state update with each value checked: the values kept (some converted, e.g.
    a float selection to an int) and the names of those dropped."""
    repaired = dict(sync_data)
    rejected = []
    for name, check in _CHECKS.items():
        if name in repaired:
            value = check(repaired[name])
            if value is None:
                del repaired[name]
                rejected.append(name)
            else:
                repaired[name] = value
    return repaired, rejected


def _browser_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return None


def _browser_metric(value: object) -> str | None:
    return value if value in METRICS else None


def _browser_height(value: object) -> int | None:
    height = _browser_int(value)
    return height if height is not None and height >= 0 else None


def _browser_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _browser_budget(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


_CHECKS: dict[str, Callable[[object], object]] = {
    "selected_batch": _browser_int,
    "horizon": _browser_int,
    "metric": _browser_metric,
    "log_scale": _browser_bool,
    "global_scale": _browser_bool,
    "show_help": _browser_bool,
    "show_others": _browser_bool,
    "per_example": _browser_bool,
    "height": _browser_height,
    "details_budget_mb": _browser_budget,
    "linked_scale": _browser_bool,
}
