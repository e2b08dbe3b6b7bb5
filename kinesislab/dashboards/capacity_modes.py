"""Lesson 07's dashboard: the same traffic on a provisioned and an on-demand stream, side by side.

The runs are 18 virtual minutes long, because the on-demand rule the lesson teaches takes 15 of
them: capacity for a new peak arrives 15 minutes after the peak is seen (facts §5). A run of that
length costs about a second of wall time, so every run is cached: each setting is simulated once.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.axes import Axes

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.style import CAPACITY_LINE, COLOURS, FONT_SIZE, nice_ceiling, si_yaxis, tidy
from kinesislab.scenario import (Burst, Constant, FixedSize, Producer, RandomKeys, Scenario, Series, Step,
                                 StreamSpec, SwitchMode, run)

#: Records/s before the jump or between spikes. A new on-demand stream has 4,000 records/s of
#: capacity, i.e. twice this: it starts as if 2,000 records/s had been its peak.
BASE_RATE = 2000.0
#: Data bytes per record; with the 16-byte partition key every record is exactly 1 KiB.
DATA_BYTES = 1008
KEY_BYTES = 16
RECORD_BYTES = DATA_BYTES + KEY_BYTES
#: Length of every run (s): the 15-minute catch-up plus a few minutes either side.
DURATION = 1080.0
#: When the jump happens and the first spike starts (s).
JUMP_AT = 60.0
SPIKE_EVERY = 240.0
SPIKE_LENGTH = 30.0
#: The doubling pattern: this many records/s at first, twice as many every DOUBLING_EVERY seconds.
DOUBLING_START = 900.0
DOUBLING_EVERY = 300.0

PATTERNS = ["sudden jump", "spiky", "doubling", "steady"]


def traffic_for(pattern: str, factor: float):
    """The traffic shape of a pattern; ``factor`` is the jump or spike size (x the base rate)."""
    factor = float(factor)
    if pattern == "steady":
        return Constant(BASE_RATE)
    if pattern == "spiky":
        return Burst(base=BASE_RATE, peak=factor * BASE_RATE, every=SPIKE_EVERY, length=SPIKE_LENGTH, first=JUMP_AT)
    if pattern == "doubling":
        steps = np.arange(int(DURATION)) // int(DOUBLING_EVERY)
        return Series(tuple(float(DOUBLING_START * 2.0 ** s) for s in steps))
    if pattern == "sudden jump":
        return Step(before=BASE_RATE, after=factor * BASE_RATE, at_second=JUMP_AT)
    raise ValueError(f"unknown traffic pattern {pattern!r}; choose one of {PATTERNS}")


def describe_pattern(pattern: str, factor: float) -> str:
    """One line for a readout: what the pattern does, with its numbers."""
    peak = factor * BASE_RATE
    if pattern == "steady":
        return f"steady {BASE_RATE:,.0f} records/s"
    if pattern == "spiky":
        return (f"{BASE_RATE:,.0f} records/s with {SPIKE_LENGTH:.0f}-second spikes of {factor:g} times that "
                f"({peak:,.0f} records/s) every {SPIKE_EVERY / 60:.0f} minutes")
    if pattern == "doubling":
        return (f"{DOUBLING_START:,.0f} records/s, doubling every {DOUBLING_EVERY / 60:.0f} minutes "
                f"(to {DOUBLING_START * 2 ** int((DURATION - 1) // DOUBLING_EVERY):,.0f})")
    return f"a sudden jump of {factor:g} times, {BASE_RATE:,.0f} to {peak:,.0f} records/s at minute {JUMP_AT / 60:.0f}"


def capacity_scenario(mode: str, pattern: str, factor: float = 10.0, shards: int = 4,
                      switch_at_minute: float | None = None, keys=None, duration: float = DURATION) -> Scenario:
    """One producer (random keys unless ``keys`` is given, 1 KiB records, no retries) with the
    pattern's traffic on a stream in ``mode``. ``shards`` applies to provisioned streams; a new
    on-demand stream always starts with 4. ``switch_at_minute`` schedules UpdateStreamMode to the
    other mode then."""
    events = ()
    if switch_at_minute:
        other = "ON_DEMAND" if mode == "PROVISIONED" else "PROVISIONED"
        events = (SwitchMode(at=float(switch_at_minute) * 60.0, mode=other),)
    return Scenario(stream=StreamSpec(name=f"{mode.lower().replace('_', '-')}-stream", mode=mode, shards=int(shards)),
                    producers=[Producer(traffic=traffic_for(pattern, factor), record_size=FixedSize(DATA_BYTES),
                                        keys=keys if keys is not None else RandomKeys(), partition_key_bytes=KEY_BYTES)],
                    events=events, duration=duration)


@lru_cache(maxsize=48)
def run_pattern(mode: str, pattern: str, factor: float = 10.0, shards: int = 4, switch_at_minute: float = 0):
    """The run of :func:`capacity_scenario`, simulated once per setting (seed 0) and cached."""
    factor = float(factor) if pattern in ("spiky", "sudden jump") else 1.0
    return run(capacity_scenario(mode, pattern, factor, shards, switch_at_minute or None), seed=0, progress=False)


def run_both(pattern: str, factor: float = 10.0, shards: int = 4, switch_at_minute: float = 0):
    """(provisioned run, on-demand run) of the same traffic."""
    return (run_pattern("PROVISIONED", pattern, float(factor), int(shards), float(switch_at_minute or 0)),
            run_pattern("ON_DEMAND", pattern, float(factor), 4, 0.0))


def throttle_spells(throttled: np.ndarray, resolution: float = 1.0) -> list[tuple[float, float]]:
    """Spells of consecutive throttled seconds as (first second, last second) pairs."""
    busy = np.asarray(throttled) > 0
    if not busy.any():
        return []
    edges = np.diff(np.concatenate([[0], busy.astype(int), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return [(float(a * resolution), float(b * resolution)) for a, b in zip(starts, ends)]


def run_summary(results) -> dict:
    """What one run did, in the lesson's terms (records, seconds, shards)."""
    offered = results.series("OfferedRecords")
    throttled = results.series("ThrottledRecords")
    accepted = results.series("IncomingRecords")
    shards = results.series("OpenShardCount")
    capacity = results.series("WriteCapacityRecords")
    spells = throttle_spells(throttled, results.resolution)
    longest = max(spells, key=lambda s: s[1] - s[0]) if spells else None
    grew = np.flatnonzero(shards > shards[0])
    return {
        "offered": float(offered.sum()),
        "accepted": float(accepted.sum()),
        "throttled": float(throttled.sum()),
        "throttled_share": float(throttled.sum() / offered.sum()) if offered.sum() else 0.0,
        "throttled_seconds": int((throttled > 0).sum()),
        "first_throttled_second": spells[0][0] if spells else None,
        "last_throttled_second": spells[-1][1] if spells else None,
        "longest_spell_seconds": (longest[1] - longest[0] + results.resolution) if longest else 0.0,
        "start_shards": int(shards[0]),
        "end_shards": int(shards[-1]),
        "start_capacity": float(capacity[0]),
        "end_capacity": float(capacity[-1]),
        "first_growth_second": float(grew[0] * results.resolution) if len(grew) else None,
        "peak_offered": float(offered.max()),
    }


