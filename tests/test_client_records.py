"""Data plane with exact numbers on tiny streams: record sizes, sequence numbers, write and read
throughput limits, iterators and their expiry, MillisBehindLatest, retention."""

from __future__ import annotations

import re
from datetime import timedelta, timezone

import pytest
from botocore.exceptions import ParamValidationError

from conftest import ACCOUNT, expect_error

MiB = 1024 * 1024
SHARD0 = "shardId-000000000000"


def throttle_text(shard_id: str = SHARD0, stream: str = "s") -> str:
    return f"Rate exceeded for shard {shard_id} in stream {stream} under account {ACCOUNT}."


# ---------------------------------------------------------------------------- records

def test_sequence_numbers_are_decimal_strings_rising_within_a_shard(lab, sim, kinesis):
    lab.stream("s", shards=2)
    per_shard: dict[str, list[int]] = {}
    for i in range(40):
        response = kinesis.put_record(StreamName="s", Data=b"x", PartitionKey=f"k{i % 7}")
        number = response["SequenceNumber"]
        assert isinstance(number, str) and re.fullmatch(r"[1-9]\d*", number)
        assert len(number) == 56  # like the service's (facts §2)
        per_shard.setdefault(response["ShardId"], []).append(int(number))
        if i % 5 == 0:
            sim.advance(0.3)
    batch = kinesis.put_records(StreamName="s", Records=[{"Data": b"y", "PartitionKey": f"k{i}"} for i in range(20)])
    for entry in batch["Records"]:
        per_shard[entry["ShardId"]].append(int(entry["SequenceNumber"]))
    assert len(per_shard) == 2
    for numbers in per_shard.values():
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    # Within a shard, a record's number lies after the shard's StartingSequenceNumber.
    for shard in kinesis.list_shards(StreamName="s")["Shards"]:
        start = int(shard["SequenceNumberRange"]["StartingSequenceNumber"])
        assert all(n > start for n in per_shard[shard["ShardId"]])


def test_put_record_response_and_arrival_timestamp(lab, sim, kinesis):
    lab.stream("s")
    sim.advance(0.25)
    response = kinesis.put_record(StreamName="s", Data=b"hello", PartitionKey="k")
    assert response["ShardId"] == SHARD0 and response["EncryptionType"] == "NONE"
    put_at = sim.now
    sim.advance(3)
    records = kinesis.get_records(ShardIterator=lab.iterator("s", SHARD0))["Records"]
    assert len(records) == 1
    record = records[0]
    assert record["Data"] == b"hello" and isinstance(record["Data"], bytes)
    assert record["PartitionKey"] == "k"
    assert record["SequenceNumber"] == response["SequenceNumber"]
    assert record["ApproximateArrivalTimestamp"] == put_at
    assert record["ApproximateArrivalTimestamp"].tzinfo is not None
    assert record["ApproximateArrivalTimestamp"].utcoffset() == timedelta(0)
    assert put_at.tzinfo == timezone.utc


def test_data_accepts_str_and_bytearray_like_boto3(lab, kinesis):
    lab.stream("s")
    kinesis.put_record(StreamName="s", Data="héllo", PartitionKey="k")
    kinesis.put_record(StreamName="s", Data=bytearray(b"abc"), PartitionKey="k")
    records, _ = lab.read_shard("s", SHARD0)
    assert [r["Data"] for r in records] == ["héllo".encode(), b"abc"]


