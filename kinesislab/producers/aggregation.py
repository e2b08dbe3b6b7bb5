"""The KPL's aggregated record format (fact sheet §11), written by hand: no protobuf dependency.

An aggregated Kinesis record is::

    magic 0xF3 0x89 0x9A 0xC2 | protobuf AggregatedRecord | MD5 of the protobuf bytes (16 bytes)

with the proto2 messages (KPL ``aggregation-format.md``)::

    message AggregatedRecord {
      repeated string partition_key_table     = 1;
      repeated string explicit_hash_key_table = 2;
      repeated Record records                 = 3;
    }
    message Record {
      required uint64 partition_key_index     = 1;
      optional uint64 explicit_hash_key_index = 2;
      required bytes  data                    = 3;
      repeated Tag    tags                    = 4;   // never written (tags are unused)
    }
    message Tag { required string key = 1; optional string value = 2; }

Encoding follows the KPL byte for byte: each key table holds distinct keys in order of first
appearance, fields are written in field-number order (what protobuf's ``SerializeToString``
does), and an explicit hash key index is written only for user records that have one.

Decoding follows the KCL (``AggregatorUtil.deaggregate``): a blob is an aggregate only if it
starts with the magic, has more than 16 bytes after it, its MD5 trailer matches and the protobuf
parses with every required field present; anything else is a plain record, returned as is.

Sizes here are of the data blob only. The Kinesis record an aggregate travels in also carries its
partition key ``"a"``, so it counts ``len(blob) + 1`` bytes against the limits.
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Hashable, Iterable, NamedTuple, Sequence

from kinesislab.engine.hashing import MAX_HASH_KEY, hash_key

#: First four bytes of every aggregated record (KPL aggregation-format.md).
AGGREGATED_RECORD_MAGIC = b"\xf3\x89\x9a\xc2"
#: Length of the MD5 trailer.
DIGEST_SIZE_BYTES = 16
#: Magic plus trailer: what an aggregate adds around its protobuf message.
FIXED_OVERHEAD_BYTES = len(AGGREGATED_RECORD_MAGIC) + DIGEST_SIZE_BYTES
#: KPL defaults (default_config.properties): AggregationMaxSize in bytes, AggregationMaxCount.
AGGREGATION_MAX_SIZE_BYTES = 51_200
AGGREGATION_MAX_COUNT = 4_294_967_295
#: The partition key the KPL puts on every multi-record aggregate (routing is by explicit hash key).
AGGREGATE_PARTITION_KEY = "a"

# Protobuf tags: (field number << 3) | wire type; every field number here is < 16, so one byte.
_WIRE_VARINT, _WIRE_FIXED64, _WIRE_LENGTH_DELIMITED, _WIRE_START_GROUP, _WIRE_END_GROUP, _WIRE_FIXED32 = range(6)
_TAG_PARTITION_KEY_TABLE = (1 << 3) | _WIRE_LENGTH_DELIMITED          # 0x0A
_TAG_EXPLICIT_HASH_KEY_TABLE = (2 << 3) | _WIRE_LENGTH_DELIMITED      # 0x12
_TAG_RECORDS = (3 << 3) | _WIRE_LENGTH_DELIMITED                      # 0x1A
_TAG_PARTITION_KEY_INDEX = (1 << 3) | _WIRE_VARINT                    # 0x08
_TAG_EXPLICIT_HASH_KEY_INDEX = (2 << 3) | _WIRE_VARINT                # 0x10
_TAG_DATA = (3 << 3) | _WIRE_LENGTH_DELIMITED                         # 0x1A
_TAG_TAGS = (4 << 3) | _WIRE_LENGTH_DELIMITED                         # 0x22

# What the Kinesis API accepts as an ExplicitHashKey (botocore pattern 0|([1-9]\d{0,38})).
_DECIMAL_HASH_KEY = re.compile(r"0|[1-9][0-9]{0,38}")


class UserRecord(NamedTuple):
    """One record as the application put it to the KPL."""

    partition_key: str
    explicit_hash_key: str | None  # decimal string, or None to hash the partition key
    data: bytes


class PutEntry(NamedTuple):
    """One Kinesis record as the KPL sends it in PutRecords."""

    partition_key: str
    explicit_hash_key: str  # decimal; the KPL always sets one
    data: bytes
    user_record_count: int


class MalformedAggregateError(ValueError):
    """An aggregate whose MD5 and protobuf are valid but whose contents are not: a key index
    outside its table, or an explicit hash key that is not a decimal number. The KCL logs
    "Unexpected exception during deaggregation" and delivers only the user records before it."""


# --- Varints and hash keys ---------------------------------------------------------------------

def varint_size(value: int) -> int:
    """Bytes a protobuf base-128 varint of ``value`` (0 .. 2**64 - 1) takes: 7 bits a byte."""
    if value < 0:
        raise ValueError("varints here are unsigned")
    return max(1, (value.bit_length() + 6) // 7)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low_bits = value & 0x7F
        value >>= 7
        if value:
            out.append(low_bits | 0x80)
        else:
            out.append(low_bits)
            return bytes(out)


def _checked_explicit_hash_key(explicit_hash_key: str) -> int:
    if not isinstance(explicit_hash_key, str) or not _DECIMAL_HASH_KEY.fullmatch(explicit_hash_key):
        raise ValueError(f"explicit hash key must be a decimal string, got {explicit_hash_key!r}")
    value = int(explicit_hash_key)
    if value > MAX_HASH_KEY:
        raise ValueError(f"explicit hash key {explicit_hash_key} is above 2**128 - 1")
    return value


def hash_key_of(partition_key: str, explicit_hash_key: str | None = None) -> int:
    """The 128-bit hash key that routes a record: its explicit hash key if it has one, else the
    MD5 of its partition key's UTF-8 bytes read as a big-endian unsigned integer."""
    if explicit_hash_key is not None:
        return _checked_explicit_hash_key(explicit_hash_key)
    return hash_key(partition_key)


