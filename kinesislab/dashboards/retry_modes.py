"""Lesson 13's dashboard: botocore's retry modes (legacy, standard, adaptive) against one shard.

The three runs are real boto3 producers against the lab endpoint (kinesislab.server.retry_lab),
made once and cached: switching mode only redraws.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.style import CAPACITY_LINE, COLOURS, FONT_SIZE, si, tidy
from kinesislab.server.retry_lab import RETRY_MODES, RetryRun, run_retry_mode

#: The lesson's workload: 100 KiB records, so one shard's 1 MiB/s takes 10 per second, offered at 20/s.
WORKLOAD = {"rate": 20.0, "seconds": 5, "record_bytes": 100 * 1024}

MODE_COLOURS = {"legacy": "#999999", "standard": "#56B4E9", "adaptive": "#009E73"}
MODE_STYLES = {"legacy": ":", "standard": "--", "adaptive": "-"}


@lru_cache(maxsize=16)
def retry_mode_runs(rate: float = WORKLOAD["rate"], seconds: int = WORKLOAD["seconds"],
                    record_bytes: int = WORKLOAD["record_bytes"]) -> dict[str, RetryRun]:
    """The three modes on the same workload (each run is deterministic; cached for the lesson)."""
    return {mode: run_retry_mode(mode, rate=rate, seconds=seconds, record_bytes=record_bytes) for mode in RETRY_MODES}


class RetryModesDashboard(Dashboard):
    """Per second: accepted, throttled and retried PutRecord calls for the chosen mode; beside it,
    every mode's accepted records over time."""

    def __init__(self, mode: str = "legacy", runs: dict[str, RetryRun] | None = None):
        self.runs = runs if runs is not None else retry_mode_runs()
        live = LiveFigure(10, 3.8, 1, 2, width_ratios=[3, 2])
        self.ax, self.ax_total = live.axes[0, 0], live.axes[0, 1]
        longest = max(len(run.seconds) for run in self.runs.values())
        self.x = np.arange(longest)
        width = 0.28
        zeros = np.zeros(longest)
        self.accepted_bars = self.ax.bar(self.x - width, zeros, width, color=COLOURS["accepted"], label="accepted")
        self.throttled_bars = self.ax.bar(self.x, zeros, width, color=COLOURS["throttled"], label="throttled calls")
        self.retried_bars = self.ax.bar(self.x + width, zeros, width, color=COLOURS["retried"], label="retries sent",
                                        hatch="//", edgecolor="white", linewidth=0)
        self.offered, = self.ax.step([], [], where="mid", color=COLOURS["offered"], linewidth=1.2,
                                     label="records arriving")
        any_run = next(iter(self.runs.values()))
        self.ax.axhline(any_run.capacity, label="shard capacity", **CAPACITY_LINE)
        tidy(self.ax, "One mode, second by second", "time (s)", "per second")
        self.ax.set_xlim(-0.6, longest - 0.4)
        top = max(int(run.seconds[["attempts", "offered"]].to_numpy().max()) for run in self.runs.values())
        self.ax.set_ylim(0, top * 1.3)
        self.ax.legend(loc="upper right", fontsize=FONT_SIZE - 1, ncols=2, frameon=False)
        self.cumulative = {}
        for name, run in self.runs.items():
            # Flat after the run's last second, so each mode's final count stays in view.
            accepted = run.seconds["accepted"].reindex(self.x, fill_value=0).cumsum().to_numpy()
            self.cumulative[name], = self.ax_total.plot(self.x + 1, accepted, drawstyle="steps-post",
                                                        color=MODE_COLOURS[name], linestyle=MODE_STYLES[name],
                                                        linewidth=1.5, label=name)
        wanted = int(any_run.rate * any_run.seconds["offered"].astype(bool).sum())
        self.ax_total.axhline(wanted, color=COLOURS["offered"], linewidth=0.8, alpha=0.6)
        self.ax_total.annotate("records that arrived", (longest + 1, wanted), xytext=(0, 3),
                               textcoords="offset points", ha="right", fontsize=FONT_SIZE - 1)
        tidy(self.ax_total, "Every mode: records stored so far", "time (s)", "records")
        self.ax_total.set_xlim(0, longest + 1)
        self.ax_total.set_ylim(0, wanted * 1.15)
        self.ax_total.legend(loc="lower right", fontsize=FONT_SIZE - 1, frameon=False)
        controls = {"mode": c.toggle("retry mode", list(self.runs), mode)}
        super().__init__("botocore retry modes against one throttling shard", controls, "mode", live,
                         intro=f"A boto3 producer: {any_run.rate:g} records/s of "
                               f"{any_run.record_bytes // 1024} KiB arrive for {len(any_run.seconds[any_run.seconds.offered > 0])} s; "
                               f"the shard takes {any_run.capacity} per second. Switch the retry mode.")

    def compute(self, values: dict) -> RetryRun:
        return self.runs[values["mode"]]

    def draw(self, run: RetryRun, values: dict) -> str:
        table = run.seconds.reindex(self.x, fill_value=0)
        for bars, column in ((self.accepted_bars, "accepted"), (self.throttled_bars, "throttled"),
                             (self.retried_bars, "retried")):
            for bar, value in zip(bars, table[column]):
                bar.set_height(value)
        self.offered.set_data(self.x, table["offered"])
        for name, line in self.cumulative.items():
            chosen = name == run.mode
            line.set_linewidth(2.6 if chosen else 1.2)
            line.set_alpha(1.0 if chosen else 0.55)
        self.ax.set_title(f"{run.mode} mode, second by second", fontsize=FONT_SIZE + 1, loc="left")
        t = run.totals
        return (f"<b>{run.mode}</b>: {t['offered']} records arrived; <b>{t['accepted']}</b> stored, "
                f"<b style='color:{COLOURS['dropped']}'>{t['gave_up']}</b> given up after botocore's last attempt. "
                f"{t['attempts']} PutRecord calls, of which {t['retried']} retries; the shard refused "
                f"<b style='color:{COLOURS['throttled']}'>{t['throttled']}</b>. Waited {t['backoff_seconds']:,.0f} s in "
                f"back-off and {t['rate_limiter_seconds']:,.0f} s in the client-side rate limiter (summed over "
                f"workers); last record settled after {len(run.seconds)} s.")


def metrics_picture(frame, capacity: float, title: str = "What the stream saw (sim.metrics)") -> LiveFigure:
    """Accepted and throttled records per second from a ``sim.metrics(...)`` frame, against the
    stream's write capacity: a static picture for a lesson's Concept section."""
    live = LiveFigure(7, 2.8)
    ax = live.axes[0, 0]
    seconds = np.arange(len(frame))
    accepted = frame["IncomingRecords"].to_numpy()
    throttled = (frame["WriteProvisionedThroughputExceeded"].to_numpy()
                 if "WriteProvisionedThroughputExceeded" in frame else np.zeros(len(frame)))
    ax.bar(seconds, accepted, color=COLOURS["accepted"], label="accepted (IncomingRecords)")
    ax.bar(seconds, throttled, bottom=accepted, color=COLOURS["throttled"],
           label="refused (WriteProvisionedThroughputExceeded)")
    ax.axhline(capacity, label="shard capacity", **CAPACITY_LINE)
    tidy(ax, title, "virtual second since the stream was created", "records per second")
    ax.yaxis.set_major_formatter(si(""))
    ax.set_ylim(0, max(capacity, float((accepted + throttled).max())) * 1.35)
    ax.legend(loc="upper left", fontsize=FONT_SIZE - 1, ncols=2, frameon=False)
    live.render()
    return live
