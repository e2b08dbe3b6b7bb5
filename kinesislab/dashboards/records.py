"""Lesson 01's dashboard and pictures: records land in shards, each shard an ordered log.

Everything here goes through the boto3-shaped client, record by record: the dashboard puts a
handful of records with a few partition keys into a fresh stream, reads every shard back with
shard iterators, and draws where each record landed. A second plot shows what a shard is worth:
the stream's write capacity grows by one shard's limit per shard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from IPython.display import Image
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.style import (CAPACITY_LINE, COLOURS, FONT_SIZE, TextPool, make_ticks, nice_ceiling,
                                         set_limits, set_ticks, thousands, tidy)
from kinesislab.simulator import Simulator

STREAM = "orders"


# --------------------------------------------------------------------------- the client, record by record


def read_whole_shard(kinesis, stream_name: str, shard_id: str) -> list[dict]:
    """Every record of one shard, oldest first: a TRIM_HORIZON iterator, then GetRecords until the
    response says the reader is at the tip (``MillisBehindLatest`` 0 and nothing more returned)."""
    iterator = kinesis.get_shard_iterator(StreamName=stream_name, ShardId=shard_id,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    while iterator:
        response = kinesis.get_records(ShardIterator=iterator)
        records.extend(response["Records"])
        iterator = response.get("NextShardIterator")
        if not response["Records"] and response.get("MillisBehindLatest", 0) == 0:
            break
    return records


@dataclass
class PutLog:
    """What a small burst of puts did: one row per record, in the order they were put."""

    shards: list[str]                  # shard ids in key-space order
    keys: list[str]                    # partition key of each record
    data: list[str]                    # its data, decoded
    shard_of: list[str]                # the shard PutRecord reported
    sequence: list[int]                # the sequence number PutRecord reported
    put_second: list[float]            # virtual seconds after the first put
    read_back: dict[str, list[dict]]   # every shard read back with read_whole_shard

    def shard_index(self, shard_id: str) -> int:
        return self.shards.index(shard_id)

    @property
    def counts(self) -> list[int]:
        """Records per shard (key-space order)."""
        return [self.shard_of.count(shard) for shard in self.shards]

    @property
    def keys_stay_on_one_shard(self) -> bool:
        return all(len({s for k, s in zip(self.keys, self.shard_of) if k == key}) == 1 for key in set(self.keys))

    @property
    def sequence_numbers_rise_in_every_shard(self) -> bool:
        """Read back, each shard returns its records with strictly rising sequence numbers."""
        return all(all(int(a["SequenceNumber"]) < int(b["SequenceNumber"]) for a, b in zip(records, records[1:]))
                   for records in self.read_back.values())

    @property
    def read_back_matches_puts(self) -> bool:
        """Each shard gives back exactly the records put into it, in the order they were put."""
        return all([r["Data"].decode() for r in self.read_back[shard]] ==
                   [d for d, s in zip(self.data, self.shard_of) if s == shard] for shard in self.shards)


def key_names(count: int) -> list[str]:
    """The partition keys the lesson uses: customer-1, customer-2, ..."""
    return [f"customer-{i + 1}" for i in range(int(count))]


def put_some_records(shards: int = 2, records: int = 24, keys: int = 4, every: float = 0.25, seed: int = 0) -> PutLog:
    """A fresh simulator and stream; ``records`` orders from ``keys`` customers, one every ``every``
    virtual seconds (customers picked at random, seeded); then every shard is read back."""
    sim = Simulator(seed=seed)
    kinesis = sim.client("kinesis")
    kinesis.create_stream(StreamName=STREAM, ShardCount=int(shards))
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM)
    listed = kinesis.list_shards(StreamName=STREAM)["Shards"]
    order = [s["ShardId"] for s in sorted(listed, key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))]
    names = key_names(keys)
    picks = np.random.default_rng(seed).integers(0, len(names), size=int(records))
    log = PutLog(order, [], [], [], [], [], {})
    for i, pick in enumerate(picks):
        key, data = names[pick], f"order-{i + 1}"
        response = kinesis.put_record(StreamName=STREAM, Data=data.encode(), PartitionKey=key)
        log.keys.append(key)
        log.data.append(data)
        log.shard_of.append(response["ShardId"])
        log.sequence.append(int(response["SequenceNumber"]))
        log.put_second.append(i * every)
        sim.advance(every)
    log.read_back = {shard: read_whole_shard(kinesis, STREAM, shard) for shard in order}
    return log


# --------------------------------------------------------------------------- plots


class RecordLanesPanel:
    """One lane per shard, each a log: its records left to right in sequence-number order, each box
    labelled with its customer number (the partition key)."""

    SLOTS = 30

    def __init__(self, ax: Axes, max_shards: int = 8, title: str = "Each shard is an ordered log"):
        self.ax = ax
        self.max_shards = max_shards
        self.lanes = ax.barh(np.arange(max_shards), np.full(max_shards, self.SLOTS + 0.6), height=0.8, left=0.2,
                             color="#F2F2F2", edgecolor="#BBBBBB", linewidth=0.8)
        self.lines = [ax.plot([], [], color=COLOURS["accepted"], linewidth=1.0, alpha=0.6, zorder=2)[0]
                      for _ in range(max_shards)]
        self.boxes = ax.scatter([], [], s=120, marker="s", color=COLOURS["accepted"], edgecolors="white", zorder=3)
        self.keys = TextPool(ax, ha="center", va="center", color="white", fontsize=FONT_SIZE - 2, weight="bold",
                             zorder=4)
        self.counts = TextPool(ax, va="center", ha="left", fontsize=FONT_SIZE - 1)
        tidy(ax, title, "position in the shard (oldest first, by sequence number)", "")
        ax.grid(False)
        ax.set_xlim(0, self.SLOTS + 4.5)
        ax.set_xticks([1, 5, 10, 15, 20, 25, 30])
        make_ticks(ax.yaxis, max_shards)     # one per lane

    def update(self, log: PutLog) -> None:
        shards = len(log.shards)
        xs, ys, labels = [], [], []
        for lane, shard in enumerate(log.shards):
            records = log.read_back[shard][:self.SLOTS]
            positions = list(range(1, len(records) + 1))
            xs += positions
            ys += [lane] * len(records)
            labels += [r["PartitionKey"].rsplit("-", 1)[-1] for r in records]
            if lane < self.max_shards:
                self.lines[lane].set_data([0.4] + positions, [lane] * (len(records) + 1))
        for lane in range(shards, self.max_shards):
            self.lines[lane].set_data([], [])
        for i, bar in enumerate(self.lanes):
            bar.set_visible(i < shards)
        self.boxes.set_offsets(np.column_stack([xs, ys]) if xs else np.zeros((0, 2)))
        self.keys.show(zip(xs, ys, labels))
        self.counts.show((self.SLOTS + 1.0, i, f"{count} record{'s' if count != 1 else ''}")
                         for i, count in enumerate(log.counts))
        set_limits(self.ax, y=(max(shards, 2) - 0.5, -0.5))   # shard 0 on top; one lane is not a wall
        set_ticks(self.ax.yaxis, range(shards), [f"shard {i}" for i in range(shards)])


class CapacityPanel:
    """Write capacity of a stream with 1..max_shards shards; the current stream highlighted."""

    def __init__(self, ax: Axes, max_shards: int = 8, title: str = "Write capacity grows by the shard"):
        self.ax = ax
        x = np.arange(1, max_shards + 1)
        self.bars = ax.bar(x, np.zeros(max_shards), color=COLOURS["idle"], width=0.7)
        self.limit = ax.axhline(0, label="this stream's capacity", **CAPACITY_LINE)
        self.label = ax.text(0.03, 0.84, "", transform=ax.transAxes, ha="left", va="top", fontsize=FONT_SIZE - 1)
        tidy(ax, title, "shards in the stream", "records per second")
        ax.yaxis.set_major_formatter(thousands())
        ax.set_xticks(x)
        ax.legend(loc="upper left", fontsize=FONT_SIZE - 1, frameon=False)

    def update(self, shards: int, records_per_shard: float, bytes_per_shard: float) -> None:
        for i, bar in enumerate(self.bars, start=1):
            bar.set_height(i * records_per_shard)
            bar.set_color(COLOURS["accepted"] if i == shards else COLOURS["idle"])
        capacity = shards * records_per_shard
        self.limit.set_ydata([capacity, capacity])
        self.label.set_text(f"{shards} shard{'s take' if shards != 1 else ' takes'} {capacity:,.0f} records/s\n"
                            f"and {shards * bytes_per_shard / 2**20:,.0f} MiB/s of writes")
        # Rounded up (10,400 -> 12,000 for 8 shards): the top line then stays below the label.
        set_limits(self.ax, y=(0, nice_ceiling(len(self.bars) * records_per_shard * 1.3)))


def record_picture(record: dict, shard_id: str, counts: list[int] | None = None, position: int = 0,
                   title: str = "Anatomy of a record"):
    """The stream's shards as logs (``counts[i]`` records in shard *i*, at most 6 drawn) with one
    stored record -- the ``position``-th of shard ``shard_id``, as GetRecords returned it -- pulled
    out onto a card with its fields. For a lesson's Concept section."""
    target = int(shard_id.rsplit("-", 1)[-1])
    counts = list(counts) if counts is not None else [0] * (target + 1)
    counts[target] = max(counts[target], position + 1)
    shards = len(counts)
    live = LiveFigure(9, 3.0)
    ax = live.axes[0, 0]
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4)
    ax.set_axis_off()
    ax.set_title(title, fontsize=FONT_SIZE + 1, loc="left")
    ax.add_patch(FancyBboxPatch((0.1, 0.2), 4.2, 3.4, boxstyle="round,pad=0.02,rounding_size=0.15",
                                facecolor="#F4F4F4", edgecolor="#777777"))
    ax.text(2.2, 3.75, f"stream '{STREAM}'", ha="center", fontsize=FONT_SIZE, weight="bold")
    height = 3.0 / shards
    for i in range(shards):
        y = 3.4 - (i + 0.5) * height
        ax.add_patch(FancyBboxPatch((0.3, y - height * 0.35), 3.8, height * 0.7, boxstyle="square,pad=0",
                                    facecolor="white", edgecolor="#777777"))
        ax.text(0.4, y, f"shard {i}", va="center", fontsize=FONT_SIZE - 1)
        for k in range(min(counts[i], 6)):
            chosen = i == target and k == position
            ax.add_patch(FancyBboxPatch((1.3 + k * 0.42, y - 0.13), 0.32, 0.26, boxstyle="square,pad=0",
                                        facecolor=COLOURS["accepted"] if chosen else COLOURS["idle"],
                                        edgecolor="white"))
            if chosen:
                ax.annotate("", xy=(4.95, 2.0), xytext=(1.46 + k * 0.42, y + 0.13),
                            arrowprops=dict(arrowstyle="-|>", color="#555555", connectionstyle="arc3,rad=-0.25"))
    ax.text(3.9, 0.3, "older → newer", ha="right", fontsize=FONT_SIZE - 2, color="#777777")
    ax.add_patch(FancyBboxPatch((5.0, 0.3), 4.9, 3.4, boxstyle="round,pad=0.02,rounding_size=0.1",
                                facecolor="white", edgecolor=COLOURS["accepted"], linewidth=1.5))
    rows = [("Data", repr(record["Data"]), "your bytes (the service never looks inside)"),
            ("PartitionKey", repr(record["PartitionKey"]), "you choose it; it picks the shard"),
            ("SequenceNumber", _short(record["SequenceNumber"]), "the service adds it; rises within the shard"),
            ("ApproximateArrivalTimestamp", f"{record['ApproximateArrivalTimestamp']:%Y-%m-%d %H:%M:%S}",
             "the service adds it on arrival")]
    for k, (name, value, note) in enumerate(rows):
        y = 3.3 - k * 0.8
        ax.text(5.2, y, name, fontsize=FONT_SIZE, weight="bold", va="top")
        ax.text(5.2, y - 0.27, value, fontsize=FONT_SIZE - 1, family="monospace", va="top")
        ax.text(9.8, y, note, fontsize=FONT_SIZE - 2, color="#555555", ha="right", va="top")
    return Image(data=live.png(), format="png")


