"""A KCL group's lease table, second by second: who held each shard's lease, how far it had read,
where it had checkpointed, and which reads were records processed a second time.

The runner keeps only the final state of a :class:`~kinesislab.scenario.model.KclConsumer`
group; :func:`run_with_leases` runs the same scenario and also records, after every tick, one
row per (KCL group, shard) -- the history a KCL application would see in its DynamoDB lease
table if it kept every version. Nothing in the run changes: the numbers are those of
:func:`kinesislab.scenario.run` with the same seed.

Columns of the lease frame (one row per second, group and shard; positions count records from
the start of the shard):

``second`` (start of the tick), ``consumer``, ``shard_id``, ``owner`` (worker index, -1 none),
``owner_alive`` (False while a crashed worker still holds the lease), ``position`` (records
processed up to the end of the tick), ``checkpoint`` (last checkpointed position),
``checkpointed`` (the checkpoint moved this tick), ``took_over`` (another worker took the lease
this tick and went back to the checkpoint), ``reads`` (records processed this tick) and
``rereads`` (those of them processed before: duplicates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kinesislab.scenario.consumers import KclReader
from kinesislab.scenario.model import Scenario
from kinesislab.scenario.results import Results
from kinesislab.scenario.runner import Runner

LEASE_COLUMNS = ["second", "consumer", "shard_id", "owner", "owner_alive", "position", "checkpoint",
                 "checkpointed", "took_over", "reads", "rereads"]


class _LeaseRecordingRunner(Runner):
    """A :class:`Runner` that notes every KCL group's lease table after each tick."""

    def __init__(self, scenario: Scenario, seed: int):
        super().__init__(scenario, seed, "counts")
        self.lease_rows: list[tuple] = []
        self._kcl = [r for r in self.readers if isinstance(r, KclReader)]
        self._high_water: dict[str, np.ndarray] = {r.name: np.zeros(0) for r in self._kcl}
        self._start: dict[str, np.ndarray] = {}
        self._resets: dict[str, dict[int, float]] = {r.name: {} for r in self._kcl}
        for reader in self._kcl:
            reader._take_over = self._noting_take_over(reader, reader._take_over)

    def _noting_take_over(self, reader: KclReader, take_over):
        def wrapped(slot: int, worker: int) -> None:
            self._resets[reader.name][int(slot)] = float(reader.checkpoint[slot])
            take_over(slot, worker)
        return wrapped

    @staticmethod
    def _padded(values: np.ndarray, length: int) -> np.ndarray:
        return np.concatenate([values, np.zeros(length - len(values))]) if len(values) < length else values.copy()

    def _note_start(self) -> None:
        for reader in self._kcl:
            self._start[reader.name] = reader.positions.copy()
            self._resets[reader.name] = {}

    def _apply_events(self, t: float) -> None:
        # Positions before anything of this tick happens (AddWorker takes leases over in here).
        self._note_start()
        super()._apply_events(t)

    def _tick_reads_begin(self, tick: int) -> None:
        self._note_start()

    def _tick_reads_end(self, tick: int) -> None:
        t = tick * self.resolution
        for reader in self._kcl:
            slots = len(reader.positions)
            start = self._padded(self._start[reader.name], slots)
            resets = self._resets[reader.name]
            for slot, position in resets.items():
                start[slot] = position
            high_water = self._padded(self._high_water[reader.name], slots)
            end = reader.positions.copy()
            reads = end - start
            rereads = np.maximum(0.0, np.minimum(end, high_water) - start)
            for slot in range(slots):
                if not reader.known[slot]:
                    continue
                owner = int(reader.owner[slot])
                self.lease_rows.append((
                    t, reader.name, self.lineage.shard_ids.get(slot, f"slot-{slot}"), owner,
                    bool(owner >= 0 and reader.alive[owner]), float(end[slot]), float(reader.checkpoint[slot]),
                    bool(abs(reader.checkpoint_time[slot] - (tick + 1) * self.resolution) < 1e-9),
                    slot in resets, float(reads[slot]), float(rereads[slot])))
            self._high_water[reader.name] = np.maximum(high_water, end)


def run_with_leases(scenario: Scenario, seed: int = 0) -> tuple[Results, pd.DataFrame]:
    """Run ``scenario`` (as :func:`kinesislab.scenario.run` does, same numbers) and return its
    results with the lease frame of every KCL group in it (columns: :data:`LEASE_COLUMNS`)."""
    runner = _LeaseRecordingRunner(scenario, seed)
    results = runner.run(progress=False)
    frame = pd.DataFrame(runner.lease_rows, columns=LEASE_COLUMNS)
    return results, frame


def records_since_checkpoint(leases: pd.DataFrame, consumer: str, worker: int, before_second: float) -> float:
    """Records worker ``worker`` of group ``consumer`` had processed past its last checkpoint at
    the end of the tick before ``before_second``: what a crash at ``before_second`` puts at risk."""
    rows = leases[(leases["consumer"] == consumer) & (leases["second"] < before_second)]
    last = rows[rows["second"] == rows["second"].max()]
    mine = last[last["owner"] == worker]
    return float((mine["position"] - mine["checkpoint"]).sum())
