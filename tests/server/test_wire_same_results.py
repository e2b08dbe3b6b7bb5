"""Same results on the wire as in-process: one deterministic script of Kinesis calls runs once
against ``sim_a.client("kinesis")`` and once through boto3 against ``sim_b.serve(speed=0)`` (same
seed, ``advance`` at the same points). Every response must be equal after dropping
ResponseMetadata (timestamps compared as UTC instants: boto3 parses them in local time), and
every error equal in class, code and message."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

from botocore.exceptions import ClientError, ParamValidationError

import kinesislab
from kinesislab.engine.hashing import HASH_KEY_SPACE

from .conftest import boto_kinesis


def normalise(value):
    """Responses without ResponseMetadata, datetimes as UTC, bytes as bytes."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, datetime):
        assert value.tzinfo is not None, "timestamps must be timezone-aware"
        return value.astimezone(timezone.utc)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


class Recorder:
    """Runs calls against one client and records each outcome, in order."""

    def __init__(self, kinesis, sim: kinesislab.Simulator):
        self.k = kinesis
        self.sim = sim
        self.log: list[tuple] = []

    def __call__(self, label: str, operation: str, **params):
        try:
            response = getattr(self.k, operation)(**params)
        except ClientError as error:
            self.log.append((label, "error", type(error).__name__, error.response["Error"]["Code"],
                             error.response["Error"]["Message"]))
            return None
        except ParamValidationError as error:
            self.log.append((label, "param-error", str(error)))
            return None
        self.log.append((label, "ok", normalise(response)))
        return response

    def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)
        self.log.append(("advance", seconds, self.sim.clock.time))


