"""Scenario consumers (issue 3): polling applications share each shard's 5 GetRecords calls/s and
2 MiB/s (facts §1); enhanced fan-out consumers get 2 MiB/s per shard each, independently, with
~70 ms propagation (facts §6, EFO-NOW); KCL groups read everything once when nothing fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kinesislab.limits import MiB
from kinesislab.scenario import (Constant, EnhancedFanOutConsumer, FixedSize, KclConsumer, PollingConsumer, Producer,
                                 RandomKeys, Scenario, StreamSpec, UniformKeys, run)

RECORD = 1000 + 16  # FixedSize(1000) plus the default 16-byte partition key


def go(scenario: Scenario, seed: int = 0):
    return run(scenario, seed=seed, progress=False)


def one_shard(rate: float, consumers, duration: int = 60, size: int = 1000, **stream) -> Scenario:
    return Scenario(stream=StreamSpec(shards=1, **stream),
                    producers=[Producer(traffic=Constant(rate), keys=UniformKeys(100), record_size=FixedSize(size))],
                    consumers=list(consumers), duration=duration)


# ----------------------------------------------------------------------------- polling: 5 calls/s


def test_six_apps_polling_once_a_second_exceed_the_five_calls_per_second():
    # Small records: bytes never bind, only the call count does.
    apps = [PollingConsumer(name=f"app{i}", poll_interval=1.0) for i in range(6)]
    r = go(one_shard(100, apps, duration=30, size=100))
    throttled = r.shards["ReadProvisionedThroughputExceeded"].iloc[:, 0]
    # Six calls a second against five: exactly one refused every second.
    assert (throttled == 1).all()
    assert (r.stream["ReadProvisionedThroughputExceeded"] == 1).all()
    per_app = [r.consumers[("ReadProvisionedThroughputExceeded", f"app{i}")].sum() for i in range(6)]
    assert sum(per_app) == 30
    # The shard's apps take turns being refused; nobody is starved, everyone ends caught up.
    assert min(per_app) > 0
    for i in range(6):
        # At worst the app's last call was the refused one: one second of records still unread.
        assert 100 * 30 - 100 <= r.delivered[f"app{i}"] <= 100 * 30


@pytest.mark.parametrize("apps", [1, 2, 3, 4, 5])
def test_up_to_five_apps_polling_once_a_second_are_never_throttled_by_calls(apps):
    r = go(one_shard(100, [PollingConsumer(name=f"app{i}") for i in range(apps)], duration=20, size=100))
    assert r.stream["ReadProvisionedThroughputExceeded"].sum() == 0
    assert all(r.delivered[f"app{i}"] == 2000 for i in range(apps))


def test_one_app_polling_five_times_a_second_uses_the_whole_call_budget():
    alone = go(one_shard(100, [PollingConsumer(name="fast", poll_interval=0.2)], duration=20, size=100))
    assert alone.stream["ReadProvisionedThroughputExceeded"].sum() == 0
    pair = go(one_shard(100, [PollingConsumer(name="fast", poll_interval=0.2),
                              PollingConsumer(name="slow", poll_interval=1.0)], duration=20, size=100))
    # Six calls a second again: one refused each second.
    assert (pair.stream["ReadProvisionedThroughputExceeded"] == 1).all()


# ----------------------------------------------------------------------------- polling: 2 MiB/s shared


def test_polling_apps_share_two_mib_per_second_per_shard_and_lag_grows_as_apps_are_added():
    duration = 60
    written = 900 * duration  # records, ~0.87 MiB/s: two apps fit in 2 MiB/s, three do not
    backlog = []
    for apps in range(1, 7):
        r = go(one_shard(900, [PollingConsumer(name=f"app{i}") for i in range(apps)], duration=duration))
        read_bytes = r.shards["OutgoingBytes"].iloc[:, 0].to_numpy()
        # Shared budget: 2 MiB/s on average, plus one call's overdraw (10 MiB) at most.
        assert read_bytes.sum() <= 2 * MiB * duration + 10 * MiB
        assert read_bytes.sum() == pytest.approx(r.stream["GetRecords.Bytes"].sum())
        unread = np.mean([written - r.delivered[f"app{i}"] for i in range(apps)])
        backlog.append(unread)
        if apps >= 3:
            # Demand exceeds supply: the shard's read budget is used up.
            assert read_bytes.sum() >= 2 * MiB * duration * 0.95
            assert r.stream["ReadProvisionedThroughputExceeded"].sum() > 0
            assert r.stream["GetRecords.IteratorAgeMilliseconds"].iloc[-10:].min() > 1000
    assert backlog[0] == backlog[1] == 0
    assert all(later >= earlier for earlier, later in zip(backlog, backlog[1:])), backlog
    assert backlog[2] > 0 and backlog[5] > backlog[2]


# ----------------------------------------------------------------------------- enhanced fan-out


def test_enhanced_fan_out_consumers_each_get_their_own_two_mib_per_shard():
    # Five EFO consumers on a shard written at ~0.87 MiB/s read 4.4 MiB/s in all: more than the
    # 2 MiB/s polling apps share, because each has its own pipe.
    efo = [EnhancedFanOutConsumer(name=f"efo{i}") for i in range(5)]
    r = go(one_shard(900, efo))
    written = r.shards["IncomingRecords"].to_numpy().sum()
    for consumer in efo:
        assert r.delivered[consumer.name] == written
        assert (r.consumers[("MillisBehindLatest", consumer.name)] == 0).all()
    assert r.shards["OutgoingBytes"].iloc[:, 0].sum() == pytest.approx(5 * written * RECORD)
    assert r.stream["ReadProvisionedThroughputExceeded"].sum() == 0


def test_enhanced_fan_out_is_capped_at_two_mib_per_second_per_shard_per_consumer():
    # A "what if" stream whose shards take 3 MiB/s of writes: each EFO consumer still gets 2 MiB/s.
    limits = {"shard_write_bytes_per_second": 3 * MiB, "shard_write_records_per_second": 5000}
    r = go(one_shard(3000, [EnhancedFanOutConsumer(name="a"), EnhancedFanOutConsumer(name="b")], duration=30,
                     limits=limits))
    for name in ("a", "b"):
        per_second = r.consumers[("Bytes", name)].to_numpy()
        assert per_second.max() <= 2 * MiB
        assert per_second.min() >= 2 * MiB - RECORD  # whole records only
        lag = r.consumers[("MillisBehindLatest", name)].to_numpy()
        assert lag[-1] > lag[5] > 0  # falling behind by a third of the writes every second


def test_enhanced_fan_out_does_not_touch_the_shared_polling_budget():
    base = one_shard(900, [PollingConsumer(name="app"), PollingConsumer(name="app2"), PollingConsumer(name="app3")])
    with_efo = Scenario(stream=base.stream, producers=base.producers,
                        consumers=[*base.consumers, *[EnhancedFanOutConsumer(name=f"efo{i}") for i in range(3)]],
                        duration=base.duration)
    # Same polling apps, same order of turns: their numbers are unchanged by the EFO consumers.
    plain, mixed = go(base), go(with_efo)
    for name in ("app", "app2", "app3"):
        assert plain.delivered[name] == mixed.delivered[name]
    assert plain.stream["GetRecords.Bytes"].equals(mixed.stream["GetRecords.Bytes"])
    assert plain.stream["ReadProvisionedThroughputExceeded"].equals(mixed.stream["ReadProvisionedThroughputExceeded"])


# ----------------------------------------------------------------------------- latency


def test_enhanced_fan_out_latency_is_about_70_ms_when_caught_up_and_beats_polling():
    r = go(Scenario(stream=StreamSpec(shards=2),
                    producers=[Producer(traffic=Constant(1200), keys=RandomKeys(), record_size=FixedSize(500))],
                    consumers=[EnhancedFanOutConsumer(name="efo"), PollingConsumer(name="poll", poll_interval=1.0)],
                    duration=60))
    latency = r.latency.set_index("consumer")
    efo = latency.loc["efo"]
    assert efo["kind"] == "efo"
    assert efo["records"] == r.shards["IncomingRecords"].to_numpy().sum()
    assert efo["p50_ms"] == pytest.approx(70, abs=30)
    assert efo["p99_ms"] <= 200
    poll = latency.loc["poll"]
    assert poll["p50_ms"] > efo["p50_ms"]
    assert poll["p50_ms"] <= 1500  # at most one poll interval and a bit


def test_latency_grows_for_a_consumer_that_falls_behind():
    limits = {"shard_write_bytes_per_second": 3 * MiB, "shard_write_records_per_second": 5000}
    r = go(one_shard(3000, [EnhancedFanOutConsumer(name="behind")], duration=30, limits=limits))
    row = r.latency.set_index("consumer").loc["behind"]
    assert row["p50_ms"] > 1000
    assert row["p99_ms"] >= row["p90_ms"] >= row["p50_ms"]


# ----------------------------------------------------------------------------- KCL


def test_kcl_group_reads_every_record_once_and_checkpoints_without_duplicates():
    r = go(Scenario(stream=StreamSpec(shards=4),
                    producers=[Producer(traffic=Constant(2000), keys=RandomKeys(), record_size=FixedSize(500))],
                    consumers=[KclConsumer(name="kcl", workers=3)], duration=40))
    written = r.shards["IncomingRecords"].to_numpy().sum()
    # Caught up at the last poll (KCL default: every 1.5 s); nothing read twice.
    assert r.delivered["kcl"] <= written
    assert r.delivered["kcl"] >= written - r.stream["IncomingRecords"].iloc[-2:].sum()
    assert r.duplicates["kcl"] == 0
    assert r.consumers[("Duplicates", "kcl")].sum() == 0


def test_consumers_frame_has_one_column_per_metric_and_consumer():
    r = go(one_shard(100, [PollingConsumer(name="p"), EnhancedFanOutConsumer(name="e"), KclConsumer(name="k")],
                     duration=5, size=100))
    columns = set(r.consumers.columns)
    for name in ("p", "e", "k"):
        assert ("Records", name) in columns and ("Bytes", name) in columns and ("MillisBehindLatest", name) in columns
    assert ("Duplicates", "k") in columns
    assert isinstance(r.consumers.columns, pd.MultiIndex)
    assert list(r.consumers.columns.names) == ["MetricName", "ConsumerName"]
