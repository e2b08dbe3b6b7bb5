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

from kinesislab.clock import VirtualClock
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
    """State shared by every kind of consumer.

    A reader's work for a segment of ticks is a :class:`SegmentReads`: where each tick's reading
    began on each shard, how many records it read and where it stopped. Readers whose reading does
    not depend on anyone else's compute a whole segment at once (:meth:`plan`); the others, and
    any segment where a closed form would not be exact, go tick by tick. Either way the runner
    books latency and lag from the same :class:`SegmentReads`, so both paths give the same numbers.
    """

    kind = "reader"

    def __init__(self, name: str, start: str, ticks: int):
        self.name = name
        self.start = start
        self.positions = np.zeros(0)
        self.known = np.zeros(0, dtype=bool)
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
            for slot in locked:
                parents = lineage.parents.get(int(slot), ())
                if all(p in lineage.closed and self.positions[p] >= log.cum_records[p, log.now_row] for p in parents):
                    self.unlocked[slot] = True
        return slots[self.unlocked[slots]]

    def expire(self, slots: np.ndarray, cutoff: np.ndarray) -> None:
        """Records past retention are gone: move readers that lag behind to the trim horizon."""
        behind = np.maximum(0.0, cutoff - self.positions[slots])
        self.expired_unread += float(behind.sum())
        self.positions[slots] += behind

    # ------------------------------------------------------------------ a whole segment at once
    def plan(self, live: np.ndarray, lineage: Lineage, log: ShardLog, first_tick: int, end_tick: int,
             cap: np.ndarray, retention_ticks: int) -> "SegmentReads | None":
        """Positions over ticks ``first_tick .. end_tick - 1`` if each tick reads at most ``cap[slot, i]``
        records of what is written (``p = min(p + cap, written)``), without changing this reader.

        Solved in closed form: with ``C`` the running sum of the caps, ``p_t - C_t`` is the running
        minimum of ``written_t - C_t``. Children become readable the tick after their parents are
        drained, so slots are solved one generation at a time. Returns None where the closed form
        would not be exact (retention would move the reader during the segment).
        """
        n = len(self.positions)
        length = end_tick - first_tick
        written = log.written(first_tick + 1, end_tick + 1)[:n]
        start = self.positions.copy()
        after = np.repeat(start[:, None], length, axis=1)
        unlock = np.full(n, length + 1)  # first tick (in the segment) each slot may be read; length + 1: never
        is_live = np.zeros(n, dtype=bool)
        is_live[live] = True
        steps = np.arange(length)
        drained_at: dict[int, int] = {}

        def solve(slots: np.ndarray, begins: np.ndarray) -> None:
            caps = np.where(steps[None, :] >= begins[:, None], cap[slots], 0.0)
            reached = np.cumsum(caps, axis=1)
            lowest = np.minimum.accumulate(written[slots] - reached, axis=1)
            after[slots] = reached + np.minimum(start[slots, None], lowest)
            unlock[slots] = begins

        ready = live[self.unlocked[live]]
        if len(ready):
            solve(ready, np.zeros(len(ready), dtype=np.int64))
        pending = [int(s) for s in live[~self.unlocked[live]]]
        solved = set(int(s) for s in ready)
        while pending:
            generation, begins = [], []
            for slot in pending:
                parents = lineage.parents.get(slot, ())
                if any(is_live[p] and p not in solved for p in parents):
                    continue
                begin = 0
                for parent in parents:
                    if parent not in lineage.closed:
                        begin = length + 1
                        break
                    if parent not in drained_at:
                        total = log.cum_records[parent, end_tick]
                        done = np.flatnonzero(after[parent] >= total)
                        drained_at[parent] = -1 if start[parent] >= total else (int(done[0]) if len(done) else length)
                    begin = max(begin, drained_at[parent] + 1)
                generation.append(slot)
                begins.append(min(begin, length + 1))
            if not generation:
                break
            solve(np.array(generation, dtype=np.int64), np.array(begins, dtype=np.int64))
            solved.update(generation)
            pending = [s for s in pending if s not in solved]
        starts = np.concatenate([start[:, None], after[:, :-1]], axis=1) if length else after
        if end_tick - 1 >= retention_ticks:
            cutoff_rows = np.clip(np.arange(first_tick, end_tick) - retention_ticks, 0, log.rows - 1)
            cutoff = log.cum_records[:n, cutoff_rows]
            if (starts[live] < cutoff[live]).any():
                return None
        return SegmentReads(first_tick, starts, after - starts, after, np.zeros((n, length)), unlock)

    def commit(self, plan: "SegmentReads") -> None:
        """Adopt a :meth:`plan`: positions at the end of the segment, slots that became readable."""
        self.positions = plan.after[:, -1].copy()
        self.unlocked |= plan.unlock < plan.after.shape[1]


