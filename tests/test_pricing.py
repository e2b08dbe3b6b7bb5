"""Bills on tiny hand-computed cases, then properties.

Byte conventions under test (kinesislab.pricing docstring): KB = KiB = 1,024 bytes, so a PUT
payload unit is 25,600 bytes; GB = GiB = 2**30 bytes; a month is 730 hours.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from kinesislab.limits import KiB, MiB, Limits
from kinesislab.pricing import (
    BILL_COLUMNS, BYTES_PER_GB, MODES, ON_DEMAND, PRICES_AS_OF, PROVISIONED, Prices, Usage, bill,
    break_even_records_per_second, compare_modes, firehose_billed_bytes, firehose_ingest_cost,
    hourly_cost_curve, on_demand_billed_bytes, put_payload_units, retention_storage_gb_months,
    shards_needed, total,
)

HOUR = 3600
DAY = 24 * HOUR
GB_MONTH_BYTE_SECONDS = 2**30 * 730 * HOUR  # one GB-month, in byte-seconds


def cost_of(frame: pd.DataFrame, item: str, mode: str | None = None) -> float:
    rows = frame[frame["item"] == item]
    if mode is not None:
        rows = rows[rows["mode"] == mode]
    assert len(rows) == 1, (item, mode, frame)
    return float(rows["cost_usd"].iloc[0])


def quantity_of(frame: pd.DataFrame, item: str, mode: str | None = None) -> float:
    rows = frame[frame["item"] == item]
    if mode is not None:
        rows = rows[rows["mode"] == mode]
    assert len(rows) == 1
    return float(rows["quantity"].iloc[0])


# --- Prices ----------------------------------------------------------------------------------

def test_every_price_has_source_and_unit_and_is_dated():
    assert PRICES_AS_OF == "2026-09"
    for f in dataclasses.fields(Prices):
        assert f.metadata["source"], f.name
        assert f.metadata["unit"], f.name
    assert "UNCONFIRMED" in Prices.source_of("advantage_data_in_usd_per_gb")
    assert "UNCONFIRMED" in Prices.source_of("firehose_ingest_usd_per_gb")
    assert Prices.source_of("provisioned_shard_hour_usd") == "INFRA"
    assert len(pd.DataFrame(Prices.table())) == len(dataclasses.fields(Prices))


def test_defaults_are_the_fact_sheet_figures():
    p = Prices()
    assert (p.provisioned_shard_hour_usd, p.put_payload_usd_per_million_units) == (0.015, 0.014)
    assert (p.provisioned_extended_retention_usd_per_shard_hour, p.provisioned_long_term_retention_usd_per_gb_month,
            p.provisioned_long_term_retrieval_usd_per_gb) == (0.020, 0.023, 0.021)
    assert (p.provisioned_efo_usd_per_consumer_shard_hour, p.provisioned_efo_retrieval_usd_per_gb) == (0.015, 0.013)
    assert (p.on_demand_stream_hour_usd, p.on_demand_data_in_usd_per_gb, p.on_demand_retrieval_usd_per_gb,
            p.on_demand_efo_retrieval_usd_per_gb) == (0.04, 0.08, 0.04, 0.05)
    assert (p.on_demand_extended_retention_usd_per_gb_month, p.on_demand_long_term_retention_usd_per_gb_month) == (
        0.10, 0.023)
    assert (p.advantage_stream_hour_usd, p.advantage_data_in_usd_per_gb, p.advantage_retrieval_usd_per_gb,
            p.advantage_efo_retrieval_usd_per_gb, p.advantage_extended_retention_usd_per_gb_month) == (
        0.0, 0.032, 0.016, 0.016, 0.023)
    assert p.firehose_ingest_usd_per_gb == 0.029
    assert (p.put_payload_unit_bytes, p.on_demand_record_rounding_bytes, p.firehose_record_rounding_bytes) == (
        25_600, 1_024, 5_120)
    assert (p.bytes_per_gb, p.hours_per_month) == (2**30, 730.0) and BYTES_PER_GB == 2**30
    assert p.override(provisioned_shard_hour_usd=0.02).provisioned_shard_hour_usd == 0.02


# --- Per-record units -------------------------------------------------------------------------

@pytest.mark.parametrize("size_bytes, units", [
    (1, 1),
    (5 * KiB, 1),            # 5 KB record = 1 unit (KDS-P example)
    (25_600, 1),             # exactly one unit
    (25_601, 2),
    (45 * KiB, 2),           # 46,080 B = 1.8 units -> 2 (KDS-P example)
    (1000 * KiB, 40),        # "1 MB" = 1,024,000 B = 40 units exactly (KDS-P example)
    (1 * MiB, 41),           # 1,048,576 B = 40.96 units -> 41: the 1 MiB maximum record
    (0, 1),                  # CHOSEN: every record is at least one unit
])
def test_put_payload_units(size_bytes, units):
    assert put_payload_units(size_bytes) == units


def test_put_payload_units_sum_over_records():
    assert put_payload_units([5 * KiB, 45 * KiB, 1000 * KiB]) == 1 + 2 + 40
    assert put_payload_units([]) == 0
    # A size histogram: 3 records of 5 KiB and 2 of 45 KiB.
    assert put_payload_units([5 * KiB, 45 * KiB], record_counts=[3, 2]) == 3 * 1 + 2 * 2
    assert on_demand_billed_bytes([4608], record_counts=[10]) == 10 * 5 * KiB
    with pytest.raises(ValueError):
        put_payload_units([1, 2], record_counts=[1])


def test_on_demand_rounds_each_record_up_to_a_kib():
    assert on_demand_billed_bytes(4608) == 5 * KiB        # 4.5 KiB bills 5 KiB
    assert on_demand_billed_bytes(1024) == 1024
    assert on_demand_billed_bytes(1) == 1024
    assert on_demand_billed_bytes([100, 100]) == 2048     # per record, not per call


def test_firehose_rounds_each_record_up_to_5_kib():
    assert firehose_billed_bytes(3 * KiB) == 5 * KiB      # 3 KB -> 5 KB
    assert firehose_billed_bytes(42 * KiB) == 45 * KiB    # 42 KB -> 45 KB
    assert firehose_billed_bytes([1 * KiB, 1 * KiB]) == 10 * KiB  # two 1 KB records bill 10 KB
    # 2**20 records of 1 KiB bill 2**20 x 5 KiB = 5 GiB -> 5 x $0.029.
    assert firehose_ingest_cost(np.full(2**20, KiB)) == pytest.approx(5 * 0.029, rel=1e-12)


# --- Bills on tiny cases -----------------------------------------------------------------------

def test_one_shard_for_one_hour_costs_0_015():
    usage = Usage("s", mode_seconds={PROVISIONED: HOUR}, shard_seconds={PROVISIONED: HOUR}, duration_seconds=HOUR)
    frame = bill(usage)
    assert list(frame.columns) == BILL_COLUMNS
    assert set(frame["mode"]) == {PROVISIONED}
    assert total(frame) == pytest.approx(0.015, abs=1e-15)
    assert quantity_of(frame, "Shard hours") == 1.0


def test_a_million_5kb_records_cost_0_014_in_payload_units():
    sizes = np.full(1_000_000, 5 * KiB)
    usage = Usage("s", mode_seconds={PROVISIONED: HOUR}, records_in={PROVISIONED: len(sizes)},
                  bytes_in={PROVISIONED: int(sizes.sum())}, put_payload_units={PROVISIONED: put_payload_units(sizes)},
                  duration_seconds=HOUR)
    frame = bill(usage)
    assert quantity_of(frame, "PUT payload units") == 1.0  # million units
    assert cost_of(frame, "PUT payload units") == pytest.approx(0.014, abs=1e-15)


def test_on_demand_idle_hour_costs_0_04():
    usage = Usage("s", mode_seconds={ON_DEMAND: HOUR}, shard_seconds={ON_DEMAND: 4 * HOUR}, duration_seconds=HOUR)
    frame = bill(usage)
    assert set(frame["mode"]) == {ON_DEMAND}
    assert total(frame) == pytest.approx(0.04, abs=1e-15)
    # The same hour as provisioned: the 4 shards on-demand kept open, 4 x 0.015.
    assert total(bill(usage, as_mode=PROVISIONED)) == pytest.approx(0.06, abs=1e-15)
    # Advantage has no stream-hour charge (the account-wide minimum is not applied here).
    assert total(bill(usage, on_demand_pricing="ADVANTAGE")) == 0.0


def test_on_demand_data_in_retrieval_and_efo_per_gib():
    usage = Usage("s", mode_seconds={ON_DEMAND: HOUR}, on_demand_billed_bytes_in={ON_DEMAND: 2 * 2**30},
                  get_records_bytes={ON_DEMAND: 2**30}, efo_bytes={ON_DEMAND: 3 * 2**30},
                  efo_consumer_shard_seconds={ON_DEMAND: 10 * HOUR}, duration_seconds=HOUR)
    frame = bill(usage)
    assert cost_of(frame, "Data in") == pytest.approx(0.16)
    assert cost_of(frame, "Data retrieval") == pytest.approx(0.04)
    assert cost_of(frame, "EFO data retrieval") == pytest.approx(0.15)
    assert "EFO consumer-shard hours" not in set(frame["item"])  # on-demand has no per-consumer-hour fee
    assert total(frame) == pytest.approx(0.04 + 0.16 + 0.04 + 0.15)
    advantage = bill(usage, on_demand_pricing="ADVANTAGE")
    assert total(advantage) == pytest.approx(2 * 0.032 + 0.016 + 3 * 0.016)


def test_provisioned_efo_and_free_get_records():
    usage = Usage("s", mode_seconds={PROVISIONED: HOUR}, shard_seconds={PROVISIONED: 2 * HOUR},
                  get_records_bytes={PROVISIONED: 5 * 2**30}, efo_bytes={PROVISIONED: 2**30},
                  efo_consumer_shard_seconds={PROVISIONED: 2 * 3 * HOUR},  # 3 consumers x 2 shards x 1 h
                  long_term_retrieval_bytes={PROVISIONED: 2**30}, duration_seconds=HOUR)
    frame = bill(usage)
    assert cost_of(frame, "Data retrieval") == 0.0
    assert cost_of(frame, "EFO consumer-shard hours") == pytest.approx(6 * 0.015)
    assert cost_of(frame, "EFO data retrieval") == pytest.approx(0.013)
    assert cost_of(frame, "Long-term retention retrieval") == pytest.approx(0.021)
    assert total(frame) == pytest.approx(2 * 0.015 + 6 * 0.015 + 0.013 + 0.021)


def test_cost_is_quantity_times_unit_price_on_every_row():
    usage = Usage("s", mode_seconds={PROVISIONED: 100, ON_DEMAND: 200}, shard_seconds={PROVISIONED: 300, ON_DEMAND: 800},
                  put_payload_units={PROVISIONED: 7, ON_DEMAND: 9}, on_demand_billed_bytes_in={ON_DEMAND: 4096},
                  retention_hours=48, duration_seconds=300, mode_periods=((0, 100, PROVISIONED), (100, 300, ON_DEMAND)))
    for as_mode in (None, PROVISIONED, ON_DEMAND):
        frame = bill(usage, as_mode=as_mode)
        assert np.allclose(frame["cost_usd"], frame["quantity"] * frame["unit_price_usd"], rtol=0, atol=0)


# --- Retention storage ------------------------------------------------------------------------

def test_extended_retention_storage_on_a_tiny_series():
    # 1,000 B at second 0 and 2,000 B at second 1; retention 48 h; the run ends 10 s after the
    # first byte turns 24 h old. Extended tier = [s + 24 h, s + 48 h) cut at 86,410 s:
    #   second 0: [86,400, 86,410) = 10 s -> 10,000 byte-seconds
    #   second 1: [86,401, 86,410) =  9 s -> 18,000 byte-seconds
    usage = Usage("s", mode_seconds={ON_DEMAND: DAY + 10}, ingest_bytes_per_second=[1000, 2000],
                  retention_hours=48, duration_seconds=DAY + 10)
    expected_gb_months = 28_000 / GB_MONTH_BYTE_SECONDS
    frame = bill(usage)
    assert quantity_of(frame, "Extended retention") == pytest.approx(expected_gb_months, rel=1e-12)
    assert cost_of(frame, "Extended retention") == pytest.approx(expected_gb_months * 0.10, rel=1e-12)
    assert quantity_of(frame, "Long-term retention") == 0.0
    # With the default 24 h retention nothing is ever in a paid tier.
    free = dataclasses.replace(usage, retention_hours=24)
    assert quantity_of(bill(free), "Extended retention") == 0.0


def test_storage_stops_at_the_retention_period_and_moves_to_long_term_after_7_days():
    # 1 GiB at second 0, retention 10 days, run of 12 days: extended for 6 days (24 h .. 7 d),
    # long-term for 3 days (7 d .. 10 d), then the data expires.
    tiers = retention_storage_gb_months([2**30], retention_hours=240, window_start_seconds=0,
                                        window_end_seconds=12 * DAY)
    assert tiers["extended"] == pytest.approx(6 * 24 / 730, rel=1e-12)
    assert tiers["long_term"] == pytest.approx(3 * 24 / 730, rel=1e-12)
    # Retention 3 days: only 2 days extended, no long-term.
    tiers = retention_storage_gb_months([2**30], 72, 0, 12 * DAY)
    assert tiers == pytest.approx({"extended": 2 * 24 / 730, "long_term": 0.0}, rel=1e-12)


def test_provisioned_retention_is_per_shard_hour_plus_long_term_gb_months():
    usage = Usage("s", mode_seconds={PROVISIONED: 9 * DAY}, shard_seconds={PROVISIONED: 2 * 9 * DAY},
                  ingest_bytes_per_second=[2**30], retention_hours=240, duration_seconds=9 * DAY)
    frame = bill(usage)
    assert quantity_of(frame, "Extended retention") == pytest.approx(2 * 9 * 24)  # shard-hours, R > 24 h
    assert cost_of(frame, "Extended retention") == pytest.approx(2 * 9 * 24 * 0.020)
    assert quantity_of(frame, "Long-term retention") == pytest.approx(2 * 24 / 730)  # days 7..9
    as_on_demand = bill(usage, as_mode=ON_DEMAND)
    assert quantity_of(as_on_demand, "Extended retention") == pytest.approx(6 * 24 / 730)


def test_mode_periods_split_storage_exactly():
    # 1 GiB at second 0, retention 7 days, provisioned for the first 2 days, then on-demand for 3.
    usage = Usage("s", mode_seconds={PROVISIONED: 2 * DAY, ON_DEMAND: 3 * DAY},
                  shard_seconds={PROVISIONED: 2 * DAY, ON_DEMAND: 3 * DAY}, ingest_bytes_per_second=[2**30],
                  retention_hours=168, duration_seconds=5 * DAY,
                  mode_periods=((0, 2 * DAY, PROVISIONED), (2 * DAY, 5 * DAY, ON_DEMAND)))
    frame = bill(usage)
    # On-demand holds the GiB in the extended tier for its whole 3 days.
    assert quantity_of(frame, "Extended retention", ON_DEMAND) == pytest.approx(3 * 24 / 730, rel=1e-12)
    assert quantity_of(frame, "Extended retention", PROVISIONED) == pytest.approx(2 * 24)  # shard-hours
    assert compare_modes(usage).loc["as run", "total_usd"] == pytest.approx(total(frame))


# --- Modes, merging, comparison ----------------------------------------------------------------

def test_as_mode_bills_everything_in_one_mode():
    usage = Usage("s", mode_seconds={PROVISIONED: HOUR, ON_DEMAND: HOUR},
                  shard_seconds={PROVISIONED: 2 * HOUR, ON_DEMAND: 4 * HOUR},
                  put_payload_units={PROVISIONED: 1_000_000, ON_DEMAND: 3_000_000},
                  on_demand_billed_bytes_in={PROVISIONED: 2**30, ON_DEMAND: 3 * 2**30}, duration_seconds=2 * HOUR,
                  mode_periods=((0, HOUR, PROVISIONED), (HOUR, 2 * HOUR, ON_DEMAND)))
    as_run = bill(usage)
    assert total(as_run) == pytest.approx(2 * 0.015 + 0.014 + 0.04 + 3 * 0.08)
    assert total(bill(usage, as_mode=PROVISIONED)) == pytest.approx(6 * 0.015 + 4 * 0.014)
    assert total(bill(usage, as_mode=ON_DEMAND)) == pytest.approx(2 * 0.04 + 4 * 0.08)
    table = compare_modes(usage)
    assert list(table.index) == ["as run", "all provisioned", "all on-demand"]
    assert list(table.columns) == ["total_usd"]
    assert table.loc["all on-demand", "total_usd"] == pytest.approx(0.40)


def test_merge_lays_windows_end_to_end():
    first = Usage("s", mode_seconds={ON_DEMAND: DAY}, ingest_bytes_per_second=[2**30], retention_hours=48,
                  duration_seconds=DAY)
    # 5 bytes in the second window's first second: never 24 h old before the run ends.
    second = Usage("s", mode_seconds={ON_DEMAND: DAY}, ingest_bytes_per_second=[5], retention_hours=48,
                   duration_seconds=DAY)
    merged = first + second
    assert merged.duration_seconds == 2 * DAY
    assert merged.mode_seconds == {ON_DEMAND: 2 * DAY}
    assert merged.mode_periods == ((0, DAY, ON_DEMAND), (DAY, 2 * DAY, ON_DEMAND))
    # The first window's series is padded to its duration so the second's starts at second 86,400.
    assert len(merged.ingest_bytes_per_second) == DAY + 1 and merged.ingest_bytes_per_second[DAY] == 5
    # The GiB from the first day is stored in the extended tier throughout the second day.
    assert total(bill(merged)) == pytest.approx(2 * 24 * 0.04 + 24 / 730 * 0.10)
    assert total(bill(first)) + total(bill(second)) == pytest.approx(2 * 24 * 0.04)
    assert Usage.merge(first) == dataclasses.replace(first, mode_periods=((0, DAY, ON_DEMAND),))
    with pytest.raises(ValueError):
        Usage.merge(first, dataclasses.replace(second, retention_hours=24))
    with pytest.raises(ValueError):
        Usage.merge(first, dataclasses.replace(second, stream_name="other"))


def test_usage_rejects_unknown_modes_and_negative_counts():
    with pytest.raises(ValueError):
        Usage(mode_seconds={"SERVERLESS": 1.0})
    with pytest.raises(ValueError):
        Usage(records_in={PROVISIONED: -1})
    with pytest.raises(ValueError):
        bill(Usage(), as_mode="provisioned")


def test_empty_usage_bills_nothing():
    frame = bill(Usage())
    assert list(frame.columns) == BILL_COLUMNS and len(frame) == 0 and total(frame) == 0.0


# --- Break-even helpers -------------------------------------------------------------------------

def test_shards_needed_uses_the_limits():
    limits = Limits()
    assert shards_needed(0, 100).item() == 1
    assert shards_needed(1000, 100).item() == 1
    assert shards_needed(1001, 100).item() == 2                        # 1,000 records/s per shard
    assert shards_needed(1024, 1024, get_records_consumers=0).item() == 2  # 1,024 records/s
    assert shards_needed(64, 16 * KiB, get_records_consumers=0).item() == 1  # exactly 1 MiB/s
    assert shards_needed(65, 16 * KiB, get_records_consumers=0).item() == 2
    assert shards_needed(64, 16 * KiB, get_records_consumers=3).item() == 2  # 3 MiB/s of reads, 2 MiB/s per shard
    assert shards_needed(1000, 100, limits.override(shard_write_records_per_second=500)).item() == 2


def test_hourly_cost_curve_matches_bill_of_one_steady_hour():
    rate, size, consumers, efo = 300.0, 3000, 2, 1
    curve = hourly_cost_curve(rate, size, get_records_consumers=consumers, efo_consumers=efo)
    shards = int(curve["shards"].iloc[0])
    records = int(rate * HOUR)
    usage = Usage(
        "s", mode_seconds={PROVISIONED: HOUR}, shard_seconds={PROVISIONED: shards * HOUR},
        records_in={PROVISIONED: records}, bytes_in={PROVISIONED: records * size},
        put_payload_units={PROVISIONED: records * put_payload_units(size)},
        on_demand_billed_bytes_in={PROVISIONED: records * on_demand_billed_bytes(size)},
        get_records_bytes={PROVISIONED: consumers * records * size}, efo_bytes={PROVISIONED: efo * records * size},
        efo_consumer_shard_seconds={PROVISIONED: efo * shards * HOUR}, duration_seconds=HOUR)
    assert curve["provisioned_usd_per_hour"].iloc[0] == pytest.approx(total(bill(usage, as_mode=PROVISIONED)))
    # The bill's on-demand stream-hours come from the run's one hour in a mode.
    assert curve["on_demand_usd_per_hour"].iloc[0] == pytest.approx(total(bill(usage, as_mode=ON_DEMAND)))


def test_hourly_cost_curve_steady_state_storage():
    # Steady 1,000 B/s with 10-day retention: the hour after the stream is 10 days old holds
    # 6 days of ingest in the extended tier and 3 days in long-term.
    bytes_per_second = 1000
    series = np.full(11 * DAY, bytes_per_second)
    last_hour = retention_storage_gb_months(series, 240, 11 * DAY - HOUR, 11 * DAY)
    stored_extended_gb = bytes_per_second * 6 * DAY / 2**30
    assert last_hour["extended"] == pytest.approx(stored_extended_gb / 730, rel=1e-9)
    curve = hourly_cost_curve(1.0, bytes_per_second, get_records_consumers=0, retention_hours=240)
    no_retention = hourly_cost_curve(1.0, bytes_per_second, get_records_consumers=0)
    on_demand_storage = curve["on_demand_usd_per_hour"].iloc[0] - no_retention["on_demand_usd_per_hour"].iloc[0]
    assert on_demand_storage == pytest.approx(last_hour["extended"] * 0.10 + last_hour["long_term"] * 0.023, rel=1e-9)
    provisioned_storage = curve["provisioned_usd_per_hour"].iloc[0] - no_retention["provisioned_usd_per_hour"].iloc[0]
    assert provisioned_storage == pytest.approx(0.020 + last_hour["long_term"] * 0.023, rel=1e-9)


def test_right_sized_provisioned_is_always_cheaper_at_these_prices():
    assert break_even_records_per_second(1024) is None
    curve = hourly_cost_curve(np.arange(0, 20_000, 500), 1024)
    assert (curve["cheaper"] == PROVISIONED).all()


def test_break_even_with_ten_fixed_shards():
    # 10 shards for a 10,000 records/s peak, 1 KiB records, one GetRecords reader: the lines are
    # 10 x 0.015 + r x 3,600 x 0.014e-6 (provisioned) and 0.04 + r x 3,600 x KiB/GiB x (0.08 + 0.04).
    per_rate_provisioned = HOUR * 0.014e-6
    per_rate_on_demand = HOUR * KiB / 2**30 * (0.08 + 0.04)
    expected = (10 * 0.015 - 0.04) / (per_rate_on_demand - per_rate_provisioned)
    found = break_even_records_per_second(1024, provisioned_shards=10)
    assert found == pytest.approx(expected, rel=1e-9)
    curve = hourly_cost_curve([found * 0.9, found * 1.1], 1024, provisioned_shards=10)
    assert list(curve["cheaper"]) == [ON_DEMAND, PROVISIONED]


# --- Properties -------------------------------------------------------------------------------

counts = st.integers(min_value=0, max_value=10**12)
seconds = st.integers(min_value=0, max_value=10 * DAY)


@st.composite
def usages(draw, mixed: bool = True) -> Usage:
    """A run of up to 10 days: provisioned for [0, split), on-demand for [split, duration)."""
    duration = draw(st.integers(min_value=0, max_value=10 * DAY))
    split = draw(st.integers(min_value=0, max_value=duration)) if mixed else draw(st.sampled_from([0, duration]))
    mode_seconds = {PROVISIONED: float(split), ON_DEMAND: float(duration - split)}
    ingest = np.zeros(duration, dtype=np.int64)
    for _ in range(draw(st.integers(min_value=0, max_value=5))) if duration else ():
        ingest[draw(st.integers(min_value=0, max_value=duration - 1))] += draw(st.integers(0, 10**12))

    def per_mode(values):
        return {mode: draw(values) for mode in MODES if mode_seconds[mode] > 0}

    return Usage(
        "s", mode_seconds={m: s for m, s in mode_seconds.items() if s > 0},
        shard_seconds=per_mode(st.integers(0, 100 * 10 * DAY)), records_in=per_mode(counts),
        bytes_in=per_mode(counts), put_payload_units=per_mode(counts), on_demand_billed_bytes_in=per_mode(counts),
        get_records_bytes=per_mode(counts), efo_bytes=per_mode(counts),
        efo_consumer_shard_seconds=per_mode(st.integers(0, 10**9)), long_term_retrieval_bytes=per_mode(counts),
        retention_hours=draw(st.sampled_from([24, 25, 72, 168, 200, 8760])),
        ingest_bytes_per_second=ingest, duration_seconds=float(duration),
        mode_periods=tuple(p for p in ((0, split, PROVISIONED), (split, duration, ON_DEMAND)) if p[1] > p[0]),
    )


as_modes = st.sampled_from([None, PROVISIONED, ON_DEMAND])
pricings = st.sampled_from(["STANDARD", "ADVANTAGE"])


@settings(max_examples=60, deadline=None)
@given(usages(), as_modes, pricings)
def test_costs_are_never_negative(usage, as_mode, pricing):
    frame = bill(usage, as_mode=as_mode, on_demand_pricing=pricing)
    assert (frame["cost_usd"] >= 0).all() and (frame["quantity"] >= 0).all()


@settings(max_examples=60, deadline=None)
@given(usages(), st.sampled_from([PROVISIONED, ON_DEMAND]), st.data())
def test_cost_is_monotone_in_usage(usage, as_mode, data):
    """In a fixed billing mode, more of anything never costs less."""
    what = data.draw(st.sampled_from(
        ["shard_seconds", "records_in", "put_payload_units", "on_demand_billed_bytes_in", "get_records_bytes",
         "efo_bytes", "efo_consumer_shard_seconds", "long_term_retrieval_bytes", "mode_seconds",
         "retention_hours", "ingest", "duration_seconds"]))
    extra = data.draw(st.integers(min_value=1, max_value=10**12))
    if what == "retention_hours":
        more = dataclasses.replace(usage, retention_hours=min(8760, usage.retention_hours + extra % 9000))
    elif what == "ingest":
        if not len(usage.ingest_bytes_per_second):
            return
        series = usage.ingest_bytes_per_second.copy()
        series[data.draw(st.integers(0, len(series) - 1))] += extra
        more = dataclasses.replace(usage, ingest_bytes_per_second=series)
    elif what == "duration_seconds":
        more = dataclasses.replace(usage, duration_seconds=usage.duration_seconds + extra % (10 * DAY),
                                   mode_periods=None)
        usage = dataclasses.replace(usage, mode_periods=None)
    else:
        mode = data.draw(st.sampled_from(MODES))
        counters = dict(getattr(usage, what))
        counters[mode] = counters.get(mode, 0) + extra
        more = dataclasses.replace(usage, **{what: counters})
    assert total(bill(more, as_mode=as_mode)) >= total(bill(usage, as_mode=as_mode)) * (1 - 1e-12)


@settings(max_examples=60, deadline=None)
@given(usages())
def test_as_run_bill_is_the_sum_of_each_mode_billed_as_itself(usage):
    as_run = bill(usage)
    for mode in usage.modes_used():
        part = bill(usage.restricted_to(mode), as_mode=mode)
        rows = as_run[as_run["mode"] == mode].reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, part, check_exact=False, rtol=1e-12)
    assert set(as_run["mode"]) <= set(usage.modes_used())


@settings(max_examples=60, deadline=None)
@given(usages(), st.sampled_from([PROVISIONED, ON_DEMAND]), pricings)
def test_as_mode_bill_is_additive_over_the_mode_split(usage, as_mode, pricing):
    whole = total(bill(usage, as_mode=as_mode, on_demand_pricing=pricing))
    parts = sum(total(bill(usage.restricted_to(m), as_mode=as_mode, on_demand_pricing=pricing)) for m in MODES)
    assert whole == pytest.approx(parts, rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(usages(mixed=False))
def test_single_mode_run_as_run_equals_as_that_mode(usage):
    for mode in usage.modes_used():
        assert total(bill(usage)) == pytest.approx(total(bill(usage, as_mode=mode)), rel=1e-12, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(usages(), usages())
def test_merged_windows_cost_at_least_the_windows_alone(first, second):
    second = dataclasses.replace(second, retention_hours=first.retention_hours)
    merged = first + second
    assert total(bill(merged)) >= (total(bill(first)) + total(bill(second))) * (1 - 1e-9)
    if first.retention_hours == 24:  # nothing is stored in a paid tier: bills simply add
        assert total(bill(merged)) == pytest.approx(total(bill(first)) + total(bill(second)), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=12 * MiB), max_size=50))
def test_rounding_never_bills_less_than_the_bytes(sizes):
    assert on_demand_billed_bytes(sizes) >= sum(sizes)
    assert firehose_billed_bytes(sizes) >= sum(sizes)
    assert put_payload_units(sizes) * 25_600 >= sum(sizes)
    assert put_payload_units(sizes) >= len(sizes)
    assert firehose_billed_bytes(sizes) - sum(sizes) <= 5 * KiB * len(sizes)  # at most one unit of slack each
