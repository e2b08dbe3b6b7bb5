"""Concurrency: 8 threads put (each with its own partition keys) and read at once against one
endpoint running at 50 virtual seconds per wall second. Nothing is lost or duplicated: every
record the service accepted is read back exactly once; sequence numbers strictly increase per
shard in reading order; per partition key, records come back in the order they were put."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from .conftest import boto_kinesis

THREADS = 8
SHARDS = 8
KEYS_PER_THREAD = 5
BATCH = 40
WRITE_SECONDS = 3.0


def test_eight_threads_put_and_read_at_once_and_lose_nothing(served):
    sim = served(seed=3, speed=50)
    url = sim.endpoint.url
    setup = boto_kinesis(url)
    setup.create_stream(StreamName="busy", ShardCount=SHARDS)
    setup.get_waiter("stream_exists").wait(StreamName="busy", WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    shard_ids = [s["ShardId"] for s in setup.list_shards(StreamName="busy")["Shards"]]
    assert len(shard_ids) == SHARDS
    # One client per thread, made here: building clients is not thread-safe, using them is.
    clients = [boto_kinesis(url) for _ in range(THREADS)]

    accepted: dict[int, list[tuple[str, str, bytes]]] = defaultdict(list)   # thread -> (shard, seq, data)
    read: dict[str, list[tuple[str, str, bytes]]] = defaultdict(list)       # shard -> (seq, key, data)
    failures: list[BaseException] = []
    writers_done = threading.Barrier(THREADS)
    deadline = time.monotonic() + WRITE_SECONDS

    def worker(index: int) -> None:
        kinesis = clients[index]
        shard_id = shard_ids[index]   # each thread reads one shard, so each record has one reader
        iterator = kinesis.get_shard_iterator(StreamName="busy", ShardId=shard_id,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

        def read_once() -> tuple[int, int]:
            nonlocal iterator
            try:
                response = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            except kinesis.exceptions.ProvisionedThroughputExceededException:
                return -1, -1
            iterator = response["NextShardIterator"]
            for record in response["Records"]:
                read[shard_id].append((record["SequenceNumber"], record["PartitionKey"], record["Data"]))
            return len(response["Records"]), response["MillisBehindLatest"]

        try:
            counter = 0
            while time.monotonic() < deadline:
                entries = []
                for _ in range(BATCH):
                    key = f"t{index}-k{counter % KEYS_PER_THREAD}"
                    entries.append({"PartitionKey": key, "Data": f"{index}:{key}:{counter:08d}".encode()})
                    counter += 1
                response = kinesis.put_records(StreamName="busy", Records=entries)
                for entry, result in zip(entries, response["Records"]):
                    if "SequenceNumber" in result:
                        accepted[index].append((result["ShardId"], result["SequenceNumber"], entry["Data"]))
                read_once()
            writers_done.wait(60)
            # Drain: read until the shard is caught up with nothing new (the writers have stopped).
            quiet = 0
            while quiet < 3:
                count, behind = read_once()
                quiet = quiet + 1 if count == 0 and behind == 0 else 0
                time.sleep(0.01)
        except BaseException as error:  # reported to the main thread
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures

    put = [item for items in accepted.values() for item in items]
    assert len(put) >= THREADS * BATCH          # every thread got at least one batch in
    got = [(shard, seq, data) for shard, records in read.items() for seq, _, data in records]
    # Nothing lost, nothing twice: what was read is exactly what was accepted.
    assert len(got) == len(set(got))
    assert sorted(got) == sorted(put)
    for shard, records in read.items():
        numbers = [int(seq) for seq, _, _ in records]
        assert all(a < b for a, b in zip(numbers, numbers[1:])), f"sequence numbers out of order in {shard}"
    # Per key, read order is put order (the counter in the data rises).
    by_key: dict[str, list[int]] = defaultdict(list)
    for records in read.values():
        for _, key, data in records:
            by_key[key].append(int(data.decode().rsplit(":", 1)[1]))
    assert len(by_key) == THREADS * KEYS_PER_THREAD
    for key, counters in by_key.items():
        assert counters == sorted(counters), f"records of {key} out of put order"
    # And every accepted record was counted under its key.
    assert sum(len(v) for v in by_key.values()) == len(put)
