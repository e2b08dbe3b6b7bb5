"""The declarative scenario: what runs, not how. Plain dataclasses, like Ciw's Network.

A :class:`Scenario` names a stream, producers, consumers and scheduled events;
:func:`kinesislab.run` turns it into a :class:`~kinesislab.scenario.results.Results`. Rates are
records per second, sizes bytes, times seconds of virtual time from the start of the run.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np

from kinesislab.engine.hashing import MAX_HASH_KEY
from kinesislab.limits import Limits, limits_for_region
from kinesislab.scenario.checks import (
    GET_RECORDS_MAX_LIMIT, KPL_MIN_AGGREGATION_MAX_SIZE, KPL_MIN_RECORD_TTL_SECONDS, PUT_RECORDS_MAX_ENTRIES,
    REGION_PATTERN, SERVICE_LIMITS, STARTS, capacity_modes, check_at, check_choice, check_consumer_name, check_kind,
    check_order, check_real, check_service_name, check_text, check_traffic, check_whole, fail, is_real,
    partition_key_max_characters)

# ----------------------------------------------------------------------------- traffic shapes


@dataclass(frozen=True)
class Constant:
    """``rate`` records/s throughout."""

    rate: float

    def __post_init__(self) -> None:
        check_real(self, "rate", minimum=0, unit="records/s")

    def at(self, t: np.ndarray) -> np.ndarray:
        return np.full(np.shape(t), float(self.rate))


@dataclass(frozen=True)
class Ramp:
    """Linear from ``start_rate`` at ``start`` s to ``end_rate`` at ``end`` s, flat outside."""

    start_rate: float
    end_rate: float
    start: float = 0.0
    end: float = 60.0

    def __post_init__(self) -> None:
        check_real(self, "start_rate", minimum=0, unit="records/s")
        check_real(self, "end_rate", minimum=0, unit="records/s")
        check_real(self, "start", minimum=0, unit="seconds")
        check_real(self, "end", minimum=0, unit="seconds")
        check_order(self, "start", "end")

    def at(self, t: np.ndarray) -> np.ndarray:
        fraction = np.clip((np.asarray(t, float) - self.start) / max(self.end - self.start, 1e-9), 0, 1)
        return self.start_rate + fraction * (self.end_rate - self.start_rate)


@dataclass(frozen=True)
class Step:
    """``before`` records/s until ``at_second``, then ``after``."""

    before: float
    after: float
    at_second: float

    def __post_init__(self) -> None:
        check_real(self, "before", minimum=0, unit="records/s")
        check_real(self, "after", minimum=0, unit="records/s")
        check_real(self, "at_second", minimum=0, unit="seconds")

    def at(self, t: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(t, float) < self.at_second, float(self.before), float(self.after))


@dataclass(frozen=True)
class Burst:
    """``base`` records/s with bursts of ``peak`` lasting ``length`` s every ``every`` s (first at ``first``)."""

    base: float
    peak: float
    every: float = 60.0
    length: float = 5.0
    first: float = 0.0

    def __post_init__(self) -> None:
        check_real(self, "base", minimum=0, unit="records/s")
        check_real(self, "peak", minimum=0, unit="records/s")
        check_real(self, "every", above=0, unit="seconds")
        check_real(self, "length", above=0, unit="seconds")
        check_order(self, "length", "every", blame="low")  # a burst as long as the cycle is a constant peak
        check_real(self, "first", minimum=0, unit="seconds")

    def at(self, t: np.ndarray) -> np.ndarray:
        phase = np.mod(np.asarray(t, float) - self.first, self.every)
        in_burst = (np.asarray(t, float) >= self.first) & (phase < self.length)
        return np.where(in_burst, float(self.peak), float(self.base))


@dataclass(frozen=True)
class Diurnal:
    """A daily sine between ``low`` and ``high`` records/s, peaking at ``peak_hour`` (hours after start)."""

    low: float
    high: float
    period: float = 86_400.0
    peak_hour: float = 12.0

    def __post_init__(self) -> None:
        check_real(self, "low", minimum=0, unit="records/s")
        check_real(self, "high", minimum=0, unit="records/s")
        check_order(self, "low", "high")
        check_real(self, "period", above=0, unit="seconds")
        check_real(self, "peak_hour")

    def at(self, t: np.ndarray) -> np.ndarray:
        phase = 2 * np.pi * (np.asarray(t, float) - self.peak_hour * 3600) / self.period
        return self.low + (self.high - self.low) * (1 + np.cos(phase)) / 2


@dataclass(frozen=True)
class Series:
    """A replayed series: ``rates[i]`` records/s during second ``i`` (the last value holds afterwards)."""

    rates: tuple[float, ...]

    def __post_init__(self) -> None:
        rates = self.rates
        if isinstance(rates, (str, bytes)) or not hasattr(rates, "__len__") or len(rates) == 0:
            fail(self, "rates", rates, "a non-empty sequence of rates (records/s)")
        for index, rate in enumerate(rates):
            if not (is_real(rate) and rate >= 0):
                raise ValueError(f"Series.rates[{index}] must be at least 0 records/s, not {rate!r}")

    def at(self, t: np.ndarray) -> np.ndarray:
        index = np.clip(np.asarray(t, float).astype(int), 0, len(self.rates) - 1)
        return np.asarray(self.rates, float)[index]


Traffic = Union[Constant, Ramp, Step, Burst, Diurnal, Series]

# ----------------------------------------------------------------------------- record sizes


@dataclass(frozen=True)
class FixedSize:
    """Every record's data is ``data_bytes`` long."""

    data_bytes: int = 1024

    def __post_init__(self) -> None:
        # 0 is a valid data blob (BC-K Data min 0); the maximum is the stream's max record size,
        # which a stream may raise (UpdateMaxRecordSize), so it is not checked here.
        check_whole(self, "data_bytes", minimum=0, unit="bytes")

    def mean(self) -> float:
        return float(self.data_bytes)


