"""Consumers at count granularity: polling applications, KCL-style groups, enhanced fan-out.

Every reader keeps a position per shard slot (records read so far) and reads parents before
children: a child shard is readable only once each parent is closed and fully read, as the KCL
does, so per-key order holds across reshards. Polling readers share each shard's GetRecords
budget (5 calls/s, 2 MiB/s) through the stream's own :class:`~kinesislab.engine.throughput.ReadBudget`;
enhanced fan-out readers each get 2 MiB/s per shard of their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kinesislab.firehose.buffer import TimedBuffer
from kinesislab.scenario.model import EnhancedFanOutConsumer, FirehoseConsumer, KclConsumer, PollingConsumer
from kinesislab.scenario.shard_log import ShardLog


@dataclass
class Lineage:
    """Per slot: parents (slots), whether closed, and the final record count once closed."""

    parents: dict[int, list[int]] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)
    shard_ids: dict[int, str] = field(default_factory=dict)


class Reader:
    """State shared by every kind of consumer."""

    kind = "reader"

    def __init__(self, name: str, start: str, ticks: int):
        self.name = name
        self.start = start
        self.positions = np.zeros(0)
        self.known = np.zeros(0, dtype=bool)
        #: per slot: the tick the next unread record arrived in (a lower bound; positions only grow)
        self.next_arrival = np.zeros(0, dtype=np.int64)
        #: per slot: parents closed and fully read, so reading may start
        self.unlocked = np.zeros(0, dtype=bool)
        self.latency_hist = np.zeros(ticks + 2)
        self.delivered = 0
        self.delivered_bytes = 0.0
        self.expired_unread = 0.0
        self.duplicates = 0
        self.duplicates_booked = 0  # part of ``duplicates`` already in the per-second results

    def ensure_slots(self, slots: int, log: ShardLog) -> None:
        if slots > len(self.positions):
            extra = slots - len(self.positions)
            self.positions = np.concatenate([self.positions, np.zeros(extra)])
            self.known = np.concatenate([self.known, np.zeros(extra, dtype=bool)])
            self.next_arrival = np.concatenate([self.next_arrival, np.zeros(extra, dtype=np.int64)])
            self.unlocked = np.concatenate([self.unlocked, np.zeros(extra, dtype=bool)])

    def discover(self, slots: np.ndarray, log: ShardLog) -> None:
        """First sight of new shards: LATEST readers start at the tip, others at the beginning."""
        new = slots[~self.known[slots]]
        if len(new):
            self.known[new] = True
            self.positions[new] = log.totals(new) if self.start == "LATEST" else 0.0

    def readable(self, slots: np.ndarray, lineage: Lineage, log: ShardLog) -> np.ndarray:
        """Slots whose parents are closed and drained by this reader (once true, it stays true)."""
        locked = slots[~self.unlocked[slots]]
        if len(locked):
            totals = log.cum_records[log.rows - 1]
            for slot in locked:
                parents = lineage.parents.get(int(slot), ())
                if all(p in lineage.closed and self.positions[p] >= totals[p] for p in parents):
                    self.unlocked[slot] = True
        return slots[self.unlocked[slots]]

    def expire(self, slots: np.ndarray, cutoff: np.ndarray) -> None:
        """Records past retention are gone: move readers that lag behind to the trim horizon."""
        behind = np.maximum(0.0, cutoff - self.positions[slots])
        self.expired_unread += float(behind.sum())
        self.positions[slots] += behind

    def arrival_of_next(self, slots: np.ndarray, log: ShardLog) -> np.ndarray:
        """Tick in which each slot's next unread record arrived (kept as the next lower bound)."""
        ticks = log.arrival_tick(slots, self.positions[slots], self.next_arrival[slots])
        self.next_arrival[slots] = ticks
        return ticks

    def record_reads(self, slots: np.ndarray, start: np.ndarray, count: np.ndarray, log: ShardLog,
                     tick: int) -> None:
        """Book the latency of records ``start .. start+count`` read at the end of ``tick``."""
        reading = count > 0
        if not reading.any():
            return
        slots, start, count = slots[reading], start[reading], count[reading]
        first = log.arrival_tick(slots, start, self.next_arrival[slots])
        last = log.arrival_tick(slots, start + count - 1, first)
        self.next_arrival[slots] = last
        lag_first = tick - first
        same = first == last
        if same.all():
            self.latency_hist += np.bincount(np.clip(lag_first, 0, len(self.latency_hist) - 1), weights=count,
                                             minlength=len(self.latency_hist))
        else:
            np.add.at(self.latency_hist, np.clip(lag_first[same], 0, len(self.latency_hist) - 1), count[same])
            for slot_lag_first, f, l, n in zip(lag_first[~same], first[~same], last[~same], count[~same]):
                spread = np.full(int(l - f + 1), n / (l - f + 1))
                lags = np.arange(int(slot_lag_first), int(slot_lag_first) - len(spread), -1)
                np.add.at(self.latency_hist, np.clip(lags, 0, len(self.latency_hist) - 1), spread)
        self.delivered += int(count.sum())


