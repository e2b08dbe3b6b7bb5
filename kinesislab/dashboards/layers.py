"""Repaint a figure whose layout is frozen by drawing again only what changes.

Redrawing a dashboard's figure from scratch costs 100-300 ms, nearly all of it text: tick labels,
legends, axis labels. Between two slider moves those rarely change; the lines, bars and
annotations do. :class:`LayeredPainter` paints each Axes in matplotlib's own order (by zorder)
but treats its parts in two ways:

* **static parts** -- the Axes background, the x axis, the y axis (each with its grid, ticks,
  tick labels, axis label and offset text) and the legend. Each is rendered alone on a
  transparent canvas and its pixels are kept, per *look*: a cheap fingerprint of everything that
  decides those pixels (limits, tick positions and label strings, fonts, colours, legend
  entries; see :func:`part_look`). A look seen before is pasted from the cache; a new look is
  rendered for that part only, so a new shard count re-renders the shard axis, not the legend.
  An axis is rendered by :func:`draw_axis`: matplotlib's ``Axis.draw`` with the grid lines and
  tick marks of all ticks drawn in one call each (the same pixels, a third of the calls). It
  reads matplotlib's private attributes, so it is used only once :func:`fast_axis_works` has
  seen it give matplotlib's own pixels on the matplotlib installed (checked once per process).
* **live parts** -- everything else (lines, bars, collections, texts, titles, spines), drawn
  again on every paint, straight onto the canvas with the Agg renderer.

Pasting blends with the formula Agg itself uses for a partly covered pixel, so the picture is
the one a full redraw gives, pixel for pixel, except by one level of rounding where two strokes
of the same part overlap. Figures with anything unusual (figure-level artists, inset axes,
rasterisation, a layout engine) are simply drawn in full.

The Axes of one figure are assumed not to overlap (constrained layout sees to that), and tick
locators and formatters not to be changed in place once shown (set new ones instead, as
``set_xticks`` and ``set_major_formatter`` do).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from functools import lru_cache
from dataclasses import dataclass, field
from operator import attrgetter

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, IndexLocator, LinearLocator, MultipleLocator, NullLocator

_LITTLE_ENDIAN = np.little_endian

#: Looks remembered per static part: a slider moved back and forth finds its earlier pixels here.
LOOKS_PER_PART = 24


# ------------------------------------------------------------------------------------ looks


def _plain(value):
    """A hashable, comparable copy of a property value (arrays and lists become tuples)."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":  # numbers: their bytes say it all, and hash fast
            return value.dtype.str, value.shape, value.tobytes()
        return tuple(_plain(v) for v in value.tolist()) if value.ndim else value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _plain(v)) for k, v in value.items()))
    if isinstance(value, FontProperties):
        return font_key(value)
    return repr(value)


def font_key(prop: FontProperties) -> tuple:
    """Everything that picks a font and its size (the fields ``FontProperties.__hash__`` uses)."""
    return (tuple(prop.get_family()), prop.get_slant(), prop.get_variant(), prop.get_weight(),
            prop.get_stretch(), prop.get_size(), prop.get_file(), prop.get_math_fontfamily())


def text_style(text: Text) -> tuple:
    """How a Text is drawn, whatever it says and wherever it is."""
    return (text.get_visible(), font_key(text.get_fontproperties()), to_rgba(text.get_color()), text.get_alpha(),
            text.get_rotation(), text.get_horizontalalignment(), text.get_verticalalignment(), text.get_zorder())


def text_look(text: Text) -> tuple:
    """What decides a Text's pixels, apart from its position (set by the layout)."""
    return (text.get_text(), *text_style(text))


_STYLE_GETTERS = ("get_visible", "get_alpha", "get_zorder", "get_color", "get_facecolor", "get_edgecolor",
                  "get_linestyle", "get_linewidth", "get_hatch", "get_marker", "get_markersize",
                  "get_markerfacecolor", "get_markeredgecolor", "get_fill", "get_sizes", "get_drawstyle")


