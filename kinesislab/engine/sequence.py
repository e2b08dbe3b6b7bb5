"""Sequence numbers that look and order like the service's.

The layout follows kinesalite's reading of real ones (facts §2): a 47-hex-digit number,
``2 | shard-creation seconds (9) | shard index low nibble (1) | counter (16) | 00 |
record seconds (9) | shard index (8) | 2``, printed in decimal (about 56 digits). The counter
is stream-wide and only grows, so numbers rise within a shard; they are not comparable across
shards, exactly as the service warns.
"""

from __future__ import annotations


def make_sequence_number(shard_created_seconds: int, shard_index: int, counter: int, record_seconds: int) -> int:
    """The integer value of a sequence number (print it with ``str``): the hex layout above,
    assembled with shifts (bit offsets are 4 x the hex positions counted from the right)."""
    return ((2 << 184) | ((shard_created_seconds & 0xFFFFFFFFF) << 148) | ((shard_index & 0xF) << 144)
            | ((counter & 0xFFFFFFFFFFFFFFFF) << 80) | ((record_seconds & 0xFFFFFFFFF) << 36)
            | ((shard_index & 0xFFFFFFFF) << 4) | 2)


def shard_index_of(sequence_number: int) -> int | None:
    """The shard index a sequence number encodes, or None if it is not one of ours."""
    text = format(sequence_number, "x")
    if len(text) != 47 or not text.startswith("2") or not text.endswith("2"):
        return None
    return int(text[-9:-1], 16)
