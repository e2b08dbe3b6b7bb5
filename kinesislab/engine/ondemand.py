"""On-demand capacity: how a stream in ON_DEMAND mode grows its shards (facts §5).

The documented rule, as the engine applies it:

* A new on-demand stream has 4 shards: 4 MiB/s and 4,000 records/s of write capacity.
* The service keeps capacity for up to twice the peak write demand it has seen. A peak becomes
  capacity ``on_demand_scale_up_seconds`` (15 minutes) after it is seen: traffic up to double the
  previous peak is absorbed at once, traffic that more than doubles it within 15 minutes is
  throttled until the new shards arrive.
* Demand is what producers offered in a whole virtual second (accepted and throttled bytes and
  records): throttled requests still show the service the traffic.
* New capacity arrives as splits at the midpoint of the busiest shards (by demand since the last
  scaling step; shards over ``on_demand_split_threshold_bytes_per_second`` first), so a single
  hot partition key remains capped at one shard's 1 MiB/s and 1,000 records/s. Demand per shard
  counts only while the stream is on demand (CHOSEN: AWS does not say how a switched stream
  weighs its provisioned past; a new scaler starts from none).
* The stream never grows beyond ``on_demand_max_write_bytes_per_second``. Scale-down (after a
  peak leaves the 30-day window) is not modelled: lesson runs are far shorter than 30 days.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kinesislab.engine.stream import Stream


class OnDemandScaler:
    """Tracks one on-demand stream's peak demand and splits shards when a peak matures."""

    def __init__(self, stream: "Stream"):
        self.stream = stream
        limits = stream.env.limits
        open_count = len(stream.open_shards())
        # A stream switched from provisioned keeps its shards: treat half their capacity as the
        # peak already seen, so the switch itself neither grows nor throttles it.
        self.mature_peak_bytes = open_count * limits.shard_write_bytes_per_second / limits.on_demand_headroom_factor
        self.mature_peak_records = open_count * limits.shard_write_records_per_second / limits.on_demand_headroom_factor
        # Seconds whose demand has not yet become capacity, as a running-maximum stack so that
        # each new peak schedules exactly one maturing callback.
        self._pending: deque[tuple[int, float, float]] = deque()

    def record_demand(self, second: int, offered_bytes: float, offered_records: float) -> None:
        """Called once per whole second that saw writes, with that second's offered totals."""
        top_bytes = max([self.mature_peak_bytes] + [p[1] for p in self._pending])
        top_records = max([self.mature_peak_records] + [p[2] for p in self._pending])
        if offered_bytes <= top_bytes and offered_records <= top_records:
            return
        self._pending.append((second, offered_bytes, offered_records))
        delay = self.stream.env.limits.on_demand_scale_up_seconds
        self.stream.env.clock.schedule(second + 1 + delay, self._mature, priority=-1)

    def _mature(self) -> None:
        if self.stream.scaler is not self:
            return  # the stream left on-demand mode since: a later scaler starts afresh (CHOSEN)
        now = self.stream.env.clock.time
        delay = self.stream.env.limits.on_demand_scale_up_seconds
        while self._pending and self._pending[0][0] + 1 + delay <= now + 1e-9:
            _, peak_bytes, peak_records = self._pending.popleft()
            self.mature_peak_bytes = max(self.mature_peak_bytes, peak_bytes)
            self.mature_peak_records = max(self.mature_peak_records, peak_records)
        if self.stream.mode == "ON_DEMAND" and self.stream.status in ("ACTIVE", "UPDATING"):
            self.scale_to(self.target_shard_count())

    def next_growth_time(self) -> float | None:
        """When the next peak matures (epoch seconds), the earliest the stream may grow; None if
        no peak is waiting."""
        return self.stream.env.clock.next_time_of(self._mature)

    def target_shard_count(self) -> int:
        """Open shards needed for twice the mature peak, within the stream maximum."""
        limits = self.stream.env.limits
        factor = limits.on_demand_headroom_factor
        by_bytes = math.ceil(factor * self.mature_peak_bytes / limits.shard_write_bytes_per_second)
        by_records = math.ceil(factor * self.mature_peak_records / limits.shard_write_records_per_second)
        ceiling = max(1, limits.on_demand_max_write_bytes_per_second // limits.shard_write_bytes_per_second)
        return int(min(max(limits.on_demand_initial_shards, by_bytes, by_records), ceiling))

    def scale_to(self, target: int) -> None:
        """Split the busiest open shards at their midpoints until ``target`` shards are open."""
        threshold = self.stream.env.limits.on_demand_split_threshold_bytes_per_second
        while len(self.stream.open_shards()) < target:
            candidates = [s for s in self.stream.open_shards() if s.hash_key_range.size > 1]
            if not candidates:
                return
            demand = self.stream.demand_since_scaling
            busiest = max(candidates, key=lambda s: (
                demand.get(s.shard_id, 0.0) > threshold, demand.get(s.shard_id, 0.0), s.hash_key_range.size, -s.index))
            self.stream.apply_split(busiest, busiest.hash_key_range.midpoint)
        self.stream.demand_since_scaling.clear()
