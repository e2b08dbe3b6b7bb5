"""What a simulated run would cost: itemised Kinesis Data Streams bills in both capacity modes.

Every price is a dated, overridable default of :class:`Prices` with its source tag in the field
metadata. Tags refer to ``reference/kinesis-facts.md`` §8 and §10: INFRA the Infracost golden
file (AWS Price List API, a secondary source), KDS-P the Kinesis Data Streams pricing page prose,
BLOG-ODA the On-demand Advantage launch post, FH-P the Firehose pricing page, CHOSEN a value the
sources leave open and this module picks (the field's comment says why). ``UNCONFIRMED`` is kept
in the tag wherever the fact sheet says so.

Units, decided once for the whole module:

* **GB means GiB, 2**30 bytes** (:data:`BYTES_PER_GB`). AWS writes "GB" on its Kinesis price
  list without defining it; its limits for the same service are binary (1 MiB records, 1 MiB/s
  per shard, 5,120-byte Firehose "5 KB"), so the bill uses the same binary units as the limits.
  The decimal reading would make every per-GB line about 7.4 % larger.
* **KB means KiB, 1,024 bytes.** Hence a PUT payload unit is **25 x 1,024 = 25,600 bytes**, the
  on-demand per-record rounding is 1,024 bytes and the Firehose rounding 5,120 bytes. The
  Firehose page states "5 KB (5,120 bytes)" outright, and the only worked example AWS gives for
  payload units ("a 1 MB record contains 40 units") is exact for a 1,000 KiB (1,024,000-byte)
  record under this reading. Consequence worth teaching: the largest classic record,
  1 MiB = 1,048,576 bytes, is 40.96 units and bills **41**.
* **A month is 730 hours** (8,760 h / 12), the month the AWS price list and Infracost use
  ("$10.95 per shard-month" = 0.015 x 730).
* Every record bills at least one unit of its rounding (one payload unit, 1 KiB on-demand,
  5 KiB Firehose): the sources round *up*, and a record always has a partition key, so its
  size is never 0 in practice. (CHOSEN for the degenerate 0-byte case.)

Record sizes are what the limits count: data blob plus UTF-8 partition key, in bytes.

No rounding to cents happens here: AWS rounds the invoice, and lessons want to see fractions of
a cent for tiny runs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from kinesislab.limits import KiB, Limits
from kinesislab.sourced import Sourced, sourced

#: When the default prices were last checked against the fact sheet (YYYY-MM).
PRICES_AS_OF = "2026-09"

PROVISIONED = "PROVISIONED"
ON_DEMAND = "ON_DEMAND"
#: The capacity modes, in the order bills list them (the API's ``StreamMode`` values).
MODES: tuple[str, ...] = (PROVISIONED, ON_DEMAND)

#: "GB" on the bill = GiB (see the module docstring for why).
BYTES_PER_GB = 2**30
SECONDS_PER_HOUR = 3600.0

OnDemandPricing = Literal["STANDARD", "ADVANTAGE"]

BILL_COLUMNS = ["item", "mode", "quantity", "unit", "unit_price_usd", "cost_usd"]


@dataclass(frozen=True)
class Prices(Sourced):
    """US East (N. Virginia) prices, as of :data:`PRICES_AS_OF`. Override for "what if" lessons
    with :meth:`override` (e.g. ``Prices().override(provisioned_shard_hour_usd=0.018)``)."""

    _table_key = "price"

    region: str = sourced("us-east-1", "INFRA", "AWS Region the prices are for")
    as_of: str = sourced(PRICES_AS_OF, "CHOSEN", "YYYY-MM the figures were checked")

    # --- Billing units -------------------------------------------------------------------------
    bytes_per_gb: int = sourced(BYTES_PER_GB, "CHOSEN (binary, like the limits)", "bytes per billed GB")
    hours_per_month: float = sourced(730.0, "INFRA ($10.95 per shard-month)", "hours per billed month")
    # KDS-P says "25 KB"; 25 x 1,024 because AWS's Kinesis sizes are binary (module docstring).
    put_payload_unit_bytes: int = sourced(25 * KiB, "KDS-P 2014 (25 KB), CHOSEN 1 KB = 1,024 B", "bytes per unit")
    on_demand_record_rounding_bytes: int = sourced(1 * KiB, "KDS-P (1 KB), CHOSEN 1 KB = 1,024 B", "bytes")
    firehose_record_rounding_bytes: int = sourced(5 * KiB, "FH-P (5 KB = 5,120 bytes)", "bytes")

    # --- Retention tiers (age of the data, both modes) ------------------------------------------
    retention_included_hours: float = sourced(24.0, "KDS-P", "hours of retention included")
    extended_retention_until_hours: float = sourced(168.0, "KDS-P (7 days)", "hours; long-term beyond")

    # --- Provisioned ---------------------------------------------------------------------------
    provisioned_shard_hour_usd: float = sourced(0.015, "INFRA", "USD per shard-hour")
    put_payload_usd_per_million_units: float = sourced(0.014, "INFRA", "USD per million PUT payload units")
    # Shared-throughput GetRecords reads are included in the shard-hour.
    provisioned_get_records_usd_per_gb: float = sourced(0.0, "KDS-P ('Getting records ... is free')", "USD per GB")
    provisioned_extended_retention_usd_per_shard_hour: float = sourced(0.020, "INFRA", "USD per shard-hour")
    provisioned_long_term_retention_usd_per_gb_month: float = sourced(0.023, "INFRA", "USD per GB-month")
    provisioned_long_term_retrieval_usd_per_gb: float = sourced(0.021, "INFRA", "USD per GB read older than 7 d")
    provisioned_efo_usd_per_consumer_shard_hour: float = sourced(0.015, "INFRA", "USD per consumer-shard-hour")
    provisioned_efo_retrieval_usd_per_gb: float = sourced(0.013, "INFRA", "USD per GB")

    # --- On-demand Standard ----------------------------------------------------------------------
    on_demand_stream_hour_usd: float = sourced(0.04, "INFRA", "USD per stream-hour")
    on_demand_data_in_usd_per_gb: float = sourced(0.08, "INFRA", "USD per GB (records rounded up to 1 KB)")
    on_demand_retrieval_usd_per_gb: float = sourced(0.04, "INFRA", "USD per GB")
    # One third-party page says 0.04; the price-list-derived sources say 0.05 (fact sheet §8).
    on_demand_efo_retrieval_usd_per_gb: float = sourced(0.05, "INFRA", "USD per GB")
    on_demand_extended_retention_usd_per_gb_month: float = sourced(0.10, "INFRA", "USD per GB-month")
    on_demand_long_term_retention_usd_per_gb_month: float = sourced(0.023, "INFRA", "USD per GB-month")

    # --- On-demand Advantage (account setting; discounts from BLOG-ODA) ---------------------------
    advantage_stream_hour_usd: float = sourced(0.0, "BLOG-ODA (no per-stream hourly charge)", "USD per stream-hour")
    advantage_data_in_usd_per_gb: float = sourced(0.032, "BLOG-ODA -60 %, third-party table; UNCONFIRMED", "USD per GB")
    advantage_retrieval_usd_per_gb: float = sourced(0.016, "BLOG-ODA -60 %, third-party table; UNCONFIRMED", "USD per GB")
    advantage_efo_retrieval_usd_per_gb: float = sourced(0.016, "BLOG-ODA -68 %, third-party table; UNCONFIRMED", "USD per GB")
    advantage_extended_retention_usd_per_gb_month: float = sourced(
        0.023, "BLOG-ODA -77 %, third-party table; UNCONFIRMED", "USD per GB-month")
    # The fact sheet gives no Advantage long-term figure; Standard's is used (CHOSEN).
    advantage_long_term_retention_usd_per_gb_month: float = sourced(
        0.023, "CHOSEN (Standard's INFRA figure)", "USD per GB-month")
    # Account-wide commitment; documented here, not applied by bill() (it spans all streams).
    advantage_minimum_mib_per_second: float = sourced(25.0, "BLOG-ODA, MODE-NOW", "MiB/s in and out, per account")

    # --- Amazon Data Firehose ------------------------------------------------------------------
    # First tier (first 500 TB/month); the cheaper later tiers are not in the fact sheet.
    firehose_ingest_usd_per_gb: float = sourced(0.029, "FH-P; UNCONFIRMED", "USD per GB (records rounded up to 5 KB)")





# --- Per-record billing units ------------------------------------------------------------------

SizeList = int | Iterable[int] | np.ndarray


def _rounded_units(record_sizes_bytes: SizeList, unit_bytes: int, record_counts: SizeList | None) -> int:
    """Sum over records of ceil(size / unit_bytes), at least 1 per record (exact integers).
    ``record_counts[i]`` records have size ``record_sizes_bytes[i]`` (default one each)."""
    sizes = np.atleast_1d(np.asarray(record_sizes_bytes, dtype=np.int64))
    counts = np.ones_like(sizes) if record_counts is None else np.atleast_1d(np.asarray(record_counts, dtype=np.int64))
    if sizes.shape != counts.shape:
        raise ValueError("record_counts must have one entry per record size")
    if sizes.size == 0:
        return 0
    if (sizes < 0).any() or (counts < 0).any():
        raise ValueError("record sizes and counts must be >= 0")
    units = np.maximum(-(-sizes // unit_bytes), 1)  # ceiling division on integers
    if float(np.dot(units.astype(np.float64), counts.astype(np.float64))) < 2.0**62:
        return int(np.dot(units, counts))  # fits int64 exactly
    return sum(int(u) * int(c) for u, c in zip(units, counts))  # Python ints past 2**62


def put_payload_units(record_sizes_bytes: SizeList, prices: Prices | None = None,
                      record_counts: SizeList | None = None) -> int:
    """Provisioned PUT payload units for records of these sizes (bytes): ceil(size / 25,600) each.

    5 KiB -> 1, 45 KiB -> 2, 1,000 KiB -> 40, 1 MiB (1,048,576 B) -> 41. With ``record_counts``,
    ``record_counts[i]`` records have size ``record_sizes_bytes[i]`` (a size histogram).
    """
    return _rounded_units(record_sizes_bytes, (prices or Prices()).put_payload_unit_bytes, record_counts)


def on_demand_billed_bytes(record_sizes_bytes: SizeList, prices: Prices | None = None,
                           record_counts: SizeList | None = None) -> int:
    """On-demand "data in" bytes: each record rounded up to a whole KiB (4.5 KiB bills 5 KiB)."""
    unit = (prices or Prices()).on_demand_record_rounding_bytes
    return _rounded_units(record_sizes_bytes, unit, record_counts) * unit


def firehose_billed_bytes(record_sizes_bytes: SizeList, prices: Prices | None = None,
                          record_counts: SizeList | None = None) -> int:
    """Firehose ingestion bytes: each record rounded up to 5 KiB (5,120 bytes), per record, not per
    call (two 1 KiB records in one PutRecordBatch bill 10 KiB)."""
    unit = (prices or Prices()).firehose_record_rounding_bytes
    return _rounded_units(record_sizes_bytes, unit, record_counts) * unit


def firehose_ingest_cost(record_sizes_bytes: SizeList, prices: Prices | None = None,
                         record_counts: SizeList | None = None) -> float:
    """USD to ingest records of these sizes (bytes) into a Firehose stream (Direct PUT or a Kinesis
    source), first-tier price. Delivery extras (format conversion, VPC, dynamic partitioning) and
    the cheaper tiers above 500 TB/month are not included."""
    prices = prices or Prices()
    billed = firehose_billed_bytes(record_sizes_bytes, prices, record_counts)
    return billed / prices.bytes_per_gb * prices.firehose_ingest_usd_per_gb


# --- Usage ---------------------------------------------------------------------------------------

def _add_dicts(a: Mapping[str, float], b: Mapping[str, float]) -> dict:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + value
    return out


def _as_series(values) -> np.ndarray:
    array = np.asarray(values if values is not None else [], dtype=None)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1:
        raise ValueError("ingest_bytes_per_second must be one-dimensional")
    array = array.astype(np.int64 if array.dtype.kind in "iub" else np.float64)
    if (array < 0).any():
        raise ValueError("ingest_bytes_per_second must be >= 0")
    return array


#: The per-mode counters of :class:`Usage` (dicts keyed by "PROVISIONED" / "ON_DEMAND").
PER_MODE_FIELDS = (
    "mode_seconds", "shard_seconds", "records_in", "bytes_in", "put_payload_units",
    "on_demand_billed_bytes_in", "get_records_bytes", "efo_bytes", "efo_consumer_shard_seconds",
    "long_term_retrieval_bytes",
)


@dataclass(eq=False)
class Usage:
    """What a simulator measured for ONE stream over one run, in both billing dimensions.

    Every per-mode field is a dict keyed by capacity mode ("PROVISIONED", "ON_DEMAND") holding
    what happened while the stream was in that mode. The simulator counts both modes' billing
    units (payload units *and* KiB-rounded bytes) for every accepted record, so :func:`bill` can
    price the run in the mode it did not use.

    ``mode_periods`` is optional: ``(start_s, end_s, mode)`` intervals from the run start, which
    should add up to ``mode_seconds``. It is needed only when the stream switched modes and
    retention storage must be split between the modes exactly; left as None, a run that stayed
    in one mode is taken to be in it throughout, and a mixed-mode run splits storage in
    proportion to ``mode_seconds``. Storage is billed only inside the periods, so an empty tuple
    means "no stream time at all".
    """

    stream_name: str = ""
    mode_seconds: dict[str, float] = field(default_factory=dict)  # stream-seconds in each mode
    shard_seconds: dict[str, float] = field(default_factory=dict)  # sum over open shards of seconds open
    records_in: dict[str, int] = field(default_factory=dict)  # accepted records
    bytes_in: dict[str, int] = field(default_factory=dict)  # accepted bytes, data + partition key
    put_payload_units: dict[str, int] = field(default_factory=dict)  # sum of ceil(size / 25,600)
    on_demand_billed_bytes_in: dict[str, int] = field(default_factory=dict)  # sum of size rounded up to 1 KiB
    get_records_bytes: dict[str, int] = field(default_factory=dict)  # bytes returned by GetRecords
    efo_bytes: dict[str, int] = field(default_factory=dict)  # bytes pushed to EFO consumers
    efo_consumer_shard_seconds: dict[str, float] = field(default_factory=dict)  # consumers x open shards x s
    # Bytes read (GetRecords or EFO) of data older than 7 days: billed per GB on provisioned.
    long_term_retrieval_bytes: dict[str, int] = field(default_factory=dict)
    retention_hours: float = 24.0
    # Accepted bytes in each virtual second [s, s + 1) from the run start; index s = second s.
    ingest_bytes_per_second: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    duration_seconds: float = 0.0
    mode_periods: tuple[tuple[float, float, str], ...] | None = None

    def __post_init__(self) -> None:
        self.ingest_bytes_per_second = _as_series(self.ingest_bytes_per_second)
        if self.mode_periods is not None:
            self.mode_periods = tuple((float(a), float(b), str(m)) for a, b, m in self.mode_periods)
        for name in PER_MODE_FIELDS:
            counters = getattr(self, name)
            for mode, value in counters.items():
                if mode not in MODES:
                    raise ValueError(f"{name}: unknown capacity mode {mode!r} (expected one of {MODES})")
                if value < 0:
                    raise ValueError(f"{name}[{mode!r}] must be >= 0, got {value}")
        for start, end, mode in self.mode_periods or ():
            if mode not in MODES or not 0 <= start <= end:
                raise ValueError(f"bad mode period {(start, end, mode)!r}")
        if self.retention_hours < 0 or self.duration_seconds < 0:
            raise ValueError("retention_hours and duration_seconds must be >= 0")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Usage):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name))
            if f.name == "ingest_bytes_per_second" else getattr(self, f.name) == getattr(other, f.name)
            for f in dataclasses.fields(self)
        )

    # -- derived views ------------------------------------------------------------------------
    def total(self, name: str) -> float:
        """One per-mode counter summed over both modes, e.g. ``usage.total("bytes_in")``."""
        return sum(getattr(self, name).values())

    def modes_used(self) -> tuple[str, ...]:
        """The modes with any activity (time or counters), in :data:`MODES` order."""
        return tuple(
            mode for mode in MODES
            if any(getattr(self, name).get(mode, 0) > 0 for name in PER_MODE_FIELDS)
            or any(m == mode and end > start for start, end, m in self.mode_periods or ())
        )

    def restricted_to(self, mode: str) -> "Usage":
        """The part of this usage that happened in ``mode``: its counters, its periods, and the
        whole ingest history (data ingested earlier is still stored during ``mode``'s periods).

        ``bill(u)`` equals ``bill(u.restricted_to(PROVISIONED), as_mode=PROVISIONED)`` plus
        ``bill(u.restricted_to(ON_DEMAND), as_mode=ON_DEMAND)``.
        """
        if mode not in MODES:
            raise ValueError(f"unknown capacity mode {mode!r}")
        periods = self._resolved_periods()
        if periods is None:
            raise ValueError("this usage has several modes but no mode_periods; cannot split storage exactly")
        kwargs = {name: {m: v for m, v in getattr(self, name).items() if m == mode} for name in PER_MODE_FIELDS}
        return dataclasses.replace(
            self, **kwargs, mode_periods=tuple(p for p in periods if p[2] == mode))

    def _resolved_periods(self) -> tuple[tuple[float, float, str], ...] | None:
        """Explicit periods; or the whole run in the single mode used; or None when ambiguous."""
        if self.mode_periods is not None:
            return self.mode_periods
        used = self.modes_used()
        if len(used) == 1:
            return ((0.0, float(self.duration_seconds), used[0]),)
        if not used:
            return ()
        return None

    # -- combining ------------------------------------------------------------------------------
    @classmethod
    def merge(cls, *parts: "Usage") -> "Usage":
        """The usage of consecutive windows of the same stream, each starting where the previous
        ended (for a simulator that runs a lesson in several steps). Counters and durations add;
        the ingest series and mode periods are laid end to end, so data ingested in one window
        is still stored, and billed, in the next.

        Windows must agree on ``stream_name`` and ``retention_hours`` (bill windows with different
        retention separately), and a window followed by ingest must last a whole number of seconds.
        """
        if not parts:
            return cls()
        first = parts[0]
        for part in parts[1:]:
            if part.stream_name != first.stream_name:
                raise ValueError(f"cannot merge usage of {first.stream_name!r} and {part.stream_name!r}")
            if part.retention_hours != first.retention_hours:
                raise ValueError("cannot merge windows with different retention_hours; bill them separately")

        counters = {name: {} for name in PER_MODE_FIELDS}
        series: list[np.ndarray] = []
        periods: list[tuple[float, float, str]] | None = []
        offset = 0.0
        for index, part in enumerate(parts):
            for name in PER_MODE_FIELDS:
                counters[name] = _add_dicts(counters[name], getattr(part, name))
            is_last = index == len(parts) - 1
            later_ingest = any(p.ingest_bytes_per_second.any() for p in parts[index + 1:])
            own = part.ingest_bytes_per_second
            if not is_last and later_ingest:
                whole = round(part.duration_seconds)
                if abs(part.duration_seconds - whole) > 1e-9:
                    raise ValueError("a window followed by ingest must last a whole number of seconds")
                if len(own) > whole:
                    raise ValueError("ingest_bytes_per_second is longer than duration_seconds")
                own = np.concatenate([own, np.zeros(whole - len(own), dtype=own.dtype)])
            series.append(own)
            part_periods = part._resolved_periods()
            if periods is not None and part_periods is not None:
                periods.extend((offset + a, offset + b, m) for a, b, m in part_periods)
            else:
                periods = None  # one window is ambiguous: the merge falls back to proportional split
            offset += part.duration_seconds
        merged_series = np.concatenate(series)  # int64, or float64 if any window's series was float
        return cls(
            stream_name=first.stream_name,
            **counters,
            retention_hours=first.retention_hours,
            ingest_bytes_per_second=merged_series,
            duration_seconds=offset,
            mode_periods=tuple(periods) if periods is not None else None,
        )

    def __add__(self, other: "Usage") -> "Usage":
        """``a + b`` is :meth:`merge` (``b``'s window follows ``a``'s)."""
        return Usage.merge(self, other)


# --- Retention storage ---------------------------------------------------------------------------

def _tier_byte_seconds(ingest: np.ndarray, tier_start_age_s: float, tier_end_age_s: float,
                       window_start_s: float, window_end_s: float) -> float:
    """Sum over seconds s of bytes[s] x |[s + tier_start, s + tier_end) intersect [window)|."""
    if tier_end_age_s <= tier_start_age_s or window_end_s <= window_start_s or ingest.size == 0:
        return 0.0
    busy = np.flatnonzero(ingest)  # idle seconds store nothing; skipping them keeps long runs cheap
    seconds = busy.astype(np.float64)
    starts = np.maximum(seconds + tier_start_age_s, window_start_s)
    ends = np.minimum(seconds + tier_end_age_s, window_end_s)
    overlap = np.clip(ends - starts, 0.0, None)
    return float(np.dot(ingest[busy].astype(np.float64), overlap))


def retention_storage_gb_months(
    ingest_bytes_per_second: Sequence[float] | np.ndarray,
    retention_hours: float,
    window_start_seconds: float,
    window_end_seconds: float,
    prices: Prices | None = None,
) -> dict[str, float]:
    """GB-months of data held in each paid retention tier during a window of the run.

    A byte ingested at second ``s`` is in the extended tier during ``[s + 24 h, s + min(R, 7 d))``
    and in the long-term tier during ``[s + 7 d, s + R)``, R the retention period; only the part
    of those intervals inside ``[window_start_seconds, window_end_seconds)`` counts. Computed in
    closed form (no sampling), then divided by 2**30 bytes x 730 h x 3,600 s.

    Returns ``{"extended": GB-months, "long_term": GB-months}``.
    """
    prices = prices or Prices()
    ingest = _as_series(ingest_bytes_per_second)
    included_s = prices.retention_included_hours * SECONDS_PER_HOUR
    extended_end_s = min(retention_hours, prices.extended_retention_until_hours) * SECONDS_PER_HOUR
    long_term_end_s = retention_hours * SECONDS_PER_HOUR
    per_gb_month = prices.bytes_per_gb * prices.hours_per_month * SECONDS_PER_HOUR
    extended = _tier_byte_seconds(ingest, included_s, extended_end_s, window_start_seconds, window_end_seconds)
    long_term = _tier_byte_seconds(
        ingest, prices.extended_retention_until_hours * SECONDS_PER_HOUR, long_term_end_s,
        window_start_seconds, window_end_seconds)
    return {"extended": extended / per_gb_month, "long_term": long_term / per_gb_month}


def _storage_by_mode(usage: Usage, prices: Prices, as_mode: str | None) -> dict[str, dict[str, float]]:
    """GB-months per tier, per billing mode."""
    out = {mode: {"extended": 0.0, "long_term": 0.0} for mode in MODES}
    periods = usage._resolved_periods()
    if periods is None:
        # Mixed-mode run without a timeline: split the whole run's storage by time share.
        whole = retention_storage_gb_months(
            usage.ingest_bytes_per_second, usage.retention_hours, 0.0, usage.duration_seconds, prices)
        total_seconds = sum(usage.mode_seconds.get(m, 0.0) for m in MODES)
        for mode in MODES:
            share = usage.mode_seconds.get(mode, 0.0) / total_seconds if total_seconds else 1 / len(MODES)
            target = as_mode or mode
            for tier in whole:
                out[target][tier] += whole[tier] * share
        return out
    for start, end, mode in periods:
        part = retention_storage_gb_months(usage.ingest_bytes_per_second, usage.retention_hours, start, end, prices)
        target = as_mode or mode
        for tier in part:
            out[target][tier] += part[tier]
    return out


# --- Bills ---------------------------------------------------------------------------------------

def _row(item: str, mode: str, quantity: float, unit: str, unit_price_usd: float) -> dict:
    return {"item": item, "mode": mode, "quantity": float(quantity), "unit": unit,
            "unit_price_usd": float(unit_price_usd), "cost_usd": float(quantity) * float(unit_price_usd)}


def _mode_rows(
    mode: str, counters: dict[str, float], storage: dict[str, float], retention_hours: float,
    prices: Prices, on_demand_pricing: OnDemandPricing,
) -> list[dict]:
    """The bill lines of one mode from summed counters (seconds, bytes, units) and storage."""
    gb = prices.bytes_per_gb
    hours = SECONDS_PER_HOUR
    if mode == PROVISIONED:
        shard_hours = counters["shard_seconds"] / hours
        extended_shard_hours = shard_hours if retention_hours > prices.retention_included_hours else 0.0
        return [
            _row("Shard hours", mode, shard_hours, "shard-hours", prices.provisioned_shard_hour_usd),
            _row("PUT payload units", mode, counters["put_payload_units"] / 1e6,
                 "million PUT payload units", prices.put_payload_usd_per_million_units),
            _row("Data retrieval", mode, counters["get_records_bytes"] / gb, "GB",
                 prices.provisioned_get_records_usd_per_gb),
            _row("EFO consumer-shard hours", mode, counters["efo_consumer_shard_seconds"] / hours,
                 "consumer-shard-hours", prices.provisioned_efo_usd_per_consumer_shard_hour),
            _row("EFO data retrieval", mode, counters["efo_bytes"] / gb, "GB",
                 prices.provisioned_efo_retrieval_usd_per_gb),
            # Provisioned extended retention is a flat per-shard-hour charge while R > 24 h.
            _row("Extended retention", mode, extended_shard_hours, "shard-hours",
                 prices.provisioned_extended_retention_usd_per_shard_hour),
            _row("Long-term retention", mode, storage["long_term"], "GB-months",
                 prices.provisioned_long_term_retention_usd_per_gb_month),
            _row("Long-term retention retrieval", mode, counters["long_term_retrieval_bytes"] / gb, "GB",
                 prices.provisioned_long_term_retrieval_usd_per_gb),
        ]
    advantage = on_demand_pricing == "ADVANTAGE"
    if on_demand_pricing not in ("STANDARD", "ADVANTAGE"):
        raise ValueError(f"on_demand_pricing must be 'STANDARD' or 'ADVANTAGE', not {on_demand_pricing!r}")
    p = prices
    return [
        _row("Stream hours", mode, counters["mode_seconds"] / hours, "stream-hours",
             p.advantage_stream_hour_usd if advantage else p.on_demand_stream_hour_usd),
        _row("Data in", mode, counters["on_demand_billed_bytes_in"] / gb, "GB (records rounded up to 1 KiB)",
             p.advantage_data_in_usd_per_gb if advantage else p.on_demand_data_in_usd_per_gb),
        _row("Data retrieval", mode, counters["get_records_bytes"] / gb, "GB",
             p.advantage_retrieval_usd_per_gb if advantage else p.on_demand_retrieval_usd_per_gb),
        _row("EFO data retrieval", mode, counters["efo_bytes"] / gb, "GB",
             p.advantage_efo_retrieval_usd_per_gb if advantage else p.on_demand_efo_retrieval_usd_per_gb),
        _row("Extended retention", mode, storage["extended"], "GB-months",
             p.advantage_extended_retention_usd_per_gb_month if advantage
             else p.on_demand_extended_retention_usd_per_gb_month),
        _row("Long-term retention", mode, storage["long_term"], "GB-months",
             p.advantage_long_term_retention_usd_per_gb_month if advantage
             else p.on_demand_long_term_retention_usd_per_gb_month),
    ]


def bill(
    usage: Usage,
    prices: Prices | None = None,
    as_mode: str | None = None,
    on_demand_pricing: OnDemandPricing = "STANDARD",
) -> pd.DataFrame:
    """The itemised bill of a run: one row per billing item with columns ``item``, ``mode``,
    ``quantity``, ``unit``, ``unit_price_usd`` and ``cost_usd`` (= quantity x unit price).

    ``as_mode=None`` bills each period in the mode the stream was in. ``as_mode="PROVISIONED"``
    or ``"ON_DEMAND"`` bills all of it as if the stream had been in that mode throughout: the
    shard-seconds the run actually had become shard-hours, every accepted record's payload units
    or KiB-rounded bytes are priced, all storage is in that mode's tiers. (Billing an on-demand
    run as provisioned uses the shards on-demand opened, so it ignores the throttling a fixed
    provisioned stream would have met at the peaks.)

    ``on_demand_pricing="ADVANTAGE"`` prices on-demand lines at On-demand Advantage rates
    (UNCONFIRMED figures); the account-wide 25 MiB/s minimum commitment is not applied.
    Long-term retrieval is billed on provisioned only: the fact sheet has no on-demand figure.
    """
    prices = prices or Prices()
    if as_mode is not None and as_mode not in MODES:
        raise ValueError(f"as_mode must be None, 'PROVISIONED' or 'ON_DEMAND', not {as_mode!r}")
    storage = _storage_by_mode(usage, prices, as_mode)
    if as_mode is None:
        billed_modes = usage.modes_used()
        counters_by_mode = {
            mode: {name: getattr(usage, name).get(mode, 0) for name in PER_MODE_FIELDS} for mode in billed_modes}
    else:
        billed_modes = (as_mode,)
        counters_by_mode = {as_mode: {name: usage.total(name) for name in PER_MODE_FIELDS}}
    rows: list[dict] = []
    for mode in billed_modes:
        rows.extend(_mode_rows(mode, counters_by_mode[mode], storage[mode], usage.retention_hours,
                               prices, on_demand_pricing))
    return pd.DataFrame(rows, columns=BILL_COLUMNS)


def total(bill_frame: pd.DataFrame) -> float:
    """The bill's total in USD."""
    return float(bill_frame["cost_usd"].sum()) if len(bill_frame) else 0.0


