"""The lease history of a KCL group (kinesislab.scenario.leases): same run, and duplicates that
are exactly the records processed past the crashed worker's last checkpoint."""

import numpy as np
import pytest

from kinesislab.scenario import (ChangeTraffic, Constant, FixedSize, KclConsumer, KillWorker, Producer, RandomKeys,
                                 Scenario, SplitShard, StreamSpec, run)
from kinesislab.scenario.leases import LEASE_COLUMNS, records_since_checkpoint, run_with_leases


def _crash(checkpoint_every: float, crash_at: float, workers: int = 2, events=()) -> Scenario:
    return Scenario(stream=StreamSpec(shards=4),
                    producers=[Producer(name="p", traffic=Constant(2000), keys=RandomKeys(), record_size=FixedSize(500))],
                    consumers=[KclConsumer(name="g", workers=workers, poll_interval=1.0,
                                           checkpoint_every_seconds=checkpoint_every)],
                    events=[KillWorker(at=crash_at, consumer="g", worker=0),
                            ChangeTraffic(at=90, producer="p", traffic=Constant(0)), *events],
                    duration=100)


@pytest.mark.parametrize("checkpoint_every, crash_at, workers", [(20, 45, 2), (35, 45, 2), (25, 12, 3), (5, 10, 2)])
def test_rereads_are_the_records_past_the_last_checkpoint(checkpoint_every, crash_at, workers):
    scenario = _crash(checkpoint_every, crash_at, workers)
    results, leases = run_with_leases(scenario)
    plain = run(scenario)
    assert list(leases.columns) == LEASE_COLUMNS
    # Recording the leases changes nothing in the run.
    np.testing.assert_array_equal(results.shards["OutgoingRecords"].to_numpy(), plain.shards["OutgoingRecords"].to_numpy())
    assert results.duplicates == plain.duplicates
    at_risk = records_since_checkpoint(leases, "g", 0, crash_at)
    assert leases["rereads"].sum() == results.duplicates["g"] == at_risk
    # Reads per second and shard agree with the runner's own OutgoingRecords.
    per_shard = leases.pivot(index="second", columns="shard_id", values="reads").to_numpy()
    np.testing.assert_array_equal(per_shard, results.shards["OutgoingRecords"].to_numpy())
    # Nothing lost: every record processed at least once.
    assert results.delivered["g"] == results.shards["IncomingRecords"].to_numpy().sum() + at_risk


def test_lease_moves_after_the_failover_time_and_shard_end_is_checkpointed():
    results, leases = run_with_leases(_crash(20, 45, events=(SplitShard(at=60, shard_id="shardId-000000000001"),)))
    moved = leases[leases["took_over"]]
    assert set(moved["second"]) == {55.0} and set(moved["shard_id"]) == {"shardId-000000000000", "shardId-000000000002"}
    dead = leases[(leases["second"] >= 45) & (leases["second"] < 55) & (leases["owner"] == 0)]
    assert len(dead) and not dead["owner_alive"].any() and (dead["reads"] == 0).all()
    parent = leases[leases["shard_id"] == "shardId-000000000001"]
    assert parent["checkpoint"].max() == parent["position"].max()
    children = leases[leases["shard_id"].isin(["shardId-000000000004", "shardId-000000000005"])]
    assert children.loc[children["reads"] > 0, "second"].min() > parent.loc[parent["reads"] > 0, "second"].max()
