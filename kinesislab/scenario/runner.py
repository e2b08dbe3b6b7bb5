"""Run a :class:`~kinesislab.scenario.model.Scenario` tick by tick on the shard engine.

The runner drives a real :class:`~kinesislab.Simulator`: the stream, its shards, write and read
budgets, resharding and on-demand scaling are the engine's own objects, and scheduled events go
through the boto3-shaped client. What the runner adds is count granularity: each tick it moves
counts of records per shard through the limits (numpy arrays over shard slots), instead of one
Python object per record. ``backend="records"`` sends the very same counts as real records
through ``put_records`` instead, which is how the tests prove both paths agree.
"""

from __future__ import annotations

import math
import time as wallclock

import numpy as np
from botocore.exceptions import ClientError

from kinesislab.limits import limits_for_region
from kinesislab.scenario import model as m
from kinesislab.scenario.consumers import FanOutReader, FirehoseReader, KclReader, Lineage, PollingReader, make_reader
from kinesislab.scenario.keys import shard_shares
from kinesislab.scenario.producers import ProducerState
from kinesislab.scenario.results import Results, TickRecorder
from kinesislab.scenario.shard_log import ShardLog
from kinesislab.simulator import Simulator

#: Runs expected to take longer than this (wall seconds) show a progress bar.
PROGRESS_AFTER_SECONDS = 1.0


def run(scenario: m.Scenario, seed: int = 0, *, backend: str = "counts", progress: bool | None = None) -> Results:
    """Simulate ``scenario`` and return its per-second results. Same seed, same numbers."""
    if backend not in ("counts", "records"):
        raise ValueError("backend must be 'counts' or 'records'")
    return Runner(scenario, seed, backend).run(progress)