def compare_modes(usage: Usage, prices: Prices | None = None, include_advantage: bool = False) -> pd.DataFrame:
    """Totals of the run as it ran, all provisioned and all on-demand (Standard; and optionally
    On-demand Advantage), indexed by ``scenario`` with a ``total_usd`` column."""
    prices = prices or Prices()
    scenarios = {
        "as run": total(bill(usage, prices)),
        "all provisioned": total(bill(usage, prices, as_mode=PROVISIONED)),
        "all on-demand": total(bill(usage, prices, as_mode=ON_DEMAND)),
    }
    if include_advantage:
        scenarios["all on-demand Advantage"] = total(
            bill(usage, prices, as_mode=ON_DEMAND, on_demand_pricing="ADVANTAGE"))
    frame = pd.DataFrame({"total_usd": list(scenarios.values())}, index=list(scenarios))
    frame.index.name = "scenario"
    return frame


# --- Break-even helpers (lesson 08) ------------------------------------------------------------

def shards_needed(
    records_per_second: float | np.ndarray,
    record_size_bytes: int,
    limits: Limits | None = None,
    get_records_consumers: int = 1,
) -> np.ndarray:
    """Fewest provisioned shards that carry a steady load: the write limits (1 MiB/s and 1,000
    records/s per shard) and the shared 2 MiB/s read limit for ``get_records_consumers`` readers
    that each read everything. At least 1."""
    limits = limits or Limits()
    rate = np.asarray(records_per_second, dtype=np.float64)
    write_bytes = rate * record_size_bytes
    by_write_bytes = np.ceil(write_bytes / limits.shard_write_bytes_per_second)
    by_records = np.ceil(rate / limits.shard_write_records_per_second)
    by_reads = np.ceil(write_bytes * get_records_consumers / limits.shard_read_bytes_per_second)
    return np.maximum.reduce([by_write_bytes, by_records, by_reads, np.ones_like(rate)]).astype(np.int64)


