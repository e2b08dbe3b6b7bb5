"""Lesson 10's pictures and dashboards: a KPL-style producer against a naive one, the bytes of an
aggregated record, and a KCL-style consumer group whose worker crashes.

* :class:`ProducerDashboard` -- user record size (main control), rate and shards; one run with a
  naive producer (one user record = one Kinesis record) and one with KPL aggregation.
* :func:`aggregate_picture` -- an aggregated record as a strip of coloured byte ranges.
* :class:`KclCrashDashboard` -- checkpoint interval (main control), crash time and workers; the
  lease table over time and the records processed per second, duplicates marked.
* :func:`lease_picture` -- the lease timeline of any run of :func:`run_with_leases` (e.g. a reshard).
"""

from __future__ import annotations

import numpy as np
from IPython.display import Image
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.style import (CAPACITY_LINE, COLOURS, FONT_SIZE, keep_legend, nice_ceiling, set_ticks,
                                         si_yaxis, tidy)
from kinesislab.producers.anatomy import aggregate_parts
from kinesislab.scenario import (ChangeTraffic, Constant, ExponentialBackoff, FixedSize, KclConsumer, KillWorker,
                                 KplSettings, Producer, RandomKeys, Scenario, StreamSpec, run)
from kinesislab.scenario.leases import records_since_checkpoint, run_with_leases

#: The partition key length every producer here uses (bytes).
KEY_BYTES = 16
#: Workers of a KCL group get these colours (kept apart from the meanings of COLOURS where possible).
WORKER_COLOURS = ["#009E73", "#0072B2", "#CC79A7", "#F0E442"]
PART_COLOURS = {"magic": "#000000", "partition key table": "#E69F00", "explicit hash key table": "#F0E442",
                "user record": "#56B4E9", "MD5": "#666666", "other": "#CC79A7"}


# ============================================================================ producers: naive vs KPL

def producer_scenario(rate: float, record_bytes: int, shards: int = 1, kpl: bool = False,
                      duration: float = 60.0) -> Scenario:
    """One producer writing ``rate`` user records/s of ``record_bytes`` data bytes (plus a 16-byte
    key) with random keys. ``kpl=False``: each user record is one Kinesis record, throttled ones
    retried with backoff as the AWS SDK does. ``kpl=True``: KPL aggregation and collection with
    the KPL's defaults (:class:`~kinesislab.scenario.KplSettings`)."""
    producer = Producer(name="kpl" if kpl else "naive", traffic=Constant(float(rate)),
                        record_size=FixedSize(int(record_bytes)), keys=RandomKeys(),
                        retry=ExponentialBackoff(base=0.1, cap=5.0, max_attempts=8),
                        partition_key_bytes=KEY_BYTES, kpl=KplSettings() if kpl else None)
    return Scenario(stream=StreamSpec(shards=int(shards)), producers=[producer], duration=duration)


def steady_state(results, shards: int, from_second: float = 30.0) -> dict:
    """Means over the second half of a run: user records offered and delivered per second,
    Kinesis records and bytes per shard per second, user records per Kinesis record, user records
    lost per second (dropped or expired) and Kinesis records throttled per second."""
    s = results.stream
    tail = s[s.index >= from_second]
    kinesis_records = float(tail["IncomingRecords"].mean())
    delivered = float(tail["AcceptedRecords"].mean())
    return {
        "offered": float(tail["OfferedRecords"].mean()),
        "delivered": delivered,
        "kinesis_records": kinesis_records,
        "records_per_shard": kinesis_records / shards,
        "bytes_per_shard": float(tail["IncomingBytes"].mean()) / shards,
        "users_per_kinesis_record": delivered / kinesis_records if kinesis_records else 0.0,
        "lost_per_second": float((tail["DroppedRecords"] + tail["ExpiredRecords"]).mean()),
        "throttled": float(tail["ThrottledRecords"].mean()),
    }


def _binding(state: dict, limits) -> str:
    """Which per-shard write limit holds the producer back (none if nothing was refused or lost)."""
    if state["throttled"] < 1 and state["lost_per_second"] < 1:
        return "no limit binds"
    records = state["records_per_shard"] / limits.shard_write_records_per_second
    size = state["bytes_per_shard"] / limits.shard_write_bytes_per_second
    return "the records/s limit binds" if records >= size else "the bytes/s limit binds"