def _as_user_record(record: Sequence) -> UserRecord:
    partition_key, explicit_hash_key, data = record
    if not isinstance(partition_key, str):
        raise TypeError(f"partition key must be str, got {type(partition_key).__name__}")
    if explicit_hash_key is not None:
        _checked_explicit_hash_key(explicit_hash_key)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    return UserRecord(partition_key, explicit_hash_key, bytes(data))


# --- Building (encode and exact size) ------------------------------------------------------------

class AggregatedRecordBuilder:
    """An aggregate being filled, which knows its exact encoded size at every step.

    The size is kept by varint-length arithmetic as records are added, so an aggregator can ask
    :meth:`size_if_added` before each record instead of re-encoding the container.
    """

    def __init__(self, user_records: Iterable[Sequence] = ()):
        self._partition_key_index: dict[str, int] = {}
        self._explicit_hash_key_index: dict[str, int] = {}
        self._records: list[UserRecord] = []
        self._entries: list[tuple[int, int | None, bytes]] = []  # (pk index, ehk index, data)
        self._protobuf_size = 0
        for record in user_records:
            self.add(record)

    def __len__(self) -> int:
        return len(self._records)

    @property
    def user_records(self) -> list[UserRecord]:
        """The user records added so far, in order."""
        return list(self._records)

    @property
    def size_bytes(self) -> int:
        """Exact length of :meth:`encode` for the records so far (magic + protobuf + MD5)."""
        return FIXED_OVERHEAD_BYTES + self._protobuf_size

    def _growth(self, record: UserRecord) -> tuple[int, int, int | None]:
        """(bytes the protobuf grows by, partition key index, explicit hash key index)."""
        growth = 0
        pk_index = self._partition_key_index.get(record.partition_key)
        if pk_index is None:
            pk_index = len(self._partition_key_index)
            key_bytes = len(record.partition_key.encode("utf-8"))
            growth += 1 + varint_size(key_bytes) + key_bytes  # new table entry: tag, length, key
        ehk_index = None
        record_bytes = 1 + varint_size(pk_index)
        if record.explicit_hash_key is not None:
            ehk_index = self._explicit_hash_key_index.get(record.explicit_hash_key)
            if ehk_index is None:
                ehk_index = len(self._explicit_hash_key_index)
                key_bytes = len(record.explicit_hash_key.encode("ascii"))
                growth += 1 + varint_size(key_bytes) + key_bytes
            record_bytes += 1 + varint_size(ehk_index)
        record_bytes += 1 + varint_size(len(record.data)) + len(record.data)
        growth += 1 + varint_size(record_bytes) + record_bytes  # the Record message, length-prefixed
        return growth, pk_index, ehk_index

    def size_if_added(self, user_record: Sequence) -> int:
        """Exact encoded size (bytes) the aggregate would have with ``user_record`` added."""
        growth, _, _ = self._growth(_as_user_record(user_record))
        return self.size_bytes + growth

    def add(self, user_record: Sequence) -> None:
        """Append a ``(partition_key, explicit_hash_key | None, data)`` user record."""
        record = _as_user_record(user_record)
        growth, pk_index, ehk_index = self._growth(record)
        self._partition_key_index.setdefault(record.partition_key, pk_index)
        if record.explicit_hash_key is not None:
            self._explicit_hash_key_index.setdefault(record.explicit_hash_key, ehk_index)
        self._records.append(record)
        self._entries.append((pk_index, ehk_index, record.data))
        self._protobuf_size += growth

    def protobuf_bytes(self) -> bytes:
        """The serialized ``AggregatedRecord`` message (no magic, no MD5)."""
        out = bytearray()
        for key in self._partition_key_index:  # dicts keep insertion order = index order
            encoded = key.encode("utf-8")
            out += bytes([_TAG_PARTITION_KEY_TABLE]) + _varint(len(encoded)) + encoded
        for key in self._explicit_hash_key_index:
            encoded = key.encode("ascii")
            out += bytes([_TAG_EXPLICIT_HASH_KEY_TABLE]) + _varint(len(encoded)) + encoded
        for pk_index, ehk_index, data in self._entries:
            message = bytearray([_TAG_PARTITION_KEY_INDEX]) + _varint(pk_index)
            if ehk_index is not None:
                message += bytes([_TAG_EXPLICIT_HASH_KEY_INDEX]) + _varint(ehk_index)
            message += bytes([_TAG_DATA]) + _varint(len(data)) + data
            out += bytes([_TAG_RECORDS]) + _varint(len(message)) + message
        return bytes(out)

    def encode(self) -> bytes:
        """The aggregated record: magic, protobuf, MD5 of the protobuf."""
        if not self._records:
            # The KPL never sends an empty container, and the KCL would read the 20-byte result
            # as a plain record (it needs more than 16 bytes after the magic).
            raise ValueError("an aggregate needs at least one user record")
        message = self.protobuf_bytes()
        return AGGREGATED_RECORD_MAGIC + message + hashlib.md5(message).digest()

    def put_entry(self) -> PutEntry:
        """The Kinesis record the KPL sends for this container (see :func:`put_entry_for`)."""
        if not self._records:
            raise ValueError("an empty container is never sent")
        first = self._records[0]
        explicit_hash_key = str(hash_key_of(first.partition_key, first.explicit_hash_key))
        if len(self._records) == 1:
            return PutEntry(first.partition_key, explicit_hash_key, first.data, 1)
        return PutEntry(AGGREGATE_PARTITION_KEY, explicit_hash_key, self.encode(), len(self._records))


