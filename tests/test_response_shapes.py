"""Every response of every operation, checked recursively against botocore's output shape for
that operation: no unknown keys, every required member, the right Python types (bytes for blobs,
tz-aware datetimes for timestamps, decimal strings for hash keys and sequence numbers, int for
integers and longs), enums, patterns and lengths. SubscribeToShard's events are checked against
``SubscribeToShardEvent``."""

from __future__ import annotations

import re
from datetime import datetime

import botocore.session
import pytest
from botocore.exceptions import ClientError

from conftest import Lab
from kinesislab.api.registry import operations

MODEL = botocore.session.get_session().get_service_model("kinesis")
SHARD0, SHARD1 = "shardId-000000000000", "shardId-000000000001"


def check_shape(value, shape, path: str = "") -> None:
    """Assert that ``value`` is what botocore would hand back for ``shape``."""
    kind = shape.type_name
    meta = shape.metadata
    assert value is not None, f"{path}: None (botocore omits absent members)"
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: {type(value)} is not a dict"
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{path}: unknown keys {sorted(unknown)}"
        missing = [m for m in shape.required_members if m not in value]
        assert not missing, f"{path}: required members missing {missing}"
        for name, item in value.items():
            check_shape(item, shape.members[name], f"{path}.{name}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: {type(value)} is not a list"
        # No minimum on output lists: the service answers ``"ShardLevelMetrics": []`` although the
        # (input-oriented) MetricsNameList has min 1 (real output in the CLI docs, facts CLI-EX).
        if "max" in meta:
            assert len(value) <= meta["max"], path
        for index, item in enumerate(value):
            check_shape(item, shape.member, f"{path}[{index}]")
    elif kind == "map":
        assert isinstance(value, dict), path
        for key, item in value.items():
            check_shape(key, shape.key, f"{path}<key>")
            check_shape(item, shape.value, f"{path}[{key!r}]")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: {type(value)} is not str"
        if shape.enum:
            assert value in shape.enum, f"{path}: {value!r} not in {shape.enum}"
        if "pattern" in meta:
            assert re.fullmatch(meta["pattern"], value), f"{path}: {value!r} !~ {meta['pattern']}"
        if "min" in meta:
            assert len(value) >= meta["min"], path
        if "max" in meta:
            assert len(value) <= meta["max"], path
    elif kind == "blob":
        assert isinstance(value, bytes), f"{path}: {type(value)} is not bytes"
        if "max" in meta:
            assert len(value) <= meta["max"], path
    elif kind == "timestamp":
        assert isinstance(value, datetime), f"{path}: {type(value)} is not datetime"
        assert value.tzinfo is not None and value.utcoffset().total_seconds() == 0, f"{path}: not UTC-aware"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {type(value)} is not int"
        # No minimum check: FailedRecordCount is a PositiveIntegerObject (min 1) yet the service
        # answers 0 when nothing failed; minimums in this model describe requests.
        assert value >= 0, path
        if "max" in meta:
            assert value <= meta["max"], path
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: {type(value)} is not bool"
    elif kind in ("double", "float"):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), path
    else:  # pragma: no cover - the Kinesis model has no other kinds
        raise AssertionError(f"{path}: unhandled shape type {kind}")


