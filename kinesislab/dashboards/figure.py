"""A matplotlib figure built once and shown as PNG bytes in an ``ipywidgets.Image``.

Agg (no pyplot, no backend state): no figure pile-up, no flicker, and the same bytes in
JupyterLab, nbval and a static render. Callers update artists, then call :meth:`LiveFigure.render`.
"""

from __future__ import annotations

from io import BytesIO

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kinesislab.dashboards.style import FIGURE_DPI


class LiveFigure:
    """Owns one Figure and the Image widget that shows it."""

    def __init__(self, width_inches: float = 9.0, height_inches: float = 4.0, nrows: int = 1, ncols: int = 1,
                 **subplot_kw):
        self.figure = Figure(figsize=(width_inches, height_inches), dpi=FIGURE_DPI, layout="constrained")
        FigureCanvasAgg(self.figure)
        self._laid_out = False
        self.axes = self.figure.subplots(nrows, ncols, squeeze=False, **subplot_kw)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width=f"{width_inches * FIGURE_DPI:.0f}px"))
        self.image.add_class("kinesislab-plot")

    def png(self) -> bytes:
        """The figure as PNG bytes, drawn now."""
        if not self._laid_out:
            # Constrained layout costs a second full draw on every save: settle it once, then freeze.
            self.figure.canvas.draw()
            # None, not "none": "none" leaves a placeholder engine, and savefig then draws twice.
            self.figure.set_layout_engine(None)
            self._laid_out = True
        buffer = BytesIO()
        self.figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
        return buffer.getvalue()

    def render(self) -> bytes:
        """Redraw and push the picture to the page; returns the PNG bytes."""
        data = self.png()
        self.image.value = data
        return data
