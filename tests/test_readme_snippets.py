"""Every Python snippet in the README runs as pasted, each in a fresh namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def test_the_readme_has_its_snippets() -> None:
    # the quickstart, the itemize call and the comparison at least
    assert len(SNIPPETS) >= 3
    assert any("RNNbow(trainer)" in code for code in SNIPPETS)


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_snippet_runs_as_pasted(index: int, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a snippet may write files (saved runs, pages)
    code = compile(SNIPPETS[index], f"README.md, Python snippet {index + 1}", "exec")
    exec(code, {"__name__": "__readme__"})