class ProducerDashboard(Dashboard):
    """The same user records through a naive producer and a KPL-style one, side by side."""

    def __init__(self, record_bytes: float = 100, rate: float = 5000, shards: int = 1, duration: float = 60.0):
        self.duration = duration
        live = LiveFigure(10, 3.7, 1, 2, width_ratios=[1.6, 1])
        ax_time, ax_load = live.axes[0, 0], live.axes[0, 1]
        self.ax_time, self.ax_load = ax_time, ax_load
        self.naive, = ax_time.plot([], [], color=COLOURS["accepted"], linewidth=5.5, label="delivered, naive",
                                   zorder=2)
        self.kpl, = ax_time.plot([], [], color=COLOURS["efo"], linewidth=2.5, label="delivered, KPL", zorder=2)
        self.offered, = ax_time.plot([], [], color=COLOURS["offered"], linewidth=1.3, linestyle=":",
                                     label="user records offered", zorder=4)
        self.limit, = ax_time.plot([], [], label="records limit (Kinesis records/s)", zorder=3, **CAPACITY_LINE)
        tidy(ax_time, "User records delivered per second", "time (s)", "user records per second")
        si_yaxis(ax_time)
        ax_time.legend(loc="upper left", fontsize=FONT_SIZE - 1, ncols=2, frameon=False)
        x = np.array([0.0, 1.0])
        self.record_bars = ax_load.bar(x - 0.19, [0, 0], width=0.36, color=COLOURS["accepted"],
                                       label="Kinesis records/s")
        self.byte_bars = ax_load.bar(x + 0.19, [0, 0], width=0.36, color=COLOURS["consumer"], label="bytes/s")
        ax_load.axhline(100, label="per-shard limit", **CAPACITY_LINE)
        self.bar_labels = [ax_load.text(0, 0, "", ha="center", va="bottom", fontsize=FONT_SIZE - 1)
                           for _ in range(4)]
        tidy(ax_load, "What each shard carries", "", "% of the per-shard write limit")
        ax_load.set_xticks(x, ["naive", "KPL"])
        ax_load.set_ylim(0, 135)
        ax_load.set_xlim(-0.6, 1.6)
        # Two columns: three side by side are wider than the panel.
        ax_load.legend(loc="upper right", fontsize=FONT_SIZE - 1, frameon=False, ncols=2)
        controls = {
            "record_bytes": c.log_slider("record size (bytes)", record_bytes, 10, 100_000),
            "rate": c.log_slider("user records/s", rate, 100, 50_000),
            "shards": c.int_slider("shards", shards, 1, 8),
        }
        super().__init__("A naive producer against the KPL", controls, "record_bytes", live,
                         intro="Both producers write the same user records with random keys. The naive one sends "
                               "each as its own Kinesis record; the KPL packs many into one aggregated record.")

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict):
        size = int(round(values["record_bytes"]))
        rate, shards = float(values["rate"]), int(values["shards"])
        naive = run(producer_scenario(rate, size, shards, kpl=False, duration=self.duration), seed=0, progress=False)
        kpl = run(producer_scenario(rate, size, shards, kpl=True, duration=self.duration), seed=0, progress=False)
        return naive, kpl

    def draw(self, result, values: dict) -> str:
        naive, kpl = result
        shards = int(values["shards"])
        size = int(round(values["record_bytes"]))
        limits = naive.sim.limits
        t = naive.stream.index.to_numpy()
        offered = naive.stream["OfferedRecords"].to_numpy()
        self.offered.set_data(t, offered)
        self.naive.set_data(t, naive.stream["AcceptedRecords"].to_numpy())
        self.kpl.set_data(t, kpl.stream["AcceptedRecords"].to_numpy())
        cap = np.full(len(t), shards * limits.shard_write_records_per_second)
        self.limit.set_data(t, cap)
        self.ax_time.set_xlim(0, t[-1])
        self.ax_time.set_ylim(0, nice_ceiling(max(float(offered.max()), float(cap[0])) * 1.3))
        states = {"naive": steady_state(naive, shards), "KPL": steady_state(kpl, shards)}
        for i, state in enumerate(states.values()):
            records = 100 * state["records_per_shard"] / limits.shard_write_records_per_second
            size_share = 100 * state["bytes_per_shard"] / limits.shard_write_bytes_per_second
            self.record_bars[i].set_height(min(records, 130))
            self.byte_bars[i].set_height(min(size_share, 130))
            texts = (f"{state['records_per_shard']:,.0f}\nrec/s", f"{state['bytes_per_shard'] / 2**20:.2f}\nMiB/s")
            for j, (x, height, text) in enumerate(((i - 0.19, records, texts[0]), (i + 0.19, size_share, texts[1]))):
                label = self.bar_labels[2 * i + j]
                inside = height >= 30
                label.set_position((x, min(height, 130) - 3 if inside else height + 2))
                label.set_verticalalignment("top" if inside else "bottom")
                label.set_color("white" if inside and j == 0 else "black")
                label.set_text(text)
        n, k = states["naive"], states["KPL"]
        packing = (f"about {k['users_per_kinesis_record']:,.0f} user records in each"
                   if k["users_per_kinesis_record"] >= 1.5 else "one user record each: too big to share one")
        lost = (f" What it cannot send expires after RecordTtl: <b style='color:#CC79A7'>"
                f"{k['lost_per_second']:,.0f}</b> user records/s lost (second half of the run)."
                if k["lost_per_second"] >= 1 else "")
        return (f"User records of <b>{size:,} bytes</b> at {values['rate']:,.0f}/s on {shards} shard(s). "
                f"<b>Naive</b>: {n['delivered']:,.0f}/s delivered, one Kinesis record each; {_binding(n, limits)}. "
                f"<b>KPL</b>: {k['delivered']:,.0f}/s delivered in {k['kinesis_records']:,.0f} Kinesis records/s "
                f"({packing}); {_binding(k, limits)}.{lost}")


