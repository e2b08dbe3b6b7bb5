"""The runner's closed forms (whole segments of writes and reads at once) against the plain
tick-by-tick run, on scenarios chosen to take each path: they must give the same numbers."""

from __future__ import annotations

import pytest

from kinesislab.scenario import (Constant, EnhancedFanOutConsumer, ExplicitHashKeys, ExponentialBackoff, FirehoseConsumer,
                                 FixedRetry, FixedSize, HotKey, KclConsumer, NoRetry, PollingConsumer, Producer,
                                 Scenario, Step, StreamSpec, UniformKeys, UniformSize, ZipfKeys)
from kinesislab.scenario.model import MergeShards, SplitShard, SwitchMode, UpdateShardCount
from kinesislab.scenario.runner import Runner

from conftest import TickByTickRunner, assert_same_run


class CountingRunner(Runner):
    """The real runner, counting which paths it took."""

    def __init__(self, scenario, seed):
        super().__init__(scenario, seed, "counts")
        self.paths = {"whole_seconds": 0, "segment_writes": 0, "planned_polls": 0, "polls_tick_by_tick": 0,
                      "planned_polls_with_refusals": 0}

    def _write_whole_seconds(self, first, end):
        self.paths["whole_seconds"] += 1
        return super()._write_whole_seconds(first, end)

    def _write_segment(self, first, end):
        self.paths["segment_writes"] += 1
        return super()._write_segment(first, end)

    def _poll_planned(self, *args):
        planned = super()._poll_planned(*args)
        self.paths["planned_polls" if planned is not None else "polls_tick_by_tick"] += 1
        if planned is not None and any(reads.throttled.any() for reads in planned.values()):
            self.paths["planned_polls_with_refusals"] += 1
        return planned


def _same(scenario: Scenario, seed: int = 7) -> dict:
    fast_runner = CountingRunner(scenario, seed)
    assert_same_run(fast_runner.run(False), TickByTickRunner(scenario, seed, "counts").run(False))
    return fast_runner.paths


def test_writes_that_never_retry_are_solved_per_segment_across_reshards():
    scenario = Scenario(
        stream=StreamSpec(shards=4),
        producers=[Producer(traffic=Step(3000, 7000, 40), keys=ZipfKeys(500, 1.2), retry=NoRetry())],
        consumers=[PollingConsumer(name="app"), EnhancedFanOutConsumer(name="efo", start="LATEST")],
        events=[UpdateShardCount(at=30, target=8), MergeShards(at=70, shard_id="shardId-000000000004",
                                                                adjacent_shard_id="shardId-000000000005")],
        duration=120)
    paths = _same(scenario)
    assert paths["whole_seconds"] >= 3 and paths["planned_polls"] >= 3


def test_several_producers_keep_their_random_draws_in_tick_order():
    scenario = Scenario(
        stream=StreamSpec(shards=2),
        producers=[Producer(name="small", traffic=Constant(1500), record_size=FixedSize(100), keys=UniformKeys(50)),
                   Producer(name="large", traffic=Constant(900), record_size=FixedSize(2000), keys=ZipfKeys(50, 1.5))],
        consumers=[EnhancedFanOutConsumer(name="efo")],
        events=[SplitShard(at=20, shard_id="shardId-000000000000")],
        duration=45)
    assert _same(scenario)["whole_seconds"] >= 2


def test_polling_over_the_shared_budget_goes_call_by_call_on_every_refused_shard():
    # Four applications polling five times a second share 5 calls/s per shard: both shards refuse.
    scenario = Scenario(
        stream=StreamSpec(shards=2),
        producers=[Producer(traffic=Constant(1500), keys=UniformKeys(100))],
        consumers=[PollingConsumer(name=f"app{i}", poll_interval=0.2) for i in range(4)],
        duration=20, resolution=0.2)
    paths = _same(scenario)
    assert paths["planned_polls_with_refusals"] >= 1 and paths["polls_tick_by_tick"] == 0
    assert paths["whole_seconds"] == 0


@pytest.mark.parametrize("poll_interval", [0.2, 0.5, 1.0])
def test_a_hot_shard_refusing_calls_goes_call_by_call_while_the_others_are_solved(poll_interval):
    # The capstone's shape: a hot key, three applications, backoff; only the hot shard's 2 MiB/s
    # and 5 calls/s run out.
    scenario = Scenario(
        stream=StreamSpec(shards=4),
        producers=[Producer(traffic=Step(2000, 4000, 15), record_size=FixedSize(900),
                            keys=HotKey(share=0.4, count=200), retry=ExponentialBackoff())],
        consumers=[PollingConsumer(name=f"app-{i}", poll_interval=poll_interval) for i in range(3)],
        duration=40, resolution=0.2 if poll_interval < 1 else 1.0)
    paths = _same(scenario)
    assert paths["planned_polls_with_refusals"] >= 1 and paths["polls_tick_by_tick"] == 0


