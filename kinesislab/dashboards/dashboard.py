"""The dashboard frame every lesson uses: controls, one live figure, a readout and messages.

A concrete dashboard says what to compute from the control values (usually one or two scenario
runs) and how to draw it. This class does the rest: it clamps odd values and says so, turns
service errors and bad input into a sentence (never a traceback), marks the DOM for the browser
tests (``kinesislab-dashboard``, ``kinesislab-main-control``, ``kinesislab-plot``,
``kinesislab-readout``), and offers a static PNG where no widget frontend exists.
"""

from __future__ import annotations

import base64
import html
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import ipywidgets as widgets
from botocore.exceptions import ClientError, ParamValidationError

from kinesislab.dashboards.figure import LiveFigure


class Dashboard(widgets.VBox):
    """Base class. Subclasses implement :meth:`compute` and :meth:`draw`."""

    def __init__(self, title: str, controls: dict[str, widgets.ValueWidget], main_control: str,
                 live_figure: LiveFigure, intro: str = "", time_control: widgets.Widget | None = None):
        self.title = title
        self.controls = controls
        self.live_figure = live_figure
        self.result: Any = None
        self.last_update_ms = 0.0
        self.last_compute_ms = 0.0
        self.last_draw_ms = 0.0
        #: Whether the last refresh took its result from :attr:`_results` instead of computing.
        self.last_compute_reused = False
        self._results: OrderedDict[Hashable, Any] = OrderedDict()
        self._clamp_notes: list[str] = []
        controls[main_control].add_class("kinesislab-main-control")
        self.main_control = controls[main_control]
        self.readout = widgets.HTML()
        self.readout.add_class("kinesislab-readout")
        self.message = widgets.HTML()
        header = widgets.HTML(f"<h4 style='margin:0'>{html.escape(title)}</h4>"
                              + (f"<div style='font-size:90%'>{intro}</div>" if intro else ""))
        control_box = widgets.VBox(list(controls.values()), layout=widgets.Layout(min_width="300px"))
        right = [live_figure.image]
        if time_control is not None:
            right.insert(0, time_control)
        body = widgets.HBox([control_box, widgets.VBox(right, layout=widgets.Layout(flex="1"))])
        super().__init__([header, body, self.readout, self.message])
        self.add_class("kinesislab-dashboard")
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.refresh()

    # ------------------------------------------------------------------ for subclasses
    def compute(self, values: dict) -> Any:
        """Run what the values ask for (e.g. a scenario); the result is passed to :meth:`draw`."""
        raise NotImplementedError

    def draw(self, result: Any, values: dict) -> str:
        """Update the figure's artists from ``result``; return the readout (HTML)."""
        raise NotImplementedError

    #: How many results :meth:`refresh` keeps, the least recently shown dropped first; a learner
    #: moving a slider back and forth finds the values seen before here and waits only for the
    #: drawing. Most lesson runs hold well under a megabyte (the capstone's about 3 MB: it keeps fewer).
    RESULTS_KEPT = 32

    #: Whether :meth:`compute` reads nothing but the controls, so its results may be kept by them.
    KEEP_RESULTS = False

    def compute_key(self, values: dict) -> Hashable | None:
        """Everything :meth:`compute`'s result depends on, as a hashable value: equal keys, equal
        results (the simulations are deterministic, seeded). ``None`` means "do not keep results":
        compute on every refresh. By default every control when :attr:`KEEP_RESULTS` is set, else
        None; a subclass may return less (leaving out controls that only change the drawing), and
        must not change a result in :meth:`draw`."""
        return tuple(sorted(values.items())) if self.KEEP_RESULTS else None

    # ------------------------------------------------------------------ machinery
    def values(self) -> dict:
        """Current control values."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values) -> "Dashboard":
        """Set controls as a learner would (used by lessons and tests); odd values are clamped
        to the control's range and the dashboard says so. Redraws once."""
        notes = []
        with self.hold_trait_notifications():
            for name, value in values.items():
                if name not in self.controls:
                    raise KeyError(f"this dashboard has no control {name!r}; it has {sorted(self.controls)}")
                control = self.controls[name]
                clamped = _clamp(control, value)
                if clamped != value:
                    low, high = _bounds(control)
                    notes.append(f"{control.description or name} must be between {low:g} and {high:g}: "
                                 f"using {clamped:g}.")
                self._muted = True
                try:
                    control.value = clamped
                finally:
                    self._muted = False
        self._clamp_notes = notes
        self.refresh()
        return self

    _muted = False

    def _on_change(self, change) -> None:
        if not self._muted:
            self._clamp_notes = []
            self.refresh()

    #: What :meth:`refresh` times itself with: the wall clock, i.e. what a learner waits for.
    #: A benchmark on a busy machine may set ``time.process_time`` (CPU time) instead.
    clock = staticmethod(time.perf_counter)

    def refresh(self) -> None:
        """Recompute and redraw; problems become a message in the dashboard, never a traceback.

        Records ``last_compute_ms`` (the simulation), ``last_draw_ms`` (updating the artists,
        painting and PNG encoding) and their sum ``last_update_ms``, in milliseconds of
        :attr:`clock`."""
        started = self.clock()
        values = self.values()
        try:
            self.result = self._computed(values)
            computed = self.clock()
            readout = self.draw(self.result, values)
            self.live_figure.render()
        except (ClientError, ParamValidationError) as error:
            self._say(_service_error_text(error), error=True)
            return
        except (ValueError, KeyError, ZeroDivisionError) as error:
            self._say(f"These settings cannot be simulated: {html.escape(str(error))}", error=True)
            return
        finished = self.clock()
        self.last_compute_ms = (computed - started) * 1000
        self.last_draw_ms = (finished - computed) * 1000
        self.last_update_ms = (finished - started) * 1000
        self.readout.value = readout
        self._say(" ".join(self._clamp_notes))

    def _computed(self, values: dict) -> Any:
        """:meth:`compute`'s result for ``values``: kept from an earlier refresh with the same
        :meth:`compute_key`, else computed now (and kept, if it has a key). Errors are not kept."""
        key = self.compute_key(values)
        self.last_compute_reused = key is not None and key in self._results
        if self.last_compute_reused:
            self._results.move_to_end(key)
            return self._results[key]
        result = self.compute(values)
        if key is not None:
            self._results[key] = result
            while len(self._results) > self.RESULTS_KEPT:
                self._results.popitem(last=False)
        return result

    def _say(self, text: str, error: bool = False) -> None:
        colour = "#D55E00" if error else "#555555"
        self.message.value = f"<div style='color:{colour}'>{html.escape(text) if not error else text}</div>" if text else ""

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            data, metadata = bundle
        else:
            data, metadata = bundle, {}
        data = dict(data)
        # The figure was just rendered into the Image widget: reuse those bytes for the fallback.
        png = self.live_figure.image.value or self.live_figure.png()
        data["image/png"] = base64.b64encode(png).decode()
        data["text/plain"] = f"{self.title} (a live dashboard: run this notebook in JupyterLab to use its controls)"
        return data, metadata


def _bounds(control: widgets.Widget):
    """The smallest and largest value a control takes (a log slider's min/max are exponents)."""
    low, high = getattr(control, "min", None), getattr(control, "max", None)
    if isinstance(control, widgets.FloatLogSlider):
        # Rounded to 12 significant digits, so 10 ** log10(50) is 50 again, not 49.99999999999999.
        return float(f"{control.base ** low:.12g}"), float(f"{control.base ** high:.12g}")
    return low, high


def _clamp(control: widgets.Widget, value):
    low, high = _bounds(control)
    if low is not None and high is not None and isinstance(value, (int, float)):
        clamped = min(max(value, low), high)
        return type(control.value)(clamped) if isinstance(control.value, (int, float)) else clamped
    options = getattr(control, "options", None)
    if options is not None:
        labels = [o[1] if isinstance(o, tuple) else o for o in options]
        if value not in labels:
            raise ValueError(f"{control.description or 'this control'} must be one of {labels}, not {value!r}")
    return value


def _service_error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        code = error.response["Error"]["Code"]
        message = error.response["Error"].get("Message", "")
        return (f"The service refused this: <b>{html.escape(code)}</b> &mdash; {html.escape(message)}")
    return f"This request is not valid: {html.escape(str(error))}"
