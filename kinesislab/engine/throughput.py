"""Per-shard throughput budgets: token buckets in virtual time, one slot per shard.

Write budget (facts §1): each shard has a byte bucket and a record bucket. At every whole
virtual second each bucket gains one second of its rate, capped at its capacity. The capacity
is one second of rate (``Limits.write_burst_seconds``), so within any whole second a shard admits
at most 1 MiB and 1,000 records: that is what CloudWatch's per-second view of a shard shows, and
it makes "no shard above its limit in any second" exact. A stream whose maximum record size was
raised above 1 MiB gets a byte tank as large as its largest record (the service's large-record
"capacity tank", LARGE): bursts up to 10 MiB, averaging 1 MiB/s.

Read budget (facts §1): 5 GetRecords calls per second per shard and 2 MiB/s per shard shared
by every polling consumer. A call is admitted while the byte bucket is above zero and returns up
to 10 MiB, which may drive the bucket negative: the debt is repaid at 2 MiB/s, so after a 10 MiB
read the next calls are throttled for the following 5 seconds, as the GetRecords documentation
says, without a separate rule.

Both the record-level client (scalar methods) and the scenario runner (vectorised methods) use
these classes on the same stream, so there is one implementation of the limits.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class _PerSecondBudget:
    """Buckets that change only at whole virtual seconds."""

    second: int | None = None

    def seconds_crossed(self, now: float) -> int:
        """Whole-second boundaries crossed since the last call (0 on the first call); the budget
        then counts from ``now``'s second."""
        self.second, elapsed = self.seconds_after(self.second, now)
        return elapsed

    @staticmethod
    def seconds_after(second: int | None, now: float) -> tuple[int, int]:
        """(the second to count from after ``now``, whole-second boundaries crossed since
        ``second``): the rule of :meth:`seconds_crossed` without changing the budget, for callers
        that refill a copy of its buckets (the runner's plain-Python segments) and commit it,
        second included, only once done."""
        whole = math.floor(now)
        if second is None:
            return whole, 0
        elapsed = whole - second
        return (whole if elapsed > 0 else second), elapsed


