"""Standalone HTML export: escaping, contents, and the page itself in Chromium via file://."""

from __future__ import annotations

import base64
import html.parser
import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from rnnbow_widget import export, payload
from rnnbow_widget.recording import Recording
from rnnbow_widget.trainer import CharRNNTrainer
from rnnbow_widget.widget import VIEW_TRAITS, RNNbow

INJECTION = "</script><script>alert(1)</script> <img src=x onerror=alert(1)> "
HOSTILE_TITLE = "</title><script>alert('title')</script>"


def injection_trainer(steps: int = 12) -> CharRNNTrainer:
    text = (INJECTION + "int x = a & b; // <!-- not a comment -->\n") * 30
    trainer = CharRNNTrainer(text, hidden_size=8, seq_length=20, record_every=1)
    trainer.train(steps, progress=False)
    return trainer


class ScriptCollector(html.parser.HTMLParser):
    """Parses a page the way a browser tokenizes it: lists the elements and script bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def parse(page: str) -> ScriptCollector:
    collector = ScriptCollector()
    collector.feed(page)
    return collector


def embedded_data(page: str) -> dict:
    """The one run a single-run page holds: its state, blocks and units."""
    scripts = parse(page).scripts
    data = [text for attrs, text in scripts if attrs.get("type") == "application/json"]
    assert len(data) == 1
    (run,) = json.loads(data[0])["runs"]
    return run


def save_html(recording: Recording, path, **options) -> object:
    return RNNbow(recording).save_html(path, **options)


# ------------------------------------------------------------------ escaping helpers


def test_json_for_script_escapes_markup_characters():
    text = export.json_for_script({"a": "</script><img src=x onerror=alert(1)>&amp;"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><img src=x onerror=alert(1)>&amp;"}


def test_json_for_script_escapes_line_separators():
    text = export.json_for_script(["\u2028\u2029"])
    assert "\u2028" not in text and json.loads(text) == ["\u2028\u2029"]


def test_escape_for_script_breaks_every_closing_tag_spelling():
    source = 'a = "</script>"; b = "</SCRIPT >"; c = "</ScRiPt"; d = "<!--";'
    escaped = export.escape_for_script(source)
    assert re.search(r"</script", escaped, re.IGNORECASE) is None
    assert "<!--" not in escaped
    assert escaped.count("<\\/") == 3


# ------------------------------------------------------------------ page contents


def test_page_is_self_contained(tmp_path):
    path = save_html(injection_trainer(3).recording, tmp_path / "p.html")
    page = path.read_text(encoding="utf-8")
    assert re.search(r"\b(src|href)\s*=\s*[\"']?(https?:)?//", page) is None
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    scripts = parse(page).scripts
    assert [attrs for attrs, _ in scripts] == [
        {"type": "application/json", "id": "rnnbow-data"},
        {},
        {},
    ]
    standalone = (export.STATIC / "standalone.js").read_text(encoding="utf-8")
    assert len(scripts[1][1]) >= len(standalone) - 100


def test_injection_strings_stay_inside_the_json_element(tmp_path):
    trainer = injection_trainer()
    path = save_html(trainer.recording, tmp_path / "p.html", title=HOSTILE_TITLE)
    page = path.read_text(encoding="utf-8")
    parsed = parse(page)
    # Exactly our three script elements and no img element came out of the page.
    assert parsed.tags.count("script") == 3
    assert "img" not in parsed.tags
    assert "alert(1)" not in page.split('id="rnnbow-data">')[0]
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(&#x27;title&#x27;)" in page
    data = embedded_data(page)
    assert data["state"]["_meta"]["title"] == HOSTILE_TITLE
    assert {"<", "/", ">", "&", "!"} <= set(data["state"]["_meta"]["vocab"])


def test_embedded_blocks_carry_every_record(tmp_path, monkeypatch):
    monkeypatch.setattr(payload, "MAX_BLOCK_RECORDS", 5)
    recording = injection_trainer(12).recording
    data = embedded_data(save_html(recording, tmp_path / "p.html").read_text("utf-8"))
    assert [(b["start"], b["count"]) for b in data["blocks"]] == [(0, 5), (5, 5), (10, 2)]
    steps = []
    for block in data["blocks"]:
        column = next(c for c in block["columns"] if c["name"] == "step")
        steps += np.frombuffer(base64.b64decode(column["data_b64"]), "<i4").tolist()
    assert steps == list(range(12))
    assert data["state"]["_record_count"] == 12


def test_widget_state_is_kept(tmp_path):
    w = RNNbow(injection_trainer(6), horizon=3, metric="reach", log_scale=True)
    w.selected_batch = 4
    data = embedded_data(w.save_html(tmp_path / "w.html").read_text("utf-8"))
    state = data["state"]
    assert (state["horizon"], state["metric"], state["selected_batch"]) == (3, "reach", 4)
    assert state["log_scale"] is True and state["global_scale"] is False
    assert state["_meta"]["seq_length"] == 20 and state["_record_count"] == 6
    assert set(state) == set(VIEW_TRAITS)  # the page gets every trait the views read
    w.close()


def test_recording_export_uses_default_view_settings(tmp_path):
    recording = Recording(3, "ab")
    data = embedded_data(save_html(recording, tmp_path / "r.html").read_text("utf-8"))
    assert data["state"]["horizon"] == 3  # the paper's 5, clamped to n
    assert data["state"]["selected_batch"] == -1 and data["blocks"] == []
    assert data["state"]["_meta"]["title"] == "RNNbow"


def test_write_page_rejects_a_path_of_another_type():
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike, got int"):
        export.write_page(3, [], "t")


def test_save_html_rejects_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"path: the directory .*nowhere.* does not exist"):
        save_html(Recording(3, "ab"), tmp_path / "nowhere" / "x.html")


def test_save_html_rejects_a_non_string_title(tmp_path):
    with pytest.raises(TypeError, match="title must be a str or None, got int"):
        save_html(Recording(3, "ab"), tmp_path / "x.html", title=3)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_exported_page_gets_the_mode_a_plain_open_would(tmp_path, umask, mode):
    w = RNNbow(injection_trainer(3).recording)
    previous = os.umask(umask)
    try:
        path = w.save_html(tmp_path / "page.html")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_keep_plans_match_the_browsers():
    # The same table checks js/data/budget.ts (js/test/budget.test.ts).
    plans = json.loads((Path(__file__).parent / "fixtures" / "keep_plans.json").read_text())
    assert len(plans) >= 10
    for plan in plans:
        got = payload.keep_plan(plan["count"], plan["detail_bytes"], plan["budget_mb"])
        assert got == (plan["from"], plan["stride"]), plan


def test_a_page_carries_every_summary_and_the_details_a_browser_would_keep():
    trainer = CharRNNTrainer("int main(void) { return 0; }\n" * 200, hidden_size=8,
                             seq_length=6, record_every=1, seed=0)  # fmt: skip
    trainer.train(1000, progress=False)
    # room for 64 records' details at n = 6 (78 bytes each): the newest 32, every 32nd older
    w = RNNbow(trainer.recording, details_budget_mb=64 * 78 / 2**20)
    w.selected_batch = 101
    summaries, details = set(), set()
    for block in export.exported_blocks(w.view_state(), w.recording):
        indices = range(block["start"], block["start"] + block["count"] * block.get("stride", 1),
                        block.get("stride", 1))  # fmt: skip
        summaries.update(indices)
        if any(column["name"] == "targets" for column in block["columns"]):
            details.update(indices)
    assert summaries == set(range(1000))
    detail_from, stride = payload.keep_plan(1000, 78, 64 * 78 / 2**20)
    kept = {i for i in range(1000) if i >= detail_from or i % stride == 0}
    assert details == kept | {101} and len(details) <= 65
