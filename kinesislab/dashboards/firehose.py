"""Lesson 11's dashboard: a Firehose stream's buffering hints against file count, size and latency.

:class:`FirehoseDashboard` -- buffer interval (main control), buffer size and the incoming data
rate; a 30-minute Direct PUT run each time (:func:`kinesislab.firehose.workload.steady_delivery`).
:class:`DeliveryPanels` draws bytes arrived against bytes delivered, and every file written;
:func:`delivery_picture` draws them once for any :class:`~kinesislab.firehose.workload.SteadyRun`.
"""

from __future__ import annotations

import numpy as np
from IPython.display import Image
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.style import CAPACITY_LINE, COLOURS, FONT_SIZE, few_y_ticks, nice_ceiling, pin_ylabel, tidy
from kinesislab.firehose.workload import SteadyRun, steady_delivery

MiB = 2**20
#: Events per second in the dashboard's workload; the rate control sets their size.
EVENTS_PER_SECOND = 10
TRIGGER_COLOURS = {"interval": COLOURS["consumer"], "size": COLOURS["efo"]}


class DeliveryPanels:
    """Left: MiB arrived and MiB delivered over time (the gap is what waits in the buffer).
    Right: one stem per file written, its height the file size, coloured by what triggered it."""

    def __init__(self, ax_flow: Axes, ax_files: Axes):
        self.ax_flow, self.ax_files = ax_flow, ax_files
        self.arrived, = ax_flow.plot([], [], color=COLOURS["offered"], linewidth=1.4, label="arrived")
        self.delivered, = ax_flow.step([], [], where="post", color=COLOURS["accepted"], linewidth=2.0,
                                       label="delivered to S3")
        # Made once and given new data on every update (a new fill and legend each time cost more).
        self.waiting = ax_flow.fill_between([0.0, 1.0], [0.0, 0.0], [0.0, 0.0], color=COLOURS["highlight"], alpha=0.6,
                                            linewidth=0, label="waiting in the buffer")
        tidy(ax_flow, "Data arrived and delivered", "time (minutes)", "MiB (cumulative)")
        ax_flow.legend(loc="upper left", fontsize=FONT_SIZE - 1, frameon=False)
        self.stems = ax_files.vlines([], [], [], linewidth=2.0)
        self.heads = ax_files.scatter([], [], s=18, zorder=3)
        self.size_line = ax_files.axhline(5, **CAPACITY_LINE)
        tidy(ax_files, "Files written", "time (minutes)", "file size (MiB)")
        for ax in (ax_flow, ax_files):   # both scales follow the buffering hints
            few_y_ticks(ax)
        pin_ylabel(ax_files, "0.0888")
        ax_files.legend(handles=[Line2D([], [], color=TRIGGER_COLOURS["interval"], linewidth=2, label="interval ran out"),
                                 Line2D([], [], color=TRIGGER_COLOURS["size"], linewidth=2, label="size reached"),
                                 Line2D([], [], label="buffer size", **CAPACITY_LINE)],
                        loc="upper left", fontsize=FONT_SIZE - 1, frameon=False, ncols=3)

    def update(self, run: SteadyRun, size_mib: float) -> None:
        minutes = np.arange(0, run.duration + 1) / 60.0
        arrived = np.concatenate([[0.0], run.arrived_bytes()]) / MiB
        self.arrived.set_data(minutes, arrived)
        when, sizes, _, triggers = run.files()
        delivered = np.cumsum(sizes) / MiB
        self.delivered.set_data(np.concatenate([[0.0], when / 60.0, [run.duration / 60.0]]),
                                np.concatenate([[0.0], delivered, [delivered[-1] if len(delivered) else 0.0]]))
        steps = np.searchsorted(when, np.arange(0, run.duration + 1), side="right")
        delivered_at = np.concatenate([[0.0], delivered])[steps]
        self.waiting.set_data(minutes, delivered_at, arrived)
        self.ax_flow.set_xlim(0, run.duration / 60.0)
        self.ax_flow.set_ylim(0, nice_ceiling(max(arrived[-1], 1e-6) * 1.15))
        colours = [TRIGGER_COLOURS.get(t, COLOURS["idle"]) for t in triggers]
        self.stems.set_segments([[(w / 60.0, 0.0), (w / 60.0, s / MiB)] for w, s in zip(when, sizes)])
        self.stems.set_colors(colours)
        self.heads.set_offsets(np.column_stack([when / 60.0, sizes / MiB]) if len(when) else np.zeros((0, 2)))
        self.heads.set_color(colours)
        self.size_line.set_ydata([size_mib, size_mib])
        self.ax_files.set_xlim(0, run.duration / 60.0)
        biggest = float(sizes.max()) / MiB if len(sizes) else 0.0
        # Show the size line when files come near it; otherwise let the files fill the plot.
        top = nice_ceiling(size_mib * 1.35 if biggest > 0.5 * size_mib else max(biggest * 1.35, 1e-3))
        self.size_line.set_alpha(1.0 if biggest > 0.5 * size_mib else 0.0)
        self.ax_files.set_ylim(0, top)
        self.ax_files.set_title(f"Files written: {len(when):,}", fontsize=FONT_SIZE + 1, loc="left")


