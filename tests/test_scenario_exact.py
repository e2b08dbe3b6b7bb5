"""Scenario runner, exact counts on tiny scenarios (issue 3, "Tests").

Every expected number here is worked out from the documented rules (facts §1, §5, §11) or from
the scenario's own per-second incoming counts with an independent model of the rule, never read
back from the runner's internals.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kinesislab.limits import MiB
from kinesislab.scenario import (ChangeTraffic, Constant, Burst, ExponentialBackoff, FixedRetry, FixedSize, HotKey,
                                 KclConsumer, KillWorker, KplSettings, MergeShards, NoRetry, PollingConsumer, Producer,
                                 RandomKeys, Scenario, Series, SplitShard, Step, StreamSpec, SwitchMode, UniformKeys,
                                 UpdateShardCount, run)

SCALE_UP_SECONDS = 15 * 60


def go(scenario: Scenario, seed: int = 0, **kwargs):
    return run(scenario, seed=seed, progress=False, **kwargs)


# ----------------------------------------------------------------------------- write limits


@pytest.mark.parametrize("retry", [NoRetry(), FixedRetry(delay=1.0, max_attempts=3)])
def test_hot_key_at_1500_per_second_on_4_shards_accepts_1000_and_throttles_500_every_second(retry):
    scenario = Scenario(stream=StreamSpec(shards=4),
                        producers=[Producer(traffic=Constant(1500), keys=HotKey(share=1.0, count=1), retry=retry)],
                        duration=10)
    r = go(scenario)
    s = r.stream
    assert (s["OfferedRecords"] == 1500).all()
    assert (s["AcceptedRecords"] == 1000).all()
    assert (s["IncomingRecords"] == 1000).all()
    # One key hashes to one shard: that shard takes 1,000/s, the other three nothing.
    incoming = r.shards["IncomingRecords"]
    hot = incoming.columns[(incoming.sum() > 0).values]
    assert len(hot) == 1
    assert (incoming[hot[0]] == 1000).all()
    assert (r.shards["WriteProvisionedThroughputExceeded"].drop(columns=hot).to_numpy() == 0).all()
    # Sizes: 1,024 data bytes + 16 key bytes per record.
    assert (s["IncomingBytes"] == 1000 * 1040).all()
    if isinstance(retry, NoRetry):
        assert (s["ThrottledRecords"] == 500).all()
        assert (s["WriteProvisionedThroughputExceeded"] == 500).all()
        assert (s["DroppedRecords"] == 500).all()
        assert (s["RetriedRecords"] == 0).all() and (s["BufferedRecords"] == 0).all()
    else:
        # Retries only add to the queue in front of a full shard: more is refused every second.
        assert (s["ThrottledRecords"].iloc[1:] > 500).all()
        assert s["ThrottledRecords"].iloc[0] == 500
    summary = r.summary()
    assert summary["offered"] == summary["accepted"] + summary["dropped"] + summary["buffered_at_end"]


def test_without_kpl_one_shard_passes_1000_records_per_second():
    r = go(Scenario(stream=StreamSpec(shards=1),
                    producers=[Producer(traffic=Constant(5000), record_size=FixedSize(100), keys=UniformKeys(1000))],
                    duration=10))
    assert (r.stream["AcceptedRecords"] == 1000).all()
    assert (r.stream["DroppedRecords"] == 4000).all()
    # The record limit binds, not the byte limit: 1,000 x 116 bytes is far under 1 MiB.
    assert (r.stream["IncomingBytes"] == 1000 * 116).all()


def test_kpl_aggregation_lets_5000_small_user_records_per_second_through_one_shard():
    r = go(Scenario(stream=StreamSpec(shards=1),
                    producers=[Producer(traffic=Constant(5000), record_size=FixedSize(100), keys=UniformKeys(1000),
                                        kpl=KplSettings())],
                    duration=10))
    s = r.stream
    assert (s["OfferedRecords"] == 5000).all()
    assert (s["AcceptedRecords"] == 5000).all()          # user records
    assert (s["DroppedRecords"] == 0).all() and (s["ExpiredRecords"] == 0).all()
    assert (s["ThrottledRecords"] == 0).all()
    # Kinesis records: 100 ms windows of 500 user records, each a 51,200-byte aggregate at most,
    # so the shard sees a few dozen records per second and well under 1 MiB: neither limit binds.
    kinesis_records = s["IncomingRecords"]
    assert (kinesis_records < 100).all() and (kinesis_records >= 10).all()
    assert (s["IncomingBytes"] <= 1 * MiB).all()
    # Each user record costs at least its 100 data bytes inside the aggregate.
    assert (s["IncomingBytes"] >= 5000 * 100).all()
    assert r.summary()["buffered_at_end"] == 0


# ----------------------------------------------------------------------------- retries


def _burst(policy) -> Scenario:
    # 3,000 records in second 0 on one shard, then silence: two spare seconds of capacity after.
    return Scenario(stream=StreamSpec(shards=1),
                    producers=[Producer(traffic=Series((3000.0,) + (0.0,) * 39), keys=UniformKeys(100), retry=policy)],
                    duration=40)


def test_burst_without_retry_drops_what_the_shard_refused():
    summary = go(_burst(NoRetry())).summary()
    assert (summary["accepted"], summary["dropped"], summary["buffered_at_end"]) == (1000, 2000, 0)


def test_fixed_retry_delivers_the_burst_in_three_seconds():
    r = go(_burst(FixedRetry(delay=1.0, max_attempts=5)))
    accepted = r.stream["AcceptedRecords"].to_numpy()
    assert list(accepted[:4]) == [1000, 1000, 1000, 0]
    assert list(r.stream["RetriedRecords"].to_numpy()[:3]) == [2000, 1000, 0]
    assert r.summary()["dropped"] == 0 and r.summary()["buffered_at_end"] == 0


def test_fixed_retry_attempt_cap_and_buffer_cap_drop_exactly_the_excess():
    # Two attempts in all: second 0 keeps 2,000 for one retry, second 1 takes 1,000 of them.
    summary = go(_burst(FixedRetry(delay=1.0, max_attempts=2))).summary()
    assert (summary["accepted"], summary["dropped"]) == (2000, 1000)
    # A 500-record buffer: 1,500 of the 2,000 refused are dropped at once.
    summary = go(_burst(FixedRetry(delay=1.0, max_attempts=5, max_buffered=500))).summary()
    assert (summary["accepted"], summary["dropped"]) == (1500, 1500)


@pytest.mark.parametrize("jitter", [True, False])
def test_exponential_backoff_eventually_delivers_everything(jitter):
    r = go(_burst(ExponentialBackoff(base=0.1, cap=5.0, max_attempts=10, jitter=jitter)))
    summary = r.summary()
    assert summary["offered"] == 3000
    assert summary["accepted"] == 3000
    assert summary["dropped"] == 0 and summary["buffered_at_end"] == 0
    assert (r.stream["IncomingRecords"] <= 1000).all()


@pytest.mark.parametrize("policy", [FixedRetry(delay=2.0, max_attempts=20),
                                    ExponentialBackoff(base=0.2, cap=4.0, max_attempts=30)])
def test_retries_deliver_everything_when_average_load_is_under_capacity(policy):
    # Bursts of 2,500/s for 2 s every 20 s over a 200/s base on one shard: 50 % average load.
    scenario = Scenario(stream=StreamSpec(shards=1),
                        producers=[Producer(traffic=Burst(base=200, peak=2500, every=20, length=2),
                                            keys=UniformKeys(50), retry=policy)],
                        events=[ChangeTraffic(at=60, producer="producer", traffic=Constant(0))],
                        duration=90)
    r = go(scenario)
    summary = r.summary()
    assert summary["throttled_attempts"] > 0
    assert summary["dropped"] == 0
    assert summary["buffered_at_end"] == 0
    assert summary["accepted"] == summary["offered"]


# ----------------------------------------------------------------------------- on-demand


def test_on_demand_doubling_spike_throttles_for_at_most_15_minutes_while_shards_are_added():
    spike_at = 1200
    scenario = Scenario(stream=StreamSpec(mode="ON_DEMAND"),
                        producers=[Producer(traffic=Step(3000, 8000, spike_at), keys=RandomKeys(),
                                            record_size=FixedSize(100), retry=NoRetry())],
                        duration=spike_at + SCALE_UP_SECONDS + 300)
    r = go(scenario)
    s = r.stream
    throttled = s["ThrottledRecords"]
    # 3,000/s fits the new stream's 4 shards; 8,000/s more than doubles the 3,000/s peak.
    assert throttled.loc[:spike_at - 1].sum() == 0
    assert throttled.loc[spike_at] > 0
    last = throttled.index[throttled.to_numpy() > 0].max()
    assert spike_at <= last <= spike_at + SCALE_UP_SECONDS
    assert throttled.loc[last + 1:].sum() == 0
    assert (s["AcceptedRecords"].loc[last + 1:] == 8000).all()
    shards = s["OpenShardCount"]
    assert shards.iloc[0] == 4
    assert shards.is_monotonic_increasing
    assert shards.loc[spike_at - 1] < shards.loc[last + 1]
    # Twice the 8,000/s peak at 1,000 records/s per shard.
    assert shards.iloc[-1] == 16


# ----------------------------------------------------------------------------- KCL failover


def _kcl_expected_position_and_checkpoint(incoming: np.ndarray, kill_tick: int, spec: KclConsumer) -> tuple[float, float]:
    """The documented KCL rules on one shard, stepped second by second up to the crash: a worker
    reads everything written when it polls (every ``poll_interval`` s) and checkpoints after a
    poll once ``checkpoint_every_records`` records or ``checkpoint_every_seconds`` s have passed.
    Returns (records processed, last checkpoint) at the crash."""
    cumulative = np.concatenate([[0.0], np.cumsum(incoming)])
    position = checkpoint = 0.0
    checkpoint_time = 0.0
    for tick in range(kill_tick):
        interval = spec.poll_interval
        calls = math.floor((tick + 1) / interval + 1e-9) - math.floor(tick / interval + 1e-9)
        if calls:
            position = cumulative[tick + 1]
        now = tick + 1.0
        due = ((spec.checkpoint_every_records and position - checkpoint >= spec.checkpoint_every_records)
               or (spec.checkpoint_every_seconds and now - checkpoint_time >= spec.checkpoint_every_seconds))
        if due:
            checkpoint, checkpoint_time = position, now
    return position, checkpoint


@pytest.mark.parametrize("spec, shards, kill_at", [
    (KclConsumer(name="kcl", workers=2, poll_interval=1.0, checkpoint_every_seconds=10.0), 2, 25),
    (KclConsumer(name="kcl", workers=2, poll_interval=1.5, checkpoint_every_records=700,
                 checkpoint_every_seconds=None), 4, 34),
    (KclConsumer(name="kcl", workers=2, poll_interval=1.0, checkpoint_every_records=1000,
                 checkpoint_every_seconds=7.0, failover_time=20.0), 4, 40),
])
def test_kcl_worker_crash_resumes_from_last_checkpoint_with_exact_duplicates(spec, shards, kill_at):
    duration = 90
    scenario = Scenario(stream=StreamSpec(shards=shards),
                        producers=[Producer(traffic=Constant(100 * shards), keys=RandomKeys(), record_size=FixedSize(100))],
                        consumers=[spec], events=[KillWorker(at=kill_at, consumer="kcl", worker=0)], duration=duration)
    r = go(scenario)
    assert list(r.events["outcome"]) == ["ok"]
    incoming = r.shards["IncomingRecords"].to_numpy()
    outgoing = r.shards["OutgoingRecords"].to_numpy()
    takeover = kill_at + int(spec.failover_time)
    # Leases go to the least-loaded worker in shard order: worker 0 holds shards 0, 2, ...
    dead = list(range(0, shards, 2))
    alive = list(range(1, shards, 2))
    per_slot = np.zeros(shards)
    for slot in dead:
        # Silent from the crash until the lease expires ...
        assert (outgoing[kill_at:takeover, slot] == 0).all()
        position, checkpoint = _kcl_expected_position_and_checkpoint(incoming[:, slot], kill_at, spec)
        assert position > checkpoint  # the crash loses work in progress
        per_slot[slot] = position - checkpoint
        # ... then the new owner re-reads from the checkpoint up to the tip (at its next poll).
        first_poll = next(t for t in range(takeover, duration) if outgoing[t, slot] > 0)
        assert first_poll <= takeover + 1
        assert outgoing[first_poll, slot] == incoming[:first_poll + 1, slot].sum() - checkpoint
    for slot in alive:
        assert outgoing[kill_at:takeover, slot].sum() > 0
    expected_duplicates = per_slot.sum()
    assert r.duplicates["kcl"] == expected_duplicates
    assert r.consumers[("Duplicates", "kcl")].sum() == expected_duplicates
    assert r.consumers[("Duplicates", "kcl")].loc[takeover] == expected_duplicates
    # Nothing lost: every record read at least once (the group is caught up at the end), and
    # reads = records + duplicates, shard by shard.
    np.testing.assert_array_equal(outgoing.sum(axis=0), incoming.sum(axis=0) + per_slot)
    total_in = incoming.sum()
    assert r.delivered["kcl"] == total_in + expected_duplicates
    assert r.consumers[("Records", "kcl")].sum() == total_in + expected_duplicates


def test_kcl_without_crash_has_no_duplicates_and_reads_everything_once():
    r = go(Scenario(stream=StreamSpec(shards=3),
                    producers=[Producer(traffic=Constant(900), keys=RandomKeys(), record_size=FixedSize(200))],
                    consumers=[KclConsumer(name="kcl", workers=2, poll_interval=1.0)], duration=30))
    assert r.duplicates["kcl"] == 0
    assert r.delivered["kcl"] == r.shards["IncomingRecords"].to_numpy().sum()


# ----------------------------------------------------------------------------- resharding


def _parents_done_before_children(r) -> list[tuple[str, str, float, float]]:
    """(child, parent, first second the child was read, second the parent was fully read)."""
    incoming = r.shards["IncomingRecords"]
    outgoing = r.shards["OutgoingRecords"]
    pairs = []
    for row in r.lineage.itertuples():
        for parent in (row.ParentShardId, row.AdjacentParentShardId):
            if not isinstance(parent, str):  # None in the lineage frame reads back as NaN
                continue
            read = outgoing[row.ShardId].to_numpy()
            if read.sum() == 0:
                continue
            child_first = float(outgoing.index[np.flatnonzero(read)[0]])
            done = outgoing[parent].cumsum().to_numpy() >= incoming[parent].sum()
            parent_done = float(outgoing.index[np.flatnonzero(done)[0]]) if done.any() else math.inf
            pairs.append((row.ShardId, parent, child_first, parent_done))
    return pairs


@pytest.mark.parametrize("event, shards", [
    (SplitShard(at=10, shard_id="shardId-000000000000"), 1),
    (UpdateShardCount(at=10, target=4), 2),
    (UpdateShardCount(at=10, target=2), 4),
    (MergeShards(at=10, shard_id="shardId-000000000000", adjacent_shard_id="shardId-000000000001"), 2),
])
@pytest.mark.parametrize("consumer", [PollingConsumer(name="slow", limit=200),
                                      KclConsumer(name="kcl", workers=2, poll_interval=1.0, limit=150)])
def test_parents_are_read_to_the_end_before_their_children(event, shards, consumer):
    # Writes outpace the consumer, so each parent still holds a backlog when it closes.
    scenario = Scenario(stream=StreamSpec(shards=shards),
                        producers=[Producer(traffic=Constant(400 * shards), keys=RandomKeys(), record_size=FixedSize(100))],
                        consumers=[consumer], events=[event], duration=120)
    r = go(scenario)
    assert list(r.events["outcome"]) == ["ok"]
    pairs = _parents_done_before_children(r)
    assert pairs, "no child shard was read"
    for child, parent, child_first, parent_done in pairs:
        assert child_first > parent_done, (child, parent, child_first, parent_done)
    # Nothing skipped: parents are read completely.
    incoming = r.shards["IncomingRecords"]
    outgoing = r.shards["OutgoingRecords"]
    for parent in {p for _, p, _, _ in pairs}:
        assert outgoing[parent].sum() == incoming[parent].sum()


# ----------------------------------------------------------------------------- retention


def test_retention_expiry_counts_records_a_lagging_consumer_never_read():
    # One-hour retention (a lesson's "what if"), 100 records/s, a consumer that reads 1 record/s.
    hours = 1
    rate, per_poll, duration = 100, 1, 3750
    scenario = Scenario(
        stream=StreamSpec(shards=1, retention_hours=hours,
                          limits={"default_retention_hours": hours, "min_retention_hours": hours}),
        producers=[Producer(traffic=Constant(rate), keys=UniformKeys(10), record_size=FixedSize(100))],
        consumers=[PollingConsumer(name="laggard", limit=per_poll)], duration=duration)
    r = go(scenario)
    # Independent model: before each second's read, everything written more than the retention
    # period ago is gone; a reader behind it skips to the trim horizon.
    retention = hours * 3600
    position = expired = 0
    for tick in range(duration):
        if tick >= retention:
            horizon = rate * (tick - retention)
            if position < horizon:
                expired += horizon - position
                position = horizon
        position += min(per_poll, rate * (tick + 1) - position)
    assert expired > 0
    assert r.expired_unread["laggard"] == expired
    assert r.delivered["laggard"] == duration * per_poll
    written = r.shards["IncomingRecords"].to_numpy().sum()
    assert written == rate * duration
    assert r.delivered["laggard"] + r.expired_unread["laggard"] == position
    # A consumer that keeps up loses nothing.
    fast = go(Scenario(stream=scenario.stream, producers=scenario.producers,
                       consumers=[PollingConsumer(name="keeps-up")], duration=duration))
    assert fast.expired_unread["keeps-up"] == 0


# ----------------------------------------------------------------------------- refused events


@pytest.mark.parametrize("mode, event, code", [
    ("PROVISIONED", UpdateShardCount(at=5, target=12), "LimitExceededException"),
    ("PROVISIONED", UpdateShardCount(at=5, target=1), "LimitExceededException"),
    ("PROVISIONED", SplitShard(at=5, shard_id="shardId-000000000099"), "ResourceNotFoundException"),
    ("PROVISIONED", MergeShards(at=5, shard_id="shardId-000000000000", adjacent_shard_id="shardId-000000000002"),
     "InvalidArgumentException"),
    ("PROVISIONED", SwitchMode(at=5, mode="PROVISIONED"), "InvalidArgumentException"),
    ("ON_DEMAND", SplitShard(at=5, shard_id="shardId-000000000000"), "ValidationException"),
    ("ON_DEMAND", UpdateShardCount(at=5, target=8), "ValidationException"),
])
def test_events_the_service_refuses_are_reported_and_change_nothing(mode, event, code):
    base = Scenario(stream=StreamSpec(mode=mode, shards=4),
                    producers=[Producer(traffic=Constant(2000), keys=UniformKeys(500))], duration=30)
    plain = go(base)
    refused = go(Scenario(stream=base.stream, producers=base.producers, events=[event], duration=base.duration))
    events = refused.events
    assert len(events) == 1
    row = events.iloc[0]
    assert row["event"] == type(event).__name__
    assert row["at"] == event.at
    assert row["outcome"].startswith(code + ": ")
    # Nothing changed: same shards, same per-second numbers as the run without the event.
    assert refused.shard_ids == plain.shard_ids
    assert (refused.stream["OpenShardCount"] == 4).all()
    assert refused.stream.equals(plain.stream)
    assert refused.shards.equals(plain.shards)


def test_accepted_events_are_reported_ok():
    r = go(Scenario(stream=StreamSpec(shards=2), producers=[Producer(traffic=Constant(500))],
                    events=[UpdateShardCount(at=5, target=4), ChangeTraffic(at=8, producer="producer",
                                                                            traffic=Constant(50))],
                    duration=30))
    assert list(r.events["outcome"]) == ["ok", "ok"]
    assert r.stream["OpenShardCount"].iloc[-1] == 4
    assert r.stream["OfferedRecords"].iloc[-1] == 50


@pytest.mark.parametrize("resolution", [0.5, 0.25, 0.1])
def test_sub_second_ticks_keep_the_per_second_limits(resolution):
    r = go(Scenario(stream=StreamSpec(shards=4),
                    producers=[Producer(traffic=Constant(1500), keys=HotKey(share=1.0, count=1))],
                    duration=5, resolution=resolution))
    s = r.stream
    per_second = s.groupby((s.index.to_numpy() + 1e-9).astype(int)).sum()
    assert (per_second["OfferedRecords"] == 1500).all()
    assert (per_second["AcceptedRecords"] == 1000).all()
    assert (per_second["DroppedRecords"] == 500).all()


def test_ticks_longer_than_the_budget_refill_are_refused():
    with pytest.raises(ValueError):
        go(Scenario(duration=10, resolution=2.0))
