"""Shared fixtures: one headless Chromium (Debian's package, driven by Playwright) per session.

Playwright's sync API allows one running instance per thread, so every browser test (the
standalone page, the exported page, JupyterLab and Notebook 7) shares the ``browser``
context below and opens its own pages in it.

Chromium missing: browser tests fail when ``CI`` is set (a CI machine must run them; see
``scripts/ensure-chromium.sh``) and are skipped with that reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1400, "height": 1100}


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium binary; fails under CI and skips elsewhere when it is missing."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = (
        f"Chromium is missing ({CHROMIUM}); install it with scripts/ensure-chromium.sh "
        "(Debian's chromium package)"
    )
    if os.environ.get("CI"):
        pytest.fail(message + " -- CI is set, so the browser tests must run")
    pytest.skip(message)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[object]:
    """A persistent Chromium context in a fresh profile directory, shared by the session."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="rnnbow-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(chromium_path),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def deliver_from_browser(widget: object, content: dict) -> None:
    """Deliver a custom message to ``widget`` the way the browser does: through its comm."""
    message = {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    widget.comm.handle_msg(message)


@pytest.fixture
def browser_sends():
    """``browser_sends(widget, content)``: a custom message from the browser to ``widget``."""
    return deliver_from_browser
