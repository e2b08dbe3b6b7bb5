"""A Firehose buffer: flushes at the first of "size reached" or "interval elapsed".

The interval is measured from the first record that entered the (empty) buffer: that record
schedules one clock callback at ``opened_at + interval_seconds``. A flush for size happens at
once, inside the call that added the record, so its delivery time is that call's virtual time;
the flush bumps a generation counter, which turns the pending interval callback into a no-op.
Nothing sleeps: with interval 0 the callback falls due at the same instant and runs at the
next ``advance`` (every record put at that instant shares one delivery).
"""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from kinesislab.clock import VirtualClock

T = TypeVar("T")
FlushHandler = Callable[[list, str], None]


class TimedBuffer(Generic[T]):
    """Items with sizes; calls ``on_flush(items, trigger)`` with trigger ``"size"`` or ``"interval"``."""

    def __init__(self, clock: VirtualClock, size_bytes: int, interval_seconds: float, on_flush: FlushHandler):
        if size_bytes <= 0 or interval_seconds < 0:
            raise ValueError("a buffer needs size_bytes > 0 and interval_seconds >= 0")
        self.clock = clock
        self.size_bytes = int(size_bytes)
        self.interval_seconds = float(interval_seconds)
        self.on_flush = on_flush
        self.items: list[T] = []
        self.buffered_bytes = 0
        #: Virtual time (epoch s) the first item of the current buffer arrived; None when empty.
        self.opened_at: float | None = None
        self._generation = 0

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: T, size_bytes: int) -> None:
        """Buffer one item of ``size_bytes``; flushes now if the buffer reached its size."""
        if not self.items:
            self.opened_at = self.clock.time
            generation = self._generation
            self.clock.schedule(self.opened_at + self.interval_seconds, lambda: self._interval_due(generation))
        self.items.append(item)
        self.buffered_bytes += size_bytes
        if self.buffered_bytes >= self.size_bytes:
            self._flush("size")

    def add_many(self, items: list[T], sizes: list[int]) -> None:
        """:meth:`add` for several items arriving at the same instant, in order: the same items,
        flushes and interval callbacks, with the items between two size flushes added at once."""
        begin, count = 0, len(items)
        while begin < count:
            if not self.items:
                self.opened_at = self.clock.time
                generation = self._generation
                self.clock.schedule(self.opened_at + self.interval_seconds, lambda: self._interval_due(generation))
            # The first item that brings the buffer to its size ends this run (and flushes it).
            buffered, end = self.buffered_bytes, begin
            while end < count:
                buffered += sizes[end]
                end += 1
                if buffered >= self.size_bytes:
                    break
            self.items.extend(items[begin:end])
            self.buffered_bytes = buffered
            begin = end
            if buffered >= self.size_bytes:
                self._flush("size")

    def discard(self) -> list[T]:
        """Empty the buffer without flushing (the stream was deleted); returns what was dropped."""
        dropped = self.items
        self._reset()
        return dropped

    def _interval_due(self, generation: int) -> None:
        if generation == self._generation and self.items:
            self._flush("interval")

    def _reset(self) -> None:
        self.items = []
        self.buffered_bytes = 0
        self.opened_at = None
        self._generation += 1  # the pending interval callback of the old buffer becomes a no-op

    def _flush(self, trigger: str) -> None:
        items = self.items
        self._reset()
        self.on_flush(items, trigger)
