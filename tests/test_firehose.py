"""Firehose: buffering (first of size or interval), conservation of bytes, Lambda transformation,
a Kinesis stream as source, the boto3-shaped client's errors and response shapes, determinism."""

from __future__ import annotations

import base64
import gzip
import json
import math
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import HealthCheck, given, settings, strategies as st

from kinesislab import Simulator
from kinesislab.api.service_model import service_model
from kinesislab.firehose import (
    BufferingHints, DeliveryStream, FolderSink, register_bucket_folder, register_transform,
    unregister_bucket_folder, unregister_transform,
)
from kinesislab.firehose.delivery import DELIVERY_COLUMNS
from kinesislab.limits import KiB, MiB, Limits, limits_for_region
from kinesislab.pricing import Prices, firehose_ingest_cost

ROLE = "arn:aws:iam::123456789012:role/firehose"
BUCKET = "arn:aws:s3:::lab-bucket"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:lab-transform"
CREATING = 5.0  # Limits.firehose_creating_seconds


def s3_config(size_mib: int = 5, interval: int = 300, **extra) -> dict:
    return {"RoleARN": ROLE, "BucketARN": BUCKET,
            "BufferingHints": {"SizeInMBs": size_mib, "IntervalInSeconds": interval}, **extra}


def active_stream(sim: Simulator, name: str = "hose", **config) -> DeliveryStream:
    """A Direct PUT Firehose stream, created through the client and advanced to ACTIVE."""
    firehose = sim.client("firehose")
    firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_config(**config))
    sim.advance(CREATING)
    return firehose.delivery_stream(name)


def put(sim: Simulator, data: bytes, name: str = "hose") -> dict:
    return sim.client("firehose").put_record(DeliveryStreamName=name, Record={"Data": data})


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def transform_arn():
    yield LAMBDA
    unregister_transform(LAMBDA)


# --- Limits ------------------------------------------------------------------------------------

def test_firehose_limits_have_sources_and_regional_values():
    for field_name in Limits.__dataclass_fields__:
        if field_name.startswith("firehose_"):
            assert Limits.source_of(field_name)
    big, small = limits_for_region("us-east-1"), limits_for_region("ap-south-1")
    assert (big.firehose_direct_put_records_per_second, big.firehose_direct_put_requests_per_second,
            big.firehose_direct_put_bytes_per_second) == (500_000, 2_000, 5 * MiB)
    assert (small.firehose_direct_put_records_per_second, small.firehose_direct_put_requests_per_second,
            small.firehose_direct_put_bytes_per_second) == (100_000, 1_000, 1 * MiB)
    assert big.firehose_record_max_bytes == 1_024_000
    assert (big.firehose_put_record_batch_max_records, big.firehose_put_record_batch_max_bytes) == (500, 4 * MiB)
    assert (big.firehose_buffer_default_mib, big.firehose_buffer_default_seconds) == (5, 300)
    assert limits_for_region("us-east-2").firehose_delivery_stream_quota == 5_000
    assert small.firehose_delivery_stream_quota == 2_000


# --- Buffering: the first of size or interval ----------------------------------------------------

def test_size_reached_delivers_at_that_instant():
    sim = Simulator(seed=1)
    stream = active_stream(sim, size_mib=5, interval=900)
    start = sim.clock.time
    chunk = b"x" * (512 * KiB)  # ten of these are exactly 5 MiB
    for second in range(5):
        put(sim, chunk)
        put(sim, chunk)
        if second < 4:
            assert stream.objects == []
            sim.advance(1)
    # The 10th record (at start + 4 s) filled the buffer: delivered in that same call.
    assert len(stream.objects) == 1
    frame = stream.deliveries_frame()
    row = frame.iloc[0]
    assert row["trigger"] == "size"
    assert row["delivered_at"].timestamp() == start + 4
    assert (row["bytes"], row["records"]) == (5 * MiB, 10)
    assert row["latency_seconds"] == 4.0
    assert row["first_arrival"].timestamp() == start and row["last_arrival"].timestamp() == start + 4
    sim.advance(2000)
    assert len(stream.objects) == 1  # the cancelled interval timer delivers nothing more


