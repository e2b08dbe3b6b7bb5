"""Reusable plots (matplotlib only, no widgets): each builds its artists once on an Axes and
updates them from a :class:`~kinesislab.scenario.results.Results`.

``upto`` is the time cursor in seconds: plots show the run up to that second, so a Play control
can animate a finished run without simulating again.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch

from kinesislab.dashboards.style import (CAPACITY_LINE, COLOURS, FONT_SIZE, SERIES_CYCLE, TextPool, keep_legend,
                                         make_ticks, nice_ceiling, pin_ylabel, set_limits, set_ticks, si_yaxis, tidy)
from kinesislab.engine.hashing import HASH_KEY_SPACE


def _window(results, upto: float | None) -> int:
    ticks = len(results.series("OfferedRecords"))
    if upto is None:
        return ticks
    return int(np.clip(np.floor(upto / results.resolution) + 1, 1, ticks))


class ThroughputPanel:
    """Offered, accepted and throttled records per second over time, with the capacity line."""

    def __init__(self, ax: Axes, title: str = "Throughput over time", legend_columns: int = 4):
        self.ax = ax
        self.offered, = ax.plot([], [], color=COLOURS["offered"], linewidth=1.2, label="offered (incl. retries)")
        self.accepted, = ax.plot([], [], color=COLOURS["accepted"], linewidth=2.0, label="accepted")
        self.throttled, = ax.plot([], [], color=COLOURS["throttled"], linewidth=1.5, linestyle="-.", label="throttled")
        self.capacity, = ax.plot([], [], label="write capacity", **CAPACITY_LINE)
        self.cursor = ax.axvline(0, color="#777777", linewidth=0.8, alpha=0.0)
        tidy(ax, title, "time (s)", "records per second")
        si_yaxis(ax)
        ax.legend(loc="upper left", fontsize=FONT_SIZE - 1, ncols=legend_columns, frameon=False)

    def update(self, results, upto: float | None = None, capacity: bool = True) -> None:
        n = _window(results, upto)
        scale = 1.0 / results.resolution
        t = np.arange(len(results.series("OfferedRecords"))) * results.resolution
        attempts = results.shard_matrix("OfferedRecords").sum(axis=1) * scale
        self.offered.set_data(t[:n], attempts[:n])
        self.accepted.set_data(t[:n], results.series("IncomingRecords")[:n] * scale)
        self.throttled.set_data(t[:n], results.series("ThrottledRecords")[:n] * scale)
        cap = results.series("WriteCapacityRecords")
        self.capacity.set_data(t[:n], cap[:n]) if capacity else self.capacity.set_data([], [])
        top = nice_ceiling(max(1.0, float(np.max(attempts)), float(np.max(cap)) if capacity else 0.0) * 1.25)
        set_limits(self.ax, (0, max(t[-1], results.resolution)), (0, top))
        if upto is not None and n < len(t):
            self.cursor.set_xdata([t[n - 1], t[n - 1]])
            self.cursor.set_alpha(1.0)
        else:
            self.cursor.set_alpha(0.0)


class ShardLoadPanel:
    """One bar per open shard: accepted records/s against the per-shard limit, throttled on top,
    the hottest shard outlined.

    Each set of bars is one PolyCollection, not a Rectangle per shard: a panel for 64 shards
    then costs two draw calls instead of 128, and an update sets two arrays."""

    #: Bar width in shard positions (as ``Axes.bar``'s default).
    BAR_WIDTH = 0.8

    def __init__(self, ax: Axes, max_shards: int = 64, title: str = "Load per shard", max_labels: int = 24):
        """``max_labels``: at most this many shard numbers under the bars (every k-th beyond), about
        one per 20 pixels of the panel's width, so that they never run into each other."""
        self.ax = ax
        self.max_shards = max_shards
        self.max_labels = max_labels
        self.accepted = PolyCollection([], facecolors=COLOURS["accepted"], edgecolors="none", linewidths=0.0,
                                       label="accepted")
        self.throttled = PolyCollection([], facecolors=COLOURS["throttled"], edgecolors="none", linewidths=0.0,
                                        label="throttled")
        ax.add_collection(self.accepted, autolim=False)
        ax.add_collection(self.throttled, autolim=False)
        self.limit = ax.axhline(1000, label="per-shard limit", **CAPACITY_LINE)
        tidy(ax, title, "shard", "records per second")
        si_yaxis(ax)
        make_ticks(ax.xaxis, min(max_shards, max_labels) + 1)   # one per shard label shown
        ax.legend(handles=[self.limit, Patch(color=COLOURS["accepted"], label="accepted"),
                           Patch(color=COLOURS["throttled"], label="throttled")],
                  loc="upper right", fontsize=FONT_SIZE - 1, frameon=False)

    @classmethod
    def _boxes(cls, bottom: np.ndarray, height: np.ndarray) -> np.ndarray:
        """Bar outlines (shards x 4 corners x (x, y)) for bars at 0, 1, 2, ..."""
        left = np.arange(len(bottom)) - cls.BAR_WIDTH / 2
        right = left + cls.BAR_WIDTH
        top = bottom + height
        return np.stack([np.column_stack([left, bottom]), np.column_stack([right, bottom]),
                         np.column_stack([right, top]), np.column_stack([left, top])], axis=1)

    def update(self, results, upto: float | None = None, average_over: float = 10.0,
               limit_records_per_second: float = 1000.0, headroom: float = 1.0) -> dict:
        """Average over the ``average_over`` seconds before the cursor; ``headroom`` multiplies the
        room above the bars (e.g. for a legend that needs more). Returns the hot shard's figures."""
        n = _window(results, upto)
        first = max(0, n - max(1, int(round(average_over / results.resolution))))
        ids = results.shard_ids
        incoming = results.shard_matrix("IncomingRecords")[first:n]
        throttled = results.shard_matrix("WriteProvisionedThroughputExceeded")[first:n]
        open_now = _open_at(results, (n - 1) * results.resolution)[:self.max_shards]
        scale = 1.0 / results.resolution
        acc = incoming[:, open_now].mean(axis=0) * scale if len(incoming) else np.zeros(len(open_now))
        thr = throttled[:, open_now].mean(axis=0) * scale if len(throttled) else np.zeros(len(open_now))
        hot = int(np.argmax(acc + thr)) if len(open_now) else -1
        self.accepted.set_verts(self._boxes(np.zeros(len(acc)), acc))
        self.throttled.set_verts(self._boxes(acc, thr))
        outlined = hot >= 0 and thr[hot] > 0
        edges = np.zeros((len(acc), 4))              # transparent: no outline
        widths = np.zeros(len(acc))
        if outlined:
            edges[hot] = to_rgba(COLOURS["hot"])
            widths[hot] = 2.5
        self.accepted.set_edgecolors(edges)
        self.accepted.set_linewidths(widths)
        self.limit.set_ydata([limit_records_per_second] * 2)
        count = max(1, len(open_now))
        set_limits(self.ax, x=(-0.6, count - 0.4))
        step = math.ceil(count / self.max_labels)
        shown = range(0, len(open_now), step)
        set_ticks(self.ax.xaxis, shown, [_short_id(ids[open_now[i]]) for i in shown])
        set_limits(self.ax, y=(0, nice_ceiling(headroom * max(limit_records_per_second * 1.3,
                                                              float(np.max(acc + thr)) * 1.15 if len(acc) else 1))))
        if hot < 0:
            return {}
        return {"shard_id": ids[open_now[hot]], "accepted": float(acc[hot]), "throttled": float(thr[hot]),
                "total_accepted": float(acc.sum()), "total_throttled": float(thr.sum())}


