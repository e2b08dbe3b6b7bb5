"""Kinesis control plane: create, delete, describe and list streams and shards; retention,
capacity mode, limits, enhanced monitoring and tags."""

from __future__ import annotations

import base64
import json
import math

from kinesislab.api.errors import ServiceError
from kinesislab.api.registry import operation
from kinesislab.engine.stream import DAY_SECONDS, Stream
from kinesislab.metrics import SHARD_LEVEL_METRICS

KINESIS = "kinesis"


def _mode_details(stream: Stream) -> dict:
    return {"StreamMode": stream.mode}


def _enhanced_monitoring(stream: Stream) -> list[dict]:
    return [{"ShardLevelMetrics": sorted(stream.enhanced_metrics)}]


@operation(KINESIS, "CreateStream")
def create_stream(client, params: dict) -> dict:
    sim = client.sim
    limits = sim.limits
    name = params["StreamName"]
    mode = params.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
    shard_count = params.get("ShardCount")
    if name in sim.streams:
        raise ServiceError("ResourceInUseException", f"Stream {name} under account {sim.account_id} already exists.")
    if sum(1 for s in sim.streams.values() if s.status == "CREATING") >= limits.max_streams_creating:
        raise ServiceError("LimitExceededException",
                           f"Too many streams are being created at once: at most {limits.max_streams_creating} "
                           f"streams may be CREATING in account {sim.account_id}.")
    if mode == "ON_DEMAND":
        if shard_count is not None:
            raise ServiceError("ValidationException", "ShardCount is not expected when StreamMode=ON_DEMAND")
        if sim.on_demand_stream_count() >= limits.on_demand_stream_quota:
            raise ServiceError("LimitExceededException",
                               f"Limit for on-demand streams has been reached: {limits.on_demand_stream_quota} "
                               f"on-demand streams in account {sim.account_id}.")
        warm = params.get("WarmThroughputMiBps") or 0
        shard_count = max(limits.on_demand_initial_shards, math.ceil(warm * 1024 * 1024 / limits.shard_write_bytes_per_second))
    else:
        if shard_count is None:
            # CHOSEN: AWS's behaviour without ShardCount or mode is not documented (facts §5).
            raise ServiceError("InvalidArgumentException",
                               "ShardCount is required when StreamMode=PROVISIONED (or omitted).")
        if params.get("WarmThroughputMiBps"):
            raise ServiceError("InvalidArgumentException", "WarmThroughputMiBps applies to ON_DEMAND streams only.")
        sim.require_shard_quota(shard_count)
    if params.get("RecordDistributionStrategy") == "AUTO" and mode != "ON_DEMAND":
        raise ServiceError("InvalidArgumentException",
                           f"RecordDistributionStrategy=AUTO is only supported for on-demand streams. "
                           f"Stream {name} is using PROVISIONED mode.")
    if len(params.get("Tags", {})) > limits.tags_per_stream:
        raise ServiceError("InvalidArgumentException",
                           f"A stream cannot have more than {limits.tags_per_stream} tags associated with it.")
    stream = Stream(sim, name, shard_count, mode, params.get("MaxRecordSizeInKiB", limits.default_max_record_size_kib),
                    params.get("Tags"))
    stream.record_distribution = params.get("RecordDistributionStrategy", "USER_PARTITION_KEY")
    stream.warm_throughput_mibps = params.get("WarmThroughputMiBps")
    sim.streams[name] = stream
    stream.set_status_for("CREATING", limits.stream_creating_seconds)
    return {}


@operation(KINESIS, "DeleteStream")
def delete_stream(client, params: dict) -> dict:
    sim = client.sim
    stream = client.resolve_stream(params)
    if stream.status == "DELETING":
        raise ServiceError("ResourceInUseException",
                           f"Stream {stream.name} under account {sim.account_id} is already being deleted.")
    if stream.consumers and not params.get("EnforceConsumerDeletion", False):
        raise ServiceError("ResourceInUseException",
                           f"Stream {stream.name} under account {sim.account_id} has registered consumers; "
                           f"deregister them first or pass EnforceConsumerDeletion=True.")
    stream.usage.account_time()

    def remove() -> None:
        if sim.streams.get(stream.name) is stream:
            del sim.streams[stream.name]
            sim.metrics_recorder.forget(stream.name)
            sim.deleted_streams.append(stream)

    stream.set_status_for("DELETING", sim.limits.stream_deleting_seconds, then="DELETED", action=remove)
    return {}


