"""Lesson 06's dashboard: split a hot shard at a chosen hash key, merge two cold neighbours.

Every setting runs one virtual minute on a three-shard stream. A "hot" producer writes with
explicit hash keys spread over shard 0's range, more densely in its lower part (so the midpoint is
not the best split); a background producer writes evenly over all shards. At 15 s shard 0 is
split at ``split_percent`` % of its range; optionally, at 30 s, shards 1 and 2 are merged.
"""

from __future__ import annotations

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.panels import LineagePanel, ShardLoadPanel, ThroughputPanel
from kinesislab.dashboards.style import COLOURS, FONT_SIZE
from kinesislab.engine.hashing import even_split
from kinesislab.scenario import (Constant, ExplicitHashKeys, FixedSize, MergeShards, Producer, Scenario, SplitShard,
                                 StreamSpec, UniformKeys, run)

SHARDS = 3
HOT_SHARD = "shardId-000000000000"
COLD_PAIR = ("shardId-000000000001", "shardId-000000000002")
SPLIT_AT = 15.0
MERGE_AT = 30.0
HOT_KEYS = 40


def hot_range() -> tuple[int, int]:
    """Shard 0's hash key range in a new three-shard stream (CreateStream's even split)."""
    first = even_split(SHARDS)[0]
    return first.starting, first.ending


def split_key(split_percent: float) -> int:
    """The hash key ``split_percent`` % of the way through shard 0's range (NewStartingHashKey)."""
    start, end = hot_range()
    return start + int(round(float(split_percent) * 100)) * (end - start + 1) // 10_000


