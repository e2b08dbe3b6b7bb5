"""Lesson 05's dashboard: polling applications share a shard's reads; enhanced fan-out does not.

Every setting runs a one-minute, two-shard workload: one producer writes ``write_mib`` MiB/s into
each shard, ``polling`` GetRecords applications each read everything (one call per shard every
``poll_interval`` seconds) and ``efo`` enhanced fan-out consumers do the same over SubscribeToShard.
The polling applications share each shard's 2 MiB/s and 5 calls/s; each enhanced fan-out consumer
has 2 MiB/s per shard of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.style import CAPACITY_LINE, COLOURS, FONT_SIZE, nice_ceiling, pin_ylabel, set_ticks, tidy
from kinesislab.scenario import (Constant, EnhancedFanOutConsumer, FixedSize, PollingConsumer, Producer, RandomKeys,
                                 Scenario, StreamSpec, run)

MiB = 1024 * 1024
#: Each record is 4 KiB with its 16-byte key, so 1 MiB/s per shard is 256 records/s (far below 1,000).
RECORD_BYTES = 4096
KEY_BYTES = 16
SHARDS = 2
MAX_POLLING = 10
MAX_EFO = 20


def consumers_scenario(polling: int, poll_interval: float = 1.0, efo: int = 0, write_mib: float = 0.75,
                       duration: float = 60.0, shards: int = SHARDS, resolution: float = 1.0) -> Scenario:
    """``polling`` GetRecords apps and ``efo`` enhanced fan-out consumers reading a stream that
    receives ``write_mib`` MiB/s per shard (records of 4 KiB, random keys)."""
    per_shard_records = write_mib * MiB / RECORD_BYTES
    consumers = [PollingConsumer(name=f"app-{i + 1}", poll_interval=float(poll_interval)) for i in range(int(polling))]
    consumers += [EnhancedFanOutConsumer(name=f"efo-{i + 1}") for i in range(int(efo))]
    return Scenario(stream=StreamSpec(shards=int(shards)),
                    producers=[Producer(traffic=Constant(per_shard_records * shards),
                                        record_size=FixedSize(RECORD_BYTES - KEY_BYTES), keys=RandomKeys(),
                                        partition_key_bytes=KEY_BYTES)],
                    consumers=consumers, duration=duration, resolution=resolution)


def consumer_table(results, last_seconds: float = 50.0) -> pd.DataFrame:
    """Per consumer over the last ``last_seconds``: kind, MiB/s read per shard, worst and final
    lag (s), throttled GetRecords calls per second per shard, and the median delivery delay (ms)."""
    index = results.seconds
    shards = max(1, int(results.series("OpenShardCount")[-1]))
    tail = index >= index[-1] - last_seconds + results.resolution * 0.5
    latency = results.latency
    kinds = dict(zip(latency["consumer"], latency["kind"]))
    p50 = dict(zip(latency["consumer"], latency["p50_ms"]))
    rows = []
    for name in latency["consumer"]:
        lag = results.consumer_series("MillisBehindLatest", name) / 1000.0
        throttled = results.consumer_series("ReadProvisionedThroughputExceeded", name)
        rows.append({
            "consumer": name,
            "kind": "enhanced fan-out" if kinds[name] == "efo" else "polling",
            "read_mib_per_shard": float(results.consumer_series("Bytes", name)[tail].sum() / (last_seconds * shards * MiB)),
            "worst_lag_s": float(lag.max()),
            "final_lag_s": float(lag[-1]),
            "throttled_calls_per_s": (float(throttled[tail].sum() / (last_seconds * shards))
                                      if throttled is not None else 0.0),
            "p50_delay_ms": float(p50[name]),
        })
    columns = ["consumer", "kind", "read_mib_per_shard", "worst_lag_s", "final_lag_s", "throttled_calls_per_s",
               "p50_delay_ms"]
    return pd.DataFrame(rows, columns=columns).set_index("consumer")


class _LagLines:
    """How far behind each consumer is over time: one thin line per polling app, bold green for
    enhanced fan-out (their lines lie on top of each other)."""

    def __init__(self, ax: Axes, max_lines: int):
        self.ax = ax
        self.lines = [ax.plot([], [], linewidth=1.4)[0] for _ in range(max_lines)]
        tidy(ax, "How far behind each consumer is", "time (s)", "behind the newest record (s)")
        pin_ylabel(ax, "888.8")
        ax.legend(handles=[Line2D([], [], color=COLOURS["consumer"], linewidth=1.4, label="polling app (one line each)"),
                           Line2D([], [], color=COLOURS["efo"], linewidth=3, linestyle="--",
                                  label="enhanced fan-out")],
                  loc="upper left", fontsize=FONT_SIZE - 1, frameon=False)

    def update(self, results, n: int) -> None:
        names = [name for name in results.consumer_names()
                 if results.consumer_series("MillisBehindLatest", name) is not None]
        polling = [name for name in names if name.startswith("app-")]
        efo = [name for name in names if name.startswith("efo-")]
        t = results.seconds
        top = 1.0
        for i, line in enumerate(self.lines):
            if i < len(polling) + len(efo):
                name = (polling + efo)[i]
                lag = results.consumer_series("MillisBehindLatest", name) / 1000.0
                line.set_data(t[:n], lag[:n])
                is_efo = name.startswith("efo-")
                line.set_color(COLOURS["efo"] if is_efo else COLOURS["consumer"])
                line.set_linewidth(3.0 if is_efo else 1.4)
                line.set_linestyle("--" if is_efo else "-")
                line.set_zorder(3 if is_efo else 2)
                top = max(top, float(lag.max()))
            else:
                line.set_data([], [])
        self.ax.set_xlim(0, max(float(t[-1]) if len(t) else 1.0, 1.0))
        self.ax.set_ylim(0, nice_ceiling(top * 1.15))


class _ReadBars:
    """MiB/s read per shard: all polling apps in one stacked bar (they share 2 MiB/s), one bar
    per enhanced fan-out consumer (each has its own 2 MiB/s)."""

    def __init__(self, ax: Axes, max_polling: int, max_efo: int):
        self.ax = ax
        self.segments = ax.bar(np.zeros(max_polling), np.zeros(max_polling), width=0.7, color=COLOURS["consumer"],
                               edgecolor="white", linewidth=2.0)
        self.efo = ax.bar(np.arange(1, max_efo + 1), np.zeros(max_efo), width=0.7, color=COLOURS["efo"])
        self.limit = ax.axhline(2.0, **CAPACITY_LINE)
        self.needed = ax.axhline(0.0, color=COLOURS["offered"], linestyle=":", linewidth=1.5)
        tidy(ax, "Read per shard (last 50 s)", "reader (enhanced fan-out consumers numbered)", "MiB/s per shard")
        pin_ylabel(ax, "8.88")
        ax.legend(handles=[Patch(color=COLOURS["consumer"], label="polling apps (stacked)"),
                           Patch(color=COLOURS["efo"], label="enhanced fan-out"),
                           Line2D([], [], label="2 MiB/s read limit", **CAPACITY_LINE),
                           Line2D([], [], color=COLOURS["offered"], linestyle=":", label="written per shard")],
                  loc="upper right", fontsize=FONT_SIZE - 2, frameon=False)

    def update(self, table, write_mib: float, limit_mib: float) -> None:
        polling = table[table["kind"] == "polling"]["read_mib_per_shard"].to_numpy()
        efo = table[table["kind"] == "enhanced fan-out"]["read_mib_per_shard"].to_numpy()
        bottom = 0.0
        for i, bar in enumerate(self.segments):
            visible = i < len(polling)
            bar.set_visible(visible)
            if visible:
                bar.set_y(bottom)
                bar.set_height(polling[i])
                bottom += polling[i]
        for i, bar in enumerate(self.efo):
            visible = i < len(efo)
            bar.set_visible(visible)
            if visible:
                bar.set_height(efo[i])
        self.limit.set_ydata([limit_mib] * 2)
        self.needed.set_ydata([write_mib] * 2)
        labels = ["polling\n(shared)"] + [str(i + 1) for i in range(len(efo))]
        set_ticks(self.ax.xaxis, range(len(efo) + 1), labels, fontsize=FONT_SIZE - 1)
        self.ax.set_xlim(-0.6, max(len(efo), 3) + 0.6)
        self.ax.set_ylim(0, nice_ceiling(max(limit_mib * 1.6, bottom * 1.15)))


class _ThrottleLine:
    """Throttled GetRecords calls per second per shard (ReadProvisionedThroughputExceeded)."""

    def __init__(self, ax: Axes):
        self.ax = ax
        self.line, = ax.plot([], [], color=COLOURS["throttled"], linewidth=1.5, linestyle="-.",
                             label="throttled GetRecords calls")
        self.calls, = ax.plot([], [], color=COLOURS["consumer"], linewidth=2.5, label="calls attempted")
        self.limit = ax.axhline(5, label="5 calls/s limit", **CAPACITY_LINE)
        tidy(ax, "Read throttles", "time (s)", "calls per second per shard")
        pin_ylabel(ax, "88.8")
        ax.legend(loc="upper left", fontsize=FONT_SIZE - 2, frameon=False)

    def update(self, results, n: int, polling: int, poll_interval: float, limit_calls: int) -> None:
        t = results.stream.index.to_numpy()
        shards = np.maximum(results.series("OpenShardCount"), 1)
        throttled = results.series("ReadProvisionedThroughputExceeded") / shards / results.resolution
        wanted = np.full(len(t), polling / max(poll_interval, 1e-9))
        self.line.set_data(t[:n], throttled[:n])
        self.calls.set_data(t[:n], wanted[:n])
        self.limit.set_ydata([limit_calls] * 2)
        self.ax.set_xlim(0, max(float(t[-1]), 1.0))
        self.ax.set_ylim(0, nice_ceiling(max(limit_calls, float(throttled.max()), float(wanted.max())) * 1.6))


class ConsumersDashboard(Dashboard):
    """Lag, reads and throttles as polling apps and enhanced fan-out consumers are added."""

    def __init__(self, polling: int = 2, poll_interval: float = 1.0, efo: int = 0, write_mib: float = 0.75,
                 duration: float = 60.0):
        self.duration = duration
        self.cursor = c.TimeCursor(duration)
        live = LiveFigure(11.5, 3.9, 1, 3, width_ratios=[1.45, 1.15, 1.0])
        self.lag = _LagLines(live.axes[0, 0], MAX_POLLING + MAX_EFO)
        self.bars = _ReadBars(live.axes[0, 1], MAX_POLLING, MAX_EFO)
        self.throttles = _ThrottleLine(live.axes[0, 2])
        controls = {
            "polling": c.int_slider("polling apps", polling, 0, MAX_POLLING),
            "poll_interval": c.float_slider("poll interval (s)", poll_interval, 0.2, 5.0, 0.2),
            # One more than the limit, so the learner can meet the service's answer.
            "efo": c.int_slider("enhanced fan-out", efo, 0, MAX_EFO + 1),
            "write_mib": c.float_slider("MiB/s written per shard", write_mib, 0.1, 0.9, 0.05),
        }
        super().__init__("Consumers: shared reads vs enhanced fan-out", controls, "polling", live,
                         intro="Every polling app reads the whole stream. Together they share each shard's "
                               "2 MiB/s and 5 GetRecords calls per second; each enhanced fan-out consumer gets "
                               "2 MiB/s per shard of its own.", time_control=self.cursor)
        self.cursor.slider.observe(lambda change: self._redraw_at(change["new"]), names="value")

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict):
        return run(consumers_scenario(values["polling"], values["poll_interval"], values["efo"],
                                      values["write_mib"], self.duration), seed=0, progress=False)

    def draw(self, results, values: dict, upto: float | None = None) -> str:
        ticks = len(results.stream)
        n = ticks if upto is None else int(np.clip(np.floor(upto / results.resolution) + 1, 1, ticks))
        limits = results.sim.limits
        table = consumer_table(results)
        self.lag.update(results, n)
        self.bars.update(table, values["write_mib"], limits.shard_read_bytes_per_second / MiB)
        self.throttles.update(results, n, values["polling"], values["poll_interval"],
                              limits.shard_get_records_calls_per_second)
        polling = table[table["kind"] == "polling"]
        efo = table[table["kind"] == "enhanced fan-out"]
        apps = int(values["polling"])
        parts = []
        if apps:
            need = apps * values["write_mib"]
            calls = apps / values["poll_interval"]
            keeping_up = polling["final_lag_s"].max() <= 2 * max(values["poll_interval"], 1.0)
            verdict = ("<b style='color:#0072B2'>they keep up</b>" if keeping_up else
                       f"<b style='color:#D55E00'>they fall behind</b> (worst lag {polling['final_lag_s'].max():,.0f} s)")
            parts.append(f"<b>{apps} polling app{'s' if apps != 1 else ''}</b> every {values['poll_interval']:g} s "
                         f"want {need:.2f} MiB/s and {calls:.1f} calls/s per shard (limits 2 MiB/s, 5 calls/s): "
                         f"they read {polling['read_mib_per_shard'].sum():.2f} MiB/s in all, {verdict}; "
                         f"{polling['throttled_calls_per_s'].sum():.1f} calls/s per shard throttled.")
        else:
            parts.append("<b>0 polling apps</b>." if len(efo) else
                         "<b>0 polling apps</b> and no enhanced fan-out consumer: nobody reads the stream.")
        if len(efo):
            parts.append(f"<b>{len(efo)} enhanced fan-out</b> consumer{'s' if len(efo) != 1 else ''} each read "
                         f"{efo['read_mib_per_shard'].mean():.2f} MiB/s per shard, worst lag "
                         f"{efo['worst_lag_s'].max():.0f} s.")
        return " ".join(parts)

    def _redraw_at(self, second: float) -> None:
        if self.result is not None:
            self.draw(self.result, self.values(), upto=second)
            self.live_figure.render()


def shared_vs_dedicated_figure(polling: int = 4, efo: int = 4, write_mib: float = 0.75) -> LiveFigure:
    """The lesson's concept picture: MiB/s read per shard when ``polling`` apps share a shard and
    ``efo`` enhanced fan-out consumers read it too (one run of :func:`consumers_scenario`)."""
    live = LiveFigure(6.0, 3.4)
    bars = _ReadBars(live.axes[0, 0], max(polling, 1), max(efo, 1))
    results = run(consumers_scenario(polling, 1.0, efo, write_mib), seed=0, progress=False)
    bars.update(consumer_table(results), write_mib, results.sim.limits.shard_read_bytes_per_second / MiB)
    bars.ax.set_title(f"{polling} polling apps share 2 MiB/s; {efo} enhanced fan-out consumers do not",
                      fontsize=FONT_SIZE + 1, loc="left")
    live.results = results
    return live
