"""Page object: one notebook opened in JupyterLab 4 and driven the way a learner would.

Everything is read from the live DOM through small JavaScript snippets and polled from
Python, so a timeout can always say what the page looked like last, instead of a bare
"selector not found".

Loading JupyterLab itself takes about 5 s of a 2-core machine, so one page serves many
notebooks: :func:`load_jupyterlab` loads the app once, :meth:`LessonPage.open` opens each
notebook with JupyterLab's own ``docmanager:open`` command (what double-clicking it in the
file browser runs; the server exposes the app as ``window.jupyterapp``), and
:func:`close_all_documents` closes them again without saving. Without ``window.jupyterapp``
:meth:`LessonPage.open` falls back to loading the notebook's URL.

Selectors this module relies on (JupyterLab 4.x, ipywidgets 8, ipympl 0.9+):

* the open notebook: ``.jp-NotebookPanel:not(.lm-mod-hidden)``;
* kernel ready: ``.jp-KernelName`` shows a kernel name (not "No Kernel") AND
  ``.jp-Notebook-ExecutionIndicator[data-status=idle]`` -- the indicator alone says idle
  before any kernel exists, and a Run All sent then is lost;
* cells: ``.jp-Notebook .jp-Cell`` with ``data-windowed-list-index``, prompt
  ``.jp-InputPrompt`` (``[ ]:``, ``[*]:``, ``[3]:``);
* errors: ``[data-mime-type="application/vnd.jupyter.stderr"]`` outputs (exceptions are
  rendered with that mime type too) and the text "Error displaying widget"; output of
  widget callbacks that no ``Output`` widget captures goes to the Log Console, counted by
  ``.jp-LogConsoleStatusItem`` and listed in ``.jp-LogConsolePanel``;
* the dashboard convention: ``.kinesislab-dashboard`` containing
  ``.kinesislab-main-control``, ``.kinesislab-plot`` and ``.kinesislab-readout``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import time
import warnings
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from .jupyterlab_server import JupyterLabServer

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
DASHBOARD = ".kinesislab-dashboard"
MAIN_CONTROL = ".kinesislab-main-control"
PLOT = ".kinesislab-plot"
READOUT = ".kinesislab-readout"
STDERR_MIME = "application/vnd.jupyter.stderr"
WIDGET_ERROR_TEXT = "Error displaying widget"
#: What ipywidgets shows until a widget view is rendered (or found to be broken).
WIDGET_LOADING_TEXT = "Loading widget..."
RAISES_EXCEPTION_TAG = "raises-exception"

LOAD_TIMEOUT_S = 90.0
KERNEL_TIMEOUT_S = 90.0
RUN_ALL_TIMEOUT_S = 120.0
WIDGET_TIMEOUT_S = 30.0
UPDATE_TIMEOUT_S = 30.0
ABSENT_TIMEOUT_S = 10.0
#: Every wait polls a concrete condition at this interval; there are no fixed sleeps.
POLL_S = 0.15
#: Two dashboard reads this far apart must agree before the dashboard counts as settled.
SETTLE_S = 0.3
SLIDER_STEPS = 3
#: Kernel-name texts JupyterLab shows before a kernel is attached.
_NO_KERNEL_NAMES = frozenset({"", "no kernel", "kernel", "unknown"})
#: Execution-indicator states after which the notebook will not finish on its own.
_DEAD_STATUSES = frozenset({"dead", "autorestarting"})

T = TypeVar("T")
P = ParamSpec("P")

#: (phase, seconds) of every timed step, in order; nested steps are not counted twice.
#: ``conftest.py`` reports them per test with ``--durations``.
PHASE_TIMES: list[tuple[str, float]] = []
_nested_s: list[float] = []
#: Root-relative path of every notebook :meth:`LessonPage.open` opened, in order.
OPENED_PATHS: list[str] = []


def _timed(phase: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Record how long each call of the decorated method takes under ``phase``."""

    def decorate(method: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(method)
        def timed(*args: P.args, **kwargs: P.kwargs) -> T:
            start = time.monotonic()
            _nested_s.append(0.0)
            try:
                return method(*args, **kwargs)
            finally:
                elapsed = time.monotonic() - start
                PHASE_TIMES.append((phase, elapsed - _nested_s.pop()))
                if _nested_s:
                    _nested_s[-1] += elapsed

        return timed

    return decorate


class LessonPageError(AssertionError):
    """The notebook did not reach an expected state; the message says what was seen."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class OutputError:
    """An error visible in a cell's output area."""

    #: Index of the cell in the notebook; -1 for the Log Console (widget callbacks).
    cell_index: int
    #: "traceback" (stderr output of a cell), "widget" (a widget that did not display)
    #: or "callback" (stderr of a widget callback, shown only in the Log Console).
    kind: str
    text: str

    def __str__(self) -> str:
        lines = [line for line in self.text.strip().splitlines() if line.strip()]
        # The last lines of a traceback carry the exception; the first say where.
        shown = lines if len(lines) <= 8 else [*lines[:2], "...", *lines[-5:]]
        body = "\n    ".join(shown)
        where = "log console" if self.cell_index < 0 else f"cell {self.cell_index}"
        return f"{where} ({self.kind}):\n    {body}"


@dataclass(frozen=True)
class DashboardState:
    """What the learner sees in the dashboard at one moment."""

    control_kind: str | None  # "slider", "dropdown", "toggle-buttons", "unsupported"
    control_value: str | None  # the value as displayed (slider readout, option label, ...)
    readout: str | None
    plot_kind: str | None  # "img" or "canvas"
    #: sha256 of the image bytes / canvas pixels; None while nothing is drawn yet.
    plot_fingerprint: str | None
    plot_problem: str | None  # why there is no fingerprint

    @property
    def ready(self) -> bool:
        """True when control, plot and readout are all there and the plot is drawn."""
        return (
            self.control_kind in {"slider", "dropdown", "toggle-buttons"}
            and self.control_value is not None
            and self.readout is not None
            and self.plot_fingerprint is not None
        )

    def describe(self) -> str:
        """One-line summary for assertion messages."""
        plot = self.plot_fingerprint[:12] if self.plot_fingerprint else self.plot_problem
        return (
            f"control={self.control_kind}:{self.control_value!r} "
            f"readout={self.readout!r} plot={self.plot_kind}:{plot}"
        )


@dataclass(frozen=True)
class Interaction:
    """Dashboard state before and after moving the main control."""

    before: DashboardState
    after: DashboardState

    @property
    def control_moved(self) -> bool:
        return self.after.control_value != self.before.control_value

    @property
    def plot_changed(self) -> bool:
        return (
            self.after.plot_fingerprint is not None
            and self.after.plot_fingerprint != self.before.plot_fingerprint
        )

    @property
    def readout_updated(self) -> bool:
        """The readout text changed and mentions the control's new value."""
        return self.after.readout != self.before.readout and readout_shows(
            self.after.readout, self.after.control_value
        )


# --------------------------------------------------------------------------- helpers

# A sign only at the start of a token, so "0-5" reads as 0 and 5; commas only as
# thousands separators, so "2,3" reads as 2 and 3.
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _numbers(text: str) -> list[float]:
    values = []
    for token in _NUMBER.findall(text):
        try:
            values.append(float(token.replace(",", "")))
        except ValueError:
            continue
    return values


def readout_shows(readout: str | None, value: str | None) -> bool:
    """Whether ``readout`` mentions the control value ``value``.

    A value with numbers in it matches when each of its numbers appears as a number in
    the readout, so a slider showing ``0.50`` matches ``0.5 MB/s``, ``1000`` matches
    ``1,000 records`` and ``5`` does not match ``15 shards``. Any other value must
    appear in the readout as text (case-insensitive).
    """
    if not readout or not value:
        return False
    wanted = _numbers(value)
    if wanted:
        have = _numbers(readout)
        return all(
            any(math.isclose(w, h, rel_tol=1e-9, abs_tol=1e-12) for h in have) for w in wanted
        )
    return value.strip().casefold() in readout.casefold()


def _looks_like_error(stderr_text: str) -> bool:
    # Warnings and progress bars also write to stderr; only these words mean failure.
    return "Traceback" in stderr_text or "Error" in stderr_text


def format_errors(errors: list[OutputError]) -> str:
    """Human-readable list of output errors."""
    return "\n".join(str(error) for error in errors)


def check_no_errors(errors: list[OutputError], context: str = "") -> None:
    """Raise an AssertionError listing ``errors`` if there are any."""
    if errors:
        where = f" {context}" if context else ""
        raise AssertionError(f"{len(errors)} error output(s){where}:\n{format_errors(errors)}")


def raises_exception_cells(notebook: Path) -> set[int]:
    """Indices of cells tagged ``raises-exception`` (their tracebacks are intended)."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    return {
        index
        for index, cell in enumerate(cells)
        if RAISES_EXCEPTION_TAG in cell.get("metadata", {}).get("tags", [])
    }


def code_cells_with_source(notebook: Path) -> set[int]:
    """Indices of non-empty code cells (JupyterLab does not execute empty ones)."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    return {
        index
        for index, cell in enumerate(cells)
        if cell.get("cell_type") == "code" and "".join(cell.get("source", "")).strip()
    }


