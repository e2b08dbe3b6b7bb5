"""PutRecords a batch at a time gives exactly what it gave record by record.

The handler validates entries a batch at a time (``api/validation.py``) and then routes, admits
and stores the whole batch with the engine's batch methods (``Stream.route_many``,
``offer_many``, ``store_many``). The reference here is the record-at-a-time definition: the full
validators on every request, then ``Stream.route`` / ``offer`` / ``store`` for each entry in
order (the handler as it was before the batch path). Two simulators get the same random calls --
batches with throttling, resharding in between, explicit hash keys (on shard boundaries too),
multi-byte keys, odd blobs, bad entries, time steps, enhanced monitoring, on-demand streams with
AUTO distribution -- one through the batch path and one through the reference; every response,
every error and the final state (records, sequence numbers, tokens, metrics, usage, demand)
must be identical.
"""

from __future__ import annotations

import os
import random
import uuid
from collections import Counter
from contextlib import contextmanager

import numpy as np
import pytest
from botocore.exceptions import ClientError, ParamValidationError

import kinesislab
from conftest import Lab
from kinesislab.api import client_base, validation
from kinesislab.api.client_base import uuid5_text
from kinesislab.api.errors import ServiceError
from kinesislab.api.kinesis_records import (_check_size, _explicit_hash_key, _missing_partition_key,
                                            _throttle_message, as_bytes)
from kinesislab.api.registry import operations
from kinesislab.engine.hashing import MAX_HASH_KEY, hash_key
from kinesislab.engine.sequence import (COUNTER_STEP, PREFIX_DIGITS, SEQUENCE_DIGITS, make_sequence_number, sequence_prefix,
                                        sequence_text, sequence_texts, shard_index_of)
from kinesislab.engine.shard import Record

THROTTLE = "ProvisionedThroughputExceededException"
#: Random workloads per case; ``KINESISLAB_BATCH_SEEDS=100 pytest tests/test_put_records_batch.py`` hunts longer.
SEEDS = int(os.environ.get("KINESISLAB_BATCH_SEEDS", 6))


# ---------------------------------------------------------------------------- the reference

def reference_put_records(client, params: dict) -> dict:
    """PutRecords record by record: the handler before the batch path, kept as the definition."""
    stream = client.resolve_stream(params, allow_statuses=("ACTIVE", "UPDATING"))
    limits = client.sim.limits
    entries = []
    total = 0
    for entry in params["Records"]:
        data = as_bytes(entry["Data"])
        partition_key = entry.get("PartitionKey")
        if partition_key is None:
            partition_key = _missing_partition_key(stream)
        size = len(data) + len(partition_key.encode("utf-8"))
        _check_size(stream, size)
        explicit = _explicit_hash_key(entry.get("ExplicitHashKey"))
        entries.append((data, partition_key, explicit, size))
        total += size
    if total > limits.put_records_max_request_bytes:
        raise ServiceError("InvalidArgumentException",
                           f"Records size {total} bytes exceeds the PutRecords request limit of "
                           f"{limits.put_records_max_request_bytes} bytes (data plus partition keys).")
    results, per_shard, accepted_sizes = [], {}, {}
    accepted_bytes = failed = 0
    for data, partition_key, explicit, size in entries:
        shard = stream.route(partition_key, explicit)
        tally = per_shard.setdefault(shard.shard_id, [0, 0, 0])
        if stream.offer(shard, size):
            record = stream.store(shard, partition_key, data, size)
            tally[0] += 1
            tally[1] += size
            accepted_bytes += size
            accepted_sizes[size] = accepted_sizes.get(size, 0) + 1
            results.append({"SequenceNumber": record.sequence_text, "ShardId": shard.shard_id})
        else:
            failed += 1
            tally[2] += 1
            results.append({"ErrorCode": THROTTLE, "ErrorMessage": _throttle_message(client, stream, shard)})
    succeeded = len(entries) - failed
    if succeeded:
        client.stream_metric(stream, "IncomingBytes", accepted_bytes)
        client.stream_metric(stream, "IncomingRecords", succeeded)
    if failed:
        client.stream_metric(stream, "WriteProvisionedThroughputExceeded", failed)
    for shard_id, (count, size_sum, throttled) in per_shard.items():
        if count:
            client.shard_metric(stream, shard_id, "IncomingBytes", size_sum)
            client.shard_metric(stream, shard_id, "IncomingRecords", count)
        if throttled:
            client.shard_metric(stream, shard_id, "WriteProvisionedThroughputExceeded", throttled)
    for size, count in accepted_sizes.items():
        stream.usage.accepted(size, count)
    for metric, value in (("PutRecords.TotalRecords", len(entries)), ("PutRecords.SuccessfulRecords", succeeded),
                          ("PutRecords.ThrottledRecords", failed), ("PutRecords.FailedRecords", 0),
                          ("PutRecords.Bytes", total), ("PutRecords.Success", 1 if succeeded else 0)):
        client.stream_metric(stream, metric, value)
    return {"FailedRecordCount": failed, "Records": results, "EncryptionType": "NONE"}