class ModePanel:
    """One capacity mode: records/s over time (offered, accepted, throttled, capacity line) on top,
    open shards below."""

    def __init__(self, top: Axes, bottom: Axes, title: str, colour: str):
        self.top, self.bottom = top, bottom
        self.offered, = top.plot([], [], color=COLOURS["offered"], linewidth=1.0, label="offered")
        self.accepted, = top.plot([], [], color=COLOURS["accepted"], linewidth=2.0, label="accepted")
        self.throttled, = top.plot([], [], color=COLOURS["throttled"], linewidth=1.3, linestyle="-.", label="throttled")
        self.capacity, = top.plot([], [], label="write capacity", **CAPACITY_LINE)
        self.switch = top.axvline(0, color="#777777", linestyle=":", linewidth=1.2, alpha=0.0)
        self.switch_label = top.text(0, 0, "", fontsize=FONT_SIZE - 1, color="#555555", ha="left", va="center",
                                     backgroundcolor="white")
        # "Catching up": from the first throttled second to the arrival of new shards.
        self.catch_up = top.annotate("", xy=(0, 0), xytext=(0, 0), visible=False,
                                     arrowprops={"arrowstyle": "<->", "color": COLOURS["on_demand"], "linewidth": 1.2})
        self.catch_up_label = top.text(0, 0, "", fontsize=FONT_SIZE - 1, color=COLOURS["on_demand"], ha="center",
                                       va="bottom")
        tidy(top, title, "", "records per second")
        si_yaxis(top)
        top.legend(loc="upper left", fontsize=FONT_SIZE - 1, ncols=2, frameon=False)
        self.shards, = bottom.step([], [], where="post", color=colour, linewidth=2.0)
        tidy(bottom, "", "time (minutes)", "open shards")

    def update(self, results, top: float, shard_top: float, switch_minute: float | None = None) -> dict:
        t = np.arange(len(results.series("OfferedRecords"))) * results.resolution / 60.0
        attempts = results.shard_matrix("OfferedRecords").sum(axis=1)
        self.offered.set_data(t, attempts)
        self.accepted.set_data(t, results.series("IncomingRecords"))
        self.throttled.set_data(t, results.series("ThrottledRecords"))
        self.capacity.set_data(t, results.series("WriteCapacityRecords"))
        self.shards.set_data(t, results.series("OpenShardCount"))
        for ax in (self.top, self.bottom):
            ax.set_xlim(0, t[-1] if len(t) else 1.0)
        self.top.set_ylim(0, top)
        self.bottom.set_ylim(0, shard_top)
        if switch_minute:
            self.switch.set_xdata([switch_minute, switch_minute])
            self.switch.set_alpha(1.0)
            self.switch_label.set_position((switch_minute + 0.2, top * 0.62))
            self.switch_label.set_text("switched to\non-demand")
        else:
            self.switch.set_alpha(0.0)
            self.switch_label.set_text("")
        summary = run_summary(results)
        first, grew = summary["first_throttled_second"], summary["first_growth_second"]
        if first is not None and grew is not None and grew > first:
            y = top * 0.80
            self.catch_up.xy = (grew / 60.0, y)
            self.catch_up.set_position((first / 60.0, y))
            self.catch_up.set_visible(True)
            self.catch_up_label.set_position(((first + grew) / 120.0, y))
            self.catch_up_label.set_text(f"catching up: {(grew - first) / 60:.1f} min")
        else:
            self.catch_up.set_visible(False)
            self.catch_up_label.set_text("")
        return summary