@dataclass(frozen=True)
class UniformSize:
    """Data sizes uniform between ``low`` and ``high`` bytes (the runner uses the mean per tick)."""

    low: int = 100
    high: int = 2000

    def __post_init__(self) -> None:
        check_whole(self, "low", minimum=0, unit="bytes")
        check_whole(self, "high", minimum=0, unit="bytes")
        check_order(self, "low", "high")

    def mean(self) -> float:
        return (self.low + self.high) / 2


RecordSize = Union[FixedSize, UniformSize]

# ----------------------------------------------------------------------------- partition keys


@dataclass(frozen=True)
class UniformKeys:
    """``count`` distinct keys, equally likely."""

    count: int = 1000

    def __post_init__(self) -> None:
        check_whole(self, "count", minimum=1)


@dataclass(frozen=True)
class ZipfKeys:
    """``count`` keys; key *k* (1-based rank) has weight ``1 / k**skew``."""

    count: int = 1000
    skew: float = 1.1

    def __post_init__(self) -> None:
        check_whole(self, "count", minimum=1)
        check_real(self, "skew", minimum=0)


@dataclass(frozen=True)
class HotKey:
    """One key takes ``share`` (0..1) of the records; the rest spread evenly over ``count - 1`` keys."""

    share: float = 0.5
    count: int = 1000

    def __post_init__(self) -> None:
        check_real(self, "share", minimum=0, maximum=1)
        check_whole(self, "count", minimum=1)


@dataclass(frozen=True)
class RandomKeys:
    """A fresh random key per record (e.g. a UUID): spreads by hash-range share."""