def load_jupyterlab(page: Page, server: JupyterLabServer, timeout: float = LOAD_TIMEOUT_S) -> None:
    """Load JupyterLab with no document into ``page`` and wait until it is restored."""
    page.goto(server.lab_home_url(), wait_until="domcontentloaded")
    page.wait_for_function(_HAS_APP_JS, timeout=timeout * 1000)
    if not page.evaluate(_APP_READY_JS):
        raise LessonPageError("JupyterLab loaded without exposing window.jupyterapp")


def close_all_documents(page: Page) -> list[str]:
    """Close every tab (main and bottom area) unsaved; return what is left (empty if clean).

    Autosave is off and the notebooks are marked clean first, so Run All's outputs never
    reach the lesson files and no "save changes?" dialog appears.
    """
    left: list[str] = page.evaluate(_CLOSE_ALL_JS)
    return left


def save_screenshot(lesson: LessonPage, path: Path) -> None:
    """Screenshot that never hides the test's own failure."""
    try:
        lesson.screenshot(path)
    except Exception as exc:  # the screenshot is a by-product
        warnings.warn(f"could not save screenshot {path}: {exc}", stacklevel=2)


# --------------------------------------------------------------------------- page JS

_STATE_JS = """
(sel) => {
  const dialogs = [...document.querySelectorAll('.jp-Dialog')]
    .map((d) => d.innerText.trim()).filter(Boolean);
  const panel = document.querySelector(sel);
  if (!panel) return {panel: false, dialog: dialogs.join('\\n---\\n') || null};
  const kn = panel.querySelector('.jp-KernelName');
  let kernelName = null;
  if (kn) {
    const labelled = kn.querySelector('[aria-label]');
    kernelName = (kn.textContent || '').trim()
      || (labelled ? labelled.getAttribute('aria-label') : '');
  }
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].map((c, i) => ({
    index: Number(c.dataset.windowedListIndex ?? i),
    code: c.classList.contains('jp-CodeCell'),
    prompt: (c.querySelector('.jp-InputPrompt')?.textContent ?? '').trim(),
  }));
  return {
    panel: true,
    dialog: dialogs.join('\\n---\\n') || null,
    kernelName,
    status: indicator ? indicator.getAttribute('data-status') : null,
    cells,
  };
}
"""