def test_slow_trickle_is_delivered_when_the_interval_elapses():
    sim = Simulator(seed=1)
    stream = active_stream(sim, size_mib=5, interval=300)
    start = sim.clock.time
    for _ in range(31):  # one 1 KiB record every 10 s, at start + 0, 10, ..., 300
        put(sim, b"y" * KiB)
        sim.advance(10)
    first = stream.objects[0]
    # The buffer opened at `start`; its timer ran at start + 300, before the put at that instant.
    assert (first.delivered_at, first.trigger, first.records, first.bytes) == (start + 300, "interval", 30, 30 * KiB)
    assert first.latency_seconds == 300.0
    assert first.mean_latency_seconds == pytest.approx(300 - 145)
    sim.advance(600)
    second = stream.objects[1]
    assert (second.delivered_at, second.records) == (start + 600, 1)


def test_zero_interval_delivers_at_the_same_instant():
    sim = Simulator(seed=1)
    stream = active_stream(sim, size_mib=1, interval=0)
    now = sim.clock.time
    put(sim, b"a")
    put(sim, b"b")
    sim.advance(0)
    assert [(o.delivered_at, o.records) for o in stream.objects] == [(now, 2)]


def test_object_key_format_prefix_and_gzip():
    sim = Simulator(seed=3)
    stream = active_stream(sim, size_mib=1, interval=60, Prefix="logs/", CompressionFormat="GZIP")
    put(sim, b"hello\n")
    sim.advance(60)
    key = stream.objects[0].key
    stamp = datetime.fromtimestamp(stream.objects[0].first_arrival, tz=timezone.utc)
    head = f"logs/{stamp:%Y/%m/%d/%H}/hose-1-{stamp:%Y-%m-%d-%H-%M-%S}-"
    assert key.startswith(head) and key.endswith(".gz")
    object_uuid = key[len(head):-len(".gz")]
    assert len(object_uuid) == 36 and object_uuid.count("-") == 4
    assert gzip.decompress(stream.read(key)) == b"hello\n"


def test_prefix_expressions_are_evaluated():
    sim = Simulator(seed=3)
    stream = active_stream(sim, size_mib=1, interval=10, Prefix="year=!{timestamp:yyyy}/day=!{timestamp:dd}/")
    put(sim, b"z")
    sim.advance(10)
    assert stream.objects[0].key.startswith("year=2026/day=01/hose-1-")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(st.tuples(st.integers(1, 300_000), st.sampled_from([0, 0, 0.25, 1, 7, 61, 400])),
                     min_size=1, max_size=40),
    size_mib=st.integers(1, 3),
    interval=st.sampled_from([0, 1, 60, 300, 900]),
)
def test_bytes_delivered_equal_bytes_put(records, size_mib, interval):
    sim = Simulator(seed=7)
    stream = active_stream(sim, size_mib=size_mib, interval=interval)
    firehose = sim.client("firehose")
    sent = []
    for index, (size, gap) in enumerate(records):
        data = bytes([index % 251]) * size
        while True:  # a producer that backs off one second when throttled
            try:
                firehose.put_record(DeliveryStreamName="hose", Record={"Data": data})
                break
            except firehose.exceptions.ServiceUnavailableException:
                sim.advance(1)
        sent.append(data)
        sim.advance(gap)
    sim.advance(interval + 1)
    frame = stream.deliveries_frame()
    assert frame["bytes"].sum() == sum(len(d) for d in sent) == stream.usage().bytes
    assert frame["records"].sum() == len(sent) == stream.usage().records
    assert b"".join(stream.read(k) for k in frame["key"]) == b"".join(sent)  # order kept, nothing lost
    assert stream.buffered_records == 0
    for obj in stream.objects:
        assert obj.latency_seconds <= interval + 1e-9
        if obj.trigger == "size":
            assert obj.bytes >= size_mib * MiB
        else:
            assert obj.latency_seconds == pytest.approx(interval)


# --- Lambda transformation ----------------------------------------------------------------------