@dataclass(frozen=True)
class ExplicitHashKeys:
    """Records carry explicit hash keys, ``hash_keys[i]`` with weight ``weights[i]`` (equal if omitted)."""

    hash_keys: tuple[int, ...]
    weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        # Tuples, not lists: key distributions are cached by value, so they must be hashable.
        keys = self.hash_keys
        if not isinstance(keys, tuple) or not keys:
            fail(self, "hash_keys", keys, "a non-empty tuple of hash keys")
        for index, key in enumerate(keys):
            if not (isinstance(key, numbers.Integral) and not isinstance(key, bool) and 0 <= key <= MAX_HASH_KEY):
                raise ValueError(f"ExplicitHashKeys.hash_keys[{index}] must be a whole number between 0 and "
                                 f"2**128 - 1, not {key!r}")
        weights = self.weights
        if weights is None:
            return
        if not isinstance(weights, tuple) or len(weights) != len(keys):
            fail(self, "weights", weights, f"None or a tuple of {len(keys)} weights (one per hash key)")
        for index, weight in enumerate(weights):
            if not (is_real(weight) and weight >= 0):
                raise ValueError(f"ExplicitHashKeys.weights[{index}] must be at least 0, not {weight!r}")
        if not sum(weights) > 0:
            fail(self, "weights", weights, "weights with a positive sum")


@dataclass(frozen=True)
class SaltedKeys:
    """Keys of ``base`` with a salt suffix: each key becomes ``salt`` keys ``key#0 .. key#salt-1``."""

    base: Union[UniformKeys, ZipfKeys, HotKey]
    salt: int = 4

    def __post_init__(self) -> None:
        check_kind(self, "base", (UniformKeys, ZipfKeys, HotKey), "UniformKeys, ZipfKeys or HotKey")
        check_whole(self, "salt", minimum=1)


KeyDistribution = Union[UniformKeys, ZipfKeys, HotKey, RandomKeys, ExplicitHashKeys, SaltedKeys]

# ----------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class NoRetry:
    """Throttled records are dropped."""


@dataclass(frozen=True)
class FixedRetry:
    """Retry after ``delay`` s, at most ``max_attempts`` attempts in all, buffering at most ``max_buffered`` records."""

    delay: float = 1.0
    max_attempts: int = 5
    max_buffered: int = 1_000_000

    def __post_init__(self) -> None:
        check_real(self, "delay", minimum=0, unit="seconds")
        check_whole(self, "max_attempts", minimum=1)
        check_whole(self, "max_buffered", minimum=0, unit="records")


@dataclass(frozen=True)
class ExponentialBackoff:
    """Retry *k* waits ``min(cap, base * 2**k) * U(0, 1)`` s (AWS "full jitter"); at most ``max_attempts``."""

    base: float = 0.1
    cap: float = 20.0
    max_attempts: int = 10
    max_buffered: int = 1_000_000
    jitter: bool = True

    def __post_init__(self) -> None:
        check_real(self, "base", above=0, unit="seconds")
        check_real(self, "cap", above=0, unit="seconds")
        check_whole(self, "max_attempts", minimum=1)
        check_whole(self, "max_buffered", minimum=0, unit="records")
        check_kind(self, "jitter", (bool, np.bool_), "True or False")


RetryPolicy = Union[NoRetry, FixedRetry, ExponentialBackoff]

# ----------------------------------------------------------------------------- producers


@dataclass(frozen=True)
class KplSettings:
    """KPL aggregation and collection (defaults from the KPL sample config, facts §11)."""

    aggregation: bool = True
    aggregation_max_size: int = 51_200
    record_max_buffered_time: float = 0.1
    rate_limit_percent: float = 150.0
    record_ttl: float = 30.0
    collection_max_count: int = 500

    def __post_init__(self) -> None:
        # Ranges of the KPL's own configuration (KinesisProducerConfiguration), in this model's units.
        check_kind(self, "aggregation", (bool, np.bool_), "True or False")
        check_whole(self, "aggregation_max_size", minimum=KPL_MIN_AGGREGATION_MAX_SIZE, unit="bytes")
        # The KPL accepts 0 ms; the simulator flushes once per RecordMaxBufferedTime, so it needs more.
        check_real(self, "record_max_buffered_time", above=0, unit="seconds")
        check_real(self, "rate_limit_percent", minimum=1, unit="percent")
        check_real(self, "record_ttl", minimum=KPL_MIN_RECORD_TTL_SECONDS, unit="seconds")
        check_whole(self, "collection_max_count", minimum=1, maximum=PUT_RECORDS_MAX_ENTRIES, unit="records")


