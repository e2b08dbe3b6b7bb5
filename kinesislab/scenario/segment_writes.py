"""Writes with retries for a whole segment of ticks, one shard at a time in plain Python.

Retries feed each tick's refusals into later ticks, so writes with retries cannot be solved for
all ticks at once the way :meth:`~kinesislab.engine.throughput.WriteBudget.take_whole_seconds`
solves producers that never retry. Tick by tick, though, the runner's numpy path
(:meth:`~kinesislab.scenario.runner.Runner._write_layers`) spends about 60 numpy calls per
tick on arrays of a few shards, and on a lesson-sized stream (8 shards) each call costs more
than the arithmetic inside it. :func:`write_segment` runs the very same rules -- the write
budget's refill (its own ``seconds_after`` and ``refilled_*``) and :meth:`~kinesislab.engine.throughput.WriteBudget.take_layers`,
:meth:`~kinesislab.scenario.producers.ProducerState.attempts_due`, ``settle`` and
``_enqueue_rows`` -- on Python floats, touching only the shards and attempts that hold records,
and books the segment's metrics afterwards in a few array operations.

Why the numbers are the same: every operation is the same IEEE double operation the numpy path
does element by element (floor, division, min, max, subtraction, multiplication in the same
order), and every sum adds whole numbers of records or bytes far below 2**53, so it is exact in
any order. The tests run both paths and compare every frame.

The retry ring is kept sparse while the segment runs: one dict per ring column, keyed by
``attempt * slots + slot``, holding only the differences that were queued.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kinesislab.engine.throughput import WriteBudget
from kinesislab.scenario.model import NoRetry
from kinesislab.scenario.producers import ProducerState

#: Above this many shard slots the per-shard Python loop may cost more than the numpy path's
#: calls (measured: 4x faster at 8 shards, 1.1-1.2x at 64-96 with a Zipf-skewed hot shard).
MAX_SLOTS = 64


@dataclass
class SegmentWrites:
    """What the producers did in a segment of ticks (row = tick of the segment)."""

    accepted_layers: np.ndarray  #: [tick, producer, slot] records accepted
    attempts: np.ndarray         #: [tick, slot] records offered (new and retried, all producers)
    offered_bytes: np.ndarray    #: [tick, slot] bytes of those records
    retried: np.ndarray          #: [tick] records queued for another attempt
    dropped: np.ndarray          #: [tick] records given up (no retry, attempts or buffer exhausted)
    buffered: np.ndarray         #: [tick] records waiting to retry at the end of the tick


class _Retrying:
    """One retrying producer's queue as Python lists for the segment (see the module docstring)."""

    def __init__(self, state: ProducerState, slots: int):
        self.state = state
        self.slots = slots
        self.horizon = state.ring.shape[1]
        self.max_attempts = state.max_attempts
        self.max_buffered = state.spec.retry.max_buffered
        self.buffered = state.buffered
        first, spread = state._schedule
        self.first = first.tolist()
        self.spread = spread.tolist()
        #: per slot: records due at each attempt (index 0 unused, 1 = first attempt)
        self.level = state.level[:, :slots].T.tolist()
        self.columns: list[dict[int, float]] = [{} for _ in range(self.horizon)]
        attempt_index, column_index, slot_index = np.nonzero(state.ring[:, :, :slots])
        values = state.ring[attempt_index, column_index, slot_index].tolist()
        for attempt, column, slot, value in zip(attempt_index.tolist(), column_index.tolist(), slot_index.tolist(),
                                                values):
            self.columns[column][attempt * slots + slot] = value
        #: slots whose level holds records (the only ones with retries due)
        self.waiting = {slot for slot in range(slots) if any(self.level[slot])}

    def take_column(self, tick: int) -> None:
        """The ring column of ``tick`` joins the level (``attempts_due``'s running sum)."""
        column = tick % self.horizon
        pending = self.columns[column]
        if pending:
            slots = self.slots
            level = self.level
            for key, change in pending.items():
                attempt, slot = divmod(key, slots)
                level[slot][attempt] += change
                self.waiting.add(slot)
            self.columns[column] = {}

    def enqueue(self, tick: int, attempt: int, slot: int, count: float) -> None:
        """``_enqueue_rows`` for one slot: ``count`` records refused at ``attempt`` (a float of
        whole records) spread over the ticks of the next attempt, the remainder to the earliest."""
        ticks = self.spread[attempt]
        horizon = self.horizon
        start = (tick + self.first[attempt]) % horizon
        base = count // ticks
        remainder = count - base * ticks
        key = (attempt + 1) * self.slots + slot
        columns = self.columns
        if remainder > 0:
            column = columns[start]
            column[key] = column.get(key, 0.0) + (base + 1.0)
            column = columns[(start + int(remainder)) % horizon]
            column[key] = column.get(key, 0.0) - 1.0
        elif base:
            column = columns[start]
            column[key] = column.get(key, 0.0) + base
        if base:
            column = columns[(start + ticks) % horizon]
            column[key] = column.get(key, 0.0) - base

    def settle(self, tick: int, refused: list[tuple[int, int, float]]) -> tuple[int, int]:
        """``ProducerState.settle`` given the refused records ``(attempt, slot, count)``."""
        last = self.max_attempts
        totals: dict[int, float] = {}
        for attempt, _, count in refused:
            totals[attempt] = totals.get(attempt, 0.0) + count
        dropped = int(totals.pop(last, 0.0))
        wanted = int(sum(totals.values()))
        if not wanted:
            return 0, dropped
        room = max(0, self.max_buffered - self.buffered)
        if wanted <= room:
            for attempt, slot, count in refused:
                if attempt != last:
                    self.enqueue(tick, attempt, slot, count)
            self.buffered += wanted
            return wanted, dropped
        retried = 0
        for attempt in sorted(totals, reverse=True):  # the buffer fills up: oldest first, while room is left
            rows = [(slot, count) for a, slot, count in refused if a == attempt]
            total = int(totals[attempt])
            room = max(0, self.max_buffered - self.buffered)
            if room < total:
                share = room / total
                rows = [(slot, float(math.floor(count * share))) for slot, count in rows]
                kept = int(sum(count for _, count in rows))
                dropped += total - kept
                total = kept
            retried += total
            for slot, count in rows:
                self.enqueue(tick, attempt, slot, count)
            self.buffered += total
        return retried, dropped

    def store(self, next_tick: int) -> None:
        """Put the queue back into the producer's arrays."""
        state = self.state
        slots = self.slots
        state.level[:, :slots] = np.array(self.level).T
        state.ring[:, :, :slots] = 0.0
        for column, pending in enumerate(self.columns):
            for key, change in pending.items():
                attempt, slot = divmod(key, slots)
                state.ring[attempt, column, slot] = change
        state.buffered = self.buffered
        state.next_tick = next_tick