_ERRORS_JS = """
([sel, stderrMime, phrases]) => {
  const panel = document.querySelector(sel);
  if (!panel) return [];
  const found = [];
  panel.querySelectorAll('.jp-Notebook .jp-Cell').forEach((cell, i) => {
    const index = Number(cell.dataset.windowedListIndex ?? i);
    const area = cell.querySelector('.jp-OutputArea');
    if (!area) return;
    area.querySelectorAll(`[data-mime-type="${stderrMime}"]`).forEach((el) => {
      found.push({index, kind: 'stderr', text: el.textContent});
    });
    const walker = document.createTreeWalker(area, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (phrases.some((phrase) => node.textContent.includes(phrase))) {
        const text = node.parentElement?.textContent ?? node.textContent;
        found.push({index, kind: 'widget', text});
      }
    }
  });
  return found;
}
"""

# Reads the dashboard: control kind/value, readout text and the plot's pixels. Image bytes
# are read back through fetch() because an ipywidgets Image gets a fresh blob: URL on
# every update, so its src changes even when the picture does not.
_DASHBOARD_JS = """
async (dash, sel) => {
  const visible = (el) => !!el && el.getClientRects().length > 0;
  const ctl = dash.querySelector(sel.control);
  const plot = dash.querySelector(sel.plot);
  const readout = dash.querySelector(sel.readout);
  let controlKind = null;
  let controlValue = null;
  if (ctl) {
    const handle = ctl.querySelector('.noUi-handle');
    const select = ctl.matches('select') ? ctl : ctl.querySelector('select');
    if (handle) {
      controlKind = 'slider';
      const ro = ctl.querySelector('.widget-readout');
      controlValue = visible(ro) && ro.textContent.trim()
        ? ro.textContent.trim()
        : (handle.getAttribute('aria-valuetext') ?? handle.getAttribute('aria-valuenow'));
    } else if (select) {
      controlKind = 'dropdown';
      const opt = select.selectedOptions[0];
      controlValue = opt ? opt.textContent.trim() : null;
    } else if (ctl.querySelector('.widget-toggle-button')) {
      controlKind = 'toggle-buttons';
      const active = ctl.querySelector('.widget-toggle-button.mod-active');
      controlValue = active ? (active.textContent.trim() || active.title || null) : null;
    } else {
      controlKind = 'unsupported';
      controlValue = ctl.className;
    }
  }
  let plotKind = null;
  const media = [];
  if (plot) {
    const elements = plot.matches('img, canvas')
      ? [plot] : [...plot.querySelectorAll('img, canvas')];
    for (const el of elements) {
      if (el.tagName === 'IMG') {
        plotKind = plotKind ?? 'img';
        if (!el.complete || el.naturalWidth === 0) { media.push(null); continue; }
        try {
          const blob = await (await fetch(el.src)).blob();
          media.push(await new Promise((resolve, reject) => {
            const reader = new FileReader();
            reader.onload = () => resolve(reader.result);
            reader.onerror = () => reject(reader.error);
            reader.readAsDataURL(blob);
          }));
        } catch (e) {
          media.push(null);  // blob revoked by a newer update: read again next poll
        }
      } else {
        plotKind = plotKind ?? 'canvas';
        if (!el.width || !el.height) { media.push(''); continue; }
        const ctx = el.getContext('2d');
        let blank = false;
        if (ctx) {
          blank = true;
          const data = ctx.getImageData(0, 0, el.width, el.height).data;
          for (let i = 3; i < data.length; i += 64) { if (data[i] !== 0) { blank = false; break; } }
        }
        media.push(blank ? '' : el.toDataURL());
      }
    }
  }
  return {
    controlKind, controlValue,
    readout: readout ? readout.innerText.trim() : null,
    plotKind, media,
  };
}
"""

