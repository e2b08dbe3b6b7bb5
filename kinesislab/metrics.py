"""Per-second CloudWatch-style metrics, collected as the engine runs and returned as DataFrames.

Like Mesa's DataCollector, values are collected per virtual second while the simulator runs.
Names are the CloudWatch names of the ``AWS/Kinesis`` namespace (facts §9).

DataFrame layout (:meth:`MetricsRecorder.frame`):

* ``level="stream"``: index ``Timestamp`` (tz-aware UTC, one row per virtual second from the
  stream's creation to the current second), one column per metric name. ``df["IncomingRecords"].plot()``
  is the one-liner.
* ``level="shard"`` (only metrics enabled with ``enable_enhanced_monitoring``, recorded from the
  moment they were enabled, as CloudWatch does): columns are a MultiIndex ``(MetricName, ShardId)``;
  ``df["IncomingBytes"].plot()`` draws one line per shard.
* ``level="consumer"``: columns ``(MetricName, ConsumerName)`` for enhanced fan-out consumers.

Sums (bytes, records, throttles) are per-second totals with 0 where nothing happened. Gauges
(iterator age, MillisBehindLatest) are the per-second Maximum and NaN where nothing was measured.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Iterable

import numpy as np
import pandas as pd

#: Metrics whose per-second statistic is Maximum rather than Sum.
GAUGE_METRICS = frozenset({
    "GetRecords.IteratorAgeMilliseconds",
    "IteratorAgeMilliseconds",
    "SubscribeToShardEvent.MillisBehindLatest",
    "MillisBehindLatest",
})

#: Shard-level metric names accepted by EnableEnhancedMonitoring (botocore ``MetricsName``).
SHARD_LEVEL_METRICS = (
    "IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
    "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds",
)

_Series = dict[int, float]


class MetricsRecorder:
    """Collects per-second values keyed by (stream, dimension, metric)."""

    def __init__(self) -> None:
        self._stream: dict[tuple[str, str], _Series] = defaultdict(dict)
        self._shard: dict[tuple[str, str, str], _Series] = defaultdict(dict)
        self._consumer: dict[tuple[str, str, str], _Series] = defaultdict(dict)

    @staticmethod
    def _put(series: _Series, metric: str, second: int, value: float) -> None:
        if metric in GAUGE_METRICS:
            old = series.get(second)
            series[second] = value if old is None or value > old else old
        else:
            series[second] = series.get(second, 0.0) + value

    def stream(self, stream_name: str, metric: str, second: int, value: float) -> None:
        """Add a stream-level datapoint for the whole second ``second`` (epoch seconds)."""
        self._put(self._stream[(stream_name, metric)], metric, second, value)

    def streams(self, stream_name: str, second: int, values: Iterable[tuple[str, float]]) -> None:
        """:meth:`stream` for several ``(metric, value)`` pairs of one second (one call per request
        instead of one per metric)."""
        put, series = self._put, self._stream
        for metric, value in values:
            put(series[(stream_name, metric)], metric, second, value)

    def shard(self, stream_name: str, shard_id: str, metric: str, second: int, value: float) -> None:
        """Add a shard-level datapoint (the caller checks enhanced monitoring is on)."""
        self._put(self._shard[(stream_name, metric, shard_id)], metric, second, value)

    def consumer(self, stream_name: str, consumer_name: str, metric: str, second: int, value: float) -> None:
        """Add an enhanced fan-out consumer datapoint."""
        self._put(self._consumer[(stream_name, metric, consumer_name)], metric, second, value)

    def forget(self, stream_name: str) -> None:
        """Drop a deleted stream's metrics (CloudWatch keeps them; a re-created stream starts fresh here)."""
        for store in (self._stream, self._shard, self._consumer):
            for key in [k for k in store if k[0] == stream_name]:
                del store[key]

    def frame(self, stream_name: str, start_second: int, end_second: int, level: str = "stream") -> pd.DataFrame:
        """Metrics of one stream from ``start_second`` to ``end_second`` inclusive (see module doc)."""
        if level not in ("stream", "shard", "consumer"):
            raise ValueError("level must be 'stream', 'shard' or 'consumer'")
        seconds = np.arange(start_second, max(end_second, start_second - 1) + 1)
        index = pd.DatetimeIndex(
            [datetime.fromtimestamp(int(s), tz=timezone.utc) for s in seconds], name="Timestamp")
        columns: dict = {}
        if level == "stream":
            for (name, metric), series in sorted(self._stream.items()):
                if name == stream_name:
                    columns[metric] = self._dense(series, metric, seconds)
            return pd.DataFrame(columns, index=index)
        store = self._shard if level == "shard" else self._consumer
        for (name, metric, dimension), series in sorted(store.items()):
            if name == stream_name:
                columns[(metric, dimension)] = self._dense(series, metric, seconds)
        frame = pd.DataFrame(columns, index=index)
        frame.columns = pd.MultiIndex.from_tuples(
            list(columns), names=["MetricName", "ShardId" if level == "shard" else "ConsumerName"])
        return frame

    @staticmethod
    def _dense(series: _Series, metric: str, seconds: np.ndarray) -> np.ndarray:
        fill = np.nan if metric in GAUGE_METRICS else 0.0
        values = np.full(len(seconds), fill)
        if len(seconds):
            first = int(seconds[0])
            for second, value in series.items():
                offset = second - first
                if 0 <= offset < len(values):
                    values[offset] = value
        return values
