"""The declarative scenario: what runs, not how. Plain dataclasses, like Ciw's Network.

A :class:`Scenario` names a stream, producers, consumers and scheduled events;
:func:`kinesislab.run` turns it into a :class:`~kinesislab.scenario.results.Results`. Rates are
records per second, sizes bytes, times seconds of virtual time from the start of the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np

# ----------------------------------------------------------------------------- traffic shapes


@dataclass(frozen=True)
class Constant:
    """``rate`` records/s throughout."""

    rate: float

    def at(self, t: np.ndarray) -> np.ndarray:
        return np.full(np.shape(t), float(self.rate))


@dataclass(frozen=True)
class Ramp:
    """Linear from ``start_rate`` at ``start`` s to ``end_rate`` at ``end`` s, flat outside."""

    start_rate: float
    end_rate: float
    start: float = 0.0
    end: float = 60.0

    def at(self, t: np.ndarray) -> np.ndarray:
        fraction = np.clip((np.asarray(t, float) - self.start) / max(self.end - self.start, 1e-9), 0, 1)
        return self.start_rate + fraction * (self.end_rate - self.start_rate)


@dataclass(frozen=True)
class Step:
    """``before`` records/s until ``at_second``, then ``after``."""

    before: float
    after: float
    at_second: float

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

    def at(self, t: np.ndarray) -> np.ndarray:
        phase = 2 * np.pi * (np.asarray(t, float) - self.peak_hour * 3600) / self.period
        return self.low + (self.high - self.low) * (1 + np.cos(phase)) / 2


@dataclass(frozen=True)
class Series:
    """A replayed series: ``rates[i]`` records/s during second ``i`` (the last value holds afterwards)."""

    rates: tuple[float, ...]

    def at(self, t: np.ndarray) -> np.ndarray:
        index = np.clip(np.asarray(t, float).astype(int), 0, len(self.rates) - 1)
        return np.asarray(self.rates, float)[index]


Traffic = Union[Constant, Ramp, Step, Burst, Diurnal, Series]

# ----------------------------------------------------------------------------- record sizes


@dataclass(frozen=True)
class FixedSize:
    """Every record's data is ``data_bytes`` long."""

    data_bytes: int = 1024

    def mean(self) -> float:
        return float(self.data_bytes)


@dataclass(frozen=True)
class UniformSize:
    """Data sizes uniform between ``low`` and ``high`` bytes (the runner uses the mean per tick)."""

    low: int = 100
    high: int = 2000

    def mean(self) -> float:
        return (self.low + self.high) / 2


RecordSize = Union[FixedSize, UniformSize]

# ----------------------------------------------------------------------------- partition keys


@dataclass(frozen=True)
class UniformKeys:
    """``count`` distinct keys, equally likely."""

    count: int = 1000


@dataclass(frozen=True)
class ZipfKeys:
    """``count`` keys; key *k* (1-based rank) has weight ``1 / k**skew``."""

    count: int = 1000
    skew: float = 1.1


@dataclass(frozen=True)
class HotKey:
    """One key takes ``share`` (0..1) of the records; the rest spread evenly over ``count - 1`` keys."""

    share: float = 0.5
    count: int = 1000


@dataclass(frozen=True)
class RandomKeys:
    """A fresh random key per record (e.g. a UUID): spreads by hash-range share."""


@dataclass(frozen=True)
class ExplicitHashKeys:
    """Records carry explicit hash keys, ``hash_keys[i]`` with weight ``weights[i]`` (equal if omitted)."""

    hash_keys: tuple[int, ...]
    weights: tuple[float, ...] | None = None


@dataclass(frozen=True)
class SaltedKeys:
    """Keys of ``base`` with a salt suffix: each key becomes ``salt`` keys ``key#0 .. key#salt-1``."""

    base: Union[UniformKeys, ZipfKeys, HotKey]
    salt: int = 4


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


@dataclass(frozen=True)
class ExponentialBackoff:
    """Retry *k* waits ``min(cap, base * 2**k) * U(0, 1)`` s (AWS "full jitter"); at most ``max_attempts``."""

    base: float = 0.1
    cap: float = 20.0
    max_attempts: int = 10
    max_buffered: int = 1_000_000
    jitter: bool = True


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

# ----------------------------------------------------------------------------- consumers


@dataclass(frozen=True)
class PollingConsumer:
    """A GetRecords application reading every shard every ``poll_interval`` s with ``limit`` records per call."""

    name: str = "app"
    poll_interval: float = 1.0
    limit: int = 10_000
    start: str = "TRIM_HORIZON"


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


@dataclass(frozen=True)
class EnhancedFanOutConsumer:
    """An enhanced fan-out consumer: its own 2 MiB/s per shard, records pushed as they arrive."""

    name: str = "efo-app"
    start: str = "TRIM_HORIZON"


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


Consumer = Union[PollingConsumer, KclConsumer, EnhancedFanOutConsumer, FirehoseConsumer]

# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class SplitShard:
    """Split ``shard_id`` at ``new_starting_hash_key`` (default: its midpoint) at ``at`` s."""

    at: float
    shard_id: str
    new_starting_hash_key: int | None = None


@dataclass(frozen=True)
class MergeShards:
    """Merge two adjacent shards at ``at`` s."""

    at: float
    shard_id: str
    adjacent_shard_id: str


@dataclass(frozen=True)
class UpdateShardCount:
    """UpdateShardCount to ``target`` (UNIFORM_SCALING) at ``at`` s."""

    at: float
    target: int


@dataclass(frozen=True)
class SwitchMode:
    """UpdateStreamMode to ``mode`` ("PROVISIONED" or "ON_DEMAND") at ``at`` s."""

    at: float
    mode: str


@dataclass(frozen=True)
class ChangeTraffic:
    """From ``at`` s on, producer ``producer`` follows ``traffic`` (times stay relative to the run start)."""

    at: float
    producer: str
    traffic: Traffic


@dataclass(frozen=True)
class KillWorker:
    """KCL worker ``worker`` (0-based) of consumer group ``consumer`` crashes at ``at`` s."""

    at: float
    consumer: str
    worker: int = 0


@dataclass(frozen=True)
class AddWorker:
    """A new worker joins KCL consumer group ``consumer`` at ``at`` s."""

    at: float
    consumer: str


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