def _shards_page(stream: Stream, shards, limit: int) -> tuple[list[dict], bool]:
    page = shards[:limit]
    return [s.as_response() for s in page], len(shards) > limit


@operation(KINESIS, "DescribeStream")
def describe_stream(client, params: dict) -> dict:
    stream = client.resolve_stream(params)
    shards = stream.live_shards()
    start = params.get("ExclusiveStartShardId")
    if start is not None:
        shards = [s for s in shards if s.shard_id > start]
    limit = min(params.get("Limit", client.sim.limits.describe_stream_max_shards), client.sim.limits.describe_stream_max_shards)
    page, more = _shards_page(stream, shards, limit)
    return {"StreamDescription": {
        "StreamName": stream.name, "StreamARN": stream.arn, "StreamStatus": stream.status,
        "StreamModeDetails": _mode_details(stream), "Shards": page, "HasMoreShards": more,
        "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": client.to_datetime(stream.created_seconds),
        "EnhancedMonitoring": _enhanced_monitoring(stream), "EncryptionType": "NONE",
    }}


@operation(KINESIS, "DescribeStreamSummary")
def describe_stream_summary(client, params: dict) -> dict:
    stream = client.resolve_stream(params)
    summary = {
        "StreamName": stream.name, "StreamARN": stream.arn, "StreamId": stream.stream_id,
        "StreamStatus": stream.status, "StreamModeDetails": _mode_details(stream),
        "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": client.to_datetime(stream.created_seconds),
        "EnhancedMonitoring": _enhanced_monitoring(stream), "EncryptionType": "NONE",
        "OpenShardCount": len(stream.open_shards()), "ConsumerCount": len(stream.consumers),
        "MaxRecordSizeInKiB": stream.max_record_size_kib,
    }
    if stream.mode == "ON_DEMAND" and stream.warm_throughput_mibps:
        current = len(stream.open_shards()) * client.sim.limits.shard_write_bytes_per_second // (1024 * 1024)
        summary["WarmThroughput"] = {"TargetMiBps": stream.warm_throughput_mibps, "CurrentMiBps": int(current)}
    return {"StreamDescriptionSummary": summary}


def _encode_token(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).decode()


def _decode_token(client, token: str, kind: str) -> dict:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        if payload.get("kind") != kind:
            raise ValueError
    except (ValueError, TypeError):
        raise ServiceError("InvalidArgumentException", f"Invalid NextToken: {token}") from None
    if client.sim.clock.time - payload["issued"] > client.sim.limits.next_token_lifetime_seconds:
        raise ServiceError("ExpiredNextTokenException",
                           f"The NextToken has expired: it is valid for "
                           f"{int(client.sim.limits.next_token_lifetime_seconds)} seconds.")
    return payload


@operation(KINESIS, "ListStreams")
def list_streams(client, params: dict) -> dict:
    sim = client.sim
    limit = params.get("Limit", 100)
    after = params.get("ExclusiveStartStreamName")
    if "NextToken" in params:
        after = _decode_token(client, params["NextToken"], "ListStreams")["after"]
    names = sorted(n for n, s in sim.streams.items())
    if after is not None:
        names = [n for n in names if n > after]
    page, more = names[:limit], len(names) > limit
    response = {
        "StreamNames": page, "HasMoreStreams": more,
        "StreamSummaries": [{
            "StreamName": n, "StreamARN": sim.streams[n].arn, "StreamStatus": sim.streams[n].status,
            "StreamModeDetails": _mode_details(sim.streams[n]),
            "StreamCreationTimestamp": client.to_datetime(sim.streams[n].created_seconds)} for n in page],
    }
    if more:
        response["NextToken"] = _encode_token({"kind": "ListStreams", "after": page[-1], "issued": sim.clock.time})
    return response


