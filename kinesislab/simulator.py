"""The simulator: one virtual clock, one seeded random generator, one account of streams.

>>> from kinesislab import Simulator
>>> sim = Simulator(seed=0)
>>> kinesis = sim.client("kinesis")
>>> response = kinesis.create_stream(StreamName="orders", ShardCount=2)
>>> sim.advance(10)          # virtual seconds: the stream becomes ACTIVE
>>> kinesis.put_record(StreamName="orders", Data=b"hello", PartitionKey="customer-1")["ShardId"]
'shardId-000000000001'
"""

from __future__ import annotations

import copy
from datetime import datetime

import numpy as np
import pandas as pd

from kinesislab.api.errors import ServiceError
from kinesislab.clock import DEFAULT_START, VirtualClock
from kinesislab.engine.stream import Stream
from kinesislab.limits import Limits, limits_for_region
from kinesislab.metrics import MetricsRecorder

DEFAULT_ACCOUNT_ID = "123456789012"


class Simulator:
    """A self-contained Kinesis account in virtual time.

    ``seed`` is the single source of randomness: the same seed and the same calls give the
    same results byte for byte. ``limits`` overrides the Region's current defaults (see
    :mod:`kinesislab.limits`).
    """

    def __init__(self, seed: int = 0, *, region: str = "us-east-1", limits: Limits | None = None,
                 start: datetime = DEFAULT_START, account_id: str = DEFAULT_ACCOUNT_ID):
        self.seed = seed
        self.region = region
        self.limits = limits if limits is not None else limits_for_region(region)
        self.account_id = account_id
        self.clock = VirtualClock(start)
        self.rng = np.random.default_rng(seed)
        self.metrics_recorder = MetricsRecorder()
        self.streams: dict[str, Stream] = {}
        #: Deleted streams, kept so their usage can still be billed.
        self.deleted_streams: list[Stream] = []
        self._clients: dict[str, object] = {}
        self.endpoint = None

    def __deepcopy__(self, memo: dict) -> "Simulator":
        """An independent simulator in the same state (streams, records, clock, queued callbacks,
        random stream), with clients of its own, made when asked for: a boto3-shaped client holds
        botocore objects that do not copy."""
        copied = object.__new__(type(self))
        memo[id(self)] = copied
        for name, value in vars(self).items():
            setattr(copied, name, {} if name == "_clients" else copy.deepcopy(value, memo))
        return copied

    # ------------------------------------------------------------------ time
    @property
    def now(self) -> datetime:
        """The virtual instant (timezone-aware UTC)."""
        return self.clock.now

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds``; status changes and scaling happen on the way."""
        self.clock.advance(seconds)

    # ------------------------------------------------------------------ clients
    def client(self, service_name: str):
        """A boto3-shaped client: ``"kinesis"`` or ``"firehose"`` (one per service per simulator)."""
        if service_name not in self._clients:
            if service_name == "kinesis":
                from kinesislab.api.kinesis_client import KinesisClient
                self._clients[service_name] = KinesisClient(self)
            elif service_name == "firehose":
                from kinesislab.firehose.client import FirehoseClient
                self._clients[service_name] = FirehoseClient(self)
            else:
                raise ValueError(f"kinesislab simulates 'kinesis' and 'firehose', not {service_name!r}")
        return self._clients[service_name]

    def serve(self, port: int = 0, speed: float = 1.0, host: str = "127.0.0.1") -> str:
        """Serve this simulator on a local Kinesis/Firehose endpoint (a background thread) and
        return its URL, for ``boto3.client("kinesis", endpoint_url=...)``. While serving, virtual
        time follows the wall clock times ``speed`` (see :mod:`kinesislab.server.app`)."""
        from kinesislab.server import serve
        if self.endpoint is None:
            self.endpoint = serve(self, host=host, port=port, speed=speed)
        return self.endpoint.url

    # ------------------------------------------------------------------ account
    def open_shard_count(self) -> int:
        """Open shards of provisioned streams: what counts against the account shard quota."""
        return sum(len(s.open_shards()) for s in self.streams.values() if s.mode == "PROVISIONED")

    def on_demand_stream_count(self) -> int:
        return sum(1 for s in self.streams.values() if s.mode == "ON_DEMAND")

    def require_shard_quota(self, additional: int) -> None:
        """LimitExceededException if ``additional`` more shards would pass the account quota."""
        current = self.open_shard_count()
        if current + additional > self.limits.account_shard_quota:
            raise ServiceError(
                "LimitExceededException",
                f"This request would exceed the shard limit for the account {self.account_id} in {self.region}. "
                f"Current shard count for the account: {current}. Limit: {self.limits.account_shard_quota}. "
                f"Number of additional shards that would have resulted from this request: {additional}. "
                f"Refer to the AWS Service Limits page for current limits and how to request higher limits.")

    def stream(self, stream_name: str) -> Stream:
        """The engine's :class:`Stream` object (for lessons that look inside)."""
        try:
            return self.streams[stream_name]
        except KeyError:
            raise ServiceError("ResourceNotFoundException",
                               f"Stream {stream_name} under account {self.account_id} not found.") from None

    # ------------------------------------------------------------------ results
    def metrics(self, stream_name: str, level: str = "stream") -> pd.DataFrame:
        """Per-second CloudWatch metrics of a stream (layout: :mod:`kinesislab.metrics`)."""
        stream = self.stream(stream_name)
        return self.metrics_recorder.frame(stream_name, int(stream.created_seconds), int(self.clock.time), level)

    def usage(self, stream_name: str):
        """What the stream used so far, for :func:`kinesislab.pricing.bill`."""
        return self._find_stream(stream_name).usage.to_usage()

    def bill(self, stream_name: str, as_mode: str | None = None) -> pd.DataFrame:
        """The itemised bill of a stream so far (USD, us-east-1 prices; see :mod:`kinesislab.pricing`)."""
        from kinesislab.pricing import bill
        return bill(self.usage(stream_name), as_mode=as_mode)

    def _find_stream(self, stream_name: str) -> Stream:
        """A live stream, or the most recently deleted one of that name (its usage is still billable)."""
        if stream_name in self.streams:
            return self.streams[stream_name]
        for stream in reversed(self.deleted_streams):
            if stream.name == stream_name:
                return stream
        return self.stream(stream_name)
