"""A Firehose buffer: flushes at the first of "size reached" or "interval elapsed".

The interval is measured from the first record that entered the (empty) buffer: that record
schedules one clock callback at ``opened_at + interval_seconds``. A flush for size happens at
once, inside the call that added the record, so its delivery time is that call's virtual time;
the flush bumps a generation counter, which turns the pending interval callback into a no-op.
Nothing sleeps: with interval 0 the callback falls due at the same instant and runs at the
next ``advance`` (every record put at that instant shares one delivery).

An item normally stands for one record. :meth:`TimedBuffer.add_run` books ``count`` records of
one size that arrive together as a few items instead (one per stretch between two size
flushes), each standing for several records; ``len(buffer)`` counts records either way. The
size rule -- the record that brings the buffer to ``size_bytes`` flushes it -- is
:meth:`TimedBuffer.fills`; :meth:`TimedBuffer.room` is the same rule solved for a run of
equal records.
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
        #: Records buffered (an item added by :meth:`add_run` stands for several).
        self.records = 0
        self.buffered_bytes = 0
        #: Virtual time (epoch s) the first item of the current buffer arrived; None when empty.
        self.opened_at: float | None = None
        self._generation = 0

    def __len__(self) -> int:
        """Records buffered."""
        return self.records

    # ------------------------------------------------------------------ the rules
    def fills(self, buffered_bytes: int) -> bool:
        """The size rule: a buffer holding ``buffered_bytes`` is delivered now."""
        return buffered_bytes >= self.size_bytes

    def room(self, size_each: int) -> int | None:
        """How many more records of ``size_each`` bytes the buffer takes, the last of them
        filling it: the smallest k >= 1 with ``fills(buffered_bytes + k * size_each)``, or None
        if no number of them fills it (empty records)."""
        if size_each <= 0:
            return None
        return max(1, -(-(self.size_bytes - self.buffered_bytes) // size_each))

    def _open(self) -> None:
        """The first record of an empty buffer: note the time and schedule the interval's end."""
        self.opened_at = self.clock.time
        generation = self._generation
        self.clock.schedule(self.opened_at + self.interval_seconds, lambda: self._interval_due(generation))

    # ------------------------------------------------------------------ adding
    def add(self, item: T, size_bytes: int, records: int = 1) -> None:
        """Buffer one item of ``size_bytes`` standing for ``records`` records; flushes now if the
        buffer reached its size."""
        if not self.records:
            self._open()
        self.items.append(item)
        self.records += records
        self.buffered_bytes += size_bytes
        if self.fills(self.buffered_bytes):
            self._flush("size")

    def add_run(self, count: int, size_each: int, piece: Callable[[int], T]) -> None:
        """``count`` records of ``size_each`` bytes each arriving at this instant, in order: the
        same flushes and interval callbacks as :meth:`add` of each, but one item per stretch
        between two size flushes. ``piece(k)`` makes the item standing for the run's next
        ``k`` records (pieces are made in order)."""
        while count > 0:
            if not self.records:
                self._open()
            room = self.room(size_each)
            k = count if room is None or room > count else room
            self.items.append(piece(k))
            self.records += k
            self.buffered_bytes += k * size_each
            count -= k
            if self.fills(self.buffered_bytes):
                self._flush("size")

    def discard(self) -> list[T]:
        """Empty the buffer without flushing (the stream was deleted); returns what was dropped."""
        dropped = self.items
        self._reset()
        return dropped

    def _interval_due(self, generation: int) -> None:
        if generation == self._generation and self.records:
            self._flush("interval")

    def _reset(self) -> None:
        self.items = []
        self.records = 0
        self.buffered_bytes = 0
        self.opened_at = None
        self._generation += 1  # the pending interval callback of the old buffer becomes a no-op

    def _flush(self, trigger: str) -> None:
        items = self.items
        self._reset()
        self.on_flush(items, trigger)
