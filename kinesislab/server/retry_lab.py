"""A real boto3 producer against the lab endpoint, for comparing botocore's retry modes.

botocore retries a call that fails as a whole (``PutRecord``'s ProvisionedThroughputExceeded
Exception), waiting between attempts; in ``adaptive`` mode it also waits *before* sending once it
has seen throttling (a client-side rate limiter). Against AWS those waits are real seconds. In
the lab, :func:`virtual_waits` lets them pass in the simulator's virtual time instead, so a
minute of retrying takes a few wall seconds and gives the same numbers on every run:

* the endpoint runs with ``speed=0`` (the clock moves only when told to);
* botocore's back-off sleeps (``botocore.endpoint``) and the adaptive rate limiter's clock and
  waits (``botocore.retries.bucket``) are redirected to ``sim.advance`` while the block runs;
* botocore's jitter comes from Python's ``random`` module, seeded for the block (and restored).

The retry decisions, attempt limits, retry quota, back-off formulas and adaptive mode's rate
calculations are botocore's own. One detail differs: when several requests wait for the
adaptive rate limiter, botocore wakes them all whenever a token may be there and lets them race;
here they queue and take tokens first come first served (the same rate, far fewer wake-ups).

:func:`run_retry_mode` drives one producer of many concurrent requests and returns a per-second
table of what happened; :func:`put_records_retries` shows what botocore does *not* retry.
"""

from __future__ import annotations

import collections
import functools
import heapq
import itertools
import math
import random
import threading
import time as _time
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from kinesislab.simulator import Simulator

#: botocore's retry modes, oldest first.
RETRY_MODES = ("legacy", "standard", "adaptive")

_patch_lock = threading.Lock()


@dataclass
class WaitLog:
    """Virtual seconds botocore made calls wait, by reason, summed over calls."""
    backoff_seconds: float = 0.0
    rate_limiter_seconds: float = 0.0
    backoffs: list[tuple[float, float]] = field(default_factory=list)   # (virtual time, seconds)


class VirtualThreads:
    """Runs worker threads one at a time in virtual time, deterministically.

    A worker runs (making its HTTP calls, which take no virtual time) until it waits -- botocore's
    back-off, adaptive mode's rate limiter -- or finishes; then the earliest waiting worker (or
    the next one due to start) goes on, the clock advanced to its instant. Ties go in order of
    arrival. Like many request handlers of one application sharing one boto3 client, but with
    the same interleaving on every run.
    """

    def __init__(self, sim: "Simulator"):
        self.sim = sim
        self._queue: list[tuple[float, int, object]] = []
        self._order = itertools.count()
        self._yielded = threading.Semaphore(0)
        self._local = threading.local()
        self.errors: list[BaseException] = []

    def in_worker(self) -> bool:
        return getattr(self._local, "worker", False)

    def spawn(self, at: float, function) -> None:
        """Start ``function`` in a worker at virtual time ``at``."""
        heapq.heappush(self._queue, (at, next(self._order), function))

    def sleep(self, seconds: float) -> None:
        """Called by a worker: wait ``seconds`` of virtual time while others run."""
        wake = threading.Event()
        heapq.heappush(self._queue, (self.sim.clock.time + max(seconds, 0.0), next(self._order), wake))
        self._yielded.release()
        wake.wait()

    def park(self, turn: threading.Event) -> None:
        """Called by a worker: wait until another worker calls :meth:`unpark` with ``turn``."""
        self._yielded.release()
        turn.wait()

    def unpark(self, turn: threading.Event) -> None:
        """Called by a worker: let the parked worker waiting on ``turn`` go on, now."""
        heapq.heappush(self._queue, (self.sim.clock.time, next(self._order), turn))

    def _start(self, function) -> None:
        def body() -> None:
            self._local.worker = True
            try:
                function()
            except BaseException as error:  # reported by run()
                self.errors.append(error)
            finally:
                self._yielded.release()
        threading.Thread(target=body, name="kinesislab-virtual-worker", daemon=True).start()

    def run(self) -> None:
        """Run until every worker has finished."""
        while self._queue:
            at, _, item = heapq.heappop(self._queue)
            if at > self.sim.clock.time:
                _advance(self.sim, at - self.sim.clock.time)
            if isinstance(item, threading.Event):
                item.set()
            else:
                self._start(item)
            self._yielded.acquire()
        if self.errors:
            raise self.errors[0]


