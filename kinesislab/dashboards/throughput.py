"""Lesson 03's dashboard: shard count, producer rate and record size against the write limits."""

from __future__ import annotations

import numpy as np

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.panels import ShardLoadPanel, ThroughputPanel
from kinesislab.dashboards.style import format_bytes_per_second
from kinesislab.scenario import (Constant, ExponentialBackoff, FixedSize, NoRetry, Producer, RandomKeys, Scenario,
                                 StreamSpec, run)

RETRY_POLICIES = {"no retry": NoRetry(), "backoff with jitter": ExponentialBackoff(base=0.1, cap=5.0, max_attempts=8)}


def throughput_scenario(shards: int, rate: float, record_bytes: int, retry: str = "no retry",
                        duration: float = 60.0) -> Scenario:
    """One producer with random keys (so load spreads evenly) at ``rate`` records/s of ``record_bytes``."""
    return Scenario(stream=StreamSpec(shards=int(shards)),
                    producers=[Producer(traffic=Constant(float(rate)), record_size=FixedSize(int(record_bytes)),
                                        keys=RandomKeys(), retry=RETRY_POLICIES[retry], partition_key_bytes=16)],
                    duration=duration)


class ThroughputDashboard(Dashboard):
    """Accepted vs throttled per second as shards, rate and record size change."""

    def __init__(self, shards: int = 2, rate: float = 3000, record_bytes: int = 1024, retry: str = "no retry",
                 duration: float = 60.0):
        self.duration = duration
        self.cursor = c.TimeCursor(duration)
        live = LiveFigure(10, 3.6, 1, 2, width_ratios=[2, 1])
        self.timeline = ThroughputPanel(live.axes[0, 0])
        self.shard_load = ShardLoadPanel(live.axes[0, 1], max_shards=32, title="Load per shard (last 10 s)",
                                         max_labels=12)
        controls = {
            "shards": c.int_slider("shards", shards, 1, 32),
            "rate": c.log_slider("records/s offered", rate, 100, 100_000),
            "record_bytes": c.log_slider("record size (bytes)", record_bytes, 10, 1_000_000),
            "retry": c.choice("on throttle", list(RETRY_POLICIES), retry),
        }
        super().__init__("Provisioned capacity: what one shard takes", controls, "shards", live,
                         intro="Each shard takes 1 MiB/s and 1,000 records/s of writes. Move the sliders; "
                               "watch the accepted line hit the capacity line.", time_control=self.cursor)
        self.cursor.slider.observe(lambda change: self._redraw_at(change["new"]), names="value")

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict):
        return run(throughput_scenario(values["shards"], values["rate"], int(values["record_bytes"]), values["retry"],
                                       self.duration), seed=0, progress=False)

    def draw(self, results, values: dict, upto: float | None = None) -> str:
        self.timeline.update(results, upto)
        self.shard_load.update(results, upto)
        limits = results.sim.limits
        shards = values["shards"]
        size = int(values["record_bytes"]) + 16
        by_records = shards * limits.shard_write_records_per_second
        by_bytes = shards * limits.shard_write_bytes_per_second / size
        capacity = min(by_records, by_bytes)
        binding = "records/s" if by_records <= by_bytes else "bytes/s (MiB/s)"
        tail = slice(len(results.series("IncomingRecords")) // 2, None)
        accepted = float(np.mean(results.series("IncomingRecords")[tail]))
        throttled = float(np.mean(results.series("ThrottledRecords")[tail]))
        return (f"<b>Capacity</b>: {shards} shard(s) &times; (1,000 records/s, "
                f"{format_bytes_per_second(limits.shard_write_bytes_per_second)}) = "
                f"<b>{capacity:,.0f} records/s</b> of {size:,} bytes (the {binding} limit binds). "
                f"Second half of the run: <b>{accepted:,.0f}</b> accepted/s, "
                f"<b style='color:#D55E00'>{throttled:,.0f}</b> throttled/s.")

    def _redraw_at(self, second: float) -> None:
        if self.result is not None:
            self.draw(self.result, self.values(), upto=second)
            self.live_figure.render()
