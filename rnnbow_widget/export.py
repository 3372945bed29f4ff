"""Standalone HTML export: one file that shows the views offline, straight from file://.

The page inlines the front end's standalone bundle (``static/standalone.js``: the widget's
own ``render`` behind an in-page model; it injects its own stylesheet), plus the state and
every record as JSON (columns as base64, the same bytes the widget sends). Nothing is fetched: a
Content-Security-Policy forbids any network access. Text from the corpus only ever
reaches the page inside that JSON, escaped so that it cannot close the script element,
and the views set it with ``textContent``.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnbow_widget import payload, units
from rnnbow_widget.recording import Recording

if TYPE_CHECKING:
    from rnnbow_widget.widget import RNNbow

_STATIC = Path(__file__).parent / "static"

_DEFAULT_STATE: dict[str, Any] = {
    "selected_batch": -1,
    "horizon": 5,
    "metric": "max",
    "log_scale": False,
    "global_scale": False,
    "show_help": False,
}

_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:"
)

# Shared by both pages: the offline policy, the data as inert JSON and the inlined bundle.
# ``{extra_style}``, ``{root_class}`` and the mounting script differ.
_PAGE_START = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rnnbow_widget">
<title>{title}</title>
<style>
body {{ margin: 16px; font-family: system-ui, sans-serif; }}
{extra_style}
</style>
</head>
<body>
<div id="rnnbow-root"{root_class}></div>
<script type="application/json" id="rnnbow-data">{data}</script>
<script>
{js}
</script>
<script>"""

_PAGE = (
    _PAGE_START.replace("{extra_style}\n", "").replace("{root_class}", "")
    + """
(function () {{
  var data = JSON.parse(document.getElementById("rnnbow-data").textContent);
  window.RNNbowStandalone.mount(
    document.getElementById("rnnbow-root"), data.state, data.blocks, data.units
  );
}})();
</script>
</body>
</html>
"""
)


def save_html(
    widget_or_recording: RNNbow | Recording,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Write a self-contained HTML page showing a recording's views.

    Parameters
    ----------
    widget_or_recording : RNNbow or Recording
        A widget (its current horizon, metric, selection, scales are kept) or a recording
        (default view settings).
    path : str or os.PathLike
        Where to write the page; its directory must exist.
    title : str or None, optional
        Page and view title; defaults to the recording's ``meta["title"]``, else "RNNbow".

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> from rnnbow_widget.export import save_html
    >>> save_html(trainer.recording, "run.html", title="C code, H=100")  # doctest: +SKIP
    PosixPath('run.html')
    """
    state, recording = _state_and_recording(widget_or_recording)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"path: the directory {str(target.parent)!r} does not exist")
    page_title = title if title is not None else (state["_meta"]["title"] or "RNNbow")
    state["_meta"]["title"] = page_title
    target.write_text(render_html(state, recording, page_title), encoding="utf-8")
    return target


_COMPARISON_PAGE = (
    _PAGE_START.replace(
        "{extra_style}",
        ".rnnbow-compare {{ display: grid;\n"
        "  grid-template-columns: repeat({columns}, minmax(0, 1fr)); gap: 12px 16px; }}",
    ).replace("{root_class}", ' class="rnnbow-compare"')
    + """
(function () {{
  var data = JSON.parse(document.getElementById("rnnbow-data").textContent);
  var root = document.getElementById("rnnbow-root");
  data.runs.forEach(function (run) {{
    var host = document.createElement("div");
    host.className = "rnnbow-compare-run";
    root.appendChild(host);
    window.RNNbowStandalone.mount(host, run.state, run.blocks);
  }});
}})();
</script>
</body>
</html>
"""
)


def save_comparison_html(
    comparison: Any,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Write one offline page showing every run of a comparison, linked as in the notebook.

    Parameters
    ----------
    comparison : rnnbow_widget.compare.Comparison
        The runs (their names, link group, selection and view settings are kept).
    path : str or os.PathLike
        Where to write the page; its directory must exist.
    title : str or None, optional
        Page title; default: the names joined by " vs ".

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> save_comparison_html(RNNbow.compare(a, b), "compare.html")  # doctest: +SKIP
    PosixPath('compare.html')
    """
    from rnnbow_widget.compare import Comparison

    if not isinstance(comparison, Comparison):
        raise TypeError(
            "comparison must be a Comparison (from RNNbow.compare), got "
            f"{type(comparison).__name__}"
        )
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"path: the directory {str(target.parent)!r} does not exist")
    runs = []
    for widget in comparison.widgets:
        state, recording = _state_and_recording(widget)
        state["linked_scale"] = widget.linked_scale
        state["_link_group"] = widget._link_group
        state["_link_name"] = widget._link_name
        encoded = payload.iter_blocks(recording, 0, None, payload.MAX_BLOCK_RECORDS)
        blocks = [payload.block_to_json(content, buffers) for content, buffers in encoded]
        runs.append({"state": state, "blocks": blocks})
    page_title = title if title is not None else " vs ".join(comparison.names)
    columns = min(len(runs), 2)
    text = _COMPARISON_PAGE.format(
        csp=_CSP,
        title=html.escape(page_title),
        columns=columns,
        data=json_for_script({"runs": runs}),
        js=escape_for_script(_read_bundle("standalone.js")),
    )
    target.write_text(text, encoding="utf-8")
    return target


