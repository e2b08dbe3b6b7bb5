"""Lesson 04's dashboard: key skew makes one shard hot; salting and more keys cool it."""

from __future__ import annotations

import numpy as np

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.panels import KeySpacePanel, ShardLoadPanel
from kinesislab.scenario import (Constant, FixedSize, HotKey, Producer, SaltedKeys, Scenario, StreamSpec, UniformKeys,
                                 ZipfKeys, run)
from kinesislab.scenario.keys import key_table

DISTRIBUTIONS = ["uniform", "zipf", "one hot key"]


def key_distribution(kind: str, keys: int, skew: float, hot_share: float, salt: int):
    """The scenario key model for the dashboard's settings (salt 1 = no salting)."""
    if kind == "uniform":
        base = UniformKeys(int(keys))
    elif kind == "zipf":
        base = ZipfKeys(int(keys), float(skew))
    else:
        base = HotKey(float(hot_share), int(keys))
    return base if int(salt) <= 1 else SaltedKeys(base, int(salt))


class HotShardDashboard(Dashboard):
    """Shard load and the key space for a skewed key distribution."""

    def __init__(self, shards: int = 4, keys: int = 100, distribution: str = "one hot key", skew: float = 1.1,
                 hot_share: float = 0.5, salt: int = 1, rate: float = 3000, duration: float = 30.0):
        self.rate = rate
        self.duration = duration
        live = LiveFigure(10, 4.6, 2, 1, height_ratios=[3, 1.3])
        self.load = ShardLoadPanel(live.axes[0, 0], max_shards=32, title="Load per shard", max_labels=32)
        self.key_space = KeySpacePanel(live.axes[1, 0])
        controls = {
            "shards": c.int_slider("shards", shards, 1, 32),
            "keys": c.int_slider("distinct keys", keys, 1, 2000),
            "distribution": c.choice("key distribution", DISTRIBUTIONS, distribution),
            "skew": c.float_slider("Zipf skew", skew, 0.0, 3.0, 0.1),
            "hot_share": c.float_slider("hot key share", hot_share, 0.0, 1.0, 0.05),
            "salt": c.int_slider("salt each key N ways", salt, 1, 16),
            "rate": c.log_slider("records/s offered", rate, 100, 50_000),
        }
        super().__init__("Hot shards: where do the keys land?", controls, "shards", live,
                         intro="A partition key always maps to the same shard. If one key carries much of the "
                               "traffic, its shard hits 1,000 records/s while the others idle.")

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict):
        keys = key_distribution(values["distribution"], values["keys"], values["skew"], values["hot_share"],
                                values["salt"])
        scenario = Scenario(stream=StreamSpec(shards=int(values["shards"])),
                            producers=[Producer(traffic=Constant(float(values["rate"])), record_size=FixedSize(200),
                                                keys=keys)], duration=self.duration)
        return run(scenario, seed=0, progress=False), keys

    def draw(self, result, values: dict) -> str:
        results, keys = result
        hot = self.load.update(results)
        ranges = [(row.ShardId, int(row.StartingHashKey), int(row.EndingHashKey))
                  for row in results.lineage.itertuples() if np.isnan(row.closed_second)]
        table = key_table(keys)
        if table is not None:
            top = np.argsort(table.weights)[::-1][:300]
            hashes = np.array([table.hash_keys[i] for i in top], dtype=object)
            self.key_space.update(ranges, np.array([float(h) for h in hashes]), table.weights[top],
                                  hot.get("shard_id") if hot.get("throttled") else None)
        else:
            self.key_space.update(ranges)
        if not hot:
            return ""
        offered = hot["total_accepted"] + hot["total_throttled"]
        share = (hot["accepted"] + hot["throttled"]) / offered if offered else 0.0
        salting = f", salted {values['salt']} ways" if values["salt"] > 1 else ""
        return (f"<b>{values['shards']} shards</b>, {values['keys']:,} keys ({values['distribution']}{salting}). "
                f"Hottest shard <b>{hot['shard_id']}</b> gets {share:.0%} of the traffic: "
                f"{hot['accepted']:,.0f} accepted/s, <b style='color:#D55E00'>{hot['throttled']:,.0f} throttled/s</b>. "
                f"Whole stream: {hot['total_accepted']:,.0f} accepted/s, {hot['total_throttled']:,.0f} throttled/s.")