class WriteBudget(_PerSecondBudget):
    """Byte and record buckets for every shard of one stream (index = shard slot)."""

    def __init__(self, bytes_per_second: float, records_per_second: float,
                 bytes_capacity: float, records_capacity: float):
        self.bytes_per_second = float(bytes_per_second)
        self.records_per_second = float(records_per_second)
        self.bytes_capacity = float(bytes_capacity)
        self.records_capacity = float(records_capacity)
        self.bytes_tokens = np.zeros(0)
        self.records_tokens = np.zeros(0)
        self.second: int | None = None

    def add_slot(self) -> int:
        """A new shard starts with full buckets; returns its slot."""
        self.bytes_tokens = np.append(self.bytes_tokens, self.bytes_capacity)
        self.records_tokens = np.append(self.records_tokens, self.records_capacity)
        return len(self.bytes_tokens) - 1

    def set_bytes_capacity(self, bytes_capacity: float) -> None:
        """Change the byte tank (UpdateMaxRecordSize); tokens above the new cap are dropped."""
        self.bytes_capacity = float(bytes_capacity)
        np.minimum(self.bytes_tokens, self.bytes_capacity, out=self.bytes_tokens)

    def refill(self, now: float) -> None:
        """Add the rate for every whole second boundary crossed since the last refill."""
        elapsed = self.seconds_crossed(now)
        if elapsed <= 0:
            return
        self.bytes_tokens = self.refilled_bytes(self.bytes_tokens, elapsed)
        self.records_tokens = self.refilled_records(self.records_tokens, elapsed)

    def refilled_bytes(self, tokens: np.ndarray, elapsed: int) -> np.ndarray:
        """Byte buckets ``tokens`` after ``elapsed`` whole seconds: one second of rate each, capped."""
        return np.minimum(tokens + elapsed * self.bytes_per_second, self.bytes_capacity)

    def refilled_records(self, tokens: np.ndarray, elapsed: int) -> np.ndarray:
        """Record buckets ``tokens`` after ``elapsed`` whole seconds: one second of rate each, capped."""
        return np.minimum(tokens + elapsed * self.records_per_second, self.records_capacity)

    def try_take(self, slot: int, size_bytes: int) -> bool:
        """Admit one record of ``size_bytes`` on shard ``slot`` if both buckets allow it."""
        if self.records_tokens[slot] >= 1 and self.bytes_tokens[slot] >= size_bytes:
            self.records_tokens[slot] -= 1
            self.bytes_tokens[slot] -= size_bytes
            return True
        return False

    def take_counts(self, slots: np.ndarray, counts: np.ndarray, size_bytes: np.ndarray) -> np.ndarray:
        """Admit as many of ``counts[i]`` records of ``size_bytes[i]`` on ``slots[i]`` as fit.

        Groups are served in array order, each group first-come-first-served, exactly as the
        record-level path serves the same records one by one in that order. Returns the
        accepted count per group (int64).
        """
        accepted = np.zeros(len(slots), dtype=np.int64)
        remaining = np.arange(len(slots))
        # Groups on different shards are independent; groups sharing a shard are served in
        # order, one "layer" of first occurrences at a time (one layer in the usual case).
        while len(remaining):
            layer = remaining
            if len(remaining) > 1 and np.bincount(slots[remaining]).max() > 1:
                _, first = np.unique(slots[remaining], return_index=True)
                layer = remaining[np.sort(first)]
            s = slots[layer]
            size = size_bytes[layer].astype(np.float64)
            by_records = np.floor(self.records_tokens[s])
            with np.errstate(divide="ignore"):
                by_bytes = np.floor(self.bytes_tokens[s] / size)  # size 0 -> inf: only records bind
            fit = np.maximum(np.minimum(np.minimum(by_records, by_bytes), counts[layer]), 0).astype(np.int64)
            accepted[layer] = fit
            self.records_tokens[s] -= fit
            self.bytes_tokens[s] -= fit * size
            if len(layer) == len(remaining):
                break
            remaining = np.setdiff1d(remaining, layer, assume_unique=True)
        return accepted

    def take_layers(self, counts: np.ndarray, size_bytes: np.ndarray) -> np.ndarray:
        """:meth:`take_counts` for dense layers: ``counts[layer, slot]`` records of
        ``size_bytes[layer]`` bytes (> 0) offered to every shard slot, layer 0 served first.
        Returns the accepted counts, same shape."""
        return _serve_layers(self.records_tokens, self.bytes_tokens, counts, size_bytes)

    @property
    def holds_one_second(self) -> bool:
        """Each bucket holds exactly one second of its rate (no burst, no large-record tank)."""
        return self.records_capacity == self.records_per_second and self.bytes_capacity == self.bytes_per_second

    def take_whole_seconds(self, counts: np.ndarray, size_bytes: np.ndarray, last_second: int) -> np.ndarray | None:
        """:meth:`take_layers` for a run of consecutive whole seconds, solved at once:
        ``counts[second, layer, slot]`` records of ``size_bytes[layer]`` bytes (> 0).

        When each bucket holds exactly one second of its rate (the default: no burst beyond
        1 MiB and 1,000 records per second), every second starts with full buckets whatever the
        previous second took, so the seconds are independent. Returns the accepted counts (same
        shape) and leaves the buckets as after ``last_second``; returns None, changing nothing,
        when the buckets can hold more than a second (the caller then goes second by second).
        """
        if not self.holds_one_second:
            return None
        seconds, _, slots = counts.shape
        records = np.full((seconds, slots), self.records_capacity)
        size_left = np.full((seconds, slots), self.bytes_capacity)
        # Layers first for the shared rule; every second's buckets are one row of records/size_left.
        accepted = _serve_layers(records, size_left, counts.transpose(1, 0, 2), size_bytes).transpose(1, 0, 2)
        if seconds:
            self.records_tokens[:slots] = records[-1]
            self.bytes_tokens[:slots] = size_left[-1]
            self.records_tokens[slots:] = self.records_capacity
            self.bytes_tokens[slots:] = self.bytes_capacity
            self.second = int(last_second)
        return accepted


