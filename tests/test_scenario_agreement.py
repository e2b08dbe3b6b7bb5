"""Count granularity agrees with the record-level client (issue 3, "Speed").

``backend="counts"`` moves counts of records per shard through the engine's write budgets;
``backend="records"`` sends the very same offered records one by one through the boto3-shaped
client's ``put_records``. On small scenarios both must give the same per-shard, per-second
accepted and throttled counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kinesislab.scenario import (Burst, Constant, EnhancedFanOutConsumer, ExplicitHashKeys, ExponentialBackoff,
                                 FixedRetry, FixedSize, HotKey, KplSettings, MergeShards, NoRetry, PollingConsumer,
                                 Producer, RandomKeys, Ramp, SaltedKeys, Scenario, SplitShard, Step, StreamSpec,
                                 UniformKeys, UniformSize, UpdateShardCount, ZipfKeys, run)

SCENARIOS = {
    "hot-key-1-producer": Scenario(
        stream=StreamSpec(shards=4),
        producers=[Producer(traffic=Constant(1500), keys=HotKey(share=0.7, count=50), record_size=FixedSize(1024))],
        duration=8),
    "bytes-bind-2-producers-fixed-retry": Scenario(
        stream=StreamSpec(shards=2),
        producers=[Producer(name="small", traffic=Constant(900), keys=ZipfKeys(200, 1.2), record_size=FixedSize(512),
                            retry=FixedRetry(delay=1.0, max_attempts=3)),
                   Producer(name="large", traffic=Ramp(100, 600, 0, 6), keys=UniformKeys(40),
                            record_size=FixedSize(4000), retry=FixedRetry(delay=2.0, max_attempts=4))],
        duration=10),
    "3-producers-backoff-split": Scenario(
        stream=StreamSpec(shards=2),
        producers=[Producer(name="a", traffic=Burst(300, 2500, every=6, length=2), keys=RandomKeys(),
                            record_size=UniformSize(100, 2001), retry=ExponentialBackoff(base=0.2, cap=3.0)),
                   Producer(name="b", traffic=Constant(700), keys=HotKey(share=0.9, count=10), record_size=FixedSize(300),
                            retry=ExponentialBackoff(base=0.5, cap=2.0, max_attempts=4, jitter=False)),
                   Producer(name="c", traffic=Step(100, 1200, 4), keys=SaltedKeys(ZipfKeys(20, 1.5), salt=3),
                            record_size=FixedSize(2048), retry=NoRetry(), partition_key_bytes=40)],
        events=[SplitShard(at=3, shard_id="shardId-000000000000")],
        duration=14),
    "update-shard-count-with-queued-retries": Scenario(
        stream=StreamSpec(shards=2),
        producers=[Producer(traffic=Constant(3000), keys=ZipfKeys(500, 1.1), record_size=FixedSize(200),
                            retry=FixedRetry(delay=3.0, max_attempts=5, max_buffered=4000))],
        events=[UpdateShardCount(at=2, target=4)],
        duration=12),
    "merge-explicit-hash-keys": Scenario(
        stream=StreamSpec(shards=3),
        producers=[Producer(traffic=Constant(2200), keys=ExplicitHashKeys((1, 2**126, 2**127 + 5, 2**128 - 9),
                                                                           (4.0, 2.0, 1.0, 1.0)),
                            record_size=FixedSize(700), retry=FixedRetry(delay=1.0, max_attempts=3))],
        events=[MergeShards(at=4, shard_id="shardId-000000000001", adjacent_shard_id="shardId-000000000002")],
        duration=12),
    "kpl-and-plain": Scenario(
        stream=StreamSpec(shards=1),
        producers=[Producer(name="kpl", traffic=Constant(6000), keys=UniformKeys(300), record_size=FixedSize(150),
                            kpl=KplSettings()),
                   Producer(name="plain", traffic=Constant(800), keys=UniformKeys(30), record_size=FixedSize(250))],
        duration=8),
    "kpl-bytes-bind-ttl": Scenario(
        stream=StreamSpec(shards=2),
        producers=[Producer(name="kpl", traffic=Constant(2500), keys=ZipfKeys(300, 1.0), record_size=FixedSize(1500),
                            kpl=KplSettings(record_ttl=5.0))],
        duration=10),
    "kpl-buffer-follows-split": Scenario(
        stream=StreamSpec(shards=2),
        producers=[Producer(name="kpl", traffic=Constant(2500), keys=UniformKeys(300), record_size=FixedSize(1500),
                            kpl=KplSettings(record_ttl=10.0))],
        events=[SplitShard(at=2, shard_id="shardId-000000000000")],
        duration=12),
    "on-demand-with-consumers": Scenario(
        stream=StreamSpec(mode="ON_DEMAND"),
        producers=[Producer(traffic=Step(1000, 5200, 3), keys=RandomKeys(), record_size=FixedSize(100),
                            retry=ExponentialBackoff(base=0.1, cap=1.0, max_attempts=3))],
        consumers=[PollingConsumer(), EnhancedFanOutConsumer()],
        duration=8),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_counts_and_records_backends_agree_shard_by_shard_second_by_second(name):
    scenario = SCENARIOS[name]
    counts = run(scenario, seed=7, backend="counts", progress=False)
    records = run(scenario, seed=7, backend="records", progress=False)
    assert counts.shard_ids == records.shard_ids
    for metric in ("IncomingRecords", "WriteProvisionedThroughputExceeded", "OfferedRecords"):
        pd.testing.assert_frame_equal(counts.shards[metric], records.shards[metric], check_exact=True, obj=metric)
    # The scenario must exercise the limits, or agreement proves little.
    assert counts.shards["WriteProvisionedThroughputExceeded"].to_numpy().sum() > 0
    for column in ("OfferedRecords", "AcceptedRecords", "ThrottledRecords", "RetriedRecords", "DroppedRecords",
                   "BufferedRecords", "IncomingRecords", "OpenShardCount"):
        np.testing.assert_array_equal(counts.stream[column].to_numpy(), records.stream[column].to_numpy(),
                                      err_msg=column)
    # Bytes agree up to the per-record rounding of fractional mean sizes (records carry whole bytes).
    np.testing.assert_allclose(counts.shards["IncomingBytes"].to_numpy(), records.shards["IncomingBytes"].to_numpy(),
                               rtol=1e-3)
    assert list(counts.events["outcome"]) == list(records.events["outcome"])


def test_records_backend_really_stores_records_in_the_engine():
    scenario = SCENARIOS["hot-key-1-producer"]
    records = run(scenario, seed=7, backend="records", progress=False)
    stream = records.sim.stream(records.stream_name)
    stored = sum(len(shard.records) for shard in stream.shards.values())
    assert stored == records.shards["IncomingRecords"].to_numpy().sum()
    counts = run(scenario, seed=7, backend="counts", progress=False)
    assert sum(len(shard.records) for shard in counts.sim.stream(counts.stream_name).shards.values()) == 0