class CapacityModesDashboard(Dashboard):
    """Provisioned vs on-demand under the same traffic; the traffic pattern is the main control (a new
    pattern costs one pair of runs, where a slider dragged over several values would cost several)."""

    def __init__(self, pattern: str = "sudden jump", factor: float = 10.0, shards: int = 4, switch_at_minute: int = 0):
        live = LiveFigure(10.5, 5.4, 2, 2, height_ratios=[3, 1.2], sharex="col")
        self.provisioned = ModePanel(live.axes[0, 0], live.axes[1, 0], "Provisioned (fixed shards)",
                                     COLOURS["provisioned"])
        self.on_demand = ModePanel(live.axes[0, 1], live.axes[1, 1], "On-demand (starts at 4 shards)",
                                   COLOURS["on_demand"])
        controls = {
            "pattern": c.choice("traffic pattern", PATTERNS, pattern),
            "factor": c.float_slider("jump / spike size (x)", factor, 1.0, 10.0, 0.5),
            "shards": c.int_slider("provisioned shards", shards, 1, 40),
            "switch_at_minute": c.int_slider("switch at minute", switch_at_minute, 0, 15),
        }
        super().__init__("Capacity modes side by side: the same traffic, two streams", controls, "pattern", live,
                         intro="Left: a provisioned stream with the shards you choose. Right: a new on-demand "
                               "stream. Both get exactly the same records for 18 virtual minutes. 'Switch at "
                               "minute' (0 = never) switches the provisioned stream to on-demand. "
                               "Each new setting is simulated once (a second or two), then remembered.")

    def compute(self, values: dict):
        return run_both(values["pattern"], values["factor"], values["shards"], values["switch_at_minute"])

    def draw(self, result, values: dict) -> str:
        provisioned, on_demand = result
        top = 1.15 * max(float(np.max(r.shard_matrix("OfferedRecords").sum(axis=1))) for r in result)
        top = max(top, 1.15 * max(float(np.max(r.series("WriteCapacityRecords"))) for r in result))
        top = nice_ceiling(top)
        shard_top = nice_ceiling(1.2 * max(float(np.max(r.series("OpenShardCount"))) for r in result))
        switch = values["switch_at_minute"] or None
        p = self.provisioned.update(provisioned, top, shard_top, switch)
        o = self.on_demand.update(on_demand, top, shard_top)
        factor = values["factor"]
        applies = values["pattern"] in ("spiky", "sudden jump")
        lines = [f"<b>Traffic ({values['pattern']})</b>: {describe_pattern(values['pattern'], factor)}"
                 + ("" if applies else f" (the size {factor:g} only applies to the spiky and jump patterns)") + "."]
        switched = (f" (switched to on-demand at minute {switch}: it keeps its shards, and capacity for a new peak "
                    f"arrives 15 minutes after the peak)") if switch else ""
        for label, summary in (("Provisioned" + switched, p), ("On-demand", o)):
            lines.append(f"<b>{label}</b>: {summary['start_shards']} &rarr; {summary['end_shards']} shards; "
                         f"accepted {1 - summary['throttled_share']:.0%} of the records, "
                         f"<span style='color:{COLOURS['throttled']}'>throttled {summary['throttled_share']:.0%}</span>"
                         + _spell_text(summary) + ".")
        return "<br>".join(lines)


