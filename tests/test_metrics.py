"""Per-second CloudWatch-style metrics as DataFrames (facts §9): layout, exact values, and
shard-level metrics only once enhanced monitoring is on."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

import kinesislab
from conftest import START, Lab

MiB = 1024 * 1024
SHARD0 = "shardId-000000000000"


def test_stream_frame_layout(lab, sim, kinesis):
    lab.stream("s")
    kinesis.put_record(StreamName="s", Data=b"x" * 9, PartitionKey="k")
    sim.advance(3)
    frame = sim.metrics("s")
    assert isinstance(frame, pd.DataFrame)
    assert frame.index.name == "Timestamp"
    assert str(frame.index.tz) == "UTC"
    # One row per virtual second from the stream's creation to the current second.
    assert frame.index[0] == START
    assert frame.index[-1] == sim.now
    assert len(frame) == 9
    assert (frame.index[1:] - frame.index[:-1] == timedelta(seconds=1)).all()
    assert frame.loc[START + timedelta(seconds=5), "IncomingRecords"] == 1
    assert frame.loc[START + timedelta(seconds=5), "IncomingBytes"] == 10
    assert frame["IncomingRecords"].sum() == 1
    assert frame.loc[START + timedelta(seconds=5), "PutRecord.Success"] == 1
    assert frame.loc[START + timedelta(seconds=5), "PutRecord.Bytes"] == 10


def test_put_metrics_exact(lab, sim, kinesis):
    lab.stream("s", shards=2)
    second = sim.now
    low, high = "0", str(2**128 - 1)
    lab.put_many("s", 1200, explicit_hash_key=low, size=100)
    lab.put_many("s", 300, explicit_hash_key=high, size=100)
    row = sim.metrics("s").loc[second]
    assert row["IncomingRecords"] == 1300
    assert row["IncomingBytes"] == 130_000
    assert row["WriteProvisionedThroughputExceeded"] == 200
    assert row["PutRecords.ThrottledRecords"] == 200
    assert row["PutRecords.TotalRecords"] == 1500
    assert row["PutRecords.SuccessfulRecords"] == 1300
    assert row["PutRecords.FailedRecords"] == 0
    assert row["PutRecords.Bytes"] == 150_000
    # 4 calls; the last batch for shard 0 (200 of 200 throttled) counts as not successful.
    assert row["PutRecords.Success"] == 3


def test_get_records_metrics_and_iterator_age(lab, sim, kinesis):
    lab.stream("s")
    kinesis.put_record(StreamName="s", Data=b"x" * 99, PartitionKey="k")
    sim.advance(2.5)
    iterator = lab.iterator("s", SHARD0)
    response = kinesis.get_records(ShardIterator=iterator)
    assert len(response["Records"]) == 1
    row = sim.metrics("s").loc[START + timedelta(seconds=7)]
    assert row["GetRecords.Records"] == 1
    assert row["GetRecords.Bytes"] == 100
    assert row["GetRecords.Success"] == 1
    assert row["GetRecords.IteratorAgeMilliseconds"] == 2500
    frame = sim.metrics("s")
    # Gauges are NaN where nothing was measured; sums are 0.
    assert np.isnan(frame.loc[START + timedelta(seconds=6), "GetRecords.IteratorAgeMilliseconds"])
    assert frame.loc[START + timedelta(seconds=6), "GetRecords.Records"] == 0


def test_read_throttle_metric(lab, sim, kinesis):
    lab.stream("s")
    iterator = lab.iterator("s", SHARD0)
    for _ in range(8):
        try:
            kinesis.get_records(ShardIterator=iterator)
        except kinesis.exceptions.ProvisionedThroughputExceededException:
            pass
    row = sim.metrics("s").loc[sim.now]
    assert row["ReadProvisionedThroughputExceeded"] == 3
    assert row["GetRecords.Success"] == 5


def test_shard_level_metrics_only_exist_once_enabled(lab, sim, kinesis):
    lab.stream("s", shards=2)
    lab.put_many("s", 10, explicit_hash_key="0")
    frame = sim.metrics("s", level="shard")
    assert frame.shape[1] == 0
    assert len(frame) == len(sim.metrics("s"))
    kinesis.enable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["IncomingRecords"])
    enabled_at = sim.now
    lab.to_next_second()
    lab.put_many("s", 7, explicit_hash_key="0")
    lab.put_many("s", 3, explicit_hash_key=str(2**128 - 1))
    frame = sim.metrics("s", level="shard")
    assert list(frame.columns.names) == ["MetricName", "ShardId"]
    assert set(frame.columns.get_level_values("MetricName")) == {"IncomingRecords"}
    row = frame.loc[sim.now]
    assert row[("IncomingRecords", SHARD0)] == 7
    assert row[("IncomingRecords", "shardId-000000000001")] == 3
    # Recorded from the moment monitoring was enabled, not before.
    assert frame.loc[enabled_at, ("IncomingRecords", SHARD0)] == 0
    assert frame[("IncomingRecords", SHARD0)].sum() == 7
    # The stream-level view has them all.
    assert sim.metrics("s")["IncomingRecords"].sum() == 20
    # One-line plotting layout: a frame per metric, one column per shard.
    assert list(frame["IncomingRecords"].columns) == [SHARD0, "shardId-000000000001"]


def test_all_enables_the_seven_shard_metrics(lab, sim, kinesis):
    lab.stream("s")
    kinesis.enable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["ALL"])
    lab.put_many("s", 1001, size=10)
    records, _ = lab.read_shard("s", SHARD0)
    assert len(records) == 1000
    for _ in range(5):
        try:
            kinesis.get_records(ShardIterator=lab.iterator("s", SHARD0, "LATEST"))
        except kinesis.exceptions.ProvisionedThroughputExceededException:
            pass
    frame = sim.metrics("s", level="shard")
    assert set(frame.columns.get_level_values("MetricName")) == {
        "IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
        "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds"}
    totals = frame.sum()
    assert totals[("IncomingRecords", SHARD0)] == 1000
    assert totals[("IncomingBytes", SHARD0)] == 10_000
    assert totals[("WriteProvisionedThroughputExceeded", SHARD0)] == 1
    assert totals[("OutgoingRecords", SHARD0)] == 1000
    assert totals[("OutgoingBytes", SHARD0)] == 10_000
    assert totals[("ReadProvisionedThroughputExceeded", SHARD0)] >= 1


def test_disabling_stops_recording(lab, sim, kinesis):
    lab.stream("s")
    kinesis.enable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["IncomingRecords"])
    lab.put_many("s", 5)
    kinesis.disable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["IncomingRecords"])
    lab.to_next_second()
    lab.put_many("s", 5)
    frame = sim.metrics("s", level="shard")
    assert frame[("IncomingRecords", SHARD0)].sum() == 5


def test_consumer_metrics(lab, sim, kinesis):
    lab.stream("s")
    kinesis.put_record(StreamName="s", Data=b"x" * 9, PartitionKey="k")
    arn = kinesis.register_stream_consumer(StreamARN=lab.arn("s"), ConsumerName="app")["Consumer"]["ConsumerARN"]
    sim.advance(5)
    events = kinesis.subscribe_to_shard(ConsumerARN=arn, ShardId=SHARD0,
                                        StartingPosition={"Type": "TRIM_HORIZON"})["EventStream"]
    next(iter(events))
    frame = sim.metrics("s", level="consumer")
    assert list(frame.columns.names) == ["MetricName", "ConsumerName"]
    assert frame[("SubscribeToShardEvent.Records", "app")].sum() == 1
    assert frame[("SubscribeToShardEvent.Bytes", "app")].sum() == 10
    assert frame[("SubscribeToShard.Success", "app")].sum() == 1
    assert sim.metrics("s")["SubscribeToShardEvent.Bytes"].sum() == 10


def test_bad_level_and_unknown_stream(sim):
    with pytest.raises(Exception, match="Stream nope under account 123456789012 not found"):
        sim.metrics("nope")
    lab = Lab(sim)
    lab.stream("s")
    with pytest.raises(ValueError):
        sim.metrics("s", level="account")


def test_metrics_are_identical_for_the_same_seed_and_calls():
    frames = []
    for _ in range(2):
        sim = kinesislab.Simulator(seed=7)
        lab = Lab(sim)
        lab.stream("s", shards=2)
        lab.k.enable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["ALL"])
        for i in range(3):
            lab.put_many("s", 700, key=f"k{i}")
            sim.advance(0.5)
        lab.read_all("s")
        frames.append((sim.metrics("s"), sim.metrics("s", level="shard")))
    pd.testing.assert_frame_equal(frames[0][0], frames[1][0])
    pd.testing.assert_frame_equal(frames[0][1], frames[1][1])