def script(call: Recorder) -> None:
    """One tour of the API, with throttles, expiries and resharding, at fixed virtual instants."""
    # ---------------------------------------------------------------- streams
    call("create one", "create_stream", StreamName="one", ShardCount=1)
    call("create four", "create_stream", StreamName="four", ShardCount=4)
    call("create again", "create_stream", StreamName="one", ShardCount=1)
    call("describe creating", "describe_stream_summary", StreamName="one")
    call("put while creating", "put_record", StreamName="one", Data=b"x", PartitionKey="k")
    call.advance(5)
    call("describe active", "describe_stream", StreamName="one")
    call("list streams", "list_streams")
    call("missing stream", "describe_stream", StreamName="nope")
    call("client-side validation", "create_stream", StreamName="", ShardCount=1)
    call("service-side validation", "create_stream", StreamName="x" * 200, ShardCount=1)

    # ---------------------------------------------------------------- writes and write throttling
    arn = f"arn:aws:kinesis:us-east-1:{call.sim.account_id}:stream/one"
    call("put record", "put_record", StreamName="one", Data=b"hello", PartitionKey="customer-1")
    call("put by arn", "put_record", StreamARN=arn, Data="text data", PartitionKey="customer-2")
    call.advance(0.5)
    batch = [{"Data": bytes([i % 256]) * 100, "PartitionKey": f"user-{i}"} for i in range(500)]
    for i in range(3):   # 1,500 records in one second: the third batch is refused entry by entry
        call(f"batch {i}", "put_records", StreamName="one", Records=batch)
    call("put record throttled", "put_record", StreamName="one", Data=b"late", PartitionKey="k")
    call.advance(0.5)
    call("put after refill", "put_record", StreamName="one", Data=b"refilled", PartitionKey="k",
         ExplicitHashKey=str(HASH_KEY_SPACE // 3))
    big = [{"Data": b"b" * (300 * 1024), "PartitionKey": f"b{i}"} for i in range(5)]
    call("bytes limit", "put_records", StreamName="one", Records=big)
    call("record too large", "put_record", StreamName="one", Data=b"x" * (1024 * 1024), PartitionKey="k")
    call("bad explicit hash key", "put_record", StreamName="one", Data=b"x", PartitionKey="k",
         ExplicitHashKey=str(HASH_KEY_SPACE))
    call.advance(1)
    keyed = [{"Data": f"r{i}".encode(), "PartitionKey": f"key-{i % 13}"} for i in range(200)]
    call("spread over four", "put_records", StreamName="four", Records=keyed)

    # ---------------------------------------------------------------- reads and read throttling
    iterator = call("iterator", "get_shard_iterator", StreamName="one", ShardId="shardId-000000000000",
                    ShardIteratorType="TRIM_HORIZON")
    first = iterator["ShardIterator"] if iterator else None
    call("get records page", "get_records", ShardIterator=first, Limit=100)
    for i in range(5):   # five calls per second per shard: the sixth is refused
        call(f"get records {i}", "get_records", ShardIterator=first, Limit=10)
    call.advance(1)
    page = call("get records after refill", "get_records", ShardIterator=first, Limit=10000)
    after = page["Records"][5]["SequenceNumber"] if page else "1"
    call("at sequence", "get_shard_iterator", StreamName="one", ShardId="shardId-000000000000",
         ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=after)
    call("after sequence", "get_shard_iterator", StreamName="one", ShardId="shardId-000000000000",
         ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
    stamp = kinesislab.Simulator().now + timedelta(seconds=5, milliseconds=500)
    at_time = call("at timestamp", "get_shard_iterator", StreamName="one", ShardId="shardId-000000000000",
                   ShardIteratorType="AT_TIMESTAMP", Timestamp=stamp)
    call.advance(1)
    if at_time:
        call("read at timestamp", "get_records", ShardIterator=at_time["ShardIterator"], Limit=3)
    call("latest", "get_shard_iterator", StreamName="one", ShardId="shardId-000000000000",
         ShardIteratorType="LATEST")
    call("iterator bad shard", "get_shard_iterator", StreamName="one", ShardId="shardId-000000000009",
         ShardIteratorType="LATEST")
    call("garbled iterator", "get_records", ShardIterator=base64.b64encode(b"garbage" * 10).decode())
    call.advance(301)
    call("expired iterator", "get_records", ShardIterator=first)

    # ---------------------------------------------------------------- resharding
    call("split", "split_shard", StreamName="four", ShardToSplit="shardId-000000000000",
         NewStartingHashKey=str(HASH_KEY_SPACE // 8))
    call("split while updating", "split_shard", StreamName="four", ShardToSplit="shardId-000000000001",
         NewStartingHashKey=str(HASH_KEY_SPACE // 8 * 3))
    call.advance(30)
    call("merge not adjacent", "merge_shards", StreamName="four", ShardToMerge="shardId-000000000001",
         AdjacentShardToMerge="shardId-000000000003")
    call("merge", "merge_shards", StreamName="four", ShardToMerge="shardId-000000000002",
         AdjacentShardToMerge="shardId-000000000003")
    call.advance(30)
    call("split closed", "split_shard", StreamName="four", ShardToSplit="shardId-000000000000",
         NewStartingHashKey=str(HASH_KEY_SPACE // 16))
    call("update shard count", "update_shard_count", StreamName="one", TargetShardCount=2,
         ScalingType="UNIFORM_SCALING")
    call.advance(30)
    call("update shard count too far", "update_shard_count", StreamName="one", TargetShardCount=5,
         ScalingType="UNIFORM_SCALING")
    call("put after reshard", "put_records", StreamName="four", Records=keyed)
    shards = call("list shards page 1", "list_shards", StreamName="four", MaxResults=2)
    token = shards.get("NextToken") if shards else None
    while token:
        shards = call("list shards next", "list_shards", NextToken=token, MaxResults=2)
        token = shards.get("NextToken") if shards else None
    call("list shards with both", "list_shards", StreamName="four", NextToken="abc")
    call("list shards open", "list_shards", StreamName="four", ShardFilter={"Type": "AT_LATEST"})
    call("describe after reshard", "describe_stream", StreamName="four")
    parent = call("parent iterator", "get_shard_iterator", StreamName="four", ShardId="shardId-000000000000",
                  ShardIteratorType="TRIM_HORIZON")
    if parent:
        call("drain parent", "get_records", ShardIterator=parent["ShardIterator"])
    call.advance(1)
    child = call("child iterator", "get_shard_iterator", StreamName="four", ShardId="shardId-000000000004",
                 ShardIteratorType="TRIM_HORIZON")
    if child:
        call("read child", "get_records", ShardIterator=child["ShardIterator"])

    # ---------------------------------------------------------------- retention, tags, monitoring, limits
    call("retention up", "increase_stream_retention_period", StreamName="one", RetentionPeriodHours=48)
    call("retention up wrong way", "increase_stream_retention_period", StreamName="one", RetentionPeriodHours=24)
    call("retention down", "decrease_stream_retention_period", StreamName="one", RetentionPeriodHours=24)
    call("retention too long", "increase_stream_retention_period", StreamName="one", RetentionPeriodHours=9000)
    call("tag", "add_tags_to_stream", StreamName="one", Tags={"team": "data", "env": "lab", "cost": "42"})
    call("list tags", "list_tags_for_stream", StreamName="one", Limit=2)
    call("list tags next", "list_tags_for_stream", StreamName="one", ExclusiveStartTagKey="env")
    call("untag", "remove_tags_from_stream", StreamName="one", TagKeys=["env"])
    call("list tags after", "list_tags_for_stream", StreamName="one")
    call("enable monitoring", "enable_enhanced_monitoring", StreamName="one",
         ShardLevelMetrics=["IncomingBytes", "WriteProvisionedThroughputExceeded"])
    call("disable monitoring", "disable_enhanced_monitoring", StreamName="one", ShardLevelMetrics=["IncomingBytes"])
    call("bad metric", "enable_enhanced_monitoring", StreamName="one", ShardLevelMetrics=["Nope"])
    call("describe limits", "describe_limits")
    call("summary", "describe_stream_summary", StreamName="one")

    # ---------------------------------------------------------------- enhanced fan-out consumers
    stream_arn = f"arn:aws:kinesis:us-east-1:{call.sim.account_id}:stream/four"
    registered = call("register", "register_stream_consumer", StreamARN=stream_arn, ConsumerName="app")
    call("register again", "register_stream_consumer", StreamARN=stream_arn, ConsumerName="app")
    call("register second", "register_stream_consumer", StreamARN=stream_arn, ConsumerName="audit")
    consumer_arn = registered["Consumer"]["ConsumerARN"] if registered else "arn:none"
    call("subscribe while creating", "subscribe_to_shard", ConsumerARN=consumer_arn, ShardId="shardId-000000000001",
         StartingPosition={"Type": "LATEST"})
    call.advance(5)
    call("describe consumer", "describe_stream_consumer", ConsumerARN=consumer_arn)
    call("describe consumer by name", "describe_stream_consumer", StreamARN=stream_arn, ConsumerName="audit")
    consumers = call("list consumers", "list_stream_consumers", StreamARN=stream_arn, MaxResults=1)
    if consumers and "NextToken" in consumers:
        call("list consumers next", "list_stream_consumers", StreamARN=stream_arn,
             NextToken=consumers["NextToken"])
    call("deregister", "deregister_stream_consumer", ConsumerARN=consumer_arn)
    call("describe deleting", "describe_stream_consumer", ConsumerARN=consumer_arn)
    call.advance(5)
    call("describe deleted", "describe_stream_consumer", ConsumerARN=consumer_arn)

    # ---------------------------------------------------------------- deletion
    call("delete with consumers", "delete_stream", StreamName="four")
    call("delete enforced", "delete_stream", StreamName="four", EnforceConsumerDeletion=True)
    call("describe deleting stream", "describe_stream_summary", StreamName="four")
    call.advance(10)
    call("list after delete", "list_streams")


def test_one_script_same_answers_in_process_and_through_boto3(served):
    sim_a = kinesislab.Simulator(seed=7)
    in_process = Recorder(sim_a.client("kinesis"), sim_a)
    script(in_process)

    sim_b = served(seed=7, speed=0)
    wire = Recorder(boto_kinesis(sim_b.endpoint.url), sim_b)
    script(wire)

    assert len(in_process.log) == len(wire.log)
    for expected, got in zip(in_process.log, wire.log):
        assert got == expected, f"{expected[0]!r} differs"
    # The script exercised what it claims to: throttles, expiry, errors of several kinds.
    outcomes = {entry[0]: entry for entry in wire.log}
    assert outcomes["batch 2"][2]["FailedRecordCount"] == 500
    assert outcomes["put record throttled"][3] == "ProvisionedThroughputExceededException"
    assert outcomes["get records 4"][3] == "ProvisionedThroughputExceededException"
    assert outcomes["expired iterator"][3] == "ExpiredIteratorException"
    assert outcomes["split while updating"][3] == "ResourceInUseException"
    assert outcomes["client-side validation"][1] == "param-error"
    assert outcomes["service-side validation"][3] == "ValidationException"
    assert outcomes["register again"][3] == "ResourceInUseException"
    assert sum(1 for entry in wire.log if entry[0] == "list shards next") >= 2
    # And the two simulators ended in the same state.
    assert sim_a.clock.time == sim_b.clock.time
    assert sim_a.metrics("one").equals(sim_b.metrics("one"))
