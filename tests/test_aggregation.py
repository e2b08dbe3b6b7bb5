"""The KPL aggregated record format: exact bytes, sizes, round trips and the KCL's fallbacks."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings, strategies as st

from kinesislab.producers.aggregation import (
    AGGREGATE_PARTITION_KEY, AGGREGATED_RECORD_MAGIC, AGGREGATION_MAX_SIZE_BYTES, AggregatedRecordBuilder,
    MalformedAggregateError, PutEntry, UserRecord, aggregate, aggregated_size, decode_aggregated,
    encode_aggregated, hash_key_of, is_aggregated, put_entry_for, varint_size,
)

MAGIC = bytes([0xF3, 0x89, 0x9A, 0xC2])


def md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def md5_hash_key(partition_key: str) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


# --- A tiny example worked out by hand -----------------------------------------------------------

# Two user records sharing partition key "k"; the second also has explicit hash key "1":
#     ("k", None, b"A"), ("k", "1", b"BC")
# Protobuf tag byte = field number << 3 | wire type (0 varint, 2 length-delimited).
#   partition_key_table (field 1, wire 2) "k":      0A 01 6B
#   explicit_hash_key_table (field 2, wire 2) "1":  12 01 31
#   records (field 3, wire 2), first Record:
#       partition_key_index (1, varint) = 0  -> 08 00
#       data (3, wire 2) = "A"               -> 1A 01 41
#     5 bytes, so:                              1A 05 08 00 1A 01 41
#   second Record:
#       partition_key_index = 0              -> 08 00
#       explicit_hash_key_index (2, varint)=0-> 10 00
#       data = "BC"                          -> 1A 02 42 43
#     8 bytes, so:                              1A 08 08 00 10 00 1A 02 42 43
# The protobuf is those 3 + 3 + 7 + 10 = 23 bytes; the blob is magic (4) + 23 + MD5 (16) = 43.
TINY_RECORDS = [("k", None, b"A"), ("k", "1", b"BC")]
TINY_PROTOBUF = bytes.fromhex("0A016B" "120131" "1A05" "0800" "1A0141" "1A08" "0800" "1000" "1A024243")


def test_tiny_example_exact_bytes():
    assert len(TINY_PROTOBUF) == 23
    blob = encode_aggregated(TINY_RECORDS)
    assert blob == MAGIC + TINY_PROTOBUF + md5(TINY_PROTOBUF)
    assert len(blob) == 43 == aggregated_size(TINY_RECORDS)
    assert AggregatedRecordBuilder(TINY_RECORDS).protobuf_bytes() == TINY_PROTOBUF


def test_tiny_example_decodes_and_maps_to_the_first_records_shard():
    blob = encode_aggregated(TINY_RECORDS)
    assert is_aggregated(blob)
    assert decode_aggregated(blob) == TINY_RECORDS
    entry = put_entry_for(TINY_RECORDS)
    assert entry == PutEntry("a", str(md5_hash_key("k")), blob, 2)
    assert AGGREGATE_PARTITION_KEY == "a"
    # The first user record's explicit hash key wins over its partition key.
    assert put_entry_for(list(reversed(TINY_RECORDS))).explicit_hash_key == "1"


def test_single_record_container_is_sent_raw_with_its_own_key():
    entry = put_entry_for([("user-17", None, b"payload")])
    assert entry.partition_key == "user-17"
    assert entry.data == b"payload"
    assert entry.user_record_count == 1
    # The KPL still sets ExplicitHashKey: the record's own hash key, so routing is unchanged.
    assert entry.explicit_hash_key == str(md5_hash_key("user-17"))
    assert put_entry_for([("x", "42", b"")]).explicit_hash_key == "42"


def test_hash_key_is_big_endian_md5_of_utf8():
    # MD5("") = d41d8cd98f00b204e9800998ecf8427e
    assert hash_key_of("") == 0xD41D8CD98F00B204E9800998ECF8427E
    assert hash_key_of("ü") == int.from_bytes(hashlib.md5("ü".encode("utf-8")).digest(), "big")
    assert hash_key_of("anything", "0") == 0
    assert hash_key_of("anything", str(2**128 - 1)) == 2**128 - 1
    for bad in ("-1", "01", "1.5", str(2**128), " 1"):
        with pytest.raises(ValueError):
            hash_key_of("k", bad)


def test_varint_sizes():
    assert [varint_size(v) for v in (0, 1, 127, 128, 16_383, 16_384, 2**64 - 1)] == [1, 1, 1, 2, 2, 3, 10]


def test_keys_are_deduplicated_in_order_of_first_appearance():
    records = [("b", None, b"1"), ("a", None, b"2"), ("b", None, b"3")]
    protobuf = AggregatedRecordBuilder(records).protobuf_bytes()
    assert protobuf.startswith(bytes.fromhex("0A0162" "0A0161"))  # "b" then "a", each once
    assert decode_aggregated(encode_aggregated(records)) == records


# --- What the KCL treats as a plain record ----------------------------------------------------

def test_blob_without_magic_is_plain():
    assert not is_aggregated(b"hello world, not an aggregate")
    assert decode_aggregated(b"plain", partition_key="pk", explicit_hash_key="7") == [UserRecord("pk", "7", b"plain")]
    assert decode_aggregated(b"") == [UserRecord("", None, b"")]


def test_bad_md5_is_plain():
    blob = bytearray(encode_aggregated(TINY_RECORDS))
    blob[-1] ^= 0x01
    assert not is_aggregated(bytes(blob))
    assert decode_aggregated(bytes(blob), "outer") == [UserRecord("outer", None, bytes(blob))]
    # A flipped bit in the protobuf also breaks the MD5 check.
    blob = bytearray(encode_aggregated(TINY_RECORDS))
    blob[6] ^= 0x20
    assert not is_aggregated(bytes(blob))


def test_magic_and_digest_with_nothing_between_is_plain():
    # The KCL needs more than 16 bytes after the magic; the empty message gives exactly 16.
    assert not is_aggregated(MAGIC + md5(b""))
    with pytest.raises(ValueError):
        encode_aggregated([])


def wrap(protobuf: bytes) -> bytes:
    return AGGREGATED_RECORD_MAGIC + protobuf + md5(protobuf)


def test_unparseable_or_incomplete_protobuf_is_plain():
    assert not is_aggregated(wrap(bytes.fromhex("0A05616263")))      # string says 5 bytes, 3 follow
    assert not is_aggregated(wrap(bytes.fromhex("0A01611A03" "1A0141")))  # Record without key index
    assert not is_aggregated(wrap(bytes.fromhex("0A01611A02" "0800")))    # Record without data
    assert not is_aggregated(wrap(bytes.fromhex("0F00")))            # wire type 7 does not exist
    assert not is_aggregated(wrap(bytes.fromhex("FFFFFFFFFFFFFFFFFFFF01")))  # 11-byte varint


def test_unknown_fields_and_tags_are_skipped():
    # Record with a Tag {key "t"} (field 4) and an unknown varint field 9 = 5 in the outer message.
    record = bytes.fromhex("0800" "1A0141" "2203" "0A0174")
    protobuf = bytes.fromhex("0A016B") + bytes([0x1A, len(record)]) + record + bytes.fromhex("4805")
    assert decode_aggregated(wrap(protobuf)) == [UserRecord("k", None, b"A")]
    # A Tag holding only a value (field 2, "") lacks its required key: the parse fails, so plain.
    record = bytes.fromhex("0800" "1A0141" "2202" "1200")
    protobuf = bytes.fromhex("0A016B") + bytes([0x1A, len(record)]) + record
    assert not is_aggregated(wrap(protobuf))


def test_index_outside_the_table_is_malformed():
    record = bytes.fromhex("0801" "1A0141")  # partition key index 1, table of 1
    with pytest.raises(MalformedAggregateError):
        decode_aggregated(wrap(bytes.fromhex("0A016B") + bytes([0x1A, len(record)]) + record))


def test_hash_key_range_drops_the_whole_aggregate_like_the_kcl():
    records = [("k", "10", b"x"), ("k", "20", b"y")]
    blob = encode_aggregated(records)
    assert decode_aggregated(blob, hash_key_range=(0, 100)) == records
    assert decode_aggregated(blob, hash_key_range=(0, 15)) == []
    assert decode_aggregated(b"plain", "k", hash_key_range=(0, 0)) == [UserRecord("k", None, b"plain")]


# --- Aggregating under the 51,200-byte limit ---------------------------------------------------

def test_size_if_added_is_exact_and_does_not_change_the_builder():
    builder = AggregatedRecordBuilder()
    for index in range(300):  # past 128 table entries, where key indexes need two varint bytes
        record = (f"key-{index % 150}", str(index) if index % 3 == 0 else None, bytes(index % 7))
        before = builder.size_bytes
        predicted = builder.size_if_added(record)
        assert builder.size_bytes == before
        builder.add(record)
        assert predicted == builder.size_bytes == len(builder.encode()) == aggregated_size(builder.user_records)


def test_aggregate_respects_the_size_limit():
    # 500 records of 1,000 bytes, each with its own 4-byte key. One record adds:
    #   Record message: key index 08 xx (2) + data 1A E8 07 + 1,000 bytes (1,003) = 1,005,
    #   framed as a records entry: tag 1A + 2-byte length ED 07 + 1,005 = 1,008;
    #   its key table entry: 0A 04 "p000" = 6.
    # 1,014 bytes each: 20 + 50 x 1,014 = 50,720 <= 51,200 < 20 + 51 x 1,014 = 51,734.
    records = [(f"p{index:03d}", None, bytes(1000)) for index in range(500)]
    entries = aggregate(records)
    assert [entry.user_record_count for entry in entries] == [50] * 10
    assert all(len(entry.data) <= AGGREGATION_MAX_SIZE_BYTES for entry in entries)
    assert len(entries[0].data) == 20 + 50 * 1014
    assert [r for entry in entries for r in decode_aggregated(entry.data)] == records


def test_oversized_record_goes_alone_and_raw():
    big = ("big", None, bytes(AGGREGATION_MAX_SIZE_BYTES))
    entries = aggregate([("a1", None, b"x"), big, ("a2", None, b"y")])
    assert [entry.user_record_count for entry in entries] == [1, 1, 1]
    assert entries[1] == PutEntry("big", str(md5_hash_key("big")), big[2], 1)


def test_aggregate_groups_by_predicted_shard_and_counts():
    records = [(f"k{index}", None, b"d") for index in range(10)]
    even_odd = aggregate(records, shard_of=lambda key: key % 2)
    assert sum(entry.user_record_count for entry in even_odd) == 10
    for entry in even_odd:
        keys = [hash_key_of(pk, ehk) % 2 for pk, ehk, _ in decode_aggregated(entry.data, entry.partition_key)]
        assert len(set(keys)) == 1
        assert int(entry.explicit_hash_key) % 2 == keys[0]
    assert [entry.user_record_count for entry in aggregate(records, max_count=4)] == [4, 4, 2]


# --- Properties -----------------------------------------------------------------------------------

keys = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
hash_keys = st.none() | st.integers(min_value=0, max_value=2**128 - 1).map(str)
user_records = st.tuples(keys, hash_keys, st.binary(max_size=300))
# Few distinct keys, so tables are shared; many records, so indexes pass one varint byte.
shared_keys = st.sampled_from(["a", "b", "ü", "key-with-a-longer-name"])
shared_records = st.tuples(shared_keys, st.none() | st.sampled_from(["0", "1", str(2**127)]), st.binary(max_size=20))


@settings(max_examples=150, deadline=None)
@given(st.lists(user_records, min_size=1, max_size=30) | st.lists(shared_records, min_size=1, max_size=200))
def test_round_trip(records):
    blob = encode_aggregated(records)
    assert blob.startswith(MAGIC)
    assert blob[-16:] == md5(blob[4:-16])
    assert is_aggregated(blob)
    assert decode_aggregated(blob) == records


@settings(max_examples=150, deadline=None)
@given(st.lists(user_records, min_size=1, max_size=30) | st.lists(shared_records, min_size=1, max_size=200))
def test_size_function_equals_encoded_length(records):
    assert aggregated_size(records) == len(encode_aggregated(records))


@settings(max_examples=100, deadline=None)
@given(st.lists(user_records, max_size=60), st.integers(min_value=40, max_value=2000),
       st.integers(min_value=1, max_value=10))
def test_aggregate_keeps_every_record_in_order_within_limits(records, max_size, max_count):
    entries = aggregate(records, max_size_bytes=max_size, max_count=max_count)
    recovered = []
    for entry in entries:
        assert 1 <= entry.user_record_count <= max_count
        if entry.user_record_count == 1:  # sent raw: the next user record, with its own key
            partition_key, explicit_hash_key, data = records[len(recovered)]
            assert (entry.partition_key, entry.data) == (partition_key, data)
            assert entry.explicit_hash_key == str(hash_key_of(partition_key, explicit_hash_key))
            recovered.append(records[len(recovered)])
        else:
            assert entry.partition_key == "a" and len(entry.data) <= max_size
            decoded = decode_aggregated(entry.data)
            assert len(decoded) == entry.user_record_count
            assert entry.explicit_hash_key == str(hash_key_of(decoded[0].partition_key, decoded[0].explicit_hash_key))
            recovered.extend(decoded)
    assert recovered == records


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_decoder(blob):
    records = decode_aggregated(blob, "outer")
    if not is_aggregated(blob):
        assert records == [UserRecord("outer", None, blob)]


@settings(max_examples=100, deadline=None)
@given(st.lists(user_records, min_size=1, max_size=10), st.data())
def test_any_corruption_is_caught_by_the_md5(records, data):
    blob = bytearray(encode_aggregated(records))
    position = data.draw(st.integers(min_value=4, max_value=len(blob) - 1))
    blob[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    assert not is_aggregated(bytes(blob))
