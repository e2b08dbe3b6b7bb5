"""On-demand Advantage (UpdateAccountSettings / DescribeAccountSettings) and its 50-consumer
limit; retention changes never bring expired records back (facts §5, §6, §7)."""

from __future__ import annotations

from conftest import expect_error

DAY = 86_400


def register_many(sim, kinesis, arn: str, count: int, prefix: str = "c") -> None:
    for i in range(count):
        kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=f"{prefix}{i:02d}")
        if i % 5 == 4:
            sim.advance(5)   # at most 5 consumers may be CREATING at once


def test_advantage_status_and_commitment(sim, kinesis):
    described = kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]
    assert described["Status"] == "DISABLED"
    on = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    assert on["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED"
    sim.advance(3600)
    off = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
    commitment = off["MinimumThroughputBillingCommitment"]
    assert commitment["Status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
    assert (commitment["EarliestAllowedEndAt"] - commitment["StartedAt"]).total_seconds() == DAY
    sim.advance(DAY)
    assert kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]["Status"] == "DISABLED"


def test_fifty_consumers_on_demand_with_advantage(lab, sim, kinesis):
    kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    kinesis.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    sim.advance(10)
    od = lab.arn("od")
    register_many(sim, kinesis, od, 50)
    error = expect_error(kinesis.register_stream_consumer, "LimitExceededException", StreamARN=od, ConsumerName="x")
    assert "50" in error.response["Error"]["Message"]
    # A provisioned stream in the same account keeps 20.
    lab.stream("prov")
    prov = lab.arn("prov")
    register_many(sim, kinesis, prov, 20)
    error = expect_error(kinesis.register_stream_consumer, "LimitExceededException", StreamARN=prov, ConsumerName="x")
    assert "20" in error.response["Error"]["Message"]


def test_on_demand_standard_keeps_twenty(lab, sim, kinesis):
    kinesis.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    sim.advance(10)
    od = lab.arn("od")
    register_many(sim, kinesis, od, 20)
    expect_error(kinesis.register_stream_consumer, "LimitExceededException", StreamARN=od, ConsumerName="x")


def test_increasing_retention_does_not_resurrect(lab, sim, kinesis):
    lab.stream("s", shards=1)
    for _ in range(72):
        kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")
        sim.advance(3600)
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=168)
    iterator = kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert len(records) == 24
