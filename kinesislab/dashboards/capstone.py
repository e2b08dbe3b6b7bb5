"""Lesson 12's dashboard: design a stream for a brief, see it run, and get it graded.

Every change of a control simulates the brief's workload on the new design (three virtual minutes)
and grades it; the readout is the report, headed "Grade: N/3 targets met". The "Grade my design"
button grades the current design again and keeps it in the list of attempts below the readout.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes

from kinesislab.course.capstone import Brief, Design, grade
from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.panels import LagPanel, ShardLoadPanel, ThroughputPanel
from kinesislab.dashboards.style import CAPACITY_LINE, COLOURS, FONT_SIZE, few_y_ticks, nice_ceiling, set_limits, tidy

MODE_LABELS = {"provisioned": "PROVISIONED", "on-demand": "ON_DEMAND"}
READER_LABELS = {"polling (GetRecords)": "polling", "enhanced fan-out": "enhanced fan-out"}


class CostPanel:
    """The run's bill lines, scaled to a month, against the budget line."""

    def __init__(self, ax: Axes, slots: int = 8, title: str = "Cost per month, by bill line"):
        self.ax = ax
        self.slots = slots
        self.bars = ax.barh(np.arange(slots), np.zeros(slots), color=COLOURS["provisioned"], height=0.6)
        self.budget = ax.axvline(1, label="budget", **CAPACITY_LINE)
        self.labels = [ax.text(0, i, "", va="center", ha="left", fontsize=FONT_SIZE - 1, zorder=5,
                               bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
                       for i in range(slots)]
        tidy(ax, title, "USD per month", "")
        ax.set_yticks([])                    # the bars carry their names
        ax.invert_yaxis()
        ax.legend(loc="lower right", fontsize=FONT_SIZE - 1, frameon=False)

    def update(self, month, budget: float, mode: str) -> None:
        # Plain arrays, not DataFrame rows: a row lookup costs more than drawing its bar.
        costs = month["cost_usd"].to_numpy(dtype=float)
        items = month["item"].to_numpy()
        shown = np.flatnonzero(costs > 0.005)
        shown = shown[np.argsort(-costs[shown], kind="stable")][:self.slots]
        colour = COLOURS["on_demand"] if mode == "ON_DEMAND" else COLOURS["provisioned"]
        top = nice_ceiling(max(budget, float(costs[shown].max()) if len(shown) else 0.0) * 1.35)
        for i, bar in enumerate(self.bars):
            if i < len(shown):
                width = float(costs[shown[i]])
                bar.set_width(width)
                bar.set_color(colour)
                bar.set_visible(True)
                inside = width > 0.55 * top
                self.labels[i].set_position((width - top * 0.01 if inside else width + top * 0.01, i))
                self.labels[i].set_horizontalalignment("right" if inside else "left")
                self.labels[i].set_text(f"{items[shown[i]]}: ${width:,.0f}")
            else:
                bar.set_visible(False)
                self.labels[i].set_text("")
        self.budget.set_xdata([budget, budget])
        set_limits(self.ax, (0, top), (max(len(shown), 1) - 0.5, -0.6))


class CapstoneDashboard(Dashboard):
    """Design controls, the run's plots, and the grade as the readout."""

    def __init__(self, brief: Brief | None = None, shards: int = 4, mode: str = "provisioned", salt: int = 1,
                 readers: str = "polling (GetRecords)", poll_interval: float = 1.0):
        self.brief = brief or Brief()
        self.report = None
        self.attempts: list = []
        live = LiveFigure(10.5, 6.6, 2, 2)
        # Two legend columns: the panel is half the figure, and four entries in a row run past its edge.
        self.throughput = ThroughputPanel(live.axes[0, 0], "Writes over time", legend_columns=2)
        self.load = ShardLoadPanel(live.axes[0, 1], max_shards=64, title="Load per shard, last spike",
                                   max_labels=20)
        self.lag = LagPanel(live.axes[1, 0], max_consumers=max(3, self.brief.consumers), title="Consumer lag")
        self.cost = CostPanel(live.axes[1, 1])
        for panel in (self.throughput, self.load, self.lag):   # their scales follow the shard count
            few_y_ticks(panel.ax)
        controls = {
            "shards": c.int_slider("shards (provisioned)", shards, 1, 40),
            "mode": c.toggle("capacity mode", list(MODE_LABELS), mode),
            "salt": c.int_slider("salt each key N ways", salt, 1, 16),
            "readers": c.choice("consumers read by", list(READER_LABELS), readers),
            "poll_interval": c.float_slider("poll every (s)", poll_interval, 0.5, 5.0, 0.5),
        }
        self.grade_button = widgets.Button(description="Grade my design", button_style="primary",
                                           layout=widgets.Layout(width="200px"))
        self.grade_button.add_class("kinesislab-grade-button")
        self.grade_button.on_click(lambda _: self.grade_now())
        self.history = widgets.HTML()
        b = self.brief
        intro = (f"<b>{html.escape(b.title)}.</b> {html.escape(b.story)} <b>Targets</b>: "
                 f"{html.escape(b.targets_text())}.")
        super().__init__("Capstone: design a stream", controls, "shards", live, intro=intro)
        self.children = tuple(self.children) + (self.grade_button, self.history)

    def design(self, values: dict | None = None) -> Design:
        values = values or self.values()
        return Design(mode=MODE_LABELS[values["mode"]], shards=int(values["shards"]), salt=int(values["salt"]),
                      consumer_kind=READER_LABELS[values["readers"]], poll_interval=float(values["poll_interval"]))

    #: compute reads only the controls (the brief is fixed per dashboard): a design tried before is
    #: not run again. A graded run holds about 3 MB, so fewer are kept than elsewhere.
    KEEP_RESULTS = True
    RESULTS_KEPT = 8

    def compute(self, values: dict):
        return grade(self.design(values), self.brief)

    def draw(self, report, values: dict) -> str:
        self.report = report
        results = report.results
        b = self.brief
        self.throughput.update(results)
        last_spike = b.first_spike + ((b.duration - b.first_spike - 1) // b.spike_every) * b.spike_every
        last_spike_end = min(last_spike + b.spike_length, b.duration)
        # 1.3 times the usual room: the legend sits above the tallest bar.
        self.load.update(results, upto=last_spike_end - 1, average_over=b.spike_length, headroom=1.3)
        self.lag.update(results)
        self.cost.update(report.monthly_bill, b.budget_usd_per_month, report.design.mode)
        shards_note = ("" if report.design.mode == "PROVISIONED"
                       else f" (on-demand ignores the shard slider; it opened "
                            f"{int(results.series('OpenShardCount').max())} shards)")
        return report.to_html() + (f"<div style='font-size:90%'>{html.escape(shards_note)}</div>" if shards_note else "")

    def grade_now(self):
        """Grade the current design again, show the report and remember the attempt."""
        self.refresh()
        if self.report is not None:
            self.attempts.append(self.report)
            items = "".join(f"<li>{html.escape(r.design.describe())}: <b>{r.headline}</b></li>"
                            for r in self.attempts[-8:])
            self.history.value = f"<div style='font-size:90%'>Your attempts:<ol>{items}</ol></div>"
        return self.report


def brief_picture(brief: Brief | None = None, width_inches: float = 7.0, height_inches: float = 2.8):
    """The brief's write traffic over the graded run: all records and the hot key's part of them."""
    from IPython.display import Image

    from kinesislab.course.capstone import scenario_for

    brief = brief or Brief()
    traffic = scenario_for(Design(), brief).producers[0].traffic
    t = np.arange(int(brief.duration), dtype=float)
    rate = traffic.at(t)
    live = LiveFigure(width_inches, height_inches)
    ax = live.axes[0, 0]
    ax.plot(t, rate, color=COLOURS["offered"], linewidth=1.5, label="all records")
    ax.plot(t, rate * brief.hot_key_share, color=COLOURS["hot"], linewidth=1.5, linestyle="-.",
            label=f"the hot key ({brief.hot_key_share:.0%})")
    ax.axhline(1000, label="one shard's limit", **CAPACITY_LINE)
    tidy(ax, "The brief's writes: records per second", "time (s)", "records per second")
    ax.set_xlim(0, brief.duration)
    ax.set_ylim(0, brief.spike_rate * 1.3)
    ax.legend(loc="upper left", fontsize=FONT_SIZE - 1, ncols=3, frameon=False)
    return Image(data=live.png(), format="png")
