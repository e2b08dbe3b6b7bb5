"""One look for every lesson: the same colour means the same thing everywhere.

Colours are the Okabe-Ito palette, which stays distinguishable with the common forms of colour
blindness; meaning never rests on colour alone (lines also differ in style, bars carry labels).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable

from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.ticker import EngFormatter, FuncFormatter, MaxNLocator
from matplotlib.transforms import ScaledTranslation

#: What each colour means, in every dashboard.
COLOURS = {
    "offered": "#000000",      # black: what producers tried to write
    "accepted": "#0072B2",     # blue: what the stream took
    "throttled": "#D55E00",    # vermillion: refused by a limit
    "retried": "#E69F00",      # orange: sent again
    "dropped": "#CC79A7",      # reddish purple: lost at the producer
    "capacity": "#000000",     # black dashed: the limit
    "on_demand": "#009E73",    # bluish green: on-demand capacity
    "provisioned": "#0072B2",  # blue: provisioned capacity
    "consumer": "#56B4E9",     # sky blue: reads
    "efo": "#009E73",          # bluish green: enhanced fan-out
    "hot": "#D55E00",          # vermillion outline: the hot shard
    "idle": "#BBBBBB",         # grey: closed or idle
    "highlight": "#F0E442",    # yellow: the learner's selection
}

#: Consumers get these in order (distinct from the write colours where possible).
SERIES_CYCLE = ["#56B4E9", "#009E73", "#E69F00", "#CC79A7", "#0072B2", "#F0E442", "#000000"]

CAPACITY_LINE = {"color": COLOURS["capacity"], "linestyle": "--", "linewidth": 1.5}

FONT_SIZE = 9
FIGURE_DPI = 90


#: Axis tops are rounded up to one of these times a power of ten (see :func:`nice_ceiling`).
NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceiling(value: float) -> float:
    """The smallest round number at or above ``value``: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8
    times a power of ten (consecutive steps are at most a third apart).

    Panels pass their axis tops through this so that a small change in the data leaves the axis,
    and its tick labels, as they were: the live figure then reuses the axis' pixels instead of
    drawing its text again. Values that are not positive come back unchanged.

    >>> nice_ceiling(3750), nice_ceiling(4000), nice_ceiling(0.013), nice_ceiling(1e6 + 1)
    (4000.0, 4000.0, 0.015, 1200000.0)
    """
    if not math.isfinite(value) or value <= 0:
        return value
    power = 10.0 ** math.floor(math.log10(value))
    for step in NICE_STEPS:
        # Rounded to 12 significant digits: 0.1 * 1.5 should be 0.15, not 0.15000000000000002.
        candidate = float(f"{step * power:.12g}")
        if candidate >= value * (1 - 1e-12):
            return candidate
    return float(f"{10 * power:.12g}")


def si(unit: str) -> EngFormatter:
    """Axis labels like 1.5 k, 2 M with a unit (records/s, B/s)."""
    return EngFormatter(unit=unit, sep=" ")


def thousands() -> FuncFormatter:
    return FuncFormatter(lambda value, _: f"{value:,.0f}")


def tidy(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    """Title, labels with units, light grid, no top/right spines."""
    ax.set_title(title, fontsize=FONT_SIZE + 1, loc="left")
    ax.set_xlabel(xlabel, fontsize=FONT_SIZE)
    ax.set_ylabel(ylabel, fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 1)
    ax.grid(True, alpha=0.3, linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


#: The widest y tick label of an axis formatted with :func:`si` whose top comes from
#: :func:`nice_ceiling` (three significant digits and a prefix, e.g. "17.5 k"; digits are all
#: equally wide, so "8" stands for any of them).
WIDEST_SI_TICK = "88.8 k"


def pin_ylabel(ax: Axes, widest_tick_label: str) -> None:
    """Put the y-axis label of ``ax`` at a fixed distance left of the axes, room enough for
    ``widest_tick_label`` (the widest tick label the panel can ever show) between them.

    Why: a live figure settles its layout once, with the tick labels of the first update. By
    default matplotlib puts the axis label just left of the tick labels *of the moment*, so a
    wider label shown later ("17.5 k" after "5 k") pushes the axis label out of the figure or
    onto the next panel. A label pinned at the widest case stays clear of every tick label, and
    the layout, which measures the label where it is, keeps that room for it."""
    figure = ax.get_figure(root=True)
    tick = ax.yaxis.get_major_ticks(numticks=1)[0]   # numticks: no locator call (a log axis may have no data yet)
    renderer = figure.canvas.get_renderer()
    width_pixels, _, _ = renderer.get_text_width_height_descent(
        widest_tick_label, tick.label1.get_fontproperties(), ismath=False)
    # Tick mark + its pad + the widest label + the axis label's own pad, all in points.
    distance = (tick.get_tick_padding() + tick.get_pad() + width_pixels * 72.0 / figure.dpi
                + ax.yaxis.labelpad)
    offset = ScaledTranslation(-distance / 72.0, 0.0, figure.dpi_scale_trans)
    ax.yaxis.set_label_coords(0.0, 0.5, transform=ax.transAxes + offset)


def si_yaxis(ax: Axes) -> None:
    """Counts on the y axis in SI form ("17.5 k"), with the axis label pinned clear of the widest."""
    ax.yaxis.set_major_formatter(si(""))
    pin_ylabel(ax, WIDEST_SI_TICK)


def few_y_ticks(ax: Axes, intervals: int = 5) -> None:
    """At most ``intervals`` steps of 1, 2, 2.5 or 5 (times a power of ten) up the y axis.

    Why: a small panel whose scale follows a slider reads as well with 0, 2 k, ..., 8 k as with a
    line every 1 k, and each new scale costs a redraw of the axis: half the labels, half the time."""
    ax.yaxis.set_major_locator(MaxNLocator(nbins=intervals, steps=[1, 2, 2.5, 5, 10]))


def set_limits(ax: Axes, x: tuple[float, float] | None = None, y: tuple[float, float] | None = None) -> None:
    """``ax.set_xlim(*x)`` and ``ax.set_ylim(*y)``, each skipped when the Axes already shows
    exactly those limits and does not autoscale that axis.

    Why: setting limits costs a quarter of a millisecond each (unit conversion, the locator's
    ``nonsingular``, callbacks), and most updates set the ones the Axes has."""
    if x is not None and (ax.get_autoscalex_on() or ax.get_xlim() != (float(x[0]), float(x[1]))):
        ax.set_xlim(*x)
    if y is not None and (ax.get_autoscaley_on() or ax.get_ylim() != (float(y[0]), float(y[1]))):
        ax.set_ylim(*y)


_TICKS_SET: "weakref.WeakKeyDictionary[Axis, tuple]" = weakref.WeakKeyDictionary()


def set_ticks(axis: Axis, positions: Iterable[float], labels: Iterable[str] | None = None, **text_style) -> None:
    """``axis.set_ticks(positions, labels, **text_style)``, skipped when the axis already has
    exactly these ticks from an earlier call here.

    Why: setting ticks costs milliseconds (new locator and formatter, every tick label restyled)
    and most updates set the ones the axis has; an unchanged locator and formatter also let the
    live figure reuse the axis' pixels."""
    positions = tuple(float(p) for p in positions)
    labels = tuple(labels) if labels is not None else None
    wanted = (positions, labels, tuple(sorted(text_style.items())))
    if _TICKS_SET.get(axis) == wanted:
        return
    axis.set_ticks(positions, labels, **text_style)
    _TICKS_SET[axis] = wanted


