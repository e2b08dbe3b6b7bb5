"""kinesislab's boto3-shaped client against moto's ``mock_aws`` + boto3, on the same workload.

Run from the repository root:

    .venv/bin/python benchmarks/client_vs_moto.py                        # full run (moto: minutes)
    .venv/bin/python benchmarks/client_vs_moto.py --moto-records 10000   # quick: moto on a subset

Workload (issue 2, "Benchmark"): a 4-shard stream; 100,000 records of 100 bytes with random
partition keys, put with PutRecords in batches of 500; then every record read back with
GetShardIterator (TRIM_HORIZON) and GetRecords (Limit=10000) until a call returns no records.
Both clients get the very same keys and payloads, generated from a seeded ``random.Random``.

Keeping kinesislab un-throttled, exactly (not just "probably"):

* Writes. A shard takes 1,000 records/s and 1 MiB/s; its token buckets hold one second of rate
  and refill at each whole virtual second (kinesislab.engine.throughput). The stream becomes
  ACTIVE after 5 virtual seconds, so the clock sits on a whole second when the puts start. The
  script puts 2 batches (1,000 records) and then advances the clock by exactly 1 s, so each
  whole virtual second receives 1,000 records in total. Even if every one of them hashed to the
  same shard, that is 1,000 records (= the record limit, not above it) and 1,000 x 132 B =
  132 kB (far below 1 MiB). Nothing can be throttled, whatever the keys are; with random keys
  each shard actually sees about 250 records/s. 100,000 records take 100 virtual seconds.
  (4 shards take 4,000 records/s in aggregate, so 2 batches/s is half the stream's capacity;
  it is the largest whole number of batches per second that is safe for *any* key spread.)
  The script checks FailedRecordCount == 0 on every response and prints the total.
* Reads. 5 GetRecords calls/s and 2 MiB/s per shard. Each round makes one GetRecords call per
  shard and then advances 1 s. A call returns at most 10,000 x 132 B = 1.32 MB < 2 MiB, so the
  byte bucket stays above zero and is full again after the 1 s refill; 1 call/s < 5 calls/s.

moto has no virtual clock and no throttling, so it just gets the same calls back to back.

moto is slow, and its PutRecords gets slower as the stream fills: every record it stores calls
``Shard.get_max_sequence_number``, which copies the shard's whole key list
(``list(self.records.keys())[-1]``), so a put costs O(records already in the shard) and the
whole load O(n^2). On this 2-core machine the full 100,000-record moto run takes several minutes.
``--moto-records 10000`` runs moto on the first 10,000 records (20 batches) of the same workload
and reports records/s measured on that subset (the output says so); because of the O(n) put, a
subset makes moto look several times faster than it is on the full workload, so ratios against a
subset are conservative (they understate kinesislab's lead).

Timings are wall clock (``time.perf_counter``); the CPU time of the process
(``time.process_time``) is printed next to it because the machine may be shared. kinesislab's
put and get figures are each the best of ``--repeat`` (default 5) fresh runs, the md5 loop's the
best of as many passes, one after each kinesislab run (so both are sampled over the same
minutes); moto's a single run.
Each timed section starts after ``gc.collect()``, so that the garbage of a previous run (a
finished simulator is a web of reference cycles) is not collected inside the next run's timing.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import random
import sys
import time
from datetime import date

# moto must never talk to AWS, and boto3 needs credentials and a region to build a client.
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SECURITY_TOKEN"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import kinesislab  # noqa: E402

STREAM = "bench"
SHARDS = 4
BATCH = 500
PAYLOAD_BYTES = 100
GET_LIMIT = 10_000
BATCHES_PER_VIRTUAL_SECOND = 2   # 1,000 records per whole virtual second: see the module docstring


def make_workload(n_records: int, seed: int) -> tuple[list[str], list[list[dict]]]:
    """Partition keys (32 hex digits, random) and PutRecords batches of 100-byte random payloads."""
    rng = random.Random(seed)
    keys = [f"{rng.getrandbits(128):032x}" for _ in range(n_records)]
    payloads = [rng.randbytes(PAYLOAD_BYTES) for _ in range(n_records)]
    entries = [{"Data": data, "PartitionKey": key} for key, data in zip(keys, payloads)]
    batches = [entries[i:i + BATCH] for i in range(0, n_records, BATCH)]
    return keys, batches


def read_all(client, shard_ids: list[str], between_rounds=None) -> tuple[int, int, list]:
    """TRIM_HORIZON iterators for every shard, then rounds of one GetRecords per shard until each
    shard answers with no records. Returns (records read, GetRecords calls, records)."""
    iterators = {sid: client.get_shard_iterator(StreamName=STREAM, ShardId=sid,
                                                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                 for sid in shard_ids}
    got: list = []
    calls = 0
    while iterators:
        for sid in list(iterators):
            response = client.get_records(ShardIterator=iterators[sid], Limit=GET_LIMIT)
            calls += 1
            records = response["Records"]
            if records:
                got.extend(records)
                iterators[sid] = response["NextShardIterator"]
            else:
                del iterators[sid]
        if between_rounds is not None:
            between_rounds()
    return len(got), calls, got


def run_kinesislab(batches: list[list[dict]]) -> dict:
    sim = kinesislab.Simulator(seed=0)
    k = sim.client("kinesis")
    k.create_stream(StreamName=STREAM, ShardCount=SHARDS)
    sim.advance(5)                      # CREATING for 5 virtual seconds
    assert k.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    assert sim.clock.time == int(sim.clock.time), "the puts must start on a whole virtual second"
    shard_ids = [s["ShardId"] for s in k.list_shards(StreamName=STREAM)["Shards"]]

    failed = 0
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    for i, batch in enumerate(batches, start=1):
        failed += k.put_records(StreamName=STREAM, Records=batch)["FailedRecordCount"]
        if i % BATCHES_PER_VIRTUAL_SECOND == 0:
            sim.advance(1)
    t1, c1 = time.perf_counter(), time.process_time()
    read, calls, records = read_all(k, shard_ids, between_rounds=lambda: sim.advance(1))
    t2, c2 = time.perf_counter(), time.process_time()
    return {"put_seconds": t1 - t0, "get_seconds": t2 - t1, "put_cpu": c1 - c0, "get_cpu": c2 - c1,
            "failed": failed, "read": read, "calls": calls, "records": records,
            "virtual_seconds": sim.clock.elapsed}


def run_moto(batches: list[list[dict]]) -> dict:
    import boto3
    from moto import mock_aws

    with mock_aws():
        k = boto3.client("kinesis", region_name="us-east-1")
        k.create_stream(StreamName=STREAM, ShardCount=SHARDS)
        shard_ids = [s["ShardId"] for s in k.list_shards(StreamName=STREAM)["Shards"]]
        failed = 0
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        for batch in batches:
            failed += k.put_records(StreamName=STREAM, Records=batch)["FailedRecordCount"]
        t1, c1 = time.perf_counter(), time.process_time()
        read, calls, records = read_all(k, shard_ids)
        t2, c2 = time.perf_counter(), time.process_time()
    return {"put_seconds": t1 - t0, "get_seconds": t2 - t1, "put_cpu": c1 - c0, "get_cpu": c2 - c1,
            "failed": failed, "read": read, "calls": calls, "records": records}


def md5_loop_seconds(keys: list[str], repeat: int = 5) -> tuple[float, float]:
    """A bare loop computing the MD5 of every partition key (the work routing cannot avoid):
    best wall and best CPU seconds of ``repeat`` passes."""
    md5 = hashlib.md5
    best = best_cpu = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        for key in keys:
            md5(key.encode()).digest()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu


def same_records(result: dict, batches: list[list[dict]]) -> bool:
    """Every record put was read back exactly once (compared as (key, data) multisets)."""
    put = sorted((e["PartitionKey"], e["Data"]) for batch in batches for e in batch)
    got = sorted((r["PartitionKey"], r["Data"]) for r in result["records"])
    return put == got


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--moto-records", type=int, default=None,
                        help="records for the moto run: a prefix of the same workload, rates measured on it "
                             "(default: all of them)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="kinesislab runs and md5-loop passes, alternated (the best of each is reported)")
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args(argv)
    moto_records = args.records if args.moto_records is None else min(args.moto_records, args.records)
    if args.records % BATCH or moto_records % BATCH:
        parser.error(f"record counts must be multiples of {BATCH}")

    keys, batches = make_workload(args.records, args.seed)
    print(f"kinesislab {kinesislab.__version__} vs moto (mock_aws + boto3) -- {date.today().isoformat()}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"workload: {SHARDS} shards, {args.records:,} records x {PAYLOAD_BYTES} B, 32-char random keys, "
          f"PutRecords x {BATCH}; GetRecords Limit={GET_LIMIT:,}; seed {args.seed}")

    # kinesislab's runs and the md5 loop's passes alternate, so that both are sampled over the same
    # stretch of time (on a shared machine the load changes from minute to minute); each timing
    # is the best of its samples, as timeit reports.
    kl = None
    md5_seconds = md5_cpu = float("inf")
    for _ in range(args.repeat):
        result = run_kinesislab(batches)
        if kl is None:
            kl = result
        else:
            for timing in ("put_seconds", "get_seconds", "put_cpu", "get_cpu"):
                kl[timing] = min(kl[timing], result[timing])
        del result
        wall, cpu = md5_loop_seconds(keys, repeat=1)
        md5_seconds, md5_cpu = min(md5_seconds, wall), min(md5_cpu, cpu)
    moto_batches = batches[:moto_records // BATCH]
    mo = run_moto(moto_batches)

    n = args.records
    print(f"checks: kinesislab FailedRecordCount total {kl['failed']}, read back {kl['read']:,} in "
          f"{kl['calls']} GetRecords calls, same records: {same_records(kl, batches)}, "
          f"virtual time used {kl['virtual_seconds']:.0f} s")
    print(f"        moto FailedRecordCount total {mo['failed']}, read back {mo['read']:,} in {mo['calls']} "
          f"GetRecords calls, same records: {same_records(mo, moto_batches)}")
    if moto_records < n:
        print(f"NOTE: moto ran only the first {moto_records:,} of the {n:,} records; its records/s are measured "
              f"on that subset (records / seconds). moto's put cost grows with the records already in a "
              f"shard, so the subset flatters moto and the ratios below understate kinesislab's lead.")
    print()
    rows = [
        ("kinesislab put_records", n, kl["put_seconds"], kl["put_cpu"]),
        ("moto put_records", moto_records, mo["put_seconds"], mo["put_cpu"]),
        ("kinesislab get_records", n, kl["get_seconds"], kl["get_cpu"]),
        ("moto get_records", moto_records, mo["get_seconds"], mo["get_cpu"]),
        ("bare hashlib.md5 loop (same keys)", n, md5_seconds, md5_cpu),
    ]
    print(f"{'':34}{'records':>9}{'records/s':>13}{'wall s':>9}{'CPU s':>9}{'rec/s by CPU':>14}")
    for label, count, wall, cpu in rows:
        print(f"{label:34}{count:>9,}{count / wall:>13,.0f}{wall:>9.3f}{cpu:>9.3f}{count / cpu:>14,.0f}")
    print()

    def ratios(kl_put, mo_put, kl_get, mo_get, md5_rate):
        return (f"put {kl_put / mo_put:,.0f}x moto (target >= 300x), put {kl_put / md5_rate:.3f}x md5 loop "
                f"(target >= 0.35x), get {kl_get / mo_get:,.0f}x moto (target >= 40x)")
    print("ratios (wall clock):", ratios(n / kl["put_seconds"], moto_records / mo["put_seconds"],
                                         n / kl["get_seconds"], moto_records / mo["get_seconds"], n / md5_seconds))
    print("ratios (CPU time):  ", ratios(n / kl["put_cpu"], moto_records / mo["put_cpu"],
                                         n / kl["get_cpu"], moto_records / mo["get_cpu"], n / md5_cpu))


if __name__ == "__main__":
    main()
