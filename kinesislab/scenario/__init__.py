"""Scenarios: whole workloads (producers, consumers, scheduled events) run in virtual time.

>>> from kinesislab.scenario import Scenario, StreamSpec, Producer, Constant, HotKey, run
>>> results = run(Scenario(stream=StreamSpec(shards=4), producers=[Producer(traffic=Constant(1500),
...               keys=HotKey(share=1.0, count=1))], duration=10))
>>> int(results.stream["AcceptedRecords"].iloc[-1])
1000
"""

from kinesislab.scenario.model import (AddWorker, Burst, ChangeTraffic, Constant, Diurnal, EnhancedFanOutConsumer,
                                       ExplicitHashKeys, ExponentialBackoff, FirehoseConsumer, FixedRetry, FixedSize, HotKey,
                                       KclConsumer, KillWorker, KplSettings, MergeShards, NoRetry, PollingConsumer,
                                       Producer, RandomKeys, Ramp, SaltedKeys, Scenario, Series, SplitShard, Step,
                                       StreamSpec, SwitchMode, UniformKeys, UniformSize, UpdateShardCount, ZipfKeys)
from kinesislab.scenario.results import Results
from kinesislab.scenario.runner import run

__all__ = [
    "AddWorker", "Burst", "ChangeTraffic", "Constant", "Diurnal", "EnhancedFanOutConsumer", "ExplicitHashKeys",
    "ExponentialBackoff", "FirehoseConsumer", "FixedRetry", "FixedSize", "HotKey", "KclConsumer", "KillWorker", "KplSettings",
    "MergeShards", "NoRetry", "PollingConsumer", "Producer", "RandomKeys", "Ramp", "Results", "SaltedKeys",
    "Scenario", "Series", "SplitShard", "Step", "StreamSpec", "SwitchMode", "UniformKeys", "UniformSize",
    "UpdateShardCount", "ZipfKeys", "run",
]