def test_refused_calls_on_newly_readable_children_fall_back_to_tick_by_tick():
    # After a split the children wait for their parent to be drained: who is readable changes
    # inside the segment, so the segment with refusals goes tick by tick.
    scenario = Scenario(
        stream=StreamSpec(shards=2),
        producers=[Producer(traffic=Constant(2500), keys=HotKey(share=0.5, count=100))],
        consumers=[PollingConsumer(name=f"app{i}", poll_interval=0.2) for i in range(4)],
        events=[SplitShard(at=10, shard_id="shardId-000000000000")],
        duration=30, resolution=0.2)
    paths = _same(scenario)
    assert paths["polls_tick_by_tick"] >= 1 and paths["planned_polls_with_refusals"] >= 1


@pytest.mark.parametrize("retry", [NoRetry(), ExponentialBackoff()])
def test_kcl_groups_and_on_demand_streams_go_tick_by_tick_and_agree(retry):
    scenario = Scenario(
        stream=StreamSpec(mode="ON_DEMAND"),
        producers=[Producer(traffic=Step(1000, 6000, 20), keys=UniformKeys(200), retry=retry)],
        consumers=[KclConsumer(name="kcl", workers=2), EnhancedFanOutConsumer(name="efo")],
        duration=60)
    paths = _same(scenario)
    assert paths["whole_seconds"] == 0 and paths["planned_polls"] == 0


def test_a_large_record_byte_tank_goes_tick_by_tick_and_agrees():
    # A byte tank above one second carries unused capacity from second to second.
    scenario = Scenario(
        stream=StreamSpec(shards=2, limits={"write_burst_seconds": 3}),
        producers=[Producer(traffic=Step(500, 3000, 10), keys=UniformKeys(20), retry=NoRetry())],
        consumers=[EnhancedFanOutConsumer(name="efo")],
        duration=30)
    assert _same(scenario)["whole_seconds"] == 0


def test_writes_with_backoff_on_a_hot_shard_are_solved_per_segment_across_reshards():
    # The lesson-sized run: a hot shard refuses records every second, retries pile up and spread.
    scenario = Scenario(
        stream=StreamSpec(shards=4),
        producers=[Producer(traffic=Step(2500, 6000, 30), keys=ZipfKeys(300, 1.3), retry=ExponentialBackoff())],
        consumers=[PollingConsumer(name="app"), EnhancedFanOutConsumer(name="efo")],
        events=[SplitShard(at=40, shard_id="shardId-000000000000"), UpdateShardCount(at=70, target=2)],
        duration=110)
    paths = _same(scenario)
    assert paths["segment_writes"] >= 3 and paths["whole_seconds"] == 0


@pytest.mark.parametrize("retry", [FixedRetry(delay=1.5, max_attempts=3, max_buffered=400),
                                   ExponentialBackoff(base=0.3, cap=4, max_attempts=4, max_buffered=900, jitter=False),
                                   ExponentialBackoff(max_buffered=2500)])
def test_retry_buffers_that_fill_up_agree_with_the_tick_by_tick_run(retry):
    # max_buffered binds: the oldest attempts keep their room, the rest are dropped pro rata.
    scenario = Scenario(
        stream=StreamSpec(shards=2),
        producers=[Producer(name="hot", traffic=Constant(4000), keys=HotKey(0.7, 20), retry=retry),
                   Producer(name="plain", traffic=Constant(300), record_size=FixedSize(3000), keys=UniformKeys(10),
                            retry=NoRetry())],
        consumers=[EnhancedFanOutConsumer(name="efo")],
        duration=40, resolution=0.5)
    paths = _same(scenario)
    assert paths["segment_writes"] >= 1


def test_firehose_consumers_are_read_in_segments_and_deliver_the_same_objects():
    scenario = Scenario(
        stream=StreamSpec(shards=3),
        producers=[Producer(traffic=Step(800, 2500, 50), record_size=UniformSize(200, 3000), keys=ZipfKeys(200, 1.1),
                            retry=ExponentialBackoff())],
        consumers=[FirehoseConsumer(name="archive", size_mib=1, interval_seconds=20),
                   FirehoseConsumer(name="quick", size_mib=2, interval_seconds=0), PollingConsumer(name="app")],
        events=[SplitShard(at=35, shard_id="shardId-000000000001")],
        duration=90)
    paths = _same(scenario)
    assert paths["segment_writes"] >= 2 and paths["planned_polls"] >= 2


