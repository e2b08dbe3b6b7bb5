"""Run a :class:`~kinesislab.scenario.model.Scenario` on the shard engine, tick by tick.

The runner drives a real :class:`~kinesislab.Simulator`: the stream, its shards, write and read
budgets, resharding and on-demand scaling are the engine's own objects, and scheduled events go
through the boto3-shaped client. What the runner adds is count granularity: each tick it moves
counts of records per shard through the limits (numpy arrays over shard slots), instead of one
Python object per record. ``backend="records"`` sends the very same counts as real records
through ``put_records`` instead, which is how the tests prove both paths agree.

Speed comes from segments. Readers never influence writers, so the runner writes a stretch of
ticks first (up to the next scheduled event, a change of the shard map or of the capacity mode,
or :data:`SEGMENT_TICKS`) and then reads it. Where the rules allow a closed form it is used --
producers that never retry on a provisioned stream are solved for all the segment's seconds at
once; enhanced fan-out readers, and polling readers (Firehose consumers included) on every shard
whose GetRecords budget admits all their calls, for all its ticks at once, while shards that
refuse some calls go call by call in plain Python (:mod:`kinesislab.scenario.segment_polls`) --
and everything else goes tick by tick. Producers that retry (and any on an on-demand stream), on up to
:data:`~kinesislab.scenario.segment_writes.MAX_SLOTS` shards, still go tick by tick, but in one
plain-Python pass over the segment (:mod:`kinesislab.scenario.segment_writes`) instead of
about 60 numpy calls per tick. A Firehose consumer's buffer runs on a clock of its own, moved to
each tick as its reads are fed in. The fast paths give the same numbers as the tick-by-tick path
(``closed_form_writes`` / ``closed_form_reads`` / ``firehose_in_segments`` switch them off; the
tests compare both).
"""

from __future__ import annotations

import math
import time as wallclock

import numpy as np
from botocore.exceptions import ClientError

from kinesislab.limits import limits_for_region
from kinesislab.scenario import model as m
from kinesislab.scenario.consumers import (FanOutReader, FirehoseReader, KclReader, Lineage, PollingReader, SegmentReads,
                                          book_latency, make_reader, millis_behind)
from kinesislab.scenario.keys import shard_shares
from kinesislab.scenario.producers import ProducerState
from kinesislab.scenario.results import Results, TickRecorder
from kinesislab.scenario.segment_polls import poll_refused_shards, polling_rounds, turn_order
from kinesislab.scenario.segment_writes import MAX_SLOTS as SEGMENT_WRITES_MAX_SLOTS
from kinesislab.scenario.segment_writes import write_segment
from kinesislab.scenario.shard_log import ShardLog
from kinesislab.simulator import Simulator

#: Runs expected to take longer than this (wall seconds) show a progress bar.
PROGRESS_AFTER_SECONDS = 1.0

#: Longest stretch of ticks whose reads are computed together (bounds the arrays: ticks x shards).
SEGMENT_TICKS = 600


def run(scenario: m.Scenario, seed: int = 0, *, backend: str = "counts", progress: bool | None = None) -> Results:
    """Simulate ``scenario`` and return its per-second results. Same seed, same numbers."""
    if backend not in ("counts", "records"):
        raise ValueError("backend must be 'counts' or 'records'")
    return Runner(scenario, seed, backend).run(progress)


