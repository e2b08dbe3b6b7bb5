"""SubscribeToShard through boto3: the endpoint streams an AWS event stream that botocore's
``EventStream`` iterates. Records put after subscribing arrive, every event carries a
ContinuationSequenceNumber, and the stream ends after the subscription's lifetime or, on a
closed shard, after the event that names the ChildShards."""

from __future__ import annotations

import threading
import time

from kinesislab.limits import Limits

from .conftest import boto_kinesis

SPEED = 20           # virtual seconds per wall second
LIFETIME = 40.0      # virtual seconds a subscription lasts here (the service's is 300)


def wait_until(condition, timeout: float = 20.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def active_consumer(kinesis, stream: str, name: str = "app") -> str:
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 200})
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=name)["Consumer"]["ConsumerARN"]
    wait_until(lambda: kinesis.describe_stream_consumer(ConsumerARN=consumer)["ConsumerDescription"][
        "ConsumerStatus"] == "ACTIVE")
    return consumer


def test_events_bring_records_put_after_subscribing_then_the_subscription_ends(served):
    sim = served(speed=SPEED, limits=Limits().override(efo_subscription_seconds=LIFETIME))
    kinesis = boto_kinesis(sim.endpoint.url)
    producer = boto_kinesis(sim.endpoint.url)
    consumer = active_consumer(kinesis, "live")

    response = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                          StartingPosition={"Type": "LATEST"})
    subscribed_at = time.monotonic()
    put: list[tuple[bytes, str]] = []

    def produce() -> None:
        for i in range(5):
            time.sleep(0.05)
            answer = producer.put_record(StreamName="live", Data=f"event-{i}".encode(), PartitionKey="k")
            put.append((f"event-{i}".encode(), answer["SequenceNumber"]))

    thread = threading.Thread(target=produce)
    thread.start()
    events = []
    for event in response["EventStream"]:          # botocore parses the binary event stream
        assert set(event) == {"SubscribeToShardEvent"}
        events.append(event["SubscribeToShardEvent"])
        assert time.monotonic() - subscribed_at < 30, "the subscription did not end"
    ended_after = time.monotonic() - subscribed_at
    thread.join(10)

    got = [(r["Data"], r["SequenceNumber"]) for e in events for r in e["Records"]]
    assert got == put and len(got) == 5
    for event in events:
        assert event["ContinuationSequenceNumber"]
        assert isinstance(event["MillisBehindLatest"], int)
        if event["Records"]:
            assert event["ContinuationSequenceNumber"] == event["Records"][-1]["SequenceNumber"]
    assert any(not e["Records"] for e in events)   # heartbeats while nothing arrives
    assert all("ChildShards" not in e for e in events)
    # It ended after its lifetime (40 virtual s = 2 wall s at speed 20), not before.
    assert ended_after >= LIFETIME / SPEED * 0.9
    assert sim.clock.time - sim.stream("live").consumers["app"].last_subscribed["shardId-000000000000"] >= LIFETIME
    frame = sim.metrics("live", level="consumer")
    assert frame[("SubscribeToShardEvent.Records", "app")].sum() == 5


def test_a_closed_shard_ends_its_subscription_with_child_shards(served):
    sim = served(speed=SPEED)
    kinesis = boto_kinesis(sim.endpoint.url)
    consumer = active_consumer(kinesis, "split")
    first = kinesis.put_record(StreamName="split", Data=b"before the split", PartitionKey="k")
    kinesis.split_shard(StreamName="split", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    wait_until(lambda: kinesis.describe_stream_summary(StreamName="split")["StreamDescriptionSummary"][
        "StreamStatus"] == "ACTIVE")

    response = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                          StartingPosition={"Type": "TRIM_HORIZON"})
    started = time.monotonic()
    events = [e["SubscribeToShardEvent"] for e in response["EventStream"]]
    assert time.monotonic() - started < 10    # ends at the shard's end, long before its lifetime

    records = [r for e in events for r in e["Records"]]
    assert [r["Data"] for r in records] == [b"before the split"]
    assert records[0]["SequenceNumber"] == first["SequenceNumber"]
    last = events[-1]
    assert [c["ShardId"] for c in last["ChildShards"]] == ["shardId-000000000001", "shardId-000000000002"]
    assert all(c["ParentShards"] == ["shardId-000000000000"] for c in last["ChildShards"])
    ending = kinesis.list_shards(StreamName="split")["Shards"][0]["SequenceNumberRange"]["EndingSequenceNumber"]
    assert last["ContinuationSequenceNumber"] == ending