def _serve_layers(records: np.ndarray, size_left: np.ndarray, counts: np.ndarray, size_bytes: np.ndarray) -> np.ndarray:
    """Serve ``counts[layer, ...]`` records of ``size_bytes[layer]`` bytes (> 0), layer 0 first,
    from buckets ``records`` and ``size_left`` (shaped like one layer; taken from in place): each
    layer gets what both buckets still hold in whole records. Returns the accepted counts."""
    accepted = np.empty(counts.shape)
    for layer in range(counts.shape[0]):
        size = float(size_bytes[layer])
        fit = np.minimum(np.floor(records), np.floor(size_left / size))
        np.minimum(fit, counts[layer], out=fit)
        np.maximum(fit, 0.0, out=fit)
        records -= fit
        size_left -= fit * size
        accepted[layer] = fit
    return accepted


class ReadBudget(_PerSecondBudget):
    """GetRecords calls and bytes for every shard of one stream (shared by polling consumers)."""

    def __init__(self, bytes_per_second: float, calls_per_second: int):
        self.bytes_per_second = float(bytes_per_second)
        self.calls_per_second = int(calls_per_second)
        self.bytes_tokens = np.zeros(0)
        self.calls_tokens = np.zeros(0, dtype=np.int64)
        self.second: int | None = None

    def add_slot(self) -> int:
        """A new shard starts with a full second of read budget; returns its slot."""
        self.bytes_tokens = np.append(self.bytes_tokens, self.bytes_per_second)
        self.calls_tokens = np.append(self.calls_tokens, self.calls_per_second)
        return len(self.bytes_tokens) - 1

    def refill(self, now: float) -> None:
        """Calls reset at each whole second; the byte bucket repays debt at its rate, capped at one second."""
        elapsed = self.seconds_crossed(now)
        if elapsed <= 0:
            return
        self.bytes_tokens = self.refilled_bytes(self.bytes_tokens, elapsed)
        self.calls_tokens[:] = self.calls_per_second

    def refilled_bytes(self, tokens, elapsed: int):
        """Byte buckets ``tokens`` (an array, or one shard's float) after ``elapsed`` whole seconds."""
        return np.minimum(tokens + elapsed * self.bytes_per_second, self.bytes_per_second)

    @staticmethod
    def admits(calls_left, bytes_left):
        """The admission rule, for arrays or one shard's numbers: a call left this second, and the
        byte bucket above zero (a call may then drive it into debt)."""
        return (calls_left >= 1) & (bytes_left > 0)

    def admit_call(self, slot: int) -> bool:
        """Whether a GetRecords call on ``slot`` may run now (it then counts against the 5/s)."""
        if self.admits(self.calls_tokens[slot], self.bytes_tokens[slot]):
            self.calls_tokens[slot] -= 1
            return True
        return False

    def charge(self, slot: int, size_bytes: int) -> None:
        """Record bytes returned by an admitted call (may leave the bucket in debt)."""
        self.bytes_tokens[slot] -= size_bytes

    def admit_calls(self, slots: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`admit_call`: one call on each of ``slots`` (distinct); returns admitted mask."""
        admitted = self.admits(self.calls_tokens[slots], self.bytes_tokens[slots])
        self.calls_tokens[slots[admitted]] -= 1
        return admitted

    def charge_many(self, slots: np.ndarray, size_bytes: np.ndarray) -> None:
        """Vectorised :meth:`charge` over distinct ``slots``."""
        self.bytes_tokens[slots] -= size_bytes

    def fit_schedule(self, times: np.ndarray, calls: np.ndarray, size_bytes: np.ndarray) -> "ScheduleFit | None":
        """Which shards would admit every call of a schedule, and where their buckets would end;
        changes nothing (None for an empty schedule).

        ``times[i]`` is the virtual time (epoch seconds) of step ``i``; ``calls[slot, i]`` calls
        are made on each shard at that step and return ``size_bytes[slot, i]`` bytes in all. The
        rules are those of :meth:`refill`, :meth:`admit_call` and :meth:`charge`, solved in closed
        form: the byte bucket after step ``i`` is ``y_i = min(y_{i-1} + refill_i - read_i,
        cap_i - read_i)``, a running minimum. A shard fits only with a margin, so rounding in the
        closed form cannot decide a borderline call. Shards are independent: the shards that fit
        can adopt the schedule (:meth:`adopt_schedule`) while the others make their calls one by one.
        """
        slots = len(self.bytes_tokens)
        steps = len(times)
        if not steps:
            return None
        calls_all = np.zeros((slots, steps))
        bytes_all = np.zeros((slots, steps))
        calls_all[:calls.shape[0]] = calls
        bytes_all[:size_bytes.shape[0]] = size_bytes
        seconds = np.floor(np.asarray(times, dtype=np.float64)).astype(np.int64)
        elapsed = np.diff(seconds, prepend=seconds[0] if self.second is None else self.second)
        refilled = elapsed > 0
        gained = np.where(refilled, elapsed * self.bytes_per_second, 0.0)
        ceiling = np.where(refilled, self.bytes_per_second, np.inf)
        growth = np.cumsum(gained[None, :] - bytes_all, axis=1)
        after = growth + np.minimum(self.bytes_tokens[:, None],
                                    np.minimum.accumulate(ceiling[None, :] - bytes_all - growth, axis=1))
        before = after + bytes_all
        margin = 1e-6 * self.bytes_per_second
        bytes_ok = (calls_all == 0) | ((before > margin) & ((calls_all <= 1) | (before - bytes_all > margin)))
        # Calls: the 5 per second reset at each refill; a schedule that starts mid-second has
        # only what is left of that second.
        group = np.cumsum(refilled)
        allowance = np.where(group[None, :] > 0, self.calls_per_second, self.calls_tokens[:, None])
        total = np.cumsum(calls_all, axis=1)
        step = np.arange(steps)
        group_start = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        first_of_group = group_start[np.searchsorted(group_start, step, side="right") - 1]
        before_group = np.where(first_of_group[None, :] > 0, total[:, np.maximum(first_of_group - 1, 0)], 0.0)
        used = total - before_group
        fits = bytes_ok.all(axis=1) & (used <= allowance).all(axis=1)
        return ScheduleFit(fits, after[:, -1].copy(), (allowance[:, -1] - used[:, -1]).astype(np.int64),
                           int(seconds[-1]))

    def adopt_schedule(self, fit: "ScheduleFit", slots: np.ndarray) -> None:
        """Move ``slots`` (a mask or indices of shards that fit) to the end of ``fit``'s schedule.
        The budget's second moves to the schedule's last: the caller has brought (or brings) the
        other shards there by making their calls one by one."""
        self.bytes_tokens[slots] = fit.bytes_after[slots]
        self.calls_tokens[slots] = fit.calls_after[slots]
        self.second = fit.second


class ScheduleFit(NamedTuple):
    """What :meth:`ReadBudget.fit_schedule` found, per shard slot."""

    fits: np.ndarray          #: bool: every call of the schedule on this shard would be admitted
    bytes_after: np.ndarray   #: byte bucket at the end of the schedule (bytes; where it fits)
    calls_after: np.ndarray   #: calls left in the last second of the schedule
    second: int               #: the schedule's last whole second
