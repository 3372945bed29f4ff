"""The API reference is generated from the docstrings and kept current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "scripts" / "gen_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_public_name_has_a_docstring() -> None:
    assert _generator().undocumented() == []


def test_api_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == _generator().render(), "docs/api.md is stale: run python scripts/gen_api.py"


def test_readme_gives_the_two_setup_commands_and_links_the_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for needle in ("make demo", "make test", "docs/benchmarks.md", "docs/api.md", "notebooks/"):
        assert needle in readme, f"README.md does not mention {needle}"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_make_notebook_passes_allow_root_only_as_root() -> None:
    import os
    import subprocess

    dry_run = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "notebook"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "jupyter lab" in dry_run
    assert ("--allow-root" in dry_run) == (os.getuid() == 0)