def _by_content(event):
    """Ok + upper-cased for b"keep...", Dropped for b"drop...", ProcessingFailed otherwise."""
    out = []
    for record in event["records"]:
        data = base64.b64decode(record["data"])
        if data.startswith(b"keep"):
            out.append({"recordId": record["recordId"], "result": "Ok",
                        "data": base64.b64encode(data.upper()).decode()})
        elif data.startswith(b"drop"):
            out.append({"recordId": record["recordId"], "result": "Dropped", "data": record["data"]})
        else:
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
    return {"records": out}


def _transform_config(arn: str, **parameters) -> dict:
    params = [{"ParameterName": "LambdaArn", "ParameterValue": arn}]
    params += [{"ParameterName": k, "ParameterValue": str(v)} for k, v in parameters.items()]
    return {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": params}]}


def test_transform_ok_dropped_and_processing_failed(transform_arn):
    register_transform(transform_arn, _by_content)
    sim = Simulator(seed=5)
    stream = active_stream(sim, size_mib=5, interval=60, ProcessingConfiguration=_transform_config(transform_arn))
    start = sim.clock.time
    for data in (b"keep-1\n", b"drop-1\n", b"bad-1\n", b"keep-2\n"):
        put(sim, data)
    sim.advance(60)  # the Lambda buffer (default 60 s) flushes; the destination buffer opens now
    failed = stream.deliveries_frame("processing-failed")
    assert len(failed) == 1 and failed["records"].iloc[0] == 1
    assert failed["key"].iloc[0].startswith("processing-failed/2026/01/01/00/hose-1-")
    line = json.loads(stream.read(failed["key"].iloc[0]).decode().strip())
    assert line["errorCode"] == "Lambda.ProcessingFailedStatus"
    assert base64.b64decode(line["rawData"]) == b"bad-1\n"
    assert (line["attemptsMade"], line["lambdaArn"]) == (1, transform_arn)
    assert line["arrivalTimestamp"] == round(start * 1000)
    assert stream.objects[0].kind == "processing-failed"
    sim.advance(60)
    frame = stream.deliveries_frame()
    assert len(frame) == 1
    assert stream.read(frame["key"].iloc[0]) == b"KEEP-1\nKEEP-2\n"
    # Two buffers in a row: 60 s in the Lambda buffer, then 60 s in the destination buffer.
    assert frame["latency_seconds"].iloc[0] == 120.0
    assert stream.totals["lab.DroppedRecords"] == 1
    assert stream.totals["lab.ProcessingFailedRecords"] == 1
    assert stream.totals["SucceedProcessing.Records"] == 2
    assert stream.usage().records == 4  # ingestion is billed before the transformation


def test_transform_event_shape_and_context_argument(transform_arn):
    seen = []

    def handler(event, context):
        seen.append((event, context))
        return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]} for r in event["records"]]}

    register_transform(transform_arn, handler)
    sim = Simulator(seed=5)
    stream = active_stream(sim, size_mib=1, interval=0,
                           ProcessingConfiguration=_transform_config(transform_arn, BufferIntervalInSeconds=0))
    put(sim, b"abc")
    sim.advance(0)
    event, context = seen[0]
    assert context is None
    assert set(event) == {"invocationId", "deliveryStreamArn", "region", "records"}
    assert event["deliveryStreamArn"] == stream.arn and event["region"] == "us-east-1"
    (record,) = event["records"]
    assert base64.b64decode(record["data"]) == b"abc"
    assert record["approximateArrivalTimestamp"] == round(stream.objects[0].first_arrival * 1000)
    assert stream.read(stream.objects[0].key) == b"abc"


def test_transform_that_raises_is_retried_then_fails_the_batch(transform_arn):
    calls = []

    def broken(event):
        calls.append(event["invocationId"])
        raise RuntimeError("boom")

    register_transform(transform_arn, broken)
    sim = Simulator(seed=5)
    stream = active_stream(sim, ProcessingConfiguration=_transform_config(transform_arn, NumberOfRetries=2))
    put(sim, b"one")
    put(sim, b"two")
    sim.advance(60)
    assert len(calls) == 3 and len(set(calls)) == 3  # 1 + 2 retries, each a fresh invocationId
    lines = [json.loads(x) for x in stream.read(stream.objects[0].key).decode().splitlines()]
    assert [base64.b64decode(x["rawData"]) for x in lines] == [b"one", b"two"]
    assert {(x["errorCode"], x["attemptsMade"]) for x in lines} == {("Lambda.FunctionError", 3)}
    assert "RuntimeError: boom" in lines[0]["errorMessage"]


