"""``sim.client("kinesis")``: the boto3 Kinesis client's methods, responses and exceptions.

Code written against this client runs against AWS with ``boto3.client("kinesis")`` in its
place. Operations live in the ``kinesis_*`` modules next to this one, one module per area.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Iterable

from kinesislab.api import (kinesis_account, kinesis_consumers, kinesis_records,  # noqa: F401
                            kinesis_resharding, kinesis_streams)
from kinesislab.api.client_base import SimulatedClient
from kinesislab.api.errors import ServiceError
from kinesislab.api.waiters import Waiter
from kinesislab.engine.stream import Stream


class KinesisClient(SimulatedClient):
    """A boto3-shaped Kinesis client bound to one :class:`~kinesislab.Simulator`."""

    service_name = "kinesis"

    # ------------------------------------------------------------------ helpers for operations
    def resolve_stream(self, params: dict, *, allow_statuses: tuple[str, ...] | None = None) -> Stream:
        """The stream named by ``StreamName``, ``StreamARN`` or ``StreamId`` (any one of them)."""
        name = params.get("StreamName")
        arn = params.get("StreamARN")
        stream_id = params.get("StreamId")
        sim = self.sim
        if name is None and arn is None and stream_id is None:
            raise ServiceError("InvalidArgumentException", "Either StreamName or StreamARN should be provided.")
        stream = None
        if arn is not None:
            stream = next((s for s in sim.streams.values() if s.arn == arn), None)
            if stream is None:
                raise ServiceError("ResourceNotFoundException", f"Stream {arn} under account {sim.account_id} not found.")
            if name is not None and name != stream.name:
                raise ServiceError("InvalidArgumentException",
                                   f"StreamName {name} and StreamARN {arn} do not name the same stream.")
        elif name is not None:
            stream = sim.streams.get(name)
            if stream is None:
                raise ServiceError("ResourceNotFoundException", f"Stream {name} under account {sim.account_id} not found.")
        else:
            stream = next((s for s in sim.streams.values() if s.stream_id == stream_id), None)
            if stream is None:
                raise ServiceError("ResourceNotFoundException",
                                   f"Stream {stream_id} under account {sim.account_id} not found.")
        if allow_statuses is not None and stream.status not in allow_statuses:
            # The service answers data-plane calls on a stream that is not (yet) there as not found.
            raise ServiceError("ResourceNotFoundException",
                               f"Stream {stream.name} under account {sim.account_id} not found.")
        return stream

    def second(self) -> int:
        """The current whole virtual second (metrics bucket)."""
        return math.floor(self.sim.clock.time)

    def stream_metric(self, stream: Stream, metric: str, value: float) -> None:
        self.sim.metrics_recorder.stream(stream.name, metric, self.second(), value)

    def stream_metrics(self, stream: Stream, values: Iterable[tuple[str, float]]) -> None:
        """Several stream-level datapoints for the current second, as ``(metric, value)`` pairs."""
        self.sim.metrics_recorder.streams(stream.name, self.second(), values)

    def shard_metric(self, stream: Stream, shard_id: str, metric: str, value: float) -> None:
        if metric in stream.enhanced_metrics:
            self.sim.metrics_recorder.shard(stream.name, shard_id, metric, self.second(), value)

    @staticmethod
    def to_datetime(seconds: float) -> datetime:
        """Timestamps in responses: timezone-aware datetimes with millisecond precision, as boto3 parses them."""
        return datetime.fromtimestamp(round(seconds * 1000) / 1000, tz=timezone.utc)

    @staticmethod
    def to_seconds(value) -> float:
        """A request timestamp (datetime, epoch seconds, or ISO 8601 text, as boto3 accepts) in epoch seconds."""
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()

    def get_waiter(self, waiter_name: str) -> Waiter:
        """``stream_exists`` / ``stream_not_exists``, polling in virtual time like botocore's waiters."""
        return Waiter(self, waiter_name)


KinesisClient.install_operations()