def test_record_size_counts_data_plus_utf8_key_bytes(lab, sim, kinesis):
    lab.stream("s")
    # 1 MiB limit, counted as data + UTF-8 partition key.
    kinesis.put_record(StreamName="s", Data=b"x" * (MiB - 3), PartitionKey="abc")
    error = expect_error(kinesis.put_record, "InvalidArgumentException",
                         StreamName="s", Data=b"x" * (MiB - 2), PartitionKey="abc")
    assert "1048577" in error.response["Error"]["Message"]
    lab.to_next_second()
    # "é" is one character but two UTF-8 bytes.
    kinesis.put_record(StreamName="s", Data=b"x" * (MiB - 2), PartitionKey="é")
    lab.to_next_second()
    expect_error(kinesis.put_record, "InvalidArgumentException", StreamName="s", Data=b"x" * (MiB - 1),
                 PartitionKey="é")
    # IncomingBytes counts the same size.
    frame = sim.metrics("s")
    assert frame["IncomingBytes"].sum() == 2 * MiB
    sizes = [r.size_bytes for r in sim.streams["s"].shards[SHARD0].records]
    assert sizes == [MiB, MiB]


def test_record_size_limit_follows_max_record_size(lab, sim, kinesis):
    lab.stream("big", shards=1, MaxRecordSizeInKiB=2048)
    assert kinesis.describe_stream_summary(StreamName="big")["StreamDescriptionSummary"]["MaxRecordSizeInKiB"] == 2048
    kinesis.put_record(StreamName="big", Data=b"x" * (2 * MiB - 1), PartitionKey="k")
    expect_error(kinesis.put_record, "InvalidArgumentException", StreamName="big", Data=b"x" * (2 * MiB),
                 PartitionKey="k")
    # Beyond the model's 10 MiB blob maximum the service's validation answers first.
    expect_error(kinesis.put_record, "ValidationException", StreamName="big", Data=b"x" * (10 * MiB + 1),
                 PartitionKey="k")


def test_partition_key_length_1_to_256(lab, kinesis):
    lab.stream("s")
    kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k" * 256)
    error = expect_error(kinesis.put_record, "ValidationException", StreamName="s", Data=b"x", PartitionKey="k" * 257)
    assert error.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{'k' * 257}' at 'partitionKey' failed to satisfy constraint: "
        "Member must have length less than or equal to 256")
    with pytest.raises(ParamValidationError):
        kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="")


def test_partition_key_is_required_unless_the_service_distributes_records(lab, sim, kinesis):
    lab.stream("s")
    before = lab.snapshot()
    expect_error(kinesis.put_record, "InvalidArgumentException", StreamName="s", Data=b"x")
    expect_error(kinesis.put_records, "InvalidArgumentException", StreamName="s",
                 Records=[{"Data": b"x", "PartitionKey": "k"}, {"Data": b"x"}])
    assert lab.snapshot() == before
    lab.stream("auto", mode="ON_DEMAND", RecordDistributionStrategy="AUTO")
    kinesis.put_record(StreamName="auto", Data=b"x")
    response = kinesis.put_records(StreamName="auto", Records=[{"Data": b"y"}] * 40)
    assert response["FailedRecordCount"] == 0
    # AUTO spreads records over the shards itself, whatever the key.
    assert len({r["ShardId"] for r in response["Records"]}) > 1
    expect_error(kinesis.put_record, "InvalidArgumentException", StreamName="auto", Data=b"x", PartitionKey="k",
                 SequenceNumberForOrdering="1")
    expect_error(kinesis.create_stream, "InvalidArgumentException", StreamName="p", ShardCount=1,
                 RecordDistributionStrategy="AUTO")


def test_put_records_entry_count_1_to_500(lab, sim, kinesis):
    lab.stream("s")
    before = lab.snapshot()
    error = expect_error(kinesis.put_records, "ValidationException", StreamName="s",
                         Records=[{"Data": b"x", "PartitionKey": "k"}] * 501)
    assert "at 'records' failed to satisfy constraint: Member must have length less than or equal to 500" in \
        error.response["Error"]["Message"]
    with pytest.raises(ParamValidationError):
        kinesis.put_records(StreamName="s", Records=[])
    assert lab.snapshot() == before
    response = kinesis.put_records(StreamName="s", Records=[{"Data": b"x", "PartitionKey": "k"}] * 500)
    assert response["FailedRecordCount"] == 0 and len(response["Records"]) == 500