def aggregate_picture(blob: bytes, width_inches: float = 10.0) -> Image:
    """A static picture of an aggregated record: its byte ranges as a coloured strip, labelled."""
    parts = aggregate_parts(blob)
    live = LiveFigure(width_inches, 1.5)
    ax = live.axes[0, 0]
    total = len(blob)
    counters: dict[str, int] = {}
    for part in parts:
        colour = PART_COLOURS.get(part.kind, PART_COLOURS["other"])
        ax.barh(0, part.size, left=part.start, height=0.6, color=colour, edgecolor="white", linewidth=1.5)
        number = counters.get(part.kind, 0)
        counters[part.kind] = number + 1
        if part.kind == "partition key table":
            label = f"key #{number}\n{part.meaning.split(' = ', 1)[1]}"
        elif part.kind == "explicit hash key table":
            label = f"hash key #{number}\n{part.size} B"
        elif part.kind == "user record":
            label = f"user record {number}\n{part.size} B"
        else:
            label = f"{part.kind}\n{part.size} B"
        text_colour = "white" if part.kind in ("magic", "MD5") else "black"
        ax.text(part.start + part.size / 2, 0, label, ha="center", va="center", fontsize=FONT_SIZE - 1,
                color=text_colour)
    records = counters.get("user record", 0)
    tidy(ax, f"One aggregated Kinesis record: {total} bytes, {records} user records inside", "byte offset", "")
    ax.set_xlim(0, total)
    ax.set_ylim(-0.4, 0.4)
    ax.set_yticks([])
    ax.grid(False)
    return Image(data=live.png(), format="png")


# ============================================================================ consumers: a KCL group

