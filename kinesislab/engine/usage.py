"""What a stream used, per capacity mode, for the bill (``kinesislab.pricing``).

The meter counts in both billing dimensions at once (shard-seconds *and* stream-seconds, record
sizes for 25 KB payload units *and* 1 KiB on-demand rounding), so the pricing module can say
what the same run would have cost in the other mode.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
        self._since = now

    def accepted(self, size_bytes: int, count: int = 1) -> None:
        """Count ``count`` accepted records of ``size_bytes`` each."""
        self.record_sizes[self.stream.mode][size_bytes] += count
        second = int(self.stream.env.clock.time - self.stream.created_seconds)
        self.ingest_bytes_by_second[second] += size_bytes * count

    def read(self, size_bytes: int, enhanced_fan_out: bool) -> None:
        """Count bytes delivered to a polling (GetRecords) or enhanced fan-out consumer."""
        (self.efo_bytes if enhanced_fan_out else self.get_records_bytes)[self.stream.mode] += size_bytes