def write_segment(producers: list[ProducerState], budget: WriteBudget, slots: int, first_tick: int,
                  times: np.ndarray, new: np.ndarray, sizes: list[float]) -> SegmentWrites:
    """Offer ticks ``first_tick .. first_tick + len(times) - 1`` of every producer to ``budget``.

    ``times[i]`` is the simulator's clock (epoch seconds) at tick ``first_tick + i``;
    ``new[i, p, slot]`` the new records producer ``p`` offers each slot that tick (already drawn);
    ``sizes[p]`` its record size in bytes (at least 1: a partition key has a byte or more). Producers are served in order (the budget's
    layers), records that waited longest first. The producers' queues and the budget's buckets
    end as the tick-by-tick path leaves them.
    """
    length = len(times)
    count = len(producers)
    queues = [None if isinstance(state.spec.retry, NoRetry) else _Retrying(state, slots) for state in producers]
    records_tokens = budget.records_tokens[:slots].tolist()
    bytes_tokens = budget.bytes_tokens[:slots].tolist()
    second = budget.second
    accepted_layers = np.zeros((length, count, slots))
    attempts = np.zeros((length, slots))
    offered_bytes = np.zeros((length, slots))
    retried = np.zeros(length)
    dropped = np.zeros(length)
    buffered = np.zeros(length)
    new_rows = new.tolist()
    floor = math.floor
    for row, now in enumerate(times.tolist()):
        tick = first_tick + row
        # WriteBudget.refill, on this segment's copy of the buckets.
        second, elapsed = budget.seconds_after(second, now)
        if elapsed > 0:
            records_tokens = budget.refilled_records(np.array(records_tokens), elapsed).tolist()
            bytes_tokens = budget.refilled_bytes(np.array(bytes_tokens), elapsed).tolist()
        # attempts_due: retries whose time has come (the level), and the new records.
        waiting_records = []
        for queue in queues:
            if queue is None:
                waiting_records.append(None)
                continue
            queue.take_column(tick)
            due_per_slot = {}
            level = queue.level
            for slot in list(queue.waiting):
                waiting = sum(level[slot])
                if waiting:
                    due_per_slot[slot] = waiting
                else:
                    queue.waiting.discard(slot)
            queue.buffered -= int(sum(due_per_slot.values()))
            waiting_records.append(due_per_slot)
        taken = accepted_layers[row]
        offered_row = [0.0] * slots
        offered_bytes_row = [0.0] * slots
        refused_by_producer: list[list[tuple[int, int, float]]] = [[] for _ in producers]
        dropped_row = 0
        for slot in range(slots):
            records_left, bytes_left = records_tokens[slot], bytes_tokens[slot]
            offered_slot = offered_slot_bytes = 0.0
            for layer in range(count):
                fresh = new_rows[row][layer][slot]
                due = waiting_records[layer]
                waiting = due.get(slot, 0.0) if due is not None else 0.0
                offered = waiting + fresh
                if not offered:
                    continue
                offered_slot += offered
                offered_slot_bytes += offered * sizes[layer]
                # WriteBudget.take_layers for this slot and layer.
                fit = min(floor(records_left), floor(bytes_left / sizes[layer]))
                fit = float(min(fit, offered)) if fit > 0 else 0.0
                records_left -= fit
                bytes_left -= fit * sizes[layer]
                taken[layer, slot] = fit
                if fit == offered:
                    continue
                queue = queues[layer]
                if queue is None:
                    dropped_row += int(offered - fit)
                    continue
                # settle: accepted records go to the attempts that waited longest first.
                level = queue.level[slot]
                accepted_before = 0.0
                for attempt in range(queue.max_attempts, 0, -1):
                    records_due = level[attempt] + fresh if attempt == 1 else level[attempt]
                    if records_due:
                        took = min(max(fit - accepted_before, 0.0), records_due)
                        if took != records_due:
                            refused_by_producer[layer].append((attempt, slot, records_due - took))
                        accepted_before += records_due
            records_tokens[slot], bytes_tokens[slot] = records_left, bytes_left
            offered_row[slot] = offered_slot
            offered_bytes_row[slot] = offered_slot_bytes
        retried_row = 0
        for queue, refused in zip(queues, refused_by_producer):
            if refused:
                r, d = queue.settle(tick, refused)
                retried_row += r
                dropped_row += d
        attempts[row] = offered_row
        offered_bytes[row] = offered_bytes_row
        retried[row] = retried_row
        dropped[row] = dropped_row
        buffered[row] = sum(queue.buffered if queue is not None else state.buffered
                            for queue, state in zip(queues, producers))
    for queue in queues:
        if queue is not None:
            queue.store(first_tick + length)
    for state in producers:
        state.next_tick = first_tick + length
    budget.records_tokens[:slots] = records_tokens
    budget.bytes_tokens[:slots] = bytes_tokens
    budget.second = second
    return SegmentWrites(accepted_layers, attempts, offered_bytes, retried, dropped, buffered)
