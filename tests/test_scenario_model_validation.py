"""Scenario model validation: every dataclass refuses values the runner cannot use, with a
ValueError naming the class, the field, the value and the allowed range, and accepts what the
course uses (engineering standard: "Bad input gets a clear error ... and changes nothing")."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinesislab.scenario import (AddWorker, Burst, ChangeTraffic, Constant, Diurnal, EnhancedFanOutConsumer,
                                 ExplicitHashKeys, ExponentialBackoff, FirehoseConsumer, FixedRetry, FixedSize, HotKey,
                                 KclConsumer, KillWorker, KplSettings, MergeShards, NoRetry, PollingConsumer, Producer,
                                 RandomKeys, Ramp, SaltedKeys, Scenario, Series, SplitShard, Step, StreamSpec,
                                 SwitchMode, UniformKeys, UniformSize, UpdateShardCount, ZipfKeys, run)

MAX_HASH_KEY = 2**128 - 1

# ----------------------------------------------------------------------------- valid examples

VALID = [
    Constant(0), Constant(100.0), Constant(np.float64(5)),
    Ramp(100, 600, 0, 6), Ramp(0, 0, 5, 5),
    Step(800, 2500, 50), Step(0, 0, 0),
    Burst(base=200, peak=2500, every=20, length=2), Burst(1, 2, every=5, length=5),
    Diurnal(low=10, high=100), Diurnal(5, 5, period=3600, peak_hour=-3),
    Series((3000.0,) + (0.0,) * 39), Series([1, 2, 3]), Series(np.array([0.0, 4.0])),
    FixedSize(0), FixedSize(1024), FixedSize(np.int64(10_485_760)),
    UniformSize(100, 2001), UniformSize(0, 0),
    UniformKeys(1), UniformKeys(1000),
    ZipfKeys(1, 0.0), ZipfKeys(count=10_000, skew=1.1),
    HotKey(share=1.0, count=1), HotKey(share=0.0, count=2), HotKey(0.7, 20),
    RandomKeys(),
    ExplicitHashKeys((0, MAX_HASH_KEY)), ExplicitHashKeys((1, 2), (0.0, 1.0)),
    SaltedKeys(ZipfKeys(20, 1.5), salt=3), SaltedKeys(UniformKeys(1), 1), SaltedKeys(HotKey(), 64),
    NoRetry(),
    FixedRetry(), FixedRetry(delay=0, max_attempts=1, max_buffered=0),
    ExponentialBackoff(), ExponentialBackoff(base=1.0, cap=0.5, max_attempts=1, max_buffered=0, jitter=False),
    KplSettings(), KplSettings(aggregation=False, aggregation_max_size=64, record_max_buffered_time=0.001,
                               rate_limit_percent=1, record_ttl=0.1, collection_max_count=1),
    Producer(), Producer(name="kpl", partition_key_bytes=256, kpl=KplSettings(), retry=ExponentialBackoff(),
                         keys=RandomKeys(), record_size=UniformSize(0, 10)),
    Producer(partition_key_bytes=1, record_size=FixedSize(0)),
    PollingConsumer(), PollingConsumer(name="app-1", poll_interval=0.2, limit=1, start="LATEST"),
    KclConsumer(), KclConsumer(name="kcl", workers=1, checkpoint_every_records=1, checkpoint_every_seconds=None),
    KclConsumer(checkpoint_every_records=None, checkpoint_every_seconds=0.5, failover_time=0.1),
    EnhancedFanOutConsumer(), EnhancedFanOutConsumer(name="efo.2_a", start="LATEST"),
    FirehoseConsumer(), FirehoseConsumer(name="quick", size_mib=1, interval_seconds=0),
    FirehoseConsumer(size_mib=128, interval_seconds=900, start="TRIM_HORIZON"),
    SplitShard(at=0, shard_id="shardId-000000000000"), SplitShard(10.5, "shardId-000000000099", MAX_HASH_KEY),
    MergeShards(at=4, shard_id="shardId-000000000001", adjacent_shard_id="shardId-000000000002"),
    UpdateShardCount(at=5, target=1), UpdateShardCount(at=5, target=12),  # the service refuses these, not the model
    SwitchMode(at=60, mode="ON_DEMAND"), SwitchMode(at=5, mode="PROVISIONED"),
    ChangeTraffic(at=60, producer="producer", traffic=Constant(0)),
    KillWorker(at=3, consumer="kcl"), KillWorker(at=3, consumer="kcl", worker=2),
    AddWorker(at=0.5, consumer="kcl"),
    StreamSpec(), StreamSpec(shards=1), StreamSpec(mode="ON_DEMAND"), StreamSpec(mode="ON_DEMAND", shards=0),
    StreamSpec(region="ap-south-1", retention_hours=8760), StreamSpec(limits={"write_burst_seconds": 3}),
    StreamSpec(shards=1, retention_hours=1, limits={"default_retention_hours": 1, "min_retention_hours": 1}),
    Scenario(), Scenario(duration=0.5, resolution=0.1),
    Scenario(producers=[Producer(name="a"), Producer(name="b")],
             consumers=[PollingConsumer(name="app"), KclConsumer(name="kcl")],
             events=[ChangeTraffic(at=1, producer="b", traffic=Constant(1)), KillWorker(at=2, consumer="anyone")]),
]


@pytest.mark.parametrize("example", VALID, ids=lambda e: type(e).__name__)
def test_valid_examples_construct(example):
    # Constructing again from the same fields passes the checks again, and the fields stay as given.
    again = dataclasses.replace(example)
    for f in dataclasses.fields(example):
        assert getattr(again, f.name) is getattr(example, f.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(example, dataclasses.fields(example)[0].name, None) if dataclasses.fields(example) else \
            setattr(example, "x", None)


# ----------------------------------------------------------------------------- invalid values

INVALID = [
    # traffic shapes: rates >= 0, times >= 0, periods > 0, low <= high
    (Constant, dict(rate=-1), "Constant.rate"),
    (Constant, dict(rate=math.nan), "Constant.rate"),
    (Constant, dict(rate=math.inf), "Constant.rate"),
    (Constant, dict(rate="100"), "Constant.rate"),
    (Ramp, dict(start_rate=-5, end_rate=10), "Ramp.start_rate"),
    (Ramp, dict(start_rate=5, end_rate=-10), "Ramp.end_rate"),
    (Ramp, dict(start_rate=5, end_rate=10, start=-1), "Ramp.start"),
    (Ramp, dict(start_rate=5, end_rate=10, start=20, end=10), "Ramp.end"),
    (Step, dict(before=-1, after=1, at_second=3), "Step.before"),
    (Step, dict(before=1, after=-1, at_second=3), "Step.after"),
    (Step, dict(before=1, after=1, at_second=-3), "Step.at_second"),
    (Burst, dict(base=-1, peak=10), "Burst.base"),
    (Burst, dict(base=1, peak=-10), "Burst.peak"),
    (Burst, dict(base=1, peak=10, every=0), "Burst.every"),
    (Burst, dict(base=1, peak=10, length=0), "Burst.length"),
    (Burst, dict(base=1, peak=10, every=5, length=6), "Burst.length"),
    (Burst, dict(base=1, peak=10, first=-1), "Burst.first"),
    (Diurnal, dict(low=-1, high=10), "Diurnal.low"),
    (Diurnal, dict(low=10, high=5), "Diurnal.high"),
    (Diurnal, dict(low=1, high=5, period=0), "Diurnal.period"),
    (Diurnal, dict(low=1, high=5, peak_hour=math.nan), "Diurnal.peak_hour"),
    (Series, dict(rates=()), "Series.rates"),
    (Series, dict(rates=5), "Series.rates"),
    (Series, dict(rates=(1.0, -2.0)), "Series.rates[1]"),
    (Series, dict(rates=(1.0, math.nan)), "Series.rates[1]"),
    # record sizes: whole bytes >= 0 (no upper bound: the stream's max record size may be raised)
    (FixedSize, dict(data_bytes=-1), "FixedSize.data_bytes"),
    (FixedSize, dict(data_bytes=10.5), "FixedSize.data_bytes"),
    (FixedSize, dict(data_bytes=True), "FixedSize.data_bytes"),
    (UniformSize, dict(low=-1, high=10), "UniformSize.low"),
    (UniformSize, dict(low=10, high=5), "UniformSize.high"),
    (UniformSize, dict(low=1, high=2.5), "UniformSize.high"),
    # partition keys
    (UniformKeys, dict(count=0), "UniformKeys.count"),
    (UniformKeys, dict(count=-3), "UniformKeys.count"),
    (UniformKeys, dict(count=10.0), "UniformKeys.count"),
    (ZipfKeys, dict(count=0), "ZipfKeys.count"),
    (ZipfKeys, dict(skew=-0.5), "ZipfKeys.skew"),
    (HotKey, dict(share=1.5), "HotKey.share"),
    (HotKey, dict(share=-0.1), "HotKey.share"),
    (HotKey, dict(count=0), "HotKey.count"),
    (ExplicitHashKeys, dict(hash_keys=()), "ExplicitHashKeys.hash_keys"),
    (ExplicitHashKeys, dict(hash_keys=[1, 2]), "ExplicitHashKeys.hash_keys"),
    (ExplicitHashKeys, dict(hash_keys=(-1,)), "ExplicitHashKeys.hash_keys[0]"),
    (ExplicitHashKeys, dict(hash_keys=(0, MAX_HASH_KEY + 1)), "ExplicitHashKeys.hash_keys[1]"),
    (ExplicitHashKeys, dict(hash_keys=(1, 2), weights=(1.0,)), "ExplicitHashKeys.weights"),
    (ExplicitHashKeys, dict(hash_keys=(1, 2), weights=(1.0, -1.0)), "ExplicitHashKeys.weights[1]"),
    (ExplicitHashKeys, dict(hash_keys=(1, 2), weights=(0.0, 0.0)), "ExplicitHashKeys.weights"),
    (SaltedKeys, dict(base=RandomKeys()), "SaltedKeys.base"),
    (SaltedKeys, dict(base=UniformKeys(), salt=0), "SaltedKeys.salt"),
    # retries
    (FixedRetry, dict(delay=-1), "FixedRetry.delay"),
    (FixedRetry, dict(max_attempts=0), "FixedRetry.max_attempts"),
    (FixedRetry, dict(max_buffered=-1), "FixedRetry.max_buffered"),
    (ExponentialBackoff, dict(base=0), "ExponentialBackoff.base"),
    (ExponentialBackoff, dict(cap=-1), "ExponentialBackoff.cap"),
    (ExponentialBackoff, dict(max_attempts=0), "ExponentialBackoff.max_attempts"),
    (ExponentialBackoff, dict(max_buffered=-5), "ExponentialBackoff.max_buffered"),
    (ExponentialBackoff, dict(jitter="yes"), "ExponentialBackoff.jitter"),
    # KPL
    (KplSettings, dict(aggregation=1), "KplSettings.aggregation"),
    (KplSettings, dict(aggregation_max_size=63), "KplSettings.aggregation_max_size"),
    (KplSettings, dict(record_max_buffered_time=0), "KplSettings.record_max_buffered_time"),
    (KplSettings, dict(rate_limit_percent=0), "KplSettings.rate_limit_percent"),
    (KplSettings, dict(record_ttl=0.05), "KplSettings.record_ttl"),
    (KplSettings, dict(collection_max_count=0), "KplSettings.collection_max_count"),
    (KplSettings, dict(collection_max_count=501), "KplSettings.collection_max_count"),
    # producers
    (Producer, dict(name=""), "Producer.name"),
    (Producer, dict(traffic=100), "Producer.traffic"),
    (Producer, dict(record_size=1024), "Producer.record_size"),
    (Producer, dict(keys=1000), "Producer.keys"),
    (Producer, dict(retry=None), "Producer.retry"),
    (Producer, dict(partition_key_bytes=0), "Producer.partition_key_bytes"),
    (Producer, dict(partition_key_bytes=257), "Producer.partition_key_bytes"),
    (Producer, dict(kpl=True), "Producer.kpl"),
    # consumers
    (PollingConsumer, dict(name=""), "PollingConsumer.name"),
    (PollingConsumer, dict(name="my app"), "PollingConsumer.name"),
    (PollingConsumer, dict(poll_interval=0), "PollingConsumer.poll_interval"),
    (PollingConsumer, dict(poll_interval=-1), "PollingConsumer.poll_interval"),
    (PollingConsumer, dict(limit=0), "PollingConsumer.limit"),
    (PollingConsumer, dict(limit=10_001), "PollingConsumer.limit"),
    (PollingConsumer, dict(start="AT_TIMESTAMP"), "PollingConsumer.start"),
    (KclConsumer, dict(workers=0), "KclConsumer.workers"),
    (KclConsumer, dict(workers=True), "KclConsumer.workers"),
    (KclConsumer, dict(poll_interval=0), "KclConsumer.poll_interval"),
    (KclConsumer, dict(limit=20_000), "KclConsumer.limit"),
    (KclConsumer, dict(checkpoint_every_records=0), "KclConsumer.checkpoint_every_records"),
    (KclConsumer, dict(checkpoint_every_seconds=0), "KclConsumer.checkpoint_every_seconds"),
    (KclConsumer, dict(failover_time=0), "KclConsumer.failover_time"),
    (KclConsumer, dict(start="latest"), "KclConsumer.start"),
    (EnhancedFanOutConsumer, dict(name="a" * 129), "EnhancedFanOutConsumer.name"),
    (EnhancedFanOutConsumer, dict(start=""), "EnhancedFanOutConsumer.start"),
    (FirehoseConsumer, dict(size_mib=0.5), "FirehoseConsumer.size_mib"),
    (FirehoseConsumer, dict(size_mib=129), "FirehoseConsumer.size_mib"),
    (FirehoseConsumer, dict(interval_seconds=-1), "FirehoseConsumer.interval_seconds"),
    (FirehoseConsumer, dict(interval_seconds=901), "FirehoseConsumer.interval_seconds"),
    (FirehoseConsumer, dict(poll_interval=0), "FirehoseConsumer.poll_interval"),
    (FirehoseConsumer, dict(limit=0), "FirehoseConsumer.limit"),
    # events
    (SplitShard, dict(at=-1, shard_id="shardId-000000000000"), "SplitShard.at"),
    (SplitShard, dict(at=1, shard_id=""), "SplitShard.shard_id"),
    (SplitShard, dict(at=1, shard_id="s", new_starting_hash_key=-1), "SplitShard.new_starting_hash_key"),
    (SplitShard, dict(at=1, shard_id="s", new_starting_hash_key=2**128), "SplitShard.new_starting_hash_key"),
    (MergeShards, dict(at=math.nan, shard_id="a", adjacent_shard_id="b"), "MergeShards.at"),
    (MergeShards, dict(at=1, shard_id="a", adjacent_shard_id=None), "MergeShards.adjacent_shard_id"),
    (UpdateShardCount, dict(at=1, target=0), "UpdateShardCount.target"),
    (UpdateShardCount, dict(at=1, target=2.5), "UpdateShardCount.target"),
    (UpdateShardCount, dict(at=-2, target=2), "UpdateShardCount.at"),
    (SwitchMode, dict(at=1, mode="on-demand"), "SwitchMode.mode"),
    (ChangeTraffic, dict(at=1, producer="p", traffic=50), "ChangeTraffic.traffic"),
    (ChangeTraffic, dict(at=1, producer="", traffic=Constant(1)), "ChangeTraffic.producer"),
    (KillWorker, dict(at=1, consumer="kcl", worker=-1), "KillWorker.worker"),
    (AddWorker, dict(at=-0.5, consumer="kcl"), "AddWorker.at"),
    # stream
    (StreamSpec, dict(name="my stream"), "StreamSpec.name"),
    (StreamSpec, dict(mode="SERVERLESS"), "StreamSpec.mode"),
    (StreamSpec, dict(shards=0), "StreamSpec.shards"),
    (StreamSpec, dict(shards=2.0), "StreamSpec.shards"),
    (StreamSpec, dict(mode="ON_DEMAND", shards=-1), "StreamSpec.shards"),
    (StreamSpec, dict(region="Frankfurt"), "StreamSpec.region"),
    (StreamSpec, dict(limits=[("a", 1)]), "StreamSpec.limits"),
    (StreamSpec, dict(limits={"shard_write_mb": 2}), "StreamSpec.limits"),
    (StreamSpec, dict(retention_hours=23), "StreamSpec.retention_hours"),
    (StreamSpec, dict(retention_hours=8761), "StreamSpec.retention_hours"),
    (StreamSpec, dict(retention_hours=1, limits={"min_retention_hours": 2}), "StreamSpec.retention_hours"),
    # scenario
    (Scenario, dict(stream="lab-stream"), "Scenario.stream"),
    (Scenario, dict(producers=Producer()), "Scenario.producers"),
    (Scenario, dict(producers=[Constant(5)]), "Scenario.producers[0]"),
    (Scenario, dict(consumers=[PollingConsumer(), "app"]), "Scenario.consumers[1]"),
    (Scenario, dict(consumers=[PollingConsumer(name="x"), EnhancedFanOutConsumer(name="x")]), "Scenario.consumers"),
    (Scenario, dict(events=[Constant(1)]), "Scenario.events[0]"),
    (Scenario, dict(events=[ChangeTraffic(at=1, producer="nobody", traffic=Constant(1))]), "Scenario.events[0]"),
    (Scenario, dict(duration=0), "Scenario.duration"),
    (Scenario, dict(duration=-10), "Scenario.duration"),
    (Scenario, dict(resolution=0), "Scenario.resolution"),
    (Scenario, dict(resolution=2.0), "Scenario.resolution"),
]


@pytest.mark.parametrize("cls, kwargs, field_name", INVALID,
                         ids=[f"{field_name}={kwargs}" for _, kwargs, field_name in INVALID])
def test_invalid_values_raise_a_clear_value_error(cls, kwargs, field_name):
    with pytest.raises(ValueError) as info:
        cls(**kwargs)
    message = str(info.value)
    assert message.startswith(field_name + " ") or message.startswith(field_name + ","), message
    assert "must" in message


@pytest.mark.parametrize("make, expected", [
    (lambda: HotKey(share=1.5), "HotKey.share must be between 0 and 1, not 1.5"),
    (lambda: PollingConsumer(poll_interval=0), "PollingConsumer.poll_interval must be more than 0 seconds, not 0"),
    (lambda: Producer(partition_key_bytes=0),
     "Producer.partition_key_bytes must be a whole number between 1 and 256 bytes, not 0"),
    (lambda: FixedSize(-1), "FixedSize.data_bytes must be a whole number of at least 0 bytes, not -1"),
    (lambda: PollingConsumer(limit=10_001),
     "PollingConsumer.limit must be a whole number between 1 and 10,000 records, not 10001"),
    (lambda: Scenario(resolution=2.0), "Scenario.resolution must be more than 0 and at most 1 second, not 2.0"),
    (lambda: StreamSpec(mode="on_demand"), "StreamSpec.mode must be one of 'PROVISIONED', 'ON_DEMAND', not 'on_demand'"),
    (lambda: Diurnal(1, 2, peak_hour=math.nan), "Diurnal.peak_hour must be a finite number, not nan"),
    (lambda: Burst(1, 2, every=5, length=6), "Burst.length must be at most Burst.every (5), not 6"),
    (lambda: KclConsumer(checkpoint_every_records=0),
     "KclConsumer.checkpoint_every_records must be a whole number of at least 1 or None, not 0"),
])
def test_messages_name_class_field_value_and_range(make, expected):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == expected


def test_zero_byte_records_are_impossible():
    # Data may be empty (BC-K Data min 0) but the partition key may not, so every record has bytes.
    with pytest.raises(ValueError, match="partition_key_bytes"):
        Producer(record_size=FixedSize(0), partition_key_bytes=0)
    assert Producer(record_size=FixedSize(0), partition_key_bytes=1).partition_key_bytes == 1


def test_a_refused_scenario_changes_nothing_and_a_valid_one_runs():
    stream = StreamSpec(shards=1)
    with pytest.raises(ValueError, match="Scenario.duration"):
        Scenario(stream=stream, duration=-5)
    assert stream == StreamSpec(shards=1)
    results = run(Scenario(stream=stream, producers=[Producer(traffic=Constant(10), keys=UniformKeys(5))], duration=3))
    assert results.stream["AcceptedRecords"].sum() == 30


# ----------------------------------------------------------------------------- properties

@settings(deadline=None, max_examples=200)
@given(share=st.floats(allow_nan=True, allow_infinity=True), count=st.integers(-5, 50))
def test_hot_key_accepts_exactly_its_range(share, count):
    valid = math.isfinite(share) and 0 <= share <= 1 and count >= 1
    if valid:
        assert HotKey(share=share, count=count).share == share
    else:
        with pytest.raises(ValueError, match=r"^HotKey\.(share|count) must"):
            HotKey(share=share, count=count)


@settings(deadline=None, max_examples=200)
@given(interval=st.floats(allow_nan=True, allow_infinity=True), limit=st.integers(-5, 20_000))
def test_polling_consumer_accepts_exactly_its_range(interval, limit):
    valid = math.isfinite(interval) and interval > 0 and 1 <= limit <= 10_000
    if valid:
        assert PollingConsumer(poll_interval=interval, limit=limit).limit == limit
    else:
        with pytest.raises(ValueError, match=r"^PollingConsumer\.(poll_interval|limit) must"):
            PollingConsumer(poll_interval=interval, limit=limit)
