"""On-demand capacity mode (facts §5): 4 shards to start, twice the previous peak, throttling
while capacity catches up for 15 minutes, the hot-key cap, mode switches, the per-stream maximum."""

from __future__ import annotations

import kinesislab
from conftest import Lab, expect_error, explicit_keys
from kinesislab.limits import GiB, MiB

SCALE_UP = 15 * 60


def offer(lab: Lab, count: int, size: int = 10, name: str = "od") -> int:
    """Offer ``count`` records spread evenly over the key space in this second; returns accepted."""
    accepted = 0
    keys = explicit_keys(count)
    for start in range(0, count, 500):
        batch = [{"Data": b"x" * (size - 1), "PartitionKey": "k", "ExplicitHashKey": key}
                 for key in keys[start:start + 500]]
        response = lab.k.put_records(StreamName=name, Records=batch)
        accepted += len(batch) - response["FailedRecordCount"]
    return accepted


def open_count(lab: Lab, name: str = "od") -> int:
    return len(lab.shard_ids(name, open_only=True))


def test_new_on_demand_stream_has_4_shards_4_mib_and_4000_records_per_second(lab, sim, kinesis):
    lab.stream("od", mode="ON_DEMAND")
    summary = kinesis.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert summary["OpenShardCount"] == 4
    assert sim.limits.on_demand_initial_write_bytes_per_second == 4 * MiB
    assert sim.limits.on_demand_initial_write_records_per_second == 4000
    assert offer(lab, 4001) == 4000
    lab.to_next_second()
    # 4 MiB/s: 2 KiB records, 2048 of them fill it.
    assert offer(lab, 2049, size=2048) == 2048
    frame = sim.metrics("od")
    assert list(frame["IncomingRecords"].iloc[-2:]) == [4000, 2048]
    assert list(frame["IncomingBytes"].iloc[-2:]) == [40_000, 4 * MiB]
    assert list(frame["WriteProvisionedThroughputExceeded"].iloc[-2:]) == [1, 1]


def test_traffic_within_twice_the_previous_peak_is_absorbed(lab, sim):
    lab.stream("od", mode="ON_DEMAND")
    # The starting capacity (4,000/s) is twice a 2,000/s "previous peak".
    assert offer(lab, 2000) == 2000
    lab.to_next_second()
    assert offer(lab, 4000) == 4000  # doubling is absorbed at once
    seen = sim.clock.time
    lab.to_next_second()
    assert open_count(lab) == 4
    # 15 minutes after the 4,000/s peak was seen, capacity is twice that peak.
    sim.clock.advance_to(seen + 1 + SCALE_UP - 0.001)
    assert open_count(lab) == 4
    sim.clock.advance_to(seen + 1 + SCALE_UP)
    assert open_count(lab) == 8
    assert offer(lab, 8000) == 8000  # twice the new peak, absorbed


def test_more_than_doubling_is_throttled_until_capacity_arrives_15_minutes_later(lab, sim):
    lab.stream("od", mode="ON_DEMAND")
    peak_second = sim.now
    assert offer(lab, 8000) == 4000  # more than double the 2,000/s "previous peak": throttled
    assert sim.metrics("od").loc[peak_second, "WriteProvisionedThroughputExceeded"] == 4000
    t = sim.clock.time
    sim.clock.advance_to(t + 60 * 14)
    assert offer(lab, 4001) == 4000  # 14 minutes on: still the starting capacity
    sim.clock.advance_to(t + SCALE_UP + 0.999)
    assert open_count(lab) == 4
    sim.clock.advance_to(t + SCALE_UP + 1)  # 15 minutes after the peak second ended
    assert open_count(lab) == 16
    assert offer(lab, 16_000) == 16_000  # twice the 8,000/s peak: throttling has stopped
    assert sim.metrics("od").loc[sim.now, "WriteProvisionedThroughputExceeded"] == 0
    # The stream stays on-demand and ACTIVE; new shards are children of the old ones.
    shards = lab.k.list_shards(StreamName="od")["Shards"]
    assert sum(1 for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]) == 12
    assert lab.k.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"