def _short_id(shard_id: str) -> str:
    """``shardId-000000000007`` -> ``7``."""
    return shard_id.replace("shardId-", "").lstrip("0") or "0"


def _open_at(results, second: float) -> list[int]:
    """Positions (in ``results.shard_ids``) of the shards open at ``second``, in key-space order."""
    lineage = results.lineage
    created = lineage["created_second"].to_numpy(dtype=float)
    closed = lineage["closed_second"].to_numpy(dtype=float)
    is_open = (created <= second + 1e-9) & (np.isnan(closed) | (closed > second))
    order = np.argsort(lineage["StartingHashKey"].to_numpy(dtype=float), kind="stable")
    return [int(i) for i in order if is_open[i]]


class KeySpacePanel:
    """The 128-bit hash key line: each open shard's range, and where the keys fall."""

    def __init__(self, ax: Axes, title: str = "Hash key space (0 to 2^128 - 1)"):
        self.ax = ax
        self.ranges = PolyCollection([], linewidths=1.0, edgecolors="white")
        ax.add_collection(self.ranges)
        self.keys = ax.scatter([], [], s=[], color=COLOURS["offered"], marker="|", zorder=3, label="partition keys")
        self.labels = TextPool(ax, ha="center", va="center", fontsize=FONT_SIZE - 1)
        tidy(ax, title, "position in the key space (fraction of 2^128)", "")
        ax.set_ylim(-0.6, 0.8)
        ax.set_xlim(0, 1)
        ax.set_yticks([])
        ax.grid(False)

    def update(self, ranges: list[tuple[str, int, int]], key_hashes: np.ndarray | None = None,
               key_weights: np.ndarray | None = None, hot_shard: str | None = None) -> None:
        polygons, colours = [], []
        for i, (shard_id, start, end) in enumerate(ranges):
            a, b = start / HASH_KEY_SPACE, (end + 1) / HASH_KEY_SPACE
            polygons.append([(a, -0.25), (b, -0.25), (b, 0.25), (a, 0.25)])
            colours.append(COLOURS["throttled"] if shard_id == hot_shard else
                           (COLOURS["accepted"] if i % 2 == 0 else COLOURS["consumer"]))
        self.ranges.set_verts(polygons)
        self.ranges.set_facecolors(colours)
        self.labels.show([((start + end) / 2 / HASH_KEY_SPACE, -0.45, _short_id(shard_id))
                          for shard_id, start, end in ranges] if len(ranges) <= 16 else [])
        if key_hashes is not None and len(key_hashes):
            x = np.asarray(key_hashes, dtype=float) / HASH_KEY_SPACE
            weights = np.asarray(key_weights if key_weights is not None else np.ones(len(x)), float)
            sizes = 60 + 600 * weights / max(weights.max(), 1e-12)
            self.keys.set_offsets(np.column_stack([x, np.full(len(x), 0.5)]))
            self.keys.set_sizes(sizes)
        else:
            self.keys.set_offsets(np.zeros((0, 2)))


