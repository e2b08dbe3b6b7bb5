"""A shard: its hash key range, lineage, state, and the records it holds."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import Iterator, NamedTuple, Sequence

from kinesislab.engine.hashing import HashKeyRange
from kinesislab.engine.sequence import SEQUENCE_DIGITS, sequence_prefix


def shard_id_for(index: int) -> str:
    """``shardId-`` plus the 12-digit zero-padded stream-wide index (facts §2)."""
    return f"shardId-{index:012d}"


class Record(NamedTuple):
    """One stored record. ``size_bytes`` is data plus partition key (UTF-8), what the limits count."""

    sequence_text: str
    data: bytes
    partition_key: str
    arrival_seconds: float
    size_bytes: int

    @property
    def sequence_number(self) -> int:
        """The sequence number as an integer (responses carry :attr:`sequence_text`)."""
        return int(self.sequence_text)


class ShardRead(NamedTuple):
    """What a read of a shard covers: ``count`` records from ``position``, ``size_bytes`` in all."""

    position: int
    count: int
    size_bytes: int


@dataclass
class Shard:
    """A shard of a stream.

    ``slot`` is its position in the stream's budget arrays. The records are kept in arrival
    order as parallel columns -- ``sequence_texts``, ``data``, ``partition_keys``, ``sizes`` --
    so a batch is added with one ``extend`` per column and a read is one slice per column, with
    no object per record (and nothing new for the garbage collector to scan: the columns are a
    few long lists). Arrival times are kept per run of records that arrived at the same instant
    (one run per call). (Explicit hash keys only route a record; nothing reads them back.)
    ``first_position`` is the stream-lifetime ordinal of the oldest record kept, so positions
    stay stable while expired records are dropped from the front. Arrival times and sequence
    numbers rise along the columns, so lookups by either are bisections.
    """

    index: int
    slot: int
    hash_key_range: HashKeyRange
    created_seconds: float
    starting_sequence_number: int
    parent_shard_id: str | None = None
    adjacent_parent_shard_id: str | None = None
    ending_sequence_number: int | None = None
    closed_seconds: float | None = None
    child_shard_ids: list[str] = field(default_factory=list)
    #: The records' columns, oldest first: sequence numbers (decimal strings), data, partition
    #: keys, sizes (bytes, data plus UTF-8 key).
    sequence_texts: list[str] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)
    partition_keys: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    first_position: int = 0
    # Runs of records that arrived at the same instant: first position and arrival time (epoch s).
    _run_starts: list[int] = field(default_factory=list, repr=False)
    _run_arrivals: list[float] = field(default_factory=list, repr=False)
    #: (whole second, sequence-number prefix for it), the last one built
    _prefix: tuple[int, str] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def shard_id(self) -> str:
        return shard_id_for(self.index)

    def sequence_prefix(self, record_seconds: int) -> str:
        """The first digits of the sequence numbers of this shard's records stamped in whole
        second ``record_seconds`` (kept for the second, as calls in one second share it)."""
        if self._prefix is None or self._prefix[0] != record_seconds:
            self._prefix = (record_seconds, sequence_prefix(int(self.created_seconds), self.index, record_seconds))
        return self._prefix[1]

    @property
    def is_open(self) -> bool:
        return self.ending_sequence_number is None

    @property
    def end_position(self) -> int:
        """The position just after the newest record."""
        return self.first_position + len(self.sequence_texts)

    @property
    def oldest_arrival(self) -> float | None:
        """Arrival time (epoch seconds) of the oldest record kept, None if there is none."""
        return self._run_arrivals[0] if self._run_arrivals else None

    @property
    def records(self) -> list[Record]:
        """The stored records, oldest first (a new list of :class:`Record`, for inspection)."""
        return [self.record_at(position) for position in range(self.first_position, self.end_position)]

    # ------------------------------------------------------------------ writing
    def add_records(self, arrival_seconds: float, sequence_texts: Sequence[str], data: Sequence[bytes],
                    partition_keys: Sequence[str], sizes: Sequence[int]) -> None:
        """Add records that arrived at ``arrival_seconds``, one sequence per field (all of the
        same length)."""
        start = self.end_position
        if not self._run_arrivals or self._run_arrivals[-1] != arrival_seconds:
            self._run_starts.append(start)
            self._run_arrivals.append(arrival_seconds)
        self.sequence_texts += sequence_texts
        self.data += data
        self.partition_keys += partition_keys
        self.sizes += sizes

    def append(self, record: Record) -> None:
        self.add_records(record.arrival_seconds, (record.sequence_text,), (record.data,), (record.partition_key,),
                         (record.size_bytes,))

    # ------------------------------------------------------------------ finding records
    def arrival_at(self, position: int) -> float:
        """Arrival time of the (kept) record at ``position``."""
        return self._run_arrivals[bisect.bisect_right(self._run_starts, position) - 1]

    def record_at(self, position: int) -> Record | None:
        """The record at ``position``, or None if it has expired or is not written yet."""
        offset = position - self.first_position
        if not 0 <= offset < len(self.sequence_texts):
            return None
        return Record(self.sequence_texts[offset], self.data[offset], self.partition_keys[offset],
                      self.arrival_at(position), self.sizes[offset])

    def trim_before(self, cutoff_seconds: float) -> None:
        """Drop records that arrived before ``cutoff_seconds`` (retention), keeping positions stable."""
        runs = bisect.bisect_left(self._run_arrivals, cutoff_seconds)
        if not runs:
            return
        keep_from = self._run_starts[runs] if runs < len(self._run_starts) else self.end_position
        drop = keep_from - self.first_position
        for column in (self.sequence_texts, self.data, self.partition_keys, self.sizes):
            del column[:drop]
        del self._run_starts[:runs], self._run_arrivals[:runs]
        self.first_position = keep_from

    def position_at_sequence(self, sequence_number: int, after: bool) -> int:
        """Position of the first record at (or after) ``sequence_number``, one of ours (of
        SEQUENCE_DIGITS digits: callers check with ``sequence.shard_index_of``)."""
        text = str(sequence_number)
        if len(text) != SEQUENCE_DIGITS:
            raise ValueError(f"not a sequence number of this engine: {sequence_number}")
        find = bisect.bisect_right if after else bisect.bisect_left
        # All of ours have SEQUENCE_DIGITS digits, so comparing the strings compares the numbers.
        return self.first_position + find(self.sequence_texts, text)

    def position_at_time(self, at_seconds: float) -> int:
        """Position of the first record that arrived at or after ``at_seconds``."""
        run = bisect.bisect_left(self._run_arrivals, at_seconds)
        return self._run_starts[run] if run < len(self._run_starts) else self.end_position

    def read(self, position: int, max_records: int, max_bytes: int) -> ShardRead:
        """Up to ``max_records`` records from ``position`` whose total size stays within
        ``max_bytes`` (at least one record if any is there)."""
        position = max(position, self.first_position)
        start = position - self.first_position
        sizes = self.sizes[start:start + max_records]
        total = sum(sizes)
        if total <= max_bytes:
            return ShardRead(position, len(sizes), total)
        # The running size total rises, so the cut is a bisection (the sums are computed in C).
        running = list(accumulate(sizes))
        count = max(bisect.bisect_right(running, max_bytes), 1)
        return ShardRead(position, count, running[count - 1])

    def runs(self, position: int, count: int) -> Iterator[tuple[float, int, int]]:
        """``(arrival time, first offset, stop offset)`` into the columns for each run of equal
        arrival times among the ``count`` records from ``position``."""
        stop = position + count
        run = bisect.bisect_right(self._run_starts, position) - 1
        while position < stop:
            run_stop = self._run_starts[run + 1] if run + 1 < len(self._run_starts) else stop
            end = min(run_stop, stop)
            yield self._run_arrivals[run], position - self.first_position, end - self.first_position
            position = end
            run += 1

    def as_response(self) -> dict:
        """The botocore ``Shard`` shape."""
        shard: dict = {"ShardId": self.shard_id}
        if self.parent_shard_id:
            shard["ParentShardId"] = self.parent_shard_id
        if self.adjacent_parent_shard_id:
            shard["AdjacentParentShardId"] = self.adjacent_parent_shard_id
        shard["HashKeyRange"] = self.hash_key_range.as_response()
        shard["SequenceNumberRange"] = {"StartingSequenceNumber": str(self.starting_sequence_number)}
        if self.ending_sequence_number is not None:
            shard["SequenceNumberRange"]["EndingSequenceNumber"] = str(self.ending_sequence_number)
        return shard