def test_put_records_request_at_most_10_mib(lab, sim, kinesis):
    lab.stream("s", shards=10)
    keys = [str(i * (2**128 // 10)) for i in range(11)]

    def entries(count):
        # Each entry is exactly 1 MiB (data + 1-byte key), on its own shard where possible.
        return [{"Data": b"x" * (MiB - 1), "PartitionKey": "k", "ExplicitHashKey": keys[i % 10]}
                for i in range(count)]

    before = lab.snapshot()
    error = expect_error(kinesis.put_records, "InvalidArgumentException", StreamName="s", Records=entries(11))
    assert str(11 * MiB) in error.response["Error"]["Message"]
    assert lab.snapshot() == before
    response = kinesis.put_records(StreamName="s", Records=entries(10))
    assert response["FailedRecordCount"] == 0
    assert sorted(r["ShardId"] for r in response["Records"]) == [f"shardId-{i:012d}" for i in range(10)]


def test_put_on_missing_stream(lab, kinesis):
    expect_error(kinesis.put_records, "ResourceNotFoundException", StreamName="nope",
                 Records=[{"Data": b"x", "PartitionKey": "k"}])


# ---------------------------------------------------------------------------- write throttling

def test_1500_records_in_one_second_on_one_key(lab, sim, kinesis):
    lab.stream("s")
    second = sim.now
    result = lab.put_many("s", 1500, key="k", size=10)
    assert (result["accepted"], result["failed"]) == (1000, 500)
    first, second_call, third = result["responses"]
    assert first["FailedRecordCount"] == 0 and second_call["FailedRecordCount"] == 0
    assert third["FailedRecordCount"] == 500
    for entry in third["Records"]:
        assert entry == {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": throttle_text()}
    assert sim.now == second  # nothing moved the clock
    frame = sim.metrics("s")
    row = frame.loc[second]
    assert row["IncomingRecords"] == 1000
    assert row["IncomingBytes"] == 10_000
    assert row["WriteProvisionedThroughputExceeded"] == 500
    assert row["PutRecords.ThrottledRecords"] == 500
    assert row["PutRecords.TotalRecords"] == 1500
    assert row["PutRecords.SuccessfulRecords"] == 1000
    # Nothing else in any other second.
    assert frame["IncomingRecords"].sum() == 1000 and frame["WriteProvisionedThroughputExceeded"].sum() == 500


def test_put_records_fails_exactly_the_excess_entries_in_order(lab, sim, kinesis):
    lab.stream("s", shards=2)
    low, high = "0", str(2**128 - 1)
    lab.put_many("s", 998, explicit_hash_key=low)
    records = []
    for i in range(6):
        records.append({"Data": b"a", "PartitionKey": "k", "ExplicitHashKey": low})
        records.append({"Data": b"b", "PartitionKey": "k", "ExplicitHashKey": high})
    response = kinesis.put_records(StreamName="s", Records=records)
    assert response["FailedRecordCount"] == 4
    failed = [i for i, r in enumerate(response["Records"]) if "ErrorCode" in r]
    assert failed == [4, 6, 8, 10]  # the 3rd..6th entries for shard 0; shard 1 takes all of its own
    assert all(response["Records"][i]["ErrorMessage"] == throttle_text() for i in failed)
    assert all(response["Records"][i]["ShardId"] == "shardId-000000000001" for i in range(1, 12, 2))


def test_put_record_over_the_limit_raises_and_next_second_refills(lab, sim, kinesis):
    lab.stream("s")
    lab.put_many("s", 1000, size=10)
    error = expect_error(kinesis.put_record, "ProvisionedThroughputExceededException",
                         StreamName="s", Data=b"x", PartitionKey="k")
    assert error.response["Error"]["Message"] == throttle_text()
    assert isinstance(error, kinesis.exceptions.ProvisionedThroughputExceededException)
    sim.advance(0.999)
    expect_error(kinesis.put_record, "ProvisionedThroughputExceededException", StreamName="s", Data=b"x",
                 PartitionKey="k")
    sim.advance(0.001)  # the next whole second: a full bucket again, no more
    result = lab.put_many("s", 1001, size=10)
    assert (result["accepted"], result["failed"]) == (1000, 1)
    frame = sim.metrics("s")
    assert list(frame["IncomingRecords"].iloc[-2:]) == [1000, 1000]
    assert list(frame["WriteProvisionedThroughputExceeded"].iloc[-2:]) == [2, 1]


def test_idle_seconds_do_not_bank_extra_capacity(lab, sim, kinesis):
    lab.stream("s")
    sim.advance(60)
    result = lab.put_many("s", 1200, size=10)
    assert result["accepted"] == 1000


def test_one_mib_per_second_byte_limit(lab, sim, kinesis):
    lab.stream("s")
    # 2 KiB records: 512 fill 1 MiB exactly (well under 1,000 records).
    result = lab.put_many("s", 513, size=2048)
    assert (result["accepted"], result["failed"]) == (512, 1)
    assert sim.metrics("s").loc[sim.now, "IncomingBytes"] == MiB
    lab.to_next_second()
    # A single 1 MiB record fills the second; even a 1-byte record is then refused.
    kinesis.put_record(StreamName="s", Data=b"x" * (MiB - 1), PartitionKey="k")
    expect_error(kinesis.put_record, "ProvisionedThroughputExceededException", StreamName="s", Data=b"",
                 PartitionKey="k")


def test_write_limits_are_per_shard(lab, sim, kinesis):
    lab.stream("s", shards=3)
    results = [lab.put_many("s", 1200, explicit_hash_key=key, size=10)
               for key in ("0", str(2**127), str(2**128 - 1))]
    assert [r["accepted"] for r in results] == [1000, 1000, 1000]
    assert sim.metrics("s").loc[sim.now, "IncomingRecords"] == 3000


# ---------------------------------------------------------------------------- reads

def fill_mib_records(lab, sim, count: int, name: str = "s") -> None:
    """``count`` records of exactly 1 MiB, one per second (the write limit), then a whole second."""
    for _ in range(count):
        lab.k.put_record(StreamName=name, Data=b"x" * (MiB - 1), PartitionKey="k")
        lab.to_next_second()


def test_five_get_records_calls_per_second_per_shard(lab, sim, kinesis):
    lab.stream("s", shards=2)
    kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k", ExplicitHashKey="0")
    iterator = lab.iterator("s", SHARD0)
    other = lab.iterator("s", "shardId-000000000001")
    for _ in range(5):
        kinesis.get_records(ShardIterator=iterator, Limit=1)
    error = expect_error(kinesis.get_records, "ProvisionedThroughputExceededException", ShardIterator=iterator)
    assert error.response["Error"]["Message"] == f"Rate exceeded for Shard - {ACCOUNT}/s/{SHARD0}"
    # Another shard has its own five.
    for _ in range(5):
        kinesis.get_records(ShardIterator=other)
    sim.advance(0.999)
    expect_error(kinesis.get_records, "ProvisionedThroughputExceededException", ShardIterator=iterator)
    sim.advance(0.001)
    for _ in range(5):
        kinesis.get_records(ShardIterator=iterator)
    expect_error(kinesis.get_records, "ProvisionedThroughputExceededException", ShardIterator=iterator)
    frame = sim.metrics("s")
    assert list(frame["ReadProvisionedThroughputExceeded"].iloc[-2:]) == [2, 1]


def test_two_mib_per_second_shared_by_all_polling_readers(lab, sim, kinesis):
    lab.stream("s")
    fill_mib_records(lab, sim, 6)
    reader_a = lab.iterator("s", SHARD0)
    reader_b = lab.iterator("s", SHARD0)
    got_a = kinesis.get_records(ShardIterator=reader_a, Limit=2)
    assert len(got_a["Records"]) == 2  # 2 MiB: this second's whole budget
    expect_error(kinesis.get_records, "ProvisionedThroughputExceededException", ShardIterator=reader_b)
    lab.to_next_second()
    got_b = kinesis.get_records(ShardIterator=reader_b, Limit=1)
    assert len(got_b["Records"]) == 1
    got_a = kinesis.get_records(ShardIterator=got_a["NextShardIterator"], Limit=1)
    assert len(got_a["Records"]) == 1
    expect_error(kinesis.get_records, "ProvisionedThroughputExceededException",
                 ShardIterator=got_b["NextShardIterator"])
    # Sustained: one record of 1 MiB per call, five calls a second -> exactly 2 MiB per second.
    lab.to_next_second()
    iterator = lab.iterator("s", SHARD0)
    per_second = []
    for _ in range(3):
        delivered = 0
        for _ in range(5):
            try:
                response = kinesis.get_records(ShardIterator=iterator, Limit=1)
            except kinesis.exceptions.ProvisionedThroughputExceededException:
                continue
            delivered += sum(len(r["Data"]) + len(r["PartitionKey"]) for r in response["Records"])
            iterator = response["NextShardIterator"]
        per_second.append(delivered)
        lab.to_next_second()
    assert per_second == [2 * MiB, 2 * MiB, 2 * MiB]


def test_get_records_caps_at_10000_records(lab, sim, kinesis):
    lab.stream("s")
    for _ in range(11):
        assert lab.put_many("s", 1000, size=10)["failed"] == 0
        lab.to_next_second()
    lab.put_many("s", 1, size=10)
    iterator = lab.iterator("s", SHARD0)
    first = kinesis.get_records(ShardIterator=iterator)
    assert len(first["Records"]) == 10_000
    assert first["MillisBehindLatest"] == 1000  # the oldest unread record arrived 1 s ago
    second = kinesis.get_records(ShardIterator=first["NextShardIterator"])
    assert len(second["Records"]) == 1001
    assert second["MillisBehindLatest"] == 0
    limited = kinesis.get_records(ShardIterator=iterator, Limit=3)
    assert len(limited["Records"]) == 3
    assert [r["SequenceNumber"] for r in limited["Records"]] == [r["SequenceNumber"] for r in first["Records"][:3]]


def test_limit_above_10000_is_refused(lab, kinesis):
    lab.stream("s")
    iterator = lab.iterator("s", SHARD0)
    error = expect_error(kinesis.get_records, "ValidationException", ShardIterator=iterator, Limit=10_001)
    assert "Member must have value less than or equal to 10000" in error.response["Error"]["Message"]
    with pytest.raises(ParamValidationError):
        kinesis.get_records(ShardIterator=iterator, Limit=0)
    kinesis.get_records(ShardIterator=iterator, Limit=10_000)


def test_10_mib_read_then_exactly_5_seconds_of_throttling(lab, sim, kinesis):
    lab.stream("s")
    fill_mib_records(lab, sim, 11)
    iterator = lab.iterator("s", SHARD0)
    t0 = sim.clock.time
    response = kinesis.get_records(ShardIterator=iterator)
    assert len(response["Records"]) == 10  # 10 MiB cap: the 11th record waits
    assert sum(len(r["Data"]) + len(r["PartitionKey"]) for r in response["Records"]) == 10 * MiB
    following = response["NextShardIterator"]
    throttled_at = []
    for offset in (0, 1, 2, 3, 4, 4.999):
        sim.clock.advance_to(t0 + offset)
        with pytest.raises(kinesis.exceptions.ProvisionedThroughputExceededException):
            kinesis.get_records(ShardIterator=following)
        throttled_at.append(offset)
    assert throttled_at == [0, 1, 2, 3, 4, 4.999]
    sim.clock.advance_to(t0 + 5)
    response = kinesis.get_records(ShardIterator=following)
    assert len(response["Records"]) == 1
    frame = sim.metrics("s")
    seconds = frame.index[-6:]
    assert list(frame.loc[seconds, "ReadProvisionedThroughputExceeded"]) == [1, 1, 1, 1, 2, 0]
    assert list(frame.loc[seconds, "GetRecords.Bytes"]) == [10 * MiB, 0, 0, 0, 0, MiB]


def test_get_shard_iterator_five_per_second_per_shard(lab, sim, kinesis):
    lab.stream("s")
    for _ in range(5):
        kinesis.get_shard_iterator(StreamName="s", ShardId=SHARD0, ShardIteratorType="LATEST")
    expect_error(kinesis.get_shard_iterator, "ProvisionedThroughputExceededException", StreamName="s",
                 ShardId=SHARD0, ShardIteratorType="LATEST")
    lab.to_next_second()
    kinesis.get_shard_iterator(StreamName="s", ShardId=SHARD0, ShardIteratorType="LATEST")


# ---------------------------------------------------------------------------- iterators

def test_iterator_expires_after_300_seconds_with_the_service_message(lab, sim, kinesis):
    lab.stream("s")
    kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")
    iterator = lab.iterator("s", SHARD0)  # issued at 00:00:05
    sim.advance(300)
    response = kinesis.get_records(ShardIterator=iterator)  # exactly 300 s old: still valid
    assert len(response["Records"]) == 1
    sim.advance(1)
    error = expect_error(kinesis.get_records, "ExpiredIteratorException", ShardIterator=iterator)
    assert error.response["Error"]["Message"] == (
        "Iterator expired. The iterator was created at time Thu Jan 01 00:00:05 UTC 2026 while right now it is "
        "Thu Jan 01 00:05:06 UTC 2026 which is further in the future than the tolerated delay of 300000 "
        "milliseconds.")
    assert isinstance(error, kinesis.exceptions.ExpiredIteratorException)
    # NextShardIterator is a fresh iterator with its own 5 minutes.
    following = response["NextShardIterator"]
    sim.advance(298)
    kinesis.get_records(ShardIterator=following)


def test_garbled_iterator_is_invalid_argument(lab, kinesis):
    lab.stream("s")
    error = expect_error(kinesis.get_records, "InvalidArgumentException", ShardIterator="not-an-iterator")
    assert error.response["Error"]["Message"] == "Invalid ShardIterator."


def test_iterator_of_deleted_and_recreated_stream_is_not_honoured(lab, sim, kinesis):
    lab.stream("s")
    iterator = lab.iterator("s", SHARD0)
    kinesis.delete_stream(StreamName="s")
    sim.advance(5)
    lab.stream("s")
    expect_error(kinesis.get_records, "ResourceNotFoundException", ShardIterator=iterator)


def test_the_five_iterator_types(lab, sim, kinesis):
    lab.stream("s")
    numbers, times = [], []
    for i in range(3):
        times.append(sim.now)
        numbers.append(kinesis.put_record(StreamName="s", Data=f"r{i}".encode(), PartitionKey="k")["SequenceNumber"])
        sim.advance(2)

    def read(kind, **params):
        iterator = lab.iterator("s", SHARD0, kind, **params)
        lab.to_next_second()
        return [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]], iterator

    assert read("TRIM_HORIZON")[0] == [b"r0", b"r1", b"r2"]
    assert read("AT_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[1])[0] == [b"r1", b"r2"]
    assert read("AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[1])[0] == [b"r2"]
    assert read("AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[2])[0] == []
    assert read("AT_TIMESTAMP", Timestamp=times[1])[0] == [b"r1", b"r2"]
    assert read("AT_TIMESTAMP", Timestamp=times[1] - timedelta(milliseconds=1))[0] == [b"r1", b"r2"]
    assert read("AT_TIMESTAMP", Timestamp=times[1] + timedelta(milliseconds=1))[0] == [b"r2"]
    assert read("AT_TIMESTAMP", Timestamp=times[0] - timedelta(days=3))[0] == [b"r0", b"r1", b"r2"]
    # Epoch seconds are accepted for Timestamp, as boto3 does.
    assert read("AT_TIMESTAMP", Timestamp=times[2].timestamp())[0] == [b"r2"]
    latest, iterator = read("LATEST")
    assert latest == []
    kinesis.put_record(StreamName="s", Data=b"r3", PartitionKey="k")
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"r3"]


def test_iterator_argument_errors(lab, sim, kinesis):
    lab.stream("s", shards=2)
    other = kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k",
                               ExplicitHashKey=str(2**128 - 1))["SequenceNumber"]
    error = expect_error(kinesis.get_shard_iterator, "InvalidArgumentException", StreamName="s", ShardId=SHARD0,
                         ShardIteratorType="AT_SEQUENCE_NUMBER")
    assert error.response["Error"]["Message"] == (
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
        "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified AT_SEQUENCE_NUMBER and no "
        "StartingSequenceNumber.")
    error = expect_error(kinesis.get_shard_iterator, "InvalidArgumentException", StreamName="s", ShardId=SHARD0,
                         ShardIteratorType="LATEST", StartingSequenceNumber=other)
    assert error.response["Error"]["Message"].endswith("Request specified LATEST and also a StartingSequenceNumber.")
    error = expect_error(kinesis.get_shard_iterator, "InvalidArgumentException", StreamName="s", ShardId=SHARD0,
                         ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=other)
    assert error.response["Error"]["Message"] == (
        "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a shard "
        "with shardId-000000000000")
    error = expect_error(kinesis.get_shard_iterator, "InvalidArgumentException", StreamName="s", ShardId=SHARD0,
                         ShardIteratorType="AT_TIMESTAMP")
    assert error.response["Error"]["Message"] == (
        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
        "Current request has no timestamp parameter.")
    error = expect_error(kinesis.get_shard_iterator, "InvalidArgumentException", StreamName="s", ShardId=SHARD0,
                         ShardIteratorType="AT_TIMESTAMP", Timestamp=sim.now + timedelta(seconds=1))
    now_ms = int(sim.clock.time * 1000)
    assert error.response["Error"]["Message"] == (
        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
        f"timestampInMillis: {now_ms + 1000}, currentTimestampInMillis: {now_ms}")
    expect_error(kinesis.get_shard_iterator, "InvalidArgumentException", StreamName="s", ShardId=SHARD0,
                 ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="12345")
    error = expect_error(kinesis.get_shard_iterator, "ResourceNotFoundException", StreamName="s",
                         ShardId="shardId-000000000009", ShardIteratorType="LATEST")
    assert error.response["Error"]["Message"] == (
        f"Could not find shard shardId-000000000009 in stream s under account {ACCOUNT}.")


def test_millis_behind_latest(lab, sim, kinesis):
    lab.stream("s")
    kinesis.put_record(StreamName="s", Data=b"a", PartitionKey="k")
    sim.advance(1)
    kinesis.put_record(StreamName="s", Data=b"b", PartitionKey="k")
    sim.advance(2.5)
    iterator = lab.iterator("s", SHARD0)
    first = kinesis.get_records(ShardIterator=iterator, Limit=1)
    # One record left, 2.5 s old.
    assert first["MillisBehindLatest"] == 2500
    second = kinesis.get_records(ShardIterator=first["NextShardIterator"], Limit=1)
    assert second["MillisBehindLatest"] == 0
    empty = kinesis.get_records(ShardIterator=second["NextShardIterator"])
    assert empty["Records"] == [] and empty["MillisBehindLatest"] == 0
    assert isinstance(first["MillisBehindLatest"], int)


# ---------------------------------------------------------------------------- retention

def test_records_older_than_24_hours_disappear(lab, sim, kinesis):
    lab.stream("s")
    kinesis.put_record(StreamName="s", Data=b"old", PartitionKey="k")
    sim.advance(3600)
    kinesis.put_record(StreamName="s", Data=b"newer", PartitionKey="k")
    sim.advance(23 * 3600)  # the first record is exactly 24 h old: still there
    records, _ = lab.read_shard("s", SHARD0)
    assert [r["Data"] for r in records] == [b"old", b"newer"]
    sim.advance(0.001)
    records, _ = lab.read_shard("s", SHARD0)
    assert [r["Data"] for r in records] == [b"newer"]
    sim.advance(3600)
    records, _ = lab.read_shard("s", SHARD0)
    assert records == []


def test_an_iterator_into_trimmed_records_resumes_at_the_trim_horizon(lab, sim, kinesis):
    lab.stream("s")
    kinesis.put_record(StreamName="s", Data=b"a", PartitionKey="k")
    sim.advance(1)
    kinesis.put_record(StreamName="s", Data=b"b", PartitionKey="k")
    sim.advance(24 * 3600 - 200)
    iterator = lab.iterator("s", SHARD0)
    sim.advance(199.5)  # "a" is 24 h 0.5 s old and gone, "b" is not; the iterator is still valid
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"b"]


def test_longer_retention_keeps_records_and_decrease_drops_them_at_once(lab, sim, kinesis):
    lab.stream("s")
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=48)
    kinesis.put_record(StreamName="s", Data=b"a", PartitionKey="k")
    sim.advance(30 * 3600)
    assert [r["Data"] for r in lab.read_shard("s", SHARD0)[0]] == [b"a"]
    kinesis.decrease_stream_retention_period(StreamName="s", RetentionPeriodHours=24)
    assert lab.read_shard("s", SHARD0)[0] == []
    # Increasing again does not bring expired data back.
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=72)
    assert lab.read_shard("s", SHARD0)[0] == []


# ---------------------------------------------------------------------------- large records

def test_update_max_record_size_and_the_large_record_tank(lab, sim, kinesis):
    lab.stream("s")
    kinesis.update_max_record_size(StreamARN=lab.arn("s"), MaxRecordSizeInKiB=2048)
    summary = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "UPDATING" and summary["MaxRecordSizeInKiB"] == 1024
    # Still 1 MiB until the update lands.
    expect_error(kinesis.put_record, "InvalidArgumentException", StreamName="s", Data=b"x" * (2 * MiB - 1),
                 PartitionKey="k")
    lab.wait_active("s")
    assert kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["MaxRecordSizeInKiB"] == 2048
    # The byte tank holds one largest record and refills at 1 MiB/s (LARGE): once it has filled up,
    # a 2 MiB burst, then 1 MiB per second on average.
    expect_error(kinesis.put_record, "ProvisionedThroughputExceededException", StreamName="s",
                 Data=b"x" * (2 * MiB - 1), PartitionKey="k")
    lab.to_next_second()
    kinesis.put_record(StreamName="s", Data=b"x" * (2 * MiB - 1), PartitionKey="k")
    expect_error(kinesis.put_record, "ProvisionedThroughputExceededException", StreamName="s", Data=b"",
                 PartitionKey="k")
    lab.to_next_second()
    expect_error(kinesis.put_record, "ProvisionedThroughputExceededException", StreamName="s",
                 Data=b"x" * (2 * MiB - 1), PartitionKey="k")
    kinesis.put_record(StreamName="s", Data=b"x" * (MiB - 1), PartitionKey="k")
    lab.to_next_second()
    lab.to_next_second()
    kinesis.put_record(StreamName="s", Data=b"x" * (2 * MiB - 1), PartitionKey="k")
    with pytest.raises(ParamValidationError):
        kinesis.update_max_record_size(StreamARN=lab.arn("s"), MaxRecordSizeInKiB=1023)
    expect_error(kinesis.update_max_record_size, "ValidationException", StreamARN=lab.arn("s"),
                 MaxRecordSizeInKiB=10241)
