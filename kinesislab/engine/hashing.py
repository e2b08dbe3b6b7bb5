"""Partition keys to 128-bit hash keys, and shards' inclusive hash key ranges."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable

try:
    # CPython's own MD5 (the same function as hashlib's): for 30-byte keys it is about 3x faster
    # than hashlib.md5, which sets up an OpenSSL digest context on every call.
    from _md5 import md5 as _md5
except ImportError:  # a Python built without it (some FIPS builds)
    _md5 = hashlib.md5

#: The largest hash key: the key space is 0 .. 2**128 - 1 inclusive (facts §2).
MAX_HASH_KEY = 2**128 - 1
HASH_KEY_SPACE = 2**128
#: Bytes of a hash key written big-endian (an MD5 digest): such byte strings sort as the keys do.
HASH_KEY_BYTES = 16
_digest = type(_md5()).digest


def hash_key(partition_key: str) -> int:
    """MD5 of the key's UTF-8 bytes, read as an unsigned big-endian 128-bit integer (facts §2)."""
    return int.from_bytes(_md5(partition_key.encode("utf-8")).digest(), "big")


def joined_hash_keys(encoded_keys: Iterable[bytes]) -> bytes:
    """The hash keys of UTF-8 encoded partition keys, each as its 16-byte MD5 digest (the key
    written big-endian), joined into one byte string: key i is bytes ``16*i .. 16*i+15``. The
    loop over the keys stays in C, and the result can be read as a numpy array of halves."""
    return b"".join(map(_digest, map(_md5, encoded_keys)))


def hash_key_bytes(key: int) -> bytes:
    """A hash key (0 .. MAX_HASH_KEY) as 16 big-endian bytes, comparable with MD5 digests."""
    return key.to_bytes(HASH_KEY_BYTES, "big")


@dataclass(frozen=True, order=True)
class HashKeyRange:
    """An inclusive range of hash keys, ``starting`` .. ``ending``."""

    starting: int
    ending: int

    def __contains__(self, key: int) -> bool:
        return self.starting <= key <= self.ending

    @property
    def size(self) -> int:
        """How many hash keys the range holds."""
        return self.ending - self.starting + 1

    @property
    def share(self) -> float:
        """The fraction of the whole key space this range covers (0..1)."""
        return self.size / HASH_KEY_SPACE

    def adjacent_to(self, other: "HashKeyRange") -> bool:
        """True when the two ranges touch with no gap (MergeShards' rule, facts §4)."""
        return self.ending + 1 == other.starting or other.ending + 1 == self.starting

    def split_at(self, new_starting_hash_key: int) -> tuple["HashKeyRange", "HashKeyRange"]:
        """The two child ranges of a split: below ``new_starting_hash_key``, and from it up."""
        return (HashKeyRange(self.starting, new_starting_hash_key - 1),
                HashKeyRange(new_starting_hash_key, self.ending))

    @property
    def midpoint(self) -> int:
        """Where an even split starts its upper child."""
        return self.starting + self.size // 2

    def as_response(self) -> dict:
        """The botocore ``HashKeyRange`` shape (decimal strings)."""
        return {"StartingHashKey": str(self.starting), "EndingHashKey": str(self.ending)}


def even_split(shard_count: int) -> list[HashKeyRange]:
    """CreateStream's split of the key space into ``shard_count`` ranges, as the service does it.

    ``h = 2**128 // n``; shard *i* gets ``[h*i, h*(i+1) - 1]`` and the last ends at ``2**128 - 1``.
    For n = 3 this gives exactly the ranges real AWS returns (facts §2, CLI-EX).
    """
    if shard_count < 1:
        raise ValueError("shard_count must be at least 1")
    width = HASH_KEY_SPACE // shard_count
    ranges = [HashKeyRange(width * i, width * (i + 1) - 1) for i in range(shard_count)]
    ranges[-1] = HashKeyRange(ranges[-1].starting, MAX_HASH_KEY)
    return ranges
