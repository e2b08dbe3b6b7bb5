"""Lesson 02's dashboard and pictures: a partition key, its MD5 hash key, and the shard that owns it.

The dashboard asks a real (simulated) stream: it creates a stream with the chosen shard count,
lists its shards' hash key ranges and puts one record with the learner's key (or explicit hash
key), so the shard it names is the one the service picked. Bad input becomes the service's own
error message, shown as a sentence.
"""

from __future__ import annotations

import bisect
from functools import lru_cache

import numpy as np
from IPython.display import Image

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.panels import KeySpacePanel
from kinesislab.dashboards.style import (COLOURS, FONT_SIZE, TextPool, make_ticks, nice_ceiling, pin_ylabel, set_limits,
                                         set_ticks, tidy)
from kinesislab.engine.hashing import HASH_KEY_SPACE, hash_key
from kinesislab.simulator import Simulator

STREAM = "keys"
SAMPLE_KEYS = 1000


@lru_cache(maxsize=4)
def sample_keys(count: int = SAMPLE_KEYS) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """``customer-1`` .. ``customer-<count>`` and their hash keys (computed once)."""
    names = tuple(f"customer-{i + 1}" for i in range(count))
    return names, tuple(hash_key(name) for name in names)


def stream_with(shards: int):
    """A fresh simulator with an ACTIVE stream of ``shards`` shards; returns (client, ranges) where
    ranges are ``(ShardId, StartingHashKey, EndingHashKey)`` in key-space order, as ListShards gives them."""
    sim = Simulator(seed=0)
    kinesis = sim.client("kinesis")
    kinesis.create_stream(StreamName=STREAM, ShardCount=int(shards))
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM)
    listed = kinesis.list_shards(StreamName=STREAM)["Shards"]
    ranges = sorted(((s["ShardId"], int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                     for s in listed), key=lambda r: r[1])
    return kinesis, ranges


def shard_owning(hash_value: int, ranges) -> str:
    """The shard whose inclusive range holds ``hash_value``."""
    starts = [start for _, start, _ in ranges]
    return ranges[bisect.bisect_right(starts, hash_value) - 1][0]


def where_does_it_land(partition_key: str, shards: int, explicit_hash_key: str | None = None) -> dict:
    """Put one record with ``partition_key`` (and optionally ``explicit_hash_key``) into a fresh
    ``shards``-shard stream; report the hash key used and the shard the service chose."""
    kinesis, ranges = stream_with(shards)
    extra = {"ExplicitHashKey": explicit_hash_key} if explicit_hash_key else {}
    response = kinesis.put_record(StreamName=STREAM, Data=b"hello", PartitionKey=partition_key, **extra)
    used = int(explicit_hash_key) if explicit_hash_key else hash_key(partition_key)
    start, end = next((s, e) for sid, s, e in ranges if sid == response["ShardId"])
    return {"partition_key": partition_key, "hash_key": used, "explicit": bool(explicit_hash_key),
            "fraction": used / HASH_KEY_SPACE, "shard_id": response["ShardId"],
            "starting_hash_key": start, "ending_hash_key": end, "ranges": ranges}


def keys_per_shard(shards: int, count: int = SAMPLE_KEYS) -> list[int]:
    """How many of ``count`` distinct keys (customer-1, customer-2, ...) fall in each shard of an
    evenly split ``shards``-shard stream (key-space order)."""
    return keys_per_range(stream_with(shards)[1], count)


def keys_per_range(ranges, count: int = SAMPLE_KEYS) -> list[int]:
    """How many of ``count`` sample keys fall in each of ``ranges`` (as :func:`stream_with` gives them)."""
    _, hashes = sample_keys(count)
    owners = [shard_owning(h, ranges) for h in hashes]
    return [owners.count(shard_id) for shard_id, _, _ in ranges]


# --------------------------------------------------------------------------- plots


class KeysPerShardPanel:
    """Bars: how many of the sample keys each shard owns, with the even share dotted."""

    def __init__(self, ax, max_shards: int = 16, title: str = f"{SAMPLE_KEYS:,} different keys: how many per shard"):
        self.ax = ax
        x = np.arange(max_shards)
        self.bars = ax.bar(x, np.zeros(max_shards), color=COLOURS["accepted"], width=0.7)
        self.even = ax.axhline(0, color="#555555", linestyle=":", linewidth=1.2, label="an even share")
        self.labels = TextPool(ax, ha="center", va="bottom", fontsize=FONT_SIZE - 2)
        tidy(ax, title, "shard", "keys")
        pin_ylabel(ax, "8888")
        make_ticks(ax.xaxis, max_shards)
        ax.legend(loc="upper right", fontsize=FONT_SIZE - 1, frameon=False)

    def update(self, counts: list[int], selected: int | None) -> None:
        n = len(counts)
        for i, bar in enumerate(self.bars):
            bar.set_visible(i < n)
            if i < n:
                bar.set_height(counts[i])
                bar.set_color(COLOURS["highlight"] if i == selected else COLOURS["accepted"])
                bar.set_edgecolor("#333333" if i == selected else "none")
        self.labels.show([(i, counts[i], f"{counts[i]:,}") for i in range(n)] if n <= 16 else [])
        even = sum(counts) / max(n, 1)
        self.even.set_ydata([even, even])
        set_limits(self.ax, x=(-0.6, n - 0.4))
        set_ticks(self.ax.xaxis, range(n))
        set_limits(self.ax, y=(0, nice_ceiling(max(max(counts, default=1), even) * 1.3)))


class KeyMarker:
    """The learner's key on the key-space line: a triangle and a label, and its shard in yellow."""

    def __init__(self, panel: KeySpacePanel):
        self.panel = panel
        ax = panel.ax
        self.marker, = ax.plot([], [], marker="v", markersize=11, color="#000000", linestyle="none", zorder=5)
        self.text = ax.text(0, 0.68, "", ha="center", va="bottom", fontsize=FONT_SIZE, zorder=5,
                            bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="#999999"))

    def update(self, fraction: float, label: str, ranges, selected: int) -> None:
        self.marker.set_data([fraction], [0.33])
        self.text.set_position((min(max(fraction, 0.12), 0.88), 0.62))
        self.text.set_text(label)
        colours = [COLOURS["highlight"] if i == selected else (COLOURS["accepted"] if i % 2 == 0 else COLOURS["consumer"])
                   for i in range(len(ranges))]
        self.panel.ranges.set_facecolors(colours)