@contextmanager
def record_by_record(monkeypatch):
    """Within the block, PutRecords runs the full validators and the reference handler."""
    with monkeypatch.context() as patch:
        patch.setitem(operations("kinesis"), "PutRecords", reference_put_records)
        patch.setattr(client_base, "validate_request", validation._validate_request)
        yield


# ---------------------------------------------------------------------------- random calls

def random_key(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.6:
        return f"{rng.getrandbits(64):x}"
    if kind < 0.8:
        return rng.choice(["k", "user-1", "user-2", "é", "ключ", "鍵🔑"])
    return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0xA0, 0x3000)]))
                   for _ in range(rng.randint(1, 40)))


def random_entry(rng: random.Random, boundaries: list[int], bad: float) -> dict:
    entry: dict = {"Data": rng.randbytes(rng.choice([0, 1, 10, 100, 100, 100, 3000]))}
    if rng.random() < 0.95:
        entry["PartitionKey"] = random_key(rng)
    roll = rng.random()
    if roll < 0.1:
        entry["ExplicitHashKey"] = str(rng.choice(boundaries + [0, MAX_HASH_KEY, rng.getrandbits(128)]))
    elif roll < 0.12:
        entry["Data"] = bytearray(entry["Data"])
    elif roll < 0.14:
        entry["Data"] = entry["Data"].hex()  # a str blob (boto3 encodes it as UTF-8)
    if rng.random() < bad:
        spoil = rng.choice(["key_long", "key_empty", "key_int", "data_none", "data_huge", "explicit_big",
                            "explicit_bad", "explicit_none", "extra_member", "no_data", "entry_list"])
        if spoil == "key_long":
            entry["PartitionKey"] = "x" * 257
        elif spoil == "key_empty":
            entry["PartitionKey"] = ""
        elif spoil == "key_int":
            entry["PartitionKey"] = 7
        elif spoil == "data_none":
            entry["Data"] = None
        elif spoil == "data_huge":
            entry["Data"] = b"z" * (1024 * 1024 + 1)
        elif spoil == "explicit_big":
            entry["ExplicitHashKey"] = str(2**128)
        elif spoil == "explicit_bad":
            entry["ExplicitHashKey"] = "01"
        elif spoil == "explicit_none":
            entry["ExplicitHashKey"] = None
        elif spoil == "extra_member":
            entry["Other"] = "x"
        elif spoil == "no_data":
            del entry["Data"]
        else:
            return [entry]  # type: ignore[return-value]
    return entry


def boundaries_of(sim, name: str) -> list[int]:
    """Hash keys at and next to every open shard's ends (routing's edge cases)."""
    keys = []
    for shard in sim.streams[name].open_shards():
        low, high = shard.hash_key_range.starting, shard.hash_key_range.ending
        keys += [low, high, max(low - 1, 0), min(high + 1, MAX_HASH_KEY)]
    return keys


