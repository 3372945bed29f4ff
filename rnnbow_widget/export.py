"""Standalone HTML export: one file that shows the views offline, straight from file://.

A page is written from (view state, recording) pairs: one pair for one run, several for a
comparison (laid out in a grid, linked as in the notebook when their states share a link
group). It inlines the front end's standalone bundle (``static/standalone.js``: the widget's
own ``render`` behind an in-page model), the states, and every record as JSON (columns as
base64, the same bytes the widget sends), plus the per-unit data of each run's selected
record and, for long chunks whose records carry only the band of nearest sources, that
record's whole magnitude triangle. Nothing is fetched: a Content-Security-Policy forbids any
network access. Text from the corpus reaches the page only inside that JSON, escaped so that it
cannot close the script element, and the views set it with ``textContent``.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnbow_widget import payload
from rnnbow_widget.columns import sends_band
from rnnbow_widget.npzfile import write_atomically
from rnnbow_widget.recording import Recording

__all__ = [
    "escape_for_script",
    "exported_magnitudes",
    "json_for_script",
    "render_page",
    "write_page",
]

STATIC = Path(__file__).parent / "static"

_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:"
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rnnbow_widget">
<title>{title}</title>
<style>
body {{ margin: 16px; font-family: system-ui, sans-serif; }}
.rnnbow-compare {{ display: grid;
  grid-template-columns: repeat({columns}, minmax(0, 1fr)); gap: 12px 16px; }}
</style>
</head>
<body>
<div id="rnnbow-root"{root_class}></div>
<script type="application/json" id="rnnbow-data">{data}</script>
<script>
{js}
</script>
<script>
(function () {{
  var data = JSON.parse(document.getElementById("rnnbow-data").textContent);
  var root = document.getElementById("rnnbow-root");
  data.runs.forEach(function (run) {{
    var host = root;
    if (data.runs.length > 1) {{
      host = document.createElement("div");
      host.className = "rnnbow-compare-run";
      root.appendChild(host);
    }}
    window.RNNbowStandalone.mount(host, run.state, run.blocks, run.units, run.magnitudes);
  }});
}})();
</script>
</body>
</html>
"""


def bundle(name: str) -> Path:
    """The path of a built front-end file, with a clear error when the build is missing."""
    path = STATIC / name
    if not path.is_file():
        raise FileNotFoundError(
            f"rnnbow_widget's front-end bundle {path} is missing. Reinstall the package with "
            "`pip install .` (it builds the bundle), or run `npm install && npm run build` "
            "in the source tree."
        )
    return path


def write_page(
    path: str | os.PathLike[str],
    runs: Sequence[tuple[dict[str, Any], Recording]],
    title: str,
) -> Path:
    """Write the page of ``runs`` to ``path`` (atomically) and return the path.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; its directory must exist.
    runs : sequence of (dict, Recording)
        Each run's complete view state (every synced trait of the widget) and recording.
    title : str
        The page's title.
    """
    if not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"path: the directory {str(target.parent)!r} does not exist")
    text = render_page(runs, title).encode("utf-8")
    write_atomically(target, lambda file: file.write(text))
    return target


def render_page(runs: Sequence[tuple[dict[str, Any], Recording]], title: str) -> str:
    """The page text of ``runs`` (see :func:`write_page`)."""
    data = {"runs": [_run_data(state, recording) for state, recording in runs]}
    return _PAGE.format(
        csp=_CSP,
        title=html.escape(title),
        columns=min(len(runs), 2),
        root_class=' class="rnnbow-compare"' if len(runs) > 1 else "",
        data=json_for_script(data),
        js=escape_for_script(bundle("standalone.js").read_text(encoding="utf-8")),
    )


def _run_data(state: dict[str, Any], recording: Recording) -> dict[str, Any]:
    return {
        "state": state,
        "blocks": exported_blocks(state, recording),
        "units": exported_units(state, recording),
        "magnitudes": exported_magnitudes(state, recording),
    }


def exported_blocks(state: dict[str, Any], recording: Recording) -> list[dict[str, Any]]:
    """The records a page carries: every record's summary numbers, and the details of those a
    browser keeps within the view's ``details_budget_mb`` (:func:`payload.keep_plan`: the newest,
    and evenly thinned older ones) plus the selected record's; the page says so for the others.
    """
    n, held = recording.seq_length, recording.column_names
    detail_bytes = payload.bytes_per_record(n, len(recording.vocab), held, details=True)
    budget = state.get("details_budget_mb")  # None (a partial state): every record whole
    detail_from, stride = (
        (0, 1) if budget is None else payload.keep_plan(len(recording), detail_bytes, budget)
    )
    blocks = payload.iter_blocks(recording, detail_from=detail_from, detail_stride=stride)
    out = [payload.block_to_json(*block) for block in blocks]
    if len(recording) and detail_from > 0:
        index = _exported_index(state, recording)
        if index < detail_from and index % stride:
            out.append(payload.block_to_json(*payload.encode_block(recording, index, index + 1)))
    return out


def _exported_index(state: dict[str, Any], recording: Recording) -> int:
    """The record whose on-demand data a page carries: the selected one, else the latest."""
    selected = state.get("selected_batch", -1)
    index = selected if isinstance(selected, int) and 0 <= selected < len(recording) else -1
    return index % len(recording)


def exported_units(state: dict[str, Any], recording: Recording) -> list[dict[str, Any]]:
    """The per-unit data a page carries: the selected record's only (the latest if none).

    One record keeps the page small (65 KB of bfloat16 at n = 25, H = 100, as base64); the
    page says so when another chunk is shown. The answer is included even when that record
    has no per-unit data, so the page can say why.
    """
    if len(recording) == 0:
        return []
    index = _exported_index(state, recording)
    return [payload.answer_to_json(*payload.units_message(recording, index))]


def exported_magnitudes(state: dict[str, Any], recording: Recording) -> list[dict[str, Any]]:
    """The whole magnitude triangles a page carries: none for short chunks (their records hold
    them), the selected record's only (the latest if none) for long chunks, whose records carry
    the band of the nearest sources (256 KB of bfloat16 at n = 512, as base64), and that
    record's per-example triangle when the recording has them; for the other chunks the page
    shows the band and says so."""
    if len(recording) == 0 or not sends_band(recording.seq_length):
        return []
    index = _exported_index(state, recording)
    columns = [name for name in payload.TRIANGLE_COLUMNS if name in recording.column_names]
    answers = (payload.magnitudes_message(recording, index, name) for name in columns)
    return [payload.answer_to_json(*answer) for answer in answers]


def json_for_script(value: Any) -> str:
    """JSON text safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e`` and ``\\u0026``, so no text in the
    data (a corpus holding ``</script>`` for instance) can end the element early.

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

    ``</script`` (any case) becomes ``<\\/script`` and ``<!--`` becomes ``<\\!--``; both read
    the same inside JavaScript strings and regular expressions.

    Examples
    --------
    >>> escape_for_script('s = "</SCRIPT>"')
    's = "<\\\\/SCRIPT>"'
    """
    source = re.sub(r"</(script)", r"<\\/\1", source, flags=re.IGNORECASE)
    return source.replace("<!--", "<\\!--")
