"""The virtual clock: the only source of time in kinesislab.

Like SimPy's ``Environment``, the clock is a float ``time`` (seconds since the Unix epoch) plus
a heap of scheduled callbacks ``(time, priority, serial, callback)``. ``advance`` runs every
callback that falls due, in time order; ties break by priority, then by the order they were
scheduled, so a run is deterministic. Nothing here sleeps.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timezone
from typing import Callable

#: Where every simulator's clock starts unless told otherwise (a fixed instant keeps runs
#: byte-for-byte reproducible).
DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class VirtualClock:
    """Virtual time in seconds, with scheduled callbacks."""

    def __init__(self, start: datetime = DEFAULT_START):
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        self.time: float = start.timestamp()
        self.start_time: float = self.time
        self._queue: list[tuple[float, int, int, Callable[[], None]]] = []
        self._serial = 0

    @property
    def now(self) -> datetime:
        """The current virtual instant as a timezone-aware UTC datetime."""
        return datetime.fromtimestamp(self.time, tz=timezone.utc)

    @property
    def elapsed(self) -> float:
        """Seconds since the clock started."""
        return self.time - self.start_time

    @property
    def millis(self) -> int:
        """The current virtual time in whole milliseconds since the epoch."""
        return int(round(self.time * 1000))

    def schedule(self, at: float, callback: Callable[[], None], priority: int = 0) -> None:
        """Run ``callback`` when the clock reaches ``at`` (epoch seconds)."""
        self._serial += 1
        heapq.heappush(self._queue, (max(at, self.time), priority, self._serial, callback))

    def schedule_in(self, delay_seconds: float, callback: Callable[[], None], priority: int = 0) -> None:
        """Run ``callback`` ``delay_seconds`` from now."""
        self.schedule(self.time + delay_seconds, callback, priority)

    def next_time_of(self, callback: Callable[[], None]) -> float | None:
        """When ``callback`` (compared with ``==``: bound methods of one object are equal) next
        runs, in epoch seconds; None if it is not scheduled."""
        times = [at for at, _, _, scheduled in self._queue if scheduled == callback]
        return min(times) if times else None

    def run_due(self) -> None:
        """Run the callbacks that are due now (used after a call changes state at this instant)."""
        while self._queue and self._queue[0][0] <= self.time:
            _, _, _, callback = heapq.heappop(self._queue)
            callback()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (>= 0), running callbacks as their times come."""
        if seconds < 0:
            raise ValueError("virtual time only moves forward")
        target = self.time + seconds
        while self._queue and self._queue[0][0] <= target:
            at, _, _, callback = heapq.heappop(self._queue)
            self.time = max(self.time, at)
            callback()
        self.time = target

    def advance_to(self, at: float) -> None:
        """Move time forward to epoch second ``at`` (no-op if already later)."""
        if at > self.time:
            self.advance(at - self.time)