def test_transform_missing_record_id_fails_that_record(transform_arn):
    register_transform(transform_arn, lambda event: {"records": [
        {"recordId": event["records"][0]["recordId"], "result": "Ok", "data": event["records"][0]["data"]}]})
    sim = Simulator(seed=5)
    stream = active_stream(sim, interval=60, ProcessingConfiguration=_transform_config(transform_arn))
    put(sim, b"first")
    put(sim, b"second")
    sim.advance(120)
    failed = stream.deliveries_frame("processing-failed")
    line = json.loads(stream.read(failed["key"].iloc[0]))
    assert line["errorCode"] == "Lambda.MissingRecordId"
    assert base64.b64decode(line["rawData"]) == b"second"
    assert stream.read(stream.deliveries_frame()["key"].iloc[0]) == b"first"


def test_unregistered_lambda_is_refused_at_create():
    firehose = Simulator(seed=0).client("firehose")
    with pytest.raises(firehose.exceptions.InvalidArgumentException, match="register_transform"):
        firehose.create_delivery_stream(
            DeliveryStreamName="hose",
            ExtendedS3DestinationConfiguration=s3_config(
                ProcessingConfiguration=_transform_config("arn:aws:lambda:us-east-1:123456789012:function:none")))


# --- Kinesis stream as source ---------------------------------------------------------------------

def _kinesis_sourced(sim: Simulator, shards: int = 2, interval: int = 60) -> tuple:
    kinesis = sim.client("kinesis")
    firehose = sim.client("firehose")
    kinesis.create_stream(StreamName="orders", ShardCount=shards)
    sim.advance(10)
    arn = kinesis.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]["StreamARN"]
    kinesis.put_record(StreamName="orders", Data=b"before-firehose|", PartitionKey="k0")
    firehose.create_delivery_stream(
        DeliveryStreamName="from-kinesis", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration=s3_config(size_mib=5, interval=interval))
    return kinesis, firehose, arn


