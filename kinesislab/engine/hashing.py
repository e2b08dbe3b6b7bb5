"""Partition keys to 128-bit hash keys, and shards' inclusive hash key ranges."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

#: The largest hash key: the key space is 0 .. 2**128 - 1 inclusive (facts §2).
MAX_HASH_KEY = 2**128 - 1
HASH_KEY_SPACE = 2**128


def hash_key(partition_key: str) -> int:
    """MD5 of the key's UTF-8 bytes, read as an unsigned big-endian 128-bit integer (facts §2)."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


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
