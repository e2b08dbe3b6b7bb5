"""Differential test: one boto3 script against ``moto_server`` (moto's ThreadedMotoServer) and
against the lab endpoint; the response SHAPES (key sets, nested types) must agree wherever both
answer.

Known, accepted differences (moto 5.x; the lab follows the botocore model and the service):

* The lab returns more of the modeled members than moto: ``StreamModeDetails`` in DescribeStream;
  ``ConsumerCount``, ``MaxRecordSizeInKiB`` and ``StreamId`` in DescribeStreamSummary;
  ``EncryptionType`` in PutRecord, PutRecords and on each record of GetRecords; ``StreamARN`` in
  UpdateShardCount. The test therefore checks that moto's shape is *covered* by the lab's (every
  moto key present, same types) and that every extra lab key is a member of botocore's output
  shape -- not strict equality.
* moto makes streams and consumers ACTIVE at once; the lab takes the service's virtual seconds
  (the script lets time pass on the lab's side only, with ``sim.advance``).
* moto does not throttle. The lab refuses a third batch of 500 records in one second on one
  shard and the sixth GetRecords call in one second: asserted below as a feature.
"""

from __future__ import annotations

import logging
import urllib.request
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

import kinesislab
from kinesislab.api.service_model import service_model

from .conftest import boto_kinesis

moto_server = pytest.importorskip("moto.server")


@pytest.fixture(scope="module")
def moto_url():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # no request log lines in test output
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto keeps its state in the process (shared with any mock_aws use): start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST")).read()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def shape(value):
    """Key sets and types: dicts by key, lists as the distinct shapes of their elements."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items()) if key != "ResponseMetadata"}
    if isinstance(value, list):
        shapes: list = []
        for item in value:
            if shape(item) not in shapes:
                shapes.append(shape(item))
        return shapes
    if isinstance(value, datetime):
        return "timestamp"
    return type(value).__name__


def covers(lab, moto, path: str, extras: list[str]) -> None:
    """Assert that the lab's shape has everything moto's has (same types); collect extra keys."""
    if isinstance(moto, dict):
        assert isinstance(lab, dict), f"{path}: lab {lab!r}, moto {moto!r}"
        missing = set(moto) - set(lab)
        assert not missing, f"{path}: moto answers {sorted(missing)} that the lab does not"
        extras.extend(f"{path}.{key}" for key in set(lab) - set(moto))
        for key in moto:
            covers(lab[key], moto[key], f"{path}.{key}", extras)
    elif isinstance(moto, list):
        assert isinstance(lab, list), f"{path}: lab {lab!r}, moto {moto!r}"
        for item in moto:
            if item in lab:
                continue
            # A dict element: some lab element must cover it.
            assert any(_covered(candidate, item) for candidate in lab), f"{path}[]: lab {lab!r}, moto {item!r}"
            best = next(candidate for candidate in lab if _covered(candidate, item))
            covers(best, item, f"{path}[]", extras)
    else:
        assert lab == moto, f"{path}: lab {lab!r}, moto {moto!r}"


def _covered(lab, moto) -> bool:
    try:
        covers(lab, moto, "", [])
    except AssertionError:
        return False
    return True


def modeled(operation_name: str, dotted: str) -> bool:
    """Is ``dotted`` (".A.B[].C") a member path of the operation's output shape in botocore's model?"""
    current = service_model("kinesis").operation_model(operation_name).output_shape
    for part in dotted.strip(".").split("."):
        name = part.removesuffix("[]")
        if name not in current.members:
            return False
        current = current.members[name]
        if part.endswith("[]"):
            current = current.member
    return True


def script(kinesis, settle) -> dict[str, tuple[str, object]]:
    """The same calls for both servers; ``settle()`` lets virtual time pass (lab only)."""
    out: dict[str, tuple[str, object]] = {}

    def call(label: str, operation_name: str, **params):
        method = "".join("_" + c.lower() if c.isupper() else c for c in operation_name).lstrip("_")
        try:
            response = getattr(kinesis, method)(**params)
        except ClientError as error:
            out[label] = (operation_name, ("error", error.response["Error"]["Code"]))
            return None
        out[label] = (operation_name, shape(response))
        return response

    call("create", "CreateStream", StreamName="s", ShardCount=2)
    settle()
    call("describe", "DescribeStream", StreamName="s")
    arn = call("summary", "DescribeStreamSummary", StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    call("list streams", "ListStreams")
    call("put record", "PutRecord", StreamName="s", Data=b"x", PartitionKey="k")
    call("put records", "PutRecords", StreamName="s",
         Records=[{"Data": b"y", "PartitionKey": f"k{i}"} for i in range(10)])
    call("list shards", "ListShards", StreamName="s")
    iterator = call("iterator", "GetShardIterator", StreamName="s", ShardId="shardId-000000000000",
                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    call("get records", "GetRecords", ShardIterator=iterator)
    call("tag", "AddTagsToStream", StreamName="s", Tags={"team": "data"})
    call("list tags", "ListTagsForStream", StreamName="s")
    call("untag", "RemoveTagsFromStream", StreamName="s", TagKeys=["team"])
    call("retention up", "IncreaseStreamRetentionPeriod", StreamName="s", RetentionPeriodHours=48)
    call("retention down", "DecreaseStreamRetentionPeriod", StreamName="s", RetentionPeriodHours=24)
    call("monitoring on", "EnableEnhancedMonitoring", StreamName="s", ShardLevelMetrics=["IncomingBytes"])
    call("monitoring off", "DisableEnhancedMonitoring", StreamName="s", ShardLevelMetrics=["IncomingBytes"])
    call("limits", "DescribeLimits")
    call("split", "SplitShard", StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    settle()
    call("merge", "MergeShards", StreamName="s", ShardToMerge="shardId-000000000002",
         AdjacentShardToMerge="shardId-000000000003")
    settle()
    call("scale", "UpdateShardCount", StreamName="s", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    settle()
    call("list shards after", "ListShards", StreamName="s")
    call("register", "RegisterStreamConsumer", StreamARN=arn, ConsumerName="app")
    settle()
    call("describe consumer", "DescribeStreamConsumer", StreamARN=arn, ConsumerName="app")
    call("list consumers", "ListStreamConsumers", StreamARN=arn)
    call("deregister", "DeregisterStreamConsumer", StreamARN=arn, ConsumerName="app")
    settle()
    call("missing stream", "DescribeStream", StreamName="nope")
    call("missing shard", "GetShardIterator", StreamName="s", ShardId="shardId-000000000099",
         ShardIteratorType="LATEST")
    call("create again", "CreateStream", StreamName="s", ShardCount=1)

    # Throughput: one shard, 1,500 records in a moment, then six reads in a moment.
    call("create hot", "CreateStream", StreamName="hot", ShardCount=1)
    settle()
    batch = [{"Data": b"z" * 100, "PartitionKey": f"u{i}"} for i in range(500)]
    failed = [kinesis.put_records(StreamName="hot", Records=batch)["FailedRecordCount"] for _ in range(3)]
    hot_iterator = kinesis.get_shard_iterator(StreamName="hot", ShardId="shardId-000000000000",
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    reads = []
    for _ in range(6):
        try:
            kinesis.get_records(ShardIterator=hot_iterator, Limit=10)
            reads.append("ok")
        except ClientError as error:
            reads.append(error.response["Error"]["Code"])
    out["throughput"] = ("", (failed, reads))
    call("delete", "DeleteStream", StreamName="s")
    return out


@pytest.fixture(scope="module")
def answers(moto_url):
    """The script's answers from moto and from the lab (run once for both tests)."""
    moto_answers = script(boto_kinesis(moto_url), settle=lambda: None)
    sim = kinesislab.Simulator(seed=0)
    url = sim.serve(speed=0)
    try:
        lab_answers = script(boto_kinesis(url), settle=lambda: sim.advance(30))
    finally:
        sim.endpoint.stop()
    return moto_answers, lab_answers