class Runner:
    """One run of one scenario (use :func:`run`)."""

    #: Solve readers a segment at a time where that is exact (False: always tick by tick, which
    #: the tests use as the reference the closed form must match).
    closed_form_reads = True
    #: Solve the writes of whole seconds at once where no tick feeds the next (False: always tick
    #: by tick, the tests' reference).
    closed_form_writes = True
    #: Read Firehose consumers in segments, their buffers on clocks of their own (False: one-tick
    #: segments, the buffers on the simulator's clock -- the tests' reference).
    firehose_in_segments = True

    def __init__(self, scenario: m.Scenario, seed: int, backend: str):
        self.scenario = scenario
        self.backend = backend
        spec = scenario.stream
        limits = limits_for_region(spec.region).override(**dict(spec.limits))
        self.sim = Simulator(seed, region=spec.region, limits=limits)
        self.client = self.sim.client("kinesis")
        if spec.mode == "ON_DEMAND":
            self.client.create_stream(StreamName=spec.name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
        else:
            self.client.create_stream(StreamName=spec.name, ShardCount=max(1, int(spec.shards)))
        self.sim.advance(limits.stream_creating_seconds)
        if spec.retention_hours > limits.default_retention_hours:
            self.client.increase_stream_retention_period(StreamName=spec.name, RetentionPeriodHours=spec.retention_hours)
        self.stream = self.sim.stream(spec.name)
        if backend == "records":
            self.client.enable_enhanced_monitoring(StreamName=spec.name, ShardLevelMetrics=["ALL"])
        efo = [c for c in scenario.consumers if isinstance(c, m.EnhancedFanOutConsumer)]
        for number, consumer in enumerate(efo):
            if number and number % limits.efo_consumers_creating == 0:
                # Only 5 consumers may be CREATING at once: let the previous batch become ACTIVE.
                self.sim.advance(limits.efo_consumer_creating_seconds)
            self.client.register_stream_consumer(StreamARN=self.stream.arn, ConsumerName=consumer.name)
        if efo:
            self.sim.advance(limits.efo_consumer_creating_seconds)
        self.start_time = self.sim.clock.time
        self.resolution = float(scenario.resolution)
        if not 0 < self.resolution <= 1:
            # Shards' write budgets refill once per whole second and hold one second of capacity,
            # so a tick longer than a second would offer several seconds of records at once.
            raise ValueError(f"resolution must be more than 0 and at most 1 second, not {scenario.resolution}")
        self.ticks = max(1, math.ceil(scenario.duration / self.resolution))
        self.log = ShardLog(self.ticks, self.resolution, len(self.stream.shards_by_slot))
        self.producers = [ProducerState.start(p, self.resolution, len(self.stream.shards_by_slot))
                          for p in scenario.producers]
        self.readers = [make_reader(c, self.ticks, self.resolution, limits.efo_shard_bytes_per_second,
                                    None if self.firehose_in_segments else self.sim.clock, self.start_time)
                        for c in scenario.consumers]
        self.events = sorted(scenario.events, key=lambda e: e.at)
        self.event_outcomes: list[dict] = []
        self.lineage = Lineage()
        self._routing_key: tuple | None = None
        self._shares: dict = {}
        self._live: np.ndarray | None = None
        self._topology_version = -1
        self.recorder = TickRecorder(self.ticks)
        self._poll_rounds = 0
        #: Until when (epoch s) an UpdateStreamMode may still complete (see _writes_in_segment).
        self._mode_switch_until = -math.inf
        self._tick_times = np.zeros(self.ticks)  # the simulator's clock at each tick (epoch seconds)
        self._write_series = {name: self.recorder.scalars[name] for name in (
            "OfferedRecords", "AcceptedRecords", "ThrottledRecords", "RetriedRecords", "DroppedRecords",
            "BufferedRecords", "IncomingRecords", "IncomingBytes", "WriteProvisionedThroughputExceeded",
            "PutRecords.ThrottledRecords", "OpenShardCount", "WriteCapacityRecords", "WriteCapacityBytes")}
        self._write_slot_rows = {name: self.recorder.slots[name] for name in (
            "IncomingRecords", "IncomingBytes", "OfferedRecords", "WriteProvisionedThroughputExceeded")}
        self._layer_sizes = np.array([state.size_bytes for state in self.producers])
        self._write_tick = (self._write_layers if backend == "counts" and all(p.kpl is None for p in self.producers)
                            else self._write)
        for state in self.producers:
            state.rates_from(self.ticks)

    # ------------------------------------------------------------------ the loop
    def run(self, progress: bool | None) -> Results:
        """Writes go tick by tick (retries and on-demand scaling feed back from one tick to the
        next); reads are computed afterwards for a whole segment of ticks, which ends at the next
        scheduled event, at a change of the shard map, or after :data:`SEGMENT_TICKS`. Readers
        never influence writers, so the order changes nothing but the speed."""
        bar = None
        began = wallclock.perf_counter()
        tick = 0
        # A Firehose buffer on the simulator's clock (the reference) must be read as each tick happens.
        on_sim_clock = any(isinstance(r, FirehoseReader) and not r.own_clock for r in self.readers)
        longest = 1 if on_sim_clock else SEGMENT_TICKS
        while tick < self.ticks:
            if bar is None and progress is not False and tick >= 50:
                projected = (wallclock.perf_counter() - began) / tick * self.ticks
                if progress or projected > PROGRESS_AFTER_SECONDS:
                    from tqdm.auto import tqdm
                    bar = tqdm(total=self.ticks, initial=tick, unit="tick", desc="simulating")
            first = tick
            self._event_tick = tick
            self._apply_events(tick * self.resolution)
            self._refresh_routing()
            self._live = np.array([s.slot for s in self.stream.live_shards()], dtype=np.int64)
            # Shards added by on-demand scaling during the segment join the next one.
            self._segment_slots = len(self.stream.shards_by_slot)
            # A segment ends when the capacity mode changes: its reads are billed in this mode.
            self._segment_mode = self.stream.mode
            end = min(self.ticks, first + longest, self._next_event_tick())
            write_all = None
            if longest > 1:
                write_all = (self._write_whole_seconds if self._writes_in_whole_seconds()
                             else self._write_segment if self._writes_in_segment() else None)
                if write_all == self._write_segment and self.stream.scaler is not None:
                    end = self._before_capacity_grows(first, end)
                    if end == first:  # this tick's clock step may grow the stream: tick by tick
                        write_all, end = None, first + 1
            if write_all is not None:
                tick = write_all(first, end)
                self._record_capacity(first, tick)
                self._read_segment(first, tick)
                if bar is not None:
                    bar.update(tick - first)
                continue
            while tick < end:
                self._tick_times[tick] = self.sim.clock.time
                self._write_tick(tick, tick * self.resolution)
                if longest == 1:
                    self._read_segment(tick, tick + 1)
                self.sim.advance(self.resolution)
                tick += 1
                if self._segment_over():
                    break
            self._record_capacity(first, tick)
            if longest > 1:
                self._read_segment(first, tick)
            if bar is not None:
                bar.update(tick - first)
        if bar is not None:
            bar.close()
        return Results(self)

    def _next_event_tick(self) -> int:
        """First tick after the current one at which a scheduled event falls due."""
        if not self.events:
            return self.ticks
        at = self.events[0].at
        tick = max(0, math.ceil(at / self.resolution) - 1)
        while at > tick * self.resolution + 1e-9:  # the test _apply_events uses, exactly
            tick += 1
        return max(1, tick)

    # ------------------------------------------------------------------ events
    def _apply_events(self, t: float) -> None:
        while self.events and self.events[0].at <= t + 1e-9:
            event = self.events.pop(0)
            outcome = "ok"
            try:
                self._apply(event)
                if isinstance(event, m.SwitchMode):
                    self._mode_switch_until = self.sim.clock.time + self.sim.limits.stream_updating_seconds
            except ClientError as error:
                outcome = f"{error.response['Error']['Code']}: {error.response['Error']['Message']}"
            self.event_outcomes.append({"at": event.at, "event": type(event).__name__,
                                        "detail": _describe(event), "outcome": outcome})

    def _apply(self, event) -> None:
        name = self.stream.name
        if isinstance(event, m.SplitShard):
            shard = self.stream.shards.get(event.shard_id)
            key = event.new_starting_hash_key
            if key is None and shard is not None:
                key = shard.hash_key_range.midpoint
            self.client.split_shard(StreamName=name, ShardToSplit=event.shard_id, NewStartingHashKey=str(key or 0))
        elif isinstance(event, m.MergeShards):
            self.client.merge_shards(StreamName=name, ShardToMerge=event.shard_id,
                                     AdjacentShardToMerge=event.adjacent_shard_id)
        elif isinstance(event, m.UpdateShardCount):
            self.client.update_shard_count(StreamName=name, TargetShardCount=event.target, ScalingType="UNIFORM_SCALING")
        elif isinstance(event, m.SwitchMode):
            self.client.update_stream_mode(StreamARN=self.stream.arn, StreamModeDetails={"StreamMode": event.mode})
        elif isinstance(event, m.ChangeTraffic):
            for state in self.producers:
                if state.spec.name == event.producer:
                    state.traffic = event.traffic
                    state.rates_from(self.ticks, self._event_tick)
        elif isinstance(event, (m.KillWorker, m.AddWorker)):
            for reader in self.readers:
                if isinstance(reader, KclReader) and reader.name == event.consumer:
                    if isinstance(event, m.KillWorker):
                        reader.kill(event.worker, self.sim.clock.time - self.start_time)
                    else:
                        reader.add_worker()

    # ------------------------------------------------------------------ shards
    def _refresh_routing(self) -> None:
        stream = self.stream
        if stream.topology_version == self._topology_version:
            return
        self._topology_version = stream.topology_version
        opened = stream.open_shards()
        key = tuple(s.slot for s in opened)
        slots = len(stream.shards_by_slot)
        self.log.ensure_slots(slots)
        for reader in self.readers:
            reader.ensure_slots(slots, self.log)
        previous_open = set(self._routing_key or ())
        self._routing_key = key
        self.open_slots = np.array(key, dtype=np.int64)
        self.starts = [s.hash_key_range.starting for s in opened]
        self.ends = [s.hash_key_range.ending for s in opened]
        self._shares = {}
        slot_of = {shard.shard_id: shard.slot for shard in stream.shards_by_slot}
        for shard in stream.shards_by_slot:
            self.lineage.shard_ids[shard.slot] = shard.shard_id
            parents = [p for p in (shard.parent_shard_id, shard.adjacent_parent_shard_id) if p]
            self.lineage.parents[shard.slot] = [slot_of[p] for p in parents]
            if not shard.is_open:
                self.lineage.closed.add(shard.slot)
        newly_closed = previous_open - set(key)
        if newly_closed:
            self._remap_retries(newly_closed)

    def _remap_retries(self, closed_slots: set[int]) -> None:
        """Queued retries of a closed shard follow their keys to the open shards covering its range."""
        for state in self.producers:
            shares = self._shares_for(state.spec.keys)
            mapping = {}
            for slot in closed_slots:
                parent = self.stream.shards_by_slot[slot].hash_key_range
                children = [(int(child_slot), float(share)) for child_slot, start, end, share
                            in zip(self.open_slots, self.starts, self.ends, shares)
                            if start <= parent.ending and end >= parent.starting]
                mapping[slot] = children
            state.remap_slots(mapping)
            if state.kpl is not None:
                state.kpl.remap_slots(mapping)

    def _shares_for(self, keys) -> np.ndarray:
        if keys not in self._shares:
            self._shares[keys] = shard_shares(keys, self.starts, self.ends)
        return self._shares[keys]

    # ------------------------------------------------------------------ writes
    def _writes_in_whole_seconds(self) -> bool:
        """Whether this segment's writes can be solved for all its seconds at once: one-second
        ticks, plain producers that never retry (so no tick feeds the next), a provisioned
        stream (no on-demand scaling watching each second's demand) whose buckets hold one
        second (so every second starts full)."""
        return (self.closed_form_writes and self._write_tick == self._write_layers and self.resolution == 1.0
                and self.stream.scaler is None and self.stream.mode == "PROVISIONED"
                and self.stream.write_budget.holds_one_second
                and self.sim.clock.time >= self._mode_switch_until  # see _writes_in_segment
                and all(isinstance(p.spec.retry, m.NoRetry) for p in self.producers))

    def _writes_in_segment(self) -> bool:
        """Whether this segment's writes can go through :func:`~kinesislab.scenario.segment_writes.write_segment`
        (retries allowed): plain producers on the counts backend, and few enough shards that a
        loop over them is cheaper than the numpy path's calls.

        A provisioned stream keeps no demand tally. On an on-demand stream the segment's demand
        reaches the scaler afterwards (:meth:`~kinesislab.engine.stream.Stream.count_past_demand`),
        which is exact for one-second ticks on whole seconds, with no tally open, up to the next
        maturing peak (:meth:`_before_capacity_grows`). Not while a capacity-mode switch is
        pending: the stream's tally reaches the new scaler when the switch completes, in the
        middle of a second (the tick-by-tick path keeps it)."""
        stream = self.stream
        now = self.sim.clock.time
        keeps_demand = (stream.scaler is None and stream.mode == "PROVISIONED") or (
            stream.scaler is not None and stream.mode == "ON_DEMAND" and self.resolution == 1.0
            and now == math.floor(now) and stream.demand_settled())
        return (self.closed_form_writes and self._write_tick == self._write_layers and keeps_demand
                and now >= self._mode_switch_until
                and len(stream.shards_by_slot) <= SEGMENT_WRITES_MAX_SLOTS)

    def _before_capacity_grows(self, first: int, end: int) -> int:
        """The end of an on-demand segment of writes from tick ``first`` (at most ``end``): before
        the tick whose clock step lets a peak mature, because growing splits the shards busiest
        by the demand seen up to then, which a segment counts only afterwards. That covers peaks
        already waiting and any the segment itself sets (they mature ``on_demand_scale_up_seconds``
        after their second)."""
        # Tick first + k steps the clock from now + k to now + k + 1 (one-second ticks): a peak
        # in the segment's first second matures at now + 1 + delay, so k < delay.
        end = min(end, first + math.ceil(self.stream.env.limits.on_demand_scale_up_seconds))
        due = self.stream.scaler.next_growth_time()
        if due is None:
            return end
        return min(end, first + max(0, math.ceil(due - 1 - self.sim.clock.time)))

    def _advance_segment(self, first: int, end: int) -> int:
        """Move the clock over ticks ``first ..`` up to ``end``, noting each tick's time, and stop
        early after a change of the shard map or of the capacity mode (the writes of those ticks
        come afterwards: they move nothing the clock does). Returns the tick it stopped at."""
        tick = first
        while tick < end:
            self._tick_times[tick] = self.sim.clock.time
            self.sim.advance(self.resolution)
            tick += 1
            if self._segment_over():
                break
        return tick

    def _segment_over(self) -> bool:
        """Whether the shard map changed, or the capacity mode (a completed UpdateStreamMode),
        since the segment began: either ends it."""
        return self.stream.topology_version != self._topology_version or self.stream.mode != self._segment_mode

    def _draw_new_records(self, first: int, end: int) -> np.ndarray:
        """New records ``[tick, producer, slot]`` for ticks ``first .. end - 1``, drawn in the order
        the tick-by-tick path draws them (tick by tick, producers in order)."""
        length = end - first
        producers = self.producers
        rng = self.sim.rng
        counts = np.zeros((length, len(producers), self._segment_slots))
        new = np.array([[state.new_records(t * self.resolution, t) for state in producers]
                        for t in range(first, end)], dtype=np.int64).reshape(length, len(producers))
        if len(producers) == 1:
            # One call draws exactly what one call per tick would (numpy loops over n in order;
            # n = 0 draws nothing, as the tick-by-tick path skips it).
            counts[:, 0, self.open_slots] = rng.multinomial(new[:, 0], self._shares_for(producers[0].spec.keys))
        else:
            for row in range(length):
                for index, state in enumerate(producers):
                    if new[row, index]:
                        counts[row, index, self.open_slots] = rng.multinomial(
                            new[row, index], self._shares_for(state.spec.keys))
        return counts

    def _write_segment(self, first: int, end: int) -> int:
        """Writes of ticks ``first ..`` up to ``end`` or a change of the shard map, retries
        included, in one pass of :func:`~kinesislab.scenario.segment_writes.write_segment`; the
        same numbers as :meth:`_write_layers` tick by tick. Returns the tick it stopped at."""
        tick = self._advance_segment(first, end)
        slots = self._segment_slots
        for state in self.producers:
            state.ensure_slots(slots)
        new = self._draw_new_records(first, tick)
        times = self._tick_times[first:tick]
        done = write_segment(self.producers, self.stream.write_budget, slots, first, times, new,
                             self._layer_sizes.tolist())
        if self.stream.scaler is not None:
            self.stream.count_past_demand([math.floor(t) for t in times.tolist()], done.attempts.sum(axis=1).tolist(),
                                          done.offered_bytes.tolist())
        self._book_segment_writes(first, times, done.accepted_layers, new.sum(axis=(1, 2)), done.retried,
                                  done.dropped, done.buffered, done.attempts)
        return tick

    def _book_segment_writes(self, first: int, times: np.ndarray, accepted_layers: np.ndarray, offered: np.ndarray,
                             retried: np.ndarray, dropped: np.ndarray, buffered: np.ndarray,
                             attempts: np.ndarray) -> None:
        """Usage, the shard log and the metrics of a segment's writes: ``accepted_layers``
        ``[tick, producer, slot]``, ``attempts`` ``[tick, slot]``, the rest ``[tick]``."""
        accepted = accepted_layers.sum(axis=1)
        accepted_bytes = np.einsum("lgs,g->ls", accepted_layers, self._layer_sizes)
        for index, state in enumerate(self.producers):
            self.stream.usage.accepted_each_second(int(state.size_bytes), accepted_layers[:, index].sum(axis=1), times,
                                                   self._segment_mode)
        self.log.append_rows(accepted, accepted_bytes)
        self._record_writes(first, offered, retried, dropped, buffered, attempts, accepted, accepted_bytes)

    def _record_writes(self, first: int, offered: np.ndarray, retried: np.ndarray, dropped: np.ndarray,
                       buffered: np.ndarray, attempts: np.ndarray, accepted: np.ndarray,
                       accepted_bytes: np.ndarray) -> None:
        """:meth:`_record_write` for a run of ticks: arrays ``[tick]`` and ``[tick, slot]`` (one user
        record per Kinesis record)."""
        length = len(offered)
        span = slice(first, first + length)
        series = self._write_series
        incoming = accepted.sum(axis=1)
        throttled = attempts.sum(axis=1) - incoming
        series["OfferedRecords"][span] += offered
        series["AcceptedRecords"][span] += incoming
        series["ThrottledRecords"][span] += throttled
        series["RetriedRecords"][span] += retried
        series["DroppedRecords"][span] += dropped
        series["BufferedRecords"][span] = buffered
        series["IncomingRecords"][span] += incoming
        series["IncomingBytes"][span] += accepted_bytes.sum(axis=1)
        series["WriteProvisionedThroughputExceeded"][span] += throttled
        series["PutRecords.ThrottledRecords"][span] += throttled
        rows = self.recorder.set_slot_rows
        rows(first, "IncomingRecords", accepted.T)
        rows(first, "IncomingBytes", accepted_bytes.T)
        rows(first, "OfferedRecords", attempts.T)
        rows(first, "WriteProvisionedThroughputExceeded", (attempts - accepted).T)

    def _write_whole_seconds(self, first: int, end: int) -> int:
        """Writes of ticks ``first ..`` up to ``end`` or a change of the shard map, solved together
        (:meth:`~kinesislab.engine.throughput.WriteBudget.take_whole_seconds`); the same numbers,
        random draws included, as :meth:`_write_layers` tick by tick. Returns the tick it stopped at."""
        tick = self._advance_segment(first, end)
        length = tick - first
        counts = self._draw_new_records(first, tick)
        times = self._tick_times[first:tick]
        accepted_layers = self.stream.write_budget.take_whole_seconds(
            counts, self._layer_sizes, math.floor(times[-1]))
        if accepted_layers is None:  # _writes_in_whole_seconds checked the buckets hold one second
            raise RuntimeError("take_whole_seconds refused a stream _writes_in_whole_seconds accepted")
        attempts = counts.sum(axis=1)
        dropped = attempts.sum(axis=1) - accepted_layers.sum(axis=(1, 2))
        # Nobody retries: every refused record is dropped, and nothing is ever buffered.
        self._book_segment_writes(first, times, accepted_layers, counts.sum(axis=(1, 2)), np.zeros(length), dropped,
                                  np.zeros(length), attempts)
        return tick

    def _write_layers(self, tick: int, t: float) -> None:
        """:meth:`_write` for plain producers (no KPL) on the counts backend: each producer is one
        dense layer ``[attempt, slot]`` offered to every shard at once; same rules, fewer steps."""
        rng = self.sim.rng
        slots = len(self.stream.shards_by_slot)
        producers = self.producers
        dues, offered = [], 0
        for state in producers:
            new = state.new_records(t, tick)
            offered += new
            new_per_slot = np.zeros(slots)
            if new:
                new_per_slot[self.open_slots] = rng.multinomial(new, self._shares_for(state.spec.keys))
            state.ensure_slots(slots)
            dues.append(state.attempts_due(tick, new_per_slot))
        counts = np.array([np.add.reduce(due, axis=0) for due in dues])
        sizes = self._layer_sizes
        accepted_layers = self.stream.offer_layers(counts, sizes)
        attempts = np.add.reduce(counts, axis=0)
        accepted = np.add.reduce(accepted_layers, axis=0)
        accepted_bytes = sizes @ accepted_layers
        retried = dropped = 0
        for state, due, took in zip(producers, dues, accepted_layers):
            total = float(np.add.reduce(took))
            if total:
                self.stream.usage.accepted(int(state.size_bytes), int(total))
            r, d = state.settle(tick, due, took)
            retried += r
            dropped += d
        self.log.append(accepted, accepted_bytes)
        self._record_write(tick, offered, None, retried, dropped, attempts, accepted, accepted_bytes)

    def _record_capacity(self, first: int, end: int) -> None:
        """Open shards and their write capacity over ticks ``first .. end - 1`` (one shard map:
        a segment ends when it changes)."""
        open_count = len(self.open_slots)
        limits = self.sim.limits
        span = slice(first, end)
        series = self._write_series
        series["OpenShardCount"][span] = open_count
        series["WriteCapacityRecords"][span] = open_count * limits.shard_write_records_per_second
        series["WriteCapacityBytes"][span] = open_count * limits.shard_write_bytes_per_second

    def _record_write(self, tick: int, offered: float, user_accepted: float | None, retried: int, dropped: int,
                      attempts: np.ndarray, accepted: np.ndarray, accepted_bytes: np.ndarray) -> None:
        """Book one tick's writes; ``user_accepted`` None means one user record per Kinesis record."""
        scalars = self._write_series
        incoming = float(np.add.reduce(accepted))
        throttled_total = float(np.add.reduce(attempts)) - incoming
        scalars["OfferedRecords"][tick] += offered
        scalars["AcceptedRecords"][tick] += incoming if user_accepted is None else user_accepted
        scalars["ThrottledRecords"][tick] += throttled_total
        scalars["RetriedRecords"][tick] += retried
        scalars["DroppedRecords"][tick] += dropped
        scalars["BufferedRecords"][tick] = sum(s.buffered + (s.kpl.buffered() if s.kpl else 0) for s in self.producers)
        scalars["IncomingRecords"][tick] += incoming
        scalars["IncomingBytes"][tick] += float(np.add.reduce(accepted_bytes))
        scalars["WriteProvisionedThroughputExceeded"][tick] += throttled_total
        scalars["PutRecords.ThrottledRecords"][tick] += throttled_total
        slot_rows = self._write_slot_rows
        slot_rows["IncomingRecords"][tick] = accepted
        slot_rows["IncomingBytes"][tick] = accepted_bytes
        slot_rows["OfferedRecords"][tick] = attempts
        slot_rows["WriteProvisionedThroughputExceeded"][tick] = attempts - accepted

    def _write(self, tick: int, t: float) -> None:
        rng = self.sim.rng
        limits = self.sim.limits
        slots_total = len(self.stream.shards_by_slot)
        # One group per (producer, slot): (state, slots, counts, size, due matrix or KPL users per record)
        groups = []
        offered = 0
        for state in self.producers:
            shares = self._shares_for(state.spec.keys)
            new = state.new_records(t, tick)
            offered += new
            per_open = rng.multinomial(new, shares) if new else np.zeros(len(shares), dtype=np.int64)
            if state.kpl is not None:
                state.kpl.add(tick, self.open_slots, per_open)
                self.recorder.add_scalar(tick, "ExpiredRecords", state.kpl.expire(tick, self.resolution))
                slots, records, sizes, per_record = state.kpl.plan(
                    self.resolution, limits.shard_write_records_per_second, limits.shard_write_bytes_per_second)
                groups.append((state, slots, records, sizes, per_record))
                continue
            state.ensure_slots(slots_total)
            new_per_slot = np.zeros(slots_total)
            new_per_slot[self.open_slots] = per_open
            due = state.attempts_due(tick, new_per_slot)
            totals = due.sum(axis=0)
            slots = np.flatnonzero(totals)
            groups.append((state, slots, totals[slots].astype(np.int64), np.full(len(slots), state.size_bytes), due))
        if groups:
            all_slots = np.concatenate([g[1] for g in groups]).astype(np.int64)
            all_counts = np.concatenate([g[2] for g in groups]).astype(np.int64)
            all_sizes = np.concatenate([g[3] for g in groups]).astype(float)
        else:
            all_slots = all_counts = np.zeros(0, dtype=np.int64)
            all_sizes = np.zeros(0)
        if self.backend == "records":
            accepted_all = self._put_as_records(groups)
        else:
            accepted_all = self.stream.offer_counts(all_slots, all_counts, all_sizes)
        attempts = np.bincount(all_slots, weights=all_counts, minlength=slots_total)
        accepted = np.bincount(all_slots, weights=accepted_all, minlength=slots_total)
        accepted_bytes = np.bincount(all_slots, weights=accepted_all * all_sizes, minlength=slots_total)
        user_accepted = 0.0
        retried = dropped = 0
        offset = 0
        for state, slots, counts, sizes, extra in groups:
            took = accepted_all[offset:offset + len(slots)]
            offset += len(slots)
            if state.kpl is not None:
                for size, count in zip(sizes, took):
                    if count:
                        self.stream.usage.accepted(int(round(size)), int(count))
                # Whole user records: what was taken from the buffer, less what goes back to it.
                for slot, sent, refused, users in zip(slots, counts, counts - took, extra):
                    back = int(round(refused * users)) if refused else 0
                    if back:
                        state.kpl.give_back(tick, int(slot), back)
                        retried += back
                    user_accepted += int(round(sent * users)) - back
                continue
            if took.sum():
                self.stream.usage.accepted(int(round(state.size_bytes)), int(took.sum()))
            user_accepted += float(took.sum())
            accepted_per_slot = np.zeros(slots_total)
            accepted_per_slot[slots] = took
            r, d = state.settle(tick, extra, accepted_per_slot)
            retried += r
            dropped += d
        self.log.append(accepted, accepted_bytes)
        self._record_write(tick, offered, user_accepted, retried, dropped, attempts, accepted, accepted_bytes)

    def _put_as_records(self, groups: list) -> np.ndarray:
        """The same offered counts as real records through the client's PutRecords, in the same order.

        Each record carries an ExplicitHashKey inside its shard's range and a partition key of the
        producer's key size, so it lands where the count path put it and counts the same bytes.
        """
        position_of_slot = {int(s): i for i, s in enumerate(self.open_slots)}
        entries, owners = [], []
        entry = 0
        for state, slots, counts, sizes, _ in groups:
            key_bytes = max(1, state.spec.partition_key_bytes)
            partition_key = "k" * key_bytes
            for slot, count, size in zip(slots, counts, sizes):
                data = b"x" * max(0, int(round(size)) - key_bytes)
                hash_key = str(self.starts[position_of_slot[int(slot)]])
                for _ in range(int(count)):
                    entries.append({"Data": data, "PartitionKey": partition_key, "ExplicitHashKey": hash_key})
                    owners.append(entry)
                entry += 1
        accepted = np.zeros(entry, dtype=np.int64)
        # Calls of at most 500 entries and 10 MiB (data plus partition keys), like a real client.
        limits = self.sim.limits
        begin = 0
        while begin < len(entries):
            end, request_bytes = begin, 0
            while end < len(entries) and end - begin < limits.put_records_max_entries:
                size = len(entries[end]["Data"]) + len(entries[end]["PartitionKey"])
                if end > begin and request_bytes + size > limits.put_records_max_request_bytes:
                    break
                request_bytes += size
                end += 1
            response = self.client.put_records(StreamName=self.stream.name, Records=entries[begin:end])
            for owner, result in zip(owners[begin:end], response["Records"]):
                if "SequenceNumber" in result:
                    accepted[owner] += 1
            begin = end
        return accepted

    # ------------------------------------------------------------------ reads
    def _read_segment(self, first: int, end: int) -> None:
        """Every consumer's reads for ticks ``first .. end - 1`` (their writes are in the log)."""
        if end <= first or not self.readers:
            return
        log = self.log
        stream = self.stream
        live = self._live
        retention_ticks = int(stream.retention_hours * 3600 / self.resolution)
        slots = self._segment_slots
        means = log.mean_record_bytes_rows(first + 1, end + 1)[:slots]
        log.now_row = first + 1
        for reader in self.readers:
            reader.discover(live, log)
        reads: dict[int, SegmentReads] = {}
        for index, reader in enumerate(self.readers):
            if isinstance(reader, FanOutReader):
                if not self.closed_form_reads:
                    reads[index] = self._push_tick_by_tick(reader, first, end, retention_ticks)
                    continue
                plan = reader.plan(live, self.lineage, log, first, end, reader.records_per_tick(means),
                                   retention_ticks)
                if plan is None:
                    plan = self._push_tick_by_tick(reader, first, end, retention_ticks)
                else:
                    reader.commit(plan)
                reads[index] = plan
        polling = [i for i, r in enumerate(self.readers) if isinstance(r, PollingReader)]
        if polling:
            planned = self._poll_planned(polling, first, end, means, retention_ticks)
            reads.update(planned if planned is not None else self._poll_tick_by_tick(polling, first, end, retention_ticks))
        log.now_row = end
        for reader in self.readers:
            if isinstance(reader, FirehoseReader):
                # Interval deliveries due up to the next tick (sim.advance runs them in the reference).
                reader.catch_up(self._tick_times[end - 1] + self.resolution)
        self._book_reads(reads, first, end, means)

    def _poll_planned(self, polling: list[int], first: int, end: int, means: np.ndarray,
                      retention_ticks: int) -> dict[int, SegmentReads] | None:
        """Polling applications' reads for the segment in closed form on every shard where the
        shared GetRecords budget admits every call, and one call at a time on the others
        (:mod:`~kinesislab.scenario.segment_polls`); None (and nothing changed) where neither is
        exact, for the tick-by-tick path."""
        readers = [self.readers[i] for i in polling]
        if not self.closed_form_reads or any(
                type(r) is not PollingReader and not (isinstance(r, FirehoseReader) and r.own_clock) for r in readers):
            return None  # KCL leases, and Firehose buffers on the simulator's clock, move tick by tick
        limits = self.sim.limits
        plans, per_ticks, calls, read_bytes = {}, [], 0.0, 0.0
        steps = np.arange(end - first)
        for index, reader in zip(polling, readers):
            per_tick = reader.calls_in_ticks(first, end)
            cap = per_tick[None, :] * reader.records_per_call(means, limits.get_records_max_bytes,
                                                                limits.get_records_max_records)
            plan = reader.plan(self._live, self.lineage, self.log, first, end, cap, retention_ticks)
            if plan is None:
                return None
            live = np.zeros(len(plan.unlock), dtype=bool)
            live[self._live] = True
            readable = (steps[None, :] >= plan.unlock[:, None]) & (plan.unlock[:, None] <= end - first) & live[:, None]
            plan_calls = np.where(readable, per_tick[None, :], 0.0)
            calls = calls + plan_calls
            read_bytes = read_bytes + plan.counts * means[:len(plan.counts)]
            plans[index] = (reader, plan, plan_calls)
            per_ticks.append(per_tick)
        budget = self.stream.read_budget
        times = self._tick_times[first:end]
        fit = budget.fit_schedule(times, np.atleast_2d(calls), np.atleast_2d(read_bytes))
        refused = np.flatnonzero(~fit.fits)
        if len(refused):
            # Shards with refused calls are solved call by call, which needs each shard readable
            # all segment long by plain polling applications, and nothing expiring.
            if (end - 1 >= retention_ticks
                    or any(type(r) is not PollingReader or (plan.unlock[self._live] > 0).any()
                           for r, plan, _ in plans.values())):
                return None
            self._poll_rounds = poll_refused_shards(
                readers, [plan for _, plan, _ in plans.values()], per_ticks, refused, self.log, budget, times,
                means, self._poll_rounds, limits.get_records_max_bytes, limits.get_records_max_records)
        else:
            self._poll_rounds += int(polling_rounds(per_ticks).sum())
        budget.adopt_schedule(fit, fit.fits)
        for index, (reader, plan, plan_calls) in plans.items():
            reader.commit(plan)
            reader.calls_made += int(plan_calls[fit.fits[:len(plan_calls)]].sum())
            if isinstance(reader, FirehoseReader):
                self._feed_planned(reader, plan, first, means)
        return {index: plan for index, (_, plan, _) in plans.items()}

    def _feed_planned(self, reader: FirehoseReader, plan: SegmentReads, first: int, means: np.ndarray) -> None:
        """Feed a Firehose reader's buffer tick by tick from its planned reads, with the numbers
        :meth:`_poll_tick_by_tick` feeds it: each tick's records and bytes summed over the shards
        readable at that tick."""
        live = self._live
        unlock = plan.unlock[live]
        counts = plan.counts
        length = counts.shape[1]
        times = self._tick_times[first:first + length].tolist()
        if (unlock <= 0).all():
            # Every live shard readable all segment: sum the ticks at once. The tick-by-tick path
            # sums each tick's shards in another order, which gives the same result only when
            # every term is a whole number (records always are; bytes when each tick's mean record
            # size is): then every sum is exact, in any order.
            count = counts[live]
            size = count * means[live]
            if (size == np.floor(size)).all() and size.sum() < 2.0 ** 52:
                for records, size_bytes, now in zip(count.sum(axis=0).tolist(), size.sum(axis=0).tolist(), times):
                    reader.feed(records, size_bytes, now)
                return
        for row in range(length):
            readable = live[unlock <= row]
            count = counts[readable, row]
            reader.feed(count.sum(), float((count * means[readable, row]).sum()), times[row])

    def _poll_tick_by_tick(self, polling: list[int], first: int, end: int,
                           retention_ticks: int) -> dict[int, SegmentReads]:
        """Polling readers one tick at a time, taking turns at the shared GetRecords budget."""
        limits = self.sim.limits
        log = self.log
        live = self._live
        budget = self.stream.read_budget
        slots = self._segment_slots
        reads = {i: SegmentReads.empty(first, slots, end - first) for i in polling}
        for tick in range(first, end):
            row = tick - first
            log.now_row = tick + 1
            if tick > first:
                self._tick_reads_begin(tick)
            budget.refill(self._tick_times[tick])
            t = tick * self.resolution
            order = [polling[i] for i in turn_order(len(polling), self._poll_rounds)]
            if any(self.readers[i].calls_this_tick(tick) for i in order):
                self._poll_rounds += 1
            for index in order:
                reader = self.readers[index]
                if tick >= retention_ticks:
                    reader.expire(live, log.row_of_time(tick - retention_ticks)[live])
                readable = reader.readable(live, self.lineage, log)
                if isinstance(reader, KclReader):
                    reader.fail_over(t)
                    readable = reader.serving(readable)
                reads[index].starts[live, row] = reader.positions[live]
                count, _ = reader.poll(readable, log, budget, tick, limits.get_records_max_bytes,
                                       limits.get_records_max_records, reads[index], row)
                reads[index].after[live, row] = reader.positions[live]
                if isinstance(reader, FirehoseReader):
                    reader.feed(count.sum(), float((count * log.mean_record_bytes(readable)).sum()),
                                self._tick_times[tick])
                if isinstance(reader, KclReader):
                    reader.maybe_checkpoint(readable, (tick + 1) * self.resolution, self.lineage, log)
                    # Takeovers happen in fail_over above and in AddWorker events: book them all.
                    self.recorder.add_consumer(tick, reader.name, "Duplicates",
                                               reader.duplicates - reader.duplicates_booked)
                    reader.duplicates_booked = reader.duplicates
            self._tick_reads_end(tick)
        return reads

    def _tick_reads_begin(self, tick: int) -> None:
        """Hook: polling readers are about to read ``tick`` (after its first, the segment's events
        for the first tick of a segment come before it: see :meth:`_apply_events`)."""

    def _tick_reads_end(self, tick: int) -> None:
        """Hook: polling readers (KCL groups included) have read ``tick``."""

    def _push_tick_by_tick(self, reader: FanOutReader, first: int, end: int, retention_ticks: int) -> SegmentReads:
        """An enhanced fan-out reader one tick at a time (when retention moves it mid-segment)."""
        log = self.log
        live = self._live
        reads = SegmentReads.empty(first, self._segment_slots, end - first)
        for tick in range(first, end):
            row = tick - first
            log.now_row = tick + 1
            if tick >= retention_ticks:
                reader.expire(live, log.row_of_time(tick - retention_ticks)[live])
            readable = reader.readable(live, self.lineage, log)
            reads.starts[live, row] = reader.positions[live]
            reader.push(readable, log, reads, row)
            reads.after[live, row] = reader.positions[live]
        return reads

    def _book_reads(self, reads: dict[int, SegmentReads], first: int, end: int, means: np.ndarray) -> None:
        """Per-second metrics, latency and lag from every reader's segment."""
        rec = self.recorder
        stream = self.stream
        live = self._live
        slots = self._segment_slots
        length = end - first
        outgoing = np.zeros((slots, length))
        outgoing_bytes = np.zeros((slots, length))
        read_throttles = np.zeros((slots, length))
        iterator_age = np.zeros((slots, length))
        span = slice(first, end)
        for index, reader in enumerate(self.readers):
            segment = reads[index]
            counts = segment.counts[:slots]
            size = counts * means
            records_per_tick = counts.sum(axis=0)
            bytes_per_tick = size.sum(axis=0)
            outgoing += counts
            outgoing_bytes += size
            book_latency(reader.latency_hist, self.log, segment)
            reader.delivered += int(records_per_tick.sum())
            reader.delivered_bytes += float(bytes_per_tick.sum())
            if isinstance(reader, PollingReader):
                throttled = segment.throttled[:slots]
                read_throttles += throttled
                throttled_per_tick = throttled.sum(axis=0)
                rec.scalars["GetRecords.Records"][span] += records_per_tick
                rec.scalars["GetRecords.Bytes"][span] += bytes_per_tick
                rec.scalars["ReadProvisionedThroughputExceeded"][span] += throttled_per_tick
                rec.consumers[("ReadProvisionedThroughputExceeded", reader.name)][span] += throttled_per_tick
                metric = "GetRecords.IteratorAgeMilliseconds"
            else:
                rec.scalars["SubscribeToShardEvent.Records"][span] += records_per_tick
                rec.scalars["SubscribeToShardEvent.Bytes"][span] += bytes_per_tick
                metric = "SubscribeToShardEvent.MillisBehindLatest"
            # Billing counts whole bytes per tick, as a tick-by-tick meter would.
            stream.usage.read(int(np.trunc(bytes_per_tick).sum()), enhanced_fan_out=isinstance(reader, FanOutReader),
                              mode=self._segment_mode)
            rec.consumers[("Records", reader.name)][span] += records_per_tick
            rec.consumers[("Bytes", reader.name)][span] += bytes_per_tick
            behind = millis_behind(self.log, segment, live, self.resolution)
            worst = behind.max(axis=0) if len(live) else np.zeros(length)
            rec.consumers[("MillisBehindLatest", reader.name)][span] = worst
            np.maximum(rec.scalars[metric][span], worst, out=rec.scalars[metric][span])
            if len(live):
                iterator_age[live] = np.maximum(iterator_age[live], behind)
        rec.set_slot_rows(first, "OutgoingRecords", outgoing)
        rec.set_slot_rows(first, "OutgoingBytes", outgoing_bytes)
        rec.set_slot_rows(first, "ReadProvisionedThroughputExceeded", read_throttles)
        rec.set_slot_rows(first, "IteratorAgeMilliseconds", iterator_age)


def _describe(event) -> str:
    fields = {k: v for k, v in vars(event).items() if k != "at"}
    return ", ".join(f"{k}={v}" for k, v in fields.items())


__all__ = ["run", "Runner", "FanOutReader"]
