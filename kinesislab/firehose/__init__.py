"""Amazon Data Firehose, simulated in virtual time: Direct PUT or a Kinesis stream in, S3-style
objects out.

Through the boto3-shaped client::

    from kinesislab import Simulator
    sim = Simulator(seed=0)
    firehose = sim.client("firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName="clicks",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::lab-bucket",
            "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 60}})
    sim.advance(10)                                   # CREATING -> ACTIVE
    firehose.put_record(DeliveryStreamName="clicks", Record={"Data": b'{"page": 1}\\n'})
    sim.advance(60)                                   # the interval elapses: one object is written
    stream = firehose.delivery_stream("clicks")       # lab-only: the engine object
    stream.deliveries_frame()                         # key, delivered_at, bytes, records, latency_seconds, ...
    stream.read(stream.objects[0].key)                # the object's bytes
    stream.usage().ingest_cost_usd()                  # Firehose ingestion bill (5 KiB rounding per record)

Lab-only helpers (no AWS equivalent):

* :func:`register_transform` ``(lambda_arn, function)``: the Python function that stands for a
  Lambda named in ``ProcessingConfiguration`` (see :mod:`kinesislab.firehose.transform` for the
  event and result format). Register before ``create_delivery_stream``.
* :func:`register_bucket_folder` ``(bucket_arn, folder)``: objects for that bucket are written as
  files under ``folder`` instead of kept in memory.

Modules: :mod:`~kinesislab.firehose.delivery` (the engine), :mod:`~kinesislab.firehose.buffer`
(size-or-interval buffering), :mod:`~kinesislab.firehose.transform` (Lambda transformation),
:mod:`~kinesislab.firehose.source` (reading a Kinesis stream), :mod:`~kinesislab.firehose.quota`
(Direct PUT throttling), :mod:`~kinesislab.firehose.sink` (objects and keys),
:mod:`~kinesislab.firehose.client` with :mod:`~kinesislab.firehose.control` and
:mod:`~kinesislab.firehose.records` (the boto3-shaped operations).
"""

from kinesislab.firehose.delivery import BufferingHints, DeliveryStream, FirehoseUsage
from kinesislab.firehose.sink import (
    DeliveredObject, FolderSink, MemorySink, register_bucket_folder, unregister_bucket_folder,
)
from kinesislab.firehose.transform import LambdaTransform, register_transform, unregister_transform

__all__ = [
    "BufferingHints", "DeliveryStream", "FirehoseUsage", "DeliveredObject", "FolderSink", "MemorySink",
    "LambdaTransform", "register_transform", "unregister_transform", "register_bucket_folder",
    "unregister_bucket_folder",
]
