"""An enhanced fan-out consumer catching up on a backlog reads 2 MiB per second per shard, one
second's worth per event, then waits (facts §6)."""

from __future__ import annotations

MiB = 1024 * 1024


def test_catch_up_at_two_mib_per_second(lab, sim, kinesis):
    lab.stream("s", shards=1)
    blob = b"x" * (100 * 1024 - 2)
    for _ in range(6):   # 60 records of 100 KiB (the key counts too), 10 per second
        kinesis.put_records(StreamName="s", Records=[{"Data": blob, "PartitionKey": f"k{i}"} for i in range(10)])
        sim.advance(1)
    consumer = kinesis.register_stream_consumer(StreamARN=lab.arn("s"), ConsumerName="efo")["Consumer"]
    sim.advance(5)
    events = kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId="shardId-000000000000",
                                        StartingPosition={"Type": "TRIM_HORIZON"})["EventStream"]
    start = sim.clock.time
    delivered = []
    for event in events:
        records = event["SubscribeToShardEvent"]["Records"]
        delivered.append((sim.clock.time - start, sum(len(r["Data"]) + len(r["PartitionKey"]) for r in records)))
        if sum(size for _, size in delivered) >= 60 * 100 * 1024:
            break
    assert [t for t, _ in delivered] == [0.0, 1.0, 2.0]
    assert all(size <= 2 * MiB for _, size in delivered)
