"""Shared fixtures and helpers for the engine's test suite.

* ``sim`` -- a fresh ``Simulator(seed=0)``; its clock starts at 2026-01-01T00:00:00Z.
* ``kinesis`` -- that simulator's boto3-shaped client.
* ``lab`` -- a :class:`Lab` bound to both: it creates ACTIVE streams, writes and reads whole
  shards, and takes state snapshots (``lab.stream(...)`` is the ACTIVE-stream factory).
* ``make_stream`` -- ``lab.stream`` as a fixture of its own.

Every stream made by :meth:`Lab.stream` is ACTIVE and the clock sits on a whole virtual
second afterwards, so "one second" in a test is exactly one throughput window.
"""

from __future__ import annotations

import math
import sys
from datetime import datetime
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

# The suite runs from a checkout whether or not the package is installed (`pytest` alone does not
# put the repository root on sys.path; `python -m pytest` and `pip install -e .` do).
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import kinesislab  # noqa: E402
from kinesislab.api.registry import operations  # noqa: E402
from kinesislab.engine.hashing import HASH_KEY_SPACE  # noqa: E402

ACCOUNT = "123456789012"
START = datetime.fromisoformat("2026-01-01T00:00:00+00:00")


def error_code(excinfo) -> str:
    """The service error code of a ``pytest.raises(ClientError)`` result."""
    return excinfo.value.response["Error"]["Code"]


def error_message(excinfo) -> str:
    return excinfo.value.response["Error"]["Message"]


