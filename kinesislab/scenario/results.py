"""What a scenario run produced: per-second DataFrames and summaries, ready for pandas.

Layout (every frame is indexed by ``second``, seconds of virtual time since the run started; a
row holds the totals of that tick, which is one second unless the scenario's resolution says
otherwise):

``Results.stream`` -- one column per metric:
    OfferedRecords (new user records producers created), AcceptedRecords (user records stored;
    with KPL aggregation several per Kinesis record), ThrottledRecords (put attempts refused),
    RetriedRecords, DroppedRecords (given up: no retry, attempts or buffer exhausted),
    ExpiredRecords (KPL RecordTtl), BufferedRecords (waiting to retry at the end of the tick),
    IncomingRecords / IncomingBytes (Kinesis records and bytes stored, CloudWatch's names),
    WriteProvisionedThroughputExceeded and PutRecords.ThrottledRecords (refused records),
    OpenShardCount, WriteCapacityRecords / WriteCapacityBytes (open shards x per-shard limit, per
    second), GetRecords.Records / GetRecords.Bytes / ReadProvisionedThroughputExceeded (throttled
    calls) / GetRecords.IteratorAgeMilliseconds (worst polling consumer), SubscribeToShardEvent.Records /
    .Bytes / .MillisBehindLatest (enhanced fan-out).
``Results.shards`` -- columns ``(MetricName, ShardId)``: IncomingRecords, IncomingBytes,
    OfferedRecords, WriteProvisionedThroughputExceeded, OutgoingRecords, OutgoingBytes,
    ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds.
``Results.consumers`` -- columns ``(MetricName, ConsumerName)``: Records, Bytes,
    MillisBehindLatest, ReadProvisionedThroughputExceeded, Duplicates (KCL groups).
"""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from kinesislab.scenario.runner import Runner


class TickRecorder:
    """Per-tick collection (Mesa DataCollector style) into preallocated arrays."""

    def __init__(self, ticks: int):
        self.ticks = ticks
        self.scalars: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(ticks))
        self.slots: dict[str, list[np.ndarray]] = defaultdict(lambda: [np.zeros(0)] * ticks)
        self.consumers: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(ticks))

    def add_scalar(self, tick: int, metric: str, value: float) -> None:
        self.scalars[metric][tick] += value

    def set_slot_rows(self, first_tick: int, metric: str, values: np.ndarray) -> None:
        """Per-shard values ``[slot, tick]`` for ticks ``first_tick ..`` (a segment of reads)."""
        rows = self.slots[metric]
        for offset in range(values.shape[1]):
            rows[first_tick + offset] = values[:, offset]

    def add_consumer(self, tick: int, consumer: str, metric: str, value: float) -> None:
        self.consumers[(metric, consumer)][tick] += value

    def slot_matrix(self, metric: str, slots: int) -> np.ndarray:
        matrix = np.zeros((self.ticks, slots))
        for tick, values in enumerate(self.slots[metric]):
            matrix[tick, :len(values)] = values
        return matrix


