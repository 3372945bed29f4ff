"""Harness for the browser tests: Debian's Chromium driven by Playwright, and one Jupyter server.

One ``jupyter lab`` server (it serves both JupyterLab at ``/lab`` and Notebook 7 at
``/notebooks``) is started for the session on 127.0.0.1, a free port, a random token and a
temporary root directory, with Lab's news popup switched off; it is stopped through its
API, then by signalling its own pid only. The kernel imports ``rnnbow_widget`` from this
checkout (``PYTHONPATH``), so nothing needs installing.

The browser itself (``chromium_path``, ``browser``, ``artifacts``) comes from
``tests/conftest.py``, shared with the other browser tests so that one Playwright instance
serves the whole session.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 1400, "height": 1100}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


# ---------------------------------------------------------------------- the Jupyter server


@dataclass
class JupyterServer:
    base_url: str
    token: str
    root: Path
    process: subprocess.Popen

    def api(self, path: str, method: str = "GET", body: dict | None = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode() or "null"
        return json.loads(text)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}?token={self.token}"

    def kernel_of(self, notebook: str) -> dict | None:
        for session in self.api("/api/sessions"):
            if session.get("path") == notebook and session.get("kernel"):
                return session["kernel"]
        return None

    def shutdown_kernels(self) -> None:
        for session in self.api("/api/sessions"):
            self.api(f"/api/sessions/{session['id']}", method="DELETE")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _quiet_lab_settings(settings: Path) -> None:
    apputils = settings / "@jupyterlab" / "apputils-extension"
    notification = apputils / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def _wait_until_up(server: JupyterServer, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"jupyter exited early:\n{log.read_text()[-3000:]}")
        try:
            server.api("/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeError(f"jupyter did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def _stop(server: JupyterServer) -> None:
    process = server.process
    if process.poll() is None:
        try:
            server.api("/api/shutdown", method="POST")
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@pytest.fixture(scope="session")
def jupyter(chromium_path: Path) -> Iterator[JupyterServer]:
    """A Jupyter server serving JupyterLab and Notebook 7 from a temporary root."""
    base = Path(tempfile.mkdtemp(prefix="rnnbow-jupyter-"))
    root, settings, workspaces, runtime = (base / name for name in ("root", "s", "w", "r"))
    for directory in (root, settings, workspaces, runtime):
        directory.mkdir()
    _quiet_lab_settings(settings)
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    log = base / "jupyter.log"
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
    ]  # fmt: skip
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = JupyterServer(f"http://127.0.0.1:{port}", token, root, process)
    try:
        _wait_until_up(server, log)
        yield server
    finally:
        _stop(server)
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------- notebooks in the browser

SETUP_CELL = """\
from rnnbow_widget import CharRNNTrainer, RNNbow, corpora
trainer = CharRNNTrainer(corpora.c_code(max_chars=40_000), hidden_size=32, seq_length=20,
                         record_every=5, seed=0)