def play(lab: Lab, seed: int, steps: int, mode: str, auto: bool = False) -> list:
    """A random sequence of calls on stream "s"; returns every outcome (response or error)."""
    rng = random.Random(seed)
    k, sim = lab.k, lab.sim
    if mode == "ON_DEMAND":
        lab.stream("s", mode="ON_DEMAND", **({"RecordDistributionStrategy": "AUTO"} if auto else {}))
    else:
        lab.stream("s", shards=rng.choice([1, 2, 3, 5]))
    outcomes = []

    def call(method, **params):
        try:
            outcomes.append(getattr(k, method)(**params))
        except ParamValidationError as error:
            outcomes.append(("ParamValidationError", str(error)))
        except ClientError as error:
            outcomes.append((error.response["Error"]["Code"], error.response["Error"]["Message"]))

    # A burst on one key first: more than a shard takes in a second, so some entries are throttled.
    hot = random_key(rng)
    for _ in range(3):
        call("put_records", StreamName="s", Records=[{"Data": rng.randbytes(rng.choice([10, 900])), "PartitionKey": hot}
                                                     for _ in range(500)])
    for _ in range(steps):
        action = rng.random()
        if action < 0.6:
            count = rng.choice([1, 2, 7, 50, 300, 500, 500, 501])
            hot = random_key(rng) if rng.random() < 0.3 else None
            records = []
            for _ in range(count):
                entry = random_entry(rng, boundaries_of(sim, "s"), bad=0.002)
                if hot is not None and isinstance(entry, dict) and "PartitionKey" in entry:
                    entry["PartitionKey"] = hot
                records.append(entry)
            call("put_records", StreamName="s", Records=records)
        elif action < 0.75:
            sim.advance(rng.choice([0.1, 0.5, 1.0, 1.0, 3.0]))
        elif action < 0.82 and mode == "PROVISIONED":
            shard = rng.choice(sim.streams["s"].open_shards())
            rng_ = shard.hash_key_range
            if rng_.size > 2:
                call("split_shard", StreamName="s", ShardToSplit=shard.shard_id,
                     NewStartingHashKey=str(rng.randint(rng_.starting + 1, rng_.ending)))
        elif action < 0.86 and mode == "PROVISIONED":
            opened = sim.streams["s"].open_shards()
            if len(opened) > 1:
                i = rng.randrange(len(opened) - 1)
                call("merge_shards", StreamName="s", ShardToMerge=opened[i].shard_id,
                     AdjacentShardToMerge=opened[i + 1].shard_id)
        elif action < 0.9:
            call("enable_enhanced_monitoring", StreamName="s", ShardLevelMetrics=["ALL"])
        elif action < 0.93:
            call("put_record", StreamName="s", Data=b"one", PartitionKey=random_key(rng))
        else:
            call("put_records", StreamName="s", Records=[{"Data": b"x", "PartitionKey": "k"}], StreamARN="bad")
    return outcomes


def usage_state(sim) -> dict:
    usage = sim.streams["s"].usage
    stream = sim.streams["s"]
    return {"sizes": {mode: dict(sizes) for mode, sizes in usage.record_sizes.items()},
            "ingest": dict(usage.ingest_bytes_by_second),
            "demand": (stream._demand_second, stream._demand_bytes, stream._demand_records,
                       dict(stream._shard_demand_bytes), dict(stream.demand_since_scaling))}


@pytest.mark.parametrize("seed", range(SEEDS))
@pytest.mark.parametrize("mode", ["PROVISIONED", "ON_DEMAND", "AUTO"])
def test_batch_path_matches_record_by_record(seed, mode, monkeypatch):
    steps = 60
    kind = "ON_DEMAND" if mode == "AUTO" else mode
    batch = Lab(kinesislab.Simulator(seed=seed))
    batch_outcomes = play(batch, seed, steps, kind, auto=mode == "AUTO")
    reference = Lab(kinesislab.Simulator(seed=seed))
    with record_by_record(monkeypatch):
        reference_outcomes = play(reference, seed, steps, kind, auto=mode == "AUTO")
    assert batch_outcomes == reference_outcomes
    assert batch.snapshot() == reference.snapshot()
    assert usage_state(batch.sim) == usage_state(reference.sim)
    # The workloads did exercise the interesting paths.
    answers = [o for o in batch_outcomes if isinstance(o, dict) and "FailedRecordCount" in o]
    assert answers
    if mode == "PROVISIONED":
        assert sum(a["FailedRecordCount"] for a in answers) > 0  # some throttling