class Runner:
    """One run of one scenario (use :func:`run`)."""

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
                                    self.sim.clock, self.start_time) for c in scenario.consumers]
        self.events = sorted(scenario.events, key=lambda e: e.at)
        self.event_outcomes: list[dict] = []
        self.lineage = Lineage()
        self._routing_key: tuple | None = None
        self._shares: dict = {}
        self._live: np.ndarray | None = None
        self._topology_version = -1
        self.recorder = TickRecorder(self.ticks)
        self._poll_rounds = 0

    # ------------------------------------------------------------------ the loop
    def run(self, progress: bool | None) -> Results:
        bar = None
        began = wallclock.perf_counter()
        for tick in range(self.ticks):
            if bar is None and progress is not False and tick == 50:
                projected = (wallclock.perf_counter() - began) / 50 * self.ticks
                if progress or projected > PROGRESS_AFTER_SECONDS:
                    from tqdm.auto import tqdm
                    bar = tqdm(total=self.ticks, initial=tick, unit="tick", desc="simulating")
            t = tick * self.resolution
            self._apply_events(t)
            self._refresh_routing()
            self._write(tick, t)
            self._read(tick, t)
            self.sim.advance(self.resolution)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return Results(self)

    # ------------------------------------------------------------------ events
    def _apply_events(self, t: float) -> None:
        while self.events and self.events[0].at <= t + 1e-9:
            event = self.events.pop(0)
            outcome = "ok"
            try:
                self._apply(event)
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
        self._live = None
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
    def _write(self, tick: int, t: float) -> None:
        rng = self.sim.rng
        limits = self.sim.limits
        slots_total = len(self.stream.shards_by_slot)
        # One group per (producer, slot): (state, slots, counts, size, due matrix or KPL users per record)
        groups = []
        offered = 0
        for state in self.producers:
            shares = self._shares_for(state.spec.keys)
            new = state.new_records(t)
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
        self.recorder.add_scalar(tick, "OfferedRecords", offered)
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
        buffered = sum(s.buffered + (s.kpl.buffered() if s.kpl else 0) for s in self.producers)
        throttled_total = float(attempts.sum() - accepted.sum())
        rec = self.recorder
        rec.add_scalar(tick, "AcceptedRecords", user_accepted)
        rec.add_scalar(tick, "ThrottledRecords", throttled_total)
        rec.add_scalar(tick, "RetriedRecords", retried)
        rec.add_scalar(tick, "DroppedRecords", dropped)
        rec.set_scalar(tick, "BufferedRecords", buffered)
        rec.add_scalar(tick, "IncomingRecords", float(accepted.sum()))
        rec.add_scalar(tick, "IncomingBytes", float(accepted_bytes.sum()))
        rec.add_scalar(tick, "WriteProvisionedThroughputExceeded", throttled_total)
        rec.add_scalar(tick, "PutRecords.ThrottledRecords", throttled_total)
        open_count = len(self.open_slots)
        rec.set_scalar(tick, "OpenShardCount", open_count)
        rec.set_scalar(tick, "WriteCapacityRecords", open_count * limits.shard_write_records_per_second)
        rec.set_scalar(tick, "WriteCapacityBytes", open_count * limits.shard_write_bytes_per_second)
        rec.set_slots(tick, "IncomingRecords", accepted)
        rec.set_slots(tick, "IncomingBytes", accepted_bytes)
        rec.set_slots(tick, "OfferedRecords", attempts)
        rec.set_slots(tick, "WriteProvisionedThroughputExceeded", attempts - accepted)

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
    def _read(self, tick: int, t: float) -> None:
        limits = self.sim.limits
        stream = self.stream
        log = self.log
        slots_total = len(stream.shards_by_slot)
        if self._live is None or tick % 60 == 0:
            # Closed shards expire only with retention: re-checking once a virtual minute is enough.
            self._live = np.array([s.slot for s in stream.live_shards()], dtype=np.int64)
        live = self._live
        retention_ticks = int(stream.retention_hours * 3600 / self.resolution)
        outgoing = np.zeros(slots_total)
        outgoing_bytes = np.zeros(slots_total)
        read_throttles = np.zeros(slots_total)
        iterator_age = np.zeros(slots_total)
        budget = stream.read_budget
        budget.refill(self.sim.clock.time)
        now_end = (tick + 1) * self.resolution
        rec = self.recorder
        # Only polling readers share the GetRecords budget: rotate them alone (enhanced fan-out
        # readers, with pipes of their own, must not change whose turn it is).
        order = [i for i, r in enumerate(self.readers) if isinstance(r, PollingReader)]
        if order:
            # Who calls first rotates from one round of polls to the next, so no application is
            # always first (or always last) at the shared budget, whatever the poll interval.
            shift = self._poll_rounds % len(order)
            order = order[shift:] + order[:shift]
            if any(self.readers[i].calls_this_tick(tick) for i in order):
                self._poll_rounds += 1
        order += [i for i, r in enumerate(self.readers) if not isinstance(r, PollingReader)]
        for index in order:
            reader = self.readers[index]
            reader.discover(live, log)
            if tick >= retention_ticks:
                reader.expire(live, log.row_of_time(tick - retention_ticks)[live])
            readable = reader.readable(live, self.lineage, log)
            if isinstance(reader, KclReader):
                reader.fail_over(t)
                readable = reader.serving(readable)
            if isinstance(reader, PollingReader):
                count, size, throttled = reader.poll(readable, log, budget, tick, limits.get_records_max_bytes,
                                                     limits.get_records_max_records)
                np.add.at(read_throttles, readable, throttled)
                np.add.at(outgoing, readable, count)
                np.add.at(outgoing_bytes, readable, size)
                rec.add_scalar(tick, "GetRecords.Records", float(count.sum()))
                rec.add_scalar(tick, "GetRecords.Bytes", float(size.sum()))
                rec.add_scalar(tick, "ReadProvisionedThroughputExceeded", float(throttled.sum()))
                rec.add_consumer(tick, reader.name, "ReadProvisionedThroughputExceeded", float(throttled.sum()))
                if isinstance(reader, FirehoseReader):
                    reader.feed(count.sum(), size.sum())
                if isinstance(reader, KclReader):
                    reader.maybe_checkpoint(readable, now_end, self.lineage, log)
                    # Takeovers happen in fail_over above and in AddWorker events: book them all.
                    rec.add_consumer(tick, reader.name, "Duplicates", reader.duplicates - reader.duplicates_booked)
                    reader.duplicates_booked = reader.duplicates
                stream.usage.read(int(size.sum()), enhanced_fan_out=False)
            else:
                count, size = reader.push(readable, log, tick)
                np.add.at(outgoing, readable, count)
                np.add.at(outgoing_bytes, readable, size)
                rec.add_scalar(tick, "SubscribeToShardEvent.Records", float(count.sum()))
                rec.add_scalar(tick, "SubscribeToShardEvent.Bytes", float(size.sum()))
                stream.usage.read(int(size.sum()), enhanced_fan_out=True)
            rec.add_consumer(tick, reader.name, "Records", float(count.sum()))
            rec.add_consumer(tick, reader.name, "Bytes", float(size.sum()))
            behind = self._millis_behind(reader, live, now_end)
            rec.set_consumer(tick, reader.name, "MillisBehindLatest", float(behind.max()) if len(behind) else 0.0)
            np.maximum.at(iterator_age, live, behind)
            metric = "GetRecords.IteratorAgeMilliseconds" if isinstance(reader, PollingReader) \
                else "SubscribeToShardEvent.MillisBehindLatest"
            rec.max_scalar(tick, metric, float(behind.max()) if len(behind) else 0.0)
        rec.set_slots(tick, "OutgoingRecords", outgoing)
        rec.set_slots(tick, "OutgoingBytes", outgoing_bytes)
        rec.set_slots(tick, "ReadProvisionedThroughputExceeded", read_throttles)
        rec.set_slots(tick, "IteratorAgeMilliseconds", iterator_age)

    def _millis_behind(self, reader, slots: np.ndarray, now_end: float) -> np.ndarray:
        """Per slot: 0 when caught up, else how old the oldest unread record is (ms)."""
        if not len(slots):
            return np.zeros(0)
        behind = reader.positions[slots] < self.log.totals(slots)
        result = np.zeros(len(slots))
        if behind.any():
            arrival = reader.arrival_of_next(slots[behind], self.log)
            result[behind] = (now_end - (arrival + 0.5) * self.resolution) * 1000.0
        return result


def _describe(event) -> str:
    fields = {k: v for k, v in vars(event).items() if k != "at"}
    return ", ".join(f"{k}={v}" for k, v in fields.items())


__all__ = ["run", "Runner", "FanOutReader"]
