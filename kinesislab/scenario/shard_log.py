"""What each shard holds, at count granularity: cumulative records and bytes after every tick.

Consumers keep only a position per shard (how many records they have read); the log answers
"when did record number *n* of this shard arrive?" with a binary search down the tick axis,
vectorised across shards.
"""

from __future__ import annotations

import numpy as np


class ShardLog:
    """Cumulative accepted records and bytes, ``[tick row, shard slot]``; row 0 is the start."""

    def __init__(self, ticks: int, resolution: float, slots: int):
        self.resolution = resolution
        self.cum_records = np.zeros((ticks + 1, max(slots, 1)))
        self.cum_bytes = np.zeros((ticks + 1, max(slots, 1)))
        self.rows = 1  # rows filled so far

    def ensure_slots(self, slots: int) -> None:
        have = self.cum_records.shape[1]
        if slots > have:
            grow = max(slots - have, have)
            self.cum_records = np.pad(self.cum_records, ((0, 0), (0, grow)))
            self.cum_bytes = np.pad(self.cum_bytes, ((0, 0), (0, grow)))

    def append(self, records: np.ndarray, size_bytes: np.ndarray) -> None:
        """Add one tick's accepted records and bytes per slot (arrays as long as the slot count)."""
        row = self.rows
        n = len(records)
        self.cum_records[row] = self.cum_records[row - 1]
        self.cum_bytes[row] = self.cum_bytes[row - 1]
        self.cum_records[row, :n] += records
        self.cum_bytes[row, :n] += size_bytes
        self.rows += 1

    def totals(self, slots: np.ndarray) -> np.ndarray:
        """Records written so far to each of ``slots``."""
        return self.cum_records[self.rows - 1, slots]

    def mean_record_bytes(self, slots: np.ndarray) -> np.ndarray:
        """Average accepted record size per slot so far (1 where nothing was written)."""
        records = self.cum_records[self.rows - 1, slots]
        return np.where(records > 0, self.cum_bytes[self.rows - 1, slots] / np.maximum(records, 1), 1.0)

    def arrival_tick(self, slots: np.ndarray, positions: np.ndarray, lower: np.ndarray | None = None) -> np.ndarray:
        """Tick in which record number ``positions[i]`` (0-based) of ``slots[i]`` arrived.

        ``lower`` is a known lower bound (a reader's previous answer: positions only grow). The
        common cases -- the answer is the bound or the tick after it -- cost two comparisons;
        the rest fall back to a binary search down the tick axis.
        """
        last = self.rows - 2
        lo = np.zeros(len(slots), dtype=np.int64) if lower is None else np.minimum(lower, last)
        lo = np.maximum(lo, 0)
        # Largest row k with cum[k] <= position; records of tick k span [cum[k], cum[k+1]).
        for _ in range(2):
            step = (lo < last) & (self.cum_records[np.minimum(lo + 1, last), slots] <= positions)
            if not step.any():
                return lo
            lo = lo + step
        hi = np.full(len(slots), last, dtype=np.int64)
        while True:
            active = lo < hi
            if not active.any():
                return lo
            mid = (lo + hi + 1) // 2
            ok = self.cum_records[mid, slots] <= positions
            lo = np.where(active & ok, mid, lo)
            hi = np.where(active & ~ok, mid - 1, hi)

    def row_of_time(self, tick: int) -> np.ndarray:
        """Cumulative records per slot at the start of ``tick``."""
        return self.cum_records[max(0, min(tick, self.rows - 1))]