def test_heavy_throttling_fails_exactly_the_excess_in_entry_order(lab, sim, kinesis, monkeypatch):
    """Entries of mixed sizes on one shard, more than its buckets hold: the same entries fail."""
    lab.stream("s", shards=2)
    rng = random.Random(5)
    batches = [[{"Data": rng.randbytes(rng.choice([10, 2000, 9000])), "PartitionKey": rng.choice("abcdef")}
                for _ in range(500)] for _ in range(6)]
    got = [kinesis.put_records(StreamName="s", Records=b) for b in batches]
    other = Lab(kinesislab.Simulator(seed=0))
    other.stream("s", shards=2)
    with record_by_record(monkeypatch):
        expected = [other.k.put_records(StreamName="s", Records=b) for b in batches]
    strip = [{**r, "ResponseMetadata": None} for r in got]
    assert strip == [{**r, "ResponseMetadata": None} for r in expected]
    assert sum(r["FailedRecordCount"] for r in got) > 0
    assert lab.snapshot() == other.snapshot()


# ---------------------------------------------------------------------------- validation

def random_request(rng: random.Random) -> dict:
    records = [random_entry(rng, [0, 2**127, MAX_HASH_KEY], bad=0.03) for _ in range(rng.choice([1, 3, 40, 500]))]
    request: dict = {"StreamName": "s", "Records": records}
    roll = rng.random()
    if roll < 0.05:
        request["Records"] = records + records[:1] * 501
    elif roll < 0.08:
        request["Records"] = tuple(records)
    elif roll < 0.1:
        request["StreamName"] = "bad name!"
    elif roll < 0.12:
        request["Unexpected"] = 1
    elif roll < 0.14:
        request["Records"] = []
    return request


def outcome_of(validate, request) -> tuple:
    try:
        validate("kinesis", "PutRecords", request)
    except ParamValidationError as error:
        return ("client", str(error))
    except ServiceError as error:
        return ("service", error.code, error.message)
    return ("ok",)


@pytest.mark.parametrize("seed", range(4 * SEEDS))
def test_batch_validation_reports_exactly_what_the_full_validators_report(seed):
    rng = random.Random(seed)
    for _ in range(10):
        request = random_request(rng)
        assert outcome_of(validation.validate_request, request) == outcome_of(validation._validate_request, request)


def test_batch_check_is_sure_only_of_plainly_valid_entries():
    check = validation.check_put_records_entries
    good = [{"Data": b"abc", "PartitionKey": "ключ"}, {"Data": b"", "PartitionKey": "k", "ExplicitHashKey": "0"}]
    checked = check(good)
    assert checked is not None
    assert checked.data == [b"abc", b""] and checked.partition_keys == ["ключ", "k"]
    assert checked.data_lengths == [3, 0] and checked.common_data_length is None
    assert checked.common_key_bytes is None  # not ASCII
    assert checked.explicit_hash_keys == [None, "0"]
    uniform = check([{"Data": b"abcd", "PartitionKey": "ab"}] * 3)
    assert uniform.common_data_length == 4 and uniform.common_key_bytes == 2
    for entries in ([{"Data": bytearray(b"x"), "PartitionKey": "k"}],          # valid, but not plain bytes
                    [{"Data": b"x"}],                                           # no PartitionKey (AUTO streams)
                    [{"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": None}],
                    [{"Data": b"x", "PartitionKey": "k", "Extra": 1}],
                    [{"Data": b"x", "PartitionKey": ""}],
                    [{"Data": b"x", "PartitionKey": "k" * 257}],
                    [{"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": "007"}],
                    [{"Data": b"x" * (10 * 1024 * 1024 + 1), "PartitionKey": "k"}],
                    [],
                    [{"Data": b"x", "PartitionKey": "k"}] * 501):
        assert check(entries) is None, entries


