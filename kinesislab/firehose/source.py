"""A Kinesis data stream as a Firehose source, read through the public ``sim.client("kinesis")``.

As the Firehose guide describes (FH-KDS): reading starts at ``LATEST`` when the Firehose stream
becomes ACTIVE, and GetRecords is called once per second for each shard. Those calls are
ordinary GetRecords calls, so they share each shard's 5 calls/s and 2 MiB/s with every other
polling consumer and show up in the stream's GetRecords metrics. After a reshard, a closed
shard's last GetRecords returns ``ChildShards``; a child is read from ``TRIM_HORIZON`` once all
of its parents are finished, so records of one key stay in order.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from kinesislab.simulator import Simulator

RecordHandler = Callable[[dict, str], None]


class KinesisSource:
    """Polls every shard of one Kinesis stream and hands each record to ``on_record(record, shard_id)``."""

    def __init__(self, sim: "Simulator", stream_arn: str, on_record: RecordHandler, poll_seconds: float):
        self.sim = sim
        self.stream_arn = stream_arn
        self.on_record = on_record
        self.poll_seconds = float(poll_seconds)
        #: Epoch seconds reading started (DescribeDeliveryStream's DeliveryStartTimestamp); None before.
        self.started_at: float | None = None
        #: shard id -> iterator for the next GetRecords.
        self.iterators: dict[str, str] = {}
        #: shard id -> last sequence number handed on (to re-position after an expired iterator).
        self.last_sequence: dict[str, str] = {}
        self.finished: set[str] = set()
        #: child shard id -> its parents, for children not yet started.
        self.waiting_children: dict[str, list[str]] = {}
        self.get_records_calls = 0
        self.throttled_calls = 0
        #: Why reading stopped for good (the stream was deleted), else None.
        self.stopped_reason: str | None = None
        self._running = False

    @property
    def kinesis(self):
        return self.sim.client("kinesis")

    def start(self) -> None:
        """Begin polling now (the Firehose stream just became ACTIVE)."""
        self._running = True
        self._tick()

    def stop(self) -> None:
        self._running = False

    # ------------------------------------------------------------------ polling
    def _tick(self) -> None:
        if not self._running:
            return
        if self.started_at is None:
            self._open_latest()
        else:
            self._start_ready_children()
            for shard_id in sorted(self.iterators):
                self._read(shard_id)
        if self._running:
            self.sim.clock.schedule_in(self.poll_seconds, self._tick)

    def _open_latest(self) -> None:
        """LATEST iterators on every open shard; retried next second while the stream is not ACTIVE."""
        try:
            shards = self._open_shards()
            iterators = {shard_id: self.kinesis.get_shard_iterator(
                StreamARN=self.stream_arn, ShardId=shard_id, ShardIteratorType="LATEST")["ShardIterator"]
                for shard_id in shards}
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException" and self._stream_gone():
                self._give_up(error)
            return  # not ACTIVE yet, or throttled: try again at the next poll
        self.iterators = iterators
        self.started_at = self.sim.clock.time

    def _open_shards(self) -> list[str]:
        shards: list[str] = []
        params = {"StreamARN": self.stream_arn, "ShardFilter": {"Type": "AT_LATEST"}}
        while True:
            page = self.kinesis.list_shards(**params)
            shards.extend(s["ShardId"] for s in page["Shards"])
            if not page.get("NextToken"):
                return shards
            params = {"NextToken": page["NextToken"]}

    def _stream_gone(self) -> bool:
        return not any(s.arn == self.stream_arn for s in self.sim.streams.values())

    def _give_up(self, error: ClientError) -> None:
        self.stopped_reason = error.response["Error"]["Message"]
        self._running = False

    def _read(self, shard_id: str) -> None:
        try:
            self.get_records_calls += 1
            response = self.kinesis.get_records(ShardIterator=self.iterators[shard_id])
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ProvisionedThroughputExceededException":
                self.throttled_calls += 1  # another consumer used the shard's budget; retry next second
            elif code == "ExpiredIteratorException":
                self._reposition(shard_id)
            elif code == "ResourceNotFoundException":
                self._give_up(error)
            else:
                raise
            return
        for record in response["Records"]:
            self.last_sequence[shard_id] = record["SequenceNumber"]
            self.on_record(record, shard_id)
        if "NextShardIterator" in response:
            self.iterators[shard_id] = response["NextShardIterator"]
            return
        # The shard is closed and fully read: its children may start once all their parents are done.
        del self.iterators[shard_id]
        self.finished.add(shard_id)
        for child in response.get("ChildShards", []):
            if child["ShardId"] not in self.iterators and child["ShardId"] not in self.finished:
                self.waiting_children[child["ShardId"]] = list(child["ParentShards"])

    def _reposition(self, shard_id: str) -> None:
        """A fresh iterator after the last record handed on (or at the start time if none)."""
        last = self.last_sequence.get(shard_id)
        params = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": last} if last
                  else {"ShardIteratorType": "AT_TIMESTAMP",
                        "Timestamp": datetime.fromtimestamp(self.started_at, tz=timezone.utc)})
        try:
            self.iterators[shard_id] = self.kinesis.get_shard_iterator(
                StreamARN=self.stream_arn, ShardId=shard_id, **params)["ShardIterator"]
        except ClientError:
            pass  # throttled: the old iterator stays and expires again; retried next second

    def _start_ready_children(self) -> None:
        for child, parents in sorted(self.waiting_children.items()):
            if not all(p in self.finished for p in parents):
                continue
            try:
                self.iterators[child] = self.kinesis.get_shard_iterator(
                    StreamARN=self.stream_arn, ShardId=child, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            except ClientError:
                continue  # throttled: try again at the next poll
            del self.waiting_children[child]