_SCROLL_INTO_VIEW_JS = """
(el) => el.scrollIntoView({block: el.offsetHeight > window.innerHeight * 0.8 ? 'start' : 'center'})
"""

# Resolves once the browser has painted twice, i.e. after a scroll or a new output is drawn.
_TWO_FRAMES_JS = """
() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))
"""

_IMAGES_LOADED_JS = """
(el) => [...el.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0)
"""

_APP_READY_JS = """
async () => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return false;
  await app.started;
  await app.restored;
  return true;
}
"""

_HAS_APP_JS = "() => !!(window.jupyterapp && window.jupyterapp.shell)"

_KERNEL_ID_JS = """
(sel) => {
  const panel = document.querySelector(sel);
  const app = window.jupyterapp;
  if (!panel || !app || !app.shell) return null;
  const widget = [...app.shell.widgets('main')].find((w) => w.node === panel);
  return widget?.sessionContext?.session?.kernel?.id ?? null;
}
"""

# docmanager:open is what the file browser runs on a double click.
_OPEN_JS = """
async (path) => {
  await window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'});
}
"""

# Path of the document shown in the visible notebook panel ('' when the app is not exposed,
# null while no notebook panel is visible).
_PANEL_PATH_JS = """
(sel) => {
  const panel = document.querySelector(sel);
  if (!panel || panel.getClientRects().length === 0) return null;
  const app = window.jupyterapp;
  if (!app || !app.shell) return '';
  const widget = [...app.shell.widgets('main')].find((w) => w.node === panel);
  return widget && widget.context ? widget.context.path : null;
}
"""

# JupyterLab opens a Launcher whenever the main area empties (between notebooks on a reused
# page); a learner who opened the lesson directly would not see it, so neither do screenshots.
_CLOSE_LAUNCHERS_JS = """
() => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return;
  for (const widget of [...app.shell.widgets('main')]) {
    if (widget.node.querySelector('.jp-Launcher') || widget.node.classList.contains('jp-Launcher')) widget.dispose();
  }
}
"""

# Close every tab of the main and the bottom ("down") area -- notebooks, the Log Console,
# ... -- without a save prompt, and say what is left that the next notebook could trip over.
_CLOSE_ALL_JS = """
() => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return ['JupyterLab app not exposed'];
  for (const area of ['main', 'down']) {
    for (const widget of [...app.shell.widgets(area)]) {
      if (widget.context && widget.context.model) widget.context.model.dirty = false;
      widget.dispose();
    }
  }
  const left = [];
  for (const [sel, what] of [['.jp-NotebookPanel', 'notebook'], ['.jp-LogConsolePanel', 'log console']]) {
    const count = document.querySelectorAll(sel).length;
    if (count) left.push(`${count} ${what} panel(s)`);
  }
  document.querySelectorAll('.jp-Dialog').forEach((d) => left.push(`dialog: ${d.innerText.trim()}`));
  return left;
}
"""


