"""SplitShard, MergeShards, UpdateShardCount: lineage, CLOSED parents, reading across a
reshard, UPDATING status, scaling limits, on-demand refusals (facts §4)."""

from __future__ import annotations

import kinesislab
from conftest import ACCOUNT, Lab, expect_error
from kinesislab.engine.hashing import MAX_HASH_KEY, even_split

S0, S1, S2, S3, S4, S5 = (f"shardId-00000000000{i}" for i in range(6))
HALF = str(2**127)


def shards_by_id(kinesis, name="s"):
    return {s["ShardId"]: s for s in kinesis.list_shards(StreamName=name)["Shards"]}


def test_split_closes_the_parent_and_opens_two_children(lab, sim, kinesis):
    lab.stream("s", shards=1)
    before = kinesis.put_record(StreamName="s", Data=b"before", PartitionKey="k")
    response = kinesis.split_shard(StreamName="s", ShardToSplit=S0, NewStartingHashKey=HALF)
    assert set(response) == {"ResponseMetadata"}
    assert kinesis.describe_stream(StreamName="s")["StreamDescription"]["StreamStatus"] == "UPDATING"
    # Writes keep working while UPDATING; they still go to the parent.
    during = kinesis.put_record(StreamName="s", Data=b"during", PartitionKey="k")
    assert during["ShardId"] == S0
    sim.advance(4.999)
    assert kinesis.describe_stream(StreamName="s")["StreamDescription"]["StreamStatus"] == "UPDATING"
    assert list(shards_by_id(kinesis)) == [S0]
    sim.advance(0.001)
    assert kinesis.describe_stream(StreamName="s")["StreamDescription"]["StreamStatus"] == "ACTIVE"
    shards = shards_by_id(kinesis)
    assert list(shards) == [S0, S1, S2]
    parent = shards[S0]["SequenceNumberRange"]
    assert int(parent["EndingSequenceNumber"]) > int(during["SequenceNumber"]) > int(before["SequenceNumber"])
    assert shards[S1] == {"ShardId": S1, "ParentShardId": S0,
                          "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(2**127 - 1)},
                          "SequenceNumberRange": shards[S1]["SequenceNumberRange"]}
    assert shards[S2]["HashKeyRange"] == {"StartingHashKey": HALF, "EndingHashKey": str(MAX_HASH_KEY)}
    assert "EndingSequenceNumber" not in shards[S1]["SequenceNumberRange"]
    assert kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["OpenShardCount"] == 2
    after = kinesis.put_record(StreamName="s", Data=b"after", PartitionKey="k")
    assert after["ShardId"] in (S1, S2)


def test_reshard_while_updating_is_resource_in_use(lab, kinesis):
    lab.stream("s", shards=2)
    kinesis.split_shard(StreamName="s", ShardToSplit=S0, NewStartingHashKey="100")
    error = expect_error(kinesis.split_shard, "ResourceInUseException", StreamName="s", ShardToSplit=S1,
                         NewStartingHashKey=str(2**127 + 100))
    assert error.response["Error"]["Message"] == f"Stream s under account {ACCOUNT} not ACTIVE, instead in state UPDATING"
    expect_error(kinesis.merge_shards, "ResourceInUseException", StreamName="s", ShardToMerge=S0,
                 AdjacentShardToMerge=S1)
    expect_error(kinesis.update_shard_count, "ResourceInUseException", StreamName="s", TargetShardCount=3,
                 ScalingType="UNIFORM_SCALING")


def test_reshard_while_creating_is_resource_in_use(sim, kinesis):
    kinesis.create_stream(StreamName="s", ShardCount=2)
    expect_error(kinesis.split_shard, "ResourceInUseException", StreamName="s", ShardToSplit=S0,
                 NewStartingHashKey="100")


