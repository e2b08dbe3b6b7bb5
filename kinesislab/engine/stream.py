"""A data stream: status, capacity mode, shards and their lineage, writes, and resharding.

Every rule here raises :class:`~kinesislab.api.errors.ServiceError` with the service's error
code *before* changing anything, so a failed call never half-applies.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter
from typing import TYPE_CHECKING, Sequence

import numpy as np

from kinesislab.api.errors import ServiceError
from kinesislab.engine.hashing import (HASH_KEY_BYTES, HashKeyRange, even_split, hash_key, hash_key_bytes,
                                       joined_hash_keys)
from kinesislab.engine.ondemand import OnDemandScaler
from kinesislab.engine.sequence import make_sequence_number, sequence_text, sequence_texts
from kinesislab.engine.shard import Record, Shard
from kinesislab.engine.throughput import ReadBudget, WriteBudget
from kinesislab.engine.usage import UsageMeter
from kinesislab.limits import KiB

if TYPE_CHECKING:
    from kinesislab.simulator import Simulator

DAY_SECONDS = 86_400.0


@dataclass
class Admission:
    """What :meth:`Stream.offer_many` answered for a batch whose records went to ``shards``.

    Per-shard lists are indexed like ``shards``: records and bytes accepted, records throttled.
    """

    #: Per record, in batch order, whether it was admitted; None when every record was.
    accepted: list[bool] | None
    accepted_records: list[int]
    accepted_bytes: list[int]
    throttled_records: list[int]


@dataclass
class Consumer:
    """A registered enhanced fan-out consumer."""

    name: str
    arn: str
    created_seconds: float
    status: str = "CREATING"
    #: shard id -> virtual time of the last successful SubscribeToShard.
    last_subscribed: dict[str, float] = field(default_factory=dict)
    #: shard id -> the live subscription's EventStream (a newer one replaces it).
    subscriptions: dict[str, object] = field(default_factory=dict)


class Stream:
    """One Kinesis data stream in a simulator's account."""

    def __init__(self, env: "Simulator", name: str, shard_count: int, mode: str,
                 max_record_size_kib: int, tags: dict[str, str] | None = None):
        self.env = env
        limits = env.limits
        self.name = name
        self.created_seconds = env.clock.time
        self.arn = f"arn:aws:kinesis:{env.region}:{env.account_id}:stream/{name}"
        digest = hashlib.sha256(f"{self.arn}/{self.created_seconds}".encode()).hexdigest()
        self.stream_id = f"{digest[:20]}-{digest[20:23]}"
        #: "USER_PARTITION_KEY" (the default) or "AUTO" (on-demand only; keys ignored for placement).
        self.record_distribution = "USER_PARTITION_KEY"
        self.warm_throughput_mibps: int | None = None
        self.status = "CREATING"
        self.mode = mode
        self.retention_hours = limits.default_retention_hours
        self.max_record_size_kib = max_record_size_kib
        self.tags: dict[str, str] = dict(tags or {})
        self.enhanced_metrics: set[str] = set()
        self.consumers: dict[str, Consumer] = {}
        self.shards: dict[str, Shard] = {}
        #: every shard ever created, by budget slot (slots are never reused)
        self.shards_by_slot: list[Shard] = []
        self._next_index = 0
        self._sequence_counter = 0
        self._routing: tuple[list[int], list[Shard]] | None = None
        #: (the routing table it was built from, its shards' ending hash keys in the forms route_many uses)
        self._routing_ends_cache: tuple | None = None
        #: bumped whenever a shard opens or closes (lets callers cache what depends on the shards)
        self.topology_version = 0
        self.update_shard_count_times: list[float] = []
        self.mode_switch_times: list[float] = []
        self.write_budget = WriteBudget(
            limits.shard_write_bytes_per_second, limits.shard_write_records_per_second,
            self._byte_tank(), limits.shard_write_records_per_second * limits.write_burst_seconds)
        self.read_budget = ReadBudget(limits.shard_read_bytes_per_second, limits.shard_get_records_calls_per_second)
        self.usage = UsageMeter(self)
        # Offered (accepted + throttled) demand of the current whole second, for on-demand scaling.
        self._demand_second: int | None = None
        self._roll_scheduled: int | None = None
        self._demand_bytes = 0.0
        self._demand_records = 0.0
        self._shard_demand_bytes: dict[str, float] = {}
        self.demand_since_scaling: dict[str, float] = {}
        self._iterator_calls: dict[str, tuple[int, int]] = {}
        for hash_range in even_split(shard_count):
            self._new_shard(hash_range)
        self.scaler: OnDemandScaler | None = OnDemandScaler(self) if mode == "ON_DEMAND" else None

    # ------------------------------------------------------------------ identity and state
    def __repr__(self) -> str:
        return f"<Stream {self.name} {self.status} {self.mode} open_shards={len(self.open_shards())}>"

    def _byte_tank(self) -> float:
        limits = self.env.limits
        return max(limits.shard_write_bytes_per_second * limits.write_burst_seconds,
                   self.max_record_size_kib * KiB)

    @property
    def max_record_size_bytes(self) -> int:
        return self.max_record_size_kib * KiB

    def require_status(self, *allowed: str) -> None:
        """ResourceInUseException unless the stream is in one of ``allowed``."""
        if self.status not in allowed:
            raise ServiceError("ResourceInUseException",
                               f"Stream {self.name} under account {self.env.account_id} not ACTIVE, "
                               f"instead in state {self.status}")

    def set_status_for(self, status: str, seconds: float, then: str = "ACTIVE", action=None) -> None:
        """Enter ``status`` now; after ``seconds`` of virtual time run ``action`` and enter ``then``."""
        self.status = status

        def finish() -> None:
            if self.status != status:
                return
            if action is not None:
                action()
            self.status = then

        self.env.clock.schedule_in(seconds, finish)

    # ------------------------------------------------------------------ shards
    def _new_shard(self, hash_range: HashKeyRange, parent: str | None = None, adjacent_parent: str | None = None) -> Shard:
        now = self.env.clock.time
        index = self._next_index
        self._next_index += 1
        slot = self.write_budget.add_slot()
        self.read_budget.add_slot()
        shard = Shard(index=index, slot=slot, hash_key_range=hash_range, created_seconds=now,
                      starting_sequence_number=make_sequence_number(int(now), index, self._sequence_counter, int(now)),
                      parent_shard_id=parent, adjacent_parent_shard_id=adjacent_parent)
        self.shards[shard.shard_id] = shard
        self.shards_by_slot.append(shard)
        self._routing = None
        self.topology_version += 1
        return shard

    def open_shards(self) -> list[Shard]:
        """Open shards sorted by starting hash key (they cover the key space with no gaps)."""
        return self._routing_table()[1]

    def _routing_table(self) -> tuple[list[int], list[Shard]]:
        if self._routing is None:
            opened = sorted((s for s in self.shards.values() if s.is_open), key=lambda s: s.hash_key_range.starting)
            self._routing = ([s.hash_key_range.starting for s in opened], opened)
        return self._routing

    def shard_for_hash_key(self, key: int) -> Shard:
        """The open shard whose range holds ``key``."""
        starts, opened = self._routing_table()
        return opened[bisect.bisect_right(starts, key) - 1]

    def live_shards(self) -> list[Shard]:
        """Shards not yet expired: open ones and closed ones still within retention, by index."""
        self.expire_closed_shards()
        return sorted(self.shards.values(), key=lambda s: s.index)

    def get_shard(self, shard_id: str) -> Shard:
        self.expire_closed_shards()
        shard = self.shards.get(shard_id)
        if shard is None:
            raise ServiceError("ResourceNotFoundException",
                               f"Could not find shard {shard_id} in stream {self.name} under account {self.env.account_id}.")
        return shard

    def expire_closed_shards(self) -> None:
        """Closed shards disappear once everything in them is past retention (facts §4)."""
        horizon = self.env.clock.time - self.retention_hours * 3600
        for shard_id in [sid for sid, s in self.shards.items()
                         if not s.is_open and s.closed_seconds is not None and s.closed_seconds < horizon]:
            del self.shards[shard_id]

    def trim(self) -> None:
        """Drop records older than the retention period from every shard."""
        cutoff = self.env.clock.time - self.retention_hours * 3600
        for shard in self.shards.values():
            oldest = shard.oldest_arrival
            if oldest is not None and oldest < cutoff:
                shard.trim_before(cutoff)

    def next_sequence_text(self, shard: Shard) -> str:
        """The next sequence number (a decimal string) for a record stored in ``shard`` now."""
        self._sequence_counter += 1
        return sequence_text(shard.sequence_prefix(int(self.env.clock.time)), self._sequence_counter)

    # ------------------------------------------------------------------ writes
    def record_size(self, partition_key: str, data: bytes) -> int:
        """Bytes a record counts against the limits: data plus the UTF-8 partition key (facts §1)."""
        return len(data) + len(partition_key.encode("utf-8"))

    def route(self, partition_key: str, explicit_hash_key: int | None) -> Shard:
        """The open shard a record goes to: by explicit hash key, else by the key's MD5; with
        RecordDistributionStrategy AUTO the service places records itself (here: uniformly at random)."""
        if self.record_distribution == "AUTO":
            opened = self.open_shards()
            return opened[int(self.env.rng.integers(len(opened)))]
        return self.shard_for_hash_key(hash_key(partition_key) if explicit_hash_key is None else explicit_hash_key)

    def iterator_call_allowed(self, shard: Shard) -> bool:
        """GetShardIterator's 5 calls per second per shard (facts §1)."""
        second = math.floor(self.env.clock.time)
        last_second, calls = self._iterator_calls.get(shard.shard_id, (second, 0))
        if last_second != second:
            calls = 0
        if calls >= self.env.limits.get_shard_iterator_calls_per_second:
            return False
        self._iterator_calls[shard.shard_id] = (second, calls + 1)
        return True

    def _roll_demand(self) -> None:
        """Close the demand tally of a finished second (feeds on-demand scaling)."""
        second = math.floor(self.env.clock.time)
        if self._demand_second is not None and second != self._demand_second:
            self._close_demand_second()
        self._demand_second = second

    def _close_demand_second(self) -> None:
        """The tally of second ``_demand_second`` is complete: the scaler sees it, per shard too."""
        if self.scaler is not None and (self._demand_bytes or self._demand_records):
            self.scaler.record_demand(self._demand_second, self._demand_bytes, self._demand_records)
        for shard_id, offered in self._shard_demand_bytes.items():
            if offered > self.demand_since_scaling.get(shard_id, 0.0):
                self.demand_since_scaling[shard_id] = offered
        self._demand_bytes = self._demand_records = 0.0
        self._shard_demand_bytes.clear()

    def demand_settled(self) -> bool:
        """Whether every second's demand so far has reached the scaler (no tally open)."""
        return not (self._demand_bytes or self._demand_records or self._shard_demand_bytes)

    def count_past_demand(self, seconds: list[int], offered_records: list[float],
                          bytes_by_slot: list[list[float]]) -> None:
        """:meth:`count_demand` for whole seconds that have already passed, one entry per second
        (in order; records, and bytes per shard slot): the scenario runner solves a
        segment's writes after moving the clock over it. The tallies close as each second's
        roll would have closed them; it is exact only if no tally was open (:meth:`demand_settled`)
        and nothing on the clock read demand meanwhile (no on-demand capacity matured)."""
        if not self.demand_settled():
            raise RuntimeError("a demand tally is open: count the demand as it happens")
        for second, records, row in zip(seconds, offered_records, bytes_by_slot):
            self._demand_second = second
            # Whole bytes: their sum is exact in any order.
            self._tally_demand(float(sum(row)), records, enumerate(row))
            self._close_demand_second()
        self._demand_second = math.floor(self.env.clock.time)

    def _schedule_roll(self) -> None:
        """Close this second's demand tally when the second ends, even if no later write comes
        (otherwise an on-demand stream would never see a peak that is followed by silence)."""
        if self._roll_scheduled != self._demand_second:
            self._roll_scheduled = self._demand_second
            self.env.clock.schedule(self._demand_second + 1, self._roll_demand, priority=-2)

    def count_demand(self, offered_bytes: float, offered_records: float, bytes_by_slot=None) -> None:
        """What producers offered now (accepted or not), for on-demand scaling: ``offered_bytes``
        (bytes) and ``offered_records`` in all, and ``bytes_by_slot`` (pairs of shard slot and
        bytes, only read while the stream is on demand: the scaler splits the busiest shards).

        Every offer starts here (and :meth:`count_past_demand` tallies seconds already passed
        the same way): one rule for what demand counts."""
        self._roll_demand()
        self._schedule_roll()
        self._tally_demand(offered_bytes, offered_records, bytes_by_slot)

    def _tally_demand(self, offered_bytes: float, offered_records: float, bytes_by_slot) -> None:
        self._demand_bytes += offered_bytes
        self._demand_records += offered_records
        if self.scaler is not None and bytes_by_slot is not None:
            shard_demand = self._shard_demand_bytes
            shards = self.shards_by_slot
            for slot, size in bytes_by_slot:
                if size:
                    shard_id = shards[slot].shard_id
                    shard_demand[shard_id] = shard_demand.get(shard_id, 0.0) + size

    def offer(self, shard: Shard, size_bytes: int) -> bool:
        """Ask ``shard``'s write budget for one record; counts demand whatever the answer."""
        self.write_budget.refill(self.env.clock.time)
        self.count_demand(size_bytes, 1, ((shard.slot, size_bytes),))
        return self.write_budget.try_take(shard.slot, size_bytes)

    def offer_counts(self, slots: np.ndarray, counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`offer` for the scenario runner: ``counts[i]`` records of ``sizes[i]``
        bytes to the shard in slot ``slots[i]``, served in order. Returns accepted counts."""
        self.write_budget.refill(self.env.clock.time)
        offered_bytes = counts * sizes
        per_slot = (enumerate(np.bincount(slots, weights=offered_bytes, minlength=len(self.shards_by_slot)).tolist())
                    if self.scaler is not None else None)
        self.count_demand(float(offered_bytes.sum()), float(counts.sum()), per_slot)
        return self.write_budget.take_counts(slots, counts, sizes)

    def offer_layers(self, counts: np.ndarray, size_bytes: np.ndarray) -> np.ndarray:
        """:meth:`offer_counts` with dense layers: ``counts[layer, slot]`` records of
        ``size_bytes[layer]`` bytes for every shard slot, layers served in order. Returns the
        accepted counts, same shape."""
        self.write_budget.refill(self.env.clock.time)
        offered_bytes = counts.T @ size_bytes
        self.count_demand(float(offered_bytes.sum()), float(counts.sum()), enumerate(offered_bytes.tolist()))
        return self.write_budget.take_layers(counts, size_bytes)

    def store(self, shard: Shard, partition_key: str, data: bytes, size_bytes: int) -> Record:
        """Append an accepted record to its shard and give it a sequence number."""
        record = Record(sequence_text=self.next_sequence_text(shard), data=data, partition_key=partition_key,
                        arrival_seconds=self.env.clock.time, size_bytes=size_bytes)
        shard.append(record)
        return record

    # ------------------------------------------------------------------ writes, a batch at a time
    # route_many, offer_many and store_many do for a whole batch (one PutRecords call) exactly what
    # route, offer and store do record by record, in the same order -- same shards, answers, token
    # counts, demand, sequence numbers and stored records -- with the per-record loops in C (map, itemgetter,
    # numpy) and the per-call work (refills, demand roll, sequence-number prefixes) done once.

    def _routing_ends(self) -> tuple[list[Shard], np.ndarray, np.ndarray, list[bytes]]:
        """Open shards by starting hash key and their ending hash keys: the high and low 64-bit
        halves (uint64 arrays), and the whole keys as 16 big-endian bytes."""
        routing = self._routing_table()
        if self._routing_ends_cache is None or self._routing_ends_cache[0] is not routing:
            ends = [s.hash_key_range.ending for s in routing[1]]
            self._routing_ends_cache = (routing, np.array([e >> 64 for e in ends], dtype=np.uint64),
                                        np.array([e & (2**64 - 1) for e in ends], dtype=np.uint64),
                                        [hash_key_bytes(e) for e in ends])
        return routing[1], *self._routing_ends_cache[1:]

    def route_many(self, encoded_keys: list[bytes],
                   explicit_hash_keys: list[int | None] | None = None) -> tuple[list[Shard], np.ndarray]:
        """:meth:`route` for a batch: ``(shards, positions)``, record i going to
        ``shards[positions[i]]`` (``positions`` is an integer array). ``encoded_keys`` are the
        partition keys in UTF-8; ``explicit_hash_keys`` (if given) holds record i's explicit hash
        key or None."""
        opened, ends_high, ends_low, ends = self._routing_ends()
        if self.record_distribution == "AUTO":
            # One draw per record, in order: the same random stream as route().
            draw = self.env.rng.integers
            return opened, np.array([int(draw(len(opened))) for _ in encoded_keys], dtype=np.intp)
        joined = joined_hash_keys(encoded_keys)
        if explicit_hash_keys is not None:
            joined = bytearray(joined)
            for i, explicit in enumerate(explicit_hash_keys):
                if explicit is not None:
                    joined[HASH_KEY_BYTES * i:HASH_KEY_BYTES * (i + 1)] = hash_key_bytes(explicit)
        halves = np.frombuffer(joined, dtype=">u8")
        high, low = halves[0::2], halves[1::2]
        # Open shards cover the key space in order with no gaps: a key belongs to the first shard
        # whose ending key is not below it. Compare the high halves first; where a key's high half
        # equals that shard's ending key's, the low halves decide, and a key above that end moves
        # on to the next shard(s): those few are placed exactly, by bisecting the whole keys.
        positions = ends_high.searchsorted(high, side="left")
        for i in (ends_high[positions] == high).nonzero()[0].tolist():
            if low[i] > ends_low[positions[i]]:
                positions[i] = bisect.bisect_left(ends, bytes(joined[HASH_KEY_BYTES * i:HASH_KEY_BYTES * (i + 1)]))
        return opened, positions

    def offer_many(self, shards: list[Shard], positions: np.ndarray, sizes: list[int],
                   size_if_uniform: int | None = None) -> Admission:
        """:meth:`offer` for a batch: record i, of ``sizes[i]`` bytes, to ``shards[positions[i]]``,
        asked in batch order; counts demand whatever the answers. ``size_if_uniform`` (optional)
        says every record has that size.

        A shard whose buckets hold the whole of its part of the batch admits it at once (record by
        record, every request would succeed); any other shard is served one record at a time, in
        batch order, so it refuses exactly the records :meth:`offer` would refuse. Token counts
        and sizes are whole numbers far below 2**53, so subtracting a sum leaves the same float as
        subtracting its terms one by one.
        """
        budget = self.write_budget
        budget.refill(self.env.clock.time)
        count = len(positions)
        offered_records = np.bincount(positions, minlength=len(shards)).tolist()
        if size_if_uniform is not None:
            offered_bytes = [records * size_if_uniform for records in offered_records]
        else:
            weights = np.fromiter(sizes, dtype=np.float64, count=count)
            offered_bytes = [int(b) for b in np.bincount(positions, weights=weights, minlength=len(shards))]
        self.count_demand(sum(offered_bytes), count,
                          ((shard.slot, size) for shard, size in zip(shards, offered_bytes)))
        records_tokens, bytes_tokens = budget.records_tokens, budget.bytes_tokens
        short: list[int] = []
        for position, shard in enumerate(shards):
            records, size = offered_records[position], offered_bytes[position]
            if not records:
                continue
            slot = shard.slot
            # (A shard's buckets are read as Python floats and written back once: cheaper than
            # numpy's scalar arithmetic for the handful of shards of a call.)
            record_tokens, byte_tokens = records_tokens.item(slot), bytes_tokens.item(slot)
            if record_tokens >= records and byte_tokens >= size:
                records_tokens[slot] = record_tokens - records
                bytes_tokens[slot] = byte_tokens - size
            else:
                short.append(position)
        throttled = [0] * len(shards)
        if not short:
            return Admission(None, offered_records, offered_bytes, throttled)
        accepted = [True] * count
        take = budget.try_take
        for position in short:
            slot = shards[position].slot
            offered_records[position] = offered_bytes[position] = 0
            for i in np.flatnonzero(positions == position).tolist():
                if take(slot, sizes[i]):
                    offered_records[position] += 1
                    offered_bytes[position] += sizes[i]
                else:
                    accepted[i] = False
                    throttled[position] += 1
        return Admission(accepted, offered_records, offered_bytes, throttled)

    def store_many(self, shards: list[Shard], positions: np.ndarray, partition_keys: Sequence[str],
                   data: Sequence[bytes], sizes: Sequence[int], size_if_uniform: int | None = None,
                   per_shard: list[int] | None = None) -> list[str]:
        """:meth:`store` for a batch of accepted records, in order: record i goes to
        ``shards[positions[i]]`` (``positions``: an integer array). Returns their sequence numbers
        (decimal strings), in batch order. Optional: ``size_if_uniform`` says every record has
        that size; ``per_shard`` holds how many records go to each shard."""
        count = len(positions)
        if not count:
            return []
        now = self.env.clock.time
        second = int(now)
        texts = sequence_texts([shard.sequence_prefix(second) for shard in shards], positions,
                               self._sequence_counter + 1)
        self._sequence_counter += count
        # Each shard's records, in batch order, are gathered in C (an itemgetter over the shard's
        # batch positions) and appended to its columns.
        if per_shard is None:
            per_shard = np.bincount(positions, minlength=len(shards)).tolist()
        uniform_sizes = None if size_if_uniform is None else [size_if_uniform]
        # The batch positions sorted by shard (stably, so each shard's stay in batch order).
        by_shard = positions.argsort(kind="stable").tolist() if max(per_shard) < count else None
        start = 0
        for shard, records in zip(shards, per_shard):
            if not records:
                continue
            if records == count:  # the whole batch
                shard.add_records(now, texts, data, partition_keys,
                                  sizes if uniform_sizes is None else uniform_sizes * records)
                continue
            where = by_shard[start:start + records]
            start += records
            gather = itemgetter(*where) if records > 1 else lambda column: (column[where[0]],)
            shard.add_records(now, gather(texts), gather(data), gather(partition_keys),
                              gather(sizes) if uniform_sizes is None else uniform_sizes * records)
        return texts

    def put_many(self, partition_keys: list[str], encoded_keys: list[bytes], data: list[bytes], sizes: list[int],
                 explicit_hash_keys: list[int | None] | None = None, size_if_uniform: int | None = None,
                 ) -> tuple[list[Shard], np.ndarray, Admission, list[str]]:
        """Route, offer and store a batch (what PutRecords does once the request is valid).

        Returns ``(shards, positions, admission, sequence numbers of the accepted records)``:
        record i went to ``shards[positions[i]]``.
        """
        shards, positions = self.route_many(encoded_keys, explicit_hash_keys)
        admission = self.offer_many(shards, positions, sizes, size_if_uniform)
        accepted = admission.accepted
        stored = positions
        if accepted is not None:  # some were throttled: store the others
            stored = positions[np.array(accepted, dtype=bool)]
            partition_keys, data, sizes = (list(compress(column, accepted)) for column in (partition_keys, data, sizes))
        texts = self.store_many(shards, stored, partition_keys, data, sizes, size_if_uniform, admission.accepted_records)
        return shards, positions, admission, texts

    # ------------------------------------------------------------------ resharding
    def apply_split(self, parent: Shard, new_starting_hash_key: int) -> tuple[Shard, Shard]:
        """Close ``parent`` and open its two children (no checks: callers validate first)."""
        self.usage.account_time()
        low, high = parent.hash_key_range.split_at(new_starting_hash_key)
        self._close(parent)
        children = (self._new_shard(low, parent=parent.shard_id), self._new_shard(high, parent=parent.shard_id))
        parent.child_shard_ids = [c.shard_id for c in children]
        return children

    def apply_merge(self, first: Shard, second: Shard) -> Shard:
        """Close two adjacent shards and open their merged child (no checks)."""
        self.usage.account_time()
        lower, upper = sorted((first, second), key=lambda s: s.hash_key_range.starting)
        self._close(first)
        self._close(second)
        child = self._new_shard(HashKeyRange(lower.hash_key_range.starting, upper.hash_key_range.ending),
                                parent=first.shard_id, adjacent_parent=second.shard_id)
        first.child_shard_ids = [child.shard_id]
        second.child_shard_ids = [child.shard_id]
        return child

    def _close(self, shard: Shard) -> None:
        self._sequence_counter += 1
        now = self.env.clock.time
        shard.ending_sequence_number = make_sequence_number(
            int(shard.created_seconds), shard.index, self._sequence_counter, int(now))
        shard.closed_seconds = now
        self._routing = None
        self.topology_version += 1

    def validate_split(self, shard_id: str, new_starting_hash_key: int) -> Shard:
        self.require_provisioned("SplitShard")
        self.require_status("ACTIVE")
        shard = self.get_shard(shard_id)
        if not shard.is_open:
            raise ServiceError("InvalidArgumentException",
                               f"Shard {shard_id} in stream {self.name} under account {self.env.account_id} "
                               f"has already been merged or split, and thus is not eligible for merging or splitting.")
        rng = shard.hash_key_range
        if not (rng.starting + 1 <= new_starting_hash_key <= rng.ending):
            raise ServiceError("InvalidArgumentException",
                               f"NewStartingHashKey {new_starting_hash_key} used in SplitShard() on shard {shard_id} "
                               f"in stream {self.name} under account {self.env.account_id} is not both greater than "
                               f"one plus the shard's StartingHashKey {rng.starting} and less than the shard's "
                               f"EndingHashKey {rng.ending}.")
        self.env.require_shard_quota(1)
        return shard

    def validate_merge(self, shard_id: str, adjacent_shard_id: str) -> tuple[Shard, Shard]:
        self.require_provisioned("MergeShards")
        self.require_status("ACTIVE")
        first, second = self.get_shard(shard_id), self.get_shard(adjacent_shard_id)
        for shard in (first, second):
            if not shard.is_open:
                raise ServiceError("InvalidArgumentException",
                                   f"Shard {shard.shard_id} in stream {self.name} under account {self.env.account_id} "
                                   f"has already been merged or split, and thus is not eligible for merging or splitting.")
        if shard_id == adjacent_shard_id or not first.hash_key_range.adjacent_to(second.hash_key_range):
            raise ServiceError("InvalidArgumentException",
                               f"Shards {shard_id} and {adjacent_shard_id} in stream {self.name} under account "
                               f"{self.env.account_id} are not an adjacent pair of shards eligible for merging")
        return first, second

    def require_provisioned(self, operation: str) -> None:
        if self.mode != "PROVISIONED":
            raise ServiceError("ValidationException",
                               f"{operation} is only supported for data streams with the provisioned capacity mode. "
                               f"Stream {self.name} under account {self.env.account_id} is ON_DEMAND.")

    def validate_update_shard_count(self, target: int) -> None:
        limits = self.env.limits
        self.require_provisioned("UpdateShardCount")
        self.require_status("ACTIVE")
        current = len(self.open_shards())
        now = self.env.clock.time
        recent = [t for t in self.update_shard_count_times if t > now - DAY_SECONDS]
        if len(recent) >= limits.update_shard_count_calls_per_24h:
            raise ServiceError("LimitExceededException",
                               f"Stream {self.name} under account {self.env.account_id} has already been scaled "
                               f"{len(recent)} times in the last 24 hours; the limit is "
                               f"{limits.update_shard_count_calls_per_24h} per rolling 24-hour period.")
        if target > current * limits.update_shard_count_max_factor:
            raise ServiceError("LimitExceededException",
                               f"UpdateShardCount cannot scale stream {self.name} above "
                               f"{int(current * limits.update_shard_count_max_factor)} shards (double its "
                               f"{current} open shards) in one call; requested {target}.")
        if target * limits.update_shard_count_max_factor < current:
            raise ServiceError("LimitExceededException",
                               f"UpdateShardCount cannot scale stream {self.name} below "
                               f"{math.ceil(current / limits.update_shard_count_max_factor)} shards (half its "
                               f"{current} open shards) in one call; requested {target}.")
        if target > limits.update_shard_count_max_shards:
            raise ServiceError("LimitExceededException",
                               f"UpdateShardCount cannot scale stream {self.name} above "
                               f"{limits.update_shard_count_max_shards} shards.")
        self.env.require_shard_quota(max(0, target - current))

    def apply_uniform_scaling(self, target: int) -> None:
        """Reach ``target`` evenly sized open shards by splits then merges, as the service does
        (short-lived intermediate shards included)."""
        current = self.open_shards()
        existing_starts = {s.hash_key_range.starting for s in current}
        tolerance = (2**128 // target) // 1_000_000
        boundaries = []
        for hash_range in even_split(target)[1:]:
            near = [b for b in existing_starts if abs(b - hash_range.starting) <= tolerance]
            boundaries.append(near[0] if near else hash_range.starting)
        for boundary in boundaries:
            shard = self.shard_for_hash_key(boundary)
            if shard.hash_key_range.starting != boundary:
                self.apply_split(shard, boundary)
        starts = [0] + boundaries
        ends = [b - 1 for b in boundaries] + [2**128 - 1]
        for start, end in zip(starts, ends):
            pieces = [s for s in self.open_shards() if start <= s.hash_key_range.starting <= end]
            merged = pieces[0]
            for piece in pieces[1:]:
                merged = self.apply_merge(merged, piece)

    # ------------------------------------------------------------------ capacity mode
    def switch_mode(self, mode: str) -> None:
        self.usage.account_time()
        self.mode = mode
        self.scaler = OnDemandScaler(self) if mode == "ON_DEMAND" else None
        # Demand per shard is kept only while on demand: a new scaler has seen none.
        self._shard_demand_bytes.clear()
        self.demand_since_scaling.clear()

