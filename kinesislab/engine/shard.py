"""A shard: its hash key range, lineage, state, and the records it holds."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property

from kinesislab.engine.hashing import HashKeyRange


def shard_id_for(index: int) -> str:
    """``shardId-`` plus the 12-digit zero-padded stream-wide index (facts §2)."""
    return f"shardId-{index:012d}"


@dataclass(slots=True)
class Record:
    """One stored record. ``size_bytes`` is data plus partition key (UTF-8), what the limits count."""

    sequence_number: int
    data: bytes
    partition_key: str
    arrival_seconds: float
    size_bytes: int
    explicit_hash_key: int | None = None


@dataclass
class Shard:
    """A shard of a stream.

    ``slot`` is its position in the stream's budget arrays. Records are kept in arrival order in
    ``records``; ``first_position`` is the stream-lifetime ordinal of ``records[0]`` so that
    positions stay stable while expired records are dropped from the front.
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
    records: list[Record] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    sequence_numbers: list[int] = field(default_factory=list)
    first_position: int = 0

    @cached_property
    def shard_id(self) -> str:
        return shard_id_for(self.index)

    @property
    def is_open(self) -> bool:
        return self.ending_sequence_number is None

    @property
    def end_position(self) -> int:
        """The position just after the newest record."""
        return self.first_position + len(self.records)

    def append(self, record: Record) -> None:
        self.records.append(record)
        self.arrivals.append(record.arrival_seconds)
        self.sequence_numbers.append(record.sequence_number)

    def trim_before(self, cutoff_seconds: float) -> None:
        """Drop records that arrived before ``cutoff_seconds`` (retention), keeping positions stable."""
        drop = bisect.bisect_left(self.arrivals, cutoff_seconds)
        if drop:
            del self.records[:drop]
            del self.arrivals[:drop]
            del self.sequence_numbers[:drop]
            self.first_position += drop

    def position_at_sequence(self, sequence_number: int, after: bool) -> int:
        """Position of the first record at (or after) ``sequence_number``."""
        if after:
            return self.first_position + bisect.bisect_right(self.sequence_numbers, sequence_number)
        return self.first_position + bisect.bisect_left(self.sequence_numbers, sequence_number)

    def position_at_time(self, at_seconds: float) -> int:
        """Position of the first record that arrived at or after ``at_seconds``."""
        return self.first_position + bisect.bisect_left(self.arrivals, at_seconds)

    def records_from(self, position: int, max_records: int, max_bytes: int) -> list[Record]:
        """Up to ``max_records`` records from ``position`` whose total size stays within
        ``max_bytes`` (at least one record if any is there)."""
        start = max(position, self.first_position) - self.first_position
        out: list[Record] = []
        total = 0
        for record in self.records[start:start + max_records]:
            if out and total + record.size_bytes > max_bytes:
                break
            out.append(record)
            total += record.size_bytes
        return out

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