def test_one_hot_key_stays_capped_at_one_shard(lab, sim):
    lab.stream("od", mode="ON_DEMAND")
    offer(lab, 8000)
    sim.advance(SCALE_UP + 2)
    lab.to_next_second()
    assert open_count(lab) == 16
    assert lab.put_many("od", 2000, key="hot", size=10)["accepted"] == 1000
    lab.to_next_second()
    # ... and at 1 MiB/s: 2 KiB records, 512 of them.
    assert lab.put_many("od", 600, key="hot", size=2048)["accepted"] == 512


def test_the_busiest_shard_is_split_first(lab, sim):
    lab.stream("od", mode="ON_DEMAND")
    first = lab.k.list_shards(StreamName="od")["Shards"][0]
    low = int(first["HashKeyRange"]["StartingHashKey"])
    high = int(first["HashKeyRange"]["EndingHashKey"])
    # 3,000 records/s aimed at shard 0 alone (over 500 KB/s of demand there): 1,000 accepted.
    keys = [str(low + (high - low) * i // 3000) for i in range(3000)]
    accepted = 0
    for start in range(0, 3000, 500):
        response = lab.k.put_records(StreamName="od", Records=[
            {"Data": b"x" * 199, "PartitionKey": "k", "ExplicitHashKey": key} for key in keys[start:start + 500]])
        accepted += 500 - response["FailedRecordCount"]
    assert accepted == 1000
    sim.advance(SCALE_UP + 2)
    shards = {s["ShardId"]: s for s in lab.k.list_shards(StreamName="od")["Shards"]}
    assert open_count(lab) == 6  # twice the 3,000/s peak
    assert shards["shardId-000000000004"]["ParentShardId"] == "shardId-000000000000"
    assert shards["shardId-000000000005"]["ParentShardId"] == "shardId-000000000000"


def test_update_stream_mode_twice_per_rolling_24_hours(lab, sim, kinesis):
    lab.stream("s", shards=3)
    arn = lab.arn("s")
    first = sim.clock.time
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "UPDATING" and summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    lab.wait_active("s")
    summary = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert summary["OpenShardCount"] == 3  # the shard count is kept at the switch
    assert kinesis.describe_limits()["OnDemandStreamCount"] == 1
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
    lab.wait_active("s")
    before = lab.snapshot()
    error = expect_error(kinesis.update_stream_mode, "LimitExceededException", StreamARN=arn,
                         StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert "2" in error.response["Error"]["Message"]
    assert lab.snapshot() == before
    sim.clock.advance_to(first + 24 * 3600 - 1)
    expect_error(kinesis.update_stream_mode, "LimitExceededException", StreamARN=arn,
                 StreamModeDetails={"StreamMode": "ON_DEMAND"})
    sim.clock.advance_to(first + 24 * 3600)
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    lab.wait_active("s")
    assert kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamModeDetails"] == {
        "StreamMode": "ON_DEMAND"}


def test_update_stream_mode_needs_an_active_stream(sim, kinesis):
    kinesis.create_stream(StreamName="s", ShardCount=1)
    expect_error(kinesis.update_stream_mode, "ResourceInUseException", StreamARN=sim.streams["s"].arn,
                 StreamModeDetails={"StreamMode": "ON_DEMAND"})


def test_switching_to_on_demand_neither_grows_nor_throttles_at_once(lab, sim, kinesis):
    lab.stream("s", shards=2)
    kinesis.update_stream_mode(StreamARN=lab.arn("s"), StreamModeDetails={"StreamMode": "ON_DEMAND"})
    lab.wait_active("s")
    # The kept 2 shards count as capacity for twice a 1,000/s peak: 2,000/s passes at once ...
    assert offer(lab, 2000, name="s") == 2000
    assert len(lab.shard_ids("s", open_only=True)) == 2
    # ... and, being a new 2,000/s peak, becomes 4 shards 15 minutes later.
    sim.advance(SCALE_UP + 1)
    assert len(lab.shard_ids("s", open_only=True)) == 4


def test_traffic_at_the_inherited_peak_does_not_grow_a_switched_stream(lab, sim, kinesis):
    lab.stream("s", shards=2)
    kinesis.update_stream_mode(StreamARN=lab.arn("s"), StreamModeDetails={"StreamMode": "ON_DEMAND"})
    lab.wait_active("s")
    assert offer(lab, 1000, name="s") == 1000
    sim.advance(SCALE_UP + 5)
    assert len(lab.shard_ids("s", open_only=True)) == 2


def test_per_region_maximum_is_a_setting():
    assert kinesislab.limits_for_region("ap-south-1").on_demand_max_write_bytes_per_second == 200 * MiB
    assert kinesislab.limits_for_region("us-east-1").on_demand_max_write_bytes_per_second == 10 * GiB
    assert kinesislab.limits_for_region("eu-west-1").on_demand_max_write_bytes_per_second == 10 * GiB
    assert kinesislab.limits_2022("us-east-1").on_demand_max_write_bytes_per_second == 200 * MiB


def _offer_mib_records(lab: Lab, count: int) -> None:
    """Offer ``count`` records of 1 MiB spread over the key space (demand, whatever is throttled)."""
    keys = explicit_keys(count)
    for start in range(0, count, 10):
        lab.k.put_records(StreamName="od", Records=[
            {"Data": b"x" * (MiB - 1), "PartitionKey": "k", "ExplicitHashKey": key} for key in keys[start:start + 10]])


def test_on_demand_stream_never_grows_past_the_region_maximum():
    # 120 MiB offered in one second asks for 240 MiB/s of capacity.
    capped = Lab(kinesislab.Simulator(seed=0, region="ap-south-1"))
    capped.stream("od", mode="ON_DEMAND")
    _offer_mib_records(capped, 120)
    capped.sim.advance(SCALE_UP + 2)
    assert open_count(capped) == 200  # 200 MiB/s
    free = Lab(kinesislab.Simulator(seed=0, region="us-east-1"))
    free.stream("od", mode="ON_DEMAND")
    _offer_mib_records(free, 120)
    free.sim.advance(SCALE_UP + 2)
    assert open_count(free) == 240


def test_override_of_the_per_stream_maximum():
    lab = Lab(kinesislab.Simulator(seed=0, limits=kinesislab.Limits().override(
        on_demand_max_write_bytes_per_second=6 * MiB)))
    lab.stream("od", mode="ON_DEMAND")
    offer(lab, 8000)
    lab.sim.advance(SCALE_UP + 2)
    assert open_count(lab) == 6


def test_warm_throughput_pre_provisions_shards(lab, sim, kinesis):
    lab.stream("od", mode="ON_DEMAND", WarmThroughputMiBps=8)
    summary = kinesis.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 8
    assert summary["WarmThroughput"] == {"TargetMiBps": 8, "CurrentMiBps": 8}
    assert offer(lab, 8000) == 8000
    expect_error(kinesis.create_stream, "InvalidArgumentException", StreamName="p", ShardCount=1,
                 WarmThroughputMiBps=8)


def test_demand_before_a_switch_to_on_demand_does_not_pick_the_shard_to_split(lab, sim, kinesis):
    # Demand per shard counts only while the stream is on demand (CHOSEN, engine/ondemand.py): a
    # busy second on the last shard before the switch does not make it the busiest afterwards.
    lab.stream("s", shards=4)
    last = lab.k.list_shards(StreamName="s")["Shards"][3]["HashKeyRange"]["StartingHashKey"]
    lab.k.put_records(StreamName="s", Records=[{"Data": b"x" * 900, "PartitionKey": "k", "ExplicitHashKey": last}
                                               for _ in range(500)])
    sim.advance(1)
    kinesis.update_stream_mode(StreamARN=lab.arn("s"), StreamModeDetails={"StreamMode": "ON_DEMAND"})
    lab.wait_active("s")
    assert offer(lab, 2500, name="s") == 2500      # even over the 4 shards: a new peak of 2,500/s
    sim.advance(SCALE_UP + 1)
    assert open_count(lab, "s") == 5               # twice the peak: one split, of the first of equals
    shards = lab.k.list_shards(StreamName="s")["Shards"]
    assert {s.get("ParentShardId") for s in shards} - {None} == {"shardId-000000000000"}