def _fingerprint(media: list[str | None], kind: str | None) -> tuple[str | None, str | None]:
    """Hash of the plot's pixels, or (None, reason) while it is not drawn."""
    if not media:
        return None, "no <img> or <canvas> inside .kinesislab-plot"
    if kind == "img" and any(item is None for item in media):
        return None, "image not loaded yet"
    if all(not item for item in media):
        return None, "canvas is blank"
    digest = hashlib.sha256()
    for item in media:
        digest.update((item or "").encode("ascii", errors="replace"))
        digest.update(b"\0")
    return digest.hexdigest(), None


# --------------------------------------------------------------------------- page object


class LessonPage:
    """One notebook opened in JupyterLab in its own browser page.

    Args:
        page: a fresh Playwright page (closed by the caller).
        server: the running JupyterLab server.
        notebook: path of the .ipynb file, inside the server's root dir.
        dashboard: CSS selector of the dashboard to drive; the first match in the
            notebook is used. Lessons keep the default.

    """

    def __init__(
        self, page: Page, server: JupyterLabServer, notebook: Path, dashboard: str = DASHBOARD
    ) -> None:
        self.page = page
        self.server = server
        self.notebook = notebook.resolve()
        self.dashboard_selector = dashboard
        self.relative_path = self.notebook.relative_to(server.root_dir).as_posix()
        self.kernel_name: str | None = None

    # ------------------------------------------------------------ open and run

    @_timed("open")
    def open(self, timeout: float = KERNEL_TIMEOUT_S) -> None:
        """Open the notebook and wait until its kernel is connected and idle.

        In a page where JupyterLab is already loaded the notebook is opened with the
        ``docmanager:open`` command, as the file browser does; otherwise its URL is loaded.
        Either way the visible notebook panel must then be this notebook.
        """
        OPENED_PATHS.append(self.relative_path)
        if self.page.url.startswith(self.server.base_url) and self.page.evaluate(_HAS_APP_JS):
            self.page.evaluate(_OPEN_JS, self.relative_path)
        else:
            self.page.goto(
                self.server.lab_url(self.relative_path), wait_until="domcontentloaded"
            )
        self.page.locator(PANEL).first.wait_for(state="visible", timeout=timeout * 1000)

        def shown() -> bool:
            path = self.page.evaluate(_PANEL_PATH_JS, PANEL)
            return path == "" or path == self.relative_path

        self.poll(
            shown,
            timeout,
            lambda: f"{self.relative_path} is not the visible notebook "
            f"(it is {self.page.evaluate(_PANEL_PATH_JS, PANEL)!r})",
        )
        self._collapse_left_sidebar()
        self.page.evaluate(_CLOSE_LAUNCHERS_JS)
        self.wait_for_kernel(timeout)

    @_timed("kernel")
    def wait_for_kernel(self, timeout: float = KERNEL_TIMEOUT_S) -> None:
        """Wait for a named kernel AND an idle execution indicator, twice in a row."""
        streak = 0

        def ready() -> bool:
            nonlocal streak
            state = self._state()
            self._raise_on_dialog(state, "while waiting for the kernel")
            name = (state.get("kernelName") or "").strip()
            ok = name.casefold() not in _NO_KERNEL_NAMES and state.get("status") == "idle"
            streak = streak + 1 if ok else 0
            if ok:
                self.kernel_name = name
            return streak >= 2

        self.poll(ready, timeout, lambda: f"kernel not ready: {self._brief_state()}")

    @_timed("run all")
    def run_all(self, timeout: float = RUN_ALL_TIMEOUT_S) -> None:
        """Run > Run All Cells, then wait until the kernel is idle with nothing queued."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
        self.page.locator('li[data-command="runmenu:run-all"]').first.click()
        started = time.monotonic()
        activity_seen = False
        streak = 0

        def finished() -> bool:
            nonlocal activity_seen, streak
            state = self._state()
            self._raise_on_dialog(state, "during Run All")
            status = state.get("status")
            if status in _DEAD_STATUSES:
                raise LessonPageError(f"kernel {status} during Run All")
            queued = any(cell["prompt"] == "[*]:" for cell in state.get("cells", []))
            if queued or status != "idle":
                activity_seen = True
            # Cells are marked [*] synchronously on Run All, so "idle with nothing queued"
            # is only trusted once activity was seen (or the notebook is trivially quick).
            done = status == "idle" and not queued
            done = done and (activity_seen or time.monotonic() - started > 5.0)
            streak = streak + 1 if done else 0
            return streak >= 3

        self.poll(finished, timeout, lambda: f"Run All did not finish: {self._brief_state()}")

    def wait_until_idle(self, timeout: float = UPDATE_TIMEOUT_S) -> None:
        """Wait until the kernel is idle (in three reads in a row) with no cell queued."""
        streak = 0

        def idle() -> bool:
            nonlocal streak
            state = self._state()
            queued = any(cell["prompt"] == "[*]:" for cell in state.get("cells", []))
            streak = streak + 1 if state.get("status") == "idle" and not queued else 0
            return streak >= 3

        self.poll(idle, timeout, lambda: f"kernel not idle: {self._brief_state()}")

    def unexecuted_cells(self) -> list[int]:
        """Indices of non-empty code cells that have no execution count."""
        wanted = code_cells_with_source(self.notebook)
        prompts = {cell["index"]: cell["prompt"] for cell in self._state().get("cells", [])}
        return sorted(i for i in wanted if not re.fullmatch(r"\[\d+\]:", prompts.get(i, "")))

    def kernel_id(self) -> str | None:
        """Id of the kernel the visible notebook is connected to (needs window.jupyterapp)."""
        kernel_id: str | None = self.page.evaluate(_KERNEL_ID_JS, PANEL)
        return kernel_id

    def execution_counts(self) -> list[int]:
        """Execution counts shown by the code cells, top to bottom (unexecuted: left out).

        After Run All on a new kernel they read 1, 2, 3, ...: anything else means the
        kernel had run code before, or a cell ran twice or out of order.
        """
        counts = []
        for cell in sorted(self._state().get("cells", []), key=lambda c: c["index"]):
            match = re.fullmatch(r"\[(\d+)\]:", cell["prompt"]) if cell["code"] else None
            if match:
                counts.append(int(match.group(1)))
        return counts

    @_timed("errors")
    def collect_errors(self, widget_timeout: float = WIDGET_TIMEOUT_S) -> list[OutputError]:
        """Tracebacks/errors on stderr and widget display errors in any cell output.

        First waits until no widget says "Loading widget..." (a broken widget only turns
        into "Error displaying widget" once the widget manager has restored its state);
        one still loading after ``widget_timeout`` is reported too. stderr outputs count
        only if they contain "Traceback" or "Error", so warnings and progress bars pass;
        cells tagged ``raises-exception`` may show tracebacks, but a widget that fails to
        display is always an error.
        """
        raw: list[dict[str, Any]] = []

        def widgets_settled() -> bool:
            raw[:] = self.page.evaluate(
                _ERRORS_JS, [PANEL, STDERR_MIME, [WIDGET_ERROR_TEXT, WIDGET_LOADING_TEXT]]
            )
            return not any(WIDGET_LOADING_TEXT in item["text"] for item in raw)

        with suppress(LessonPageError):  # still-loading widgets are reported below
            self.poll(widgets_settled, widget_timeout, lambda: "widgets still loading")
        expected = raises_exception_cells(self.notebook)
        errors: list[OutputError] = []
        for item in raw:
            index, text = int(item["index"]), str(item["text"])
            if item["kind"] == "widget":
                if WIDGET_LOADING_TEXT in text:
                    text = f"still {WIDGET_LOADING_TEXT!r} after {widget_timeout:.0f} s"
                errors.append(OutputError(index, "widget", text))
            elif _looks_like_error(text) and index not in expected:
                errors.append(OutputError(index, "traceback", text))
        return errors + self._log_console_errors()

    def _log_console_errors(self) -> list[OutputError]:
        """Errors of widget callbacks, which JupyterLab shows only in the Log Console.

        The console is opened only when its status-bar counter is non-zero, and closed
        again when it holds nothing but harmless output, so screenshots stay clean.
        """
        status = self.page.locator(".jp-LogConsoleStatusItem:not(.lm-mod-hidden)")
        if status.count() == 0 or (status.first.text_content() or "0").strip() in {"", "0"}:
            return []
        panel = self.page.locator(".jp-LogConsolePanel")
        if panel.count() == 0 or not panel.first.is_visible():
            status.first.click()
            panel.first.wait_for(state="visible")
        entries = panel.first.locator(".jp-OutputArea-child")
        self.poll(lambda: entries.count() > 0, 5.0, lambda: "log console stays empty")
        # The panel keeps one hidden log per notebook ever opened (the harness's deliberately
        # broken callback, say): only the visible one belongs to this notebook.
        texts: list[str] = panel.first.evaluate(
            '(el, mime) => [...el.querySelectorAll(`[data-mime-type="${mime}"]`)]'
            ".filter((e) => e.getClientRects().length > 0)"
            ".map((e) => e.textContent)",
            STDERR_MIME,
        )
        errors = [OutputError(-1, "callback", text) for text in texts if _looks_like_error(text)]
        if not errors:
            tab = self.page.locator(".lm-TabBar-tab", has_text=re.compile(r"^Log:"))
            if tab.count() > 0:
                tab.first.locator(".lm-TabBar-tabCloseIcon").click()
        return errors

    # ------------------------------------------------------------ dashboard

    @property
    def dashboard(self) -> Locator:
        """The dashboard under test: the first element matching the dashboard selector."""
        return self.page.locator(f"{PANEL} {self.dashboard_selector}").first

    def has_dashboard(self) -> bool:
        """Whether a dashboard element exists right now."""
        return self.page.locator(f"{PANEL} {self.dashboard_selector}").count() > 0

    @_timed("dashboard")
    def wait_for_dashboard(
        self, timeout: float = WIDGET_TIMEOUT_S, absent_timeout: float = ABSENT_TIMEOUT_S
    ) -> DashboardState:
        """Wait until the dashboard is complete and its plot has settled.

        Complete means: the main control, a drawn plot and a readout are there; settled,
        that two reads ``SETTLE_S`` apart agree (ipympl may draw more than once at start-up).

        Gives up after ``absent_timeout`` if no dashboard element exists at all: widget
        views appear within a second or two of the kernel going idle, so waiting the
        full ``timeout`` would only slow down the failure.
        """
        last: list[DashboardState] = []
        absent_deadline = time.monotonic() + min(absent_timeout, timeout)

        def settled() -> bool:
            if not self.has_dashboard():
                if time.monotonic() > absent_deadline:
                    raise LessonPageError(describe())
                return False
            state = self.dashboard_state()
            previous = last[-1] if last else None
            last.append(state)
            return state.ready and previous is not None and previous == state

        def describe() -> str:
            if not self.has_dashboard():
                return (
                    f"no element matches {self.dashboard_selector!r} after Run All "
                    f"({self._brief_state()})"
                )
            return f"dashboard not ready: {last[-1].describe() if last else '?'}"

        self.poll(settled, timeout, describe, interval=SETTLE_S)
        return last[-1]

    def dashboard_state(self) -> DashboardState:
        """Read control, readout and plot fingerprint of the dashboard."""
        raw: dict[str, Any] = self.dashboard.evaluate(
            _DASHBOARD_JS, {"control": MAIN_CONTROL, "plot": PLOT, "readout": READOUT}
        )
        fingerprint, problem = _fingerprint(raw.get("media") or [], raw.get("plotKind"))
        return DashboardState(
            control_kind=raw.get("controlKind"),
            control_value=raw.get("controlValue"),
            readout=raw.get("readout"),
            plot_kind=raw.get("plotKind"),
            plot_fingerprint=fingerprint,
            plot_problem=problem,
        )

    @_timed("move")
    def move_main_control(
        self, timeout: float = UPDATE_TIMEOUT_S, before: DashboardState | None = None
    ) -> Interaction:
        """Move the main control like a learner and wait for the dashboard to follow.

        Slider: click the handle, press ArrowRight a few times (ArrowLeft if it sits at
        its maximum). Dropdown: pick the next option. Toggle buttons: click the first
        inactive button. Returns the states before and after; the caller asserts.

        ``before`` is the settled state just returned by :meth:`wait_for_dashboard`, if
        the caller has one; otherwise the dashboard is waited for here.
        """
        if before is None or not before.ready:
            before = self.wait_for_dashboard()
        control = self.dashboard.locator(MAIN_CONTROL).first
        if before.control_kind == "slider":
            self._nudge_slider(control, before)
        elif before.control_kind == "dropdown":
            self._pick_next_option(control)
        elif before.control_kind == "toggle-buttons":
            self._click_inactive_toggle(control)
        else:
            raise LessonPageError(
                f"main control kind {before.control_kind!r} is not supported "
                "(use a slider, a dropdown or toggle buttons)"
            )
        after = self._wait_for_update(before, timeout)
        return Interaction(before=before, after=after)

    # ------------------------------------------------------------ screenshots

    @_timed("screenshot")
    def screenshot(self, path: Path) -> Path:
        """Full-page screenshot, with the dashboard (if any) scrolled into view."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.has_dashboard():
            self.dashboard.evaluate(_SCROLL_INTO_VIEW_JS)
            # A plot caught between two updates has no picture; give it a moment.
            with suppress(LessonPageError):
                self.poll(
                    lambda: bool(self.dashboard.evaluate(_IMAGES_LOADED_JS)),
                    2.0,
                    lambda: "dashboard images still loading",
                )
            self.page.evaluate(_TWO_FRAMES_JS)
        self.page.screenshot(path=str(path), full_page=True)
        return path

    # ------------------------------------------------------------ internals

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.page.evaluate(_STATE_JS, PANEL)
        return state

    def _brief_state(self) -> str:
        state = self._state()
        prompts = [cell["prompt"] for cell in state.get("cells", []) if cell.get("code")]
        return (
            f"kernel={state.get('kernelName')!r} status={state.get('status')!r} "
            f"prompts={prompts} dialog={state.get('dialog')!r}"
        )

    @staticmethod
    def _raise_on_dialog(state: dict[str, Any], when: str) -> None:
        # A learner would be stuck at any modal dialog (kernel chooser, kernel died, ...).
        if state.get("dialog"):
            raise LessonPageError(f"JupyterLab showed a dialog {when}: {state['dialog']!r}")

    def poll(
        self,
        condition: Callable[[], bool],
        timeout: float,
        describe: Callable[[], str],
        interval: float = POLL_S,
    ) -> None:
        """Wait until ``condition()`` holds, checking every ``interval`` seconds; after ``timeout``
        seconds raise :class:`LessonPageError` with ``describe()``."""
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return
            if time.monotonic() > deadline:
                raise LessonPageError(f"timed out after {timeout:.0f} s: {describe()}")
            # wait_for_timeout (not time.sleep) keeps Playwright's event loop running.
            self.page.wait_for_timeout(interval * 1000)

    def _collapse_left_sidebar(self) -> None:
        # The file browser takes a fifth of the screenshot and is not part of the lesson.
        current = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if current.count() > 0:
            current.first.click()

    def _nudge_slider(self, control: Locator, before: DashboardState) -> None:
        handle = control.locator(".noUi-handle").first
        handle.click()
        for key in ("ArrowRight", "ArrowLeft"):
            for _ in range(SLIDER_STEPS):
                handle.press(key)
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                if self.dashboard_state().control_value != before.control_value:
                    return
                self.page.wait_for_timeout(POLL_S * 1000)
            # Still unchanged: the slider sits at its maximum, so go the other way.

    def _pick_next_option(self, control: Locator) -> None:
        select = (
            control
            if control.evaluate("(el) => el.matches('select')")
            else control.locator("select").first
        )
        count = select.locator("option").count()
        if count < 2:
            raise LessonPageError("the main dropdown has fewer than two options")
        current = int(select.evaluate("(el) => el.selectedIndex"))
        select.select_option(index=(current + 1) % count)

    def _click_inactive_toggle(self, control: Locator) -> None:
        buttons = control.locator(".widget-toggle-button:not(.mod-active)")
        if buttons.count() == 0:
            raise LessonPageError("the main toggle-button group has no other button to click")
        buttons.first.click()

    def _wait_for_update(self, before: DashboardState, timeout: float) -> DashboardState:
        """Poll until the control, plot and readout all changed and the kernel is idle.

        On timeout return the last state, so the caller's assertion can say what is wrong.
        """
        deadline = time.monotonic() + timeout
        state = before
        while time.monotonic() < deadline:
            state = self.dashboard_state()
            interaction = Interaction(before, state)
            if (
                interaction.control_moved
                and interaction.plot_changed
                and interaction.readout_updated
                and self._state().get("status") == "idle"
            ):
                # One more read, so a redraw still in flight is not mistaken for the end.
                self.page.wait_for_timeout(SETTLE_S * 1000)
                final = self.dashboard_state()
                if final == state:
                    return final
                continue
            self.page.wait_for_timeout(POLL_S * 1000)
        return state