def kcl_scenario(checkpoint_every: float = 20.0, crash_at: float | None = 45.0, workers: int = 2, shards: int = 4,
                 rate: float = 2000.0, duration: float = 100.0, poll_interval: float = 1.0,
                 events: tuple = ()) -> Scenario:
    """``rate`` records/s of 500 bytes with random keys into ``shards`` shards; a KCL group
    ("billing") of ``workers`` workers checkpoints every ``checkpoint_every`` s; worker 0 crashes
    at ``crash_at`` s (None: no crash). The producer stops 10 s before the end so the group can
    catch up and the totals add up."""
    crash = [KillWorker(at=float(crash_at), consumer="billing", worker=0)] if crash_at is not None else []
    return Scenario(
        stream=StreamSpec(shards=int(shards)),
        producers=[Producer(name="orders", traffic=Constant(float(rate)), keys=RandomKeys(),
                            record_size=FixedSize(500))],
        consumers=[KclConsumer(name="billing", workers=int(workers), poll_interval=poll_interval,
                               checkpoint_every_seconds=float(checkpoint_every))],
        events=[*crash, ChangeTraffic(at=duration - 10, producer="orders", traffic=Constant(0.0)), *events],
        duration=duration)


def crash_summary(results, leases, crash_at: float | None, consumer: str = "billing") -> dict:
    """What a crash of worker 0 cost: records it had processed past its last checkpoint, the
    duplicates the group counted, records written and processed, and when its leases moved."""
    written = int(results.shards["IncomingRecords"].to_numpy().sum())
    processed = int(results.delivered[consumer])
    rows = leases[leases["consumer"] == consumer]
    takeovers = rows[rows["took_over"]]
    at_risk = records_since_checkpoint(leases, consumer, 0, crash_at) if crash_at is not None else 0.0
    if crash_at is not None:
        before = rows[(rows["owner"] == 0) & (rows["second"] < crash_at) & rows["checkpointed"]]
        last_checkpoint = float(before["second"].max() + results.resolution) if len(before) else 0.0
    else:
        last_checkpoint = float("nan")
    return {
        "written": written, "processed": processed, "duplicates": int(results.duplicates[consumer]),
        "rereads": float(rows["rereads"].sum()), "at_risk": at_risk,
        "takeover_second": float(takeovers["second"].min()) if len(takeovers) else float("nan"),
        "leases_moved": int(takeovers["shard_id"].nunique()), "last_checkpoint_second": last_checkpoint,
    }