def artist_look(artist) -> tuple:
    """Type and drawing style of an artist (used for patches, legend handles and tick lines)."""
    look = [type(artist).__name__]
    for name in _STYLE_GETTERS:
        getter = getattr(artist, name, None)
        if getter is not None:
            try:
                look.append((name, _plain(getter())))
            except (TypeError, ValueError, AttributeError):
                look.append((name, None))
    return tuple(look)


def line_look(line) -> tuple:
    """Drawing style of a tick's line (grid line or tick mark): :func:`artist_look` for a Line2D,
    read from its attributes (a paint fingerprints six of these per Axes)."""
    marker = line._marker
    return ("Line2D", line._visible, line._alpha, line.zorder, _plain(line._color), line._linestyle,
            line._linewidth, _plain(line._dash_pattern), marker.get_marker() if marker is not None else None,
            marker.get_fillstyle() if marker is not None else None, line._markersize, line._markeredgewidth,
            _plain(line._markeredgecolor), _plain(line._markerfacecolor), _plain(line._markerfacecoloralt),
            line._drawstyle, line._antialiased, line._solidcapstyle, line._dashcapstyle)


def legend_look(legend: Legend) -> tuple:
    """Entries, placement and frame of a legend. A legend placed "best" moves with the data, so
    its look never repeats (it is rendered again on every paint)."""
    loc = getattr(legend, "_loc", None)
    if loc == 0:  # "best"
        return (object(),)
    anchor = legend.get_bbox_to_anchor()
    return (
        legend.get_visible(), legend.get_zorder(), _plain(loc), anchor.bounds if anchor is not None else None,
        getattr(legend, "_ncols", None), getattr(legend, "_mode", None),
        tuple(_plain(getattr(legend, name, None)) for name in (
            "numpoints", "markerscale", "scatterpoints", "borderpad", "labelspacing", "handlelength",
            "handleheight", "handletextpad", "borderaxespad", "columnspacing", "shadow")),
        legend.get_frame_on(), artist_look(legend.get_frame()),
        text_look(legend.get_title()),
        tuple(text_look(text) for text in legend.get_texts()),
        tuple(artist_look(handle) for handle in legend.legend_handles if handle is not None),
    )


#: Instance attributes of locators and formatters that are results of the last call, not settings.
_DERIVED = frozenset({"axis", "locs", "orderOfMagnitude", "format", "offset", "_sublabels"})
#: Tick summaries remembered per axis (keyed by everything they are computed from).
_TICK_MEMO_SIZE = 16
_TICK_MEMOS: "weakref.WeakKeyDictionary[Axis, OrderedDict]" = weakref.WeakKeyDictionary()


def _settings(ticker_part) -> tuple:
    """A locator's or formatter's settings (its type and attributes, minus derived state)."""
    return (type(ticker_part), _plain({k: v for k, v in vars(ticker_part).items() if k not in _DERIVED}))


#: Locators that never ask how many ticks fit (``Axis.get_tick_space``).
_SPACE_BLIND = (FixedLocator, NullLocator, MultipleLocator, IndexLocator, LinearLocator)
_TICK_SPACES: "weakref.WeakKeyDictionary[Axis, tuple]" = weakref.WeakKeyDictionary()


def _tick_space(axis: Axis, locator) -> int | None:
    """``axis.get_tick_space()`` (None for a locator that does not use it), remembered per size of
    the Axes and tick label size: it builds a FontProperties and transforms a box on every call."""
    if isinstance(locator, _SPACE_BLIND):
        return None
    box = axis.axes.bbox
    key = (box.width, box.height, axis.get_figure(root=True).dpi, _plain(axis._major_tick_kw.get("labelsize")),
           _plain(mpl.rcParams["xtick.labelsize"]), _plain(mpl.rcParams["ytick.labelsize"]), type(axis))
    known = _TICK_SPACES.get(axis)
    if known is None or known[0] != key:
        known = _TICK_SPACES[axis] = (key, axis.get_tick_space())
    return known[1]