def hourly_cost_curve(
    records_per_second: float | Sequence[float] | np.ndarray,
    record_size_bytes: int,
    prices: Prices | None = None,
    limits: Limits | None = None,
    *,
    get_records_consumers: int = 1,
    efo_consumers: int = 0,
    retention_hours: float = 24.0,
    peak_to_average: float = 1.0,
    provisioned_shards: int | None = None,
) -> pd.DataFrame:
    """USD per hour of a steady workload in provisioned mode and in on-demand Standard.

    ``records_per_second`` is the average rate (scalar or array); every record is
    ``record_size_bytes`` (data + partition key). Each of ``get_records_consumers`` and
    ``efo_consumers`` reads every record once. The provisioned stream has ``provisioned_shards``
    if given, else the fewest shards that carry ``peak_to_average`` x the rate (see
    :func:`shards_needed`); on-demand bills the actual traffic. Retention storage is the steady
    state of a stream older than its retention period.

    Columns: records_per_second, write_bytes_per_second, shards, provisioned_usd_per_hour,
    on_demand_usd_per_hour, cheaper ("PROVISIONED" or "ON_DEMAND"; ties go to provisioned) and
    provisioned_overloaded (rate above the fixed shards' write capacity).
    """
    prices = prices or Prices()
    limits = limits or Limits()
    rate = np.atleast_1d(np.asarray(records_per_second, dtype=np.float64))
    gb = prices.bytes_per_gb
    write_bytes = rate * record_size_bytes
    hourly_records = rate * SECONDS_PER_HOUR
    hourly_gb = write_bytes * SECONDS_PER_HOUR / gb

    if provisioned_shards is None:
        shards = shards_needed(rate * peak_to_average, record_size_bytes, limits, get_records_consumers)
    else:
        shards = np.full(rate.shape, int(provisioned_shards), dtype=np.int64)
    overloaded = (rate > shards * limits.shard_write_records_per_second) | (
        write_bytes > shards * limits.shard_write_bytes_per_second)

    # Steady state: a tier of width W hours holds W x 3,600 s of ingest; one hour of holding it
    # is stored_GB / 730 GB-months.
    included = prices.retention_included_hours
    extended_hours = max(0.0, min(retention_hours, prices.extended_retention_until_hours) - included)
    long_term_hours = max(0.0, retention_hours - prices.extended_retention_until_hours)
    extended_gb_months_per_hour = hourly_gb * extended_hours / prices.hours_per_month
    long_term_gb_months_per_hour = hourly_gb * long_term_hours / prices.hours_per_month

    units_per_record = put_payload_units(record_size_bytes, prices)
    provisioned = (
        shards * prices.provisioned_shard_hour_usd
        + hourly_records * units_per_record / 1e6 * prices.put_payload_usd_per_million_units
        + get_records_consumers * hourly_gb * prices.provisioned_get_records_usd_per_gb
        + efo_consumers * shards * prices.provisioned_efo_usd_per_consumer_shard_hour
        + efo_consumers * hourly_gb * prices.provisioned_efo_retrieval_usd_per_gb
        + (shards * prices.provisioned_extended_retention_usd_per_shard_hour
           if retention_hours > included else 0.0)
        + long_term_gb_months_per_hour * prices.provisioned_long_term_retention_usd_per_gb_month
    )
    billed_in_gb = hourly_records * on_demand_billed_bytes(record_size_bytes, prices) / gb
    on_demand = (
        prices.on_demand_stream_hour_usd
        + billed_in_gb * prices.on_demand_data_in_usd_per_gb
        + get_records_consumers * hourly_gb * prices.on_demand_retrieval_usd_per_gb
        + efo_consumers * hourly_gb * prices.on_demand_efo_retrieval_usd_per_gb
        + extended_gb_months_per_hour * prices.on_demand_extended_retention_usd_per_gb_month
        + long_term_gb_months_per_hour * prices.on_demand_long_term_retention_usd_per_gb_month
    )
    return pd.DataFrame({
        "records_per_second": rate,
        "write_bytes_per_second": write_bytes,
        "shards": shards,
        "provisioned_usd_per_hour": provisioned,
        "on_demand_usd_per_hour": on_demand,
        "cheaper": np.where(on_demand < provisioned, ON_DEMAND, PROVISIONED),
        "provisioned_overloaded": overloaded,
    })