_STREAM_COLUMNS = (
    "OfferedRecords", "AcceptedRecords", "ThrottledRecords", "RetriedRecords", "DroppedRecords", "ExpiredRecords",
    "BufferedRecords", "IncomingRecords", "IncomingBytes", "WriteProvisionedThroughputExceeded",
    "PutRecords.ThrottledRecords", "OpenShardCount", "WriteCapacityRecords", "WriteCapacityBytes",
    "GetRecords.Records", "GetRecords.Bytes", "ReadProvisionedThroughputExceeded",
    "GetRecords.IteratorAgeMilliseconds", "SubscribeToShardEvent.Records", "SubscribeToShardEvent.Bytes",
    "SubscribeToShardEvent.MillisBehindLatest",
)
_SHARD_COLUMNS = ("IncomingRecords", "IncomingBytes", "OfferedRecords", "WriteProvisionedThroughputExceeded",
                  "OutgoingRecords", "OutgoingBytes", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds")


class Results:
    """The outcome of :func:`kinesislab.run`. ``sim`` is the simulator it ran on.

    The DataFrames are built on first use (a dashboard that redraws one plot pays for one frame).
    """

    def __init__(self, runner: "Runner"):
        self.scenario = runner.scenario
        self.sim = runner.sim
        self.stream_name = runner.stream.name
        self.resolution = runner.resolution
        self._recorder = runner.recorder
        self._index = pd.Index(np.arange(runner.ticks) * runner.resolution, name="second")
        self._shard_ids = [shard.shard_id for shard in runner.stream.shards_by_slot]
        self._frames: dict[str, pd.DataFrame] = {}
        self._runner = runner
        self._lineage_rows = _lineage_rows(runner)  # now: the simulator may be used after the run
        self.duplicates = {r.name: r.duplicates for r in runner.readers if r.kind == "kcl"}
        self.delivered = {r.name: r.delivered for r in runner.readers}
        self.expired_unread = {r.name: r.expired_unread for r in runner.readers}
        self.buffered_at_end = int(self._recorder.scalars["BufferedRecords"][-1])
        self.firehose = {r.name: pd.DataFrame(r.deliveries, columns=[
            "delivered_second", "bytes", "records", "first_arrival_second", "latency_seconds", "trigger"])
            for r in runner.readers if r.kind == "firehose"}
        self._firehose_reads = {r.name: r.record_bytes for r in runner.readers if r.kind == "firehose"}

    @cached_property
    def events(self) -> pd.DataFrame:
        """Scheduled events as applied: at (s), event, detail, outcome ("ok" or the service's error)."""
        return pd.DataFrame(self._runner.event_outcomes, columns=["at", "event", "detail", "outcome"])

    @cached_property
    def lineage(self) -> pd.DataFrame:
        """Every shard of the run: parents, created/closed second, hash key range and its share."""
        return pd.DataFrame(self._lineage_rows)

    @cached_property
    def latency(self) -> pd.DataFrame:
        """Put-to-read latency percentiles per consumer (ms)."""
        return _latency(self._runner)

    def series(self, metric: str) -> np.ndarray:
        """One stream-level metric as a plain array, one value per tick (no DataFrame built)."""
        return self._recorder.scalars[metric]

    def consumer_series(self, metric: str, consumer: str) -> np.ndarray | None:
        """One consumer's metric (a column of :attr:`consumers`) as a plain array, one value per
        tick; None if that consumer has no such metric (enhanced fan-out is never throttled)."""
        return self._recorder.consumers.get((metric, consumer))

    def consumer_names(self) -> list[str]:
        """Every consumer of the run, in the order of :attr:`consumers`' columns."""
        return sorted({consumer for _, consumer in self._recorder.consumers})

    @property
    def seconds(self) -> np.ndarray:
        """Each tick's start, seconds from the start of the run (the frames' index)."""
        return self._index.to_numpy()

    def shard_matrix(self, metric: str) -> np.ndarray:
        """One shard-level metric as an array ``[tick, shard]`` (shards in creation order)."""
        return self._recorder.slot_matrix(metric, len(self._shard_ids))

    @property
    def shard_ids(self) -> list[str]:
        """Every shard the run created, in creation order (the columns of :meth:`shard_matrix`)."""
        return list(self._shard_ids)

    @property
    def stream(self) -> pd.DataFrame:
        if "stream" not in self._frames:
            self._frames["stream"] = pd.DataFrame(
                {c: self._recorder.scalars[c] for c in _STREAM_COLUMNS}, index=self._index)
        return self._frames["stream"]

    @property
    def shards(self) -> pd.DataFrame:
        if "shards" not in self._frames:
            matrices = [self.shard_matrix(metric) for metric in _SHARD_COLUMNS]
            columns = pd.MultiIndex.from_product([list(_SHARD_COLUMNS), self._shard_ids], names=["MetricName", "ShardId"])
            self._frames["shards"] = pd.DataFrame(np.hstack(matrices), index=self._index, columns=columns)
        return self._frames["shards"]

    @property
    def consumers(self) -> pd.DataFrame:
        if "consumers" not in self._frames:
            data = dict(sorted(self._recorder.consumers.items()))
            frame = pd.DataFrame(data, index=self._index)
            if data:
                frame.columns = pd.MultiIndex.from_tuples(list(data), names=["MetricName", "ConsumerName"])
            self._frames["consumers"] = frame
        return self._frames["consumers"]

    def summary(self) -> dict:
        """Totals over the run (records unless named otherwise)."""
        s = {c: self._recorder.scalars[c] for c in _STREAM_COLUMNS}
        return {
            "offered": int(s["OfferedRecords"].sum()),
            "accepted": int(round(s["AcceptedRecords"].sum())),
            "throttled_attempts": int(s["ThrottledRecords"].sum()),
            "retried": int(s["RetriedRecords"].sum()),
            "dropped": int(s["DroppedRecords"].sum() + s["ExpiredRecords"].sum()),
            "buffered_at_end": self.buffered_at_end,
            "seconds_with_throttling": int((s["ThrottledRecords"] > 0).sum()),
            "max_open_shards": int(s["OpenShardCount"].max()),
            "incoming_bytes": float(s["IncomingBytes"].sum()),
        }

    def bill(self, as_mode: str | None = None) -> pd.DataFrame:
        """The itemised bill of the run (USD), as run or as if the whole run were in ``as_mode``."""
        return self.sim.bill(self.stream_name, as_mode=as_mode)

    def firehose_cost(self, name: str) -> float:
        """USD Firehose bills to ingest what delivery stream ``name`` read (5 KiB rounding per record)."""
        from kinesislab.pricing import firehose_ingest_cost
        reads = self._firehose_reads[name]
        if not reads:
            return 0.0
        sizes = [int(round(size)) for size, _ in reads]
        counts = [count for _, count in reads]
        return firehose_ingest_cost(sizes, record_counts=counts)

    def compare_modes(self) -> pd.DataFrame:
        """Total cost as run, all provisioned and all on-demand."""
        from kinesislab.pricing import compare_modes
        return compare_modes(self.sim.usage(self.stream_name))

    def __repr__(self) -> str:
        totals = self.summary()
        return (f"<Results {self.stream_name}: {len(self._index)} ticks, offered {totals['offered']:,}, "
                f"accepted {totals['accepted']:,}, dropped {totals['dropped']:,}>")


def _lineage_rows(runner: "Runner") -> list[dict]:
    start = runner.start_time
    rows = []
    for shard in runner.stream.shards_by_slot:
        rows.append({
            "ShardId": shard.shard_id, "ParentShardId": shard.parent_shard_id,
            "AdjacentParentShardId": shard.adjacent_parent_shard_id,
            "created_second": max(0.0, shard.created_seconds - start),
            "closed_second": np.nan if shard.closed_seconds is None else shard.closed_seconds - start,
            "StartingHashKey": shard.hash_key_range.starting, "EndingHashKey": shard.hash_key_range.ending,
            "key_space_share": shard.hash_key_range.share,
        })
    return rows


def _latency(runner: "Runner") -> pd.DataFrame:
    """Put-to-read latency percentiles per consumer (ms).

    A record written during tick *a* and read at the end of tick *r* waited ``r - a + 0.5`` ticks
    on average; enhanced fan-out adds its 70 ms propagation, polling readers wait for their next
    poll, half a poll interval on average (facts §6 for the propagation figures).
    """
    limits = runner.sim.limits
    rows = []
    for reader in runner.readers:
        hist = reader.latency_hist
        total = hist.sum()
        if reader.kind == "efo":
            base = limits.efo_propagation_ms
            lag = np.arange(len(hist)) * runner.resolution * 1000.0
        else:
            base = 0.0
            lag = (np.arange(len(hist)) + 0.5) * runner.resolution * 1000.0
        row = {"consumer": reader.name, "kind": reader.kind, "records": float(total)}
        if total > 0:
            cumulative = np.cumsum(hist) / total
            for label, q in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99)):
                row[label] = float(lag[int(np.searchsorted(cumulative, q))] + base)
            row["max_ms"] = float(lag[int(np.flatnonzero(hist)[-1])] + base)
        rows.append(row)
    return pd.DataFrame(rows, columns=["consumer", "kind", "records", "p50_ms", "p90_ms", "p99_ms", "max_ms"])