def _style_key_axes(ax) -> None:
    ax.set_ylim(-0.6, 1.0)


def key_space_picture(shards: int = 3, keys: tuple[str, ...] = ("customer-7", "customer-4", "customer-3", "customer-5"),
                      title: str = "Partition key → MD5 → a point on the hash key line → the shard that owns it"):
    """A still picture: an evenly split stream's ranges and where a few keys land, each labelled."""
    _, ranges = stream_with(shards)
    live = LiveFigure(9, 2.4)
    panel = KeySpacePanel(live.axes[0, 0], title=title)
    _style_key_axes(panel.ax)
    hashes = [hash_key(k) for k in keys]
    panel.update([(sid, s, e) for sid, s, e in ranges], np.array([float(h) for h in hashes]), np.ones(len(keys)))
    panel.keys.set_sizes([300] * len(keys))
    for key, h in zip(keys, hashes):
        panel.ax.text(h / HASH_KEY_SPACE, 0.72, f"{key}\n→ shard {shard_owning(h, ranges)[-1:]}"
                      if len(ranges) <= 10 else key, ha="center", va="bottom", fontsize=FONT_SIZE - 1)
    return Image(data=live.png(), format="png")


# --------------------------------------------------------------------------- the dashboard


class KeySpaceDashboard(Dashboard):
    """Type a key, choose the shard count: see the hash key and the shard that owns it."""

    def __init__(self, shards: int = 3, key: str = "customer-42", explicit_hash_key: str = ""):
        live = LiveFigure(10, 4.6, 2, 1, height_ratios=[1.15, 1])
        self.key_space = KeySpacePanel(live.axes[0, 0], title="The hash key line, 0 to 2^128 − 1, split among the shards")
        _style_key_axes(self.key_space.ax)
        self.key_marker = KeyMarker(self.key_space)
        self.spread = KeysPerShardPanel(live.axes[1, 0])
        controls = {
            "shards": c.int_slider("shards", shards, 1, 16),
            "key": c.text_box("partition key", key),
            "explicit_hash_key": c.text_box("explicit hash key", explicit_hash_key,
                                            placeholder="empty: hash the partition key"),
        }
        super().__init__("Where does a key land?", controls, "shards", live,
                         intro="Move the shard count; type a partition key (press Enter). The shard in yellow "
                               "owns your key's hash key. Ticks above the line are the first 20 sample keys.")

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict) -> dict:
        explicit = values["explicit_hash_key"].strip() or None
        landing = where_does_it_land(values["key"], values["shards"], explicit)
        landing["counts"] = keys_per_range(landing["ranges"])
        return landing

    def draw(self, landing: dict, values: dict) -> str:
        ranges = landing["ranges"]
        _, hashes = sample_keys()
        self.key_space.update(ranges, np.array([float(h) for h in hashes[:20]]), np.ones(20))
        self.key_space.keys.set_sizes([250] * 20)
        selected = [sid for sid, _, _ in ranges].index(landing["shard_id"])
        name = "explicit hash key" if landing["explicit"] else f"'{_drawable(landing['partition_key'])}'"
        self.key_marker.update(landing["fraction"], f"{name} → shard {selected}", ranges, selected)
        self.spread.update(landing["counts"], selected)
        how = ("used as given (no MD5)" if landing["explicit"] else
               f"&rarr; MD5 &rarr; hash key <code>{landing['hash_key']}</code>")
        key_text = (f"explicit hash key <code>{landing['hash_key']}</code> {how}" if landing["explicit"]
                    else f"Key <b>'{_escape(landing['partition_key'])}'</b> {how}")
        slices = ("owning the whole line" if values["shards"] == 1 else "each owning an even slice of the line")
        return (f"<b>{values['shards']} shard(s)</b>, {slices}. {key_text}, at "
                f"{landing['fraction']:.3f} of the line &rarr; <b>{landing['shard_id']}</b>, which owns "
                f"<code>{landing['starting_hash_key']}</code> to <code>{landing['ending_hash_key']}</code>.")


def _drawable(text: str, longest: int = 40) -> str:
    """The key as the figure can draw it: characters outside the font's plane become '?', long keys are cut."""
    text = "".join(ch if ord(ch) <= 0xFFFF else "?" for ch in text)
    return text if len(text) <= longest else text[:longest - 1] + "…"


def _escape(text: str) -> str:
    import html
    return html.escape(text)