def _short(sequence_number: str) -> str:
    return f"{sequence_number[:12]}…{sequence_number[-8:]} ({len(sequence_number)} digits)"


# --------------------------------------------------------------------------- the dashboard


class RecordsDashboard(Dashboard):
    """Put a few records with a few keys into a stream of N shards; see where they land and what
    N shards can take."""

    def __init__(self, shards: int = 2, records: int = 24, keys: int = 4):
        live = LiveFigure(10, 3.8, 1, 2, width_ratios=[2.1, 1])
        self.lanes = RecordLanesPanel(live.axes[0, 0])
        self.capacity = CapacityPanel(live.axes[0, 1])
        controls = {
            "shards": c.int_slider("shards", shards, 1, 8),
            "records": c.int_slider("records to put", records, 1, RecordLanesPanel.SLOTS),
            "keys": c.int_slider("customers (keys)", keys, 1, 9),
        }
        super().__init__("Inside a stream: records, shards and capacity", controls, "shards", live,
                         intro="Each box is one record, read back from its shard with a shard iterator; the "
                               "number in it is the customer whose name was the partition key.")

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict) -> PutLog:
        return put_some_records(values["shards"], values["records"], values["keys"])

    def draw(self, log: PutLog, values: dict) -> str:
        from kinesislab.limits import Limits
        limits = Limits()
        self.lanes.update(log)
        shards = values["shards"]
        self.capacity.update(shards, limits.shard_write_records_per_second, limits.shard_write_bytes_per_second)
        spread = ", ".join(f"{n} in shard {i}" for i, n in enumerate(log.counts))
        ordered = "rise" if log.sequence_numbers_rise_in_every_shard else "do NOT rise"
        kept = "stayed on one shard" if log.keys_stay_on_one_shard else "moved between shards"
        return (f"<b>{shards} shard(s)</b>. Records put: {len(log.keys)} ({spread}). Each customer's records "
                f"{kept}; read back, every shard's sequence numbers {ordered}. Write capacity: "
                f"<b>{shards * limits.shard_write_records_per_second:,} records/s</b> and "
                f"{shards * limits.shard_write_bytes_per_second // 2**20} MiB/s.")


# --------------------------------------------------------------------------- capacity, in counts


def stored_per_second(shards: int, rate: float = 6000, record_bytes: int = 200, duration: float = 10.0) -> float:
    """Records/s a ``shards``-shard stream stores when one producer offers ``rate`` records/s of
    ``record_bytes`` with random partition keys (a short scenario run, averaged over its seconds)."""
    from kinesislab.scenario import Constant, FixedSize, Producer, RandomKeys, Scenario, StreamSpec, run
    scenario = Scenario(stream=StreamSpec(name=STREAM, shards=int(shards)),
                        producers=[Producer(traffic=Constant(float(rate)), keys=RandomKeys(),
                                            record_size=FixedSize(int(record_bytes)))],
                        duration=duration)
    return float(run(scenario, seed=0, progress=False).stream["IncomingRecords"].mean())
