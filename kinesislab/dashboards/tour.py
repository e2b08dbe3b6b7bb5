"""Lesson 00's dashboard: a 60-second tour of one producer, a small stream and one consumer.

The top plot draws the pipeline itself (producer -> shards -> consumer) with the numbers of the
second under the time cursor; the bottom plot is the minute over time. Pressing Play moves the
cursor, so records visibly flow along the arrows without re-running anything.
"""

from __future__ import annotations

import numpy as np
from IPython.display import Image
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.panels import ThroughputPanel, _window
from kinesislab.dashboards.style import COLOURS, FONT_SIZE
from kinesislab.scenario import Constant, FixedSize, PollingConsumer, Producer, RandomKeys, Scenario, StreamSpec, run

TOUR_STREAM = "tour"
TOUR_CONSUMER = "reader"


def tour_scenario(rate: float = 1500, shards: int = 2, duration: float = 60.0, record_bytes: int = 500) -> Scenario:
    """The tour: one producer (random keys, ``record_bytes`` per record) at ``rate`` records/s into a
    ``shards``-shard stream, read by one polling consumer once a second."""
    return Scenario(stream=StreamSpec(name=TOUR_STREAM, shards=int(shards)),
                    producers=[Producer(traffic=Constant(float(rate)), keys=RandomKeys(),
                                        record_size=FixedSize(int(record_bytes)))],
                    consumers=[PollingConsumer(name=TOUR_CONSUMER, poll_interval=1.0)],
                    duration=float(duration))


def tour_run(rate: float = 1500, shards: int = 2, duration: float = 60.0, record_bytes: int = 500):
    """Run the tour in virtual time and return its :class:`~kinesislab.scenario.Results`."""
    return run(tour_scenario(rate, shards, duration, record_bytes), seed=0, progress=False)


def records_read(results) -> int:
    """How many records the tour's consumer read during the run."""
    return int(results.delivered[TOUR_CONSUMER])


# --------------------------------------------------------------------------- the pipeline picture


