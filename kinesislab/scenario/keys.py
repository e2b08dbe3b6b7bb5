"""Partition-key distributions turned into per-shard shares of traffic.

The count-level runner never handles single keys: a key's records all land on one shard, and a
shard's write limit is shared by whatever keys it holds, so the share of traffic per open shard
is all the write path needs. Keys are hashed once (MD5, like the service) and cached.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kinesislab.engine.hashing import hash_key
from kinesislab.scenario.model import (ExplicitHashKeys, HotKey, KeyDistribution, RandomKeys, SaltedKeys, UniformKeys,
                                       ZipfKeys)


@dataclass(frozen=True)
class KeyTable:
    """Concrete keys with their traffic weights (summing to 1) and 128-bit hash keys.

    ``keys[i]`` is None for explicit hash keys (the record carries ``hash_keys[i]`` itself).
    """

    keys: tuple[str | None, ...]
    hash_keys: tuple[int, ...]
    weights: np.ndarray


@lru_cache(maxsize=64)
def _hashes(names: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(hash_key(name) for name in names)


def _names(count: int, prefix: str = "key-") -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(count))


def _base_weights(keys: KeyDistribution) -> tuple[tuple[str, ...], np.ndarray]:
    if isinstance(keys, UniformKeys):
        count = max(1, int(keys.count))
        return _names(count), np.full(count, 1.0 / count)
    if isinstance(keys, ZipfKeys):
        count = max(1, int(keys.count))
        raw = 1.0 / np.arange(1, count + 1, dtype=float) ** max(0.0, float(keys.skew))
        return _names(count), raw / raw.sum()
    if isinstance(keys, HotKey):
        count = max(1, int(keys.count))
        share = float(np.clip(keys.share, 0.0, 1.0))
        if count == 1:
            return _names(1), np.array([1.0])
        weights = np.full(count, (1.0 - share) / (count - 1))
        weights[0] = share
        return _names(count), weights
    raise TypeError(f"not a base key distribution: {keys!r}")


@lru_cache(maxsize=64)
def key_table(keys: KeyDistribution) -> KeyTable | None:
    """The keys of a distribution, or None for :class:`RandomKeys` (spread by hash-range share)."""
    if isinstance(keys, RandomKeys):
        return None
    if isinstance(keys, ExplicitHashKeys):
        weights = np.asarray(keys.weights if keys.weights is not None else [1.0] * len(keys.hash_keys), float)
        return KeyTable(tuple([None] * len(keys.hash_keys)), tuple(int(h) for h in keys.hash_keys), weights / weights.sum())
    if isinstance(keys, SaltedKeys):
        names, weights = _base_weights(keys.base)
        salt = max(1, int(keys.salt))
        salted = tuple(f"{name}#{i}" for name in names for i in range(salt))
        return KeyTable(salted, _hashes(salted), np.repeat(weights / salt, salt))
    names, weights = _base_weights(keys)
    return KeyTable(names, _hashes(names), weights)


def shard_shares(keys: KeyDistribution, starting_hash_keys: list[int], ending_hash_keys: list[int]) -> np.ndarray:
    """Share of records (summing to 1) each open shard receives; shards given by their sorted ranges."""
    return _shard_shares(keys, tuple(starting_hash_keys), tuple(ending_hash_keys)).copy()


@lru_cache(maxsize=256)
def _shard_shares(keys: KeyDistribution, starting_hash_keys: tuple[int, ...], ending_hash_keys: tuple[int, ...]) -> np.ndarray:
    table = key_table(keys)
    if table is None:
        sizes = np.array([float(end - start + 1) for start, end in zip(starting_hash_keys, ending_hash_keys)])
        return sizes / sizes.sum()
    index = np.fromiter((bisect.bisect_right(starting_hash_keys, h) - 1 for h in table.hash_keys),
                        dtype=np.int64, count=len(table.hash_keys))
    shares = np.bincount(index, weights=table.weights, minlength=len(starting_hash_keys))
    # Renormalise: float sums of many weights can exceed 1 by an ulp, which multinomial rejects.
    return np.minimum(shares / shares.sum(), 1.0)

