"""Enhanced fan-out subscriptions: SubscribeToShard's event stream, in virtual time.

Iterating an :class:`EventStream` is how a consumer "waits" for data. When records are waiting
and the consumer's own 2 MiB/s per shard allows, the next event carries them at once. When nothing
is waiting (or the budget is spent), iterating moves the simulator's clock forward by
``EVENT_INTERVAL_SECONDS`` -- producers scheduled on the clock run meanwhile -- and delivers what
arrived (an empty event is the heartbeat). The stream ends after 5 minutes of virtual time, when a
newer subscription to the same shard takes over, when the consumer is deregistered, or after the
event that reports a closed shard's ``ChildShards``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from kinesislab.engine.shard import ShardRead

if TYPE_CHECKING:
    from kinesislab.engine.shard import Shard
    from kinesislab.engine.stream import Consumer, Stream

#: CHOSEN: the service pushes as records arrive; the lab's push cadence when idle is 1 s.
EVENT_INTERVAL_SECONDS = 1.0


class EventStream:
    """The ``EventStream`` of a SubscribeToShard response: iterate it for events."""

    def __init__(self, client, stream: "Stream", consumer: "Consumer", shard: "Shard", position: int):
        self._client = client
        self._stream = stream
        self._consumer = consumer
        self._shard = shard
        self._position = position
        sim = client.sim
        self.started = sim.clock.time
        self.ends = self.started + sim.limits.efo_subscription_seconds
        self._budget = float(sim.limits.efo_shard_bytes_per_second)
        self._budget_time = self.started
        self._closed = False
        self._last_sequence = self._sequence_before(position)

    def _sequence_before(self, position: int) -> int:
        shard = self._shard
        record = shard.record_at(position - 1)
        return shard.starting_sequence_number if record is None else record.sequence_number

    def close(self) -> None:
        """End the subscription (as botocore's ``EventStream.close``)."""
        self._closed = True

    def __iter__(self) -> Iterator[dict]:
        return self

    def _alive(self) -> bool:
        consumer = self._consumer
        return (not self._closed and self._client.sim.clock.time < self.ends
                and self._stream.consumers.get(consumer.name) is consumer and consumer.status == "ACTIVE"
                and consumer.subscriptions.get(self._shard.shard_id) is self
                and self._stream.status in ("ACTIVE", "UPDATING"))

    def __next__(self) -> dict:
        sim = self._client.sim
        if not self._alive():
            self._closed = True
            raise StopIteration
        self._refill()
        pending = self._pending_bytes()
        # Nothing waiting, or not enough of this second's 2 MiB left for the next record: wait.
        if pending == 0 or self._budget < pending:
            sim.advance(min(EVENT_INTERVAL_SECONDS, max(0.0, self.ends - sim.clock.time)))
            if not self._alive():
                self._closed = True
                raise StopIteration
        return self.poll()

    def poll(self) -> dict | None:
        """The next event from what has arrived by now, without moving the clock (the served
        endpoint calls this as wall-clock time passes); None once the subscription has ended."""
        if not self._alive():
            self._closed = True
            return None
        sim = self._client.sim
        limits = sim.limits
        self._refill()
        self._stream.trim()
        shard = self._shard
        self._position = max(self._position, shard.first_position)
        read = shard.read(self._position, limits.get_records_max_records, int(max(self._budget, 0)))
        if read.size_bytes > self._budget:
            read = ShardRead(read.position, 0, 0)
        size = read.size_bytes
        self._budget -= size
        self._position += read.count
        if read.count:
            self._last_sequence = self._sequence_before(self._position)
        from kinesislab.api.kinesis_records import child_shards, millis_behind_latest, records_response
        behind = millis_behind_latest(sim.clock.time, shard, self._position)
        event = {"Records": records_response(self._client.to_datetime, shard, read),
                 "ContinuationSequenceNumber": str(self._last_sequence), "MillisBehindLatest": behind}
        if not shard.is_open and self._position >= shard.end_position:
            event["ChildShards"] = child_shards(self._stream, shard)
            event["ContinuationSequenceNumber"] = str(shard.ending_sequence_number)
            self._closed = True
        recorder = sim.metrics_recorder
        second = int(sim.clock.time)
        for metric, value in (("SubscribeToShardEvent.Bytes", size), ("SubscribeToShardEvent.Records", read.count),
                              ("SubscribeToShardEvent.Success", 1), ("SubscribeToShardEvent.MillisBehindLatest", behind)):
            recorder.consumer(self._stream.name, self._consumer.name, metric, second, value)
            recorder.stream(self._stream.name, metric, second, value)
        self._stream.usage.read(size, enhanced_fan_out=True)
        return {"SubscribeToShardEvent": event}

    def _refill(self) -> None:
        now = self._client.sim.clock.time
        rate = self._client.sim.limits.efo_shard_bytes_per_second
        # A record larger than one second of rate must still fit once the tank is full.
        cap = max(float(rate), float(self._stream.max_record_size_bytes))
        self._budget = min(cap, self._budget + (now - self._budget_time) * rate)
        self._budget_time = now

    def _pending_bytes(self) -> int:
        record = self._shard.record_at(max(self._position, self._shard.first_position))
        return 0 if record is None else record.size_bytes
