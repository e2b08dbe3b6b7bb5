"""An Agg canvas that remembers how it drew text.

Drawing one short string with Agg costs about a millisecond: shaping it (``FT2Font._layout``),
then rendering every glyph with FreeType and blitting it. A dashboard draws dozens of the same
strings (tick labels, bar labels, lane numbers, titles) on every update. The
:class:`TextCachingRenderer` keeps three things, each keyed by everything it depends on:

* the blits of a whole string drawn at a given sub-pixel offset (a repeat costs only the blits,
  usually one: glyphs that share no pixel are merged into one bitmap, see :func:`merge_blits`);
* the shaping of a string in a font and size (positions of its glyphs, in pixels);
* the bitmap of a glyph rendered at a given 1/64-pixel offset.

FreeType's bitmap of a glyph depends on the glyph, the font, its size, the rotation and the
fractional part of the glyph's position in 1/64 pixel; the whole-pixel part only moves the bitmap.
So a cached bitmap, moved by whole pixels, is exactly the bitmap FreeType would render, and the
pictures are pixel-identical to matplotlib's own (tests compare them with a plain
``RendererAgg``). Colour, alpha and clipping come from the graphics context at blit time, so they
are not part of any key.

The glyph and shaping caches follow matplotlib 3.11's own text drawing
(``RendererAgg.draw_text``); if that machinery is missing (another matplotlib), the renderer
falls back to recording the blits matplotlib makes, which still serves repeats.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import FontProperties, fontManager, get_font

from kinesislab.dashboards.layers import font_key

try:
    from matplotlib.ft2font import FT2Font, RenderMode
    _GLYPH_LEVEL = all(hasattr(FT2Font, name) for name in ("_layout", "_render_glyph", "_set_transform"))
except ImportError:  # pragma: no cover - older matplotlib
    _GLYPH_LEVEL = False

#: Entries kept per renderer: strings at an offset, shaped strings, rendered glyphs.
MAX_STRINGS = 4096
MAX_SHAPES = 4096
MAX_GLYPHS = 32768


def _remember(cache: OrderedDict, key, value, limit: int):
    cache[key] = value
    while len(cache) > limit:
        cache.popitem(last=False)
    return value


class _BlitRecorder:
    """Stands in for the C++ renderer while matplotlib draws one string: passes every call on,
    and keeps a copy of each glyph bitmap with where it went. Any other kind of drawing (boxes
    of mathtext, say) makes the string unsuitable for replay."""

    def __init__(self, target):
        self.target = target
        self.blits: list[tuple] = []
        self.replayable = True

    def draw_text_image(self, image, x, y, angle, gc):
        self.blits.append((image.copy(), x, y, angle))
        return self.target.draw_text_image(image, x, y, angle, gc)

    def __getattr__(self, name):
        self.replayable = False
        return getattr(self.target, name)


def _font_height_metrics(prop: FontProperties, dpi: float) -> tuple:
    """What ``Text._get_layout`` (matplotlib 3.11) computes when the renderer has no
    ``_get_font_height_metrics``: (ascent, descent, line gap) in pixels from the font's OS/2
    table, else its hhea table; (None, None, None) makes it measure "lp" instead, as it would."""
    font = get_font(fontManager._find_fonts_by_props(prop))
    for table_name, gap_key, ascent_key, descent_key in (
            ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"), ("hhea", "lineGap", "ascent", "descent")):
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * prop.get_size_in_points() * dpi / 72
        return table[ascent_key] * scale, -table[descent_key] * scale, table[gap_key] * scale
    return None, None, None


def merge_blits(blits: list[tuple]) -> list[tuple]:
    """The glyph bitmaps of one string, ``(bitmap, x, y)`` as ``draw_text_image`` takes them (``y``
    the row below the bitmap), as one bitmap covering them all -- when no two of them cover the
    same pixel; else as they are.

    Why: each ``draw_text_image`` call costs about 10 microseconds before it blends a pixel, a
    string of 15 glyphs 15 of them. Agg blends every pixel of a blit on its own, with the glyph's
    coverage as alpha, and leaves pixels of coverage 0 untouched; so one bitmap holding each
    glyph's coverage where that glyph is changes exactly the pixels, by exactly the amounts, the
    glyphs drawn one by one would. Where two glyphs both cover a pixel (a tight kerning pair),
    one by one blends it twice: those strings are left as they are."""
    shown = [blit for blit in blits if blit[0].size]
    if len(shown) < 2:
        return shown
    left = min(x for _, x, _ in shown)
    right = max(x + image.shape[1] for image, x, _ in shown)
    top = min(y - image.shape[0] for image, _, y in shown)
    bottom = max(y for _, _, y in shown)
    merged = np.zeros((bottom - top, right - left), dtype=np.uint8)
    for image, x, y in shown:
        region = merged[y - image.shape[0] - top:y - top, x - left:x - left + image.shape[1]]
        if np.logical_and(region, image).any():
            return shown
        np.maximum(region, image, out=region)
    return [(merged, left, bottom)]


class TextCachingRenderer(RendererAgg):
    """:class:`~matplotlib.backends.backend_agg.RendererAgg` that reuses its text drawing
    (plain text only; mathtext is drawn as usual)."""

    def __init__(self, width, height, dpi):
        super().__init__(width, height, dpi)
        self._strings: OrderedDict[tuple, list[tuple]] = OrderedDict()
        self._shapes: OrderedDict[tuple, list] = OrderedDict()
        self._glyphs: OrderedDict[tuple, tuple] = OrderedDict()
        self._height_metrics: dict[tuple, tuple] = {}
        self._glyph_level = _GLYPH_LEVEL
        self.hits = 0      # strings replayed whole

    def _get_font_height_metrics(self, prop: FontProperties) -> tuple:
        """(ascent, descent, line gap) of the font of ``prop``, in pixels: the hook
        ``Text._get_layout`` asks a renderer for before reading the font's tables itself.

        Why: every layout of every string (twice per tick label per draw) otherwise looks the font
        up and reads its OS/2 or hhea table again. The figures are matplotlib's own (the same
        tables and formula as ``Text._get_layout``), kept per font and size."""
        key = (font_key(prop), self.dpi)
        metrics = self._height_metrics.get(key)
        if metrics is None:
            metrics = self._height_metrics[key] = _font_height_metrics(prop, self.dpi)
        return metrics

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        features = tuple(mtext.get_fontfeatures() or ()) if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        style = (font_key(prop), gc.get_antialiased(), get_hinting_flag(), mpl.rcParams["text.hinting_factor"],
                 mpl.rcParams["text.kerning_factor"], features, language)
        whole_x, whole_y = math.floor(x), math.floor(y)
        key = (s, style, angle, x - whole_x, y - whole_y)
        blits = self._strings.get(key)
        if blits is not None:
            self.hits += 1
            self._strings.move_to_end(key)
            for image, dx, dy in blits:
                self._renderer.draw_text_image(image, whole_x + dx, whole_y + dy, 0, gc)
            return None
        if self._glyph_level:
            try:
                drawn = self._draw_glyphs(gc, x, y, s, prop, angle, style, mtext)
            except (AttributeError, TypeError):
                self._glyph_level = False  # not the matplotlib this was written for
            else:
                _remember(self._strings, key, [(image, bx - whole_x, by - whole_y) for image, bx, by in merge_blits(drawn)],
                          MAX_STRINGS)
                return None
        recorder = _BlitRecorder(self._renderer)
        self._renderer = recorder
        try:
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        finally:
            self._renderer = recorder.target
        if recorder.replayable and all(a == 0 for *_, a in recorder.blits):
            blits = merge_blits([(image, bx, by) for image, bx, by, _ in recorder.blits])
            _remember(self._strings, key, [(image, bx - whole_x, by - whole_y) for image, bx, by in blits], MAX_STRINGS)
        return None

    def _draw_glyphs(self, gc, x, y, s, prop, angle, style, mtext) -> list[tuple]:
        """Draw ``s`` as ``RendererAgg.draw_text`` does (matplotlib 3.11), with shaping and glyph
        bitmaps from the caches; returns the blits made, as (bitmap, x, y)."""
        # Per thread, as matplotlib keeps its fonts: an FT2Font is not safe to share between threads.
        shape_key = (s, style, self.dpi, threading.get_ident())
        glyphs = self._shapes.get(shape_key)
        if glyphs is None:
            font = self._prepare_font(prop)
            # A layout item points at its FT2Font without owning it: once matplotlib's font cache
            # lets the font go (it holds 64, per thread), a kept item would read freed memory
            # (FreeType errors such as "too many hints", wrong pixels, a crashed kernel). So the
            # shape keeps the fonts themselves, taken while ``font`` still holds them alive.
            glyphs = _remember(self._shapes, shape_key, [
                (item.ft_object, item.glyph_index, item.x, item.y) for item in font._layout(
                    s, flags=get_hinting_flag(),
                    features=mtext.get_fontfeatures() if mtext is not None else None,
                    language=mtext.get_language() if mtext is not None else None)], MAX_SHAPES)
        size = prop.get_size_in_points()
        cos = math.cos(math.radians(angle))
        sin = math.sin(math.radians(angle))
        load_flags = get_hinting_flag()
        antialiased = gc.get_antialiased()
        matrix = None
        height = int(self.height)
        blits = []
        for font, glyph_index, glyph_x, glyph_y in glyphs:
            # As RendererAgg._draw_text_glyphs_and_boxes: the glyph's position in 1/64 pixel,
            # y upwards as FreeType has it.
            tx = round(0x40 * (x + glyph_x * cos - glyph_y * sin))
            ty = round(0x40 * (self.height - y + glyph_x * sin + glyph_y * cos))
            glyph_key = (font.fname, font.face_index, size, self.dpi, glyph_index, angle, tx & 63, ty & 63,
                         load_flags, antialiased, style[3], style[4])
            glyph = self._glyphs.get(glyph_key)
            if glyph is None:
                if matrix is None:
                    matrix = (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int)
                font.set_size(size, self.dpi)
                font._set_transform(matrix, [tx, ty])
                bitmap = font._render_glyph(glyph_index, load_flags,
                                            RenderMode.NORMAL if antialiased else RenderMode.MONO)
                image = bitmap.buffer.copy()
                if not antialiased:
                    image *= 0xff
                glyph = _remember(self._glyphs, glyph_key, (image, bitmap.left - (tx >> 6), bitmap.top - (ty >> 6)),
                                  MAX_GLYPHS)
            image, left, top = glyph
            blit_x = (tx >> 6) + left
            blit_y = height - ((ty >> 6) + top) + image.shape[0]   # draw_text_image's y: bitmap bottom, downwards
            blits.append((image, blit_x, blit_y))
        # Blit only once every glyph rendered, so a FreeType error leaves the canvas untouched.
        blits = merge_blits(blits)
        for image, blit_x, blit_y in blits:
            self._renderer.draw_text_image(image, blit_x, blit_y, 0, gc)
        return blits


class TextCachingCanvas(FigureCanvasAgg):
    """A FigureCanvasAgg whose renderer is a :class:`TextCachingRenderer`."""

    def get_renderer(self):
        renderer = super().get_renderer()
        if not isinstance(renderer, TextCachingRenderer):
            # The base class made a new renderer (first draw, or the size changed): swap in ours.
            self.renderer = renderer = TextCachingRenderer(renderer.width, renderer.height, renderer.dpi)
        return renderer
