"""``sim.client("firehose")``: the boto3 Firehose client's methods, responses and exceptions.

Operations: CreateDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams and
DeleteDeliveryStream (:mod:`kinesislab.firehose.control`); PutRecord and PutRecordBatch
(:mod:`kinesislab.firehose.records`). Requests are validated against botocore's Firehose model
and errors are raised as the modeled exceptions (``firehose.exceptions.ResourceNotFoundException``).

Lab-only additions (not on boto3's client): :meth:`FirehoseClient.delivery_stream` returns the
engine object of a stream (its ``deliveries_frame()``, ``usage()``, ``read(key)``), and
:meth:`FirehoseClient.bucket` the sink that stands for an S3 bucket.
"""

from __future__ import annotations

from datetime import datetime, timezone

from kinesislab.api.client_base import SimulatedClient
from kinesislab.api.errors import ServiceError
from kinesislab.firehose import control, records  # noqa: F401  (registers the operations)
from kinesislab.firehose.delivery import DeliveryStream
from kinesislab.firehose.sink import Sink, sink_for_bucket


class FirehoseClient(SimulatedClient):
    """A boto3-shaped Firehose client bound to one :class:`~kinesislab.Simulator`."""

    service_name = "firehose"

    def __init__(self, sim):
        super().__init__(sim)
        #: Firehose streams by name (CREATING, ACTIVE or DELETING).
        self.delivery_streams: dict[str, DeliveryStream] = {}
        #: Deleted streams, kept so their deliveries and usage stay inspectable.
        self.deleted_delivery_streams: list[DeliveryStream] = []
        #: Bucket ARN -> the sink standing for it (shared by every stream delivering there).
        self.buckets: dict[str, Sink] = {}
        #: Stream name -> the CreateDeliveryStream parameters (echoed by DescribeDeliveryStream).
        self.configs: dict[str, dict] = {}

    # ------------------------------------------------------------------ lab-only helpers
    def delivery_stream(self, name: str) -> DeliveryStream:
        """The engine object of a Firehose stream (deleted ones too, the latest of that name)."""
        if name in self.delivery_streams:
            return self.delivery_streams[name]
        for stream in reversed(self.deleted_delivery_streams):
            if stream.name == name:
                return stream
        raise KeyError(f"no Firehose stream named {name!r} in this simulator")

    def bucket(self, bucket_arn: str) -> Sink:
        """The sink for an S3 bucket ARN (memory, or a folder registered with ``register_bucket_folder``)."""
        if bucket_arn not in self.buckets:
            self.buckets[bucket_arn] = sink_for_bucket(bucket_arn)
        return self.buckets[bucket_arn]

    # ------------------------------------------------------------------ helpers for operations
    def resolve(self, name: str, *, active: bool = False) -> DeliveryStream:
        """The stream named ``name``; with ``active=True`` only an ACTIVE one (data-plane calls)."""
        stream = self.delivery_streams.get(name)
        if stream is None or (active and stream.status != "ACTIVE"):
            # CHOSEN: puts to a stream that is not ACTIVE get the not-found error, as Kinesis does.
            raise ServiceError("ResourceNotFoundException",
                               f"Firehose {name} under account {self.sim.account_id} not found.")
        return stream

    @staticmethod
    def to_datetime(seconds: float) -> datetime:
        """Response timestamps: tz-aware datetimes with millisecond precision, as boto3 parses them."""
        return datetime.fromtimestamp(round(seconds * 1000) / 1000, tz=timezone.utc)


FirehoseClient.install_operations()