@operation(KINESIS, "ListShards")
def list_shards(client, params: dict) -> dict:
    sim = client.sim
    token = params.get("NextToken")
    if token is not None and ("StreamName" in params or "StreamARN" in params):
        raise ServiceError("InvalidArgumentException", "NextToken and StreamName cannot be provided together.")
    if token is None and "StreamName" not in params and "StreamARN" not in params and "StreamId" not in params:
        raise ServiceError("InvalidArgumentException", "Either NextToken or StreamName should be provided.")
    if token is not None:
        payload = _decode_token(client, token, "ListShards")
        stream = client.resolve_stream({"StreamName": payload["stream"]})
        after, shard_filter = payload["after"], payload["filter"]
    else:
        stream = client.resolve_stream(params)
        after, shard_filter = params.get("ExclusiveStartShardId"), params.get("ShardFilter")
        if shard_filter is not None:
            shard_filter = dict(shard_filter)
            if "Timestamp" in shard_filter:
                shard_filter["Timestamp"] = client.to_seconds(shard_filter["Timestamp"])
    limit = params.get("MaxResults", 1000)
    shards = _filter_shards(client, stream, shard_filter)
    if after is not None:
        shards = [s for s in shards if s.shard_id > after]
    page, more = _shards_page(stream, shards, limit)
    response = {"Shards": page}
    if more:
        response["NextToken"] = _encode_token({"kind": "ListShards", "stream": stream.name, "after": page[-1]["ShardId"],
                                               "filter": shard_filter, "issued": sim.clock.time})
    return response


def _filter_shards(client, stream: Stream, shard_filter: dict | None):
    shards = stream.live_shards()
    if not shard_filter:
        return shards
    kind = shard_filter["Type"]
    if kind == "AFTER_SHARD_ID":
        if "ShardId" not in shard_filter:
            raise ServiceError("InvalidArgumentException", "ShardFilter of type AFTER_SHARD_ID requires a ShardId.")
        return [s for s in shards if s.shard_id > shard_filter["ShardId"]]
    if kind == "AT_LATEST":
        return [s for s in shards if s.is_open]
    if kind in ("AT_TRIM_HORIZON", "FROM_TRIM_HORIZON"):
        return shards
    if "Timestamp" not in shard_filter:
        raise ServiceError("InvalidArgumentException", f"ShardFilter of type {kind} requires a Timestamp.")
    at = shard_filter["Timestamp"]
    if kind == "AT_TIMESTAMP":
        return [s for s in shards if s.created_seconds <= at and (s.closed_seconds is None or s.closed_seconds > at)]
    return [s for s in shards if s.closed_seconds is None or s.closed_seconds > at]  # FROM_TIMESTAMP


def _retention(client, params: dict, increase: bool) -> dict:
    sim = client.sim
    stream = client.resolve_stream(params)
    hours = params["RetentionPeriodHours"]
    limits = sim.limits
    stream.require_status("ACTIVE", "UPDATING")
    if hours < limits.min_retention_hours:
        raise ServiceError("InvalidArgumentException",
                           f"Minimum allowed retention period is {limits.min_retention_hours} hours. "
                           f"Requested retention period ({hours} hours) is too short.")
    if hours > limits.max_retention_hours:
        raise ServiceError("InvalidArgumentException",
                           f"Maximum allowed retention period is {limits.max_retention_hours} hours. "
                           f"Requested retention period ({hours} hours) is too long.")
    if increase and hours < stream.retention_hours:
        raise ServiceError("InvalidArgumentException",
                           f"Requested retention period ({hours} hours) for stream {stream.name} can not be shorter "
                           f"than existing retention period ({stream.retention_hours} hours). "
                           f"Use DecreaseRetentionPeriod API.")
    if not increase and hours > stream.retention_hours:
        raise ServiceError("InvalidArgumentException",
                           f"Requested retention period ({hours} hours) for stream {stream.name} can not be longer "
                           f"than existing retention period ({stream.retention_hours} hours). "
                           f"Use IncreaseRetentionPeriod API.")
    stream.usage.account_time()
    # Records already past the old period are gone: a longer period must not bring them back.
    stream.expire_closed_shards()
    stream.trim()
    stream.retention_hours = hours
    stream.trim()
    return {}


@operation(KINESIS, "IncreaseStreamRetentionPeriod")
def increase_stream_retention_period(client, params: dict) -> dict:
    return _retention(client, params, increase=True)


@operation(KINESIS, "DecreaseStreamRetentionPeriod")
def decrease_stream_retention_period(client, params: dict) -> dict:
    return _retention(client, params, increase=False)


