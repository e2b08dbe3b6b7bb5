"""Partition keys to hash keys, CreateStream's even split, ExplicitHashKey, shard ids (facts §2)."""

from __future__ import annotations

import hashlib
import re

import pytest

from conftest import expect_error
from kinesislab.engine.hashing import MAX_HASH_KEY, HashKeyRange, even_split, hash_key

# Real AWS output for a 3-shard stream (facts §2, CLI-EX describe-stream.rst / list-shards.rst).
AWS_THREE_SHARDS = [
    ("0", "113427455640312821154458202477256070484"),
    ("113427455640312821154458202477256070485", "226854911280625642308916404954512140969"),
    ("226854911280625642308916404954512140970", "340282366920938463463374607431768211455"),
]


def test_hash_key_is_md5_of_utf8_read_big_endian():
    assert hash_key("a") == int("0cc175b9c0f1b6a831c399e269772661", 16)
    assert hash_key("customer-1") == int.from_bytes(hashlib.md5(b"customer-1").digest(), "big")
    # Non-ASCII keys hash their UTF-8 bytes (not UTF-16, not Latin-1).
    assert hash_key("é") == int.from_bytes(hashlib.md5("é".encode("utf-8")).digest(), "big")
    assert hash_key("é") != int.from_bytes(hashlib.md5("é".encode("latin-1")).digest(), "big")
    assert hash_key("日本") == int.from_bytes(hashlib.md5(b"\xe6\x97\xa5\xe6\x9c\xac").digest(), "big")
    # Big-endian: the first digest byte is the most significant.
    digest = hashlib.md5(b"a").digest()
    assert hash_key("a") != int.from_bytes(digest, "little")
    assert hash_key("a") >> 120 == digest[0]


def test_key_space_is_0_to_2_pow_128_minus_1():
    assert MAX_HASH_KEY == 2**128 - 1 == 340282366920938463463374607431768211455


def test_three_shard_even_split_equals_real_aws_ranges():
    assert [(str(r.starting), str(r.ending)) for r in even_split(3)] == AWS_THREE_SHARDS


def test_even_split_formula_for_other_counts():
    assert even_split(1) == [HashKeyRange(0, MAX_HASH_KEY)]
    # kinesalite's h = floor(2**128 / n): two shards meet exactly at 2**127.
    assert even_split(2) == [HashKeyRange(0, 2**127 - 1), HashKeyRange(2**127, MAX_HASH_KEY)]
    for n in (1, 2, 3, 4, 5, 7, 10, 64, 100):
        ranges = even_split(n)
        assert len(ranges) == n
        assert ranges[0].starting == 0 and ranges[-1].ending == MAX_HASH_KEY
        assert all(a.ending + 1 == b.starting for a, b in zip(ranges, ranges[1:]))
        width = 2**128 // n
        assert all(r.size == width for r in ranges[:-1])
    with pytest.raises(ValueError):
        even_split(0)