def test_a_switch_to_on_demand_completing_mid_second_sees_the_demand_of_that_second():
    # Half-second ticks: the switch completes half way through second 15, and the new on-demand
    # scaler is told that second's whole demand (6,000 records: both ticks, one of them still
    # provisioned). It is the peak, so 15 minutes later it decides the shard count.
    scenario = Scenario(
        stream=StreamSpec(shards=1),
        producers=[Producer(traffic=Step(6000, 100, 16), keys=UniformKeys(50), retry=NoRetry())],
        consumers=[EnhancedFanOutConsumer(name="efo")],
        events=[SwitchMode(at=10.5, mode="ON_DEMAND")],
        duration=930, resolution=0.5)
    paths = _same(scenario)
    assert paths["segment_writes"] >= 1


@pytest.mark.parametrize("retry, segments", [(NoRetry(), 3), (ExponentialBackoff(), 2)])
def test_on_demand_writes_go_by_segment_up_to_each_maturing_peak_and_agree(retry, segments):
    # A peak more than double the last one is throttled for 15 minutes, then the stream grows by
    # splitting the shards that saw the most demand (a hot key makes one of them the busiest).
    # Without retries: segments [0, 600) and [600, 1100), the tick whose clock step matures the
    # peak alone, then [1101, 1500). With retries the growing backlog is a new peak every second
    # (throttled records count as demand): the stream grows past 64 shards, beyond segment writes.
    scenario = Scenario(
        stream=StreamSpec(mode="ON_DEMAND"),
        producers=[Producer(traffic=Step(1500, 9000, 200), record_size=FixedSize(300),
                            keys=HotKey(share=0.3, count=300), retry=retry)],
        consumers=[PollingConsumer(name="app"), EnhancedFanOutConsumer(name="efo")],
        duration=1500)
    fast_runner = CountingRunner(scenario, 3)
    fast = fast_runner.run(False)
    assert_same_run(fast, TickByTickRunner(scenario, 3, "counts").run(False))
    assert fast_runner.paths["segment_writes"] == segments
    assert fast.stream["OpenShardCount"].iloc[-1] > fast.stream["OpenShardCount"].iloc[0]
    assert fast.lineage["ParentShardId"].notna().any()


@pytest.mark.parametrize("delay", [30.0, 120.0])
def test_peaks_that_mature_sooner_than_a_segment_lasts_end_on_demand_segments_in_time(delay):
    # With a shorter scale-up delay (a limit a stream may set), a peak set inside a segment would
    # mature inside it: segments are cut at the delay, and the stream grows when the reference does.
    scenario = Scenario(
        stream=StreamSpec(mode="ON_DEMAND", limits={"on_demand_scale_up_seconds": delay}),
        producers=[Producer(traffic=Step(1500, 9000, 200), record_size=FixedSize(300),
                            keys=HotKey(share=0.3, count=300), retry=NoRetry())],
        consumers=[PollingConsumer(name="app")],
        duration=700)
    paths = _same(scenario, seed=3)
    assert paths["segment_writes"] >= 700 // delay


def test_a_scaler_replaced_by_mode_switches_grows_nothing():
    # ON_DEMAND -> PROVISIONED -> ON_DEMAND: the first scaler's peak (seen at 100 s) would mature at
    # 1,001 s; the stream's new scaler starts afresh, so only its own peaks grow the stream.
    quarter = 2**128 // 4
    scenario = Scenario(
        stream=StreamSpec(mode="ON_DEMAND"),
        producers=[Producer(name="a", traffic=Step(1500, 9000, 100), record_size=FixedSize(300),
                            keys=ExplicitHashKeys((quarter // 2,)), retry=NoRetry()),
                   Producer(name="b", traffic=Step(0, 3000, 950), record_size=FixedSize(1000),
                            keys=ExplicitHashKeys((3 * quarter + quarter // 2,)), retry=NoRetry())],
        consumers=[PollingConsumer(name="app")],
        events=[SwitchMode(at=200, mode="PROVISIONED"), SwitchMode(at=300, mode="ON_DEMAND")],
        duration=1300)
    fast_runner = CountingRunner(scenario, 3)
    fast = fast_runner.run(False)
    assert_same_run(fast, TickByTickRunner(scenario, 3, "counts").run(False))
    grew = fast.stream["OpenShardCount"].diff() > 0
    assert not grew[fast.stream.index < 1206].any() and grew.any()   # 900 s after 305 s, its first peak