def test_explicit_hash_key_none_after_the_first_entry_is_refused_like_boto3(lab, kinesis):
    """botocore refuses ``ExplicitHashKey=None`` in any entry (the batch check once let it through
    after the first entry)."""
    lab.stream("s")
    records = [{"Data": b"x", "PartitionKey": "k"}, {"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": None}]
    with pytest.raises(ParamValidationError, match=r"Records\[1\]\.ExplicitHashKey"):
        kinesis.put_records(StreamName="s", Records=records)


def test_the_validator_hands_columns_only_for_plainly_valid_batches():
    records = [{"Data": b"x", "PartitionKey": "k"}]
    checked = validation.validate_request("kinesis", "PutRecords", {"StreamName": "s", "Records": records})
    assert checked is not None and checked.data == [b"x"] and checked.partition_keys == ["k"]
    # Valid but not plain (a bytearray blob): walked by the generic validator, no columns.
    assert validation.validate_request("kinesis", "PutRecords", {
        "StreamName": "s", "Records": [{"Data": bytearray(b"x"), "PartitionKey": "k"}]}) is None
    assert validation.validate_request("kinesis", "PutRecord", {"StreamName": "s", "Data": b"x",
                                                                "PartitionKey": "k"}) is None


def test_mutating_a_validated_list_before_a_dry_run_retry_cannot_reuse_its_columns(lab, kinesis):
    lab.stream("s")
    records = [{"Data": b"x", "PartitionKey": "k"}]
    with pytest.raises(ClientError, match="DryRun"):
        kinesis.put_records(StreamName="s", Records=records, DryRun=True)
    records[0]["Data"] = bytearray(b"changed")
    response = kinesis.put_records(StreamName="s", Records=records)
    read = kinesis.get_records(ShardIterator=lab.iterator("s", lab.shard_ids("s")[0]))["Records"]
    assert response["FailedRecordCount"] == 0 and [r["Data"] for r in read] == [b"changed"]


# ---------------------------------------------------------------------------- engine pieces

def test_route_many_matches_route_on_boundaries_and_ties():
    sim = kinesislab.Simulator(seed=0)
    lab = Lab(sim)
    lab.stream("s", shards=3)
    stream = sim.streams["s"]
    # Split so that an ending key and the next keys share their high 64 bits (the tie path).
    shard = stream.open_shards()[1]
    cut = (shard.hash_key_range.starting >> 64 << 64) + (1 << 64) + 12345
    stream.apply_split(shard, cut)
    stream.apply_split(stream.shard_for_hash_key(cut), cut + 7)
    rng = random.Random(1)
    keys = [random_key(rng) for _ in range(2000)]
    explicit = [None] * len(keys)
    edge = boundaries_of(sim, "s") + [cut - 1, cut, cut + 1, cut + 6, cut + 7, cut + 8]
    for i in range(0, len(keys), 3):
        explicit[i] = rng.choice(edge)
    shards, positions = stream.route_many([k.encode() for k in keys], explicit)
    expected = [stream.route(k, e) for k, e in zip(keys, explicit)]
    assert [shards[p] for p in positions.tolist()] == expected
    shards, positions = stream.route_many([k.encode() for k in keys])
    assert [shards[p] for p in positions.tolist()] == [stream.shard_for_hash_key(hash_key(k)) for k in keys]


