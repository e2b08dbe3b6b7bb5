"""Lesson 09's dashboard: the retention period decides what a new reader can still get, and the
iterator type decides where in that window it starts.

Every setting reads a one-shard stream with the chosen retention period after 400 days of history
arrived (two records every six hours): it opens one iterator of each of the five types with the
Kinesis client, writes one more batch, and reads each iterator to its end.

The history is the same for every setting up to the moment the iterators are taken, except for
what retention removes, and the engine removes nothing while records arrive (it trims when the
stream is read or its retention changes). So it is written once per process, through the engine's
write path, into a template simulator whose stream keeps records for the longest period allowed;
each setting starts from a copy of that simulator and sets its own period with
DecreaseStreamRetentionPeriod, which -- as in the service -- removes at once what the shorter period
no longer covers. What the readers then get is exactly what a stream that had the shorter period
all along would give them (``tests/test_retention_dashboard.py`` checks that against a run that
writes the history with the setting's period from the start).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

import kinesislab
from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.style import CAPACITY_LINE, COLOURS, FONT_SIZE, nice_ceiling, tidy

ITERATOR_TYPES = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")
HISTORY_DAYS = 400
BATCH_EVERY_HOURS = 6
RECORDS_PER_BATCH = 2
DAY = 86_400.0
SHARD = "shardId-000000000000"


@dataclass
class ReplayRun:
    """What each iterator type read, and what the stream held, for one retention setting."""

    retention_hours: int
    replay_days: float
    now: float                                   # virtual time of the reads (epoch seconds)
    written: np.ndarray                          # arrival times of every record ever written
    held: np.ndarray                             # arrival times of the records still in the stream
    read: dict[str, np.ndarray] = field(default_factory=dict)   # iterator type -> arrival times read
    first_sequence: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {kind: len(times) for kind, times in self.read.items()}


def write_history(sim, stream_name: str, days: float = HISTORY_DAYS, every_hours: float = BATCH_EVERY_HOURS,
                  per_batch: int = RECORDS_PER_BATCH) -> np.ndarray:
    """Let ``days`` of history arrive: ``per_batch`` records every ``every_hours`` hours, then move
    the clock on by one batch interval. Records are stored through the engine's own write path
    (``Stream.offer`` then ``Stream.store``), which is what PutRecord does after validating.
    Returns the arrival times."""
    stream = sim.stream(stream_name)
    arrivals = []
    for _ in range(int(round(days * 24 / every_hours))):
        for n in range(per_batch):
            key = f"device-{n}"
            shard = stream.route(key, None)
            size = stream.record_size(key, b"reading")
            if stream.offer(shard, size):
                stream.store(shard, key, b"reading", size)
                arrivals.append(sim.clock.time)
        sim.advance(every_hours * 3600)
    return np.asarray(arrivals)


def read_all(kinesis, iterator: str) -> list[dict]:
    """Every record from ``iterator`` to the end of the shard (until caught up)."""
    records = []
    while iterator:
        response = kinesis.get_records(ShardIterator=iterator)
        records += response["Records"]
        iterator = response.get("NextShardIterator")
        if response["MillisBehindLatest"] == 0 and not response["Records"]:
            break
    return records


def _new_stream(retention_hours: int | None = None) -> kinesislab.Simulator:
    """A simulator with the one-shard stream "history", ACTIVE; ``retention_hours`` (if longer than
    the default) set right after it was created."""
    sim = kinesislab.Simulator(seed=0)
    kinesis = sim.client("kinesis")
    kinesis.create_stream(StreamName="history", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="history")
    if retention_hours is not None and retention_hours > sim.limits.default_retention_hours:
        kinesis.increase_stream_retention_period(StreamName="history", RetentionPeriodHours=retention_hours)
    return sim


@functools.lru_cache(maxsize=1)
def _template() -> tuple[kinesislab.Simulator, np.ndarray, list[list]]:
    """The history, written once: a simulator whose stream has the longest retention period and
    has just received 400 days of records (nothing read, so nothing trimmed yet), the arrival
    times, and the simulator's lists of immutable scalars (see :func:`_scalar_lists`). Never used
    directly: :func:`_history` works on a copy."""
    sim = _new_stream()
    sim.client("kinesis").increase_stream_retention_period(StreamName="history",
                                                           RetentionPeriodHours=sim.limits.max_retention_hours)
    written = write_history(sim, "history")
    return sim, written, _scalar_lists(sim)


_SCALARS = (str, bytes, int, float, bool, type(None))


def _scalar_lists(root) -> list[list]:
    """The lists reachable from ``root`` -- through kinesislab objects, dicts, lists and tuples --
    that hold only immutable scalars (mostly the shards' record columns, a few thousand items
    each). A deep copy of such a list is a shallow one, which C does in a fraction of the time
    ``copy.deepcopy`` takes item by item."""
    seen, found, stack = set(), [], [root]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        kind = type(item)
        if kind is list:
            if all(type(x) in _SCALARS for x in item):
                found.append(item)
            else:
                stack.extend(item)
        elif kind is tuple:
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif kind.__module__.startswith("kinesislab") and hasattr(item, "__dict__") and not callable(item):
            stack.append(vars(item))
    return found


def _history(hours: int) -> tuple[kinesislab.Simulator, np.ndarray]:
    """A simulator whose stream "history" keeps records for ``hours`` (at least the default) and
    has received the 400 days of history: a copy of the template, the period set with the
    client (a shorter one removes the older records at once; a longer one than the maximum raises
    InvalidArgumentException, as before the history)."""
    template, written, scalar_lists = _template()
    # A deep copy, with the lists of scalars copied whole (the same result, item for item).
    sim = copy.deepcopy(template, {id(column): column[:] for column in scalar_lists})
    kinesis = sim.client("kinesis")
    hours = max(hours, sim.limits.default_retention_hours)
    kept = sim.stream("history").retention_hours
    if hours < kept:
        kinesis.decrease_stream_retention_period(StreamName="history", RetentionPeriodHours=hours)
    elif hours > kept:
        kinesis.increase_stream_retention_period(StreamName="history", RetentionPeriodHours=hours)
    return sim, written.copy()


def replay_run(retention_days: int, replay_days: float = 7.0) -> ReplayRun:
    """Retention ``retention_days``, 400 days of history, then one reader per iterator type; the
    timestamp types start ``replay_days`` before now."""
    hours = int(round(retention_days * 24))
    sim, written = _history(hours)
    return read_back(sim, hours, written, replay_days)


def read_back(sim, hours: int, written: np.ndarray, replay_days: float) -> ReplayRun:
    """The readers of :func:`replay_run`, on ``sim``'s stream "history" once its history has
    arrived (``written``: the arrival times; ``hours``: its retention period, as reported)."""
    kinesis = sim.client("kinesis")
    now = sim.clock.time
    start = kinesis.to_datetime(now - replay_days * DAY)
    iterators = {kind: kinesis.get_shard_iterator(StreamName="history", ShardId=SHARD, ShardIteratorType=kind,
                                                  **({"Timestamp": start} if kind == "AT_TIMESTAMP" else {}))
                 for kind in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")}
    first = read_all(kinesis, iterators["AT_TIMESTAMP"]["ShardIterator"])[:1]
    # A checkpoint: the sequence number of the first record at or after the replay time.
    checkpoint = first[0]["SequenceNumber"] if first else None
    sim.advance(1)                              # GetShardIterator allows 5 calls per second per shard
    iterators["AT_TIMESTAMP"] = kinesis.get_shard_iterator(StreamName="history", ShardId=SHARD,
                                                           ShardIteratorType="AT_TIMESTAMP", Timestamp=start)
    if checkpoint is not None:
        for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            iterators[kind] = kinesis.get_shard_iterator(StreamName="history", ShardId=SHARD, ShardIteratorType=kind,
                                                         StartingSequenceNumber=checkpoint)
    # One more batch arrives after the iterators were taken: only LATEST is waiting for it.
    kinesis.put_records(StreamName="history", Records=[{"Data": b"reading", "PartitionKey": f"device-{n}"}
                                                       for n in range(RECORDS_PER_BATCH)])
    held_records = []
    run = ReplayRun(retention_hours=hours, replay_days=replay_days, now=now, written=written, held=np.zeros(0))
    for number, kind in enumerate(ITERATOR_TYPES):
        if number:
            sim.advance(1)                      # GetRecords allows 5 calls per second per shard
        if kind not in iterators:
            run.read[kind] = np.zeros(0)
            continue
        records = read_all(kinesis, iterators[kind]["ShardIterator"])
        run.read[kind] = np.array([r["ApproximateArrivalTimestamp"].timestamp() for r in records])
        run.first_sequence[kind] = records[0]["SequenceNumber"] if records else ""
        if kind == "TRIM_HORIZON":
            held_records = records
    run.held = np.array([r["ApproximateArrivalTimestamp"].timestamp() for r in held_records])
    return run


class _Timeline:
    """Records per day by age: written (grey), still held (blue), read by the chosen iterator
    (hatched), with the retention limit and the replay point."""

    def __init__(self, ax):
        self.ax = ax
        # Whole-day bins (one below a day), wider as records get older: about even on the log axis.
        self.bins = np.concatenate([[0.0], np.unique(np.round(np.geomspace(1, HISTORY_DAYS, 32)))])
        self.written = ax.stairs(np.zeros(len(self.bins) - 1), self.bins, fill=True, color=COLOURS["idle"],
                                 label="written, now gone")
        self.held = ax.stairs(np.zeros(len(self.bins) - 1), self.bins, fill=True, color=COLOURS["accepted"],
                              label="still in the stream")
        self.read = ax.stairs(np.zeros(len(self.bins) - 1), self.bins, fill=True, facecolor="none",
                              edgecolor=COLOURS["highlight"], hatch="///", linewidth=1.5, label="read by the iterator")
        self.retention = ax.axvline(1, **CAPACITY_LINE)
        self.replay = ax.axvline(7, color=COLOURS["offered"], linestyle=":", linewidth=1.5)
        tidy(ax, "What a new reader can get", "age of the record (days before now, log scale)", "records per day")
        ax.set_xscale("symlog", linthresh=1.0, linscale=0.4)
        ax.set_xlim(HISTORY_DAYS, 0)
        ticks = [365, 100, 30, 7, 1, 0]
        ax.set_xticks(ticks, [f"{t} d" if t else "now" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.legend(handles=[Patch(color=COLOURS["idle"], label="written, now gone"),
                           Patch(color=COLOURS["accepted"], label="still in the stream"),
                           Patch(facecolor="none", edgecolor=COLOURS["highlight"], hatch="///",
                                 label="read by the chosen iterator"),
                           Line2D([], [], label="retention period", **CAPACITY_LINE),
                           Line2D([], [], color=COLOURS["offered"], linestyle=":", label="replay from")],
                  loc="upper left", fontsize=FONT_SIZE - 2, frameon=False, ncols=2)

    def _per_day(self, times: np.ndarray, now: float) -> np.ndarray:
        ages = (now - np.asarray(times, float)) / DAY
        counts, _ = np.histogram(np.clip(ages, 0, None), self.bins)
        return counts / np.diff(self.bins)

    def update(self, run: ReplayRun, kind: str) -> None:
        self.written.set_data(self._per_day(run.written, run.now))
        self.held.set_data(self._per_day(run.held, run.now))
        self.read.set_data(self._per_day(run.read.get(kind, np.zeros(0)), run.now))
        self.retention.set_xdata([run.retention_hours / 24] * 2)
        self.replay.set_xdata([run.replay_days] * 2)
        self.replay.set_alpha(1.0 if kind in ("AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") else 0.0)
        top = 24 / BATCH_EVERY_HOURS * RECORDS_PER_BATCH
        self.ax.set_ylim(0, top * 1.8)


class _Counts:
    """How many records each iterator type returns; the chosen one outlined."""

    def __init__(self, ax):
        self.ax = ax
        self.bars = ax.bar(range(len(ITERATOR_TYPES)), np.zeros(len(ITERATOR_TYPES)), color=COLOURS["consumer"])
        self.labels = [ax.text(i, 0, "", ha="center", va="bottom", fontsize=FONT_SIZE - 1)
                       for i in range(len(ITERATOR_TYPES))]
        ax.set_xticks(range(len(ITERATOR_TYPES)),
                      [kind.replace("_", "_\n") for kind in ITERATOR_TYPES], fontsize=FONT_SIZE - 2)
        tidy(ax, "Records each iterator type returns", "", "records read")

    def update(self, run: ReplayRun, kind: str) -> None:
        counts = run.counts()
        top = max(1, max(counts.values()))
        for i, (bar, label, name) in enumerate(zip(self.bars, self.labels, ITERATOR_TYPES)):
            value = counts.get(name, 0)
            bar.set_height(value)
            chosen = name == kind
            bar.set_edgecolor(COLOURS["offered"] if chosen else "none")
            bar.set_linewidth(2.5 if chosen else 0)
            label.set_position((i, value))
            label.set_text(f"{value:,}")
        self.ax.set_ylim(0, nice_ceiling(top * 1.2))


class RetentionDashboard(Dashboard):
    """Retention period, iterator type and replay time against 400 days of history."""

    def __init__(self, retention_days: int = 1, iterator: str = "TRIM_HORIZON", replay_days: int = 7):
        live = LiveFigure(11.5, 3.9, 1, 2, width_ratios=[1.6, 1.0])
        self.timeline = _Timeline(live.axes[0, 0])
        self.counts = _Counts(live.axes[0, 1])
        controls = {
            "retention_days": c.int_slider("retention (days)", retention_days, 1, 365),
            # Wider: "AFTER_SEQUENCE_NUMBER" does not fit the usual width.
            "iterator": c.choice("iterator type", list(ITERATOR_TYPES), iterator, width_px=c.CONTROL_WIDTH_PX + 40),
            "replay_days": c.int_slider("replay from (days ago)", replay_days, 1, HISTORY_DAYS),
        }
        super().__init__("Retention and replay", controls, "retention_days", live,
                         intro=f"The stream has received {RECORDS_PER_BATCH} records every {BATCH_EVERY_HOURS} hours "
                               f"for {HISTORY_DAYS} days. Only what is younger than the retention period is still "
                               "there; the iterator type decides where a new reader starts.")

    def compute_key(self, values: dict) -> tuple:
        """Retention and replay time: the run reads with every iterator type, so choosing another
        type only redraws."""
        return values["retention_days"], values["replay_days"]

    def compute(self, values: dict) -> ReplayRun:
        return replay_run(values["retention_days"], values["replay_days"])

    def draw(self, run: ReplayRun, values: dict) -> str:
        kind = values["iterator"]
        self.timeline.update(run, kind)
        self.counts.update(run, kind)
        days = values["retention_days"]
        older = run.replay_days * 24 > run.retention_hours
        note = (" The replay point is older than the retention period, so the timestamp and sequence-number "
                "iterators start at the oldest record left (like TRIM_HORIZON)." if older else "")
        return (f"Retention <b>{days} day{'s' if days != 1 else ''}</b> ({run.retention_hours:,} h): the stream "
                f"still holds <b>{len(run.held):,}</b> of the {len(run.written):,} records written; the rest are gone. "
                f"<b>{kind}</b> returns {run.counts()[kind]:,} records.{note}")


def replay_figure(retention_days: int = 30, iterator: str = "AT_TIMESTAMP", replay_days: float = 7) -> LiveFigure:
    """The lesson's concept picture: the dashboard's two panels for one setting, as a static
    figure; the run is kept as ``.result``."""
    live = LiveFigure(11.5, 3.9, 1, 2, width_ratios=[1.6, 1.0])
    timeline, counts = _Timeline(live.axes[0, 0]), _Counts(live.axes[0, 1])
    live.result = replay_run(retention_days, replay_days)
    timeline.update(live.result, iterator)
    counts.update(live.result, iterator)
    return live
