"""The capstone, completed the way a learner would: set the design, grade it, read the grade.

Not a test module of its own: ``test_lessons.py`` runs :func:`complete_the_capstone` at the
end of the ``12_capstone`` lesson test, on the notebook that test has already opened and
run, so the capstone is opened, and its Run All paid for, once per session.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from .lesson_page import (
    READOUT,
    DashboardState,
    LessonPage,
    check_no_errors,
    save_screenshot,
)

GRADE = re.compile(r"Grade: (\d+)/(\d+) targets met")
GRADE_TIMEOUT_S = 120.0
SLIDER_TIMEOUT_S = 10.0


def _set_slider(lesson: LessonPage, label: str, value: int) -> None:
    """Type a value into a slider's readout, as a learner can in JupyterLab 4.

    No pause is needed before the next control: the changes reach the kernel in order.
    """
    page = lesson.page
    slider = lesson.dashboard.locator(".widget-slider", has=page.locator(".widget-label", has_text=label)).first
    readout = slider.locator(".widget-readout").first
    readout.click()
    readout.press("Control+A")
    readout.type(str(value))
    readout.press("Enter")
    lesson.poll(lambda: readout.inner_text().strip() == str(value), SLIDER_TIMEOUT_S,
                lambda: f"slider {label!r} shows {readout.inner_text().strip()!r} after typing {value}")


def _read_grade(text: str | None) -> tuple[int, int] | None:
    match = GRADE.search(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def complete_the_capstone(lesson: LessonPage, initial: DashboardState, screenshot_dir: Path) -> None:
    """From the dashboard as Run All left it: the starting design fails, the solution passes."""
    dashboard = lesson.dashboard
    try:
        first = _read_grade(initial.readout)
        assert first is not None, f"no grade in the readout after Run All: {initial.readout!r}"
        met, total = first
        assert met < total, f"the starting design should miss a target: {initial.readout}"

        # The lesson's solution design: 16 shards, keys salted 3 ways, polling readers.
        _set_slider(lesson, "shards", 16)
        _set_slider(lesson, "salt", 3)
        dashboard.locator(".kinesislab-grade-button").first.click()
        # Each change regrades, and so does the button, which also lists the attempt:
        # wait for that list, then for the kernel to finish, then read the grade.
        attempts = dashboard.get_by_text("Your attempts")
        deadline = time.monotonic() + GRADE_TIMEOUT_S
        lesson.poll(lambda: attempts.count() > 0, GRADE_TIMEOUT_S, lambda: "pressing 'Grade my design' listed no attempt")
        lesson.wait_until_idle(timeout=max(deadline - time.monotonic(), 1.0))
        report = dashboard.locator(READOUT).first.inner_text()
        grade = _read_grade(report)
        assert grade == (3, 3), f"the solution design should meet every target: {report!r}"
        check_no_errors(lesson.collect_errors(), "after grading")
    finally:
        save_screenshot(lesson, screenshot_dir / "12_capstone_completed.png")