def test_closed_shards_cannot_be_split_or_merged_again(lab, kinesis):
    lab.stream("s", shards=2)
    kinesis.split_shard(StreamName="s", ShardToSplit=S0, NewStartingHashKey="100")
    lab.reshard_done("s")
    error = expect_error(kinesis.split_shard, "InvalidArgumentException", StreamName="s", ShardToSplit=S0,
                         NewStartingHashKey="50")
    assert "has already been merged or split" in error.response["Error"]["Message"]
    expect_error(kinesis.merge_shards, "InvalidArgumentException", StreamName="s", ShardToMerge=S0,
                 AdjacentShardToMerge=S1)
    expect_error(kinesis.split_shard, "ResourceNotFoundException", StreamName="s", ShardToSplit="shardId-000000000099",
                 NewStartingHashKey="50")


def test_merge_requires_adjacent_shards(lab, kinesis):
    lab.stream("s", shards=3)
    before = lab.snapshot()
    for a, b in ((S0, S2), (S2, S0), (S1, S1)):
        error = expect_error(kinesis.merge_shards, "InvalidArgumentException", StreamName="s",
                             ShardToMerge=a, AdjacentShardToMerge=b)
        assert error.response["Error"]["Message"] == (
            f"Shards {a} and {b} in stream s under account {ACCOUNT} are not an adjacent pair of shards eligible "
            "for merging")
    assert lab.snapshot() == before
    # Either order of an adjacent pair is accepted; the child records who was who.
    kinesis.merge_shards(StreamName="s", ShardToMerge=S2, AdjacentShardToMerge=S1)
    lab.reshard_done("s")
    shards = shards_by_id(kinesis)
    child = shards[S3]
    assert child["ParentShardId"] == S2 and child["AdjacentParentShardId"] == S1
    assert child["HashKeyRange"] == {"StartingHashKey": str(even_split(3)[1].starting),
                                     "EndingHashKey": str(MAX_HASH_KEY)}
    assert "EndingSequenceNumber" in shards[S1]["SequenceNumberRange"]
    assert "EndingSequenceNumber" in shards[S2]["SequenceNumberRange"]
    assert lab.shard_ids("s", open_only=True) == [S0, S3]