def tick_summary(axis: Axis, which: str = "major") -> tuple[tuple, tuple, str]:
    """(locations, label strings, offset text) of the major or minor ticks of ``axis``: the
    locator and formatter calls matplotlib makes before drawing an axis, so the strings are the
    ones drawn. Remembered per axis, keyed by the locator's and formatter's settings, the view
    interval and the room for ticks, so a repaint with nothing changed costs no tick maths."""
    ticker = axis.major if which == "major" else axis.minor
    if isinstance(ticker.locator, NullLocator):
        return (), (), ""  # no ticks: matplotlib skips this tick group, and so do we
    key = (which, ticker.locator, _settings(ticker.locator), ticker.formatter, _settings(ticker.formatter),
           tuple(axis.get_view_interval()), axis.get_scale(), _tick_space(axis, ticker.locator),
           axis.remove_overlapping_locs)
    memo = _TICK_MEMOS.setdefault(axis, OrderedDict())
    summary = memo.get(key)
    if summary is None:
        locs = np.asarray(axis.get_majorticklocs() if which == "major" else axis.get_minorticklocs(), dtype=float)
        labels = tuple(ticker.formatter.format_ticks(locs)) if len(locs) else ()
        offset = ticker.formatter.get_offset() if which == "major" and len(locs) else ""
        summary = memo[key] = (tuple(np.round(locs, 12).tolist()), labels, offset)
        while len(memo) > _TICK_MEMO_SIZE:
            memo.popitem(last=False)
    return summary


def _ticks_look(axis: Axis, which: str) -> tuple:
    """Locations, label strings, offset and tick style of the major or minor ticks."""
    summary = tick_summary(axis, which)
    if not summary[0]:
        return summary  # no ticks of this kind: their style does not show
    first = (axis.get_major_ticks(1) if which == "major" else axis.get_minor_ticks(1))[0]
    # Tick objects get their strings and positions when drawn (from the summary): only their
    # style belongs in the look.
    style = (text_style(first.label1), text_style(first.label2), line_look(first.tick1line),
             line_look(first.tick2line), line_look(first.gridline))
    return summary, style, _plain(getattr(axis, f"_{which}_tick_kw", None))


def axis_look(axis: Axis) -> tuple:
    """What decides the pixels of one axis: limits, ticks, tick labels, grid, axis label, offset
    text, and where its spines are."""
    ax = axis.axes
    spines = tuple((side, _plain(spine.get_position()), spine.get_visible()) for side, spine in ax.spines.items())
    # A spine placed at a data value moves with the other axis' limits, and the ticks move with it.
    other = ax.yaxis if axis is ax.xaxis else ax.xaxis
    other_limits = tuple(other.get_view_interval()) if any(s[1][0] == "data" for s in spines
                                                           if isinstance(s[1], tuple)) else None
    return (axis.get_visible(), axis.get_scale(), tuple(axis.get_view_interval()), axis.get_inverted(),
            _ticks_look(axis, "major"), _ticks_look(axis, "minor"), text_look(axis.label), axis.get_label_position(),
            text_style(axis.offsetText), spines, other_limits)


def part_look(ax: Axes, part, where: tuple | None = None) -> tuple:
    """The fingerprint of one static part of ``ax``: equal fingerprints, equal pixels.
    ``where`` is :func:`axes_place` of ``ax`` (pass it when fingerprinting several parts)."""
    where = where if where is not None else axes_place(ax)
    if part is ax.patch:
        return where + artist_look(part)
    if isinstance(part, Axis):
        return where + axis_look(part)
    return where + legend_look(part)


def axes_place(ax: Axes) -> tuple:
    """Where ``ax`` is on the figure, and whether it has a frame and axes."""
    return ax.get_position().bounds, ax.get_frame_on(), ax.axison


# ------------------------------------------------------------------------------------ draw order