def hot_keys() -> ExplicitHashKeys:
    """40 explicit hash keys evenly spaced in shard 0's range; weights fall linearly from 1.6 to
    0.4, so the lower part of the range carries more of the traffic."""
    start, end = hot_range()
    width = end - start + 1
    keys = tuple(start + (2 * i + 1) * width // (2 * HOT_KEYS) for i in range(HOT_KEYS))
    weights = tuple(1.6 - 1.2 * i / (HOT_KEYS - 1) for i in range(HOT_KEYS))
    return ExplicitHashKeys(keys, weights)


def resharding_scenario(split_percent: float | None = 50, merge: bool = False, hot_rate: float = 1600,
                        background_rate: float = 300, duration: float = 60.0) -> Scenario:
    """The lesson's workload; ``split_percent=None`` leaves shard 0 alone."""
    events = []
    if split_percent is not None:
        events.append(SplitShard(at=SPLIT_AT, shard_id=HOT_SHARD, new_starting_hash_key=split_key(split_percent)))
    if merge:
        events.append(MergeShards(at=MERGE_AT, shard_id=COLD_PAIR[0], adjacent_shard_id=COLD_PAIR[1]))
    return Scenario(stream=StreamSpec(shards=SHARDS),
                    producers=[Producer(name="hot", traffic=Constant(float(hot_rate)), keys=hot_keys(),
                                        record_size=FixedSize(500)),
                               Producer(name="background", traffic=Constant(float(background_rate)),
                                        keys=UniformKeys(300), record_size=FixedSize(500))],
                    events=events, duration=duration)


def after_reshard(results, last_seconds: float = 20.0) -> dict:
    """Average records/s over the last ``last_seconds``: accepted and throttled per open shard, and
    throttled for the whole stream."""
    tail = slice(len(results.stream) - int(last_seconds / results.resolution), None)
    accepted = results.shards["IncomingRecords"].iloc[tail].mean()
    throttled = results.shards["WriteProvisionedThroughputExceeded"].iloc[tail].mean()
    open_now = results.lineage[results.lineage["closed_second"].isna()]["ShardId"]
    return {"accepted": {s: float(accepted[s]) for s in open_now},
            "throttled": {s: float(throttled[s]) for s in open_now},
            "stream_throttled": float(results.stream["ThrottledRecords"].iloc[tail].mean())}


def _legend_above(ax) -> None:
    """Move a panel's legend above its top right corner (the lineage blocks fill the axes)."""
    legend = ax.get_legend()
    ax.legend(legend.legend_handles, [t.get_text() for t in legend.get_texts()], loc="lower right",
              bbox_to_anchor=(1.0, 1.0), ncols=2, fontsize=FONT_SIZE - 1, frameon=False, borderaxespad=0.2)


def short(shard_id: str) -> str:
    """``shardId-000000000003`` -> ``shard 3``."""
    return f"shard {int(shard_id.split('-')[1])}"


class ReshardingDashboard(Dashboard):
    """The lineage picture, throughput over time and the load of the shards after resharding."""

    def __init__(self, split_percent: int = 50, merge: str = "yes", hot_rate: float = 1600, duration: float = 60.0):
        self.duration = duration
        live = LiveFigure(12, 3.9, 1, 3, width_ratios=[1.2, 1.3, 0.9])
        self.lineage = LineagePanel(live.axes[0, 0], title="Shard lineage")
        _legend_above(live.axes[0, 0])
        self.timeline = ThroughputPanel(live.axes[0, 1], title="Whole stream over time")
        handles, labels = live.axes[0, 1].get_legend_handles_labels()
        live.axes[0, 1].legend(handles, labels, loc="upper left", ncols=2, fontsize=FONT_SIZE - 1, frameon=False)
        self.events = [live.axes[0, 1].axvline(x, color=COLOURS["idle"], linewidth=1.0, linestyle=":")
                       for x in (SPLIT_AT, MERGE_AT)]
        self.load = ShardLoadPanel(live.axes[0, 2], max_shards=8, title="Open shards, last 20 s")
        controls = {
            "split_percent": c.int_slider("split shard 0 at (%)", split_percent, 5, 95, 5),
            "merge": c.toggle("merge shards 1 and 2", ["no", "yes"], merge),
            "hot_rate": c.int_slider("hot traffic (records/s)", int(hot_rate), 400, 2000, 100),
        }
        super().__init__("Resharding: split the hot shard, merge the cold ones", controls, "split_percent", live,
                         intro=f"Shard 0 gets most of the traffic. At {SPLIT_AT:g} s it is split at the chosen "
                               f"point of its hash key range; at {MERGE_AT:g} s shards 1 and 2 may be merged. "
                               "Each change takes effect when the stream is ACTIVE again.")

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict):
        return run(resharding_scenario(values["split_percent"], values["merge"] == "yes", values["hot_rate"],
                                       duration=self.duration), seed=0, progress=False)

    def draw(self, results, values: dict) -> str:
        self.lineage.update(results.lineage, self.duration)
        self.timeline.update(results)
        self.events[1].set_alpha(1.0 if values["merge"] == "yes" else 0.0)
        self.load.update(results, average_over=20.0)
        after = after_reshard(results)
        children = results.lineage[results.lineage["ParentShardId"] == HOT_SHARD]["ShardId"].tolist()
        lines = []
        for child in children:
            accepted, throttled = after["accepted"].get(child, 0.0), after["throttled"].get(child, 0.0)
            state = (f"<b style='color:#D55E00'>{throttled:,.0f} throttled/s</b>" if throttled >= 0.5
                     else "no throttling")
            lines.append(f"{short(child)}: {accepted:,.0f} accepted/s, {state}")
        outcome = "; ".join(lines) if lines else "the split did not happen"
        merged = results.lineage[results.lineage["AdjacentParentShardId"].notna()]["ShardId"].tolist()
        merge_text = (f" Shards 1 and 2 merged into {short(merged[0])}: "
                      f"{after['accepted'].get(merged[0], 0.0):,.0f} records/s, one shard fewer to pay for."
                      if merged else "")
        return (f"Split at <b>{values['split_percent']}%</b> of shard 0's range. Children {outcome}. "
                f"Whole stream after resharding: {after['stream_throttled']:,.0f} throttled/s.{merge_text}")


def lineage_figure(results, title: str = "Shard lineage") -> LiveFigure:
    """A static lineage picture of one run (the lesson's concept figure)."""
    live = LiveFigure(6.0, 3.4)
    panel = LineagePanel(live.axes[0, 0], title=title)
    _legend_above(live.axes[0, 0])
    panel.update(results.lineage, float(len(results.stream) * results.resolution))
    return live