class PipelinePanel:
    """Producer -> one lane per shard -> consumer, with the rates of one second written on it.

    Each lane fills (blue) with the records its shard stored against its own limit; refused records
    show in vermillion. Dots on the arrows move with the time cursor, so Play looks like flow.
    """

    DOTS = 3

    def __init__(self, ax: Axes, max_shards: int = 4):
        self.ax = ax
        self.max_shards = max_shards
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 4.2)
        ax.set_axis_off()
        box = dict(boxstyle="round,pad=0.02,rounding_size=0.15", linewidth=1.2)
        self.producer = FancyBboxPatch((0.1, 1.35), 1.9, 1.5, facecolor="white", edgecolor=COLOURS["offered"], **box)
        self.consumer = FancyBboxPatch((8.0, 1.35), 1.9, 1.5, facecolor="white", edgecolor=COLOURS["consumer"], **box)
        self.stream = FancyBboxPatch((3.0, 0.15), 4.0, 3.65, facecolor="#F4F4F4", edgecolor="#777777", **box)
        for patch in (self.producer, self.consumer, self.stream):
            ax.add_patch(patch)
        self.producer_text = ax.text(1.05, 2.1, "", ha="center", va="center", fontsize=FONT_SIZE)
        self.consumer_text = ax.text(8.95, 2.1, "", ha="center", va="center", fontsize=FONT_SIZE)
        self.stream_text = ax.text(5.0, 3.98, "", ha="center", va="center", fontsize=FONT_SIZE, weight="bold")
        self.lanes, self.fills, self.refused, self.lane_text, self.arrows_in, self.arrows_out = [], [], [], [], [], []
        for _ in range(max_shards):
            lane = Rectangle((3.2, 0), 3.6, 0.5, facecolor="white", edgecolor="#777777", linewidth=1.0)
            fill = Rectangle((3.2, 0), 0, 0.5, facecolor=COLOURS["accepted"], alpha=0.35, linewidth=0)
            for patch in (lane, fill):
                ax.add_patch(patch)
            self.lanes.append(lane)
            self.fills.append(fill)
            self.lane_text.append(ax.text(3.3, 0, "", ha="left", va="center", fontsize=FONT_SIZE - 1))
            self.refused.append(ax.text(6.7, 0, "", ha="right", va="center", fontsize=FONT_SIZE - 1,
                                        color=COLOURS["throttled"], weight="bold"))
            arrow_in = FancyArrowPatch((2.0, 2.1), (3.2, 1.0), arrowstyle="-|>", mutation_scale=10,
                                       color=COLOURS["offered"], linewidth=1.0)
            arrow_out = FancyArrowPatch((6.8, 1.0), (8.0, 2.1), arrowstyle="-|>", mutation_scale=10,
                                        color=COLOURS["consumer"], linewidth=1.0)
            ax.add_patch(arrow_in)
            ax.add_patch(arrow_out)
            self.arrows_in.append(arrow_in)
            self.arrows_out.append(arrow_out)
        self.dots_in = ax.scatter([], [], s=14, color=COLOURS["offered"], zorder=4)
        self.dots_out = ax.scatter([], [], s=14, color=COLOURS["consumer"], zorder=4)
        self.title = ax.set_title("", fontsize=FONT_SIZE + 1, loc="left")

    def update(self, shards: int, offered: float, stored: np.ndarray, refused: np.ndarray, read: float,
               behind_seconds: float, limit: float, second: float, title: str) -> None:
        """Draw one second: ``stored``/``refused`` are records/s per shard (key-space order)."""
        shards = max(1, min(int(shards), self.max_shards))
        top, bottom = 3.55, 0.35
        height = (top - bottom) / shards
        lane_height = height * 0.72
        inlet, outlet = (2.0, 2.1), (8.0, 2.1)
        dots_in, dots_out = [], []
        for i in range(self.max_shards):
            visible = i < shards
            for artist in (self.lanes[i], self.fills[i], self.refused[i], self.lane_text[i], self.arrows_in[i],
                           self.arrows_out[i]):
                artist.set_visible(visible)
            if not visible:
                continue
            y = top - (i + 0.5) * height
            y0 = y - lane_height / 2
            share = float(np.clip(stored[i] / limit, 0, 1)) if limit else 0.0
            self.lanes[i].set_bounds(3.2, y0, 3.6, lane_height)
            self.fills[i].set_bounds(3.2, y0, 3.6 * share, lane_height)
            over = refused[i] > 0.5
            self.lanes[i].set_edgecolor(COLOURS["throttled"] if over else "#777777")
            self.lanes[i].set_linewidth(2.0 if over else 1.0)
            self.lane_text[i].set_position((3.3, y))
            self.lane_text[i].set_text(f"shard {i}: {stored[i]:,.0f} of {limit:,.0f} records/s")
            self.refused[i].set_position((6.7, y))
            self.refused[i].set_text(f"{refused[i]:,.0f} refused" if over else "")
            self.arrows_in[i].set_positions(inlet, (3.2, y))
            self.arrows_out[i].set_positions((6.8, y), outlet)
            # Dots along the arrows, moving with the cursor (only where records flow).
            for k in range(self.DOTS):
                phase = (second * 0.35 + k / self.DOTS) % 1.0
                if stored[i] + refused[i] > 0:
                    dots_in.append((inlet[0] + phase * (3.2 - inlet[0]), inlet[1] + phase * (y - inlet[1])))
                if read > 0:
                    dots_out.append((6.8 + phase * (outlet[0] - 6.8), y + phase * (outlet[1] - y)))
        self.dots_in.set_offsets(np.array(dots_in) if dots_in else np.zeros((0, 2)))
        self.dots_out.set_offsets(np.array(dots_out) if dots_out else np.zeros((0, 2)))
        self.producer_text.set_text(f"producer\nsends\n{offered:,.0f} records/s")
        self.consumer_text.set_text(f"consumer\nreads\n{read:,.0f} records/s\n{behind_seconds:.1f} s behind")
        self.stream_text.set_text(f"stream '{TOUR_STREAM}': {shards} shard{'s' if shards != 1 else ''}")
        self.title.set_text(title)


def _second_figures(results, upto: float | None) -> dict:
    """The numbers of one second of a tour run (the last one when ``upto`` is None)."""
    n = _window(results, upto)
    row = n - 1
    order = sorted(range(len(results.shard_ids)), key=lambda i: int(results.lineage["StartingHashKey"].iloc[i]))
    stored = results.shard_matrix("IncomingRecords")[row, order]
    refused = results.shard_matrix("WriteProvisionedThroughputExceeded")[row, order]
    consumers = results.consumers
    read = float(consumers[("Records", TOUR_CONSUMER)].iloc[row]) if len(consumers.columns) else 0.0
    behind = float(consumers[("MillisBehindLatest", TOUR_CONSUMER)].iloc[row]) / 1000 if len(consumers.columns) else 0.0
    return {"second": row * results.resolution, "offered": float(results.series("OfferedRecords")[row]),
            "stored": stored, "refused": refused, "read": read, "behind": behind}