class LeasePanel:
    """One row per shard: who held its lease when (colour = worker, grey hatched = a crashed
    worker still holds it), a tick at every checkpoint, and a diamond at SHARD_END."""

    def __init__(self, ax: Axes, max_workers: int = 4, title: str = "Lease table over time"):
        self.ax = ax
        self.max_workers = max_workers
        self.blocks = PolyCollection([], linewidths=0.0)
        ax.add_collection(self.blocks)
        self.dead = PolyCollection([], facecolors=COLOURS["idle"], edgecolors="#777777", hatch="///", linewidths=0.0)
        ax.add_collection(self.dead)
        self.checkpoints = ax.scatter([], [], marker="|", s=120, color="#000000", linewidths=1.5, zorder=3)
        self.shard_end = ax.scatter([], [], marker="D", s=36, color="#000000", zorder=4)
        self.crash = ax.axvline(0, color=COLOURS["throttled"], linestyle="--", linewidth=1.5, alpha=0.0)
        self.takeover = ax.axvline(0, color=COLOURS["throttled"], linestyle=":", linewidth=1.5, alpha=0.0)
        tidy(ax, title, "time (s)", "")
        ax.grid(False)

    def update(self, leases, consumer: str, duration: float, crash_at: float | None = None,
               takeover_at: float | None = None, closed_shards=()) -> None:
        """Draw group ``consumer``'s leases; ``closed_shards`` (ids) get a SHARD_END diamond where
        their checkpoint first reached their last record."""
        rows = leases[leases["consumer"] == consumer]
        # One sort and one pass over the groups (filtering the frame once per shard costs more).
        groups = list(rows.sort_values(["shard_id", "second"], kind="stable").groupby("shard_id", sort=True))
        shard_ids = [shard_id for shard_id, _ in groups]
        live, dead, live_colours = [], [], []
        marks, ends = [], []
        workers_seen = set()
        for y, (shard_id, mine) in enumerate(groups):
            if shard_id in closed_shards:
                # SHARD_END: the first checkpoint at the shard's last record ends its lease.
                final = mine["position"].max()
                done = mine[mine["checkpointed"] & (mine["checkpoint"] >= final)]
                if len(done):
                    end_second = float(done["second"].iloc[0])
                    ends.append((end_second + 1.0, y))
                    mine = mine[mine["second"] <= end_second]
            seconds = mine["second"].to_numpy()
            owners = mine["owner"].to_numpy()
            alive = mine["owner_alive"].to_numpy()
            start = 0
            for i in range(1, len(mine) + 1):
                if i == len(mine) or owners[i] != owners[start] or alive[i] != alive[start]:
                    a, b = float(seconds[start]), float(seconds[i - 1]) + 1.0
                    box = [(a, y - 0.32), (b, y - 0.32), (b, y + 0.32), (a, y + 0.32)]
                    if owners[start] < 0:
                        pass
                    elif alive[start]:
                        live.append(box)
                        live_colours.append(WORKER_COLOURS[int(owners[start]) % len(WORKER_COLOURS)])
                        workers_seen.add(int(owners[start]))
                    else:
                        dead.append(box)
                    start = i
            for second in mine.loc[mine["checkpointed"], "second"]:
                marks.append((float(second) + 1.0, y))
        self.blocks.set_verts(live)
        self.blocks.set_facecolors(live_colours)
        self.dead.set_verts(dead)
        self.checkpoints.set_offsets(np.array(marks) if marks else np.zeros((0, 2)))
        self.shard_end.set_offsets(np.array(ends) if ends else np.zeros((0, 2)))
        for line, at in ((self.crash, crash_at), (self.takeover, takeover_at)):
            if at is not None and np.isfinite(at):
                line.set_xdata([at, at])
                line.set_alpha(1.0)
            else:
                line.set_alpha(0.0)
        set_ticks(self.ax.yaxis, range(len(shard_ids)),
                  [s.replace("shardId-", "shard ").replace("00000000", "") for s in shard_ids])
        self.ax.set_ylim(-0.6, len(shard_ids) - 0.4 + 0.9)
        self.ax.set_xlim(0, duration)
        entries = (tuple(sorted(workers_seen)), bool(dead), bool(ends), crash_at is not None,
                   takeover_at is not None and bool(np.isfinite(takeover_at)))
        keep_legend(self.ax, entries, lambda: self._legend(*entries))

    def _legend(self, workers, dead: bool, ends: bool, crash: bool, takeover: bool):
        handles = [Patch(color=WORKER_COLOURS[w % len(WORKER_COLOURS)], label=f"worker {w}") for w in workers]
        if dead:
            handles.append(Patch(facecolor=COLOURS["idle"], edgecolor="#777777", hatch="///",
                                 label="held by a crashed worker"))
        handles.append(Line2D([], [], marker="|", linestyle="none", color="#000000", markersize=9,
                              label="checkpoint"))
        if ends:
            handles.append(Line2D([], [], marker="D", linestyle="none", color="#000000", markersize=5,
                                  label="SHARD_END"))
        if crash:
            handles.append(Line2D([], [], color=COLOURS["throttled"], linestyle="--", label="crash"))
        if takeover:
            handles.append(Line2D([], [], color=COLOURS["throttled"], linestyle=":", label="takeover"))
        legend = self.ax.legend(handles=handles, loc="upper left", ncols=min(len(handles), 4), fontsize=FONT_SIZE - 1,
                                frameon=True, framealpha=1.0, edgecolor="none", handlelength=1.2, columnspacing=0.8)
        legend.set_zorder(5)
        return legend


