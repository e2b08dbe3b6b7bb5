"""The capstone, completed the way a learner would: set the design, grade it, read the grade."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .jupyterlab_server import JupyterLabServer
from .lesson_page import READOUT, LessonPage, check_no_errors
from .test_lessons import REPO_ROOT, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser

CAPSTONE = REPO_ROOT / "notebooks" / "12_capstone.ipynb"
GRADE = re.compile(r"Grade: (\d+)/(\d+) targets met")


def _set_slider(dashboard: Locator, label: str, value: int) -> None:
    """Type a value into a slider's readout, as a learner can in JupyterLab 4."""
    slider = dashboard.locator(".widget-slider", has=dashboard.page.locator(".widget-label", has_text=label)).first
    readout = slider.locator(".widget-readout").first
    readout.click()
    readout.press("Control+A")
    readout.type(str(value))
    readout.press("Enter")


def _grade(dashboard: Locator, page: Page, timeout: float = 90.0) -> tuple[int, int, str]:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = dashboard.locator(READOUT).first.inner_text()
        match = GRADE.search(text)
        if match:
            return int(match.group(1)), int(match.group(2)), text
        page.wait_for_timeout(500)
    raise AssertionError(f"no grade in the readout after {timeout:.0f} s: {text!r}")


def test_learner_completes_the_capstone(lab_page: Page, jupyterlab: JupyterLabServer, screenshot_dir: Path) -> None:
    lesson = LessonPage(lab_page, jupyterlab, CAPSTONE)
    try:
        lesson.open()
        lesson.run_all()
        check_no_errors(lesson.collect_errors(), "after Run All")
        lesson.wait_for_dashboard()
        dashboard = lesson.dashboard
        met, total, first_report = _grade(dashboard, lab_page)
        assert met < total, f"the starting design should miss a target: {first_report}"

        # The lesson's solution design: 16 shards, keys salted 3 ways, polling readers.
        _set_slider(dashboard, "shards", 16)
        lab_page.wait_for_timeout(1000)
        _set_slider(dashboard, "salt", 3)
        lab_page.wait_for_timeout(1000)
        dashboard.locator(".kinesislab-grade-button").first.click()
        deadline = time.monotonic() + 120
        while True:
            met, total, report = _grade(dashboard, lab_page)
            if met == total or time.monotonic() > deadline:
                break
            lab_page.wait_for_timeout(1000)
        assert (met, total) == (3, 3), f"the solution design should meet every target: {report}"
        check_no_errors(lesson.collect_errors(), "after grading")
    finally:
        save_screenshot(lesson, screenshot_dir / "12_capstone_completed.png")