trainer.train(400, progress=False)
w = RNNbow(trainer)
w"""


def write_notebook(path: Path, *cells: str) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, path)


class NotebookPage:
    """A notebook open in JupyterLab or Notebook 7, driven through its (exposed) app object.

    Cells are added and run with the app's own commands (the toolbar's actions), and their
    output is read from the output area in the page, as a user would see it.
    """

    def __init__(self, page, server: JupyterServer, name: str, url: str) -> None:
        self.page, self.server, self.name, self.url = page, server, name, url

    def open(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.content"
            " && window.jupyterapp.shell.currentWidget.content.widgets"
            " && window.jupyterapp.shell.currentWidget.content.widgets.length > 0",
            timeout=60_000,
        )
        # Run only when the kernel is connected and idle (Lab ignores Run All sent earlier).
        self.page.wait_for_function(
            """() => {
                const context = window.jupyterapp.shell.currentWidget.sessionContext;
                const kernel = context && context.session && context.session.kernel;
                return kernel && kernel.connectionStatus === 'connected'
                    && kernel.status === 'idle';
            }""",
            timeout=60_000,
        )
        self.page.locator(".jp-Cell").first.click()

    def run_all(self) -> None:
        self.page.evaluate(
            "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )

    def add_cell(self, code: str) -> int:
        """Append a code cell, start running it (without waiting) and return its index."""
        return self.page.evaluate(
            """(code) => {
                const app = window.jupyterapp;
                const notebook = app.shell.currentWidget.content;
                notebook.activeCellIndex = notebook.widgets.length - 1;
                return app.commands.execute('notebook:insert-cell-below').then(() => {
                    notebook.activeCell.model.sharedModel.setSource(code);
                    app.commands.execute('notebook:run-cell');
                    return notebook.activeCellIndex;
                });
            }""",
            code,
        )

    def output_of(self, index: int, pattern: str, timeout: float = 30_000) -> str:
        """Wait until cell ``index``'s output area shows text matching ``pattern``."""
        handle = self.page.wait_for_function(
            """([index, pattern]) => {
                const notebook = window.jupyterapp.shell.currentWidget.content;
                const cell = notebook.widgets[index];
                const area = cell && cell.node.querySelector('.jp-OutputArea');
                const text = area ? area.textContent : '';
                const match = text.match(new RegExp(pattern));
                return match ? match[0] : null;
            }""",
            arg=[index, pattern],
            timeout=timeout,
        )
        return handle.json_value()

    def run(self, code: str, pattern: str, timeout: float = 30_000) -> str:
        """Run ``code`` in a new cell and return the output text matching ``pattern``."""
        return self.output_of(self.add_cell(code), pattern, timeout)

    def kernel_busy(self) -> bool:
        return (
            self.page.evaluate(
                "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
            )
            == "busy"
        )


@pytest.fixture
def open_exported(browser, tmp_path):
    """``open_exported(widget)``: the widget's exported page (``save_html``) open in Chromium,
    once its stacked bars are drawn; an error on any page opened fails the test."""
    pages = []

    def opener(widget, wait_for: str = "[data-rnnbow-view=bars] rect.rnnbow-segment"):
        path = tmp_path / f"page-{len(pages)}.html"
        widget.save_html(path)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        page.wait_for_selector(wait_for, state="attached")
        pages.append((page, errors))
        return page

    yield opener
    for page, errors in pages:
        page.close()
        assert errors == []


@pytest.fixture(scope="session")
def setup_cell() -> str:
    """First cell of the test notebooks: a small model trained a little, and its widget."""
    return SETUP_CELL


@pytest.fixture(scope="module")
def open_notebook(browser, jupyter):
    """Factory: open a fresh notebook (setup cell run) in ``"lab"`` or ``"notebook"``."""
    pages = []

    def opener(frontend: str, name: str, *cells: str) -> NotebookPage:
        write_notebook(jupyter.root / name, *cells)
        # Each JupyterLab notebook in a workspace of its own: Lab restores a workspace's open
        # documents, so a second notebook opened in the default one would share its tabs.
        workspace = Path(name).stem
        path = (
            f"/lab/workspaces/{workspace}/tree/{name}"
            if frontend == "lab"
            else f"/notebooks/{name}"
        )
        page = browser.new_page()
        pages.append(page)
        notebook = NotebookPage(page, jupyter, name, jupyter.url(path))
        notebook.open()
        notebook.run_all()
        return notebook

    yield opener
    for page in pages:
        page.close()
    jupyter.shutdown_kernels()


def _hover_tallest_segment(page, source: int) -> None:
    """Hover the tallest bar segment of loss ``source`` in view 3 (some can be 0 px high)."""
    index = page.evaluate(
        """(source) => {
            const selector = '[data-rnnbow-view=bars] rect[data-source]';
            const rects = [...document.querySelectorAll(selector)];
            let best = -1, height = 0;
            rects.forEach((rect, i) => {
                const h = rect.getBoundingClientRect().height;
                if (Number(rect.dataset.source) === source && h > height) { best = i; height = h; }
            });
            return best;
        }""",
        source,
    )
    assert index >= 0, f"no visible segment for source {source}"
    page.locator("[data-rnnbow-view=bars] rect[data-source]").nth(index).hover()


@pytest.fixture(scope="session")
def hover_segment():
    """``hover_segment(page, t)``: hover the tallest visible segment of source loss t."""
    return _hover_tallest_segment