def _advance(sim: "Simulator", seconds: float) -> None:
    if seconds > 0:
        if sim.endpoint is not None:
            with sim.endpoint.lock:   # the endpoint's thread reads the clock too
                sim.advance(seconds)
        else:
            sim.advance(seconds)


@contextmanager
def virtual_waits(sim: "Simulator", seed: int = 0, threads: VirtualThreads | None = None):
    """While the block runs, botocore's waits move ``sim``'s virtual clock instead of sleeping.

    Create the boto3 client *inside* the block (adaptive mode reads its clock when the client is
    made). Yields a :class:`WaitLog`. One block at a time per process.
    """
    import botocore.endpoint
    from botocore.retries import bucket

    log = WaitLog()

    def advance(seconds: float) -> None:
        if threads is not None and threads.in_worker():
            threads.sleep(seconds)
        else:
            _advance(sim, seconds)

    def backoff_sleep(seconds: float) -> None:
        log.backoff_seconds += seconds
        log.backoffs.append((sim.clock.time, seconds))
        advance(seconds)

    def park(turn: threading.Event) -> None:
        if threads is not None and threads.in_worker():
            threads.park(turn)

    def unpark(turn: threading.Event) -> None:
        if threads is not None:
            threads.unpark(turn)

    def limiter_sleep(self, seconds: float) -> None:
        advance(seconds)

    def current_time(self) -> float:
        return sim.clock.time

    def acquire(self, amount=1, block=True):
        # botocore's TokenBucket.acquire, waiting on the virtual clock instead of a condition
        # variable. botocore wakes every waiter whenever a token may be there and lets them race
        # for it; here waiters queue, and only the first re-checks the bucket after each wait:
        # the same rate and the same reaction to rate changes, served first come first served,
        # and one wait per token instead of one per waiter per token.
        waiters = self.__dict__.setdefault("_kinesislab_waiters", collections.deque())
        with self._new_fill_rate_condition:
            self._refill()
            if not waiters and amount <= self._current_capacity:
                self._current_capacity -= amount
                return True
            if not block:
                from botocore.exceptions import CapacityNotAvailableError
                raise CapacityNotAvailableError()
        began = sim.clock.time
        turn = threading.Event()
        waiters.append(turn)
        if waiters[0] is not turn:
            park(turn)
        while True:
            with self._new_fill_rate_condition:
                self._refill()
                if amount <= self._current_capacity:
                    self._current_capacity -= amount
                    break
                # At least 1 ms: virtual time is an epoch float (about 0.2 us apart in 2026), so a
                # shorter wait might not move the clock at all.
                wait = max(self._sleep_amount(amount), 0.001)
            limiter_sleep(self, wait)
        waiters.popleft()
        if waiters:
            unpark(waiters[0])
        log.rate_limiter_seconds += sim.clock.time - began
        return True

    with _patch_lock:
        saved_time = botocore.endpoint.time
        saved = {name: getattr(bucket.Clock, name) for name in ("sleep", "current_time")}
        saved_acquire = bucket.TokenBucket.acquire
        saved_random = random.getstate()
        botocore.endpoint.time = types.SimpleNamespace(sleep=backoff_sleep, time=_time.time,
                                                       monotonic=_time.monotonic, perf_counter=_time.perf_counter)
        bucket.Clock.sleep = limiter_sleep
        bucket.Clock.current_time = current_time
        bucket.TokenBucket.acquire = acquire
        random.seed(seed)
        try:
            yield log
        finally:
            botocore.endpoint.time = saved_time
            for name, function in saved.items():
                setattr(bucket.Clock, name, function)
            bucket.TokenBucket.acquire = saved_acquire
            random.setstate(saved_random)


