"""Proof that the browser harness itself works, on self-made fixture notebooks.

The fixtures in ``fixtures/`` are not lessons and do not import kinesislab; they follow the
dashboard convention of ``test_lessons.py`` with each supported kind of control and plot.
They are small, so the self-tests cost a few seconds each:

* ``dashboard_fixture`` -- three dashboards, the first found by the default selector and
  all told apart by an extra class: an IntSlider driving a bar chart in an ipywidgets
  ``Image``, a Dropdown driving an ipympl canvas, and ToggleButtons driving a PNG in an
  ``Output`` widget. Its kernel is started ahead, as conftest does for the next lesson,
  and JupyterLab must connect to that kernel and run every cell on it once, in order;
* ``error_fixture`` -- an uncaught exception, a broken widget view, a slider whose
  callback raises, a cell tagged ``raises-exception`` and no dashboard: the detectors must
  report all but the tagged cell. The same test then proves that closing it leaves the
  reused page clean for the next notebook.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .jupyterlab_server import JupyterLabServer
from .lesson_page import (
    Interaction,
    LessonPage,
    LessonPageError,
    OutputError,
    check_no_errors,
    close_all_documents,
    format_errors,
    readout_shows,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_interaction(interaction: Interaction, control_kind: str, plot_kind: str) -> None:
    """Assert the control moved and both the plot and the readout followed."""
    before, after = interaction.before, interaction.after
    change = f"{before.describe()} -> {after.describe()}"
    assert (before.control_kind, before.plot_kind) == (control_kind, plot_kind), change
    assert interaction.control_moved, change
    assert interaction.plot_changed, change
    assert interaction.readout_updated, change


def check_png(path: Path) -> None:
    """Assert ``path`` is a PNG with real content (not a blank page)."""
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("readout", "value", "expected"),
    [
        ("5 shards: each takes 20.0% of the writes", "5", True),
        ("Write rate: 0.5 MB/s", "0.50", True),
        ("1,000 records/s", "1000", True),
        ("Partitioning: hot key", "hot key", True),
        ("Write rate: 2 MB/s", "5 MB/s", False),
        ("15 shards", "5", False),
        ("shards 0-5", "5", True),
        (None, "5", False),
    ],
)
def test_readout_shows(readout: str | None, value: str, expected: bool) -> None:
    """The readout matcher accepts reformatted numbers and rejects other values."""
    assert readout_shows(readout, value) is expected


def test_harness_drives_every_control_and_plot_kind(
    lab_page: Page, jupyterlab: JupyterLabServer, screenshot_dir: Path
) -> None:
    """Open, Run All, then move each dashboard's control: its plot and readout change.

    Slider + ``Image`` (the first dashboard, which the lesson tests' default selector
    picks), dropdown + ipympl canvas, toggle buttons + PNG in an ``Output`` widget.
    """
    notebook = FIXTURES / "dashboard_fixture.ipynb"
    # Started ahead, as conftest does for the next lesson: JupyterLab must use this kernel.
    path = notebook.relative_to(jupyterlab.root_dir).as_posix()
    deadline = time.monotonic() + 10
    while any(s["path"] == path for s in jupyterlab.sessions()) and time.monotonic() < deadline:
        time.sleep(0.1)  # an earlier test's kernel for this notebook is still shutting down
    ahead = jupyterlab.start_session(path, "python3")
    lesson = LessonPage(lab_page, jupyterlab, notebook)
    lesson.open()
    assert lesson.kernel_name and "Python" in lesson.kernel_name, lesson.kernel_name
    assert lesson.kernel_id() == ahead["kernel"]["id"]
    assert [s["id"] for s in jupyterlab.sessions() if s["path"] == path] == [ahead["id"]]
    lesson.run_all()
    assert lesson.collect_errors() == []
    assert lesson.unexecuted_cells() == []
    assert lesson.execution_counts() == [1, 2, 3, 4, 5]

    initial = lesson.wait_for_dashboard()
    assert lesson.dashboard.evaluate("(el) => el.classList.contains('fixture-image')")
    interaction = lesson.move_main_control(before=initial)
    check_interaction(interaction, "slider", "img")
    before, after = interaction.before, interaction.after
    # Slider 2 -> 5 after three ArrowRight presses; the readout is the rendered HTML.
    assert (before.control_value, after.control_value) == ("2", "5")
    assert before.readout is not None and before.readout.startswith("2 shards")
    assert after.readout is not None and after.readout.startswith("5 shards")
    check_png(lesson.screenshot(screenshot_dir / "harness" / "dashboard_fixture.png"))

    ipympl = LessonPage(lab_page, jupyterlab, notebook, dashboard=".fixture-ipympl")
    check_interaction(ipympl.move_main_control(), "dropdown", "canvas")
    output = LessonPage(lab_page, jupyterlab, notebook, dashboard=".fixture-output")
    check_interaction(output.move_main_control(), "toggle-buttons", "img")
    assert output.collect_errors() == []
    check_png(ipympl.screenshot(screenshot_dir / "harness" / "dashboard_fixture_ipympl.png"))


def test_harness_detects_errors(lab_page: Page, jupyterlab: JupyterLabServer) -> None:
    """The error detectors report what a learner would see as broken, and only that."""
    lesson = LessonPage(lab_page, jupyterlab, FIXTURES / "error_fixture.ipynb")
    lesson.open()
    lesson.run_all()
    errors = lesson.collect_errors()
    found = {(error.cell_index, error.kind) for error in errors}

    assert found == {(2, "widget"), (4, "traceback")}, format_errors(errors)
    assert "ZeroDivisionError" in next(e.text for e in errors if e.kind == "traceback")
    # Cell 1 raises too, but is tagged raises-exception: an intended traceback.
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        check_no_errors(errors, "after Run All")
    with pytest.raises(AssertionError, match="Error displaying widget"):
        check_no_errors(errors, "after Run All")

    # Run All stops at the uncaught exception, so the last cell never runs.
    assert lesson.unexecuted_cells() == [5]
    assert lesson.execution_counts() == [1, 2, 3, 4]
    with pytest.raises(LessonPageError, match="kinesislab-dashboard"):
        lesson.wait_for_dashboard(timeout=1)

    # A learner moves a slider whose callback raises: only the Log Console shows it.
    handle = lab_page.locator(".fixture-broken-slider .noUi-handle").first
    handle.click()
    handle.press("ArrowRight")
    callback_errors: list[OutputError] = []
    deadline = time.monotonic() + 15
    while not callback_errors and time.monotonic() < deadline:
        lab_page.wait_for_timeout(250)
        callback_errors = [e for e in lesson.collect_errors() if e.kind == "callback"]
    assert callback_errors, "callback exception not reported"
    assert "RuntimeError: expected: raised by a widget callback" in callback_errors[0].text
    with pytest.raises(AssertionError, match="log console"):
        check_no_errors(callback_errors)

    # The page is reused for the next notebook: closing must leave nothing of this one,
    # and the next notebook must be the one checked, on a new kernel, with clean outputs.
    assert lab_page.locator(".jp-LogConsolePanel").count() == 1
    earlier_kernels = {kernel["id"] for kernel in jupyterlab.api("GET", "/api/kernels")}
    assert close_all_documents(lab_page) == []
    assert lab_page.locator(".jp-NotebookPanel, .jp-LogConsolePanel").count() == 0
    lab_page.evaluate("() => { window.kinesislabSamePage = true; }")
    clean = LessonPage(lab_page, jupyterlab, FIXTURES / "dashboard_fixture.ipynb")
    clean.open()
    assert lab_page.evaluate("() => window.kinesislabSamePage === true"), (
        "the second notebook was opened by reloading JupyterLab"
    )
    assert clean.kernel_id() is not None and clean.kernel_id() not in earlier_kernels
    assert clean.collect_errors() == []
    # Nothing has run on the new kernel yet: every code cell counts as unexecuted.
    assert clean.unexecuted_cells() == [1, 2, 3, 4, 5]