@dataclass
class SegmentReads:
    """One reader's work over a segment of ticks, each array ``[shard slot, tick in segment]``."""

    first_tick: int
    starts: np.ndarray     #: position where the tick's reading began (after retention or takeover)
    counts: np.ndarray     #: records read in the tick
    after: np.ndarray      #: position at the end of the tick
    throttled: np.ndarray  #: GetRecords calls refused in the tick
    unlock: np.ndarray | None = None  #: per slot, first tick (in the segment) it was readable

    @classmethod
    def empty(cls, first_tick: int, slots: int, length: int) -> "SegmentReads":
        return cls(first_tick, np.zeros((slots, length)), np.zeros((slots, length)), np.zeros((slots, length)),
                   np.zeros((slots, length)))

    def record(self, index: int, slots: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> None:
        """Book reads of one tick (tick-by-tick path)."""
        self.starts[slots, index] = starts
        self.counts[slots, index] += counts


def book_latency(hist: np.ndarray, log: ShardLog, reads: SegmentReads) -> None:
    """Add the put-to-read lag (ticks) of every record in ``reads`` to ``hist``, exactly.

    A tick's reading covers record numbers ``start .. start + count - 1``; the log says in which
    tick each arrived. Readings that span several arrival ticks are split at the tick boundaries.
    """
    slots, index = np.nonzero(reads.counts > 0)
    if not len(slots):
        return
    read_tick = reads.first_tick + index
    begin = reads.starts[slots, index]
    count = reads.counts[slots, index]
    # A reader that keeps up reads, each tick, only records of that tick: lag 0, nothing to search.
    fresh = begin >= log.cum_records[slots, read_tick]
    hist[0] += count[fresh].sum()
    if fresh.all():
        return
    slots, read_tick, begin, count = slots[~fresh], read_tick[~fresh], begin[~fresh], count[~fresh]
    end = begin + count
    first = log.arrival_ticks_many(slots, begin)
    last = log.arrival_ticks_many(slots, end - 1)
    top = len(hist) - 1
    same = first == last
    hist += np.bincount(np.clip(read_tick[same] - first[same], 0, top), weights=count[same], minlength=len(hist))
    if same.all():
        return
    many = np.flatnonzero(~same)
    spans = last[many] - first[many] + 1
    owner = np.repeat(many, spans)
    arrival = first[owner] + (np.arange(int(spans.sum())) - np.repeat(np.cumsum(spans) - spans, spans))
    lo_bound = np.maximum(begin[owner], log.cum_records[slots[owner], arrival])
    hi_bound = np.minimum(end[owner], log.cum_records[slots[owner], arrival + 1])
    hist += np.bincount(np.clip(read_tick[owner] - arrival, 0, top), weights=hi_bound - lo_bound,
                        minlength=len(hist))


def millis_behind(log: ShardLog, reads: SegmentReads, live: np.ndarray, resolution: float) -> np.ndarray:
    """``[live slot, tick]``: 0 when caught up, else how old the oldest unread record is (ms)."""
    length = reads.after.shape[1]
    first = reads.first_tick
    written = log.written(first + 1, first + length + 1)
    result = np.zeros((len(live), length))
    rows, steps = np.nonzero(reads.after[live] < written[live])
    if len(rows):
        slots = live[rows]
        arrival = log.arrival_ticks_many(slots, reads.after[slots, steps])
        result[rows, steps] = ((first + 1 + steps) * resolution - (arrival + 0.5) * resolution) * 1000.0
    return result


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

    def calls_in_ticks(self, first_tick: int, end_tick: int) -> np.ndarray:
        """:meth:`calls_this_tick` for ticks ``first_tick .. end_tick - 1`` (the same arithmetic)."""
        interval = max(self.spec.poll_interval, 1e-3)
        ticks = np.arange(first_tick, end_tick, dtype=np.float64)
        return (np.floor((ticks + 1) * self.resolution / interval + 1e-9)
                - np.floor(ticks * self.resolution / interval + 1e-9))

    def records_per_call(self, mean_bytes: np.ndarray, max_bytes: float, max_records: int) -> np.ndarray:
        """Most records one GetRecords call returns: the Limit, the per-call record and byte caps."""
        return np.minimum(min(self.spec.limit, max_records), np.floor(max_bytes / mean_bytes))

    def poll(self, slots: np.ndarray, log: ShardLog, budget, tick: int, max_bytes: float,
             max_records: int, reads: "SegmentReads", index: int) -> tuple[np.ndarray, np.ndarray]:
        """Make this tick's GetRecords calls on ``slots`` and book them in ``reads`` at ``index``.
        Returns (records read, throttled calls) per slot."""
        read = np.zeros(len(slots))
        throttled = np.zeros(len(slots))
        if not len(slots):
            return read, throttled
        mean = log.mean_record_bytes(slots)
        per_call = self.records_per_call(mean, max_bytes, max_records)
        starts = self.positions[slots].copy()
        for _ in range(self.calls_this_tick(tick)):
            admitted = budget.admit_calls(slots)
            throttled += ~admitted
            available = log.totals(slots) - self.positions[slots]
            count = np.maximum(np.where(admitted, np.minimum(available, per_call), 0.0), 0.0)
            budget.charge_many(slots[admitted], count[admitted] * mean[admitted])
            self.positions[slots] += count
            read += count
            self.calls_made += int(admitted.sum())
        self.throttled_calls += int(throttled.sum())
        reads.record(index, slots, starts, read)
        reads.throttled[slots, index] += throttled
        return read, throttled


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

    def records_per_tick(self, mean_bytes: np.ndarray) -> np.ndarray:
        """Most records the pipe pushes in one tick: its bytes per tick over the record size."""
        return np.floor(self.bytes_per_second * self.resolution / mean_bytes)

    def push(self, slots: np.ndarray, log: ShardLog, reads: "SegmentReads", index: int) -> np.ndarray:
        """Deliver what this tick's pipe allows and book it in ``reads``. Returns records per slot."""
        if not len(slots):
            return np.zeros(0)
        available = log.totals(slots) - self.positions[slots]
        count = np.maximum(0.0, np.minimum(available, self.records_per_tick(log.mean_record_bytes(slots))))
        reads.record(index, slots, self.positions[slots].copy(), count)
        self.positions[slots] += count
        return count


class FirehoseReader(PollingReader):
    """A Firehose stream reading the data stream: a polling reader whose reads fill Firehose's
    own delivery buffer (the same :class:`~kinesislab.firehose.buffer.TimedBuffer` the
    record-level Firehose uses), in chunks of (records, bytes, arrival second).

    The buffer runs on a clock of its own (``clock=None``), which :meth:`feed` and
    :meth:`catch_up` move to the tick being read: the runner reads a segment of ticks after
    writing it, when the simulator's clock is already at the segment's end. Passing the
    simulator's clock instead gives the reference behaviour (read each tick as it happens, the
    buffer's interval callbacks running inside ``sim.advance``); both deliver the same objects
    at the same virtual times, because the interval callbacks fall due at the same instants.
    """

    kind = "firehose"

    def __init__(self, spec: FirehoseConsumer, ticks: int, resolution: float, clock: VirtualClock | None,
                 start_time: float):
        super().__init__(spec, ticks, resolution)
        self.start_time = start_time
        self.deliveries: list[dict] = []
        #: True when the buffer's clock is this reader's own (moved by feed and catch_up only).
        self.own_clock = clock is None
        if clock is None:
            clock = VirtualClock()
            clock.time = clock.start_time = start_time  # the run's first tick (epoch s)
        self.buffer = TimedBuffer(clock, int(spec.size_mib * 2**20), spec.interval_seconds, self._delivered)
        self.clock = clock
        self.record_bytes: list[tuple[float, int]] = []  # (record size, count) read, for the bill

    def catch_up(self, now: float) -> None:
        """Move the buffer's own clock to ``now`` (epoch s), delivering what falls due on the way."""
        if self.own_clock:
            self.clock.advance_to(now)

    def feed(self, records: float, size_bytes: float, now: float | None = None) -> None:
        """Add what the polls of the tick at ``now`` (epoch s; default the clock's time) returned,
        splitting the chunk where it fills the buffer."""
        if now is not None:
            self.catch_up(now)
        records, size_bytes = int(round(records)), float(size_bytes)
        if records <= 0:
            return
        mean = size_bytes / records
        self.record_bytes.append((mean, records))
        arrival = self.clock.time
        while records > 0:
            room = self.buffer.size_bytes - self.buffer.buffered_bytes
            fits = max(1, min(records, math.ceil(room / mean)))
            self.buffer.add((fits, fits * mean, arrival), int(round(fits * mean)), records=fits)
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