def test_create_stream_uses_the_real_three_shard_ranges(lab, kinesis):
    lab.stream("s", shards=3)
    shards = kinesis.describe_stream(StreamName="s")["StreamDescription"]["Shards"]
    assert [s["ShardId"] for s in shards] == [f"shardId-00000000000{i}" for i in range(3)]
    assert [(s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"]) for s in shards] == \
        AWS_THREE_SHARDS
    listed = kinesis.list_shards(StreamName="s")["Shards"]
    assert [(s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"]) for s in listed] == \
        AWS_THREE_SHARDS


@pytest.mark.parametrize("explicit, shard", [
    ("0", "shardId-000000000000"),
    ("113427455640312821154458202477256070484", "shardId-000000000000"),
    ("113427455640312821154458202477256070485", "shardId-000000000001"),
    ("226854911280625642308916404954512140969", "shardId-000000000001"),
    ("226854911280625642308916404954512140970", "shardId-000000000002"),
    (str(2**128 - 1), "shardId-000000000002"),
])
def test_explicit_hash_key_routes_by_inclusive_ranges(lab, kinesis, explicit, shard):
    lab.stream("s", shards=3)
    response = kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="ignored", ExplicitHashKey=explicit)
    assert response["ShardId"] == shard
    batch = kinesis.put_records(StreamName="s", Records=[
        {"Data": b"x", "PartitionKey": "ignored", "ExplicitHashKey": explicit}])
    assert batch["Records"][0]["ShardId"] == shard


def test_explicit_hash_key_2_pow_128_is_invalid_argument(lab, kinesis):
    lab.stream("s", shards=3)
    before = lab.snapshot()
    error = expect_error(kinesis.put_record, "InvalidArgumentException",
                         StreamName="s", Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**128))
    assert error.response["Error"]["Message"] == (
        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
        "Specified value was 340282366920938463463374607431768211456")
    # In PutRecords one bad entry fails the whole request: nothing is stored.
    expect_error(kinesis.put_records, "InvalidArgumentException", StreamName="s", Records=[
        {"Data": b"x", "PartitionKey": "k"},
        {"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": str(2**128)}])
    assert lab.snapshot() == before


def test_explicit_hash_key_pattern_is_checked_by_the_service(lab, kinesis):
    lab.stream("s", shards=1)
    for bad in ("-1", "01", "1e5", "0x10", "1" * 40):
        error = expect_error(kinesis.put_record, "ValidationException",
                             StreamName="s", Data=b"x", PartitionKey="k", ExplicitHashKey=bad)
        assert "at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern" \
            in error.response["Error"]["Message"]


def test_partition_key_routes_to_the_shard_holding_its_md5(lab, kinesis):
    lab.stream("s", shards=3)
    ranges = [(int(a), int(b)) for a, b in AWS_THREE_SHARDS]
    seen = set()
    for i in range(60):
        key = f"user-{i}"
        h = int(hashlib.md5(key.encode()).hexdigest(), 16)
        expected = next(index for index, (lo, hi) in enumerate(ranges) if lo <= h <= hi)
        shard = kinesis.put_record(StreamName="s", Data=b"x", PartitionKey=key)["ShardId"]
        assert shard == f"shardId-{expected:012d}"
        seen.add(shard)
    assert len(seen) == 3


def test_same_key_always_same_shard(lab, kinesis):
    lab.stream("s", shards=5)
    for key in ("a", "order-17", "é", "x" * 256):
        shards = {kinesis.put_record(StreamName="s", Data=b"d", PartitionKey=key)["ShardId"] for _ in range(5)}
        batch = kinesis.put_records(StreamName="s", Records=[{"Data": b"d", "PartitionKey": key}] * 5)
        shards |= {r["ShardId"] for r in batch["Records"]}
        assert len(shards) == 1


def test_shard_ids_are_zero_padded_and_children_take_the_next_indices(lab, kinesis):
    lab.stream("s", shards=3)
    assert lab.shard_ids("s") == ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]
    assert all(re.fullmatch(r"shardId-\d{12}", s) for s in lab.shard_ids("s"))
    lo, hi = (int(x) for x in AWS_THREE_SHARDS[0])
    middle = (lo + hi + 1) // 2
    kinesis.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(middle))
    lab.reshard_done("s")
    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName="s")["Shards"]}
    assert sorted(shards) == [f"shardId-00000000000{i}" for i in range(5)]
    assert shards["shardId-000000000003"]["ParentShardId"] == "shardId-000000000000"
    assert shards["shardId-000000000004"]["ParentShardId"] == "shardId-000000000000"
    assert shards["shardId-000000000003"]["HashKeyRange"] == {"StartingHashKey": "0",
                                                              "EndingHashKey": str(middle - 1)}
    assert shards["shardId-000000000004"]["HashKeyRange"] == {"StartingHashKey": str(middle),
                                                              "EndingHashKey": AWS_THREE_SHARDS[0][1]}
    kinesis.merge_shards(StreamName="s", ShardToMerge="shardId-000000000003",
                         AdjacentShardToMerge="shardId-000000000004")
    lab.reshard_done("s")
    merged = kinesis.list_shards(StreamName="s")["Shards"][-1]
    assert merged["ShardId"] == "shardId-000000000005"
    assert merged["ParentShardId"] == "shardId-000000000003"
    assert merged["AdjacentParentShardId"] == "shardId-000000000004"
    assert merged["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": AWS_THREE_SHARDS[0][1]}


def test_open_shards_always_cover_the_key_space_after_resharding(lab, kinesis):
    lab.stream("s", shards=2)
    kinesis.split_shard(StreamName="s", ShardToSplit="shardId-000000000001", NewStartingHashKey=str(3 * 2**126))
    lab.reshard_done("s")
    kinesis.merge_shards(StreamName="s", ShardToMerge="shardId-000000000000", AdjacentShardToMerge="shardId-000000000002")
    lab.reshard_done("s")
    ranges = lab.open_ranges("s")
    assert ranges[0][0] == 0 and ranges[-1][1] == MAX_HASH_KEY
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))
    assert lab.shard_ids("s", open_only=True) == ["shardId-000000000003", "shardId-000000000004"]
    # Keys now go to the open shard holding their hash.
    assert kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k", ExplicitHashKey="0")["ShardId"] == \
        "shardId-000000000004"
    assert kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k",
                              ExplicitHashKey=str(MAX_HASH_KEY))["ShardId"] == "shardId-000000000003"


def test_split_rejects_hash_keys_outside_the_shard(lab, kinesis):
    lab.stream("s", shards=3)
    lo, hi = AWS_THREE_SHARDS[1]
    for bad in (lo, str(int(lo) - 1), str(int(hi) + 1), "0"):
        error = expect_error(kinesis.split_shard, "InvalidArgumentException", StreamName="s",
                             ShardToSplit="shardId-000000000001", NewStartingHashKey=bad)
        assert "is not both greater than one plus the shard's StartingHashKey" in error.response["Error"]["Message"]
    kinesis.split_shard(StreamName="s", ShardToSplit="shardId-000000000001", NewStartingHashKey=hi)
    lab.reshard_done("s")
    ranges = lab.open_ranges("s")
    assert (int(hi), int(hi)) in ranges


def test_message_names_account(lab, kinesis):
    lab.stream("s", shards=1)
    error = expect_error(kinesis.put_record, "ResourceNotFoundException", StreamName="nope", Data=b"x",
                         PartitionKey="k")
    assert error.response["Error"]["Message"] == "Stream nope under account 123456789012 not found."
