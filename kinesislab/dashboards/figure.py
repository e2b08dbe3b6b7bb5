"""A matplotlib figure built once and shown as PNG bytes in an ``ipywidgets.Image``.

Agg (no pyplot, no backend state): no figure pile-up, no flicker, and the same bytes in
JupyterLab, nbval and a static render. Callers update artists, then call :meth:`LiveFigure.render`.

:meth:`LiveFigure.render` is the live path: the layout is settled once, then every update
repaints only what changed (:class:`~kinesislab.dashboards.layers.LayeredPainter`: tick labels
and legends are cached per look, lines and bars drawn again) and encodes the pixels with a
fast PNG writer. :meth:`LiveFigure.png` draws everything from scratch: the reference the live
path must match, and the right call for a picture drawn once.
"""

from __future__ import annotations

import struct
import zlib

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from kinesislab.dashboards.layers import LayeredPainter
from kinesislab.dashboards.style import FIGURE_DPI
from kinesislab.dashboards.text_cache import TextCachingCanvas

#: zlib level of the live path's PNGs. Level 1 takes a third of the time of the default 6 on
#: these flat-coloured plots, for files about a fifth larger (30-40 KiB at the lessons' sizes).
PNG_COMPRESS_LEVEL = 1


class LiveFigure:
    """Owns one Figure and the Image widget that shows it."""

    def __init__(self, width_inches: float = 9.0, height_inches: float = 4.0, nrows: int = 1, ncols: int = 1,
                 **subplot_kw):
        self.figure = Figure(figsize=(width_inches, height_inches), dpi=FIGURE_DPI, layout="constrained")
        TextCachingCanvas(self.figure)
        self._laid_out = False
        self.axes = self.figure.subplots(nrows, ncols, squeeze=False, **subplot_kw)
        self.painter = LayeredPainter(self.figure)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width=f"{width_inches * FIGURE_DPI:.0f}px"))
        self.image.add_class("kinesislab-plot")

    def _settle_layout(self) -> None:
        if not self._laid_out:
            # Constrained layout costs a second full draw on every save: settle it once, then freeze.
            self.figure.canvas.draw()
            # None, not "none": "none" leaves a placeholder engine, and savefig then draws twice.
            self.figure.set_layout_engine(None)
            self._laid_out = True

    def png(self) -> bytes:
        """The figure as PNG bytes, drawn now, all of it (no cached pixels)."""
        self._settle_layout()
        self.figure.canvas.draw()
        return encode_png(np.asarray(self.figure.canvas.get_renderer().buffer_rgba()))

    def render(self) -> bytes:
        """Repaint what changed and push the picture to the page; returns the PNG bytes."""
        self._settle_layout()
        data = encode_png(self.painter.paint())
        self.image.value = data
        return data


def encode_png(rgba: np.ndarray, level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """An 8-bit RGBA PNG of ``rgba`` (height x width x 4, uint8), every row "Up"-filtered.

    The Up filter (each row minus the row above) turns a plot's long vertical runs of one colour
    into zeros that zlib packs well even at level 1; choosing it for every row, rather than trying
    all five filters per row as general encoders do, is what makes this fast."""
    height, width, channels = rgba.shape
    rows = np.empty((height, 1 + width * channels), dtype=np.uint8)
    flat = rgba.reshape(height, width * channels)
    rows[0, 0] = 0                      # filter "None" for the first row: nothing above it
    rows[0, 1:] = flat[0]
    rows[1:, 0] = 2                     # filter "Up"
    np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])   # uint8 arithmetic wraps mod 256, as PNG wants
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)   # 8 bits, colour type 6 = RGBA
    return b"".join([b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header),
                     _chunk(b"IDAT", zlib.compress(rows, level)), _chunk(b"IEND", b"")])


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