def test_sequence_numbers_layout_and_batches():
    prefix = sequence_prefix(1_767_225_600, 7, 1_767_225_612)
    assert len(prefix) == PREFIX_DIGITS
    for counter in (0, 1, 999, 1000, 123_456_789, 10**22 // COUNTER_STEP - 1):
        text = sequence_text(prefix, counter)
        assert len(text) == SEQUENCE_DIGITS and text.isdigit() and text[0] != "0"
        assert shard_index_of(int(text)) == 7
        assert int(text) == make_sequence_number(1_767_225_600, 7, counter, 1_767_225_612)
        # Not indexes: the next record's number is COUNTER_STEP (> 1) higher.
        assert int(sequence_text(prefix, counter + 1)) - int(text) == COUNTER_STEP > 1
    prefixes = [sequence_prefix(1_767_225_600, i, 1_767_225_612) for i in range(3)]
    positions = np.array([random.Random(3).randrange(3) for _ in range(2500)])
    for first in (1, 124, 125, 126, 998, 999, 1000, 77_001):
        texts = sequence_texts(prefixes, positions, first)
        assert texts == [sequence_text(prefixes[p], first + i) for i, p in enumerate(positions.tolist())]
    assert shard_index_of(12345) is None and shard_index_of(int("9" * SEQUENCE_DIGITS)) is None


def test_shard_reads_cut_by_count_and_running_size_across_runs():
    sim = kinesislab.Simulator(seed=0)
    Lab(sim).stream("s")
    shard = sim.streams["s"].open_shards()[0]
    rng = random.Random(2)
    sizes = [rng.choice([1, 5, 50, 500]) for _ in range(300)]
    arrival, i = 0.0, 0
    while i < len(sizes):  # runs of 1..40 records, some added one record at a time
        run = min(rng.randint(1, 40), len(sizes) - i)
        texts = [f"4{n:055d}" for n in range(i, i + run)]
        if rng.random() < 0.5:
            shard.add_records(arrival, tuple(texts), (b"",) * run, ("k",) * run, tuple(sizes[i:i + run]))
        else:
            for n in range(run):
                shard.append(Record(texts[n], b"", "k", arrival, sizes[i + n]))
        arrival += rng.choice([0.0, 0.5])
        i += run
    records = shard.records
    assert [r.size_bytes for r in records] == sizes and shard.end_position == len(sizes)
    for _ in range(400):
        position, most, budget = rng.randrange(320), rng.randrange(1, 400), rng.randrange(0, 3000)
        expected, total = [], 0
        for offset, size in enumerate(sizes[position:position + most]):
            if expected and total + size > budget:
                break
            expected.append(position + offset)
            total += size
        read = shard.read(position, most, budget)
        assert list(range(read.position, read.position + read.count)) == expected
        assert read.size_bytes == total
        runs = list(shard.runs(read.position, read.count))
        assert [(records[first].arrival_seconds, first, stop) for _, first, stop in runs] == runs
        assert [p for _, first, stop in runs for p in range(first, stop)] == expected
    for position in range(0, 300, 7):
        assert shard.record_at(position) == records[position]
        number = records[position].sequence_number
        assert shard.position_at_sequence(number, after=False) == position
        assert shard.position_at_sequence(number, after=True) == position + 1
        arrival = records[position].arrival_seconds
        assert shard.position_at_time(arrival) == min(p for p, r in enumerate(records) if r.arrival_seconds >= arrival)
    shard.trim_before(records[150].arrival_seconds)
    assert shard.first_position == min(p for p, r in enumerate(records) if r.arrival_seconds >= records[150].arrival_seconds)
    assert shard.records == records[shard.first_position:]


def test_request_ids_are_uuid5_of_the_call():
    rng = random.Random(0)
    for i in range(2000):
        name = f"kinesis/{rng.randrange(10**6)}/{i}"
        assert uuid5_text(name) == str(uuid.uuid5(uuid.NAMESPACE_OID, name))


def test_equal_and_unequal_record_sizes_count_the_same_usage(lab, sim, kinesis):
    lab.stream("s", shards=2)
    kinesis.put_records(StreamName="s", Records=[{"Data": b"x" * 10, "PartitionKey": "ab"}] * 5)
    kinesis.put_records(StreamName="s", Records=[{"Data": b"x" * n, "PartitionKey": "é"} for n in (1, 2, 2, 9)])
    sizes = sim.streams["s"].usage.record_sizes["PROVISIONED"]
    assert dict(sizes) == {12: 5, 3: 1, 4: 2, 11: 1}
    assert Counter(r.size_bytes for s in sim.streams["s"].shards.values() for r in s.records) == Counter(sizes)
