"""How fast the scenario runner simulates (issue 3, "Speed"). Printed, never asserted.

Run from the repository root:

    .venv/bin/python benchmarks/scenario_speed.py                 # S1 for one simulated hour
    .venv/bin/python benchmarks/scenario_speed.py --hour 600      # S1 for 10 minutes (quicker)
    .venv/bin/python benchmarks/scenario_speed.py --scaling-base 120 --lesson-runs 50

Scenario S1 (the issue's): a provisioned stream of 200 shards; one producer offering 200,000
records/s of 1 KiB (data; 16-byte partition keys on top) over 10,000 keys with Zipf skew 1.1, no
retries; one polling consumer application (GetRecords every 1 s) and two enhanced fan-out
consumers; one simulated hour at 1-second resolution. Printed: simulated seconds per wall
second (target >= 3,600) and per CPU second of this process, and the peak memory (target
< 500 MB): the process's peak resident set size right after the run (``ru_maxrss``, includes
the interpreter, numpy and pandas) and, with ``--tracemalloc``, the peak of Python/numpy
allocations seen by ``tracemalloc`` in a separate run (tracing makes it several times slower).

Scaling: wall time of S1 at a shorter base duration (``--scaling-base``, default 300 s, so the
four runs stay short), then with the duration, the shard count and the offered rate each doubled
on its own. Target: doubling the rate costs nearly nothing (the runner moves counts, not records).

Lesson-sized scenario: 8 shards, 2 minutes, one producer (5,000 records/s of 1 KiB, 1,000 Zipf
keys with skew 1.1, exponential backoff), one polling and one enhanced fan-out consumer. Best and
median of ``--lesson-runs`` (20) runs, target < 20 ms, with and without building the stream DataFrame.

Firehose: a Firehose consumer reading a 2-shard stream (1,000 records/s of 1 KiB, 5 MiB / 300 s
buffering hints) for 30 simulated minutes; and lesson 11's dashboard workload
(:func:`kinesislab.firehose.workload.steady_delivery`, 30 minutes of Direct PUT, 10 records/s of
1 KB). Best and median of ``--firehose-runs`` (10) runs each.

Timings use time.perf_counter (wall) and time.process_time (CPU of this process). The machine may
be shared with other work: the load average is printed before and after, and when it is high the
CPU figures are the better guide to what the code costs.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from kinesislab.firehose.workload import steady_delivery  # noqa: E402
from kinesislab.scenario import (Constant, EnhancedFanOutConsumer, ExponentialBackoff, FirehoseConsumer,  # noqa: E402
                                 FixedSize, NoRetry, PollingConsumer, Producer, Scenario, StreamSpec, UniformKeys,
                                 ZipfKeys, run)

MB = 1e6


def s1(duration: float = 3600, shards: int = 200, rate: float = 200_000) -> Scenario:
    return Scenario(
        stream=StreamSpec(mode="PROVISIONED", shards=shards),
        producers=[Producer(name="fleet", traffic=Constant(rate), record_size=FixedSize(1024),
                            keys=ZipfKeys(count=10_000, skew=1.1), retry=NoRetry())],
        consumers=[PollingConsumer(name="app", poll_interval=1.0), EnhancedFanOutConsumer(name="efo-1"),
                   EnhancedFanOutConsumer(name="efo-2")],
        duration=duration)


def lesson() -> Scenario:
    return Scenario(
        stream=StreamSpec(mode="PROVISIONED", shards=8),
        producers=[Producer(name="app-servers", traffic=Constant(5000), record_size=FixedSize(1024),
                            keys=ZipfKeys(count=1000, skew=1.1), retry=ExponentialBackoff())],
        consumers=[PollingConsumer(name="analytics"), EnhancedFanOutConsumer(name="alerts")],
        duration=120)


def firehose_reader(duration: float = 1800) -> Scenario:
    return Scenario(
        stream=StreamSpec(mode="PROVISIONED", shards=2),
        producers=[Producer(name="app", traffic=Constant(1000), record_size=FixedSize(1024),
                            keys=UniformKeys(1000), retry=NoRetry())],
        consumers=[FirehoseConsumer(name="archive", size_mib=5, interval_seconds=300)],
        duration=duration)


def best_and_median(values: list[float]) -> str:
    return f"best {min(values) * 1000:6.1f} ms, median {statistics.median(values) * 1000:6.1f} ms"


def timed(scenario: Scenario, seed: int = 0):
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    results = run(scenario, seed=seed, progress=False)
    return results, time.perf_counter() - wall, time.process_time() - cpu


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


def load() -> str:
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "load average n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hour", type=float, default=3600, help="S1 duration in simulated seconds (default 3600)")
    parser.add_argument("--scaling-base", type=float, default=300,
                        help="base duration of the doubling runs (default 300 s)")
    parser.add_argument("--lesson-runs", type=int, default=20)
    parser.add_argument("--firehose-runs", type=int, default=10)
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also measure Python/numpy allocations with tracemalloc (a separate, slower run)")
    args = parser.parse_args()

    print(f"kinesislab scenario speed -- Python {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}")
    print(f"before: {load()}")
    run(s1(duration=20), progress=False)  # warm caches (key hashing, imports)
    rss_before = peak_rss_mb()

    # --------------------------------------------------------------- S1
    duration = args.hour
    results, wall, cpu = timed(s1(duration))
    rss_after = peak_rss_mb()
    summary = results.summary()
    print(f"\nS1: 200 shards, 200,000 records/s of 1 KiB, 10,000 Zipf(1.1) keys, 1 polling + 2 EFO consumers, "
          f"{duration:,.0f} simulated s" + ("" if duration == 3600 else " (shorter than the issue's hour)"))
    print(f"  wall {wall:7.2f} s  -> {duration / wall:8,.0f} simulated s per wall s   (target >= 3,600)")
    print(f"  CPU  {cpu:7.2f} s  -> {duration / cpu:8,.0f} simulated s per CPU s")
    print(f"  peak RSS after the run {rss_after:,.0f} MB (before it {rss_before:,.0f} MB; target < 500 MB)")
    print(f"  accepted {summary['accepted'] / duration:,.0f} records/s of {summary['offered'] / duration:,.0f} offered; "
          f"polling app read {results.delivered['app'] / duration:,.0f}/s, efo-1 {results.delivered['efo-1'] / duration:,.0f}/s")
    del results
    if args.tracemalloc:
        gc.collect()
        tracemalloc.start()
        wall_tm = time.perf_counter()
        results = run(s1(duration), progress=False)
        frames = results.stream, results.shards, results.consumers
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  tracemalloc peak (run + the three DataFrames) {traced_peak / MB:,.0f} MB "
              f"({time.perf_counter() - wall_tm:.1f} s with tracing on)")
        del results, frames

    # --------------------------------------------------------------- scaling
    base = args.scaling_base
    print(f"\nScaling (S1 at {base:,.0f} simulated s as the base; each line doubles one thing):")
    rows = [("base", s1(base)), ("duration x2", s1(2 * base)), ("shards x2 (400)", s1(base, shards=400)),
            ("rate x2 (400,000/s)", s1(base, rate=400_000))]
    base_wall = base_cpu = None
    for label, scenario in rows:
        _, wall, cpu = timed(scenario)
        if base_wall is None:
            base_wall, base_cpu = wall, cpu
        print(f"  {label:<22} wall {wall:6.2f} s ({wall / base_wall:4.2f}x)   CPU {cpu:6.2f} s ({cpu / base_cpu:4.2f}x)   "
              f"{scenario.duration / wall:7,.0f} sim s/wall s")

    # --------------------------------------------------------------- lesson
    walls, cpus, walls_frame = [], [], []
    scenario = lesson()
    for seed in range(args.lesson_runs):
        results, wall, cpu = timed(scenario, seed)
        walls.append(wall)
        cpus.append(cpu)
        began = time.perf_counter()
        _ = results.stream
        walls_frame.append(wall + time.perf_counter() - began)
    print(f"\nLesson-sized: 8 shards, 2 minutes, 5,000 records/s Zipf keys with backoff, 1 polling + 1 EFO "
          f"({args.lesson_runs} runs)   target < 20 ms")
    print(f"  wall {best_and_median(walls)}   (max {max(walls) * 1000:.1f})")
    print(f"  CPU  {best_and_median(cpus)}")
    print(f"  wall including results.stream: {best_and_median(walls_frame)}")

    # --------------------------------------------------------------- Firehose
    scenario = firehose_reader()
    reader_walls, reader_cpus = [], []
    for seed in range(args.firehose_runs):
        _, wall, cpu = timed(scenario, seed)
        reader_walls.append(wall)
        reader_cpus.append(cpu)
    print(f"\nFirehose consumer of a 2-shard stream, 30 simulated minutes ({args.firehose_runs} runs)")
    print(f"  wall {best_and_median(reader_walls)}")
    print(f"  CPU  {best_and_median(reader_cpus)}")
    steady_walls, steady_cpus = [], []
    for _ in range(args.firehose_runs):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        steady_delivery(5, 300)
        steady_walls.append(time.perf_counter() - wall)
        steady_cpus.append(time.process_time() - cpu)
    print(f"Lesson 11 dashboard workload: steady_delivery(5 MiB, 300 s), 30 minutes of 10 records/s "
          f"({args.firehose_runs} runs)")
    print(f"  wall {best_and_median(steady_walls)}")
    print(f"  CPU  {best_and_median(steady_cpus)}")
    print(f"\nafter: {load()}")


if __name__ == "__main__":
    main()
