"""One look for every lesson: the same colour means the same thing everywhere.

Colours are the Okabe-Ito palette, which stays distinguishable with the common forms of colour
blindness; meaning never rests on colour alone (lines also differ in style, bars carry labels).
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.ticker import EngFormatter, FuncFormatter

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


def format_bytes_per_second(value: float) -> str:
    """1,048,576 -> '1.00 MiB/s' (binary units, as the Kinesis limits)."""
    for unit, size in (("GiB/s", 2**30), ("MiB/s", 2**20), ("KiB/s", 2**10)):
        if abs(value) >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:.0f} B/s"