def encode_aggregated(user_records: Iterable[Sequence]) -> bytes:
    """Encode ``(partition_key, explicit_hash_key | None, data)`` user records as one aggregated
    record (bytes), exactly as the KPL would. At least one record."""
    return AggregatedRecordBuilder(user_records).encode()


def aggregated_size(user_records: Iterable[Sequence]) -> int:
    """Exact ``len(encode_aggregated(user_records))`` in bytes, by arithmetic (nothing is encoded)."""
    return AggregatedRecordBuilder(user_records).size_bytes


def put_entry_for(user_records: Sequence[Sequence]) -> PutEntry:
    """How the KPL sends a container of user records (``kinesis_record.cc``).

    Several records: the aggregate, with partition key ``"a"`` and ExplicitHashKey = the decimal
    hash key of the first user record, so the aggregate lands on that record's shard. One record:
    its data raw, with its own partition key; the KPL still sets ExplicitHashKey to the record's
    own hash key, which routes it exactly as the partition key would.
    """
    return AggregatedRecordBuilder(user_records).put_entry()


def aggregate(
    user_records: Iterable[Sequence],
    max_size_bytes: int = AGGREGATION_MAX_SIZE_BYTES,
    max_count: int = AGGREGATION_MAX_COUNT,
    shard_of: Callable[[int], Hashable] | None = None,
) -> list[PutEntry]:
    """Pack user records into Kinesis records the way the KPL's per-shard reducers do.

    Records go, in order, into one open container per predicted shard (``shard_of(hash key)``;
    one shared container when None). A record that would push its container past
    ``max_size_bytes`` or ``max_count`` closes it first, so every aggregate is at most
    ``max_size_bytes``; a record too big to share goes alone and is sent raw. Containers are
    returned in the order they closed, the still-open ones last (in order of their first record).
    """
    open_containers: dict[Hashable, AggregatedRecordBuilder] = {}
    closed: list[PutEntry] = []
    for raw in user_records:
        record = _as_user_record(raw)
        shard = shard_of(hash_key_of(record.partition_key, record.explicit_hash_key)) if shard_of else None
        container = open_containers.get(shard)
        if container is not None and (len(container) + 1 > max_count
                                      or container.size_if_added(record) > max_size_bytes):
            closed.append(container.put_entry())
            container = None
        if container is None:
            container = open_containers[shard] = AggregatedRecordBuilder()
        container.add(record)
    closed.extend(container.put_entry() for container in open_containers.values())
    return closed


