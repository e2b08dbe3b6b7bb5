"""Helpers for working on a batch of records as columns (one list per field), with the
per-record loops in C."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def take(table: Sequence, positions: np.ndarray) -> list:
    """``[table[p] for p in positions]`` for a short ``table`` of strings (say one per shard) and
    an integer array of positions: numpy gathers the references in C."""
    return np.array(table, dtype=object)[positions].tolist()
