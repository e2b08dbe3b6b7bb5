"""Enhanced fan-out: consumer registration limits, SubscribeToShard in virtual time, dedicated
2 MiB/s per consumer per shard, subscription lifetime, resubscribe rule, deletion rules (facts §6)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import ACCOUNT, START, expect_error

MiB = 1024 * 1024
SHARD0 = "shardId-000000000000"


def register(kinesis, arn: str, name: str) -> dict:
    return kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=name)["Consumer"]


def subscribe(kinesis, consumer_arn: str, shard_id: str = SHARD0, **position):
    position = position or {"Type": "TRIM_HORIZON"}
    return kinesis.subscribe_to_shard(ConsumerARN=consumer_arn, ShardId=shard_id,
                                      StartingPosition=position)["EventStream"]


def next_event(events) -> dict:
    return next(iter(events))["SubscribeToShardEvent"]


def test_register_describe_list_deregister(lab, sim, kinesis):
    lab.stream("s")
    arn = lab.arn("s")
    consumer = register(kinesis, arn, "app")
    assert consumer["ConsumerName"] == "app"
    assert consumer["ConsumerStatus"] == "CREATING"
    assert consumer["ConsumerARN"] == f"{arn}/consumer/app:{int(sim.clock.time)}"
    assert consumer["ConsumerCreationTimestamp"] == sim.now
    error = expect_error(kinesis.register_stream_consumer, "ResourceInUseException", StreamARN=arn, ConsumerName="app")
    assert "app" in error.response["Error"]["Message"]
    sim.advance(5)
    described = kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"]
    assert described["ConsumerStatus"] == "ACTIVE" and described["StreamARN"] == arn
    by_name = kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="app")["ConsumerDescription"]
    assert by_name == described
    assert kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["ConsumerCount"] == 1
    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    assert kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"][
        "ConsumerStatus"] == "DELETING"
    sim.advance(5)
    expect_error(kinesis.describe_stream_consumer, "ResourceNotFoundException", ConsumerARN=consumer["ConsumerARN"])
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"] == []
    # Registering the name again gives a new ARN (it embeds the creation time).
    again = register(kinesis, arn, "app")
    assert again["ConsumerARN"] != consumer["ConsumerARN"]


def test_at_most_5_consumers_creating_and_20_registered(lab, sim, kinesis):
    lab.stream("s")
    arn = lab.arn("s")
    for i in range(5):
        register(kinesis, arn, f"c{i:02d}")
    before = lab.snapshot()
    error = expect_error(kinesis.register_stream_consumer, "LimitExceededException", StreamARN=arn, ConsumerName="c05")
    assert "5" in error.response["Error"]["Message"]
    assert lab.snapshot() == before
    for batch in range(1, 4):
        sim.advance(5)
        for i in range(5):
            register(kinesis, arn, f"c{5 * batch + i:02d}")
    sim.advance(5)
    assert kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["ConsumerCount"] == 20
    error = expect_error(kinesis.register_stream_consumer, "LimitExceededException", StreamARN=arn, ConsumerName="c20")
    assert "20" in error.response["Error"]["Message"]
    page = kinesis.list_stream_consumers(StreamARN=arn, MaxResults=8)
    assert [c["ConsumerName"] for c in page["Consumers"]] == [f"c{i:02d}" for i in range(8)]
    page2 = kinesis.list_stream_consumers(StreamARN=arn, MaxResults=8, NextToken=page["NextToken"])
    assert [c["ConsumerName"] for c in page2["Consumers"]] == [f"c{i:02d}" for i in range(8, 16)]
    page3 = kinesis.list_stream_consumers(StreamARN=arn, MaxResults=8, NextToken=page2["NextToken"])
    assert [c["ConsumerName"] for c in page3["Consumers"]] == [f"c{i:02d}" for i in range(16, 20)]
    assert "NextToken" not in page3
    assert all(c["ConsumerStatus"] == "ACTIVE" for c in page3["Consumers"])
    # Tokens expire after 300 virtual seconds; garbage is refused.
    sim.advance(300)
    assert len(kinesis.list_stream_consumers(StreamARN=arn, NextToken=page["NextToken"])["Consumers"]) == 12
    sim.advance(0.5)
    expect_error(kinesis.list_stream_consumers, "ExpiredNextTokenException", StreamARN=arn,
                 NextToken=page["NextToken"])
    expect_error(kinesis.list_stream_consumers, "InvalidArgumentException", StreamARN=arn, NextToken="garbage")


def test_subscribe_needs_an_active_consumer_and_an_existing_shard(lab, sim, kinesis):
    lab.stream("s")
    consumer = register(kinesis, lab.arn("s"), "app")
    expect_error(kinesis.subscribe_to_shard, "ResourceInUseException", ConsumerARN=consumer["ConsumerARN"],
                 ShardId=SHARD0, StartingPosition={"Type": "LATEST"})
    sim.advance(5)
    expect_error(kinesis.subscribe_to_shard, "ResourceNotFoundException", ConsumerARN=consumer["ConsumerARN"],
                 ShardId="shardId-000000000007", StartingPosition={"Type": "LATEST"})
    expect_error(kinesis.subscribe_to_shard, "ResourceNotFoundException",
                 ConsumerARN=f"{lab.arn('s')}/consumer/nobody:1", ShardId=SHARD0, StartingPosition={"Type": "LATEST"})


def test_resubscribe_within_5_seconds_is_refused_and_a_new_subscription_takes_over(lab, sim, kinesis):
    lab.stream("s", shards=2)
    consumer = register(kinesis, lab.arn("s"), "app")["ConsumerARN"]
    sim.advance(5)
    first = subscribe(kinesis, consumer)
    subscribe(kinesis, consumer, "shardId-000000000001")  # another shard is independent
    sim.advance(4.999)
    error = expect_error(kinesis.subscribe_to_shard, "ResourceInUseException", ConsumerARN=consumer, ShardId=SHARD0,
                         StartingPosition={"Type": "LATEST"})
    assert SHARD0 in error.response["Error"]["Message"]
    sim.advance(0.001)
    second = subscribe(kinesis, consumer)
    with pytest.raises(StopIteration):
        next(iter(first))
    assert isinstance(next_event(second)["MillisBehindLatest"], int)


def test_subscription_ends_after_300_virtual_seconds(lab, sim, kinesis):
    lab.stream("s")
    consumer = register(kinesis, lab.arn("s"), "app")["ConsumerARN"]
    sim.advance(5)
    started = sim.clock.time
    events = subscribe(kinesis, consumer, Type="LATEST")
    count = 0
    for event in events:
        assert set(event) == {"SubscribeToShardEvent"}
        count += 1
        assert sim.clock.time <= started + 300
    assert sim.clock.time == started + 300
    assert count > 0
    with pytest.raises(StopIteration):
        next(iter(events))


def test_events_carry_records_pushed_in_virtual_time(lab, sim, kinesis):
    lab.stream("s")
    consumer = register(kinesis, lab.arn("s"), "app")["ConsumerARN"]
    sim.advance(5)
    events = subscribe(kinesis, consumer, Type="LATEST")
    heartbeat = next_event(events)
    assert heartbeat["Records"] == [] and heartbeat["MillisBehindLatest"] == 0
    # A producer scheduled on the clock writes while the consumer waits.
    sim.clock.schedule_in(0.5, lambda: kinesis.put_record(StreamName="s", Data=b"pushed", PartitionKey="k"))
    event = next_event(events)
    assert [r["Data"] for r in event["Records"]] == [b"pushed"]
    assert event["Records"][0]["ApproximateArrivalTimestamp"] < sim.now
    assert event["ContinuationSequenceNumber"] == event["Records"][0]["SequenceNumber"]
    quiet = next_event(events)
    assert quiet["Records"] == [] and quiet["ContinuationSequenceNumber"] == event["ContinuationSequenceNumber"]


def test_each_consumer_gets_its_own_2_mib_per_second_per_shard(lab, sim, kinesis):
    lab.stream("s")
    for _ in range(6):
        kinesis.put_record(StreamName="s", Data=b"x" * (MiB - 1), PartitionKey="k")
        lab.to_next_second()
    arns = [register(kinesis, lab.arn("s"), name)["ConsumerARN"] for name in ("a", "b", "c")]
    sim.advance(5)
    streams = [subscribe(kinesis, arn) for arn in arns]
    started = sim.clock.time
    delivered = {arn: [] for arn in arns}
    for _ in range(3):
        for arn, events in zip(arns, streams):
            event = next_event(events)
            delivered[arn].append((sim.clock.time - started, len(event["Records"])))
    # 2 records (2 MiB) per consumer per second, regardless of the other consumers.
    for arn in arns:
        assert [n for _, n in delivered[arn]] == [2, 2, 2]
    assert [t for t, _ in delivered[arns[0]]] == [0.0, 1.0, 2.0]
    frame = sim.metrics("s", level="consumer")
    assert frame[("SubscribeToShardEvent.Bytes", "a")].sum() == 6 * MiB
    assert frame[("SubscribeToShardEvent.Records", "c")].sum() == 6
    # Polling readers are not slowed by fan-out consumers: the shard's 2 MiB/s is still there.
    lab.to_next_second()
    response = kinesis.get_records(ShardIterator=lab.iterator("s", SHARD0), Limit=2)
    assert len(response["Records"]) == 2


def test_closed_shard_subscription_ends_with_child_shards(lab, sim, kinesis):
    lab.stream("s")
    kinesis.put_record(StreamName="s", Data=b"a", PartitionKey="k")
    consumer = register(kinesis, lab.arn("s"), "app")["ConsumerARN"]
    kinesis.split_shard(StreamName="s", ShardToSplit=SHARD0, NewStartingHashKey=str(2**127))
    sim.advance(5)
    events = list(subscribe(kinesis, consumer))
    last = events[-1]["SubscribeToShardEvent"]
    assert [c["ShardId"] for c in last["ChildShards"]] == ["shardId-000000000001", "shardId-000000000002"]
    assert all(c["ParentShards"] == [SHARD0] for c in last["ChildShards"])
    ending = kinesis.list_shards(StreamName="s")["Shards"][0]["SequenceNumberRange"]["EndingSequenceNumber"]
    assert last["ContinuationSequenceNumber"] == ending
    got = [r["Data"] for e in events for r in e["SubscribeToShardEvent"]["Records"]]
    assert got == [b"a"]


def test_subscribe_starting_positions(lab, sim, kinesis):
    lab.stream("s")
    numbers = []
    for i in range(3):
        numbers.append(kinesis.put_record(StreamName="s", Data=f"r{i}".encode(), PartitionKey="k")["SequenceNumber"])
        sim.advance(1)
    consumer = register(kinesis, lab.arn("s"), "app")["ConsumerARN"]
    sim.advance(5)
    cases = [
        ({"Type": "TRIM_HORIZON"}, [b"r0", b"r1", b"r2"]),
        ({"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": numbers[1]}, [b"r1", b"r2"]),
        ({"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": numbers[1]}, [b"r2"]),
        ({"Type": "AT_TIMESTAMP", "Timestamp": START + timedelta(seconds=7)}, [b"r2"]),
        ({"Type": "LATEST"}, []),
    ]
    for position, expected in cases:
        events = subscribe(kinesis, consumer, **position)
        assert [r["Data"] for r in next_event(events)["Records"]] == expected, position
        sim.advance(5)
    expect_error(kinesis.subscribe_to_shard, "InvalidArgumentException", ConsumerARN=consumer, ShardId=SHARD0,
                 StartingPosition={"Type": "AT_SEQUENCE_NUMBER"})


def test_delete_stream_with_consumers_needs_enforce_consumer_deletion(lab, sim, kinesis):
    lab.stream("s")
    register(kinesis, lab.arn("s"), "app")
    before = lab.snapshot()
    error = expect_error(kinesis.delete_stream, "ResourceInUseException", StreamName="s")
    assert f"Stream s under account {ACCOUNT}" in error.response["Error"]["Message"]
    assert lab.snapshot() == before
    kinesis.delete_stream(StreamName="s", EnforceConsumerDeletion=True)
    sim.advance(5)
    assert "s" not in sim.streams


def test_deregistering_ends_the_subscription(lab, sim, kinesis):
    lab.stream("s")
    consumer = register(kinesis, lab.arn("s"), "app")["ConsumerARN"]
    sim.advance(5)
    events = subscribe(kinesis, consumer, Type="LATEST")
    next_event(events)
    kinesis.deregister_stream_consumer(ConsumerARN=consumer)
    with pytest.raises(StopIteration):
        next(iter(events))


def test_a_live_subscription_follows_its_shard_to_the_end_of_a_split(lab, sim, kinesis):
    lab.stream("s")
    consumer = register(kinesis, lab.arn("s"), "app")["ConsumerARN"]
    sim.advance(5)
    events = subscribe(kinesis, consumer, Type="LATEST")
    kinesis.put_record(StreamName="s", Data=b"before", PartitionKey="k")
    kinesis.split_shard(StreamName="s", ShardToSplit=SHARD0, NewStartingHashKey=str(2**127))
    got, children = [], None
    for event in events:
        body = event["SubscribeToShardEvent"]
        got += [r["Data"] for r in body["Records"]]
        if "ChildShards" in body:
            children = [c["ShardId"] for c in body["ChildShards"]]
    assert got == [b"before"]
    assert children == ["shardId-000000000001", "shardId-000000000002"]
    assert sim.clock.time < sim.streams["s"].created_seconds + 300  # ended at the shard's end, not by timeout
