"""Fixtures for the browser suite: one JupyterLab server, one Chromium and one page.

The page loads JupyterLab once; each test opens its notebook in it (on a new kernel) and
the notebook is closed, unsaved, and its kernel shut down after the test. A page that
saw a failed test, or that is not clean after closing everything, is thrown away and the
next test gets a freshly loaded one, so one broken lesson cannot disturb the next.

While a lesson test runs, the kernel for the next lesson test is started (a new session
for that notebook, exactly what JupyterLab asks the server for when it opens a notebook),
so it has booted by the time JupyterLab opens the notebook and connects to it. A kernel
started ahead is shut down unused if the test before it opened that notebook itself.

Skip rule: without ``/usr/bin/chromium``, the Python ``playwright`` package or
``jupyterlab``, every test that needs the browser is skipped with the reason -- unless
``KINESISLAB_REQUIRE_BROWSER=1``, in which case each of them fails instead (for CI jobs
that exist to run this suite).
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .jupyterlab_server import JupyterLabServer, running_jupyterlab
from .lesson_page import OPENED_PATHS, PHASE_TIMES, close_all_documents, load_jupyterlab

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER_ENV = "KINESISLAB_REQUIRE_BROWSER"
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"

#: Flags checked on Debian's Chromium (see jupyter-in-ci.md). Without the
#: background-networking ones Chromium keeps trying hosts it cannot reach offline.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 960}
DEFAULT_ACTION_TIMEOUT_MS = 30_000
PHASES_PROPERTY = "browser_phases"


def missing_requirements() -> list[str]:
    """What the browser suite needs but this machine lacks (empty when all is there)."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the Python package playwright (pip install playwright)")
    if importlib.util.find_spec("jupyterlab") is None:
        missing.append("the Python package jupyterlab")
    return missing


@pytest.fixture(scope="session")
def browser_requirements() -> None:
    """Skip (or, with KINESISLAB_REQUIRE_BROWSER=1, fail) when the browser stack is missing."""
    missing = missing_requirements()
    if not missing:
        return
    reason = "browser suite needs " + "; ".join(missing)
    if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
        pytest.fail(f"{reason} -- {REQUIRE_BROWSER_ENV}=1, so a missing browser is a failure")
    pytest.skip(f"{reason} (set {REQUIRE_BROWSER_ENV}=1 to make this a failure)")


@pytest.fixture(scope="session")
def jupyterlab(browser_requirements: None) -> Iterator[JupyterLabServer]:
    """The session's JupyterLab server, rooted at the repository."""
    with running_jupyterlab(REPO_ROOT) as server:
        yield server


@pytest.fixture(scope="session")
def chromium_context(browser_requirements: None) -> Iterator[BrowserContext]:
    """Debian's headless Chromium with a new, empty profile for this session."""
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(
            prefix="kinesislab-chromium-", ignore_cleanup_errors=True
        ) as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,  # type: ignore[arg-type]
        )
        try:
            yield context
        finally:
            context.close()


class LabWorkspace:
    """One browser page with JupyterLab loaded, reused from test to test.

    Loading JupyterLab costs about 5 s of a 2-core machine; opening a notebook in an
    already loaded JupyterLab well under one.
    """

    def __init__(self, context: BrowserContext, server: JupyterLabServer) -> None:
        self.context = context
        self.server = server
        self._page: Page | None = None

    def acquire(self) -> Page:
        """The page, with JupyterLab loaded and no document open."""
        if self._page is None or self._page.is_closed():
            page = self.context.new_page()
            page.set_default_timeout(DEFAULT_ACTION_TIMEOUT_MS)
            try:
                load_jupyterlab(page, self.server)
            except Exception:
                page.close()
                raise
            self._page = page
        return self._page

    def release(self, keep: bool) -> None:
        """Close every document; keep the page only if asked to and it is clean."""
        page, self._page = self._page, None
        if page is None or page.is_closed():
            return
        left: list[str] = ["not kept"]
        if keep:
            try:
                left = close_all_documents(page)
            except Exception as exc:  # a broken page is simply replaced
                left = [f"closing failed: {exc}"]
        if left:
            page.close()
        else:
            self._page = page

    def close(self) -> None:
        """Close the page, if any."""
        if self._page is not None and not self._page.is_closed():
            self._page.close()
        self._page = None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the test item, so fixtures can see a failure."""
    report = yield
    setattr(item, f"_kinesislab_{report.when}_failed", report.failed)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Remember which test runs next (in this process), to start its kernel ahead."""
    item._kinesislab_nextitem = nextitem  # type: ignore[attr-defined]


