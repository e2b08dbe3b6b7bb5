"""Producers at count granularity: how many records each producer offers each shard each tick,
and what happens to the throttled ones (retry with backoff, or drop).

Counts are integers drawn from the simulator's seeded generator: a producer's new records for a
tick are split over shards by a multinomial draw with the shards' key shares. Throttled records
keep their shard (same key, same hash) and wait for their next attempt. A retry with full jitter
is spread evenly over the ticks its backoff covers, so the waiting records form runs of equal
counts per tick; they are kept as a difference ring (``[attempt, tick modulo horizon, shard
slot]``: the change of each tick's count from the tick before) plus the current count per
attempt and slot. Queueing a run is then three additions and taking a tick's retries one,
however long the backoff. When a shard admits only part of what is offered, records that have
waited longest (highest attempt) go first, then new ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from kinesislab.scenario.kpl import KplBatcher
from kinesislab.scenario.model import ExponentialBackoff, FixedRetry, NoRetry, Producer, Traffic


def _max_delay(policy) -> float:
    if isinstance(policy, FixedRetry):
        return policy.delay
    if isinstance(policy, ExponentialBackoff):
        return policy.cap
    return 0.0


@dataclass
class ProducerState:
    """One producer's mutable state during a run."""

    spec: Producer
    traffic: Traffic
    resolution: float
    size_bytes: float
    ring: np.ndarray   #: [attempt, tick % horizon, slot]: change of the due count at that tick
    level: np.ndarray  #: [attempt, slot]: records due at the last tick taken (the running sum)
    carry: float = 0.0
    next_tick: int = 0
    buffered: int = 0
    kpl: KplBatcher | None = None

    @classmethod
    def start(cls, spec: Producer, resolution: float, slots: int) -> "ProducerState":
        # Whole bytes, as every real record has (and as backend="records" sends them).
        size = float(round(spec.record_size.mean() + spec.partition_key_bytes))
        attempts = 1 if isinstance(spec.retry, NoRetry) else max(1, int(spec.retry.max_attempts))
        horizon = math.ceil(_max_delay(spec.retry) / resolution) + 2
        state = cls(spec=spec, traffic=spec.traffic, resolution=resolution, size_bytes=size,
                    ring=np.zeros((attempts + 1, horizon, max(slots, 1))), level=np.zeros((attempts + 1, max(slots, 1))))
        if spec.kpl is not None:
            state.kpl = KplBatcher(spec.kpl, user_record_bytes=spec.record_size.mean(),
                                   partition_key_bytes=spec.partition_key_bytes)
        return state

    @property
    def max_attempts(self) -> int:
        return self.ring.shape[0] - 1

    def ensure_slots(self, slots: int) -> None:
        if slots > self.ring.shape[2]:
            self.ring = np.pad(self.ring, ((0, 0), (0, 0), (0, slots - self.ring.shape[2])))
            self.level = np.pad(self.level, ((0, 0), (0, slots - self.level.shape[1])))

    def rates_from(self, ticks: int, first_tick: int = 0) -> None:
        """Evaluate the traffic shape once for ticks ``first_tick ..`` (records/s at each tick's start)."""
        if not hasattr(self, "_rates") or len(self._rates) != ticks:
            self._rates = np.zeros(ticks)
        times = np.arange(first_tick, ticks) * self.resolution
        self._rates[first_tick:] = np.maximum(0.0, np.asarray(self.traffic.at(times), dtype=np.float64))

    def new_records(self, t: float, tick: int | None = None) -> int:
        """User records this producer creates during the tick starting at ``t`` s."""
        if tick is not None and hasattr(self, "_rates"):
            rate = float(self._rates[tick])
        else:
            rate = max(0.0, float(self.traffic.at(np.array([t]))[0]))
        expected = rate * self.resolution + self.carry
        count = math.floor(expected)
        self.carry = expected - count
        return count

    def attempts_due(self, tick: int, new_per_slot: np.ndarray) -> np.ndarray:
        """Records making attempt *k* this tick, as a matrix ``[k, slot]`` (row 1 holds the new ones)."""
        self.next_tick = tick + 1
        if not isinstance(self.spec.retry, NoRetry):
            # Every tick, queue or not: a run that has just ended still owes its closing difference.
            column = tick % self.ring.shape[1]
            self.level += self.ring[:, column, :]
            self.ring[:, column, :] = 0
            due = self.level.copy()
            self.buffered -= int(np.add.reduce(due, axis=None))
        else:
            due = np.zeros(self.level.shape)
        due[1, :len(new_per_slot)] += new_per_slot
        return due

    @cached_property
    def _schedule(self) -> tuple[np.ndarray, np.ndarray]:
        """Per attempt 0 .. max_attempts: (first tick offset, number of ticks the retry is spread over)."""
        policy = self.spec.retry
        first, spread = [], []
        for attempt in range(self.max_attempts + 1):
            if isinstance(policy, FixedRetry):
                first.append(max(1, math.ceil(policy.delay / self.resolution)))
                spread.append(1)
            elif isinstance(policy, ExponentialBackoff) and not policy.jitter:
                ceiling = min(policy.cap, policy.base * 2 ** attempt)
                first.append(max(1, math.ceil(ceiling / self.resolution)))
                spread.append(1)
            elif isinstance(policy, ExponentialBackoff):
                # Full jitter: each record waits U(0, ceiling). Spread the counts evenly over the
                # ticks that covers (the remainder to the earliest), its expected shape, no draws.
                ceiling = min(policy.cap, policy.base * 2 ** attempt)
                first.append(1)
                spread.append(min(self.ring.shape[1] - 1, max(1, math.ceil(ceiling / self.resolution))))
            else:
                first.append(1)
                spread.append(1)
        return np.array(first, dtype=np.int64), np.array(spread, dtype=np.int64)

    def settle(self, tick: int, due: np.ndarray, accepted_per_slot: np.ndarray) -> tuple[int, int]:
        """Share each slot's accepted count over the attempts (oldest first), then queue or drop
        the throttled remainder. Returns (retried, dropped)."""
        if isinstance(self.spec.retry, NoRetry):
            return 0, int(due.sum() - accepted_per_slot.sum())
        ordered = due[:0:-1]  # attempts max .. 1: who has waited longest goes first
        before = np.cumsum(ordered, axis=0) - ordered
        throttled = ordered - np.minimum(np.maximum(accepted_per_slot - before, 0.0), ordered)
        totals = np.add.reduce(throttled, axis=1)
        if not totals.any():
            return 0, 0
        dropped = int(totals[0])  # refused at the last attempt allowed: given up
        rows = np.flatnonzero(totals[1:]) + 1
        if not len(rows):
            return 0, dropped
        wanted = int(totals[rows].sum())
        room = max(0, self.spec.retry.max_buffered - self.buffered)
        if wanted <= room:
            self._enqueue_rows(tick, len(ordered) - rows, throttled[rows])
            self.buffered += wanted
            return wanted, dropped
        retried = 0
        for row in rows:  # the buffer fills up: oldest first, each row while room is left
            refused = throttled[row]
            total = int(totals[row])
            room = max(0, self.spec.retry.max_buffered - self.buffered)
            if room < total:
                kept = np.floor(refused * (room / total))
                dropped += total - int(kept.sum())
                refused = kept
                total = int(kept.sum())
            retried += total
            self._enqueue_rows(tick, np.array([len(ordered) - row]), refused[None, :])
            self.buffered += total
        return retried, dropped

    def _enqueue_rows(self, tick: int, attempts: np.ndarray, counts: np.ndarray) -> None:
        """Queue ``counts[i]`` (per slot) refused at attempt ``attempts[i]`` for attempt + 1."""
        first, spread = self._schedule
        horizon = self.ring.shape[1]
        rows = attempts + 1
        width = counts.shape[1]
        ticks = spread[attempts][:, None]
        start = (tick + first[attempts]) % horizon
        # n records over k ticks, the remainder to the earliest: base + 1 for the first
        # ``remainder`` ticks, base for the rest, then nothing.
        base = np.floor_divide(counts, ticks)
        remainder = counts - base * ticks
        extra = remainder > 0
        self.ring[rows, start, :width] += base + extra
        self.ring[rows[:, None], (start[:, None] + remainder.astype(np.int64)) % horizon, np.arange(width)] -= extra
        self.ring[rows, (start + ticks[:, 0]) % horizon, :width] -= base

    def _schedule_of(self, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """Records due at each of the next ``horizon`` ticks for ``slot``: ``[attempt, tick]``, and
        the ring columns of those ticks."""
        horizon = self.ring.shape[1]
        columns = (self.next_tick + np.arange(horizon)) % horizon
        return self.level[:, slot, None] + np.cumsum(self.ring[:, columns, slot], axis=1), columns

    def remap_slots(self, closed_to_children: dict[int, list[tuple[int, float]]]) -> None:
        """After a reshard, queued retries of a closed shard follow their keys to its children."""
        for slot, children in closed_to_children.items():
            if not children or slot >= self.ring.shape[2]:
                continue
            pending, columns = self._schedule_of(slot)
            if not pending.any():
                continue
            self.ring[:, :, slot] = 0
            self.level[:, slot] = 0
            shares = np.array([share for _, share in children], float)
            shares = shares / shares.sum() if shares.sum() > 0 else np.full(len(shares), 1 / len(shares))
            parts = np.floor(pending[..., None] * shares)
            parts[..., int(np.argmax(shares))] += pending - parts.sum(axis=-1)
            self.ensure_slots(max(child for child, _ in children) + 1)
            for index, (child, _) in enumerate(children):
                # Back to differences; the last tick of the horizon is never due yet, so the
                # schedule ends at zero within it.
                part = parts[..., index]
                self.ring[:, columns, child] += np.diff(part, axis=1, prepend=0.0)
