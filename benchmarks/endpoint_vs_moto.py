"""PutRecords through real boto3: kinesislab's local endpoint vs moto_server, same workload, same run.

Run from the repository root:

    .venv/bin/python benchmarks/endpoint_vs_moto.py                 # 10,000 records each
    .venv/bin/python benchmarks/endpoint_vs_moto.py --records 50000 --repeat 3

Workload (issue 6, "Benchmark"): a 4-shard stream; records of 100 bytes with random 32-hex-digit
partition keys, put with PutRecords in batches of 500 through ``boto3.client("kinesis",
endpoint_url=...)``. Both servers get the very same batches (a seeded ``random.Random``), one
after the other in this process:

* the lab: ``sim.serve(speed=0)`` -- Tornado in a background thread, the clock frozen so only the
  script moves it. Two batches (1,000 records), then ``sim.advance(1)``: each whole virtual
  second receives 1,000 records, at most a shard's limit even if every key hashed to one shard,
  so nothing can be throttled (see benchmarks/client_vs_moto.py for the argument). The script
  checks FailedRecordCount == 0 on every response.
* moto: ``moto.server.ThreadedMotoServer`` (what ``moto_server`` runs: werkzeug in a background
  thread), created fresh for the run. moto never throttles.

botocore's retries are off (one attempt per call), so every timed call is exactly one HTTP round
trip. Each server gets a warm-up call first (stream creation, listing shards) outside the timing.
Figures are wall-clock records/s of the PutRecords loop (``time.perf_counter``); CPU seconds are
the whole process's (client and server share it, as they do in a notebook). With ``--repeat``,
the best run of each is printed. Afterwards each stream is read back and compared with what was
put, so neither side can win by dropping records.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import sys
import time
import urllib.request
from datetime import date

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

import kinesislab  # noqa: E402

STREAM = "bench"
SHARDS = 4
BATCH = 500
PAYLOAD_BYTES = 100
BATCHES_PER_VIRTUAL_SECOND = 2


def make_batches(n_records: int, seed: int) -> list[list[dict]]:
    rng = random.Random(seed)
    entries = [{"Data": rng.randbytes(PAYLOAD_BYTES), "PartitionKey": f"{rng.getrandbits(128):032x}"}
               for _ in range(n_records)]
    return [entries[i:i + BATCH] for i in range(0, n_records, BATCH)]


def client(url: str):
    return boto3.session.Session().client(
        "kinesis", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
        aws_secret_access_key="bench", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def read_back(kinesis, between_calls=None) -> list[tuple[str, bytes]]:
    got = []
    for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while True:
            response = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            if between_calls is not None:
                between_calls()
            got.extend((r["PartitionKey"], r["Data"]) for r in response["Records"])
            if not response["Records"]:
                break
            iterator = response["NextShardIterator"]
    return got


def timed_puts(kinesis, batches, after_batch=None) -> tuple[float, float, int]:
    failed = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for i, batch in enumerate(batches, start=1):
        failed += kinesis.put_records(StreamName=STREAM, Records=batch)["FailedRecordCount"]
        if after_batch is not None:
            after_batch(i)
    return time.perf_counter() - t0, time.process_time() - c0, failed


def run_lab(batches) -> dict:
    sim = kinesislab.Simulator(seed=0)
    url = sim.serve(speed=0)
    try:
        kinesis = client(url)
        kinesis.create_stream(StreamName=STREAM, ShardCount=SHARDS)
        sim.advance(5)   # CREATING for 5 virtual seconds; the clock sits on a whole second
        kinesis.list_shards(StreamName=STREAM)

        def after_batch(i: int) -> None:
            if i % BATCHES_PER_VIRTUAL_SECOND == 0:
                sim.advance(1)

        wall, cpu, failed = timed_puts(kinesis, batches, after_batch)
        sim.advance(1)
        got = read_back(kinesis, between_calls=lambda: sim.advance(1))
    finally:
        sim.endpoint.stop()
    return {"wall": wall, "cpu": cpu, "failed": failed, "got": got}


def run_moto(batches) -> dict:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        # moto's state lives in the process, not the server: start each run from an empty account.
        urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST")).read()
        kinesis = client(f"http://{host}:{port}")
        kinesis.create_stream(StreamName=STREAM, ShardCount=SHARDS)
        kinesis.list_shards(StreamName=STREAM)
        wall, cpu, failed = timed_puts(kinesis, batches)
        got = read_back(kinesis)
    finally:
        server.stop()
    return {"wall": wall, "cpu": cpu, "failed": failed, "got": got}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each server (the best is printed)")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    if args.records % BATCH:
        parser.error(f"--records must be a multiple of {BATCH}")
    import moto
    batches = make_batches(args.records, args.seed)
    put = sorted((e["PartitionKey"], e["Data"]) for batch in batches for e in batch)

    print(f"kinesislab {kinesislab.__version__} endpoint vs moto {moto.__version__} ThreadedMotoServer, both through "
          f"boto3 {boto3.__version__} -- {date.today().isoformat()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"workload: {SHARDS} shards, {args.records:,} records x {PAYLOAD_BYTES} B, random 32-hex-digit keys, "
          f"PutRecords x {BATCH}; seed {args.seed}; best of {args.repeat}")
    lab = min((run_lab(batches) for _ in range(args.repeat)), key=lambda r: r["wall"])
    mo = min((run_moto(batches) for _ in range(args.repeat)), key=lambda r: r["wall"])
    for name, result in (("lab endpoint", lab), ("moto_server", mo)):
        same = sorted(result["got"]) == put
        print(f"check: {name}: FailedRecordCount total {result['failed']}, read back {len(result['got']):,}, "
              f"same records: {same}")
    n = args.records
    print()
    print(f"{'PutRecords via boto3':24}{'records':>9}{'records/s':>12}{'wall s':>9}{'CPU s':>9}")
    for name, result in (("kinesislab endpoint", lab), ("moto_server", mo)):
        print(f"{name:24}{n:>9,}{n / result['wall']:>12,.0f}{result['wall']:>9.2f}{result['cpu']:>9.2f}")
    print()
    print(f"ratio: the endpoint puts {mo['wall'] / lab['wall']:.2f}x as many records/s as moto_server "
          f"(wall clock; {mo['cpu'] / lab['cpu']:.2f}x by CPU time), and throttles like the service while it does.")


if __name__ == "__main__":
    main()