def draw_order(ax: Axes) -> list:
    """The artists of ``ax`` in the order :meth:`matplotlib.axes.Axes.draw` draws them when saving
    (animated artists included, as ``savefig`` does)."""
    artists = ax.get_children()
    artists.remove(ax.patch)
    framed = ax.axison and ax.get_frame_on()
    if not framed:
        for spine in ax.spines.values():
            artists.remove(spine)
    if not ax.axison:
        for axis in (ax.xaxis, ax.yaxis):
            artists.remove(axis)
    artists = sorted(artists, key=attrgetter("zorder"))
    return ([ax.patch] if framed else []) + artists


def static_part(ax: Axes, artist) -> str | None:
    """The name of a cached part of ``ax``; None for an artist drawn on every paint."""
    if artist is ax.patch:
        return "background"
    if artist is ax.xaxis:
        return "x axis"
    if artist is ax.yaxis:
        return "y axis"
    if isinstance(artist, Legend) and artist is ax.get_legend():
        return "legend"
    return None


# ------------------------------------------------------------------------------------ axes


#: At most this many ticks have their grid lines merged into one path: matplotlib simplifies paths
#: of 128 vertices or more (three per grid line here, with the gap), which could move pixels.
MAX_MERGED_TICKS = 40


def _line_style(line) -> tuple:
    """What a tick's line is drawn with, apart from where (compared between the ticks of one axis):
    its :func:`line_look` and what decides where and how its pixels land."""
    return line_look(line) + (line._transform, line.clipbox, line._clippath, line._clipon, line._snap, line._sketch,
                              line._path_effects, line._gid, line._url, line._rasterized)


def _merge_lines(lines: list, renderer) -> None:
    """Draw the one-segment lines (a grid line, or a tick mark: one marker) of several ticks as one
    Line2D: the first tick's, given every tick's points (grid lines separated by a NaN, which
    Agg's path pipeline turns into a move), drawn, then given its own points back.

    The pixels are the ones the lines drawn one by one give: Agg snaps each vertex and stamps each
    marker on its own, the grid lines of different ticks share no pixel, and a path this short
    (see :data:`MAX_MERGED_TICKS`) is never simplified."""
    first = lines[0]
    if not first._visible:
        return
    x_own, y_own = first._xorig, first._yorig
    pieces_x, pieces_y = [], []
    segments = first._linestyle not in ("None", "none", " ", "")
    for line in lines:
        x, y = np.broadcast_arrays(np.asarray(line._xorig, dtype=float).ravel(),
                                   np.asarray(line._yorig, dtype=float).ravel())
        pieces_x.append(x)
        pieces_y.append(y)
        if segments:
            pieces_x.append(_NAN)
            pieces_y.append(_NAN)
    try:
        first.set_data(np.concatenate(pieces_x), np.concatenate(pieces_y))
        first.draw(renderer)
    finally:
        first.set_data(x_own, y_own)


_NAN = np.array([np.nan])


def _aligned_with_itself_only(axis: Axis) -> bool:
    """True when ``axis``' label is placed from its own tick labels alone (no
    ``Figure.align_xlabels`` grouping with other Axes)."""
    if not axis._autolabelpos:
        return False
    groups = axis.get_figure(root=False)._align_label_groups
    name = axis._get_axis_name()
    return name in groups and list(groups[name].get_siblings(axis.axes)) == [axis.axes]