@operation(KINESIS, "UpdateStreamMode")
def update_stream_mode(client, params: dict) -> dict:
    sim = client.sim
    stream = client.resolve_stream(params)
    mode = params["StreamModeDetails"]["StreamMode"]
    stream.require_status("ACTIVE")
    if mode == stream.mode:
        raise ServiceError("InvalidArgumentException", f"Stream {stream.name} is already in {mode} mode.")
    now = sim.clock.time
    recent = [t for t in stream.mode_switch_times if t > now - DAY_SECONDS]
    if len(recent) >= sim.limits.update_stream_mode_calls_per_24h:
        raise ServiceError("LimitExceededException",
                           f"Stream {stream.name} under account {sim.account_id} has already switched capacity mode "
                           f"{len(recent)} times in the last 24 hours; the limit is "
                           f"{sim.limits.update_stream_mode_calls_per_24h}.")
    if mode == "ON_DEMAND" and sim.on_demand_stream_count() >= sim.limits.on_demand_stream_quota:
        raise ServiceError("LimitExceededException", "Limit for on-demand streams has been reached.")
    if mode == "PROVISIONED":
        sim.require_shard_quota(len(stream.open_shards()))
    stream.mode_switch_times.append(now)
    stream.set_status_for("UPDATING", sim.limits.stream_updating_seconds, action=lambda: stream.switch_mode(mode))
    return {}


@operation(KINESIS, "UpdateMaxRecordSize")
def update_max_record_size(client, params: dict) -> dict:
    stream = client.resolve_stream(params)
    stream.require_status("ACTIVE")
    size = params["MaxRecordSizeInKiB"]

    def apply() -> None:
        stream.max_record_size_kib = size
        # Settle the tanks at the old size first, so a larger tank fills at the byte rate from now.
        stream.write_budget.refill(client.sim.clock.time)
        stream.write_budget.set_bytes_capacity(stream._byte_tank())

    stream.set_status_for("UPDATING", client.sim.limits.stream_updating_seconds, action=apply)
    return {}


@operation(KINESIS, "DescribeLimits")
def describe_limits(client, params: dict) -> dict:
    sim = client.sim
    return {"ShardLimit": sim.limits.account_shard_quota, "OpenShardCount": sim.open_shard_count(),
            "OnDemandStreamCount": sim.on_demand_stream_count(),
            "OnDemandStreamCountLimit": sim.limits.on_demand_stream_quota}


def _monitoring(client, params: dict, enable: bool) -> dict:
    stream = client.resolve_stream(params)
    requested = set(params["ShardLevelMetrics"])
    if "ALL" in requested:
        requested = set(SHARD_LEVEL_METRICS)
    before = sorted(stream.enhanced_metrics)
    stream.enhanced_metrics = (stream.enhanced_metrics | requested) if enable else (stream.enhanced_metrics - requested)
    return {"StreamName": stream.name, "StreamARN": stream.arn,
            "CurrentShardLevelMetrics": before, "DesiredShardLevelMetrics": sorted(stream.enhanced_metrics)}


@operation(KINESIS, "EnableEnhancedMonitoring")
def enable_enhanced_monitoring(client, params: dict) -> dict:
    return _monitoring(client, params, enable=True)


@operation(KINESIS, "DisableEnhancedMonitoring")
def disable_enhanced_monitoring(client, params: dict) -> dict:
    return _monitoring(client, params, enable=False)


@operation(KINESIS, "AddTagsToStream")
def add_tags_to_stream(client, params: dict) -> dict:
    stream = client.resolve_stream(params)
    merged = {**stream.tags, **params["Tags"]}
    if len(merged) > client.sim.limits.tags_per_stream:
        raise ServiceError("InvalidArgumentException",
                           f"Failed to add tags to stream {stream.name} under account {client.sim.account_id} because "
                           f"a given stream cannot have more than {client.sim.limits.tags_per_stream} tags associated with it.")
    stream.tags = merged
    return {}


@operation(KINESIS, "ListTagsForStream")
def list_tags_for_stream(client, params: dict) -> dict:
    stream = client.resolve_stream(params)
    keys = sorted(stream.tags)
    if "ExclusiveStartTagKey" in params:
        keys = [k for k in keys if k > params["ExclusiveStartTagKey"]]
    limit = params.get("Limit", 50)
    return {"Tags": [{"Key": k, "Value": stream.tags[k]} for k in keys[:limit]], "HasMoreTags": len(keys) > limit}


@operation(KINESIS, "RemoveTagsFromStream")
def remove_tags_from_stream(client, params: dict) -> dict:
    stream = client.resolve_stream(params)
    stream.tags = {k: v for k, v in stream.tags.items() if k not in set(params["TagKeys"])}
    return {}