def explicit_keys(count: int) -> list[str]:
    """``count`` explicit hash keys spread evenly over the key space (centres of equal slices)."""
    width = HASH_KEY_SPACE // count
    return [str(width * i + width // 2) for i in range(count)]


def handler(kinesis, operation_name: str, params: dict) -> dict:
    """Run an operation's handler directly: same answer, but no request id consumed (snapshots)."""
    return operations("kinesis")[operation_name](kinesis, params)


class Lab:
    """Helpers for one simulator and its Kinesis client."""

    def __init__(self, sim: kinesislab.Simulator):
        self.sim = sim
        self.k = sim.client("kinesis")

    # ------------------------------------------------------------------ streams
    def stream(self, name: str = "s", shards: int | None = 1, mode: str = "PROVISIONED", **params) -> str:
        """Create a stream and advance virtual time until it is ACTIVE (on a whole second)."""
        request = {"StreamName": name, **params}
        if mode == "ON_DEMAND":
            request["StreamModeDetails"] = {"StreamMode": "ON_DEMAND"}
        elif shards is not None:
            request["ShardCount"] = shards
        self.k.create_stream(**request)
        self.wait_active(name)
        return name

    def wait_active(self, name: str) -> None:
        for _ in range(100):
            if self.sim.streams[name].status == "ACTIVE":
                break
            self.sim.advance(1)
        assert self.sim.streams[name].status == "ACTIVE"
        self.to_next_second(only_if_fractional=True)

    def to_next_second(self, only_if_fractional: bool = False) -> None:
        """Move the clock to the start of the next whole virtual second."""
        now = self.sim.clock.time
        target = math.floor(now) + 1
        if only_if_fractional and now == math.floor(now):
            return
        self.sim.clock.advance_to(target)

    def arn(self, name: str = "s") -> str:
        return self.sim.streams[name].arn

    def shard_ids(self, name: str = "s", open_only: bool = False) -> list[str]:
        shards = self.k.list_shards(StreamName=name)["Shards"]
        if open_only:
            shards = [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
        return [s["ShardId"] for s in shards]

    def open_ranges(self, name: str = "s") -> list[tuple[int, int]]:
        shards = self.k.list_shards(StreamName=name)["Shards"]
        return sorted((int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                      for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"])

    def reshard_done(self, name: str = "s") -> None:
        """Let an in-flight reshard (UPDATING) finish."""
        self.wait_active(name)

    # ------------------------------------------------------------------ writes
    def put_many(self, name: str, count: int, key: str = "k", size: int = 10,
                 explicit_hash_key: str | None = None) -> dict:
        """PutRecords ``count`` records (batches of 500) whose size (data + key) is ``size`` bytes.

        Returns totals: accepted, failed, and every response."""
        data = b"x" * (size - len(key.encode("utf-8")))
        entry = {"Data": data, "PartitionKey": key}
        if explicit_hash_key is not None:
            entry["ExplicitHashKey"] = explicit_hash_key
        responses = []
        remaining = count
        while remaining:
            batch = min(500, remaining)
            responses.append(self.k.put_records(StreamName=name, Records=[dict(entry) for _ in range(batch)]))
            remaining -= batch
        failed = sum(r["FailedRecordCount"] for r in responses)
        return {"accepted": count - failed, "failed": failed, "responses": responses}

    # ------------------------------------------------------------------ reads
    def iterator(self, name: str, shard_id: str, kind: str = "TRIM_HORIZON", **params) -> str:
        for _ in range(20):
            try:
                return self.k.get_shard_iterator(StreamName=name, ShardId=shard_id, ShardIteratorType=kind,
                                                 **params)["ShardIterator"]
            except self.k.exceptions.ProvisionedThroughputExceededException:
                self.to_next_second()
        raise AssertionError("GetShardIterator kept being throttled")

    def read_shard(self, name: str, shard_id: str, kind: str = "TRIM_HORIZON", **params) -> tuple[list[dict], dict]:
        """Read one shard until caught up (open) or finished (closed); throttles wait a second.

        Returns (records, last response)."""
        iterator = self.iterator(name, shard_id, kind, **params)
        records: list[dict] = []
        throttles = 0
        while True:
            try:
                response = self.k.get_records(ShardIterator=iterator)
            except self.k.exceptions.ProvisionedThroughputExceededException:
                throttles += 1
                assert throttles < 10_000
                self.to_next_second()
                continue
            records.extend(response["Records"])
            iterator = response.get("NextShardIterator")
            if iterator is None:
                return records, response
            if not response["Records"] and response["MillisBehindLatest"] == 0:
                return records, response

    def read_all(self, name: str = "s") -> list[tuple[str, dict]]:
        """Read every shard, each parent to its end before any of its children (as the KCL does).

        Returns ``(shard_id, record)`` pairs in reading order."""
        shards = {s["ShardId"]: s for s in self.k.list_shards(StreamName=name)["Shards"]}
        done: set[str] = set()
        out: list[tuple[str, dict]] = []
        while len(done) < len(shards):
            progressed = False
            for shard_id in sorted(shards):
                if shard_id in done:
                    continue
                shard = shards[shard_id]
                parents = [p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId"))
                           if p and p in shards]
                if any(p not in done for p in parents):
                    continue
                records, _ = self.read_shard(name, shard_id)
                out.extend((shard_id, r) for r in records)
                done.add(shard_id)
                progressed = True
            assert progressed, "shard lineage has a cycle"
        return out

    # ------------------------------------------------------------------ state
    def snapshot(self) -> dict:
        """Everything a call could change, after applying the lazy, time-driven updates that any
        call at this instant would apply anyway (retention trim, shard expiry, budget refills).
        Taken through handlers and engine objects, so taking it changes nothing itself."""
        sim = self.sim
        now = sim.clock.time
        streams = {}
        for name, stream in sorted(sim.streams.items()):
            stream.trim()
            stream.expire_closed_shards()
            stream.write_budget.refill(now)
            stream.read_budget.refill(now)
            streams[name] = {
                "describe": handler(self.k, "DescribeStream", {"StreamName": name}),
                "summary": handler(self.k, "DescribeStreamSummary", {"StreamName": name}),
                "tags": dict(stream.tags),
                "consumers": sorted((c.name, c.arn, c.status, tuple(sorted(c.last_subscribed.items())))
                                    for c in stream.consumers.values()),
                "records": {sid: [(r.sequence_number, r.data, r.partition_key, r.arrival_seconds, r.size_bytes)
                                  for r in shard.records]
                            for sid, shard in sorted(stream.shards.items())},
                "first_positions": {sid: s.first_position for sid, s in stream.shards.items()},
                "write_tokens": (stream.write_budget.bytes_tokens.tolist(), stream.write_budget.records_tokens.tolist()),
                "read_tokens": (stream.read_budget.bytes_tokens.tolist(), stream.read_budget.calls_tokens.tolist()),
                "sequence_counter": stream._sequence_counter,
                "next_index": stream._next_index,
                "update_shard_count_times": list(stream.update_shard_count_times),
                "mode_switch_times": list(stream.mode_switch_times),
                "iterator_calls": dict(stream._iterator_calls),
                "retention": stream.retention_hours,
                "mode": stream.mode,
                "enhanced": sorted(stream.enhanced_metrics),
                "max_record_size_kib": stream.max_record_size_kib,
            }
        recorder = sim.metrics_recorder
        account = getattr(sim, "_account_settings", None)  # created on first use; unset = all None
        return {
            "account": {k: v for k, v in vars(account).items() if v is not None} if account is not None else {},
            "time": now,
            "queue": sorted((at, priority) for at, priority, _, _ in sim.clock._queue),
            "streams": streams,
            "deleted": [s.name for s in sim.deleted_streams],
            "metrics": ({k: dict(v) for k, v in recorder._stream.items()},
                        {k: dict(v) for k, v in recorder._shard.items()},
                        {k: dict(v) for k, v in recorder._consumer.items()}),
            "request_counter": self.k._request_counter,
            "rng": repr(sim.rng.bit_generator.state),
        }


@pytest.fixture
def sim() -> kinesislab.Simulator:
    return kinesislab.Simulator(seed=0)


@pytest.fixture
def kinesis(sim):
    return sim.client("kinesis")


@pytest.fixture
def lab(sim) -> Lab:
    return Lab(sim)


@pytest.fixture
def make_stream(lab):
    """Factory: ``make_stream("name", shards=3)`` -> the name of an ACTIVE stream."""
    return lab.stream


def expect_error(callable_, code: str, **params):
    """Call and return the ClientError, asserting its code."""
    with pytest.raises(ClientError) as excinfo:
        callable_(**params)
    assert error_code(excinfo) == code, excinfo.value.response
    return excinfo.value


# ------------------------------------------------------------------ scenario runs, fast vs reference
from kinesislab.scenario.runner import Runner  # noqa: E402


class TickByTickRunner(Runner):
    """The reference: every write and every reader one tick at a time, no closed form."""

    closed_form_reads = False
    closed_form_writes = False
    firehose_in_segments = False


def assert_same_run(fast, reference) -> None:
    """Two runs' results agree: every frame (to 1e-9: sums of bytes may be taken in another
    order), deliveries, duplicates, the bill, and every Firehose delivery and its cost exactly."""
    import pandas as pd

    for frame in ("stream", "shards", "consumers", "latency", "lineage", "events"):
        pd.testing.assert_frame_equal(getattr(fast, frame), getattr(reference, frame), check_exact=False, rtol=1e-9)
    assert fast.delivered == reference.delivered and fast.duplicates == reference.duplicates
    assert fast.bill().equals(reference.bill())
    assert fast.firehose.keys() == reference.firehose.keys()
    for name, deliveries in reference.firehose.items():
        pd.testing.assert_frame_equal(fast.firehose[name], deliveries, check_exact=True)
        assert fast.firehose_cost(name) == reference.firehose_cost(name)