class KclCrashDashboard(Dashboard):
    """A KCL group of workers sharing one lease per shard; worker 0 crashes; the checkpoint
    interval decides how much work is repeated."""

    def __init__(self, checkpoint_every: int = 20, crash_at: int = 45, workers: int = 2, duration: float = 100.0):
        self.duration = duration
        live = LiveFigure(10, 3.9, 1, 2, width_ratios=[1.25, 1])
        self.leases_panel = LeasePanel(live.axes[0, 0])
        ax = live.axes[0, 1]
        self.ax_reads = ax
        edges = np.arange(int(duration) + 1, dtype=float)
        zeros = np.zeros(int(duration))
        self.first_area = ax.stairs(zeros, edges, fill=True, color=COLOURS["consumer"],
                                    label="processed for the first time")
        self.again_area = ax.stairs(zeros, edges, baseline=zeros, fill=True, color=COLOURS["retried"],
                                    label="processed again (duplicates)")
        self.written, = ax.step([], [], where="post", color=COLOURS["offered"], linewidth=1.2, label="records written")
        tidy(ax, "Records the group processed per second", "time (s)", "records per second")
        si_yaxis(ax)
        ax.set_xlim(0, duration)
        ax.legend(loc="upper left", fontsize=FONT_SIZE - 1, frameon=False)
        controls = {
            "checkpoint_every": c.int_slider("checkpoint every (s)", checkpoint_every, 5, 60, 5),
            "crash_at": c.int_slider("worker 0 crashes at (s)", crash_at, 10, 75),
            "workers": c.int_slider("workers", workers, 2, 4),
        }
        super().__init__("A KCL consumer group: checkpoints, a crash and a takeover", controls, "checkpoint_every",
                         live, intro="Four shards, one lease each. Worker 0 crashes; 10 s later its leases expire and "
                                     "the other workers take them over, starting again from the last checkpoint.")

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict):
        scenario = kcl_scenario(values["checkpoint_every"], values["crash_at"], values["workers"],
                                duration=self.duration)
        return run_with_leases(scenario, seed=0)

    def draw(self, result, values: dict) -> str:
        results, leases = result
        crash_at = float(values["crash_at"])
        summary = crash_summary(results, leases, crash_at)
        self.leases_panel.update(leases, "billing", self.duration, crash_at, summary["takeover_second"])
        rows = leases[leases["consumer"] == "billing"]
        per_second = rows.groupby("second")[["reads", "rereads"]].sum().reindex(
            np.arange(int(self.duration), dtype=float), fill_value=0.0)
        first = (per_second["reads"] - per_second["rereads"]).to_numpy()
        again = per_second["rereads"].to_numpy()
        self.first_area.set_data(first)
        self.again_area.set_data(first + again, baseline=first)
        written = results.stream["IncomingRecords"].to_numpy()
        self.written.set_data(np.arange(len(written)), written)
        self.ax_reads.set_ylim(0, nice_ceiling(max(float((first + again).max()), float(written.max())) * 1.15))
        # Keep the legend away from the catch-up spike after the takeover.
        spike_left = np.isfinite(summary["takeover_second"]) and summary["takeover_second"] < self.duration / 2
        loc = "upper right" if spike_left else "upper left"
        keep_legend(self.ax_reads, (loc,), lambda: self.ax_reads.legend(loc=loc, fontsize=FONT_SIZE - 1, frameon=False))
        moved = summary["leases_moved"]
        last = (f"its last checkpoint was at {summary['last_checkpoint_second']:.0f} s"
                if summary["last_checkpoint_second"] > 0 else "it had not checkpointed yet")
        return (f"Checkpoint every <b>{values['checkpoint_every']} s</b>. Worker 0 crashed at {crash_at:.0f} s; "
                f"{last}, and it had processed "
                f"<b>{summary['at_risk']:,.0f}</b> records since. At {summary['takeover_second']:.0f} s its "
                f"{moved} lease(s) moved and those <b style='color:#E69F00'>{summary['duplicates']:,}</b> records "
                f"were processed again. Written {summary['written']:,}; processed {summary['processed']:,} = "
                f"written + duplicates: nothing lost.")


def lease_picture(leases, consumer: str, duration: float, title: str = "Lease table over time",
                  crash_at: float | None = None, takeover_at: float | None = None, closed_shards=()) -> Image:
    """A static lease timeline (for runs outside a dashboard, e.g. a reshard)."""
    live = LiveFigure(9, 2.9)
    panel = LeasePanel(live.axes[0, 0], title=title)
    panel.update(leases, consumer, duration, crash_at, takeover_at, closed_shards)
    return Image(data=live.png(), format="png")
