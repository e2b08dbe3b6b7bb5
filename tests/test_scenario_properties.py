"""Scenario runner, properties over random small scenarios (issue 3, "Tests").

* Conservation: offered user records = accepted + dropped (incl. KPL-expired) + still buffered.
* No shard above its per-second write limit in any second (default limits: 1,000 records and
  1 MiB per shard per second).
* Consumers never read a record before it was written: every read ends at or before what the
  shard holds at that moment, for every consumer, shard and second; per shard and second the
  cumulative OutgoingRecords of a lone consumer never pass the cumulative IncomingRecords.
* Determinism: the same seed gives identical DataFrames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinesislab.limits import MiB
from kinesislab.scenario import (AddWorker, Burst, Constant, EnhancedFanOutConsumer, ExponentialBackoff, FixedRetry,
                                 FirehoseConsumer, FixedSize, HotKey, KclConsumer, KillWorker, KplSettings, MergeShards,
                                 NoRetry,
                                 PollingConsumer, Producer, RandomKeys, Ramp, SaltedKeys, Scenario, Series, SplitShard,
                                 Step, StreamSpec, SwitchMode, UniformKeys, UniformSize, UpdateShardCount, ZipfKeys,
                                 run)
from kinesislab.scenario.runner import Runner

from conftest import TickByTickRunner, assert_same_run

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

rates = st.floats(0, 4000, allow_nan=False)
traffic = st.one_of(
    st.builds(Constant, rates),
    st.builds(Step, rates, rates, st.integers(0, 20)),
    st.builds(Ramp, rates, rates, st.integers(0, 5), st.integers(6, 20)),
    st.builds(Burst, st.floats(0, 800), st.floats(0, 6000), every=st.integers(3, 10), length=st.integers(1, 3),
              first=st.integers(0, 5)),
    st.builds(Series, st.lists(st.floats(0, 3000), min_size=1, max_size=10).map(tuple)),
)
record_size = st.one_of(
    st.builds(FixedSize, st.integers(1, 60_000)),
    st.integers(1, 5000).flatmap(lambda low: st.builds(UniformSize, st.just(low), st.integers(low, low + 5000))),
)
base_keys = st.one_of(
    st.builds(UniformKeys, st.integers(1, 300)),
    st.builds(ZipfKeys, st.integers(1, 500), st.floats(0, 2.5)),
    st.builds(HotKey, st.floats(0, 1), st.integers(1, 100)),
)
keys = st.one_of(base_keys, st.just(RandomKeys()), st.builds(SaltedKeys, base_keys, st.integers(1, 5)))
max_buffered = st.integers(0, 20_000)
retry = st.one_of(
    st.just(NoRetry()),
    st.builds(FixedRetry, st.floats(0.2, 4), st.integers(1, 6), max_buffered),
    st.builds(ExponentialBackoff, st.floats(0.05, 1), st.floats(0.5, 6), st.integers(1, 8), max_buffered,
              st.booleans()),
)
kpl = st.one_of(st.none(), st.builds(KplSettings, aggregation=st.booleans(), record_ttl=st.floats(1, 10),
                                     rate_limit_percent=st.floats(50, 200)))


@st.composite
def producers(draw, max_producers: int = 3):
    count = draw(st.integers(1, max_producers))
    return [Producer(name=f"p{i}", traffic=draw(traffic), record_size=draw(record_size), keys=draw(keys),
                     retry=draw(retry), partition_key_bytes=draw(st.integers(1, 64)), kpl=draw(kpl))
            for i in range(count)]


def consumer(index: int):
    name = f"c{index}"
    return st.one_of(
        st.builds(PollingConsumer, name=st.just(name), poll_interval=st.floats(0.2, 3), limit=st.integers(1, 10_000),
                  start=st.sampled_from(["TRIM_HORIZON", "LATEST"])),
        st.builds(KclConsumer, name=st.just(name), workers=st.integers(1, 3), poll_interval=st.floats(0.5, 2),
                  limit=st.integers(1, 10_000), checkpoint_every_records=st.one_of(st.none(), st.integers(1, 3000)),
                  checkpoint_every_seconds=st.one_of(st.none(), st.floats(1, 20)), failover_time=st.floats(1, 15)),
        st.builds(EnhancedFanOutConsumer, name=st.just(name), start=st.sampled_from(["TRIM_HORIZON", "LATEST"])),
    )


def event(duration: int):
    at = st.integers(0, duration - 1)
    shard = st.integers(0, 7).map(lambda i: f"shardId-{i:012d}")
    return st.one_of(
        st.builds(SplitShard, at, shard),
        st.builds(MergeShards, at, shard, shard),
        st.builds(UpdateShardCount, at, st.integers(1, 8)),
        st.builds(SwitchMode, at, st.sampled_from(["PROVISIONED", "ON_DEMAND"])),
        st.builds(KillWorker, at, st.sampled_from(["c0", "c1", "c2"]), st.integers(0, 2)),
        st.builds(AddWorker, at, st.sampled_from(["c0", "c1", "c2"])),
    )


@st.composite
def scenarios(draw, max_consumers: int = 3, events: bool = True):
    duration = draw(st.integers(3, 40))
    n_consumers = draw(st.integers(0, max_consumers))
    return Scenario(
        stream=StreamSpec(mode=draw(st.sampled_from(["PROVISIONED", "PROVISIONED", "ON_DEMAND"])),
                          shards=draw(st.integers(1, 4))),
        producers=draw(producers()),
        consumers=[draw(consumer(i)) for i in range(n_consumers)],
        events=draw(st.lists(event(duration), max_size=3)) if events else [],
        duration=duration,
    )


class CheckedRunner(Runner):
    """The real runner, with every read checked against what the shard held at that moment."""

    def __init__(self, scenario, seed):
        super().__init__(scenario, seed, "counts")
        self.reads_checked = 0

    def _book_reads(self, reads, first, end, means):
        written = self.log.cum_records[:, first + 1:end + 1]
        for segment in reads.values():
            n = len(segment.starts)
            assert (segment.starts >= 0).all()
            assert (segment.starts + segment.counts <= written[:n] + 1e-9).all(), (first, end)
            assert (segment.after <= written[:n] + 1e-9).all(), (first, end)
            self.reads_checked += int((segment.counts > 0).sum())
        super()._book_reads(reads, first, end, means)


def conserved(results) -> None:
    s = results.stream
    offered = s["OfferedRecords"].sum()
    gone = s["AcceptedRecords"].sum() + s["DroppedRecords"].sum() + s["ExpiredRecords"].sum()
    buffered = s["BufferedRecords"].iloc[-1]
    for column in ("OfferedRecords", "AcceptedRecords", "DroppedRecords", "ExpiredRecords", "BufferedRecords"):
        values = s[column].to_numpy()
        assert (values >= 0).all() and (values == np.round(values)).all(), column
    assert offered == gone + buffered, (offered, gone, buffered)
    summary = results.summary()
    assert summary["offered"] == summary["accepted"] + summary["dropped"] + summary["buffered_at_end"]


def within_write_limits(results) -> None:
    incoming = results.shards["IncomingRecords"].to_numpy()
    incoming_bytes = results.shards["IncomingBytes"].to_numpy()
    assert incoming.max(initial=0) <= 1000
    assert incoming_bytes.max(initial=0) <= 1 * MiB
    # The stream-level view is the sum of the shards.
    np.testing.assert_allclose(incoming.sum(axis=1), results.stream["IncomingRecords"].to_numpy())
    # Closed shards take no writes (retries and KPL buffers follow their keys to the children).
    seconds = results.shards.index.to_numpy()
    for column, closed in enumerate(results.lineage["closed_second"]):
        if closed is not None and not pd.isna(closed):
            assert incoming[seconds >= closed - 1e-9, column].sum() == 0, results.lineage.iloc[column]["ShardId"]


@settings(max_examples=45, **SETTINGS)
@given(scenario=scenarios(), seed=st.integers(0, 2**16))
def test_conservation_write_limits_and_no_read_before_write(scenario, seed):
    runner = CheckedRunner(scenario, seed)
    results = runner.run(False)
    conserved(results)
    within_write_limits(results)
    # Outgoing per shard never passes what all consumers together could have read.
    readers = len(scenario.consumers)
    cum_in = results.shards["IncomingRecords"].cumsum().to_numpy()
    cum_out = results.shards["OutgoingRecords"].cumsum().to_numpy()
    duplicates = sum(results.duplicates.values())
    assert (cum_out <= readers * cum_in + duplicates + 1e-9).all()


@settings(max_examples=25, **SETTINGS)
@given(scenario=scenarios(max_consumers=0, events=False), kind=st.sampled_from(["poll", "kcl", "efo"]),
       interval=st.floats(0.2, 3), limit=st.integers(1, 10_000), seed=st.integers(0, 2**16))
def test_a_lone_consumer_never_reads_a_shard_ahead_of_its_writes(scenario, kind, interval, limit, seed):
    lone = {"poll": PollingConsumer(name="lone", poll_interval=interval, limit=limit),
            "kcl": KclConsumer(name="lone", workers=2, poll_interval=max(0.5, interval), limit=limit),
            "efo": EnhancedFanOutConsumer(name="lone")}[kind]
    scenario = Scenario(stream=scenario.stream, producers=scenario.producers, consumers=[lone],
                        events=[UpdateShardCount(at=scenario.duration // 2, target=2)], duration=scenario.duration)
    results = CheckedRunner(scenario, seed).run(False)
    cum_in = results.shards["IncomingRecords"].cumsum().to_numpy()
    cum_out = results.shards["OutgoingRecords"].cumsum().to_numpy()
    assert (cum_out <= cum_in + 1e-9).all()
    assert results.consumers[("Records", "lone")].sum() == cum_out[-1].sum()
    conserved(results)
    within_write_limits(results)


@settings(max_examples=15, **SETTINGS)
@given(scenario=scenarios(), seed=st.integers(0, 2**16))
def test_same_seed_gives_identical_results(scenario, seed):
    first = run(scenario, seed=seed, progress=False)
    second = run(scenario, seed=seed, progress=False)
    pd.testing.assert_frame_equal(first.stream, second.stream, check_exact=True)
    pd.testing.assert_frame_equal(first.shards, second.shards, check_exact=True)
    pd.testing.assert_frame_equal(first.consumers, second.consumers, check_exact=True)
    pd.testing.assert_frame_equal(first.latency, second.latency, check_exact=True)
    pd.testing.assert_frame_equal(first.events, second.events, check_exact=True)
    pd.testing.assert_frame_equal(first.lineage, second.lineage, check_exact=True)
    assert first.duplicates == second.duplicates and first.delivered == second.delivered


def test_different_seeds_may_differ():
    scenario = Scenario(stream=StreamSpec(shards=4),
                        producers=[Producer(traffic=Constant(3000), keys=UniformKeys(1000), record_size=FixedSize(100),
                                            retry=ExponentialBackoff())],
                        duration=10)
    frames = [run(scenario, seed=seed, progress=False).shards["IncomingRecords"] for seed in (0, 1)]
    assert not frames[0].equals(frames[1])
    # ... but not in what the seed cannot touch: offered totals and the limits.
    totals = [run(scenario, seed=seed, progress=False).stream["OfferedRecords"] for seed in (0, 1)]
    assert totals[0].equals(totals[1])


@settings(max_examples=40, **SETTINGS)
@given(scenario=scenarios(), seed=st.integers(0, 2**16))
def test_segments_solved_at_once_equal_the_tick_by_tick_run(scenario, seed):
    """The closed forms for whole segments (writes of producers that never retry; enhanced
    fan-out; polling within budget) give the numbers of a run that goes tick by tick, random
    draws, latency percentiles and the bill included."""
    assert_same_run(Runner(scenario, seed, "counts").run(False), TickByTickRunner(scenario, seed, "counts").run(False))


firehose = st.builds(FirehoseConsumer, name=st.just("firehose"), size_mib=st.integers(1, 3),
                     interval_seconds=st.sampled_from([0, 1, 7, 30, 60]), poll_interval=st.floats(0.5, 2),
                     limit=st.integers(1, 10_000), start=st.sampled_from(["TRIM_HORIZON", "LATEST"]))


@settings(max_examples=30, **SETTINGS)
@given(scenario=scenarios(max_consumers=2), reader=firehose, seed=st.integers(0, 2**16))
def test_firehose_read_in_segments_delivers_what_reading_each_tick_as_it_happens_delivers(scenario, reader, seed):
    """A Firehose consumer's buffer on a clock of its own, fed a segment at a time, delivers the
    same objects at the same virtual times as the buffer on the simulator's clock fed tick by tick."""
    scenario = Scenario(stream=scenario.stream, producers=scenario.producers, consumers=[*scenario.consumers, reader],
                        events=scenario.events, duration=scenario.duration * 3)
    fast = Runner(scenario, seed, "counts").run(False)
    assert "firehose" in fast.firehose
    assert_same_run(fast, TickByTickRunner(scenario, seed, "counts").run(False))