class FirehoseDashboard(Dashboard):
    """Buffering hints in, files and waiting time out."""

    def __init__(self, interval_seconds: int = 300, size_mib: int = 5, kb_per_second: float = 10.0,
                 duration: int = 1800):
        self.duration = duration
        live = LiveFigure(10, 3.6, 1, 2)
        self.panels = DeliveryPanels(live.axes[0, 0], live.axes[0, 1])
        controls = {
            "interval_seconds": c.int_slider("buffer interval (s)", interval_seconds, 0, 900, 30),
            "size_mib": c.int_slider("buffer size (MiB)", size_mib, 1, 128),
            "kb_per_second": c.log_slider("incoming (KB/s)", kb_per_second, 1, 50),
        }
        super().__init__("Firehose buffering: fewer, bigger files or fresher data", controls, "interval_seconds",
                         live, intro=f"Thirty minutes of Direct PUT: {EVENTS_PER_SECOND} records a second, sized to "
                                     "the incoming rate. A file is written when the buffer reaches its size or its "
                                     "interval runs out, whichever comes first.")

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict) -> SteadyRun:
        event_bytes = max(1, int(round(values["kb_per_second"] * 1000 / EVENTS_PER_SECOND)))
        return steady_delivery(int(values["size_mib"]), int(values["interval_seconds"]), EVENTS_PER_SECOND,
                               event_bytes, self.duration)

    def draw(self, run: SteadyRun, values: dict) -> str:
        self.panels.update(run, values["size_mib"])
        s = run.summary()
        rate = run.events_per_second * run.event_bytes
        return (f"Buffer: <b>{values['interval_seconds']} s</b> or {values['size_mib']} MiB, with "
                f"{rate / 1000:,.0f} KB/s arriving. In {run.duration // 60} minutes: <b>{s['files']:,} files</b> "
                f"of {_size(s['mean_file_bytes'])} on average ({s['interval_triggered']:,} by interval, "
                f"{s['size_triggered']:,} by size). The oldest record in a file waited <b>{s['oldest_record_wait_s']:,.0f} s</b>; "
                f"records waited {s['mean_record_wait_s']:,.0f} s on average. Still buffered at the end: "
                f"{s['buffered_at_end']:,} records.")


def _size(size_bytes: float) -> str:
    """2.86 MiB, or 10.0 KB for small files."""
    return f"{size_bytes / MiB:,.2f} MiB" if size_bytes >= 0.1 * MiB else f"{size_bytes / 1000:,.1f} KB"


def delivery_picture(run: SteadyRun, size_mib: float) -> Image:
    """The dashboard's two plots, drawn once for ``run`` (a static picture)."""
    live = LiveFigure(10, 3.4, 1, 2)
    DeliveryPanels(live.axes[0, 0], live.axes[0, 1]).update(run, size_mib)
    return Image(data=live.png(), format="png")
