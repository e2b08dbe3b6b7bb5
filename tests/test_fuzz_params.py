"""Parameter fuzzing from botocore's input shapes.

For every operation the client implements, start from a valid request and break it one member
at a time, as the model allows: drop a required member, send the wrong type, an unknown name,
a value under a minimum (what botocore checks on the client: ``ParamValidationError``), or over a
maximum, against a pattern, outside an enum (what the service checks: ``ValidationException``).
Every invalid request must get the right exception and change nothing (a snapshot of every
stream's description and records, the budgets, metrics, the clock and the request counter).
Service-rule failures (InvalidArgument, ResourceInUse, LimitExceeded, ...) must change nothing too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import botocore.session
import pytest
from botocore.exceptions import ClientError, ParamValidationError

import kinesislab
import kinesislab.api.kinesis_client  # noqa: F401  (registers the operations)
from conftest import Lab, error_code
from kinesislab.api.registry import operations

MODEL = botocore.session.get_session().get_service_model("kinesis")
CLIENT_SIDE = "ParamValidationError"
SERVICE_SIDE = "ValidationException"
SHARD0, SHARD1 = "shardId-000000000000", "shardId-000000000001"
OPERATIONS = sorted(operations("kinesis"))


def build_world() -> tuple[Lab, dict[str, dict]]:
    """A small account with data in it, and one valid request per operation."""
    lab = Lab(kinesislab.Simulator(seed=3))
    k = lab.k
    lab.stream("fz", shards=2, Tags={"team": "data"})
    lab.stream("od", mode="ON_DEMAND")
    for i in range(30):
        k.put_record(StreamName="fz", Data=f"r{i}".encode(), PartitionKey=f"k{i % 4}")
    arn = lab.arn("fz")
    consumer = k.register_stream_consumer(StreamARN=arn, ConsumerName="app")["Consumer"]["ConsumerARN"]
    lab.sim.advance(5)
    k.enable_enhanced_monitoring(StreamName="fz", ShardLevelMetrics=["ALL"])
    lab.to_next_second()
    iterator = lab.iterator("fz", SHARD0)
    requests = {
        "AddTagsToStream": {"StreamName": "fz", "Tags": {"a": "b"}},
        "CreateStream": {"StreamName": "fresh", "ShardCount": 1},
        "DecreaseStreamRetentionPeriod": {"StreamName": "fz", "RetentionPeriodHours": 24},
        "DeleteStream": {"StreamName": "fz", "EnforceConsumerDeletion": True},
        "DeregisterStreamConsumer": {"ConsumerARN": consumer},
        "DescribeAccountSettings": {},
        "DescribeLimits": {},
        "DescribeStream": {"StreamName": "fz", "Limit": 5},
        "DescribeStreamConsumer": {"ConsumerARN": consumer},
        "DescribeStreamSummary": {"StreamName": "fz"},
        "DisableEnhancedMonitoring": {"StreamName": "fz", "ShardLevelMetrics": ["IncomingBytes"]},
        "EnableEnhancedMonitoring": {"StreamName": "fz", "ShardLevelMetrics": ["IncomingBytes"]},
        "GetRecords": {"ShardIterator": iterator, "Limit": 5},
        "GetShardIterator": {"StreamName": "fz", "ShardId": SHARD0, "ShardIteratorType": "TRIM_HORIZON"},
        "IncreaseStreamRetentionPeriod": {"StreamName": "fz", "RetentionPeriodHours": 48},
        "ListShards": {"StreamName": "fz", "MaxResults": 5, "ShardFilter": {"Type": "FROM_TRIM_HORIZON"}},
        "ListStreamConsumers": {"StreamARN": arn, "MaxResults": 5},
        "ListStreams": {"Limit": 5},
        "ListTagsForStream": {"StreamName": "fz", "Limit": 5},
        "MergeShards": {"StreamName": "fz", "ShardToMerge": SHARD0, "AdjacentShardToMerge": SHARD1},
        "PutRecord": {"StreamName": "fz", "Data": b"x", "PartitionKey": "k"},
        "PutRecords": {"StreamName": "fz", "Records": [{"Data": b"x", "PartitionKey": "k"}]},
        "RegisterStreamConsumer": {"StreamARN": arn, "ConsumerName": "fresh"},
        "RemoveTagsFromStream": {"StreamName": "fz", "TagKeys": ["team"]},
        "SplitShard": {"StreamName": "fz", "ShardToSplit": SHARD0, "NewStartingHashKey": "1000"},
        "SubscribeToShard": {"ConsumerARN": consumer, "ShardId": SHARD0, "StartingPosition": {"Type": "LATEST"}},
        "UpdateAccountSettings": {"MinimumThroughputBillingCommitment": {"Status": "ENABLED"}},
        "UpdateMaxRecordSize": {"StreamARN": arn, "MaxRecordSizeInKiB": 2048},
        "UpdateShardCount": {"StreamName": "fz", "TargetShardCount": 3, "ScalingType": "UNIFORM_SCALING"},
        "UpdateStreamMode": {"StreamARN": arn, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
    }
    return lab, requests


# ------------------------------------------------------------------------------ mutations

@dataclass
class Mutation:
    description: str
    params: dict
    expected: str  # CLIENT_SIDE or SERVICE_SIDE


def _set(params: dict, path: tuple, value) -> dict:
    """A deep copy of ``params`` with ``value`` at ``path`` (keys and list indices)."""
    def rebuild(node, steps):
        if not steps:
            return value
        head, rest = steps[0], steps[1:]
        if isinstance(node, list):
            copy = list(node)
            copy[head] = rebuild(copy[head], rest)
            return copy
        copy = dict(node)
        copy[head] = rebuild(copy.get(head), rest)
        return copy
    return rebuild(params, path)


def _delete(params: dict, path: tuple) -> dict:
    parent_path, key = path[:-1], path[-1]

    def walk(node, steps):
        if not steps:
            copy = dict(node)
            del copy[key]
            return copy
        head, rest = steps[0], steps[1:]
        copy = list(node) if isinstance(node, list) else dict(node)
        copy[head] = walk(node[head], rest)
        return copy
    return walk(params, parent_path)


def _not_matching(pattern: str, min_length: int, max_length: int | None) -> str | None:
    for candidate in ("!!", "-1", " x", "a b", "0x1", "\n"):
        if len(candidate) >= min_length and (max_length is None or len(candidate) <= max_length) \
                and not re.fullmatch(pattern, candidate):
            return candidate
    return None


def _wrong_type(shape):
    return {"string": 12345, "integer": "12", "long": "12", "boolean": "yes", "blob": 12345,
            "timestamp": "not a timestamp", "list": "not a list", "map": ["not", "a", "map"],
            "structure": "not a structure"}[shape.type_name]


def mutations_for(operation_name: str, request: dict) -> list[Mutation]:
    shape = MODEL.operation_model(operation_name).input_shape
    out: list[Mutation] = [Mutation("unknown parameter", {**request, "NoSuchParameter": 1}, CLIENT_SIDE)]
    if shape is None:
        return out

    def visit(structure, value: dict, path: tuple) -> None:
        for name, member in structure.members.items():
            here = path + (name,)
            label = ".".join(str(p) for p in here)
            present = name in value
            if name in structure.required_members:
                out.append(Mutation(f"missing {label}", _delete(request, here), CLIENT_SIDE))
            if member.type_name != "structure" or present:
                out.append(Mutation(f"wrong type {label}", _set(request, here, _wrong_type(member)), CLIENT_SIDE))
            meta = member.metadata
            kind = member.type_name
            if kind == "string":
                low, high = meta.get("min", 0), meta.get("max")
                if low >= 1:
                    out.append(Mutation(f"{label} under min length", _set(request, here, ""), CLIENT_SIDE))
                if high is not None:
                    filler = "a" * (high + 1)
                    if "pattern" in meta and not re.fullmatch(meta["pattern"], filler):
                        filler = None  # a too-long value that also breaks the pattern: still service side
                    out.append(Mutation(f"{label} over max length", _set(request, here, filler or "1" * (high + 1)),
                                        SERVICE_SIDE))
                if member.enum:
                    out.append(Mutation(f"{label} not in enum", _set(request, here, "NOT_A_VALUE"), SERVICE_SIDE))
                elif "pattern" in meta:
                    bad = _not_matching(meta["pattern"], max(low, 1), high)
                    if bad is not None:
                        out.append(Mutation(f"{label} breaks pattern", _set(request, here, bad), SERVICE_SIDE))
            elif kind in ("integer", "long"):
                if "min" in meta:
                    out.append(Mutation(f"{label} under min", _set(request, here, meta["min"] - 1), CLIENT_SIDE))
                if "max" in meta:
                    out.append(Mutation(f"{label} over max", _set(request, here, meta["max"] + 1), SERVICE_SIDE))
            elif kind == "blob" and "max" in meta:
                out.append(Mutation(f"{label} over max size", _set(request, here, b"x" * (meta["max"] + 1)),
                                    SERVICE_SIDE))
            elif kind == "list":
                item = value.get(name, [None])[0] if present else None
                if meta.get("min", 0) >= 1:
                    out.append(Mutation(f"{label} empty", _set(request, here, []), CLIENT_SIDE))
                if "max" in meta and item is not None:
                    out.append(Mutation(f"{label} too many", _set(request, here, [item] * (meta["max"] + 1)),
                                        SERVICE_SIDE))
                if present and value[name]:
                    inner = member.member
                    if inner.type_name == "structure":
                        visit(inner, value[name][0], here + (0,))
                    elif inner.enum:
                        out.append(Mutation(f"{label}[0] not in enum", _set(request, here + (0,), "NOT_A_VALUE"),
                                            SERVICE_SIDE))
                    elif inner.type_name == "string" and "max" in inner.metadata:
                        out.append(Mutation(f"{label}[0] too long", _set(request, here + (0,),
                                                                         "a" * (inner.metadata["max"] + 1)),
                                            SERVICE_SIDE))
            elif kind == "map":
                if meta.get("min", 0) >= 1:
                    # botocore does not check map sizes on the client: the service does.
                    out.append(Mutation(f"{label} empty", _set(request, here, {}), SERVICE_SIDE))
                if "max" in meta:
                    out.append(Mutation(f"{label} too many", _set(request, here, {f"k{i}": "v" for i in
                                                                                 range(meta["max"] + 1)}),
                                        SERVICE_SIDE))
                key_max = member.key.metadata.get("max")
                if key_max is not None:
                    out.append(Mutation(f"{label} key too long", _set(request, here, {"k" * (key_max + 1): "v"}),
                                        SERVICE_SIDE))
                value_max = member.value.metadata.get("max")
                if value_max is not None:
                    out.append(Mutation(f"{label} value too long", _set(request, here, {"k": "v" * (value_max + 1)}),
                                        SERVICE_SIDE))
            elif kind == "structure" and present:
                visit(member, value[name], here)

    visit(shape, request, ())
    return out


# ------------------------------------------------------------------------------ tests

def test_every_operation_has_a_valid_base_request():
    _, requests = build_world()
    assert sorted(requests) == OPERATIONS
    for name, request in requests.items():
        # The base requests are valid for the model (botocore's own validator agrees).
        from botocore.validate import ParamValidator
        report = ParamValidator().validate(request, MODEL.operation_model(name).input_shape)
        assert not report.has_errors(), (name, report.generate_report())


@pytest.mark.parametrize("operation_name", OPERATIONS)
def test_invalid_requests_get_the_right_exception_and_change_nothing(operation_name):
    lab, requests = build_world()
    method = getattr(lab.k, re.sub(r"(?<!^)(?=[A-Z])", "_", operation_name).lower())
    cases = mutations_for(operation_name, requests[operation_name])
    assert cases
    before = lab.snapshot()
    for case in cases:
        try:
            method(**case.params)
        except ParamValidationError:
            got = CLIENT_SIDE
        except ClientError as error:
            got = error.response["Error"]["Code"]
            assert error.response["Error"]["Message"], case.description
            if got == SERVICE_SIDE:
                message = error.response["Error"]["Message"]
                assert re.match(r"\d+ validation errors? detected: Value '.*' at '.+' failed to satisfy constraint: "
                                r"Member must ", message, re.S), (case.description, message[:300])
        else:
            raise AssertionError(f"{operation_name}: {case.description} was accepted")
        assert got == case.expected, f"{operation_name}: {case.description}: got {got}, expected {case.expected}"
        assert lab.snapshot() == before, f"{operation_name}: {case.description} changed the state"
    # The valid base request still works afterwards (the world was not broken by the fuzzing).
    method(**requests[operation_name])


def test_validation_messages_use_lower_camel_member_paths(lab):
    lab.stream("s")
    with pytest.raises(ClientError) as excinfo:
        lab.k.put_records(StreamName="s", Records=[{"Data": b"x", "PartitionKey": "k"},
                                                    {"Data": b"x", "PartitionKey": "k" * 300}])
    assert error_code(excinfo) == "ValidationException"
    assert excinfo.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{'k' * 300}' at 'records.2.member.partitionKey' failed to satisfy "
        "constraint: Member must have length less than or equal to 256")
    with pytest.raises(ClientError) as excinfo:
        lab.k.create_stream(StreamName="bad name!" + "x" * 130, ShardCount=1)
    message = excinfo.value.response["Error"]["Message"]
    assert message.startswith("2 validation errors detected: ")
    assert "Member must have length less than or equal to 128" in message
    assert "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+" in message


# A valid request breaking a service rule: the named error, and nothing changed.
SERVICE_RULES = [
    ("PutRecord", {"StreamName": "fz", "Data": b"x", "PartitionKey": "k", "ExplicitHashKey": str(2**128)},
     "InvalidArgumentException"),
    ("PutRecord", {"StreamName": "fz", "Data": b"x" * (1024 * 1024), "PartitionKey": "k"}, "InvalidArgumentException"),
    ("PutRecord", {"StreamName": "fz", "Data": b"x"}, "InvalidArgumentException"),
    ("PutRecords", {"StreamName": "fz", "Records": [{"Data": b"x", "PartitionKey": "k"}, {"Data": b"x"}]},
     "InvalidArgumentException"),
    ("PutRecord", {"StreamName": "missing", "Data": b"x", "PartitionKey": "k"}, "ResourceNotFoundException"),
    ("PutRecords", {"StreamName": "fz", "Records": [{"Data": b"x", "PartitionKey": "k"},
                                                    {"Data": b"x" * (1024 * 1024), "PartitionKey": "k"}]},
     "InvalidArgumentException"),
    ("PutRecords", {"StreamName": "fz", "Records": [{"Data": b"x" * (1024 * 1024 - 1), "PartitionKey": "k"}] * 11},
     "InvalidArgumentException"),
    ("GetShardIterator", {"StreamName": "fz", "ShardId": "shardId-000000000042", "ShardIteratorType": "LATEST"},
     "ResourceNotFoundException"),
    ("GetShardIterator", {"StreamName": "fz", "ShardId": SHARD0, "ShardIteratorType": "AT_SEQUENCE_NUMBER"},
     "InvalidArgumentException"),
    ("GetRecords", {"ShardIterator": "AAAAAAAAAAEgarbage"}, "InvalidArgumentException"),
    ("SplitShard", {"StreamName": "fz", "ShardToSplit": SHARD0, "NewStartingHashKey": "0"},
     "InvalidArgumentException"),
    ("MergeShards", {"StreamName": "fz", "ShardToMerge": SHARD0, "AdjacentShardToMerge": SHARD0},
     "InvalidArgumentException"),
    ("UpdateShardCount", {"StreamName": "fz", "TargetShardCount": 5, "ScalingType": "UNIFORM_SCALING"},
     "LimitExceededException"),
    ("SplitShard", {"StreamName": "od", "ShardToSplit": SHARD0, "NewStartingHashKey": "1000"}, "ValidationException"),
    ("CreateStream", {"StreamName": "fz", "ShardCount": 1}, "ResourceInUseException"),
    ("CreateStream", {"StreamName": "x", "ShardCount": 30_000}, "LimitExceededException"),
    ("CreateStream", {"StreamName": "x", "ShardCount": 1, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
     "ValidationException"),
    ("DeleteStream", {"StreamName": "fz"}, "ResourceInUseException"),
    ("IncreaseStreamRetentionPeriod", {"StreamName": "fz", "RetentionPeriodHours": 9000}, "InvalidArgumentException"),
    ("DecreaseStreamRetentionPeriod", {"StreamName": "fz", "RetentionPeriodHours": 12}, "InvalidArgumentException"),
    ("AddTagsToStream", {"StreamName": "fz", "Tags": {f"t{i}": "v" for i in range(50)}}, "InvalidArgumentException"),
    ("RegisterStreamConsumer", {"StreamARN": "ARN", "ConsumerName": "app"}, "ResourceInUseException"),
    ("ListShards", {}, "InvalidArgumentException"),
    ("ListStreams", {"NextToken": "bm90IGEgdG9rZW4="}, "InvalidArgumentException"),
    ("PutRecord", {"StreamName": "fz", "Data": b"x", "PartitionKey": "k", "DryRun": True}, "DryRunOperationException"),
    ("PutRecords", {"StreamName": "fz", "Records": [{"Data": b"x", "PartitionKey": "k"}], "DryRun": True},
     "DryRunOperationException"),
    ("GetShardIterator", {"StreamName": "fz", "ShardId": SHARD0, "ShardIteratorType": "LATEST", "DryRun": True},
     "DryRunOperationException"),
]


@pytest.mark.parametrize("operation_name, params, code", SERVICE_RULES,
                         ids=[f"{op}-{code}-{i}" for i, (op, _, code) in enumerate(SERVICE_RULES)])
def test_service_rule_failures_change_nothing(operation_name, params, code):
    lab, _ = build_world()
    params = {k: (lab.arn("fz") if v == "ARN" else v) for k, v in params.items()}
    method = getattr(lab.k, re.sub(r"(?<!^)(?=[A-Z])", "_", operation_name).lower())
    before = lab.snapshot()
    with pytest.raises(ClientError) as excinfo:
        method(**params)
    assert error_code(excinfo) == code
    assert isinstance(excinfo.value, getattr(lab.k.exceptions, code))
    assert lab.snapshot() == before


def test_dry_run_false_is_an_ordinary_call(lab):
    lab.stream("s")
    assert lab.k.put_record(StreamName="s", Data=b"x", PartitionKey="k", DryRun=False)["ShardId"] == \
        "shardId-000000000000"
