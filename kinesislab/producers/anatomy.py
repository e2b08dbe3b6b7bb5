"""Take a KPL aggregated record apart byte by byte, for people: what each stretch of bytes means.

:func:`aggregate_anatomy` walks the blob's envelope (magic, protobuf, MD5 trailer) and the
protobuf's top-level fields, and names every part: the magic, each partition key (and explicit
hash key) table entry, each user record with its key index and data, the MD5. The parts cover
the blob exactly, in order, so their sizes add up to ``len(blob)``.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import pandas as pd

from kinesislab.producers.aggregation import (
    AGGREGATED_RECORD_MAGIC, DIGEST_SIZE_BYTES, decode_aggregated, is_aggregated,
)

#: The kinds of part, in the order a blob holds them.
PART_KINDS = ("magic", "partition key table", "explicit hash key table", "user record", "MD5")


class Part(NamedTuple):
    """One stretch of an aggregated record: bytes ``start`` to ``end`` (exclusive)."""

    start: int
    end: int
    kind: str
    meaning: str

    @property
    def size(self) -> int:
        return self.end - self.start


def _varint(buffer: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def _short(data: bytes, limit: int = 24) -> str:
    text = repr(data)
    return text if len(data) <= limit else repr(data[:limit])[:-1] + "...'"


def aggregate_parts(blob: bytes) -> list[Part]:
    """The named parts of an aggregated record (raises ValueError for a plain record)."""
    blob = bytes(blob)
    if not is_aggregated(blob):
        raise ValueError("not a KPL aggregated record: no magic, a bad MD5 or an unreadable protobuf")
    records = decode_aggregated(blob)
    parts = [Part(0, len(AGGREGATED_RECORD_MAGIC), "magic", "magic number F3 89 9A C2: \"this is a KPL aggregate\"")]
    body_end = len(blob) - DIGEST_SIZE_BYTES
    position = len(AGGREGATED_RECORD_MAGIC)
    counters = {1: 0, 2: 0, 3: 0}
    while position < body_end:
        start = position
        tag, position = _varint(blob, position)
        length, position = _varint(blob, position)
        value = blob[position:position + length]
        position += length
        field = tag >> 3
        index = counters.get(field, 0)
        counters[field] = index + 1
        if field == 1:
            parts.append(Part(start, position, "partition key table",
                              f"partition key #{index} = {value.decode('utf-8', 'replace')!r}"))
        elif field == 2:
            parts.append(Part(start, position, "explicit hash key table",
                              f"explicit hash key #{index} = {value.decode('ascii', 'replace')}"))
        elif field == 3:
            key_index = _record_key_index(value)
            data = records[index].data
            parts.append(Part(start, position, "user record",
                              f"user record {index}: key #{key_index}, data {_short(data)}"))
        else:
            parts.append(Part(start, position, "other", f"field {field} ({length} bytes)"))
    parts.append(Part(body_end, len(blob), "MD5", "MD5 of the protobuf bytes: the reader checks it"))
    return parts


def _record_key_index(message: bytes) -> int:
    position = 0
    while position < len(message):
        tag, position = _varint(message, position)
        if tag == 0x08:  # partition_key_index, varint
            value, position = _varint(message, position)
            return value
        if tag & 7 == 0:
            _, position = _varint(message, position)
        else:
            length, position = _varint(message, position)
            position += length
    return -1


def aggregate_anatomy(blob: bytes, hex_bytes: int = 12) -> pd.DataFrame:
    """One row per part: ``bytes`` (start-end), ``size``, ``hex`` (the first ``hex_bytes``),
    ``part`` and ``meaning``. The sizes add up to ``len(blob)``."""
    blob = bytes(blob)
    rows = []
    for part in aggregate_parts(blob):
        chunk = blob[part.start:part.end]
        shown = chunk[:hex_bytes].hex(" ").upper() + (" ..." if len(chunk) > hex_bytes else "")
        rows.append({"bytes": f"{part.start}-{part.end - 1}", "size": part.size, "hex": shown,
                     "part": part.kind, "meaning": part.meaning})
    return pd.DataFrame(rows, columns=["bytes", "size", "hex", "part", "meaning"])


def md5_matches(blob: bytes) -> bool:
    """Whether the last 16 bytes are the MD5 of the protobuf between magic and trailer."""
    blob = bytes(blob)
    body = blob[len(AGGREGATED_RECORD_MAGIC):-DIGEST_SIZE_BYTES]
    return hashlib.md5(body).digest() == blob[-DIGEST_SIZE_BYTES:]
