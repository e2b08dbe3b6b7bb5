"""Polling applications on the shards where the shared GetRecords budget refuses calls.

The read budget is per shard (5 calls/s and 2 MiB/s), and the order in which polling
applications take turns at it does not depend on the shard. So the shards are independent:
where every call of a segment is admitted, :meth:`~kinesislab.scenario.consumers.Reader.plan`
and :meth:`~kinesislab.engine.throughput.ReadBudget.fit_schedule` solve the segment in closed
form; only the shards where some call is refused (a hot shard with three applications polling
it) must go one tick and one call at a time, because who is refused depends on who came first.

:func:`poll_refused_shards` does those shards in plain Python with the rules of
:meth:`PollingReader.poll <kinesislab.scenario.consumers.PollingReader.poll>` -- the same
turns (:func:`turn_order`), the read budget's own rules (``seconds_after``, ``refilled_bytes``,
``admits``) on a copy of those shards' buckets, and the same IEEE double operations (min, max,
subtraction, multiplication) -- instead of a dozen numpy calls per application per tick. The tests compare every frame with the tick-by-tick path.
"""

from __future__ import annotations

import numpy as np

from kinesislab.engine.throughput import ReadBudget
from kinesislab.scenario.consumers import PollingReader, SegmentReads
from kinesislab.scenario.shard_log import ShardLog


def turn_order(readers: int, rounds: int) -> list[int]:
    """Who calls first rotates from one round of polls to the next, so no application is always
    first (or always last) at the shared budget, whatever the poll interval: the order of
    ``readers`` applications (positions in the runner's polling list) after ``rounds`` rounds."""
    shift = rounds % readers
    return list(range(shift, readers)) + list(range(shift))


def polling_rounds(calls: list[np.ndarray]) -> np.ndarray:
    """Per tick, whether it is a round of polls: some application calls in it (``calls[i][row]``:
    application ``i``'s calls in tick ``row``). :func:`turn_order` moves on once per round."""
    return np.logical_or.reduce([np.asarray(c) > 0 for c in calls])


def poll_refused_shards(readers: list[PollingReader], plans: list[SegmentReads], calls: list[np.ndarray],
                        slots: np.ndarray, log: ShardLog, budget: ReadBudget, times: np.ndarray,
                        means: np.ndarray, rounds: int, max_bytes: float, max_records: int) -> int:
    """Make every reader's calls of the segment on ``slots`` (shards readable all segment long,
    nothing expiring), one tick at a time, and write them into the rows ``slots`` of ``plans``
    (one per reader; the other rows stay as planned). Readers' positions and call counters move.

    ``calls[i][row]``: reader ``i``'s calls in tick ``row`` of the segment (the same on every
    shard); ``times``: the ticks' virtual times (epoch s); ``means``: mean record size
    ``[slot, row]`` (bytes). Only the buckets of ``slots`` move (and the budget's second: the
    other shards are then brought to the segment's end by their closed form). Returns the number
    of polling rounds after the segment.
    """
    first = plans[0].first_tick
    length = len(times)
    slot_list = [int(s) for s in slots]
    totals = log.cum_records[slots, first + 1:first + 1 + length].tolist()
    sizes = means[slots].tolist()
    per_call = [reader.records_per_call(means[slots], max_bytes, max_records).tolist() for reader in readers]
    positions = [reader.positions[slots].tolist() for reader in readers]
    made = [0] * len(readers)
    refused = [0] * len(readers)
    call_rows = [c.astype(np.int64).tolist() for c in calls]
    is_round = polling_rounds(calls).tolist()
    # This segment's copy of the refused shards' buckets, refilled and admitted by the budget's rules.
    calls_left = budget.calls_tokens[slots].tolist()
    bytes_left = budget.bytes_tokens[slots].tolist()
    second = budget.second
    admits = budget.admits
    # Per reader and refused shard, the segment's rows of starts, counts, ends and refusals,
    # written into the plans at the end (a numpy item assignment per value costs more).
    rows = [[([0.0] * length, [0.0] * length, [0.0] * length, [0] * length) for _ in slot_list] for _ in readers]
    for row, now in enumerate(times.tolist()):
        second, elapsed = budget.seconds_after(second, now)
        if elapsed > 0:
            bytes_left = budget.refilled_bytes(np.array(bytes_left), elapsed).tolist()
            calls_left = [budget.calls_per_second] * len(slot_list)
        order = turn_order(len(readers), rounds)
        rounds += is_round[row]
        for i in order:
            tick_calls = call_rows[i][row]
            position, cap, reader_rows = positions[i], per_call[i], rows[i]
            for h in range(len(slot_list)):
                start = position[h]
                read = 0.0
                refused_here = 0
                for _ in range(tick_calls):
                    if admits(calls_left[h], bytes_left[h]):
                        calls_left[h] -= 1
                        count = max(min(totals[h][row] - position[h], cap[h][row]), 0.0)
                        bytes_left[h] -= count * sizes[h][row]
                        position[h] += count
                        read += count
                        made[i] += 1
                    else:
                        refused_here += 1
                starts, counts, ends, refusals = reader_rows[h]
                starts[row] = start
                counts[row] = read
                ends[row] = position[h]
                refusals[row] = refused_here
                refused[i] += refused_here
    budget.calls_tokens[slots] = calls_left
    budget.bytes_tokens[slots] = bytes_left
    budget.second = second
    for plan, reader_rows in zip(plans, rows):
        plan.starts[slots] = [starts for starts, _, _, _ in reader_rows]
        plan.counts[slots] = [counts for _, counts, _, _ in reader_rows]
        plan.after[slots] = [ends for _, _, ends, _ in reader_rows]
        plan.throttled[slots] = [refusals for _, _, _, refusals in reader_rows]
    for reader, position, calls_made, calls_refused in zip(readers, positions, made, refused):
        reader.positions[slots] = position
        reader.calls_made += calls_made
        reader.throttled_calls += calls_refused
    return rounds