@dataclass(frozen=True)
class Producer:
    """A fleet of producers writing user records at ``traffic`` records/s.

    ``partition_key_bytes`` is the size of each key (the write limit counts it). With ``kpl``
    set, user records are aggregated into Kinesis records before they are put.
    """

    name: str = "producer"
    traffic: Traffic = Constant(100.0)
    record_size: RecordSize = FixedSize(1024)
    keys: KeyDistribution = UniformKeys(1000)
    retry: RetryPolicy = NoRetry()
    partition_key_bytes: int = 16
    kpl: KplSettings | None = None

    def __post_init__(self) -> None:
        check_text(self, "name")
        check_traffic(self)
        check_kind(self, "record_size", (FixedSize, UniformSize), "FixedSize or UniformSize")
        check_kind(self, "keys", (UniformKeys, ZipfKeys, HotKey, RandomKeys, ExplicitHashKeys, SaltedKeys),
                    "a key distribution (UniformKeys, ZipfKeys, HotKey, RandomKeys, ExplicitHashKeys or SaltedKeys)")
        check_kind(self, "retry", (NoRetry, FixedRetry, ExponentialBackoff), "NoRetry, FixedRetry or ExponentialBackoff")
        # A partition key is 1..256 Unicode characters (one byte each here); never zero.
        check_whole(self, "partition_key_bytes", minimum=1, maximum=partition_key_max_characters(), unit="bytes")
        check_kind(self, "kpl", (KplSettings,), "KplSettings", optional=True)

# ----------------------------------------------------------------------------- consumers


@dataclass(frozen=True)
class PollingConsumer:
    """A GetRecords application reading every shard every ``poll_interval`` s with ``limit`` records per call."""

    name: str = "app"
    poll_interval: float = 1.0
    limit: int = 10_000
    start: str = "TRIM_HORIZON"

    def __post_init__(self) -> None:
        check_consumer_name(self)
        check_real(self, "poll_interval", above=0, unit="seconds")
        check_whole(self, "limit", minimum=1, maximum=GET_RECORDS_MAX_LIMIT, unit="records")
        check_choice(self, "start", STARTS)


@dataclass(frozen=True)
class KclConsumer:
    """A KCL-style consumer group: ``workers`` share one lease per shard; checkpoint every
    ``checkpoint_every_records`` records or ``checkpoint_every_seconds`` s; a dead worker's leases
    are taken over ``failover_time`` s after its last renewal (KCL's failoverTimeMillis = 10 s)."""

    name: str = "kcl-app"
    workers: int = 2
    poll_interval: float = 1.5
    limit: int = 10_000
    checkpoint_every_records: int | None = None
    checkpoint_every_seconds: float | None = 60.0
    failover_time: float = 10.0
    start: str = "TRIM_HORIZON"

    def __post_init__(self) -> None:
        check_consumer_name(self)
        check_whole(self, "workers", minimum=1)
        check_real(self, "poll_interval", above=0, unit="seconds")
        check_whole(self, "limit", minimum=1, maximum=GET_RECORDS_MAX_LIMIT, unit="records")
        check_whole(self, "checkpoint_every_records", minimum=1, optional=True)
        check_real(self, "checkpoint_every_seconds", above=0, unit="seconds", optional=True)
        check_real(self, "failover_time", above=0, unit="seconds")
        check_choice(self, "start", STARTS)


@dataclass(frozen=True)
class EnhancedFanOutConsumer:
    """An enhanced fan-out consumer: its own 2 MiB/s per shard, records pushed as they arrive."""

    name: str = "efo-app"
    start: str = "TRIM_HORIZON"

    def __post_init__(self) -> None:
        check_consumer_name(self)
        check_choice(self, "start", STARTS)