@lru_cache(maxsize=1)
def fast_axis_works() -> bool:
    """Whether :func:`draw_axis` draws an axis exactly as matplotlib's ``Axis.draw`` does on the
    matplotlib installed: both draw the axes of a small gridded plot and the pixels are compared.
    False (matplotlib's own drawing is used) if they differ or the private parts it reads moved."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

    try:
        figure = Figure(figsize=(3, 2), dpi=72)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        ax.plot([0, 1, 2], [0, 1234.5, 700])
        ax.grid(True, linestyle="--", alpha=0.4)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("records/s")
        figure.canvas.draw()
        width, height = figure.canvas.get_width_height(physical=True)
        for axis in (ax.xaxis, ax.yaxis):
            theirs, ours = RendererAgg(width, height, figure.dpi), RendererAgg(width, height, figure.dpi)
            theirs.clear()
            ours.clear()
            axis.draw(theirs)
            draw_axis(axis, ours)
            if bytes(ours.buffer_rgba()) != bytes(theirs.buffer_rgba()):
                return False
        return True
    except Exception:  # noqa: BLE001 - any failure means: use matplotlib's own drawing
        return False


def draw_axis(axis: Axis, renderer) -> None:
    """Draw ``axis`` as :meth:`matplotlib.axis.Axis.draw` does, pixel for pixel, but with the grid
    lines, the tick marks and the other side's tick marks of all its ticks drawn as one line each
    (three draws instead of three per tick: most of an axis' drawing time is spent in matplotlib's
    per-artist overhead). Ticks styled one by one, or minor ticks among them, are drawn as
    matplotlib draws them."""
    if not axis.get_visible():
        return
    renderer.open_group("axis", gid=axis.get_gid())
    ticks = axis._update_ticks()
    tlb1, tlb2 = axis._get_ticklabel_bboxes(ticks, renderer)
    majors = {id(tick) for tick in axis.majorTicks}
    merge = 1 < len(ticks) <= MAX_MERGED_TICKS and all(id(tick) in majors for tick in ticks)
    if merge:
        first = ticks[0]
        merge = first.get_visible() and all(
            tick.get_visible() and all(_line_style(getattr(tick, kind)) == _line_style(getattr(first, kind))
                                       for kind in ("gridline", "tick1line", "tick2line"))
            for tick in ticks[1:])
    if merge:
        # Each tick's parts are drawn in matplotlib's order (grid line, tick marks, labels); parts of
        # different ticks do not overlap, so drawing them kind by kind changes no pixel.
        for kind in ("gridline", "tick1line", "tick2line"):
            _merge_lines([getattr(tick, kind) for tick in ticks], renderer)
        for tick in ticks:
            tick.label1.draw(renderer)
            tick.label2.draw(renderer)
            tick.stale = False
    else:
        for tick in ticks:
            tick.draw(renderer)
    if _aligned_with_itself_only(axis):
        # The label goes clear of the tick labels' boxes, which matplotlib would lay out all over
        # again (``_get_tick_boxes_siblings``): hand it the ones just computed, the same values.
        axis._get_tick_boxes_siblings = lambda renderer: (list(tlb1), list(tlb2))
        try:
            axis._update_label_position(renderer)
        finally:
            del axis._get_tick_boxes_siblings
    else:
        axis._update_label_position(renderer)
    axis.label.draw(renderer)
    axis._update_offset_text_position(tlb1, tlb2)
    axis.offsetText.set_text(axis.major.formatter.get_offset())
    axis.offsetText.draw(renderer)
    renderer.close_group("axis")
    axis.stale = False


# ------------------------------------------------------------------------------------ pixels


@dataclass
class Layer:
    """The pixels one static part paints: where it is opaque (pasted as they are) and where it is
    partly transparent (blended)."""

    opaque_index: np.ndarray      # flat pixel indices
    opaque_pixels: np.ndarray     # their RGBA packed as uint32
    partial_index: np.ndarray     # flat pixel indices
    partial_colour_shifted: np.ndarray   # their (R, G, B) * 256, int32, shape (N, 3)
    partial_alpha: np.ndarray     # their alpha, int32, shape (N, 1)
    #: Terms of the blend onto opaque pixels that depend on the layer alone (made on first use).
    _onto_opaque: tuple | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_rgba(cls, rgba: np.ndarray, skip_equal_to: np.ndarray | None = None) -> "Layer":
        """The layer drawn on a transparent canvas ``rgba``. ``skip_equal_to`` (uint32 pixels):
        opaque pixels equal to it are left out (a white Axes background on a white figure is
        then almost nothing to paste)."""
        height, width = rgba.shape[:2]
        # Each pixel as one uint32 word (the canvas is contiguous RGBA, its alpha the top byte on
        # a little-endian machine): comparing words is several times faster than reading the
        # alpha bytes through a strided view.
        pixels = rgba.reshape(-1).view(np.uint32).reshape(height, width)
        covered = pixels > 0x00FFFFFF if _LITTLE_ENDIAN else rgba[:, :, 3] != 0
        # A part covers a small area of the figure: look only at the rows and columns it touched.
        rows = np.flatnonzero(covered.any(axis=1))
        if not len(rows):
            empty = np.zeros(0, dtype=np.int32)
            return cls(empty, np.zeros(0, dtype=np.uint32), empty, np.zeros((0, 3), np.int32),
                       np.zeros((0, 1), np.int32))
        top, bottom = rows[0], rows[-1] + 1
        columns = np.flatnonzero(covered[top:bottom].any(axis=0))
        left, right = columns[0], columns[-1] + 1
        window = pixels[top:bottom, left:right]
        if _LITTLE_ENDIAN:
            opaque_mask = window >= 0xFF000000
        else:
            opaque_mask = rgba[top:bottom, left:right, 3] == 255
        partial_mask = covered[top:bottom, left:right] & ~opaque_mask
        if skip_equal_to is not None:
            opaque_mask &= window != skip_equal_to.reshape(height, width)[top:bottom, left:right]
        window_width = right - left

        def figure_index(mask: np.ndarray) -> np.ndarray:
            r, c = np.divmod(np.flatnonzero(mask), window_width)   # flatnonzero: 1-D, far cheaper than nonzero
            return ((r + top) * width + (c + left)).astype(np.int32)

        opaque, partial = figure_index(opaque_mask), figure_index(partial_mask)
        colours = rgba.reshape(-1, 4)[partial].astype(np.int32)
        return cls(opaque, pixels.reshape(-1)[opaque], partial, colours[:, :3] << 8, colours[:, 3:4].copy())

    def paint_onto(self, rgba: np.ndarray) -> None:
        """Paint onto ``rgba`` in place. Partly transparent pixels are blended with Agg's
        plain-RGBA formula (``fixed_blender_rgba_plain``), the one that drew the layer, so a pixel
        the part covers once comes out exactly as a direct draw makes it."""
        words = rgba.reshape(-1).view(np.uint32)
        words[self.opaque_index] = self.opaque_pixels
        if not len(self.partial_index):
            return
        # Pixels gathered and scattered as whole words: one index per pixel, not per byte.
        below8 = words[self.partial_index].view(np.uint8).reshape(-1, 4)
        if below8[:, 3].min() == 255:
            # Onto opaque pixels (the figure background is opaque): the formula below with
            # below_alpha = 255, its terms that depend on the layer alone computed once.
            alpha = self.partial_alpha
            if self._onto_opaque is None:
                self._onto_opaque = (self.partial_colour_shifted * alpha, 255 * (256 - alpha),
                                     (65280 + alpha).astype(np.float64))
            constant, factor, total = self._onto_opaque
            blended = np.empty_like(below8)
            blended[:, :3] = np.floor((constant + below8[:, :3] * factor) / total)
            blended[:, 3] = 255
            words[self.partial_index] = blended.view(np.uint32).reshape(-1)
            return
        flat8 = rgba.reshape(-1, 4)
        below = below8.astype(np.int32)
        alpha = self.partial_alpha
        below_alpha = below[:, 3:4]
        premultiplied = below[:, :3] * below_alpha
        total = ((alpha + below_alpha) << 8) - alpha * below_alpha
        # Every intermediate stays below 2**31: colours and alphas are at most 255.
        numerator = (self.partial_colour_shifted - premultiplied) * alpha + (premultiplied << 8)
        # Agg divides integers. Dividing in float64 and rounding down gives the same quotient
        # (numerator < 2**31 and total >= 256: a quotient that is not whole is at least 1/total
        # away from the next whole number, far more than float64's rounding error) and is many
        # times faster than numpy's integer division.
        below[:, :3] = np.floor(numerator / total.astype(np.float64))
        below[:, 3:4] = total >> 8
        flat8[self.partial_index] = below


@dataclass
class PaintReport:
    """What the last paint did (for tests and benchmarks)."""

    full_redraw: bool = False
    parts_rendered: int = 0    # static parts with a new look, rendered for this paint
    parts_reused: int = 0      # static parts pasted from the cache


class LayeredPainter:
    """Paints a figure into its Agg canvas, reusing each static part's pixels while its look
    repeats. The figure's layout must be frozen (no layout engine) before the first paint."""

    def __init__(self, figure: Figure):
        self.figure = figure
        self._bare_look = None
        self._bare: np.ndarray | None = None
        self._layers: dict[tuple[int, str], OrderedDict] = {}
        self._titles_placed: dict[int, bool] = {}
        self.report = PaintReport()

    def paint(self) -> np.ndarray:
        """Draw the figure now; returns the canvas' RGBA pixels (a view, valid until the next draw)."""
        canvas = self.figure.canvas
        if not self._layerable():
            canvas.draw()
            self.report = PaintReport(full_redraw=True)
            return np.asarray(canvas.get_renderer().buffer_rgba())
        report = PaintReport()
        bare = self._bare_figure()
        plans = []
        for ax in self._axes_in_draw_order():
            ax.apply_aspect()
            order = draw_order(ax)
            where = axes_place(ax)
            parts, missing = {}, []
            for artist in order:
                name = static_part(ax, artist)
                if name is None:
                    continue
                look = part_look(ax, artist, where)
                cache = self._layers.setdefault((id(ax), name), OrderedDict())
                layer = cache.get(look)
                if layer is None:
                    missing.append((name, artist, look, cache))
                else:
                    cache.move_to_end(look)
                    parts[name] = layer
                    report.parts_reused += 1
            # Titles pushed up by an offset text must be placed again while it is there, and once
            # more after it has gone; matplotlib does that in every full draw.
            may_move = titles_may_move(ax)
            place_titles = may_move or self._titles_placed.get(id(ax), False)
            self._titles_placed[id(ax)] = may_move
            if missing:
                report.parts_rendered += len(missing)
                parts.update(self._render_parts(ax, missing, bare, place_titles))
            elif place_titles:
                self._draw_only(ax, None)
            plans.append((ax, order, parts))
        renderer = canvas.get_renderer()
        rgba = np.asarray(renderer.buffer_rgba())
        np.copyto(rgba, bare)
        for ax, order, parts in plans:
            for artist in order:
                name = static_part(ax, artist)
                if name is None:
                    artist.draw(renderer)
                else:
                    parts[name].paint_onto(rgba)
        self.report = report
        return rgba

    # -------------------------------------------------------------------------------- parts
    def _layerable(self) -> bool:
        """True when the figure holds only Axes of the plain kind this painter understands."""
        figure = self.figure
        if figure.get_layout_engine() is not None:
            return False  # a layout engine moves Axes on every draw
        if any(len(group) for group in (figure.texts, figure.legends, figure.images, figure.lines,
                                        figure.patches, figure.artists, figure.subfigs)):
            return False
        for ax in figure.axes:
            if ax.child_axes or ax.get_rasterization_zorder() is not None or ax.get_axes_locator() is not None:
                return False
            if any(artist.get_rasterized() for artist in ax.get_children()):
                return False
        # Overlapping Axes (twins, insets) would paint over each other's cached parts.
        boxes = [ax.get_position() for ax in figure.axes if ax.get_visible()]
        return not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])

    def _axes_in_draw_order(self) -> list[Axes]:
        axes = [a for a in self.figure.get_children() if isinstance(a, Axes)]
        return [ax for ax in sorted(axes, key=attrgetter("zorder")) if ax.get_visible()]

    def _bare_figure(self) -> np.ndarray:
        """The figure's own background without any Axes (rendered once per size and colour)."""
        figure = self.figure
        look = (tuple(figure.bbox.size), figure.dpi, artist_look(figure.patch))
        if look != self._bare_look:
            # Cached parts are pixels of a canvas of the old size: a new size or dpi draws all anew.
            self._layers.clear()
            self._titles_placed.clear()
            with _skipped(figure.axes):
                figure.canvas.draw()
            self._bare = np.asarray(figure.canvas.get_renderer().buffer_rgba()).copy()
            self._bare_look = look
        return self._bare

    def _draw_only(self, ax: Axes, artist) -> None:
        """Matplotlib's whole draw with everything skipped but ``artist`` of ``ax`` (None: nothing),
        on a cleared canvas. ``Axes.draw`` places the titles on the way, as in a full redraw."""
        figure = self.figure
        everything_else = [figure.patch] + [other for other in figure.axes if other is not ax]
        everything_else += [a for a in draw_order(ax) if a is not artist]
        with _skipped(everything_else), _drawn_fast(artist):
            figure.canvas.draw()

    def _render_parts(self, ax: Axes, missing: list, bare: np.ndarray, place_titles: bool) -> dict[str, Layer]:
        """Render each missing part of ``ax`` alone on a transparent canvas and cache it.

        Parts are drawn directly, except when the Axes' titles must be placed (see
        :func:`titles_may_move`): then the first part goes through matplotlib's whole draw."""
        renderer = self.figure.canvas.get_renderer()
        bare32 = bare.reshape(-1).view(np.uint32)
        rendered = {}
        for number, (name, artist, look, cache) in enumerate(missing):
            if number == 0 and place_titles:
                self._draw_only(ax, artist)
            else:
                renderer.clear()  # transparent white
                if isinstance(artist, Axis) and fast_axis_works():
                    draw_axis(artist, renderer)
                else:
                    artist.draw(renderer)
            rgba = np.asarray(renderer.buffer_rgba())
            # Axes do not overlap, so the background is painted on the bare figure: pixels that
            # equal it need no pasting.
            layer = Layer.from_rgba(rgba, skip_equal_to=bare32 if artist is ax.patch else None)
            cache[look] = rendered[name] = layer
            while len(cache) > LOOKS_PER_PART:
                cache.popitem(last=False)
        return rendered


