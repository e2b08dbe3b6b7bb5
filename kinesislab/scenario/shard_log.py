"""What each shard holds, at count granularity: cumulative records and bytes after every tick.

Consumers keep only a position per shard (how many records they have read); the log answers
"when did record number *n* of this shard arrive?" with a binary search along that shard's row.
Arrays are laid out ``[shard slot, tick row]`` so that each shard's history is contiguous.

Reads are computed after the writes of a whole segment of ticks, so "now" for a reader is not the
last row written but :attr:`ShardLog.now_row`, which the runner sets to the tick being read.
"""

from __future__ import annotations

import numpy as np


class ShardLog:
    """Cumulative accepted records and bytes, ``[shard slot, tick row]``; row 0 is the start."""

    def __init__(self, ticks: int, resolution: float, slots: int):
        self.resolution = resolution
        self.cum_records = np.zeros((max(slots, 1), ticks + 1))
        self.cum_bytes = np.zeros((max(slots, 1), ticks + 1))
        self.rows = 1  # rows filled so far
        self._flat: tuple[int, float, np.ndarray] | None = None  # (rows, stride, every slot's rows end to end)
        #: the row a reader sees as the present (tick t reads row t + 1, after that tick's writes)
        self.now_row = 0

    @property
    def slots(self) -> int:
        return self.cum_records.shape[0]

    def ensure_slots(self, slots: int) -> None:
        have = self.slots
        if slots > have:
            grow = max(slots - have, have)
            self.cum_records = np.pad(self.cum_records, ((0, grow), (0, 0)))
            self.cum_bytes = np.pad(self.cum_bytes, ((0, grow), (0, 0)))
            # A new shard holds nothing yet: its cumulative rows so far are zero, as padded.

    def append(self, records: np.ndarray, size_bytes: np.ndarray) -> None:
        """Add one tick's accepted records and bytes per slot (arrays as long as the slot count)."""
        row = self.rows
        n = len(records)
        self.cum_records[:, row] = self.cum_records[:, row - 1]
        self.cum_bytes[:, row] = self.cum_bytes[:, row - 1]
        self.cum_records[:n, row] += records
        self.cum_bytes[:n, row] += size_bytes
        self.rows += 1

    def append_rows(self, records: np.ndarray, size_bytes: np.ndarray) -> None:
        """:meth:`append` for several ticks at once: ``records[tick, slot]``, ``size_bytes[tick, slot]``."""
        first, count = self.rows, len(records)
        n = records.shape[1]
        self.cum_records[:, first:first + count] = self.cum_records[:, first - 1:first]
        self.cum_bytes[:, first:first + count] = self.cum_bytes[:, first - 1:first]
        self.cum_records[:n, first:first + count] += np.cumsum(records, axis=0).T
        self.cum_bytes[:n, first:first + count] += np.cumsum(size_bytes, axis=0).T
        self.rows += count

    def totals(self, slots: np.ndarray) -> np.ndarray:
        """Records written to each of ``slots`` up to :attr:`now_row`."""
        return self.cum_records[slots, self.now_row]

    def mean_record_bytes(self, slots: np.ndarray) -> np.ndarray:
        """Average accepted record size per slot up to :attr:`now_row` (1 where nothing was written)."""
        records = self.cum_records[slots, self.now_row]
        return np.where(records > 0, self.cum_bytes[slots, self.now_row] / np.maximum(records, 1), 1.0)

    def written(self, first_row: int, end_row: int) -> np.ndarray:
        """Cumulative records ``[slot, row]`` for rows ``first_row .. end_row - 1``."""
        return self.cum_records[:, first_row:end_row]

    def mean_record_bytes_rows(self, first_row: int, end_row: int) -> np.ndarray:
        """:meth:`mean_record_bytes` for every slot at rows ``first_row .. end_row - 1``: ``[slot, row]``."""
        records = self.cum_records[:, first_row:end_row]
        size = self.cum_bytes[:, first_row:end_row]
        return np.where(records > 0, size / np.maximum(records, 1), 1.0)

    def arrival_ticks_many(self, slots: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Tick in which record number ``positions[i]`` (0-based) of ``slots[i]`` arrived.

        Records of tick *k* are numbers ``cum[k] .. cum[k+1] - 1``, so the answer is the largest
        row *k* with ``cum[k] <= n``; only rows written so far are searched, in one binary search:
        every slot's cumulative row is laid end to end, slot *s* shifted up by ``s * stride``
        (``stride`` exceeds any count), so one sorted array answers for all slots at once.
        """
        if self._flat is None or self._flat[0] != self.rows:
            stride = float(self.cum_records[:, self.rows - 1].max()) + 1.0
            shifted = self.cum_records[:, :self.rows] + (np.arange(self.slots) * stride)[:, None]
            self._flat = (self.rows, stride, shifted.ravel())
        rows, stride, flat = self._flat
        found = np.searchsorted(flat, positions + slots * stride, side="right") - 1
        return found - slots * rows

    def row_of_time(self, tick: int) -> np.ndarray:
        """Cumulative records per slot at the start of ``tick``."""
        return self.cum_records[:, max(0, min(tick, self.rows - 1))]