def break_even_records_per_second(
    record_size_bytes: int,
    prices: Prices | None = None,
    limits: Limits | None = None,
    *,
    max_records_per_second: float | None = None,
    **workload,
) -> float | None:
    """The lowest average rate (records/s) at which the cheaper mode changes, or None if one mode
    is cheaper over the whole range ``(0, max_records_per_second]``.

    ``workload`` takes the keyword arguments of :func:`hourly_cost_curve`. With these prices a
    provisioned stream sized exactly for a steady load is always cheaper (1 shard is $0.015/h,
    on-demand starts at $0.04/h and its per-GB rates are higher), so expect None unless the
    provisioned stream is sized for a peak (``peak_to_average``) or fixed (``provisioned_shards``):
    then on-demand wins below the returned rate (fixed shards) or above it (peak sizing: each
    average record/s then buys ``peak_to_average`` records/s of shards); the ``cheaper``
    column of :func:`hourly_cost_curve` says which. The search scans whole records/s and refines
    the crossing by bisection; the default range is 100,000 records/s, or the fixed shards' write
    capacity.
    """
    limits = limits or Limits()
    if max_records_per_second is None:
        fixed = workload.get("provisioned_shards")
        max_records_per_second = (
            fixed * min(limits.shard_write_records_per_second,
                        limits.shard_write_bytes_per_second / record_size_bytes)
            if fixed else 100_000.0)

    def difference(rates: np.ndarray) -> np.ndarray:
        curve = hourly_cost_curve(rates, record_size_bytes, prices, limits, **workload)
        return (curve["provisioned_usd_per_hour"] - curve["on_demand_usd_per_hour"]).to_numpy()

    grid = np.concatenate([[0.0], np.arange(1.0, math.floor(max_records_per_second) + 1.0)])
    if grid[-1] < max_records_per_second:
        grid = np.append(grid, float(max_records_per_second))
    signs = np.sign(difference(grid))
    start_sign = signs[0] if signs[0] != 0 else next((s for s in signs if s != 0), 0.0)
    changed = np.nonzero((signs != start_sign) & (signs != 0))[0]
    if start_sign == 0 or changed.size == 0:
        return None
    low, high = grid[changed[0] - 1], grid[changed[0]]
    for _ in range(60):  # bisection: the crossing may be a line crossing or a shard step
        middle = (low + high) / 2
        if np.sign(difference(np.array([middle]))[0]) == start_sign:
            low = middle
        else:
            high = middle
    return float(high)