def titles_may_move(ax: Axes) -> bool:
    """True when matplotlib would move the titles of ``ax`` up from their default place: tick
    labels or the axis label at the top, or an offset text ("1e6") on the y axis next to a
    title (the inputs of ``Axes._update_title_position``, which every full draw runs)."""
    if ax.xaxis.get_label_position() == "top":
        return True
    firsts = ax.xaxis.get_major_ticks(1) + ax.xaxis.get_minor_ticks(1)
    if any(tick.label2.get_visible() for tick in firsts):
        return True
    has_title = any(title.get_text() for title in (ax.title, *_side_titles(ax)))
    return bool(has_title and ax.yaxis.get_visible() and tick_summary(ax.yaxis, "major")[2])


def _side_titles(ax: Axes) -> tuple:
    """The left and right titles (matplotlib keeps them in private attributes)."""
    return tuple(title for title in (getattr(ax, "_left_title", None), getattr(ax, "_right_title", None))
                 if title is not None)


class _skipped:
    """Leave artists out of the drawing for the duration of a ``with`` block.

    Not ``set_visible(False)``: matplotlib places a title from its visible extent, so a hidden
    title would be moved away. Shadowing ``draw`` on the instance changes no artist state."""

    def __init__(self, artists):
        self.artists = list(artists)

    def __enter__(self):
        for artist in self.artists:
            artist.draw = _draw_nothing
        return self

    def __exit__(self, *exc):
        for artist in self.artists:
            del artist.draw
        return False


def _draw_nothing(renderer) -> None:
    return None


class _drawn_fast:
    """Within a ``with`` block, an Axis (if ``artist`` is one) draws itself with :func:`draw_axis`."""

    def __init__(self, artist):
        self.axis = artist if isinstance(artist, Axis) and fast_axis_works() else None

    def __enter__(self):
        if self.axis is not None:
            axis = self.axis
            axis.draw = lambda renderer: draw_axis(axis, renderer)
        return self

    def __exit__(self, *exc):
        if self.axis is not None:
            del self.axis.draw
        return False
