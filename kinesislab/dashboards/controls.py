"""Widget factories with sensible ranges, and the run control that animates a finished run."""

from __future__ import annotations

import ipywidgets as widgets

#: Width of the description column (px). The browser cuts a longer description with an ellipsis,
#: so every description must fit: the longest, "MiB/s written per shard", is 150 px in DejaVu Sans
#: at JupyterLab's 13 px (the widest of the usual sans fonts); 170 leaves room for font differences.
#: tests/test_dashboard_layout.py checks every dashboard's descriptions against it.
DESCRIPTION_WIDTH_PX = 170
#: Width of a whole control (description, slider and its readout), px.
CONTROL_WIDTH_PX = 360

_STYLE = {"description_width": f"{DESCRIPTION_WIDTH_PX}px"}
_LAYOUT = widgets.Layout(width=f"{CONTROL_WIDTH_PX}px")


def int_slider(description: str, value: int, low: int, high: int, step: int = 1) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=low, max=high, step=step, description=description,
                             style=_STYLE, layout=_LAYOUT, continuous_update=False)


def float_slider(description: str, value: float, low: float, high: float, step: float) -> widgets.FloatSlider:
    return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                               style=_STYLE, layout=_LAYOUT, continuous_update=False)


def log_slider(description: str, value: float, low: float, high: float) -> widgets.FloatLogSlider:
    import math
    return widgets.FloatLogSlider(value=value, base=10, min=math.log10(low), max=math.log10(high), step=0.05,
                                  description=description, style=_STYLE, layout=_LAYOUT, continuous_update=False,
                                  readout_format=",.0f")


def choice(description: str, options: list, value, width_px: int = CONTROL_WIDTH_PX) -> widgets.Dropdown:
    """A drop-down list; ``width_px`` (the whole control) may be widened for long options, which the
    browser would otherwise clip."""
    layout = _LAYOUT if width_px == CONTROL_WIDTH_PX else widgets.Layout(width=f"{width_px}px")
    return widgets.Dropdown(options=options, value=value, description=description, style=_STYLE, layout=layout)


def text_box(description: str, value: str, placeholder: str = "") -> widgets.Text:
    """A text field that reports its value when the learner presses Enter (or leaves it)."""
    return widgets.Text(value=value, description=description, placeholder=placeholder, continuous_update=False,
                        style=_STYLE, layout=_LAYOUT)


def toggle(description: str, options: list, value) -> widgets.ToggleButtons:
    return widgets.ToggleButtons(options=options, value=value, description=description, style=_STYLE)


class TimeCursor(widgets.HBox):
    """Play / step / run N seconds over a finished run: moves a cursor, no loop in a cell.

    ``value`` is the second shown; observers redraw the figure up to it.
    """

    def __init__(self, duration: float, step: float = 1.0):
        self.slider = widgets.FloatSlider(value=duration, min=0, max=duration, step=step, description="time (s)",
                                          continuous_update=True, layout=widgets.Layout(width="420px"))
        self.play = widgets.Play(value=int(duration), min=0, max=int(duration), step=int(max(step, 1)),
                                 interval=150, description="Play")
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.step_button = widgets.Button(description="+1 s", layout=widgets.Layout(width="60px"))
        self.run_button = widgets.Button(description="+30 s", layout=widgets.Layout(width="60px"))
        self.step_button.on_click(lambda _: self.forward(step))
        self.run_button.on_click(lambda _: self.forward(30 * step))
        super().__init__([self.play, self.slider, self.step_button, self.run_button])

    def forward(self, seconds: float) -> None:
        """Move the cursor forward (wrapping to the start after the end)."""
        value = self.slider.value + seconds
        self.slider.value = value if value <= self.slider.max else 0.0

    def reset(self, duration: float) -> None:
        self.slider.max = duration
        self.play.max = int(duration)
        self.slider.value = duration