# --- Decoding -------------------------------------------------------------------------------------

class _ParseError(Exception):
    """The protobuf does not parse (the KCL's InvalidProtocolBufferException)."""


def _read_varint(buffer: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(10):  # a uint64 varint is at most 10 bytes
        if position >= len(buffer):
            raise _ParseError("truncated varint")
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value & 0xFFFF_FFFF_FFFF_FFFF, position
    raise _ParseError("varint longer than 10 bytes")


def _fields(buffer: bytes, start: int = 0, end: int | None = None):
    """Yield (field number, wire type, value) for every field of one message. Length-delimited
    values are bytes, the others ints; groups are skipped, as unknown fields are."""
    position, end = start, len(buffer) if end is None else end
    while position < end:
        tag, position = _read_varint(buffer, position)
        field_number, wire_type = tag >> 3, tag & 7
        if field_number == 0:
            raise _ParseError("field number 0")
        if wire_type == _WIRE_VARINT:
            value, position = _read_varint(buffer, position)
        elif wire_type == _WIRE_FIXED64:
            value, position = int.from_bytes(buffer[position:position + 8], "little"), position + 8
        elif wire_type == _WIRE_FIXED32:
            value, position = int.from_bytes(buffer[position:position + 4], "little"), position + 4
        elif wire_type == _WIRE_LENGTH_DELIMITED:
            length, position = _read_varint(buffer, position)
            value, position = buffer[position:position + length], position + length
        elif wire_type == _WIRE_START_GROUP:
            position = _skip_group(buffer, position, end, field_number)
            continue
        else:  # an END_GROUP with no group open, or wire types 6 and 7
            raise _ParseError(f"unexpected wire type {wire_type}")
        if position > end:
            raise _ParseError("truncated field")
        yield field_number, wire_type, value


def _skip_group(buffer: bytes, position: int, end: int, group_field: int) -> int:
    while position < end:
        tag, after_tag = _read_varint(buffer, position)
        if tag & 7 == _WIRE_END_GROUP:
            if tag >> 3 != group_field:
                raise _ParseError("mismatched end group")
            return after_tag
        position = _skip_one_field(buffer, position, end)
    raise _ParseError("unterminated group")


def _skip_one_field(buffer: bytes, position: int, end: int) -> int:
    """The position after the field starting at ``position`` (nested groups included)."""
    tag, position = _read_varint(buffer, position)
    wire_type = tag & 7
    if wire_type == _WIRE_VARINT:
        _, position = _read_varint(buffer, position)
    elif wire_type == _WIRE_FIXED64:
        position += 8
    elif wire_type == _WIRE_FIXED32:
        position += 4
    elif wire_type == _WIRE_LENGTH_DELIMITED:
        length, position = _read_varint(buffer, position)
        position += length
    elif wire_type == _WIRE_START_GROUP:
        position = _skip_group(buffer, position, end, tag >> 3)
    else:
        raise _ParseError(f"unexpected wire type {wire_type}")
    if position > end:
        raise _ParseError("truncated field")
    return position


def _utf8(raw: bytes) -> str:
    # Java protobuf decodes proto2 strings leniently (bad bytes become U+FFFD); so does the KCL.
    return raw.decode("utf-8", errors="replace")


def _parse_aggregated_record(message: bytes) -> tuple[list[str], list[str], list[tuple[int, int | None, bytes]]]:
    """(partition key table, explicit hash key table, records as (pk index, ehk index, data)).
    A field with the wrong wire type is an unknown field, as in protobuf's generated parsers."""
    partition_keys: list[str] = []
    explicit_hash_keys: list[str] = []
    records: list[tuple[int, int | None, bytes]] = []
    for number, wire_type, value in _fields(message):
        if wire_type != _WIRE_LENGTH_DELIMITED:
            continue
        if number == 1:
            partition_keys.append(_utf8(value))
        elif number == 2:
            explicit_hash_keys.append(_utf8(value))
        elif number == 3:
            records.append(_parse_record(value))
    return partition_keys, explicit_hash_keys, records


def _parse_record(message: bytes) -> tuple[int, int | None, bytes]:
    pk_index = ehk_index = data = None
    for number, wire_type, value in _fields(message):
        if number == 1 and wire_type == _WIRE_VARINT:
            pk_index = value  # a repeated singular field: the last one wins
        elif number == 2 and wire_type == _WIRE_VARINT:
            ehk_index = value
        elif number == 3 and wire_type == _WIRE_LENGTH_DELIMITED:
            data = bytes(value)
        elif number == 4 and wire_type == _WIRE_LENGTH_DELIMITED:
            _parse_tag(value)  # tags are unused, but a Tag without its key fails the parse
    if pk_index is None or data is None:
        raise _ParseError("Record is missing a required field")
    return pk_index, ehk_index, data


def _parse_tag(message: bytes) -> None:
    if not any(number == 1 and wire_type == _WIRE_LENGTH_DELIMITED for number, wire_type, _ in _fields(message)):
        raise _ParseError("Tag is missing its required key")


def _unpack(blob: bytes):
    """The parsed tables and records if ``blob`` is an aggregate by the KCL's rules, else None."""
    blob = bytes(blob)
    if len(blob) <= FIXED_OVERHEAD_BYTES or not blob.startswith(AGGREGATED_RECORD_MAGIC):
        return None
    message, digest = blob[len(AGGREGATED_RECORD_MAGIC):-DIGEST_SIZE_BYTES], blob[-DIGEST_SIZE_BYTES:]
    if hashlib.md5(message).digest() != digest:
        return None
    try:
        return _parse_aggregated_record(message)
    except _ParseError:
        return None


def is_aggregated(blob: bytes) -> bool:
    """True if the KCL would deaggregate ``blob``: magic, more than 16 bytes after it, a matching
    MD5 trailer and a protobuf that parses."""
    return _unpack(blob) is not None


def decode_aggregated(
    blob: bytes,
    partition_key: str = "",
    explicit_hash_key: str | None = None,
    hash_key_range: tuple[int, int] | None = None,
) -> list[UserRecord]:
    """The user records in a Kinesis record's data, as the KCL delivers them.

    A plain (non-aggregated) blob comes back as one user record carrying the Kinesis record's own
    ``partition_key`` and ``explicit_hash_key``. With ``hash_key_range=(start, end)`` (a shard's
    inclusive range) an aggregate holding any user record whose hash key falls outside it is
    dropped whole, as the KCL does for records read from a parent shard after resharding; plain
    records are never filtered.

    Raises :class:`MalformedAggregateError` for a valid envelope with impossible contents.
    """
    unpacked = _unpack(blob)
    if unpacked is None:
        return [UserRecord(partition_key, explicit_hash_key, bytes(blob))]
    partition_keys, explicit_hash_keys, records = unpacked
    out: list[UserRecord] = []
    for pk_index, ehk_index, data in records:
        if pk_index >= len(partition_keys):
            raise MalformedAggregateError(
                f"partition key index {pk_index} outside a table of {len(partition_keys)}")
        if ehk_index is not None and ehk_index >= len(explicit_hash_keys):
            raise MalformedAggregateError(
                f"explicit hash key index {ehk_index} outside a table of {len(explicit_hash_keys)}")
        record = UserRecord(partition_keys[pk_index],
                            explicit_hash_keys[ehk_index] if ehk_index is not None else None, data)
        if record.explicit_hash_key is not None and not re.fullmatch(r"[+-]?[0-9]+", record.explicit_hash_key):
            raise MalformedAggregateError(f"explicit hash key {record.explicit_hash_key!r} is not a number")
        if hash_key_range is not None:
            key = (int(record.explicit_hash_key) if record.explicit_hash_key is not None
                   else hash_key(record.partition_key))
            if not hash_key_range[0] <= key <= hash_key_range[1]:
                return []
        out.append(record)
    return out
