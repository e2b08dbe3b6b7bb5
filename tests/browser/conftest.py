"""Fixtures for the browser suite: one JupyterLab server and one Chromium per session.

Skip rule: without ``/usr/bin/chromium``, the Python ``playwright`` package or
``jupyterlab``, every test that needs the browser is skipped with the reason -- unless
``KINESISLAB_REQUIRE_BROWSER=1``, in which case each of them fails instead (for CI jobs
that exist to run this suite).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .jupyterlab_server import JupyterLabServer, running_jupyterlab

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


@pytest.fixture
def lab_page(chromium_context: BrowserContext, jupyterlab: JupyterLabServer) -> Iterator[Page]:
    """Yield a fresh browser page, then close it and shut its kernel down.

    So every notebook starts on a new kernel and kernels do not pile up.
    """
    page = chromium_context.new_page()
    page.set_default_timeout(DEFAULT_ACTION_TIMEOUT_MS)
    try:
        yield page
    finally:
        page.close()
        jupyterlab.shutdown_all_kernels(wait=False)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``test-artifacts/screenshots`` (git-ignored), created on demand."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
