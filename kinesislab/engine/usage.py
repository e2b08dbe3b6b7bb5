"""What a stream used, per capacity mode, for the bill (``kinesislab.pricing``).

The meter counts in both billing dimensions at once (shard-seconds *and* stream-seconds, record
sizes for 25 KB payload units *and* 1 KiB on-demand rounding), so the pricing module can say
what the same run would have cost in the other mode.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kinesislab.pricing import Usage
    from kinesislab.engine.stream import Stream


class UsageMeter:
    """Running totals for one stream, keyed by the capacity mode in force when they happened."""

    def __init__(self, stream: "Stream"):
        self.stream = stream
        self._since = stream.env.clock.time
        self.mode_seconds: dict[str, float] = defaultdict(float)
        self.shard_seconds: dict[str, float] = defaultdict(float)
        #: mode -> {record size in bytes -> accepted records of that size}
        self.record_sizes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.get_records_bytes: dict[str, int] = defaultdict(int)
        self.efo_bytes: dict[str, int] = defaultdict(int)
        self.efo_consumer_shard_seconds: dict[str, float] = defaultdict(float)
        #: whole second (since the stream's creation) -> accepted bytes
        self.ingest_bytes_by_second: dict[int, int] = defaultdict(int)
        #: (start, end, mode) in seconds since the stream's creation
        self.mode_periods: list[list] = []

    def account_time(self) -> None:
        """Integrate time, open shards and active EFO consumers since the last call.

        Called before anything that changes those (reshards, mode switches) and before a bill.
        """
        now = self.stream.env.clock.time
        elapsed = now - self._since
        if elapsed <= 0:
            return
        mode = self.stream.mode
        open_shards = len(self.stream.open_shards())
        self.mode_seconds[mode] += elapsed
        self.shard_seconds[mode] += elapsed * open_shards
        active_consumers = sum(1 for c in self.stream.consumers.values() if c.status == "ACTIVE")
        self.efo_consumer_shard_seconds[mode] += elapsed * open_shards * active_consumers
        start, end = self._since - self.stream.created_seconds, now - self.stream.created_seconds
        if self.mode_periods and self.mode_periods[-1][2] == mode and self.mode_periods[-1][1] == start:
            self.mode_periods[-1][1] = end
        else:
            self.mode_periods.append([start, end, mode])
        self._since = now

    def accepted(self, size_bytes: int, count: int = 1) -> None:
        """Count ``count`` accepted records of ``size_bytes`` each."""
        self.record_sizes[self.stream.mode][size_bytes] += count
        second = int(self.stream.env.clock.time - self.stream.created_seconds)
        self.ingest_bytes_by_second[second] += size_bytes * count

    def accepted_each_second(self, size_bytes: int, counts: np.ndarray, times: np.ndarray, mode: str) -> None:
        """:meth:`accepted` for ``counts[i]`` records accepted at virtual time ``times[i]`` (epoch s)
        while the stream was in capacity ``mode``."""
        total = int(np.add.reduce(counts))
        if not total:
            return
        self.record_sizes[mode][size_bytes] += total
        created = self.stream.created_seconds
        for time, count in zip(times.tolist(), counts.tolist()):
            if count:
                self.ingest_bytes_by_second[int(time - created)] += size_bytes * int(count)

    def read(self, size_bytes: int, enhanced_fan_out: bool, mode: str | None = None) -> None:
        """Count bytes delivered to a polling (GetRecords) or enhanced fan-out consumer, while the
        stream was in capacity ``mode`` (default: its mode now)."""
        (self.efo_bytes if enhanced_fan_out else self.get_records_bytes)[mode or self.stream.mode] += size_bytes

    def to_usage(self) -> "Usage":
        """Everything so far as a :class:`kinesislab.pricing.Usage` (time is accounted up to now)."""
        from kinesislab import pricing

        self.account_time()
        duration = self.stream.env.clock.time - self.stream.created_seconds
        seconds = int(duration) + 1
        ingest = np.zeros(seconds, dtype=np.int64)
        for second, size in self.ingest_bytes_by_second.items():
            if second < seconds:
                ingest[second] += size
        per_mode: dict[str, dict] = {name: {} for name in (
            "records_in", "bytes_in", "put_payload_units", "on_demand_billed_bytes_in")}
        for mode, histogram in self.record_sizes.items():
            sizes = np.fromiter(histogram.keys(), dtype=np.int64, count=len(histogram))
            counts = np.fromiter(histogram.values(), dtype=np.int64, count=len(histogram))
            per_mode["records_in"][mode] = int(counts.sum())
            per_mode["bytes_in"][mode] = int((sizes * counts).sum())
            per_mode["put_payload_units"][mode] = pricing.put_payload_units(sizes, record_counts=counts)
            per_mode["on_demand_billed_bytes_in"][mode] = pricing.on_demand_billed_bytes(sizes, record_counts=counts)
        return pricing.Usage(
            stream_name=self.stream.name,
            mode_seconds=dict(self.mode_seconds), shard_seconds=dict(self.shard_seconds),
            get_records_bytes=dict(self.get_records_bytes), efo_bytes=dict(self.efo_bytes),
            efo_consumer_shard_seconds=dict(self.efo_consumer_shard_seconds),
            retention_hours=float(self.stream.retention_hours), ingest_bytes_per_second=ingest,
            duration_seconds=duration, mode_periods=tuple(tuple(p) for p in self.mode_periods),
            **per_mode)