def _notebook_of(item: pytest.Item | None) -> Path | None:
    """The notebook a test is parametrized with (lesson tests), if any."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    notebook = params.get("notebook")
    return notebook if isinstance(notebook, Path) else None


def _start_next_kernel(item: pytest.Item, server: JupyterLabServer) -> tuple[str, str] | None:
    """Start the kernel of the next test's notebook; return (session id, path) or None."""
    notebook = _notebook_of(getattr(item, "_kinesislab_nextitem", None))
    if notebook is None or notebook == _notebook_of(item):
        return None
    try:
        path = notebook.resolve().relative_to(server.root_dir).as_posix()
        metadata = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
        kernel_name = metadata.get("kernelspec", {}).get("name", "python3")
        if any(session.get("path") == path for session in server.sessions()):
            return None  # never hand a kernel that may have run code to the next test
        session = server.start_session(path, kernel_name)
    except (OSError, ValueError, KeyError, urllib.error.URLError):
        return None  # JupyterLab then starts the kernel itself, as without this
    return str(session["id"]), path


@pytest.fixture(scope="session")
def lab_workspace(
    chromium_context: BrowserContext, jupyterlab: JupyterLabServer
) -> Iterator[LabWorkspace]:
    """The session's reusable JupyterLab page."""
    workspace = LabWorkspace(chromium_context, jupyterlab)
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def lab_page(
    request: pytest.FixtureRequest, lab_workspace: LabWorkspace, jupyterlab: JupyterLabServer
) -> Iterator[Page]:
    """Yield a page with JupyterLab loaded and nothing open; clean up after the test.

    Meanwhile the next lesson's kernel is started ahead. Afterwards every document is
    closed without saving and every kernel but that one shut down (in the background,
    while the next test starts), so each notebook starts on a new kernel and kernels do
    not pile up. After a failure the page is discarded altogether.
    """
    page = lab_workspace.acquire()
    first_phase = len(PHASE_TIMES)
    first_opened = len(OPENED_PATHS)
    started_ahead = _start_next_kernel(request.node, jupyterlab)
    try:
        yield page
    finally:
        failed = getattr(request.node, "_kinesislab_call_failed", True)
        lab_workspace.release(keep=not failed)
        keep = set()
        if started_ahead is not None and started_ahead[1] not in OPENED_PATHS[first_opened:]:
            keep.add(started_ahead[0])
        jupyterlab.shutdown_all_kernels(wait=False, keep=keep)
        phases: dict[str, float] = {}
        for phase, seconds in PHASE_TIMES[first_phase:]:
            phases[phase] = phases.get(phase, 0.0) + seconds
        request.node.user_properties.append((PHASES_PROPERTY, phases))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """With ``--durations``: where each browser test spent its time, phase by phase."""
    if config.option.durations is None:
        return
    rows = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "teardown":
                continue
            for name, value in getattr(report, "user_properties", []):
                if name == PHASES_PROPERTY:
                    rows.append((report.nodeid.split("::")[-1], value))
    if not rows:
        return
    names = ["open", "kernel", "run all", "errors", "dashboard", "move", "screenshot"]
    width = max(len(test) for test, _ in rows) + 1
    terminalreporter.write_sep("=", "browser test phases (s)")
    terminalreporter.write_line(f"{'test':<{width}}" + "".join(f"{n:>11}" for n in names))
    for test, phases in sorted(rows):
        cells = "".join(f"{phases.get(n, 0.0):>11.1f}" for n in names)
        terminalreporter.write_line(f"{test:<{width}}{cells}")


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``test-artifacts/screenshots`` (git-ignored), created on demand."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
