"""A steady Direct PUT workload through one Firehose stream, in virtual time, and what it delivered.

:func:`steady_delivery` creates a Firehose stream through ``sim.client("firehose")`` (so the
buffering hints are checked as the service checks them), then feeds it ``events_per_second``
records of ``event_bytes`` every virtual second for ``duration`` seconds and returns the engine
object with the run's shape (:class:`SteadyRun`). Each second's records go straight to
:meth:`DeliveryStream.accept_copies` -- ``accept_direct_puts`` of that many equal records, the
path ``PutRecordBatch`` takes minus per-call request validation and the response's RecordIds,
which nobody reads here. Equal records arriving together are booked as one counted run in the
buffer, so a 30-minute run costs one object per second and per file written, not per record:
a lesson dashboard pays about ten milliseconds for it.
:func:`delivery_summary` condenses the deliveries into the numbers a lesson compares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinesislab.firehose.delivery import DeliveryStream
from kinesislab.firehose.sink import MemorySink
from kinesislab.pricing import firehose_ingest_cost

ROLE_ARN = "arn:aws:iam::123456789012:role/firehose-delivery"
BUCKET_ARN = "arn:aws:s3:::kinesislab-archive"


@dataclass(frozen=True)
class SteadyRun:
    """What :func:`steady_delivery` ran: the Firehose stream (engine object), the epoch second of
    the first put, and the workload."""

    stream: DeliveryStream
    started_at: float
    duration: int
    events_per_second: int
    event_bytes: int

    def arrived_bytes(self) -> np.ndarray:
        """Bytes put up to the end of each second (cumulative), seconds 1 .. duration."""
        return np.arange(1, self.duration + 1) * float(self.events_per_second * self.event_bytes)

    def files(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Delivered data objects: seconds since the start, bytes, records, triggers."""
        objects = [o for o in self.stream.objects if o.kind == "data"]
        return (np.array([o.delivered_at - self.started_at for o in objects], dtype=float),
                np.array([o.bytes for o in objects], dtype=float),
                np.array([o.records for o in objects], dtype=float), [o.trigger for o in objects])

    def summary(self) -> dict:
        return delivery_summary(self.stream)


def steady_delivery(size_mib: int, interval_seconds: int, events_per_second: int = 10, event_bytes: int = 1000,
                    duration: int = 1800, seed: int = 0, keep_bodies: bool = False) -> SteadyRun:
    """A Firehose stream with buffering hints (``size_mib``, ``interval_seconds``) after
    ``duration`` seconds of ``events_per_second`` records of ``event_bytes`` bytes each.

    The clock starts when the stream is ACTIVE (second 0 is the first put). Records still in
    the buffer at the end stay there (``stream.buffered_records``). ``keep_bodies=False`` keeps
    only the object keys, not their bytes (faster for dashboards).
    """
    from kinesislab.simulator import Simulator  # late: the simulator imports the firehose package

    sim = Simulator(seed=seed)
    firehose = sim.client("firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName="archive",
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE_ARN, "BucketARN": BUCKET_ARN,
            "BufferingHints": {"SizeInMBs": int(size_mib), "IntervalInSeconds": int(interval_seconds)}})
    stream = firehose.delivery_stream("archive")
    if not keep_bodies:
        stream.sink = MemorySink(keep_bodies=False)
    sim.advance(sim.limits.firehose_creating_seconds)
    started_at = sim.clock.time
    payload, count = b"x" * int(event_bytes), int(events_per_second)
    accept, advance = stream.accept_copies, sim.advance
    for _ in range(int(duration)):
        accept(payload, count)  # accept_direct_puts([payload] * count), booked as one run
        advance(1.0)
    return SteadyRun(stream, started_at, int(duration), int(events_per_second), int(event_bytes))


def delivery_summary(stream: DeliveryStream) -> dict:
    """Files delivered, their mean size (bytes), the mean wait of the oldest record in each file
    and of all records (s), the records still buffered, and the Firehose ingestion bill (USD)."""
    frame = stream.deliveries_frame()
    records = frame["records"].to_numpy()
    usage = stream.usage()
    return {
        "files": len(frame),
        "mean_file_bytes": float(frame["bytes"].mean()) if len(frame) else 0.0,
        "oldest_record_wait_s": float(frame["latency_seconds"].mean()) if len(frame) else float("nan"),
        "mean_record_wait_s": (float(np.average(frame["mean_latency_seconds"], weights=records))
                               if len(frame) else float("nan")),
        "size_triggered": int((frame["trigger"] == "size").sum()),
        "interval_triggered": int((frame["trigger"] == "interval").sum()),
        "buffered_at_end": stream.buffered_records,
        "ingested_bytes": usage.bytes,
        "billed_bytes": usage.billed_bytes(),
        "ingest_cost_usd": firehose_ingest_cost(usage.record_sizes) if usage.records else 0.0,
    }