def check_response(operation_name: str, response: dict) -> None:
    assert isinstance(response, dict)
    metadata = response["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == 200 and isinstance(metadata["RequestId"], str)
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    output = MODEL.operation_model(operation_name).output_shape
    if output is None:
        assert body == {}, f"{operation_name} has no output shape but returned {sorted(body)}"
        return
    if operation_name == "SubscribeToShard":
        assert set(body) == {"EventStream"}
        return
    check_shape(body, output, operation_name)


EVENT_SHAPE = MODEL.operation_model("SubscribeToShard").output_shape.members["EventStream"].members[
    "SubscribeToShardEvent"]


class Recorder:
    """Calls the client and checks every response; remembers which operations were covered."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.covered: dict[str, int] = {}

    def __call__(self, operation_name: str, **params) -> dict:
        method = getattr(self.lab.k, re.sub(r"(?<!^)(?=[A-Z])", "_", operation_name).lower())
        response = method(**params)
        check_response(operation_name, response)
        self.covered[operation_name] = self.covered.get(operation_name, 0) + 1
        return response


def test_check_shape_catches_mistakes():
    shape = MODEL.operation_model("PutRecord").output_shape
    good = {"ShardId": SHARD0, "SequenceNumber": "1", "EncryptionType": "NONE"}
    check_shape(good, shape)
    bad_cases = [
        {"ShardId": SHARD0},  # missing required
        {**good, "Extra": 1},  # unknown key
        {**good, "SequenceNumber": 1},  # int where a decimal string belongs
        {**good, "SequenceNumber": "01"},  # not a decimal string
        {**good, "EncryptionType": "AES"},  # not in the enum
        {**good, "ShardId": None},  # None instead of absent
    ]
    for bad in bad_cases:
        with pytest.raises(AssertionError):
            check_shape(bad, shape)
    records = MODEL.operation_model("GetRecords").output_shape
    with pytest.raises(AssertionError):  # str where bytes belong; naive datetime
        check_shape({"Records": [{"SequenceNumber": "1", "Data": "x", "PartitionKey": "k",
                                  "ApproximateArrivalTimestamp": datetime(2026, 1, 1)}]}, records)
    with pytest.raises(AssertionError):  # bool is not an integer
        check_shape({"Records": [], "MillisBehindLatest": True}, records)


def test_every_operation_response_matches_the_output_shape(lab, sim):
    call = Recorder(lab)
    k = lab.k
    call("CreateStream", StreamName="s", ShardCount=2, Tags={"team": "data"})
    call("CreateStream", StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"}, WarmThroughputMiBps=8)
    call("CreateStream", StreamName="big", ShardCount=1, MaxRecordSizeInKiB=4096)
    k.get_waiter("stream_exists").wait(StreamName="s")
    lab.wait_active("od")
    lab.wait_active("big")
    arn = lab.arn("s")

    # Describe and list, before and after traffic.
    call("DescribeStream", StreamName="s")
    call("DescribeStream", StreamName="s", Limit=1)
    call("DescribeStreamSummary", StreamName="s")
    call("DescribeStreamSummary", StreamName="od")
    call("DescribeStreamSummary", StreamARN=lab.arn("big"))
    page = call("ListStreams", Limit=1)
    call("ListStreams", NextToken=page["NextToken"])
    call("ListStreams")
    page = call("ListShards", StreamName="s", MaxResults=1)
    call("ListShards", NextToken=page["NextToken"])
    call("ListShards", StreamName="s", ShardFilter={"Type": "AT_LATEST"})
    call("DescribeLimits")
    if "DescribeAccountSettings" in operations("kinesis"):
        call("DescribeAccountSettings")
        call("UpdateAccountSettings", MinimumThroughputBillingCommitment={"Status": "ENABLED"})
        call("DescribeAccountSettings")
        call("UpdateAccountSettings", MinimumThroughputBillingCommitment={"Status": "DISABLED"})
        call("DescribeAccountSettings")

    # Tags, retention, monitoring.
    call("AddTagsToStream", StreamName="s", Tags={"a": "1", "b": "2"})
    call("ListTagsForStream", StreamName="s", Limit=1)
    call("ListTagsForStream", StreamName="s")
    call("RemoveTagsFromStream", StreamName="s", TagKeys=["a"])
    call("IncreaseStreamRetentionPeriod", StreamName="s", RetentionPeriodHours=48)
    call("DecreaseStreamRetentionPeriod", StreamName="s", RetentionPeriodHours=24)
    call("EnableEnhancedMonitoring", StreamName="s", ShardLevelMetrics=["ALL"])
    call("DisableEnhancedMonitoring", StreamName="s", ShardLevelMetrics=["OutgoingBytes"])
    call("DescribeStream", StreamName="s")

    # Writes, including throttled entries.
    call("PutRecord", StreamName="s", Data=b"hello", PartitionKey="k", ExplicitHashKey="0")
    call("PutRecord", StreamARN=arn, Data=b"", PartitionKey="é")
    call("PutRecord", StreamName="s", Data=b"x", PartitionKey="k", SequenceNumberForOrdering="0")
    call("PutRecords", StreamName="s", Records=[{"Data": b"x", "PartitionKey": f"k{i}"} for i in range(500)])
    call("PutRecords", StreamName="s", Records=[{"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": "0"}] * 500)
    throttled = call("PutRecords", StreamName="s",
                     Records=[{"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": "0"}] * 400)
    assert throttled["FailedRecordCount"] > 0
    call("PutRecords", StreamName="od", Records=[{"Data": b"od", "PartitionKey": "k"}])
    lab.to_next_second()

    # Reads: every iterator type, empty reads, the end of a closed shard.
    iterator = call("GetShardIterator", StreamName="s", ShardId=SHARD0, ShardIteratorType="TRIM_HORIZON")
    response = call("GetRecords", ShardIterator=iterator["ShardIterator"], Limit=2)
    number = response["Records"][0]["SequenceNumber"]
    call("GetRecords", ShardIterator=response["NextShardIterator"])
    call("GetShardIterator", StreamName="s", ShardId=SHARD0, ShardIteratorType="AT_SEQUENCE_NUMBER",
         StartingSequenceNumber=number)
    call("GetShardIterator", StreamName="s", ShardId=SHARD0, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
         StartingSequenceNumber=number)
    call("GetShardIterator", StreamName="s", ShardId=SHARD0, ShardIteratorType="AT_TIMESTAMP", Timestamp=sim.now)
    lab.to_next_second()
    latest = call("GetShardIterator", StreamARN=arn, ShardId=SHARD1, ShardIteratorType="LATEST")
    call("GetRecords", ShardIterator=latest["ShardIterator"])

    # Enhanced fan-out.
    consumer = call("RegisterStreamConsumer", StreamARN=arn, ConsumerName="app")["Consumer"]
    call("DescribeStreamConsumer", ConsumerARN=consumer["ConsumerARN"])
    call("DescribeStreamConsumer", StreamARN=arn, ConsumerName="app")
    call("ListStreamConsumers", StreamARN=arn)
    call("RegisterStreamConsumer", StreamARN=arn, ConsumerName="other")
    page = call("ListStreamConsumers", StreamARN=arn, MaxResults=1)
    call("ListStreamConsumers", StreamARN=arn, NextToken=page["NextToken"])
    sim.advance(5)
    events = call("SubscribeToShard", ConsumerARN=consumer["ConsumerARN"], ShardId=SHARD0,
                  StartingPosition={"Type": "TRIM_HORIZON"})["EventStream"]
    delivered = 0
    for _ in range(3):
        event = next(iter(events))
        assert set(event) == {"SubscribeToShardEvent"}
        check_shape(event["SubscribeToShardEvent"], EVENT_SHAPE, "SubscribeToShardEvent")
        delivered += len(event["SubscribeToShardEvent"]["Records"])
    assert delivered > 0
    call("DeregisterStreamConsumer", ConsumerARN=consumer["ConsumerARN"])
    call("DeregisterStreamConsumer", StreamARN=arn, ConsumerName="other")
    sim.advance(5)

    # Resharding; then the closed parent's last read and its last fan-out event.
    call("SplitShard", StreamName="s", ShardToSplit=SHARD0, NewStartingHashKey=str(2**126))
    call("DescribeStream", StreamName="s")
    lab.reshard_done("s")
    call("MergeShards", StreamName="s", ShardToMerge="shardId-000000000003", AdjacentShardToMerge=SHARD1)
    lab.reshard_done("s")
    records, last = lab.read_shard("s", SHARD0)
    assert records and "ChildShards" in last
    check_response("GetRecords", {**last, "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "x"}})
    late = call("RegisterStreamConsumer", StreamARN=arn, ConsumerName="late")["Consumer"]
    sim.advance(5)
    closed_events = list(call("SubscribeToShard", ConsumerARN=late["ConsumerARN"], ShardId=SHARD0,
                              StartingPosition={"Type": "AT_TIMESTAMP", "Timestamp": sim.now})["EventStream"])
    assert "ChildShards" in closed_events[-1]["SubscribeToShardEvent"]
    for event in closed_events:
        check_shape(event["SubscribeToShardEvent"], EVENT_SHAPE, "SubscribeToShardEvent")
    call("UpdateShardCount", StreamName="s", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    lab.reshard_done("s")
    call("ListShards", StreamName="s")
    call("DescribeStream", StreamName="s")
    call("UpdateStreamMode", StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    lab.wait_active("s")
    call("DescribeStreamSummary", StreamName="s")
    call("UpdateMaxRecordSize", StreamARN=lab.arn("big"), MaxRecordSizeInKiB=10240)
    lab.wait_active("big")
    call("DescribeStreamSummary", StreamName="big")
    call("DescribeLimits")
    call("DeleteStream", StreamName="big")
    call("DeleteStream", StreamARN=arn, EnforceConsumerDeletion=True)
    call("ListStreams")

    registered = set(operations("kinesis"))
    assert set(call.covered) == registered, sorted(registered - set(call.covered))


def test_error_responses_look_like_botocore_client_errors(lab):
    lab.stream("s")
    with pytest.raises(ClientError) as excinfo:
        lab.k.describe_stream(StreamName="missing")
    response = excinfo.value.response
    assert set(response["Error"]) == {"Code", "Message"}
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert excinfo.value.operation_name == "DescribeStream"
    assert str(excinfo.value) == (
        "An error occurred (ResourceNotFoundException) when calling the DescribeStream operation: "
        "Stream missing under account 123456789012 not found.")
    # Every error class the client raises is one of the model's.
    modeled = {shape.name for shape in MODEL.error_shapes}
    for name in ("ResourceNotFoundException", "ResourceInUseException", "InvalidArgumentException",
                 "LimitExceededException", "ProvisionedThroughputExceededException", "ExpiredIteratorException",
                 "ExpiredNextTokenException", "ValidationException"):
        assert name in modeled
        assert issubclass(getattr(lab.k.exceptions, name), ClientError)