def render_html(state: dict[str, Any], recording: Recording, title: str) -> str:
    """Build the page text for ``state`` (trait values) and all of ``recording``."""
    encoded = payload.iter_blocks(recording, 0, None, payload.MAX_BLOCK_RECORDS)
    blocks = [payload.block_to_json(content, buffers) for content, buffers in encoded]
    data = {"state": state, "blocks": blocks, "units": exported_units(state, recording)}
    return _PAGE.format(
        csp=_CSP,
        title=html.escape(title),
        data=json_for_script(data),
        js=escape_for_script(_read_bundle("standalone.js")),
    )


def exported_units(state: dict[str, Any], recording: Recording) -> list[dict[str, Any]]:
    """Per-unit data the page carries: the selected record's only (the latest if none).

    One record keeps the page small (65 KB of bfloat16 at n = 25, H = 100, as base64); the
    page says so when another chunk is shown. The answer is included even when that record
    has no per-unit data, so the page can say why.
    """
    if len(recording) == 0:
        return []
    selected = state.get("selected_batch", -1)
    index = selected if isinstance(selected, int) and 0 <= selected < len(recording) else -1
    content, buffers = units.units_message(recording, index % len(recording))
    return [units.units_to_json(content, buffers)]


def json_for_script(value: Any) -> str:
    """JSON text safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e`` and ``\\u0026``, so no text in
    the data (a corpus holding ``</script>`` for instance) can end the element early.

    Examples
    --------
    >>> json_for_script({"text": "</script>&"})
    '{"text": "\\\\u003c/script\\\\u003e\\\\u0026"}'
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def escape_for_script(source: str) -> str:
    """Make JavaScript source safe to inline in a ``<script>`` element.

    ``</script`` (any case) becomes ``<\\/script`` and ``<!--`` becomes ``<\\!--``; both
    read the same inside JavaScript strings and regular expressions.

    Examples
    --------
    >>> escape_for_script('s = "</SCRIPT>"')
    's = "<\\\\/SCRIPT>"'
    """
    source = re.sub(r"</(script)", r"<\\/\1", source, flags=re.IGNORECASE)
    return source.replace("<!--", "<\\!--")


def _state_and_recording(source: object) -> tuple[dict[str, Any], Recording]:
    if isinstance(source, Recording):
        recording = source
        state = dict(_DEFAULT_STATE)
        state["horizon"] = min(state["horizon"], recording.seq_length)
    elif hasattr(source, "recording") and hasattr(source, "_record_count"):
        recording = source.recording
        state = {name: getattr(source, name) for name in _DEFAULT_STATE}
    else:
        raise TypeError(
            "widget_or_recording must be an RNNbow widget or a Recording, got "
            f"{type(source).__name__}"
        )
    state["_meta"] = payload.meta_of(recording)
    state["_record_count"] = len(recording)
    return state, recording


def _read_bundle(name: str) -> str:
    path = _STATIC / name
    if not path.is_file():
        raise FileNotFoundError(
            f"rnnbow_widget's front-end bundle {path} is missing. Reinstall the package with "
            "`pip install .` (it builds the bundle), or run `npm install && npm run build` "
            "in the source tree."
        )
    return path.read_text(encoding="utf-8")
