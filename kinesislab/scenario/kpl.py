"""A KPL-style producer at count granularity: aggregation, RecordMaxBufferedTime and RateLimit.

Per shard, user records collect for ``record_max_buffered_time`` (100 ms by default), then leave
as Kinesis records: several user records packed into one aggregated record of at most
``aggregation_max_size`` bytes (51,200), or a lone user record sent raw. The KPL never sends a
shard more than ``rate_limit_percent`` (150 %) of its limit; what does not fit, and what the
stream throttles, waits in the KPL's buffer and is retried until ``record_ttl`` (30 s) expires it.
Sizes follow the aggregated format of facts §11 (``kinesislab.producers.aggregation``).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from kinesislab.scenario.model import KplSettings

#: 4-byte magic plus the 16-byte MD5 trailer of the aggregated format (facts §11).
AGGREGATION_OVERHEAD_BYTES = 20


def _varint_bytes(value: int) -> int:
    return max(1, (int(value).bit_length() + 6) // 7)


def record_entry_bytes(data_bytes: int, partition_key_bytes: int, key_index: int = 1000) -> int:
    """Bytes one user record adds to an aggregate: its ``Record`` message (key index + data) and
    its partition key's entry in the key table, each with protobuf tag and length prefixes."""
    record = (1 + _varint_bytes(key_index)) + (1 + _varint_bytes(data_bytes) + data_bytes)
    return (1 + _varint_bytes(record) + record) + (1 + _varint_bytes(partition_key_bytes) + partition_key_bytes)


class KplBatcher:
    """Turns user records per shard into Kinesis records per shard, tick by tick."""

    def __init__(self, settings: KplSettings, user_record_bytes: float, partition_key_bytes: int):
        self.settings = settings
        self.user_data_bytes = float(user_record_bytes)
        self.partition_key_bytes = int(partition_key_bytes)
        # Every user record carries its own key in the aggregate's key table (distinct keys).
        self.per_user_bytes = record_entry_bytes(int(round(user_record_bytes)), self.partition_key_bytes)
        max_size = settings.aggregation_max_size
        self.users_per_aggregate = max(1, int((max_size - AGGREGATION_OVERHEAD_BYTES - 1) // self.per_user_bytes)) \
            if settings.aggregation else 1
        #: per slot: deque of (tick created, user records) waiting in the KPL buffer
        self.backlog: dict[int, deque] = {}
        #: per slot: the (tick created, user records) pieces :meth:`plan` took this tick, oldest first
        self._taken: dict[int, list] = {}

    @property
    def raw_record_bytes(self) -> float:
        """Size of a lone user record sent without aggregation (data + its key)."""
        return self.user_data_bytes + self.partition_key_bytes

    def aggregate_bytes(self, users: float) -> float:
        """Size of one Kinesis record holding ``users`` user records (partition key "a" included)."""
        if users <= 1 or not self.settings.aggregation:
            return self.raw_record_bytes
        return AGGREGATION_OVERHEAD_BYTES + users * self.per_user_bytes + 1

    def add(self, tick: int, slots: np.ndarray, users: np.ndarray) -> None:
        for slot, count in zip(slots, users):
            if count:
                self.backlog.setdefault(int(slot), deque()).append([tick, int(count)])

    def expire(self, tick: int, resolution: float) -> int:
        """Drop user records older than RecordTtl; returns how many expired."""
        oldest_allowed = tick - math.ceil(self.settings.record_ttl / resolution)
        expired = 0
        for queue in self.backlog.values():
            while queue and queue[0][0] < oldest_allowed:
                expired += queue.popleft()[1]
        return expired

    def buffered(self) -> int:
        return sum(count for queue in self.backlog.values() for _, count in queue)

    def plan(self, resolution: float, shard_records_per_second: float, shard_bytes_per_second: float):
        """What to send this tick: (slots, kinesis records, bytes each, user records per kinesis record).

        The user records planned are taken out of the backlog; :meth:`give_back` returns the
        ones the stream throttled.
        """
        windows = max(1, int(round(resolution / self.settings.record_max_buffered_time)))
        cap = self.settings.rate_limit_percent / 100.0
        slots, records, sizes, per_record = [], [], [], []
        self._taken = {}
        for slot, queue in self.backlog.items():
            users = sum(count for _, count in queue)
            if users == 0:
                continue
            if users >= windows:
                per_window = users / windows
                k_per_window = math.ceil(per_window / self.users_per_aggregate)
                users_each = per_window / k_per_window
                kinesis = windows * k_per_window
            else:
                users_each, kinesis = 1.0, users
            size = float(math.ceil(self.aggregate_bytes(users_each)))  # whole bytes
            limit = math.floor(min(cap * shard_records_per_second * resolution,
                                   cap * shard_bytes_per_second * resolution / size))
            send = max(0, min(kinesis, limit))
            if send == 0:
                continue
            take = min(users, int(round(send * users_each)))
            self._taken[slot] = self._take(queue, take)
            slots.append(slot)
            records.append(send)
            sizes.append(size)
            per_record.append(take / send)
        return (np.array(slots, dtype=np.int64), np.array(records, dtype=np.int64),
                np.array(sizes, dtype=float), np.array(per_record, dtype=float))

    @staticmethod
    def _take(queue: deque, count: int) -> list:
        """Take ``count`` user records from the front (oldest first); returns the pieces taken."""
        taken = []
        while count and queue:
            if queue[0][1] <= count:
                piece = queue.popleft()
                count -= piece[1]
                taken.append(piece)
            else:
                queue[0][1] -= count
                taken.append([queue[0][0], count])
                count = 0
        return taken

    def remap_slots(self, closed_to_children: dict[int, list[tuple[int, float]]]) -> None:
        """After a reshard, user records buffered for a closed shard follow their keys to its
        children (split by the children's key shares, oldest first as before)."""
        for slot, children in closed_to_children.items():
            queue = self.backlog.get(slot)
            if not children or not queue:
                continue
            del self.backlog[slot]
            shares = np.array([share for _, share in children], float)
            shares = shares / shares.sum() if shares.sum() > 0 else np.full(len(shares), 1 / len(shares))
            for created, count in queue:
                parts = np.floor(count * shares).astype(np.int64)
                parts[int(np.argmax(shares))] += count - int(parts.sum())
                for (child, _), part in zip(children, parts):
                    if part:
                        self.backlog.setdefault(int(child), deque()).append([created, int(part)])
            for child, _ in children:
                if child in self.backlog:
                    self.backlog[child] = deque(sorted(self.backlog[child], key=lambda entry: entry[0]))

    def give_back(self, tick: int, slot: int, users: int) -> None:
        """Throttled user records go back to the front of the buffer (the KPL retries them).

        They keep the tick they were created in, so RecordTtl still counts from the original
        put (the KPL expires a record ``record_ttl`` after the application added it, however
        often it was retried). The newest of the records taken this tick are the ones returned;
        ``tick`` is used only for records :meth:`plan` did not take (not expected).
        """
        if not users:
            return
        queue = self.backlog.setdefault(int(slot), deque())
        pieces = self._taken.get(int(slot), [])
        users = int(users)
        returned = []
        while users and pieces:
            created, count = pieces[-1]
            back = min(count, users)
            returned.append([created, back])
            users -= back
            if back == count:
                pieces.pop()
            else:
                pieces[-1] = [created, count - back]
        if users:
            returned.append([tick, users])
        for piece in returned:  # newest first, so the queue stays oldest first
            queue.appendleft(piece)