def _spell_text(summary: dict) -> str:
    if not summary["throttled_seconds"]:
        return ", never throttled"
    first, last = summary["first_throttled_second"], summary["last_throttled_second"]
    return (f" in {summary['throttled_seconds']:,} of the seconds (first at {first / 60:.1f} min, "
            f"last at {last / 60:.1f} min)")


def mode_picture(results, title: str, width_inches: float = 7.0, height_inches: float = 3.8):
    """A static picture of one run (throughput and shards), for a lesson's Concept section."""
    from IPython.display import Image

    live = LiveFigure(width_inches, height_inches, 2, 1, height_ratios=[3, 1.2], sharex="col")
    panel = ModePanel(live.axes[0, 0], live.axes[1, 0], title, COLOURS["on_demand"])
    offered = float(np.max(results.shard_matrix("OfferedRecords").sum(axis=1)))
    top = 1.15 * max(offered, float(np.max(results.series("WriteCapacityRecords"))))
    panel.update(results, top, 1.2 * float(np.max(results.series("OpenShardCount"))))
    return Image(data=live.png(), format="png")


def on_demand_ceiling(region: str, offered_mib: int = 120) -> dict:
    """Offer ``offered_mib`` records of 1 MiB to a new on-demand stream in one second (spread evenly
    over the key space), wait the 15 minutes on-demand needs, and count its shards. Twice the peak
    asks for 2 x ``offered_mib`` shards; the Region's per-stream maximum caps it."""
    from kinesislab import Simulator
    from kinesislab.limits import MiB

    sim = Simulator(seed=0, region=region)
    kinesis = sim.client("kinesis")
    kinesis.create_stream(StreamName="big", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    kinesis.get_waiter("stream_exists").wait(StreamName="big")
    data = b"x" * (MiB - 1)  # with the one-character key: exactly 1 MiB
    keys = [str((2 * i + 1) * 2**128 // (2 * offered_mib)) for i in range(offered_mib)]
    for start in range(0, offered_mib, 10):  # PutRecords takes up to 10 MiB per call
        kinesis.put_records(StreamName="big", Records=[{"Data": data, "PartitionKey": "k", "ExplicitHashKey": key}
                                                       for key in keys[start:start + 10]])
    sim.advance(sim.limits.on_demand_scale_up_seconds + 2)
    shards = kinesis.describe_stream_summary(StreamName="big")["StreamDescriptionSummary"]["OpenShardCount"]
    return {"region": region, "max_write_mib_per_second": sim.limits.on_demand_max_write_bytes_per_second / MiB,
            "offered_mib_in_one_second": offered_mib, "open_shards_15_min_later": shards,
            "write_capacity_mib_per_second": shards * sim.limits.shard_write_bytes_per_second / MiB}