def test_kinesis_source_end_to_end_across_a_reshard():
    sim = Simulator(seed=11)
    kinesis, firehose, arn = _kinesis_sourced(sim)
    sim.advance(CREATING)
    stream = firehose.delivery_stream("from-kinesis")
    description = firehose.describe_delivery_stream(DeliveryStreamName="from-kinesis")["DeliveryStreamDescription"]
    source = description["Source"]["KinesisStreamSourceDescription"]
    assert source["KinesisStreamARN"] == arn and source["DeliveryStartTimestamp"] == sim.now

    sent: dict[str, list[bytes]] = {}

    def produce(n: int, tag: str) -> None:
        for i in range(n):
            key = f"k{i % 7}"
            data = f"{tag}-{i}|".encode()
            kinesis.put_record(StreamName="orders", Data=data, PartitionKey=key)
            sent.setdefault(key, []).append(data)

    produce(50, "a")
    sim.advance(3)
    kinesis.update_shard_count(StreamName="orders", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    sim.advance(10)  # the reshard completes; the parents' last reads return ChildShards
    produce(80, "b")
    sim.advance(200)

    body = b"".join(stream.read(k) for k in stream.deliveries_frame()["key"])
    delivered = [piece + b"|" for piece in body.split(b"|")[:-1]]
    assert b"before-firehose|" not in delivered  # reading starts at LATEST when the stream is ACTIVE
    assert sorted(delivered) == sorted(d for records in sent.values() for d in records)  # all, once each
    for key, records in sent.items():  # per-key order survives the reshard (parents before children)
        assert [d for d in delivered if d in set(records)] == records
    assert stream.source.finished == {"shardId-000000000000", "shardId-000000000001"}
    assert stream.totals["DataReadFromKinesisStream.Records"] == 130
    # Firehose's GetRecords calls are ordinary reads of the stream: they show in its metrics.
    assert kinesis_metrics_reads(sim) > 0
    # Latency counts from the Kinesis arrival: at least the one-second polling delay is inside it.
    assert (stream.deliveries_frame()["latency_seconds"] >= 60).all()


def test_kinesis_source_reads_a_merged_child_after_both_parents():
    sim = Simulator(seed=12)
    kinesis, firehose, _ = _kinesis_sourced(sim, shards=2, interval=30)
    sim.advance(CREATING)
    stream = firehose.delivery_stream("from-kinesis")
    before = [f"p{i}|".encode() for i in range(20)]
    for i, data in enumerate(before):
        kinesis.put_record(StreamName="orders", Data=data, PartitionKey=f"k{i}")
    kinesis.update_shard_count(StreamName="orders", TargetShardCount=1, ScalingType="UNIFORM_SCALING")
    sim.advance(10)
    after = [f"c{i}|".encode() for i in range(20)]
    for i, data in enumerate(after):
        kinesis.put_record(StreamName="orders", Data=data, PartitionKey=f"k{i}")
    sim.advance(120)
    body = b"".join(stream.read(k) for k in stream.deliveries_frame()["key"])
    delivered = [piece + b"|" for piece in body.split(b"|")[:-1]]
    assert sorted(delivered) == sorted(before + after)
    # Every parent record is read before any record of the merged child.
    assert max(delivered.index(d) for d in before) < min(delivered.index(d) for d in after)
    assert stream.source.waiting_children == {} and len(stream.source.iterators) == 1


def test_file_extension_overrides_the_default_suffix():
    sim = Simulator(seed=3)
    stream = active_stream(sim, size_mib=1, interval=10, FileExtension=".json", CompressionFormat="GZIP")
    put(sim, b"{}")
    sim.advance(10)
    assert stream.objects[0].key.endswith(".json")


def kinesis_metrics_reads(sim: Simulator) -> float:
    return float(sim.metrics("orders")["GetRecords.Success"].sum())


def test_put_on_a_kinesis_sourced_stream_is_refused():
    sim = Simulator(seed=11)
    _, firehose, _ = _kinesis_sourced(sim)
    sim.advance(CREATING)
    with pytest.raises(firehose.exceptions.InvalidArgumentException,
                       match="not permitted on KinesisStreamAsSource delivery stream type"):
        firehose.put_record(DeliveryStreamName="from-kinesis", Record={"Data": b"x"})


def test_kinesis_source_must_exist():
    firehose = Simulator(seed=0).client("firehose")
    with pytest.raises(firehose.exceptions.InvalidArgumentException):
        firehose.create_delivery_stream(
            DeliveryStreamName="hose", DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/no",
                                              "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration=s3_config())


# --- Client: lifecycle, errors, throttling ---------------------------------------------------------

def test_lifecycle_creating_active_deleting_gone():
    sim = Simulator(seed=2)
    firehose = sim.client("firehose")
    firehose.create_delivery_stream(DeliveryStreamName="hose", S3DestinationConfiguration=s3_config())

    def status():
        return firehose.describe_delivery_stream(DeliveryStreamName="hose")["DeliveryStreamDescription"][
            "DeliveryStreamStatus"]

    assert status() == "CREATING"
    with pytest.raises(firehose.exceptions.ResourceNotFoundException):
        put(sim, b"too early")
    with pytest.raises(firehose.exceptions.ResourceInUseException):
        firehose.delete_delivery_stream(DeliveryStreamName="hose")
    sim.advance(CREATING)
    assert status() == "ACTIVE"
    put(sim, b"lost when deleted")
    firehose.delete_delivery_stream(DeliveryStreamName="hose")
    assert status() == "DELETING"
    sim.advance(5)
    with pytest.raises(firehose.exceptions.ResourceNotFoundException) as excinfo:
        firehose.describe_delivery_stream(DeliveryStreamName="hose")
    assert excinfo.value.response["Error"]["Message"] == "Firehose hose under account 123456789012 not found."
    assert excinfo.value.operation_name == "DescribeDeliveryStream"
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == []
    gone = firehose.delivery_stream("hose")
    assert gone.objects == [] and gone.totals["lab.DiscardedOnDeleteRecords"] == 1
    sim.advance(1000)
    assert gone.objects == []


@pytest.mark.parametrize("change, code", [
    ({"BufferingHints": {"SizeInMBs": 5}}, "InvalidArgumentException"),            # one hint without the other
    ({"BufferingHints": {"SizeInMBs": 200, "IntervalInSeconds": 60}}, "ValidationException"),  # model max 128
    ({"BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 901}}, "ValidationException"),   # model max 900
    ({"CompressionFormat": "ZIP"}, "InvalidArgumentException"),                    # not simulated
    ({"Prefix": "!{partitionKeyFromQuery:id}/"}, "InvalidArgumentException"),      # dynamic partitioning
    ({"DynamicPartitioningConfiguration": {"Enabled": True}}, "InvalidArgumentException"),
    ({"DataFormatConversionConfiguration": {}}, "InvalidArgumentException"),       # Enabled defaults to true
    ({"S3BackupMode": "Enabled"}, "InvalidArgumentException"),
])
def test_create_argument_errors(change, code):
    firehose = Simulator(seed=0).client("firehose")
    with pytest.raises(ClientError) as excinfo:
        firehose.create_delivery_stream(DeliveryStreamName="hose",
                                        ExtendedS3DestinationConfiguration={**s3_config(), **change})
    assert error_code(excinfo) == code
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == []


def test_create_errors_names_and_destinations():
    sim = Simulator(seed=0)
    firehose = sim.client("firehose")
    firehose.create_delivery_stream(DeliveryStreamName="hose", ExtendedS3DestinationConfiguration=s3_config())
    with pytest.raises(firehose.exceptions.ResourceInUseException):
        firehose.create_delivery_stream(DeliveryStreamName="hose", ExtendedS3DestinationConfiguration=s3_config())
    with pytest.raises(firehose.exceptions.InvalidArgumentException):  # two destinations
        firehose.create_delivery_stream(DeliveryStreamName="two", ExtendedS3DestinationConfiguration=s3_config(),
                                        S3DestinationConfiguration=s3_config())
    with pytest.raises(firehose.exceptions.InvalidArgumentException):  # no destination
        firehose.create_delivery_stream(DeliveryStreamName="none")
    with pytest.raises(firehose.exceptions.InvalidArgumentException):  # KinesisStreamAsSource without its config
        firehose.create_delivery_stream(DeliveryStreamName="src", DeliveryStreamType="KinesisStreamAsSource",
                                        ExtendedS3DestinationConfiguration=s3_config())
    with pytest.raises(ClientError) as excinfo:  # name pattern from the model
        firehose.create_delivery_stream(DeliveryStreamName="bad name!", ExtendedS3DestinationConfiguration=s3_config())
    assert error_code(excinfo) == "ValidationException"
    with pytest.raises(ParamValidationError):  # boto3 checks minimums on the client
        firehose.create_delivery_stream(DeliveryStreamName="hose2",
                                        ExtendedS3DestinationConfiguration=s3_config(size_mib=0))
    with pytest.raises(firehose.exceptions.ResourceNotFoundException):
        firehose.delete_delivery_stream(DeliveryStreamName="nope")


def test_put_size_errors():
    sim = Simulator(seed=0)
    active_stream(sim)
    firehose = sim.client("firehose")
    with pytest.raises(ClientError) as excinfo:  # Record.Data max 1,024,000 bytes in the model
        put(sim, b"x" * 1_024_001)
    assert error_code(excinfo) == "ValidationException"
    put(sim, b"x" * 1_024_000)
    with pytest.raises(firehose.exceptions.InvalidArgumentException, match="4194304"):
        firehose.put_record_batch(DeliveryStreamName="hose", Records=[{"Data": b"x" * 1_000_000}] * 5)
    with pytest.raises(ClientError) as excinfo:
        firehose.put_record_batch(DeliveryStreamName="hose", Records=[{"Data": b"x"}] * 501)
    assert error_code(excinfo) == "ValidationException"
    with pytest.raises(ParamValidationError):
        firehose.put_record_batch(DeliveryStreamName="hose", Records=[])


def test_batch_throttling_is_per_record_and_refills_each_second():
    sim = Simulator(seed=0)
    stream = active_stream(sim)
    firehose = sim.client("firehose")
    batch = [{"Data": b"x" * 1_000_000}] * 4
    first = firehose.put_record_batch(DeliveryStreamName="hose", Records=batch)
    second = firehose.put_record_batch(DeliveryStreamName="hose", Records=batch)
    assert first["FailedPutCount"] == 0
    # 5 MiB/s: the fifth 1,000,000-byte record of this second fits, the other three do not.
    assert second["FailedPutCount"] == 3
    assert "RecordId" in second["RequestResponses"][0]
    assert second["RequestResponses"][1:] == [
        {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}] * 3
    assert stream.totals["ThrottledRecords"] == 3
    with pytest.raises(firehose.exceptions.ServiceUnavailableException):
        put(sim, b"x" * 300_000)
    sim.advance(1)
    assert firehose.put_record_batch(DeliveryStreamName="hose", Records=batch)["FailedPutCount"] == 0


def test_request_rate_throttles_the_whole_call():
    sim = Simulator(seed=0, limits=Limits().override(firehose_direct_put_requests_per_second=2))
    active_stream(sim)
    firehose = sim.client("firehose")
    put(sim, b"1")
    firehose.put_record_batch(DeliveryStreamName="hose", Records=[{"Data": b"2"}])
    with pytest.raises(firehose.exceptions.ServiceUnavailableException) as excinfo:
        firehose.put_record_batch(DeliveryStreamName="hose", Records=[{"Data": b"3"}])
    assert excinfo.value.response["Error"]["Message"] == "Slow down."
    sim.advance(1)
    put(sim, b"4")


def test_smaller_regions_have_a_smaller_direct_put_quota():
    sim = Simulator(seed=0, region="ap-south-1")
    active_stream(sim)
    put(sim, b"x" * 600_000)
    with pytest.raises(ClientError) as excinfo:  # 1 MiB/s outside the three largest Regions
        put(sim, b"x" * 600_000)
    assert error_code(excinfo) == "ServiceUnavailableException"


def test_list_pagination_and_type_filter():
    sim = Simulator(seed=0)
    firehose = sim.client("firehose")
    for name in ("c", "a", "b"):
        firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_config())
    page = firehose.list_delivery_streams(Limit=2)
    assert (page["DeliveryStreamNames"], page["HasMoreDeliveryStreams"]) == (["a", "b"], True)
    page = firehose.list_delivery_streams(Limit=2, ExclusiveStartDeliveryStreamName="b")
    assert (page["DeliveryStreamNames"], page["HasMoreDeliveryStreams"]) == (["c"], False)
    assert firehose.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource")["DeliveryStreamNames"] == []


# --- Response shapes against botocore's model ------------------------------------------------------

_PYTHON_TYPES = {"string": str, "integer": int, "long": int, "boolean": bool, "timestamp": datetime,
                 "blob": bytes, "double": float, "float": float, "list": list, "structure": dict, "map": dict}


def assert_shape(value, shape, path="response") -> None:
    """``value`` is what botocore would parse for ``shape``: known members, required present, right types."""
    assert isinstance(value, _PYTHON_TYPES[shape.type_name]), (path, shape.type_name, value)
    if shape.type_name == "structure":
        for name in shape.required_members:
            assert name in value, f"{path}: required {name} missing"
        for name, item in value.items():
            assert name in shape.members, f"{path}: {name} is not in {shape.name}"
            assert_shape(item, shape.members[name], f"{path}.{name}")
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            assert_shape(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "string" and shape.enum:
        assert value in shape.enum, (path, value)


def check(operation: str, response: dict) -> None:
    response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    assert_shape(response, service_model("firehose").operation_model(operation).output_shape)


def test_responses_match_botocore_output_shapes(transform_arn):
    register_transform(transform_arn, _by_content)
    sim = Simulator(seed=4)
    kinesis, firehose, _ = _kinesis_sourced(sim)
    check("CreateDeliveryStream", firehose.create_delivery_stream(
        DeliveryStreamName="direct",
        ExtendedS3DestinationConfiguration=s3_config(Prefix="p/", ErrorOutputPrefix="err/",
                                                     ProcessingConfiguration=_transform_config(transform_arn))))
    sim.advance(CREATING)
    for name in ("direct", "from-kinesis"):
        check("DescribeDeliveryStream", firehose.describe_delivery_stream(DeliveryStreamName=name))
    check("ListDeliveryStreams", firehose.list_delivery_streams())
    check("PutRecord", firehose.put_record(DeliveryStreamName="direct", Record={"Data": b"keep"}))
    check("PutRecordBatch", firehose.put_record_batch(DeliveryStreamName="direct", Records=[{"Data": b"a"}]))
    check("DeleteDeliveryStream", firehose.delete_delivery_stream(DeliveryStreamName="direct"))


# --- Results: frame, usage, sinks, determinism ------------------------------------------------------

def test_empty_frame_has_the_documented_columns():
    stream = DeliveryStream(Simulator(seed=0), "engine-only")
    assert stream.status == "ACTIVE"
    assert list(stream.deliveries_frame().columns) == DELIVERY_COLUMNS


def test_usage_bills_every_record_rounded_up_to_5_kib():
    sim = Simulator(seed=0)
    stream = active_stream(sim)
    sizes = [1, 3 * KiB, 5 * KiB, 42 * KiB, 100_000]
    for size in sizes:
        put(sim, b"u" * size)
    usage = stream.usage()
    assert (usage.records, usage.bytes, list(usage.record_sizes)) == (5, sum(sizes), sizes)
    billed = sum(math.ceil(s / 5120) * 5120 for s in sizes)
    assert usage.billed_bytes() == billed
    prices = Prices()
    assert usage.ingest_cost_usd() == pytest.approx(billed / prices.bytes_per_gb * prices.firehose_ingest_usd_per_gb)
    assert usage.ingest_cost_usd() == pytest.approx(firehose_ingest_cost(sizes))


def test_folder_sink_writes_files(tmp_path):
    register_bucket_folder(BUCKET, tmp_path)
    try:
        sim = Simulator(seed=0)
        stream = active_stream(sim, size_mib=1, interval=30)
        put(sim, b"to disk")
        sim.advance(30)
        key = stream.objects[0].key
        assert (tmp_path / key).read_bytes() == b"to disk"
        assert stream.read(key) == b"to disk"
    finally:
        unregister_bucket_folder(BUCKET)
    with pytest.raises(ValueError):
        FolderSink(tmp_path).put("../outside", b"")


def test_engine_is_usable_without_the_client():
    sim = Simulator(seed=0)
    stream = DeliveryStream(sim, "engine", buffering=BufferingHints(size_mib=1, interval_seconds=5))
    stream.ingest(b"abc")
    sim.advance(5)
    assert stream.read(stream.objects[0].key) == b"abc"
    with pytest.raises(ValueError):
        DeliveryStream(sim, "bad", buffering=BufferingHints(size_mib=129))


def _run(seed: int) -> tuple:
    sim = Simulator(seed=seed)
    stream = active_stream(sim, size_mib=1, interval=20)
    firehose = sim.client("firehose")
    ids = []
    for i in range(300):
        response = firehose.put_record_batch(DeliveryStreamName="hose",
                                             Records=[{"Data": bytes([i % 256]) * (1000 + 37 * i)}] * 3)
        ids += [r["RecordId"] for r in response["RequestResponses"]]
        sim.advance(0.5)
    sim.advance(30)
    return ids, [(o, stream.read(o.key)) for o in stream.objects], stream.deliveries_frame()


def test_same_seed_same_run():
    ids_a, objects_a, frame_a = _run(seed=42)
    ids_b, objects_b, frame_b = _run(seed=42)
    assert ids_a == ids_b and objects_a == objects_b
    assert frame_a.equals(frame_b)
    assert {o.trigger for o, _ in objects_a} == {"size", "interval"}
    ids_c, objects_c, _ = _run(seed=43)
    assert ids_c != ids_a
    assert [o.key for o, _ in objects_c] != [o.key for o, _ in objects_a]
    assert [body for _, body in objects_c] == [body for _, body in objects_a]  # same data, other uuids