@dataclass(frozen=True)
class FirehoseConsumer:
    """A Firehose stream with this data stream as its source (KinesisStreamAsSource): it polls
    every shard once a second (sharing the GetRecords limits, from the newest record on, as
    Firehose starts at LATEST) and delivers objects at the first of ``size_mib`` MiB buffered or
    ``interval_seconds`` after the buffer opened (S3 buffering hints: 1-128 MiB, 0-900 s)."""

    name: str = "firehose"
    size_mib: float = 5.0
    interval_seconds: float = 300.0
    poll_interval: float = 1.0
    limit: int = 10_000
    start: str = "LATEST"

    def __post_init__(self) -> None:
        check_consumer_name(self)
        # S3 buffering hints (facts §10): SizeInMBs 1..128, IntervalInSeconds 0..900.
        check_real(self, "size_mib", minimum=SERVICE_LIMITS.firehose_buffer_min_mib,
                   maximum=SERVICE_LIMITS.firehose_buffer_max_mib, unit="MiB")
        check_real(self, "interval_seconds", minimum=SERVICE_LIMITS.firehose_buffer_min_seconds,
                   maximum=SERVICE_LIMITS.firehose_buffer_max_seconds, unit="seconds")
        check_real(self, "poll_interval", above=0, unit="seconds")
        check_whole(self, "limit", minimum=1, maximum=GET_RECORDS_MAX_LIMIT, unit="records")
        check_choice(self, "start", STARTS)


Consumer = Union[PollingConsumer, KclConsumer, EnhancedFanOutConsumer, FirehoseConsumer]

# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class SplitShard:
    """Split ``shard_id`` at ``new_starting_hash_key`` (default: its midpoint) at ``at`` s."""

    at: float
    shard_id: str
    new_starting_hash_key: int | None = None

    def __post_init__(self) -> None:
        # Only what the model itself can know; whether the shard exists or the key lies inside
        # it is for the service to say, and the run reports its answer as the event's outcome.
        check_at(self)
        check_text(self, "shard_id")
        check_whole(self, "new_starting_hash_key", minimum=0, maximum=MAX_HASH_KEY, optional=True)


@dataclass(frozen=True)
class MergeShards:
    """Merge two adjacent shards at ``at`` s."""

    at: float
    shard_id: str
    adjacent_shard_id: str

    def __post_init__(self) -> None:
        check_at(self)
        check_text(self, "shard_id")
        check_text(self, "adjacent_shard_id")


@dataclass(frozen=True)
class UpdateShardCount:
    """UpdateShardCount to ``target`` (UNIFORM_SCALING) at ``at`` s."""

    at: float
    target: int

    def __post_init__(self) -> None:
        # TargetShardCount is at least 1 (BC-K); the 2x / half rule is the service's to enforce.
        check_at(self)
        check_whole(self, "target", minimum=1)


@dataclass(frozen=True)
class SwitchMode:
    """UpdateStreamMode to ``mode`` ("PROVISIONED" or "ON_DEMAND") at ``at`` s."""

    at: float
    mode: str

    def __post_init__(self) -> None:
        check_at(self)
        check_choice(self, "mode", capacity_modes())


@dataclass(frozen=True)
class ChangeTraffic:
    """From ``at`` s on, producer ``producer`` follows ``traffic`` (times stay relative to the run start)."""

    at: float
    producer: str
    traffic: Traffic

    def __post_init__(self) -> None:
        check_at(self)
        check_text(self, "producer")
        check_traffic(self)


@dataclass(frozen=True)
class KillWorker:
    """KCL worker ``worker`` (0-based) of consumer group ``consumer`` crashes at ``at`` s."""

    at: float
    consumer: str
    worker: int = 0

    def __post_init__(self) -> None:
        check_at(self)
        check_text(self, "consumer")
        check_whole(self, "worker", minimum=0)