def _draw_second(panel: PipelinePanel, results, shards: int, upto: float | None, title: str | None = None) -> dict:
    figures = _second_figures(results, upto)
    panel.update(shards, figures["offered"], figures["stored"], figures["refused"], figures["read"],
                 figures["behind"], results.sim.limits.shard_write_records_per_second, figures["second"],
                 title or f"The pipeline at second {figures['second']:.0f} (press Play to watch the minute)")
    return figures


def pipeline_picture(rate: float = 1500, shards: int = 2,
                     title: str = "What the lab simulates: a producer, a stream of shards, a consumer"):
    """A still picture of the tour (producer -> shards -> consumer), for a lesson's Concept section."""
    results = tour_run(rate, shards, duration=10)
    live = LiveFigure(9, 2.9)
    panel = PipelinePanel(live.axes[0, 0], max_shards=max(4, shards))
    _draw_second(panel, results, shards, None, title)
    return Image(data=live.png(), format="png")


# --------------------------------------------------------------------------- the dashboard


class TourDashboard(Dashboard):
    """One producer, a small stream and one consumer, live, for a minute of virtual time."""

    def __init__(self, rate: int = 1500, shards: int = 2, duration: float = 60.0):
        self.duration = duration
        self.cursor = c.TimeCursor(duration)
        live = LiveFigure(10, 5.4, 2, 1, height_ratios=[1.25, 1])
        self.pipeline = PipelinePanel(live.axes[0, 0])
        self.timeline = ThroughputPanel(live.axes[1, 0], title="The minute, second by second")
        self.read_line, = live.axes[1, 0].plot([], [], color=COLOURS["consumer"], linewidth=1.5, linestyle=":",
                                               label="read by the consumer")
        live.axes[1, 0].legend(loc="upper left", fontsize=FONT_SIZE - 1, ncols=5, frameon=False)
        controls = {
            "rate": c.int_slider("records/s sent", rate, 0, 4000, 100),
            "shards": c.int_slider("shards", shards, 1, 4),
        }
        super().__init__("A 60-second tour: producer → stream → consumer", controls, "rate", live,
                         intro="Move the sliders: the minute re-runs in virtual time. Press Play to watch it.",
                         time_control=self.cursor)
        self.cursor.slider.observe(lambda change: self._redraw_at(change["new"]), names="value")

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict):
        return tour_run(values["rate"], values["shards"], self.duration)

    def draw(self, results, values: dict, upto: float | None = None) -> str:
        _draw_second(self.pipeline, results, values["shards"], upto)
        self.timeline.update(results, upto)
        n = _window(results, upto)
        t = np.arange(len(results.series("OfferedRecords"))) * results.resolution
        self.read_line.set_data(t[:n], results.consumers[("Records", TOUR_CONSUMER)].to_numpy()[:n])
        shards, rate = values["shards"], values["rate"]
        capacity = shards * results.sim.limits.shard_write_records_per_second
        half = slice(len(t) // 2, None)
        stored = float(np.mean(results.series("IncomingRecords")[half]))
        refused = float(np.mean(results.series("ThrottledRecords")[half]))
        read = float(np.mean(results.consumers[("Records", TOUR_CONSUMER)].to_numpy()[half]))
        verdict = ("everything fits" if refused < 0.5 else
                   f"<b style='color:#D55E00'>{refused:,.0f} refused/s</b>: more than {shards} shard(s) can take")
        return (f"The producer sends <b>{rate:,} records/s</b> into <b>{shards} shard(s)</b>, which take up to "
                f"{capacity:,} records/s. Stored: {stored:,.0f}/s; {verdict}. "
                f"The consumer reads {read:,.0f}/s: everything that was stored, and nothing else.")

    def _redraw_at(self, second: float) -> None:
        if self.result is not None:
            self.draw(self.result, self.values(), upto=second)
            self.live_figure.render()
