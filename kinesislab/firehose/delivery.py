"""The Firehose delivery engine: one delivery stream, from ingestion to delivered S3 objects.

Path of a record, all in virtual time:

1. It arrives by Direct PUT (the client calls :meth:`DeliveryStream.ingest`) or is read from a
   Kinesis data stream (:class:`~kinesislab.firehose.source.KinesisSource`, once per second per
   shard). Its *arrival* is the PutRecord time, or the Kinesis ``ApproximateArrivalTimestamp``.
2. With a transformation, it waits in the Lambda buffer (default 1 MiB / 60 s, whichever first);
   the function then runs on the batch: ``Ok`` records continue with their new data, ``Dropped``
   ones stop, failed ones are written under the error prefix at once.
3. It waits in the destination buffer: a delivery happens at the first of ``SizeInMBs`` MiB
   buffered (at that instant) or ``IntervalInSeconds`` after the first record entered the empty
   buffer (a clock callback). The object holds the records' bytes back to back (no delimiters,
   as Firehose writes them), GZIP-compressed if asked.

The destination buffer holds :class:`RecordRun` items: records with the same data that arrived
at the same instant, booked together. A record put on its own is a run of one; a batch of equal
Direct PUT records (:meth:`DeliveryStream.accept_direct_puts`, e.g. a steady workload's second)
is one run, cut where a size flush falls (:meth:`~kinesislab.firehose.buffer.TimedBuffer.add_run`),
so a file costs one object whatever the number of records in it.

``deliveries_frame()`` lists what was delivered; ``usage()`` is what Firehose bills.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid
from dataclasses import dataclass
from functools import partial
from itertools import chain, groupby, repeat
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kinesislab.firehose.buffer import TimedBuffer
from kinesislab.firehose.quota import DirectPutQuota
from kinesislab.firehose.sink import DeliveredObject, MemorySink, Sink, object_key
from kinesislab.firehose.source import KinesisSource
from kinesislab.firehose.transform import LambdaTransform
from kinesislab.limits import MiB
from kinesislab.pricing import Prices, firehose_billed_bytes, firehose_ingest_cost

if TYPE_CHECKING:
    from kinesislab.simulator import Simulator

DIRECT_PUT = "DirectPut"
KINESIS_SOURCE = "KinesisStreamAsSource"
COMPRESSIONS = {"UNCOMPRESSED": "", "GZIP": ".gz"}

#: Columns of :meth:`DeliveryStream.deliveries_frame` (times are tz-aware UTC, durations seconds).
DELIVERY_COLUMNS = ["key", "delivered_at", "bytes", "records", "first_arrival", "last_arrival",
                    "latency_seconds", "mean_latency_seconds", "trigger"]


@dataclass(frozen=True)
class BufferingHints:
    """S3 buffering hints: deliver at ``size_mib`` MiB or ``interval_seconds`` s, whichever comes first."""

    size_mib: int = 5
    interval_seconds: int = 300


def lambda_record_id(serial: int) -> str:
    """The Lambda recordId of a stream's ``serial``-th record. On AWS they are long digit strings;
    this one is unique per stream and deterministic: str(10**55 + serial), written as "1" and 55
    zero-padded digits because formatting a small int is several times cheaper than printing a
    56-digit one."""
    return f"1{serial:055d}"


@dataclass(slots=True)  # slots: created once per record, often tens of thousands per run
class FirehoseRecord:
    """A record waiting for the Lambda transformation. ``arrival`` is epoch seconds; ``record_id``
    is its Lambda recordId. (The destination buffer holds :class:`RecordRun` items.)"""

    data: bytes
    arrival: float
    record_id: str
    kinesis_metadata: dict | None = None


@dataclass(slots=True)
class RecordRun:
    """What the destination buffer holds: ``count`` records with the same ``data`` that arrived
    at ``arrival`` (epoch s), in order. A record on its own is a run of one."""

    data: bytes
    arrival: float
    count: int = 1


def _payload_runs(payloads) -> list[tuple[bytes, int]]:
    """Consecutive equal payloads as (bytes, how many), in order."""
    if not isinstance(payloads, (list, tuple)):
        payloads = list(payloads)
    if not payloads:
        return []
    if payloads.count(payloads[0]) == len(payloads):  # the common case: one payload repeated
        return [(bytes(payloads[0]), len(payloads))]
    return [(bytes(data), sum(1 for _ in group)) for data, group in groupby(payloads)]


def _arrival_stats(runs: list[RecordRun], records: int) -> tuple[float, float, float]:
    """First, last and mean arrival of the records in ``runs`` -- the mean exactly as ``sum()``
    of every record's arrival, one by one, divided by ``records``: computed in integers when
    every arrival is a whole, non-negative second and the total stays below 2**53 (then every
    partial float sum is exact, so any order gives the same float), else one by one."""
    if len(runs) == 1:
        first = last = runs[0].arrival
    else:
        first = min(run.arrival for run in runs)
        last = max(run.arrival for run in runs)
    total = 0
    for run in runs:
        arrival = run.arrival
        if not arrival >= 0 or arrival % 1:  # also NaN and infinities
            break
        total += int(arrival) * run.count
    else:
        if total < 2**53:
            return first, last, total / records
    return first, last, sum(chain.from_iterable(repeat(run.arrival, run.count) for run in runs)) / records


_OID = uuid.NAMESPACE_OID.bytes


def uuid5_string(name: str, namespace: bytes = _OID) -> str:
    """``str(uuid.uuid5(uuid.UUID(bytes=namespace), name))`` (namespace OID by default),
    formatted from the SHA-1 without a ``uuid.UUID`` (which costs several times the hash)."""
    digest = bytearray(hashlib.sha1(namespace + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True, eq=False)  # eq=False: an ndarray field has no truth value
class FirehoseUsage:
    """What a Firehose stream ingested: the billing input (each record is rounded up to 5 KiB)."""

    records: int
    bytes: int
    record_sizes: np.ndarray  # bytes of each ingested record, in arrival order

    def billed_bytes(self, prices: Prices | None = None) -> int:
        """Bytes billed after rounding every record up to 5 KiB (5,120 bytes)."""
        return firehose_billed_bytes(self.record_sizes, prices)

    def ingest_cost_usd(self, prices: Prices | None = None) -> float:
        """USD for this ingestion at the first-tier price (:func:`kinesislab.pricing.firehose_ingest_cost`)."""
        return firehose_ingest_cost(self.record_sizes, prices) if self.records else 0.0


class DeliveryStream:
    """One Firehose stream (a "delivery stream") to an S3-style sink.

    Usable on its own (``DeliveryStream(sim, "logs")`` is ACTIVE at once) or through
    ``sim.client("firehose")``, which adds the CREATING -> ACTIVE -> DELETING lifecycle.
    """

    def __init__(self, sim: "Simulator", name: str, *, source: str = DIRECT_PUT,
                 kinesis_stream_arn: str | None = None, buffering: BufferingHints = BufferingHints(),
                 prefix: str = "", error_output_prefix: str | None = None, compression: str = "UNCOMPRESSED",
                 transform: LambdaTransform | None = None, sink: Sink | None = None,
                 creating_seconds: float = 0.0, version: str = "1", file_extension: str | None = None):
        limits = sim.limits
        if not limits.firehose_buffer_min_mib <= buffering.size_mib <= limits.firehose_buffer_max_mib:
            raise ValueError(f"SizeInMBs must be {limits.firehose_buffer_min_mib}-{limits.firehose_buffer_max_mib}")
        if not limits.firehose_buffer_min_seconds <= buffering.interval_seconds <= limits.firehose_buffer_max_seconds:
            raise ValueError(f"IntervalInSeconds must be {limits.firehose_buffer_min_seconds}-"
                             f"{limits.firehose_buffer_max_seconds}")
        if compression not in COMPRESSIONS:
            raise ValueError(f"kinesislab compresses with {sorted(COMPRESSIONS)}, not {compression!r}")
        if (source == KINESIS_SOURCE) != (kinesis_stream_arn is not None):
            raise ValueError("a KinesisStreamAsSource stream needs kinesis_stream_arn, and only it")
        self.sim = sim
        self.name = name
        self.arn = f"arn:aws:firehose:{sim.region}:{sim.account_id}:deliverystream/{name}"
        self.source_type = source
        self.buffering = buffering
        self.prefix = prefix
        self.error_output_prefix = error_output_prefix
        self.compression = compression
        #: Object key suffix: FileExtension if given, else ".gz" for GZIP, else none.
        self.extension = file_extension or COMPRESSIONS[compression]
        self.version = version
        self.transform = transform
        self.sink: Sink = sink if sink is not None else MemorySink()
        self.created_at = sim.clock.time
        self.status = "CREATING"
        self.objects: list[DeliveredObject] = []
        self.quota = DirectPutQuota(limits) if source == DIRECT_PUT else None
        self.source = (KinesisSource(sim, kinesis_stream_arn, self._from_kinesis, limits.firehose_kinesis_poll_seconds)
                       if kinesis_stream_arn is not None else None)
        #: Running totals; CloudWatch ``AWS/Firehose`` names where one exists, ``lab.*`` otherwise.
        self.totals: dict[str, int] = dict.fromkeys((
            "IncomingPutRequests", "IncomingRecords", "IncomingBytes", "ThrottledRecords",
            "DataReadFromKinesisStream.Records", "DataReadFromKinesisStream.Bytes",
            "SucceedProcessing.Records", "SucceedProcessing.Bytes",
            "DeliveryToS3.Records", "DeliveryToS3.Bytes", "DeliveryToS3.Success",
            "lab.DroppedRecords", "lab.ProcessingFailedRecords", "lab.DiscardedOnDeleteRecords"), 0)
        # Every ingested record's size, run-length encoded: sizes[i] repeated counts[i] times.
        self._size_values: list[int] = []
        self._size_counts: list[int] = []
        self._record_counter = 0
        self._object_counter = 0
        clock = sim.clock
        self._buffer: TimedBuffer[RecordRun] = TimedBuffer(
            clock, buffering.size_mib * MiB, buffering.interval_seconds, self._deliver)
        self._transform_buffer: TimedBuffer[FirehoseRecord] | None = (
            TimedBuffer(clock, transform.buffer_size_bytes, transform.buffer_interval_seconds, self._run_transform)
            if transform is not None else None)
        # Validate the prefixes now (unknown expressions raise ValueError) rather than at the first delivery.
        object_key(prefix, name, version, clock.time, "0" * 36)
        object_key(self._error_prefix(), name, version, clock.time, "0" * 36, error_output_type="processing-failed")
        if creating_seconds > 0:
            clock.schedule_in(creating_seconds, self._activate)
        else:
            self._activate()

    # ------------------------------------------------------------------ lifecycle
    def _activate(self) -> None:
        if self.status != "CREATING":
            return
        self.status = "ACTIVE"
        if self.source is not None:
            self.source.start()

    def delete(self, deleting_seconds: float = 0.0, on_removed=None) -> None:
        """Enter DELETING: stop reading, drop what is buffered (Firehose deletes "the stream and its
        data"), and after ``deleting_seconds`` call ``on_removed``."""
        self.status = "DELETING"
        if self.source is not None:
            self.source.stop()
        for buffer in (self._transform_buffer, self._buffer):
            if buffer is not None:
                self.totals["lab.DiscardedOnDeleteRecords"] += len(buffer)  # records, not items
                buffer.discard()

        def removed() -> None:
            self.status = "DELETED"
            if on_removed is not None:
                on_removed()

        self.sim.clock.schedule_in(deleting_seconds, removed)

    # ------------------------------------------------------------------ ingestion
    def _next_record_id(self) -> str:
        self._record_counter += 1
        return lambda_record_id(self._record_counter)

    def _put_record_id(self) -> str:
        """A RecordId for a Direct PUT response: deterministic from the seed, stream and count."""
        digest = hashlib.shake_256(f"{self.sim.seed}/{self.arn}/{self._record_counter}".encode()).digest(168)
        return base64.b64encode(digest).decode()

    def ingest(self, data: bytes, arrival: float | None = None, kinesis_metadata: dict | None = None) -> str:
        """Accept one record now (quota already checked); returns its Direct PUT RecordId."""
        self.accept(data, arrival, kinesis_metadata)
        return self._put_record_id()

    def accept(self, data: bytes, arrival: float | None = None, kinesis_metadata: dict | None = None) -> None:
        """:meth:`ingest` without composing the response's RecordId (a hash, most of a record's
        cost), for callers that discard it: the Kinesis source and simulated workloads. The
        RecordIds of later :meth:`ingest` calls are the same either way (they follow the count)."""
        data = bytes(data)
        arrival = self.sim.clock.time if arrival is None else arrival
        size = len(data)
        self._count_sizes(size, 1)
        self._record_counter += 1
        if kinesis_metadata is None:
            self.totals["IncomingRecords"] += 1
            self.totals["IncomingBytes"] += size
        else:
            self.totals["DataReadFromKinesisStream.Records"] += 1
            self.totals["DataReadFromKinesisStream.Bytes"] += size
        if self._transform_buffer is not None:
            self._transform_buffer.add(
                FirehoseRecord(data, arrival, lambda_record_id(self._record_counter), kinesis_metadata), size)
        else:
            self._buffer.add(RecordRun(data, arrival), size)

    def accept_direct_puts(self, payloads: list[bytes]) -> None:
        """:meth:`accept` for several Direct PUT records arriving now, in order: the same records,
        totals, buffers and deliveries as one call each. Consecutive equal payloads are booked
        together (:meth:`accept_copies`)."""
        for data, count in _payload_runs(payloads):
            self.accept_copies(data, count)

    def accept_copies(self, data: bytes, count: int) -> None:
        """``count`` Direct PUT records of ``data`` arriving now: ``accept_direct_puts([data] * count)``.

        Without a transformation they enter the buffer as one :class:`RecordRun`, cut where the
        buffer fills (:meth:`TimedBuffer.add_run`), so a second of a steady workload costs an
        object or two, not one per record; with one, one by one, as the Lambda buffer may invoke
        the function between two records."""
        if self._transform_buffer is not None:
            for _ in range(count):
                self.accept(data)
            return
        data = bytes(data)
        size = len(data)
        self._record_counter += count
        self._count_sizes(size, count)
        totals = self.totals
        totals["IncomingRecords"] += count
        totals["IncomingBytes"] += size * count
        self._buffer.add_run(count, size, partial(RecordRun, data, self.sim.clock.time))

    def _count_sizes(self, size: int, count: int) -> None:
        """Note ``count`` records of ``size`` bytes ingested (for :meth:`usage`)."""
        if count <= 0:
            return
        if self._size_values and self._size_values[-1] == size:
            self._size_counts[-1] += count
        else:
            self._size_values.append(size)
            self._size_counts.append(count)

    def _from_kinesis(self, record: dict, shard_id: str) -> None:
        arrival = record["ApproximateArrivalTimestamp"].timestamp()
        metadata = {"shardId": shard_id, "partitionKey": record["PartitionKey"],
                    "approximateArrivalTimestamp": round(arrival * 1000),
                    "sequenceNumber": record["SequenceNumber"], "subsequenceNumber": 0}
        self.accept(record["Data"], arrival, metadata)

    # ------------------------------------------------------------------ transformation
    def _run_transform(self, records: list[FirehoseRecord], trigger: str) -> None:
        event_records = []
        for r in records:
            entry = {"recordId": r.record_id, "approximateArrivalTimestamp": round(r.arrival * 1000),
                     "data": base64.b64encode(r.data).decode()}
            if r.kinesis_metadata is not None:
                entry["kinesisRecordMetadata"] = dict(r.kinesis_metadata)
            event_records.append(entry)
        outcome = self.transform.invoke(records, event_records,
                                        {"deliveryStreamArn": self.arn, "region": self.sim.region})
        self.totals["lab.DroppedRecords"] += len(outcome.dropped)
        if outcome.failed:
            self.totals["lab.ProcessingFailedRecords"] += len(outcome.failed)
            self._write_failed(outcome.failed, outcome.attempts)
        for record, data in outcome.ok:
            self.totals["SucceedProcessing.Records"] += 1
            self.totals["SucceedProcessing.Bytes"] += len(data)
            self._buffer.add(RecordRun(data, record.arrival), len(data))

    def _error_prefix(self) -> str:
        return "processing-failed/" if self.error_output_prefix is None else self.error_output_prefix

    def _write_failed(self, failures: list, attempts: int) -> None:
        now_ms = round(self.sim.clock.time * 1000)
        lines = [json.dumps({"attemptsMade": attempts, "arrivalTimestamp": round(r.arrival * 1000),
                             "errorCode": code, "errorMessage": message, "attemptEndingTimestamp": now_ms,
                             "rawData": base64.b64encode(r.data).decode(), "lambdaArn": self.transform.lambda_arn})
                 for r, code, message in failures]
        body = ("\n".join(lines) + "\n").encode()
        runs = [RecordRun(r.data, r.arrival) for r, _, _ in failures]
        self._write(runs, len(failures), body, "processing-failed", "processing-failed")

    # ------------------------------------------------------------------ delivery
    def _deliver(self, runs: list[RecordRun], trigger: str) -> None:
        records = size = 0
        for run in runs:
            records += run.count
            size += len(run.data) * run.count
        # A sink that keeps keys only gets no body, unless compressing needs it for the size.
        body = (b"".join([run.data * run.count for run in runs])
                if self.compression == "GZIP" or getattr(self.sink, "keep_bodies", True) else None)
        self.totals["DeliveryToS3.Records"] += records
        self.totals["DeliveryToS3.Bytes"] += size
        self.totals["DeliveryToS3.Success"] += 1
        self._write(runs, records, body, "data", trigger, size)

    def _object_uuid(self) -> str:
        """The next object's UUID: deterministic from the seed, the stream and the object count."""
        self._object_counter += 1
        return uuid5_string(f"firehose/{self.sim.seed}/{self.arn}/{self._object_counter}")

    def _write(self, runs: list[RecordRun], records: int, body: bytes | None, kind: str, trigger: str,
               size: int | None = None) -> None:
        """Store one object of the ``records`` records in ``runs``; ``body`` may be None (an
        uncompressed object for a sink that keeps no bodies) when ``size`` is given."""
        object_uuid = self._object_uuid()
        if self.compression == "GZIP":
            body = gzip.compress(body, mtime=0)  # mtime=0 keeps the bytes reproducible
        if body is not None:
            size = len(body)
        first, last, mean = _arrival_stats(runs, records)
        if kind == "data":
            key = object_key(self.prefix, self.name, self.version, first, object_uuid, self.extension)
        else:
            key = object_key(self._error_prefix(), self.name, self.version, first, object_uuid, self.extension,
                             error_output_type=kind)
        self.sink.put(key, body)
        self.objects.append(DeliveredObject(
            key=key, kind=kind, delivered_at=self.sim.clock.time, bytes=size, records=records,
            first_arrival=first, last_arrival=last, mean_arrival=mean, trigger=trigger))

    # ------------------------------------------------------------------ results
    @property
    def buffered_records(self) -> int:
        """Records waiting in the Lambda and destination buffers."""
        return len(self._buffer) + (len(self._transform_buffer) if self._transform_buffer is not None else 0)

    def read(self, key: str) -> bytes:
        """The stored bytes of one delivered object."""
        return self.sink.get(key)

    def deliveries_frame(self, kind: str = "data") -> pd.DataFrame:
        """One row per delivered object (``kind="processing-failed"`` for the error objects).

        Columns: ``key``; ``delivered_at``, ``first_arrival``, ``last_arrival`` (tz-aware UTC);
        ``bytes`` (object size as stored) and ``records``; ``latency_seconds`` (delivery minus the
        oldest record's arrival, s) and ``mean_latency_seconds`` (average over the object's
        records, s); ``trigger`` ("size", "interval" or "processing-failed").
        """
        rows = [o for o in self.objects if o.kind == kind]

        def times(values: list[float]) -> pd.Series:
            return pd.to_datetime(pd.Series(values, dtype="float64"), unit="s", utc=True)

        return pd.DataFrame({
            "key": pd.Series([o.key for o in rows], dtype="object"),
            "delivered_at": times([o.delivered_at for o in rows]),
            "bytes": pd.Series([o.bytes for o in rows], dtype="int64"),
            "records": pd.Series([o.records for o in rows], dtype="int64"),
            "first_arrival": times([o.first_arrival for o in rows]),
            "last_arrival": times([o.last_arrival for o in rows]),
            "latency_seconds": pd.Series([o.latency_seconds for o in rows], dtype="float64"),
            "mean_latency_seconds": pd.Series([o.mean_latency_seconds for o in rows], dtype="float64"),
            "trigger": pd.Series([o.trigger for o in rows], dtype="object"),
        }, columns=DELIVERY_COLUMNS)

    def usage(self) -> FirehoseUsage:
        """Records and bytes ingested (Direct PUT or read from Kinesis), with every record's size."""
        sizes = np.repeat(np.array(self._size_values, dtype=np.int64), np.array(self._size_counts, dtype=np.int64))
        return FirehoseUsage(records=len(sizes), bytes=int(sizes.sum()), record_sizes=sizes)
