"""The budgets' closed forms (a whole schedule or run of seconds at once) against the same rules
applied step by step: admitted exactly when every step is, same end state, nothing changed when
refused."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kinesislab.engine.throughput import ReadBudget, WriteBudget
from kinesislab.scenario.consumers import FanOutReader, Lineage
from kinesislab.scenario.model import EnhancedFanOutConsumer
from kinesislab.scenario.shard_log import ShardLog

MiB = 2**20


def _read_budget(slots: int, spent: list[float], calls_left: list[int], second: int | None) -> ReadBudget:
    budget = ReadBudget(2 * MiB, 5)
    for _ in range(slots):
        budget.add_slot()
    budget.bytes_tokens[:] = spent
    budget.calls_tokens[:] = calls_left
    budget.second = second
    return budget


def _step_by_step(budget: ReadBudget, times, calls, size_bytes) -> np.ndarray:
    """Every call through refill / admit_calls / charge_many; per slot, whether all of its calls
    were admitted (a slot stops calling at its first refusal; the others go on: shards are
    independent)."""
    slots = np.arange(len(budget.bytes_tokens))
    admitted = np.ones(len(slots), dtype=bool)
    for step, time in enumerate(times):
        budget.refill(time)
        for slot in slots[admitted]:
            n = int(calls[slot, step])
            for call in range(n):
                if not budget.admit_calls(np.array([slot]))[0]:
                    admitted[slot] = False
                    break
                # The schedule's bytes arrive with the step's last call.
                budget.charge_many(np.array([slot]), np.array([size_bytes[slot, step] if call == n - 1 else 0.0]))
    return admitted


@settings(max_examples=300, deadline=None)
@given(data=st.data(), slots=st.integers(1, 3), steps=st.integers(1, 12),
       resolution=st.sampled_from([1.0, 0.5, 0.2]), second=st.one_of(st.none(), st.just(99)))
def test_a_shard_fits_a_read_schedule_only_when_every_call_would_pass(data, slots, steps, resolution, second):
    spent = data.draw(st.lists(st.sampled_from([2 * MiB, MiB, 1.0, 0.0, -3 * MiB]), min_size=slots, max_size=slots))
    calls_left = data.draw(st.lists(st.integers(0, 5), min_size=slots, max_size=slots))
    calls = np.array(data.draw(st.lists(st.lists(st.integers(0, 2), min_size=steps, max_size=steps),
                                        min_size=slots, max_size=slots)), dtype=float)
    size_bytes = np.array(data.draw(st.lists(st.lists(st.sampled_from([0.0, 1e5, MiB, 1.5 * MiB, 3 * MiB]),
                                                      min_size=steps, max_size=steps),
                                             min_size=slots, max_size=slots))) * (calls > 0)
    times = 100.0 + np.arange(steps) * resolution
    closed = _read_budget(slots, spent, calls_left, second)
    stepped = _read_budget(slots, spent, calls_left, second)
    before = (closed.bytes_tokens.copy(), closed.calls_tokens.copy(), closed.second)
    admitted = _step_by_step(stepped, times, calls, size_bytes)
    fit = closed.fit_schedule(times, calls, size_bytes)
    # Per shard: it fits only if every call passes (a margin may refuse a borderline pass).
    assert not (fit.fits & ~admitted).any()
    np.testing.assert_array_equal(closed.bytes_tokens, before[0])     # fitting changes nothing
    np.testing.assert_array_equal(closed.calls_tokens, before[1])
    assert closed.second == before[2]
    closed.adopt_schedule(fit, fit.fits)
    fits = fit.fits
    np.testing.assert_allclose(closed.bytes_tokens[fits], stepped.bytes_tokens[fits], rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(closed.calls_tokens[fits], stepped.calls_tokens[fits])
    np.testing.assert_array_equal(closed.bytes_tokens[~fits], before[0][~fits])   # the others wait
    assert closed.second == stepped.second


@settings(max_examples=200, deadline=None)
@given(data=st.data(), seconds=st.integers(1, 6), layers=st.integers(1, 2))
def test_whole_seconds_take_what_second_by_second_takes(data, seconds, layers):
    counts = np.array(data.draw(st.lists(st.integers(0, 1500), min_size=seconds * layers * 3,
                                         max_size=seconds * layers * 3)), dtype=float).reshape(seconds, layers, 3)
    sizes = np.array(data.draw(st.lists(st.integers(1, 400_000), min_size=layers, max_size=layers)), dtype=float)

    def budget() -> WriteBudget:
        b = WriteBudget(MiB, 1000, MiB, 1000)
        for _ in range(3):
            b.add_slot()
        return b

    closed, stepped = budget(), budget()
    accepted = closed.take_whole_seconds(counts, sizes, last_second=10 + len(counts) - 1)
    for second, offered in enumerate(counts):
        stepped.refill(10 + second)
        np.testing.assert_array_equal(accepted[second], stepped.take_layers(offered, sizes))
    np.testing.assert_array_equal(closed.records_tokens, stepped.records_tokens)
    np.testing.assert_array_equal(closed.bytes_tokens, stepped.bytes_tokens)


def test_whole_seconds_refuse_buckets_that_hold_more_than_a_second():
    tank = WriteBudget(MiB, 1000, 10 * MiB, 1000)  # a large-record byte tank
    tank.add_slot()
    assert tank.take_whole_seconds(np.ones((2, 1, 1)), np.array([100.0]), last_second=1) is None
    assert tank.bytes_tokens[0] == 10 * MiB and tank.second is None


def test_a_reader_moved_by_retention_mid_segment_is_not_planned_in_closed_form():
    log = ShardLog(ticks=10, resolution=1.0, slots=1)
    for _ in range(10):
        log.append(np.array([100.0]), np.array([100_000.0]))
    reader = FanOutReader(EnhancedFanOutConsumer(name="slow"), ticks=10, resolution=1.0, bytes_per_second=1000.0)
    reader.ensure_slots(1, log)
    log.now_row = 1
    live = np.array([0])
    reader.discover(live, log)
    cap = reader.records_per_tick(log.mean_record_bytes_rows(1, 11)[:1])  # 1 record per tick
    assert reader.plan(live, Lineage(), log, 0, 10, cap, retention_ticks=1000) is not None
    # With a retention of 3 ticks the trim horizon overtakes the reader: tick by tick instead.
    assert reader.plan(live, Lineage(), log, 0, 10, cap, retention_ticks=3) is None
    assert reader.positions[0] == 0