class PollingReader(Reader):
    """A GetRecords application (or the readers of a KCL group, via :class:`KclReader`)."""

    kind = "polling"

    def __init__(self, spec: PollingConsumer | KclConsumer, ticks: int, resolution: float):
        super().__init__(spec.name, spec.start, ticks)
        self.spec = spec
        self.resolution = resolution
        self.calls_made = 0
        self.throttled_calls = 0

    def calls_this_tick(self, tick: int) -> int:
        interval = max(self.spec.poll_interval, 1e-3)
        return math.floor((tick + 1) * self.resolution / interval + 1e-9) - math.floor(tick * self.resolution / interval + 1e-9)

    def poll(self, slots: np.ndarray, log: ShardLog, budget, tick: int, max_bytes: float,
             max_records: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Make this tick's GetRecords calls on ``slots``. Returns (records read, bytes read, throttled calls) per slot."""
        read = np.zeros(len(slots))
        read_bytes = np.zeros(len(slots))
        throttled = np.zeros(len(slots))
        if not len(slots):
            return read, read_bytes, throttled
        mean = log.mean_record_bytes(slots)
        limit = min(self.spec.limit, max_records)
        for _ in range(self.calls_this_tick(tick)):
            admitted = budget.admit_calls(slots)
            throttled += ~admitted
            available = log.totals(slots) - self.positions[slots]
            count = np.where(admitted, np.minimum(np.minimum(available, limit), np.floor(max_bytes / mean)), 0.0)
            count = np.maximum(count, 0.0)
            size = count * mean
            budget.charge_many(slots[admitted], size[admitted])
            self.record_reads(slots, self.positions[slots], count, log, tick)
            self.positions[slots] += count
            read += count
            read_bytes += size
            self.calls_made += int(admitted.sum())
        self.throttled_calls += int(throttled.sum())
        self.delivered_bytes += float(read_bytes.sum())
        return read, read_bytes, throttled


class KclReader(PollingReader):
    """A KCL-style consumer group: leases, checkpoints, worker crashes and lease takeover."""

    kind = "kcl"

    def __init__(self, spec: KclConsumer, ticks: int, resolution: float):
        super().__init__(spec, ticks, resolution)
        self.alive: list[bool] = [True] * max(1, spec.workers)
        self.died_at: dict[int, float] = {}
        self.owner = np.zeros(0, dtype=np.int64)
        self.checkpoint = np.zeros(0)
        self.checkpoint_time = np.zeros(0)
        self.takeovers = 0

    def ensure_slots(self, slots: int, log: ShardLog) -> None:
        extra = slots - len(self.positions)
        super().ensure_slots(slots, log)
        if extra > 0:
            self.owner = np.concatenate([self.owner, np.full(extra, -1, dtype=np.int64)])
            self.checkpoint = np.concatenate([self.checkpoint, np.zeros(extra)])
            self.checkpoint_time = np.concatenate([self.checkpoint_time, np.zeros(extra)])

    def discover(self, slots: np.ndarray, log: ShardLog) -> None:
        new = slots[~self.known[slots]]
        super().discover(slots, log)
        for slot in new:
            self.owner[slot] = self._least_loaded()
            self.checkpoint[slot] = self.positions[slot]

    def _least_loaded(self) -> int:
        living = [w for w, alive in enumerate(self.alive) if alive]
        if not living:
            return -1
        loads = {w: int((self.owner == w).sum()) for w in living}
        return min(living, key=lambda w: (loads[w], w))

    def kill(self, worker: int, now: float) -> None:
        if 0 <= worker < len(self.alive) and self.alive[worker]:
            self.alive[worker] = False
            self.died_at[worker] = now

    def add_worker(self) -> None:
        """A new worker joins and takes leases from the busiest workers until loads are even."""
        self.alive.append(True)
        newcomer = len(self.alive) - 1
        living = [w for w, alive in enumerate(self.alive) if alive]
        target = int((self.owner >= 0).sum()) // len(living)
        while int((self.owner == newcomer).sum()) < target:
            loads = {w: int((self.owner == w).sum()) for w in living if w != newcomer}
            busiest = max(loads, key=lambda w: (loads[w], -w))
            slot = int(np.flatnonzero(self.owner == busiest)[0])
            self._take_over(slot, newcomer)

    def _take_over(self, slot: int, worker: int) -> None:
        # The new owner starts from the last checkpoint: everything after it is processed again.
        self.duplicates += int(self.positions[slot] - self.checkpoint[slot])
        self.positions[slot] = self.checkpoint[slot]
        self.owner[slot] = worker
        self.takeovers += 1

    def fail_over(self, now: float) -> None:
        """Leases of workers dead for failover_time seconds go to the least-loaded living workers."""
        for worker, died in list(self.died_at.items()):
            if now - died >= self.spec.failover_time:
                for slot in np.flatnonzero(self.owner == worker):
                    self.owner[slot] = -1
                    new_owner = self._least_loaded()
                    if new_owner >= 0:
                        self._take_over(int(slot), new_owner)
                del self.died_at[worker]

    def serving(self, slots: np.ndarray) -> np.ndarray:
        """Slots whose lease holder is alive."""
        owners = self.owner[slots]
        alive = np.array([o >= 0 and self.alive[o] for o in owners], dtype=bool)
        return slots[alive] if len(slots) else slots

    def maybe_checkpoint(self, slots: np.ndarray, now: float, lineage: Lineage, log: ShardLog) -> None:
        spec = self.spec
        due = np.zeros(len(slots), dtype=bool)
        if spec.checkpoint_every_records:
            due |= self.positions[slots] - self.checkpoint[slots] >= spec.checkpoint_every_records
        if spec.checkpoint_every_seconds:
            due |= now - self.checkpoint_time[slots] >= spec.checkpoint_every_seconds
        totals = log.totals(slots)
        # SHARD_END: a drained closed shard is always checkpointed, or its children never start.
        due |= np.array([int(s) in lineage.closed for s in slots], dtype=bool) & (self.positions[slots] >= totals)
        chosen = slots[due]
        self.checkpoint[chosen] = self.positions[chosen]
        self.checkpoint_time[chosen] = now


class FanOutReader(Reader):
    """An enhanced fan-out consumer: 2 MiB/s per shard of its own, no call limits."""

    kind = "efo"

    def __init__(self, spec: EnhancedFanOutConsumer, ticks: int, resolution: float, bytes_per_second: float):
        super().__init__(spec.name, spec.start, ticks)
        self.spec = spec
        self.resolution = resolution
        self.bytes_per_second = bytes_per_second

    def push(self, slots: np.ndarray, log: ShardLog, tick: int) -> tuple[np.ndarray, np.ndarray]:
        """Deliver what this tick's budget allows. Returns (records, bytes) per slot."""
        if not len(slots):
            return np.zeros(0), np.zeros(0)
        mean = log.mean_record_bytes(slots)
        available = log.totals(slots) - self.positions[slots]
        count = np.maximum(0.0, np.minimum(available, np.floor(self.bytes_per_second * self.resolution / mean)))
        self.record_reads(slots, self.positions[slots], count, log, tick)
        self.positions[slots] += count
        size = count * mean
        self.delivered_bytes += float(size.sum())
        return count, size


class FirehoseReader(PollingReader):
    """A Firehose stream reading the data stream: a polling reader whose reads fill Firehose's
    own delivery buffer (the same :class:`~kinesislab.firehose.buffer.TimedBuffer` the
    record-level Firehose uses), in chunks of (records, bytes, arrival second)."""

    kind = "firehose"

    def __init__(self, spec: FirehoseConsumer, ticks: int, resolution: float, clock, start_time: float):
        super().__init__(spec, ticks, resolution)
        self.start_time = start_time
        self.deliveries: list[dict] = []
        self.buffer = TimedBuffer(clock, int(spec.size_mib * 2**20), spec.interval_seconds, self._delivered)
        self.clock = clock
        self.record_bytes: list[tuple[float, int]] = []  # (record size, count) read, for the bill

    def feed(self, records: float, size_bytes: float) -> None:
        """Add what this tick's polls returned, splitting the chunk where it fills the buffer."""
        records, size_bytes = int(round(records)), float(size_bytes)
        if records <= 0:
            return
        mean = size_bytes / records
        self.record_bytes.append((mean, records))
        arrival = self.clock.time
        while records > 0:
            room = self.buffer.size_bytes - self.buffer.buffered_bytes
            fits = max(1, min(records, int(np.ceil(room / mean))))
            self.buffer.add((fits, fits * mean, arrival), int(round(fits * mean)))
            records -= fits

    def _delivered(self, items: list, trigger: str) -> None:
        count = sum(item[0] for item in items)
        size = sum(item[1] for item in items)
        first = min(item[2] for item in items)
        now = self.clock.time
        self.deliveries.append({"delivered_second": now - self.start_time, "bytes": size, "records": count,
                                "first_arrival_second": first - self.start_time, "latency_seconds": now - first,
                                "trigger": trigger})


def make_reader(spec, ticks: int, resolution: float, efo_bytes_per_second: float, clock=None,
                start_time: float = 0.0) -> Reader:
    if isinstance(spec, FirehoseConsumer):
        return FirehoseReader(spec, ticks, resolution, clock, start_time)
    if isinstance(spec, KclConsumer):
        return KclReader(spec, ticks, resolution)
    if isinstance(spec, PollingConsumer):
        return PollingReader(spec, ticks, resolution)
    if isinstance(spec, EnhancedFanOutConsumer):
        return FanOutReader(spec, ticks, resolution, efo_bytes_per_second)
    raise TypeError(f"not a consumer: {spec!r}")