@dataclass(frozen=True)
class AddWorker:
    """A new worker joins KCL consumer group ``consumer`` at ``at`` s."""

    at: float
    consumer: str

    def __post_init__(self) -> None:
        check_at(self)
        check_text(self, "consumer")


Event = Union[SplitShard, MergeShards, UpdateShardCount, SwitchMode, ChangeTraffic, KillWorker, AddWorker]

# ----------------------------------------------------------------------------- the scenario


@dataclass(frozen=True)
class StreamSpec:
    """The stream: capacity mode, shard count (provisioned), Region, limit overrides, retention."""

    name: str = "lab-stream"
    mode: str = "PROVISIONED"
    shards: int = 4
    region: str = "us-east-1"
    limits: dict = field(default_factory=dict)
    retention_hours: int = 24

    def __post_init__(self) -> None:
        check_service_name(self, "name", "StreamName")
        check_choice(self, "mode", capacity_modes())
        # An on-demand stream picks its own shards and ignores this field (it may be 0 there).
        check_whole(self, "shards", minimum=1 if self.mode == "PROVISIONED" else 0)
        check_text(self, "region", REGION_PATTERN, "a Region name such as 'us-east-1'")
        if not isinstance(self.limits, dict):
            fail(self, "limits", self.limits, "a dict of limit overrides (names as in kinesislab.Limits)")
        known = set(Limits.__dataclass_fields__) - {"region"}
        unknown = sorted(str(name) for name in self.limits if name not in known)
        if unknown:
            raise ValueError("StreamSpec.limits must name limits of kinesislab.Limits (Limits.table() lists them), "
                             f"not {', '.join(repr(n) for n in unknown)}")
        # Retention bounds are the stream's limits (24..8,760 h by default; a lesson may lower them).
        limits = limits_for_region(self.region).override(**self.limits)
        check_whole(self, "retention_hours", minimum=limits.min_retention_hours,
                     maximum=limits.max_retention_hours, unit="hours")


@dataclass(frozen=True)
class Scenario:
    """Everything one run needs. ``duration`` and ``resolution`` are seconds of virtual time;
    ``resolution`` (the tick) is at most 1 s, the period at which shards' write budgets refill."""

    stream: StreamSpec = StreamSpec()
    producers: Sequence[Producer] = (Producer(),)
    consumers: Sequence[Consumer] = ()
    events: Sequence[Event] = ()
    duration: float = 120.0
    resolution: float = 1.0

    def __post_init__(self) -> None:
        check_kind(self, "stream", (StreamSpec,), "a StreamSpec")
        for name, kinds, allowed in (("producers", (Producer,), "Producer"),
                                     ("consumers", (PollingConsumer, KclConsumer, EnhancedFanOutConsumer,
                                                    FirehoseConsumer), "consumer"),
                                     ("events", (SplitShard, MergeShards, UpdateShardCount, SwitchMode, ChangeTraffic,
                                                 KillWorker, AddWorker), "event")):
            items = getattr(self, name)
            if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
                fail(self, name, items, f"a list or tuple of {allowed}s")
            for index, item in enumerate(items):
                if not isinstance(item, kinds):
                    raise ValueError(f"Scenario.{name}[{index}] must be a {allowed}, not {item!r}")
        names = [c.name for c in self.consumers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"Scenario.consumers must have distinct names (results are kept by name), "
                             f"not {', '.join(repr(n) for n in twice)} twice")
        producers = {p.name for p in self.producers}
        for index, event in enumerate(self.events):
            if isinstance(event, ChangeTraffic) and event.producer not in producers:
                raise ValueError(f"Scenario.events[{index}] must change the traffic of one of the producers "
                                 f"({', '.join(repr(n) for n in sorted(producers)) or 'none'}), not {event.producer!r}")
        check_real(self, "duration", above=0, unit="seconds")
        # The tick refills the shards' write budgets once a second, so it is at most 1 s (the
        # Runner checks the same).
        check_real(self, "resolution", above=0, maximum=1, unit="second")