class LagPanel:
    """How far behind each consumer is (MillisBehindLatest) over time."""

    def __init__(self, ax: Axes, max_consumers: int = 8, title: str = "Consumer lag"):
        self.ax = ax
        self.lines = [ax.plot([], [], color=SERIES_CYCLE[i % len(SERIES_CYCLE)], linewidth=1.8)[0]
                      for i in range(max_consumers)]
        tidy(ax, title, "time (s)", "behind latest (s)")
        pin_ylabel(ax, "888.8")

    def update(self, results, upto: float | None = None) -> dict[str, float]:
        n = _window(results, upto)
        frame = results.consumers
        worst = {}
        top = 1.0
        behind = frame["MillisBehindLatest"] if "MillisBehindLatest" in frame else None
        names = list(behind.columns) if behind is not None else []
        # One conversion for all consumers (a column lookup in the MultiIndex frame costs ~1 ms each).
        lags = behind.to_numpy(dtype=float) / 1000.0 if names else np.zeros((len(frame), 0))
        t = frame.index.to_numpy()
        for i, line in enumerate(self.lines):
            if i < len(names):
                lag = lags[:, i]
                line.set_data(t[:n], lag[:n])
                line.set_label(names[i])
                worst[names[i]] = float(lag[:n].max()) if n else 0.0
                top = max(top, float(lag.max()))
            else:
                line.set_data([], [])
                line.set_label("_hidden")
        set_limits(self.ax, (0, max(float(t[-1]) if len(t) else 1.0, 1.0)), (0, nice_ceiling(top * 1.2)))
        if names:
            keep_legend(self.ax, tuple(names), lambda: self.ax.legend(loc="upper left", fontsize=FONT_SIZE - 1,
                                                                       frameon=False))
        return worst


class LineagePanel:
    """Shards through time: each shard is a block spanning its hash range (up) and its life (across)."""

    def __init__(self, ax: Axes, title: str = "Shard lineage"):
        self.ax = ax
        self.blocks = PolyCollection([], linewidths=0.8, edgecolors="white")
        ax.add_collection(self.blocks)
        self.labels = TextPool(ax, ha="center", va="center", fontsize=FONT_SIZE - 1, color="white")
        tidy(ax, title, "time (s)", "hash key range (fraction of 2^128)")
        ax.set_ylim(0, 1)
        ax.legend(handles=[Patch(color=COLOURS["accepted"], label="open"), Patch(color=COLOURS["idle"], label="closed")],
                  loc="upper right", fontsize=FONT_SIZE - 1, frameon=False)

    def update(self, lineage, end_second: float) -> None:
        polygons, colours, labels = [], [], []
        for row in lineage[["created_second", "closed_second", "StartingHashKey", "EndingHashKey",
                            "ShardId"]].itertuples(index=False):
            start = float(row.created_second)
            closed = row.closed_second
            stop = end_second if np.isnan(closed) else float(closed)
            low = row.StartingHashKey / HASH_KEY_SPACE
            high = (row.EndingHashKey + 1) / HASH_KEY_SPACE
            polygons.append([(start, low), (stop, low), (stop, high), (start, high)])
            colours.append(COLOURS["idle"] if stop < end_second else COLOURS["accepted"])
            if len(lineage) <= 24 and high - low > 0.04:
                labels.append(((start + stop) / 2, (low + high) / 2, _short_id(row.ShardId)))
        self.labels.show(labels)
        self.blocks.set_verts(polygons)
        self.blocks.set_facecolors(colours)
        set_limits(self.ax, x=(0, max(end_second, 1.0)))
