"""Resharding: SplitShard, MergeShards, UpdateShardCount (provisioned streams only).

Each call is validated in full first; then the stream goes UPDATING and the change lands
``Limits.stream_updating_seconds`` later in virtual time, as the service's does.
"""

from __future__ import annotations

from kinesislab.api.registry import operation

KINESIS = "kinesis"


@operation(KINESIS, "SplitShard")
def split_shard(client, params: dict) -> dict:
    stream = client.resolve_stream(params)
    new_start = int(params["NewStartingHashKey"])
    shard = stream.validate_split(params["ShardToSplit"], new_start)
    stream.set_status_for("UPDATING", client.sim.limits.stream_updating_seconds,
                          action=lambda: stream.apply_split(shard, new_start))
    return {}


@operation(KINESIS, "MergeShards")
def merge_shards(client, params: dict) -> dict:
    stream = client.resolve_stream(params)
    first, second = stream.validate_merge(params["ShardToMerge"], params["AdjacentShardToMerge"])
    stream.set_status_for("UPDATING", client.sim.limits.stream_updating_seconds,
                          action=lambda: stream.apply_merge(first, second))
    return {}


@operation(KINESIS, "UpdateShardCount")
def update_shard_count(client, params: dict) -> dict:
    stream = client.resolve_stream(params)
    target = params["TargetShardCount"]
    stream.validate_update_shard_count(target)
    current = len(stream.open_shards())
    stream.update_shard_count_times.append(client.sim.clock.time)
    stream.set_status_for("UPDATING", client.sim.limits.stream_updating_seconds,
                          action=lambda: stream.apply_uniform_scaling(target))
    return {"StreamName": stream.name, "StreamARN": stream.arn, "CurrentShardCount": current,
            "TargetShardCount": target}