def test_drained_parent_ends_with_no_next_iterator_and_child_shards(lab, sim, kinesis):
    lab.stream("s", shards=1)
    for i in range(3):
        kinesis.put_record(StreamName="s", Data=f"p{i}".encode(), PartitionKey="k")
    kinesis.split_shard(StreamName="s", ShardToSplit=S0, NewStartingHashKey=HALF)
    lab.reshard_done("s")
    iterator = lab.iterator("s", S0)
    first = kinesis.get_records(ShardIterator=iterator, Limit=2)
    assert [r["Data"] for r in first["Records"]] == [b"p0", b"p1"]
    assert first["NextShardIterator"] is not None and "ChildShards" not in first
    last = kinesis.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["Data"] for r in last["Records"]] == [b"p2"]
    assert last.get("NextShardIterator") is None
    assert last["ChildShards"] == [
        {"ShardId": S1, "ParentShards": [S0], "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(2**127 - 1)}},
        {"ShardId": S2, "ParentShards": [S0], "HashKeyRange": {"StartingHashKey": HALF,
                                                                "EndingHashKey": str(MAX_HASH_KEY)}},
    ]
    # A fresh iterator on the drained parent, e.g. LATEST, ends at once the same way.
    latest = kinesis.get_records(ShardIterator=lab.iterator("s", S0, "LATEST"))
    assert latest["Records"] == [] and latest.get("NextShardIterator") is None and len(latest["ChildShards"]) == 2


def test_merged_child_lists_both_parents(lab, kinesis):
    lab.stream("s", shards=2)
    kinesis.merge_shards(StreamName="s", ShardToMerge=S0, AdjacentShardToMerge=S1)
    lab.reshard_done("s")
    for parent in (S0, S1):
        _, last = lab.read_shard("s", parent)
        assert last.get("NextShardIterator") is None
        assert last["ChildShards"] == [{"ShardId": S2, "ParentShards": [S0, S1],
                                        "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(MAX_HASH_KEY)}}]


def test_parents_stay_readable_until_retention(lab, sim, kinesis):
    lab.stream("s", shards=1)
    kinesis.put_record(StreamName="s", Data=b"old", PartitionKey="k")
    sim.advance(10)
    kinesis.split_shard(StreamName="s", ShardToSplit=S0, NewStartingHashKey=HALF)
    lab.reshard_done("s")
    closed_at = sim.clock.time
    sim.advance(23 * 3600)
    assert [r["Data"] for r in lab.read_shard("s", S0)[0]] == [b"old"]
    sim.clock.advance_to(closed_at + 24 * 3600 + 1)
    assert S0 not in lab.shard_ids("s")
    expect_error(kinesis.get_shard_iterator, "ResourceNotFoundException", StreamName="s", ShardId=S0,
                 ShardIteratorType="TRIM_HORIZON")
    assert lab.shard_ids("s") == [S1, S2]
    # The children are now the first generation: no parent left to wait for.
    assert kinesis.list_shards(StreamName="s")["Shards"][0]["ParentShardId"] == S0


def test_per_key_order_across_a_split_for_a_parent_first_reader(lab, sim, kinesis):
    lab.stream("s", shards=1)
    keys = [f"key-{i}" for i in range(8)]
    sent = []
    for i in range(5):
        for key in keys:
            kinesis.put_record(StreamName="s", Data=f"{key}:{i}".encode(), PartitionKey=key)
            sent.append((key, i))
    kinesis.split_shard(StreamName="s", ShardToSplit=S0, NewStartingHashKey=HALF)
    lab.reshard_done("s")
    for i in range(5, 10):
        for key in keys:
            kinesis.put_record(StreamName="s", Data=f"{key}:{i}".encode(), PartitionKey=key)
    kinesis.merge_shards(StreamName="s", ShardToMerge=S1, AdjacentShardToMerge=S2)
    lab.reshard_done("s")
    for i in range(10, 15):
        for key in keys:
            kinesis.put_record(StreamName="s", Data=f"{key}:{i}".encode(), PartitionKey=key)
    got = [r["Data"].decode().split(":") for _, r in lab.read_all("s")]
    assert len(got) == 15 * len(keys)
    for key in keys:
        assert [int(i) for k, i in got if k == key] == list(range(15))


def test_update_shard_count_doubles_halves_and_evens_out(lab, sim, kinesis):
    lab.stream("s", shards=2)
    response = kinesis.update_shard_count(StreamName="s", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert {k: v for k, v in response.items() if k != "ResponseMetadata"} == {
        "StreamName": "s", "StreamARN": lab.arn("s"), "CurrentShardCount": 2, "TargetShardCount": 4}
    assert kinesis.describe_stream(StreamName="s")["StreamDescription"]["StreamStatus"] == "UPDATING"
    lab.reshard_done("s")
    assert lab.open_ranges("s") == [(r.starting, r.ending) for r in even_split(4)]
    error = expect_error(kinesis.update_shard_count, "LimitExceededException", StreamName="s", TargetShardCount=9,
                         ScalingType="UNIFORM_SCALING")
    assert "above 8" in error.response["Error"]["Message"]
    expect_error(kinesis.update_shard_count, "LimitExceededException", StreamName="s", TargetShardCount=1,
                 ScalingType="UNIFORM_SCALING")
    kinesis.update_shard_count(StreamName="s", TargetShardCount=3, ScalingType="UNIFORM_SCALING")
    lab.reshard_done("s")
    ranges = lab.open_ranges("s")
    assert len(ranges) == 3
    assert ranges[0][0] == 0 and ranges[-1][1] == MAX_HASH_KEY
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))
    assert ranges == [(r.starting, r.ending) for r in even_split(3)]
    kinesis.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    lab.reshard_done("s")
    assert lab.open_ranges("s") == [(r.starting, r.ending) for r in even_split(2)]
    assert kinesis.describe_limits()["OpenShardCount"] == 2


def test_update_shard_count_10_calls_per_rolling_24_hours(lab, sim, kinesis):
    lab.stream("s", shards=1)
    first_call = sim.clock.time
    for i in range(10):
        kinesis.update_shard_count(StreamName="s", TargetShardCount=2 if i % 2 == 0 else 1,
                                   ScalingType="UNIFORM_SCALING")
        lab.reshard_done("s")
    assert len(lab.shard_ids("s", open_only=True)) == 1
    error = expect_error(kinesis.update_shard_count, "LimitExceededException", StreamName="s", TargetShardCount=2,
                         ScalingType="UNIFORM_SCALING")
    assert "10" in error.response["Error"]["Message"]
    sim.clock.advance_to(first_call + 24 * 3600 - 1)
    expect_error(kinesis.update_shard_count, "LimitExceededException", StreamName="s", TargetShardCount=2,
                 ScalingType="UNIFORM_SCALING")
    sim.clock.advance_to(first_call + 24 * 3600)
    kinesis.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    # Split and merge calls do not count against the UpdateShardCount budget.
    lab.reshard_done("s")


def test_older_defaults_allow_two_scalings_per_day():
    lab = Lab(kinesislab.Simulator(seed=0, limits=kinesislab.limits_2022()))
    lab.stream("s", shards=1)
    for target in (2, 1):
        lab.k.update_shard_count(StreamName="s", TargetShardCount=target, ScalingType="UNIFORM_SCALING")
        lab.reshard_done("s")
    expect_error(lab.k.update_shard_count, "LimitExceededException", StreamName="s", TargetShardCount=2,
                 ScalingType="UNIFORM_SCALING")


def test_on_demand_streams_refuse_manual_resharding(lab, kinesis):
    lab.stream("od", mode="ON_DEMAND")
    before = lab.snapshot()
    for call, params in (
        (kinesis.split_shard, {"ShardToSplit": S0, "NewStartingHashKey": "100"}),
        (kinesis.merge_shards, {"ShardToMerge": S0, "AdjacentShardToMerge": S1}),
        (kinesis.update_shard_count, {"TargetShardCount": 8, "ScalingType": "UNIFORM_SCALING"}),
    ):
        error = expect_error(call, "ValidationException", StreamName="od", **params)
        assert "only supported for data streams with the provisioned capacity mode" in error.response["Error"]["Message"]
        assert isinstance(error, kinesis.exceptions.ValidationException)
    assert lab.snapshot() == before


def test_reshard_shard_quota_with_override():
    sim = kinesislab.Simulator(seed=0, limits=kinesislab.Limits().override(account_shard_quota=10))
    lab = Lab(sim)
    lab.stream("s", shards=6)
    error = expect_error(lab.k.update_shard_count, "LimitExceededException", StreamName="s", TargetShardCount=12,
                         ScalingType="UNIFORM_SCALING")
    assert "Limit: 10" in error.response["Error"]["Message"]
    lab.k.update_shard_count(StreamName="s", TargetShardCount=10, ScalingType="UNIFORM_SCALING")
    lab.reshard_done("s")
    assert lab.k.describe_limits()["OpenShardCount"] == 10
    # Even to within the engine's snapping to an existing boundary (a millionth of a shard's width).
    ranges = lab.open_ranges("s")
    assert len(ranges) == 10 and ranges[0][0] == 0 and ranges[-1][1] == MAX_HASH_KEY
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))
    assert all(abs(a[0] - r.starting) <= (2**128 // 10) // 1_000_000 for a, r in zip(ranges, even_split(10)))
    expect_error(lab.k.split_shard, "LimitExceededException", StreamName="s",
                 ShardToSplit=lab.shard_ids("s", open_only=True)[0], NewStartingHashKey="1")
