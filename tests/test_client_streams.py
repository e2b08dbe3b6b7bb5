"""Control plane: stream lifecycle, describe/list and paging, retention, limits, enhanced
monitoring, tags, waiters, and the account shard quota."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ParamValidationError, WaiterError

import kinesislab
from conftest import ACCOUNT, START, Lab, expect_error


# ---------------------------------------------------------------------------- lifecycle

def test_stream_is_creating_for_5_virtual_seconds_then_active(sim, kinesis):
    assert kinesis.create_stream(StreamName="s", ShardCount=2)["ResponseMetadata"]["HTTPStatusCode"] == 200
    summary = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "CREATING"
    assert summary["StreamCreationTimestamp"] == START
    # Data-plane calls on a stream that is still being created: not found.
    expect_error(kinesis.put_record, "ResourceNotFoundException", StreamName="s", Data=b"x", PartitionKey="k")
    sim.advance(4.999)
    assert kinesis.describe_stream(StreamName="s")["StreamDescription"]["StreamStatus"] == "CREATING"
    sim.advance(0.001)
    assert kinesis.describe_stream(StreamName="s")["StreamDescription"]["StreamStatus"] == "ACTIVE"
    assert kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")["ShardId"] in (
        "shardId-000000000000", "shardId-000000000001")


def test_create_existing_stream_is_resource_in_use(lab, kinesis):
    lab.stream("s")
    error = expect_error(kinesis.create_stream, "ResourceInUseException", StreamName="s", ShardCount=1)
    assert error.response["Error"]["Message"] == f"Stream s under account {ACCOUNT} already exists."
    assert isinstance(error, kinesis.exceptions.ResourceInUseException)
    assert error.operation_name == "CreateStream"


def test_at_most_5_streams_creating_at_once(sim, kinesis):
    for i in range(5):
        kinesis.create_stream(StreamName=f"s{i}", ShardCount=1)
    expect_error(kinesis.create_stream, "LimitExceededException", StreamName="s5", ShardCount=1)
    assert "s5" not in sim.streams
    sim.advance(5)
    kinesis.create_stream(StreamName="s5", ShardCount=1)


def test_provisioned_stream_needs_a_shard_count_and_on_demand_refuses_one(kinesis):
    expect_error(kinesis.create_stream, "InvalidArgumentException", StreamName="s")
    error = expect_error(kinesis.create_stream, "ValidationException", StreamName="s", ShardCount=2,
                         StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert error.response["Error"]["Message"] == "ShardCount is not expected when StreamMode=ON_DEMAND"
    with pytest.raises(ParamValidationError):
        kinesis.create_stream(StreamName="s", ShardCount=0)


def test_delete_stream_goes_deleting_then_disappears(lab, sim, kinesis):
    lab.stream("s")
    kinesis.delete_stream(StreamName="s")
    assert kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamStatus"] == "DELETING"
    expect_error(kinesis.delete_stream, "ResourceInUseException", StreamName="s")
    sim.advance(5)
    error = expect_error(kinesis.describe_stream, "ResourceNotFoundException", StreamName="s")
    assert error.response["Error"]["Message"] == f"Stream s under account {ACCOUNT} not found."
    assert kinesis.list_streams()["StreamNames"] == []
    # The name can be used again, and the new stream starts fresh.
    lab.stream("s", shards=2)
    assert len(lab.shard_ids("s")) == 2


def test_streams_are_addressable_by_arn(lab, kinesis):
    lab.stream("s", shards=1)
    arn = lab.arn("s")
    assert arn == f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s"
    assert kinesis.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"] == "s"
    put = kinesis.put_record(StreamARN=arn, Data=b"x", PartitionKey="k")
    assert put["ShardId"] == "shardId-000000000000"
    assert kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]["StreamARN"] == arn
    missing = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/other"
    expect_error(kinesis.describe_stream, "ResourceNotFoundException", StreamARN=missing)
    expect_error(kinesis.describe_stream, "InvalidArgumentException")


def test_describe_stream_and_summary_fields(lab, kinesis):
    lab.stream("s", shards=3)
    description = kinesis.describe_stream(StreamName="s")["StreamDescription"]
    assert description["StreamStatus"] == "ACTIVE"
    assert description["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert description["RetentionPeriodHours"] == 24
    assert description["HasMoreShards"] is False
    assert description["EncryptionType"] == "NONE"
    assert description["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    assert description["StreamCreationTimestamp"] == START
    summary = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert (summary["OpenShardCount"], summary["ConsumerCount"], summary["MaxRecordSizeInKiB"]) == (3, 0, 1024)
    assert len(summary["StreamId"]) == 24


def test_describe_stream_pages_shards(lab, kinesis):
    lab.stream("s", shards=5)
    first = kinesis.describe_stream(StreamName="s", Limit=2)["StreamDescription"]
    assert [s["ShardId"] for s in first["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    assert first["HasMoreShards"] is True
    rest = kinesis.describe_stream(StreamName="s", ExclusiveStartShardId="shardId-000000000001")["StreamDescription"]
    assert [s["ShardId"] for s in rest["Shards"]] == [f"shardId-00000000000{i}" for i in (2, 3, 4)]
    assert rest["HasMoreShards"] is False


def test_describe_stream_returns_at_most_100_shards(lab, kinesis):
    lab.stream("s", shards=120)
    page = kinesis.describe_stream(StreamName="s")["StreamDescription"]
    assert len(page["Shards"]) == 100 and page["HasMoreShards"] is True
    page = kinesis.describe_stream(StreamName="s", Limit=10_000)["StreamDescription"]
    assert len(page["Shards"]) == 100


# ---------------------------------------------------------------------------- listing and paging

def test_list_streams_paging(lab, sim, kinesis):
    for name in ("e", "a", "d", "c", "b"):
        lab.stream(name)
    page = kinesis.list_streams(Limit=2)
    assert page["StreamNames"] == ["a", "b"] and page["HasMoreStreams"] is True
    assert [s["StreamName"] for s in page["StreamSummaries"]] == ["a", "b"]
    assert page["StreamSummaries"][0]["StreamStatus"] == "ACTIVE"
    page2 = kinesis.list_streams(Limit=2, NextToken=page["NextToken"])
    assert page2["StreamNames"] == ["c", "d"] and page2["HasMoreStreams"] is True
    page3 = kinesis.list_streams(Limit=2, NextToken=page2["NextToken"])
    assert page3["StreamNames"] == ["e"] and page3["HasMoreStreams"] is False
    assert "NextToken" not in page3
    assert kinesis.list_streams(ExclusiveStartStreamName="c")["StreamNames"] == ["d", "e"]
    full = kinesis.list_streams()
    assert full["StreamNames"] == ["a", "b", "c", "d", "e"] and full["HasMoreStreams"] is False
    # Tokens live 300 virtual seconds.
    sim.advance(300)
    assert kinesis.list_streams(Limit=2, NextToken=page["NextToken"])["StreamNames"] == ["c", "d"]
    sim.advance(0.5)
    expect_error(kinesis.list_streams, "ExpiredNextTokenException", Limit=2, NextToken=page["NextToken"])
    expect_error(kinesis.list_streams, "InvalidArgumentException", NextToken="garbage")


def test_list_shards_paging_and_next_token_rules(lab, sim, kinesis):
    lab.stream("s", shards=5)
    page = kinesis.list_shards(StreamName="s", MaxResults=2)
    assert [s["ShardId"] for s in page["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    page2 = kinesis.list_shards(NextToken=page["NextToken"], MaxResults=2)
    assert [s["ShardId"] for s in page2["Shards"]] == ["shardId-000000000002", "shardId-000000000003"]
    page3 = kinesis.list_shards(NextToken=page2["NextToken"], MaxResults=2)
    assert [s["ShardId"] for s in page3["Shards"]] == ["shardId-000000000004"]
    assert "NextToken" not in page3
    assert "NextToken" not in kinesis.list_shards(StreamName="s")
    error = expect_error(kinesis.list_shards, "InvalidArgumentException", StreamName="s", NextToken=page["NextToken"])
    assert error.response["Error"]["Message"] == "NextToken and StreamName cannot be provided together."
    error = expect_error(kinesis.list_shards, "InvalidArgumentException")
    assert error.response["Error"]["Message"] == "Either NextToken or StreamName should be provided."
    ids = [s["ShardId"] for s in kinesis.list_shards(StreamName="s", ExclusiveStartShardId="shardId-000000000002")["Shards"]]
    assert ids == ["shardId-000000000003", "shardId-000000000004"]
    sim.advance(300.5)
    expect_error(kinesis.list_shards, "ExpiredNextTokenException", NextToken=page["NextToken"])


def test_list_shards_filters(lab, sim, kinesis):
    lab.stream("s", shards=2)
    created = sim.now
    kinesis.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    lab.reshard_done("s")
    split_at = sim.now
    sim.advance(10)

    def ids(**shard_filter):
        return [s["ShardId"] for s in kinesis.list_shards(StreamName="s", ShardFilter=shard_filter)["Shards"]]

    everything = ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]
    assert ids(Type="FROM_TRIM_HORIZON") == everything
    assert ids(Type="AT_TRIM_HORIZON") == everything
    assert ids(Type="AT_LATEST") == ["shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]
    assert ids(Type="AFTER_SHARD_ID", ShardId="shardId-000000000001") == ["shardId-000000000002",
                                                                          "shardId-000000000003"]
    assert ids(Type="AT_TIMESTAMP", Timestamp=created) == ["shardId-000000000000", "shardId-000000000001"]
    assert ids(Type="AT_TIMESTAMP", Timestamp=split_at + timedelta(seconds=1)) == [
        "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]
    assert ids(Type="FROM_TIMESTAMP", Timestamp=created) == everything


# ---------------------------------------------------------------------------- retention

def test_retention_increase_and_decrease_rules(lab, kinesis):
    lab.stream("s")
    summary = lambda: kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]  # noqa: E731
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=48)
    assert summary()["RetentionPeriodHours"] == 48
    error = expect_error(kinesis.increase_stream_retention_period, "InvalidArgumentException",
                         StreamName="s", RetentionPeriodHours=24)
    assert error.response["Error"]["Message"] == (
        "Requested retention period (24 hours) for stream s can not be shorter than existing retention period "
        "(48 hours). Use DecreaseRetentionPeriod API.")
    error = expect_error(kinesis.decrease_stream_retention_period, "InvalidArgumentException",
                         StreamName="s", RetentionPeriodHours=72)
    assert error.response["Error"]["Message"] == (
        "Requested retention period (72 hours) for stream s can not be longer than existing retention period "
        "(48 hours). Use IncreaseRetentionPeriod API.")
    error = expect_error(kinesis.decrease_stream_retention_period, "InvalidArgumentException",
                         StreamName="s", RetentionPeriodHours=23)
    assert error.response["Error"]["Message"] == (
        "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.")
    error = expect_error(kinesis.increase_stream_retention_period, "InvalidArgumentException",
                         StreamName="s", RetentionPeriodHours=8761)
    assert error.response["Error"]["Message"] == (
        "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.")
    assert summary()["RetentionPeriodHours"] == 48
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=8760)
    assert summary()["RetentionPeriodHours"] == 8760
    kinesis.decrease_stream_retention_period(StreamName="s", RetentionPeriodHours=24)
    assert summary()["RetentionPeriodHours"] == 24
    # Setting the current value again is allowed both ways.
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=24)
    kinesis.decrease_stream_retention_period(StreamName="s", RetentionPeriodHours=24)


# ---------------------------------------------------------------------------- limits and quotas

def test_describe_limits(lab, kinesis):
    assert {k: v for k, v in kinesis.describe_limits().items() if k != "ResponseMetadata"} == {
        "ShardLimit": 20_000, "OpenShardCount": 0, "OnDemandStreamCount": 0, "OnDemandStreamCountLimit": 50}
    lab.stream("a", shards=3)
    lab.stream("b", shards=2)
    lab.stream("od", mode="ON_DEMAND")
    limits = kinesis.describe_limits()
    # On-demand shards do not count against the provisioned shard quota.
    assert (limits["OpenShardCount"], limits["OnDemandStreamCount"]) == (5, 1)
    kinesis.split_shard(StreamName="a", ShardToSplit="shardId-000000000000", NewStartingHashKey="1000")
    lab.reshard_done("a")
    assert kinesis.describe_limits()["OpenShardCount"] == 6


def test_region_defaults():
    assert kinesislab.Simulator(region="eu-west-1").client("kinesis").describe_limits()["ShardLimit"] == 20_000
    assert kinesislab.Simulator(region="ap-south-1").client("kinesis").describe_limits()["ShardLimit"] == 6_000
    assert kinesislab.limits_2022("us-east-1").account_shard_quota == 500
    assert kinesislab.limits_2022("ap-south-1").account_shard_quota == 200


def test_account_shard_quota_is_enforced():
    sim = kinesislab.Simulator(seed=0, limits=kinesislab.Limits().override(account_shard_quota=10))
    lab = Lab(sim)
    kinesis = lab.k
    assert kinesis.describe_limits()["ShardLimit"] == 10
    lab.stream("a", shards=8)
    error = expect_error(kinesis.create_stream, "LimitExceededException", StreamName="b", ShardCount=3)
    assert error.response["Error"]["Message"].startswith(
        f"This request would exceed the shard limit for the account {ACCOUNT} in us-east-1. "
        "Current shard count for the account: 8. Limit: 10. "
        "Number of additional shards that would have resulted from this request: 3.")
    assert "b" not in sim.streams
    lab.stream("b", shards=2)
    # At the quota: splits and scale-ups are refused, merges are fine.
    expect_error(kinesis.split_shard, "LimitExceededException", StreamName="a",
                 ShardToSplit="shardId-000000000000", NewStartingHashKey="1000")
    expect_error(kinesis.update_shard_count, "LimitExceededException", StreamName="b", TargetShardCount=3,
                 ScalingType="UNIFORM_SCALING")
    kinesis.merge_shards(StreamName="a", ShardToMerge="shardId-000000000000", AdjacentShardToMerge="shardId-000000000001")
    lab.reshard_done("a")
    assert kinesis.describe_limits()["OpenShardCount"] == 9
    kinesis.split_shard(StreamName="a", ShardToSplit="shardId-000000000002", NewStartingHashKey=str(2**126 + 5))
    lab.reshard_done("a")
    assert kinesis.describe_limits()["OpenShardCount"] == 10


def test_on_demand_stream_quota():
    sim = kinesislab.Simulator(seed=0, limits=kinesislab.Limits().override(on_demand_stream_quota=2))
    lab = Lab(sim)
    lab.stream("a", mode="ON_DEMAND")
    lab.stream("b", mode="ON_DEMAND")
    expect_error(lab.k.create_stream, "LimitExceededException", StreamName="c",
                 StreamModeDetails={"StreamMode": "ON_DEMAND"})
    lab.stream("p", shards=1)
    expect_error(lab.k.update_stream_mode, "LimitExceededException", StreamARN=lab.arn("p"),
                 StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert lab.k.describe_limits()["OnDemandStreamCount"] == 2


# ---------------------------------------------------------------------------- enhanced monitoring

def test_enhanced_monitoring_enable_disable(lab, kinesis):
    lab.stream("s")
    response = kinesis.enable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["IncomingBytes"])
    assert response["StreamName"] == "s"
    assert response["CurrentShardLevelMetrics"] == []
    assert response["DesiredShardLevelMetrics"] == ["IncomingBytes"]
    response = kinesis.enable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["ALL"])
    assert response["CurrentShardLevelMetrics"] == ["IncomingBytes"]
    all_seven = sorted(["IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
                        "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
                        "IteratorAgeMilliseconds"])
    assert response["DesiredShardLevelMetrics"] == all_seven
    assert kinesis.describe_stream(StreamName="s")["StreamDescription"]["EnhancedMonitoring"] == [
        {"ShardLevelMetrics": all_seven}]
    response = kinesis.disable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["IncomingBytes", "OutgoingBytes"])
    assert response["CurrentShardLevelMetrics"] == all_seven
    assert response["DesiredShardLevelMetrics"] == [m for m in all_seven if m not in ("IncomingBytes", "OutgoingBytes")]
    response = kinesis.disable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["ALL"])
    assert response["DesiredShardLevelMetrics"] == []
    expect_error(kinesis.enable_enhanced_monitoring, "ValidationException", StreamName="s",
                 ShardLevelMetrics=["NotAMetric"])


# ---------------------------------------------------------------------------- tags

def test_tags_add_list_page_remove_and_50_max(lab, kinesis):
    lab.stream("s")
    kinesis.add_tags_to_stream(StreamName="s", Tags={f"k{i:02d}": str(i) for i in range(49)})
    kinesis.add_tags_to_stream(StreamName="s", Tags={"k00": "zero"})  # overwrite, still 49
    kinesis.add_tags_to_stream(StreamName="s", Tags={"k49": "49"})  # 50
    before = lab.snapshot()
    error = expect_error(kinesis.add_tags_to_stream, "InvalidArgumentException", StreamName="s", Tags={"extra": "1"})
    assert error.response["Error"]["Message"] == (
        f"Failed to add tags to stream s under account {ACCOUNT} because a given stream cannot have more than "
        "50 tags associated with it.")
    assert lab.snapshot() == before
    page = kinesis.list_tags_for_stream(StreamName="s", Limit=10)
    assert [t["Key"] for t in page["Tags"]] == [f"k{i:02d}" for i in range(10)]
    assert page["Tags"][0] == {"Key": "k00", "Value": "zero"}
    assert page["HasMoreTags"] is True
    page = kinesis.list_tags_for_stream(StreamName="s", ExclusiveStartTagKey="k45")
    assert [t["Key"] for t in page["Tags"]] == ["k46", "k47", "k48", "k49"]
    assert page["HasMoreTags"] is False
    assert len(kinesis.list_tags_for_stream(StreamName="s")["Tags"]) == 50
    kinesis.remove_tags_from_stream(StreamName="s", TagKeys=["k00", "k01", "absent"])
    assert len(kinesis.list_tags_for_stream(StreamName="s")["Tags"]) == 48
    expect_error(kinesis.create_stream, "InvalidArgumentException", StreamName="t", ShardCount=1,
                 Tags={f"k{i}": "v" for i in range(51)})
    lab.stream("t", shards=1, Tags={"team": "data"})
    assert kinesis.list_tags_for_stream(StreamName="t")["Tags"] == [{"Key": "team", "Value": "data"}]


# ---------------------------------------------------------------------------- waiters

def test_stream_exists_waiter_polls_in_virtual_time(sim, kinesis):
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="s")
    # botocore's StreamExists polls DescribeStream every 10 s: ACTIVE at the second poll.
    assert sim.now == START + timedelta(seconds=10)
    assert kinesis.describe_stream(StreamName="s")["StreamDescription"]["StreamStatus"] == "ACTIVE"
    kinesis.get_waiter("stream_exists").wait(StreamName="s", WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    assert sim.now == START + timedelta(seconds=10)


def test_stream_not_exists_waiter(lab, sim, kinesis):
    lab.stream("s")
    t0 = sim.now
    kinesis.delete_stream(StreamName="s")
    kinesis.get_waiter("stream_not_exists").wait(StreamName="s")
    assert sim.now == t0 + timedelta(seconds=10)
    assert "s" not in sim.streams


def test_waiter_gives_up_after_max_attempts(sim, kinesis):
    with pytest.raises(WaiterError):
        kinesis.get_waiter("stream_exists").wait(StreamName="never")
    assert sim.now == START + timedelta(seconds=10 * 17)  # 18 attempts, 17 delays
    with pytest.raises(ValueError):
        kinesis.get_waiter("no_such_waiter")


def test_a_copied_simulator_goes_on_on_its_own():
    import copy

    sim = kinesislab.Simulator(seed=3)
    kinesis = sim.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="s")
    kinesis.put_record(StreamName="s", Data=b"before", PartitionKey="k")
    twin = copy.deepcopy(sim)
    twin_kinesis = twin.client("kinesis")
    assert twin_kinesis is not kinesis and twin.clock.time == sim.clock.time
    twin_kinesis.put_record(StreamName="s", Data=b"only in the copy", PartitionKey="k")
    twin.advance(60)
    for client, expected in ((kinesis, [b"before"]), (twin_kinesis, [b"before", b"only in the copy"])):
        iterator = client.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert [r["Data"] for r in client.get_records(ShardIterator=iterator)["Records"]] == expected
    assert twin.clock.time == sim.clock.time + 60