def make_ticks(axis: Axis, count: int) -> None:
    """Have ``axis`` hold ``count`` tick objects from the start (styled as its first one).

    Why: matplotlib makes a Tick (five artists, about a millisecond) the first time an axis shows
    more ticks than ever before; a panel whose tick count follows a slider (one per shard) would
    pay that on the slider move. Call after the axis is styled (``tidy``)."""
    axis.get_major_ticks(count)


_LEGEND_ENTRIES: "weakref.WeakKeyDictionary[Legend, tuple]" = weakref.WeakKeyDictionary()


def keep_legend(ax: Axes, entries: tuple, make: Callable[[], Legend]) -> Legend:
    """The legend of ``ax``: the one it has if that was made for the same ``entries`` (any
    hashable description of what the legend shows and where), else a new one from ``make()``.

    Making a legend costs several milliseconds; panels whose entries rarely change between
    updates keep theirs (and the live figure then reuses its pixels too)."""
    legend = ax.get_legend()
    if legend is not None and _LEGEND_ENTRIES.get(legend) == entries:
        return legend
    legend = make()
    _LEGEND_ENTRIES[legend] = entries
    return legend


class TextPool:
    """Text artists of one style on one Axes, reused from update to update (making a Text and
    adding it costs a fraction of a millisecond, and some panels label dozens of things)."""

    def __init__(self, ax: Axes, **style):
        self.ax = ax
        self.style = style
        self.texts: list[Text] = []

    def show(self, placed: Iterable[tuple[float, float, str]]) -> list[Text]:
        """One text per ``(x, y, string)`` (data coordinates); the texts not needed are hidden."""
        placed = list(placed)
        while len(self.texts) < len(placed):
            self.texts.append(self.ax.text(0, 0, "", **self.style))
        for text, (x, y, string) in zip(self.texts, placed):
            text.set_position((x, y))
            text.set_text(string)
            text.set_visible(True)
        for text in self.texts[len(placed):]:
            text.set_visible(False)
        return self.texts[:len(placed)]


def format_bytes_per_second(value: float) -> str:
    """1,048,576 -> '1.00 MiB/s' (binary units, as the Kinesis limits)."""
    for unit, size in (("GiB/s", 2**30), ("MiB/s", 2**20), ("KiB/s", 2**10)):
        if abs(value) >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:.0f} B/s"