def test_response_shapes_agree_with_moto(answers):
    moto_answers, lab_answers = answers
    assert moto_answers.keys() == lab_answers.keys()
    extras: list[tuple[str, str]] = []
    compared = 0
    for label, (operation_name, moto) in moto_answers.items():
        if label == "throughput":
            continue
        lab = lab_answers[label][1]
        if isinstance(moto, tuple) or isinstance(lab, tuple):
            assert lab == moto, f"{label}: lab {lab}, moto {moto}"   # same error code, or both fine
            continue
        found: list[str] = []
        covers(lab, moto, "", found)
        extras.extend((operation_name, path) for path in found)
        compared += 1
    assert compared >= 25
    # Every member the lab answers beyond moto is one of the service's modeled members.
    assert extras, "expected the lab to return modeled members moto omits (see the module docstring)"
    for operation_name, path in extras:
        assert modeled(operation_name, path), f"{operation_name}{path} is not in botocore's model"
    documented = {("DescribeStream", ".StreamDescription.StreamModeDetails"), ("PutRecord", ".EncryptionType")}
    assert documented <= set(extras)


def test_the_lab_throttles_where_moto_does_not(answers):
    moto_answers, lab_answers = answers
    moto_failed, moto_reads = moto_answers["throughput"][1]
    lab_failed, lab_reads = lab_answers["throughput"][1]
    assert moto_failed == [0, 0, 0] and moto_reads == ["ok"] * 6
    # 1,000 records/s per shard and 5 GetRecords calls/s per shard, as the service enforces.
    assert lab_failed == [0, 0, 500]
    assert lab_reads == ["ok"] * 5 + ["ProvisionedThroughputExceededException"]