@dataclass
class RetryRun:
    """One producer run. ``seconds`` is a per-second table (index: virtual second from the start)
    with columns ``offered`` (records that arrived to be put), ``attempts`` (PutRecord HTTP calls),
    ``retried`` (calls that were botocore's retries), ``accepted`` and ``throttled`` (the stream's
    IncomingRecords and WriteProvisionedThroughputExceeded metrics: what the service saw) and
    ``gave_up`` (records whose put_record raised after botocore's last attempt)."""
    mode: str
    max_attempts: int | None
    rate: float
    record_bytes: int
    capacity: int
    seconds: pd.DataFrame
    totals: dict
    waits: WaitLog
    bill: pd.DataFrame


@functools.lru_cache(maxsize=1)
def _session():
    """One boto3 session for every run: it loads the Kinesis service model once (clients are made
    from the calling thread only)."""
    import boto3
    return boto3.session.Session()


def _header(request, name: str) -> bytes:
    value = request.headers.get(name, b"")
    return value.encode() if isinstance(value, str) else value


def shard_capacity_records(sim: "Simulator", record_bytes: int) -> int:
    """Records of ``record_bytes`` (data plus key) one shard takes per second."""
    limits = sim.limits
    return int(min(limits.shard_write_records_per_second, limits.shard_write_bytes_per_second // record_bytes))


def run_retry_mode(mode: str, *, rate: float = 20.0, seconds: int = 5, record_bytes: int = 100 * 1024,
                   max_attempts: int | None = None, seed: int = 0, stream_name: str = "orders") -> RetryRun:
    """A one-shard stream; records of ``record_bytes`` (data plus partition key) arrive at ``rate``
    per second for ``seconds`` virtual seconds, and each is put by its own worker with one
    ``put_record`` call -- like request handlers of one application -- all through one
    ``boto3.client("kinesis", endpoint_url=..., config=Config(retries={"mode": mode,
    "max_attempts": max_attempts}))`` (``max_attempts`` None keeps the mode's default). A worker
    is busy while botocore retries or its rate limiter waits; the run ends when every worker has
    finished (retries can outlast the arrivals)."""
    from botocore.config import Config
    from botocore.exceptions import ClientError

    from kinesislab.simulator import Simulator

    if mode not in RETRY_MODES:
        raise ValueError(f"mode must be one of {RETRY_MODES}, not {mode!r}")
    sim = Simulator(seed=seed)
    url = sim.serve(speed=0)
    key_bytes = 8
    data = b"x" * (record_bytes - key_bytes)
    counts: dict[str, dict[int, int]] = {name: {} for name in ("offered", "attempts", "retried", "gave_up")}
    threads = VirtualThreads(sim)
    start = 0.0
    highest = [0]

    def tally(name: str) -> None:
        second = math.floor(sim.clock.time - start)
        counts[name][second] = counts[name].get(second, 0) + 1

    def count_attempt(request, **kwargs) -> None:
        # Registered last on "before-send": after adaptive mode's rate limiter has let it go.
        if b"PutRecord" not in _header(request, "X-Amz-Target"):
            return
        tally("attempts")
        # botocore numbers the attempts of a call (and sends the number as amz-sdk-request).
        attempt = request.context.get("retries", {}).get("attempt", 1)
        highest[0] = max(highest[0], attempt)
        if attempt > 1:
            tally("retried")

    retries: dict = {"mode": mode}
    if max_attempts is not None:
        retries["max_attempts"] = max_attempts
    try:
        with virtual_waits(sim, seed=seed, threads=threads) as waits:
            kinesis = _session().client(
                "kinesis", endpoint_url=url, region_name="us-east-1",
                aws_access_key_id="lab", aws_secret_access_key="lab",   # the lab checks no signature
                config=Config(retries=retries, max_pool_connections=50))
            kinesis.meta.events.register_last("before-send", count_attempt)
            kinesis.create_stream(StreamName=stream_name, ShardCount=1)
            _advance(sim, sim.limits.stream_creating_seconds)
            start = sim.clock.time
            total = int(rate * seconds)

            def worker(index: int):
                def put() -> None:
                    tally("offered")
                    try:
                        kinesis.put_record(StreamName=stream_name, Data=data, PartitionKey=f"{index:08d}")
                    except ClientError:
                        tally("gave_up")
                return put

            for index in range(total):
                threads.spawn(start + index / rate, worker(index))
            threads.run()
            stop = max(seconds, math.floor(sim.clock.time - start) + 1)
            _advance(sim, start + stop - sim.clock.time)
    finally:
        sim.endpoint.stop()

    metrics = sim.metrics(stream_name)
    offset = int(start) - int(sim.stream(stream_name).created_seconds)
    rows = range(stop)
    table = pd.DataFrame({name: [counts[name].get(s, 0) for s in rows] for name in ("offered", "attempts", "retried")},
                         index=pd.Index(rows, name="second"))
    for column, metric in (("accepted", "IncomingRecords"), ("throttled", "WriteProvisionedThroughputExceeded")):
        series = metrics[metric] if metric in metrics else pd.Series(0, index=metrics.index)
        table[column] = [int(series.iloc[offset + s]) for s in rows]
    table["gave_up"] = [counts["gave_up"].get(s, 0) for s in rows]
    totals = {name: int(table[name].sum()) for name in table.columns}
    totals["most_attempts"] = highest[0]
    totals["backoff_seconds"] = round(waits.backoff_seconds, 3)
    totals["rate_limiter_seconds"] = round(waits.rate_limiter_seconds, 3)
    return RetryRun(mode=mode, max_attempts=max_attempts, rate=rate, record_bytes=record_bytes,
                    capacity=shard_capacity_records(sim, record_bytes), seconds=table, totals=totals, waits=waits,
                    bill=sim.bill(stream_name))


def compare_retry_modes(**kwargs) -> dict[str, RetryRun]:
    """:func:`run_retry_mode` for each of :data:`RETRY_MODES`, same workload and seed."""
    return {mode: run_retry_mode(mode, **kwargs) for mode in RETRY_MODES}


def put_records_retries(mode: str, *, batches_per_second: int = 3, seconds: int = 2, batch_size: int = 500,
                        record_bytes: int = 100, seed: int = 0) -> dict:
    """PutRecords against a one-shard stream: ``batches_per_second`` batches of ``batch_size``
    small records each virtual second, through boto3 in retry ``mode``. A batch the shard only
    partly takes still answers HTTP 200 (with FailedRecordCount), so botocore retries nothing:
    returns the calls made, botocore's retries, and the entries the service refused."""
    from botocore.config import Config

    from kinesislab.simulator import Simulator

    sim = Simulator(seed=seed)
    url = sim.serve(speed=0)
    attempts = {"calls": 0, "retried": 0}

    def count_attempt(request, **kwargs) -> None:
        if b"PutRecords" in _header(request, "X-Amz-Target"):
            attempts["calls"] += 1
            if request.context.get("retries", {}).get("attempt", 1) > 1:
                attempts["retried"] += 1

    failed = offered = 0
    try:
        with virtual_waits(sim, seed=seed):
            kinesis = _session().client(
                "kinesis", endpoint_url=url, region_name="us-east-1", aws_access_key_id="lab",
                aws_secret_access_key="lab", config=Config(retries={"mode": mode}))
            kinesis.meta.events.register_last("before-send", count_attempt)
            kinesis.create_stream(StreamName="batches", ShardCount=1)
            _advance(sim, sim.limits.stream_creating_seconds)
            batch = [{"Data": b"x" * (record_bytes - 8), "PartitionKey": f"{i:08d}"} for i in range(batch_size)]
            for _ in range(seconds):
                for _ in range(batches_per_second):
                    failed += kinesis.put_records(StreamName="batches", Records=batch)["FailedRecordCount"]
                    offered += batch_size
                _advance(sim, 1.0)
    finally:
        sim.endpoint.stop()
    return {"mode": mode, "offered": offered, "calls": attempts["calls"], "retried": attempts["retried"],
            "failed_entries": failed, "accepted": offered - failed}
