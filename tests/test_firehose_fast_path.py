"""Firehose's counted fast path against its record-by-record path, to the bit.

Equal records that arrive together (a steady workload's second, :meth:`DeliveryStream.accept_copies`,
runs inside :meth:`DeliveryStream.accept_direct_puts`) enter the destination buffer as one counted
:class:`~kinesislab.firehose.delivery.RecordRun`, cut where a size flush falls
(:meth:`TimedBuffer.add_run`). Everything a lesson reads must be what one ``accept`` per record
gives: the files (keys, sizes, records, latencies, triggers), the bill, the totals, what is still
buffered, the summary. The helpers the fast path leans on (mean arrival, key time stamps, object
UUIDs) are pinned to the formulas they replace.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timezone
from itertools import chain, repeat

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings, strategies as st

from kinesislab import Simulator
from kinesislab.clock import VirtualClock
from kinesislab.firehose.buffer import TimedBuffer
from kinesislab.firehose.delivery import RecordRun, _arrival_stats, uuid5_string
from kinesislab.firehose.sink import object_key, utc_stamps
from kinesislab.firehose.workload import BUCKET_ARN, ROLE_ARN, delivery_summary, steady_delivery
from kinesislab.limits import MiB

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _new_stream(sim: Simulator, size_mib: int, interval: int, compression: str = "UNCOMPRESSED", prefix: str = ""):
    firehose = sim.client("firehose")
    firehose.create_delivery_stream(DeliveryStreamName="archive", ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE_ARN, "BucketARN": BUCKET_ARN, "CompressionFormat": compression, "Prefix": prefix,
        "BufferingHints": {"SizeInMBs": size_mib, "IntervalInSeconds": interval}})
    sim.advance(sim.limits.firehose_creating_seconds)
    return firehose.delivery_stream("archive")


def _record_by_record(size_mib: int, interval: int, events_per_second: int, event_bytes: int, duration: int):
    """steady_delivery's workload, one ``accept`` per record (no runs longer than one)."""
    sim = Simulator(seed=0)
    stream = _new_stream(sim, size_mib, interval)
    payload = b"x" * event_bytes
    for _ in range(duration):
        for _ in range(events_per_second):
            stream.accept(payload)
        sim.advance(1.0)
    return stream


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def assert_same_stream(fast, slow, bodies: bool = True) -> None:
    pd.testing.assert_frame_equal(fast.deliveries_frame(), slow.deliveries_frame(), check_exact=True)
    assert fast.objects == slow.objects
    for a, b in zip(fast.objects, slow.objects):  # bit for bit, types included (1.0 is not 1)
        assert all(_same(x, y) for x, y in zip(vars(a).values(), vars(b).values()))
    assert fast.totals == slow.totals
    assert fast.buffered_records == slow.buffered_records
    usage_fast, usage_slow = fast.usage(), slow.usage()
    assert (usage_fast.records, usage_fast.bytes) == (usage_slow.records, usage_slow.bytes)
    assert usage_fast.record_sizes.dtype == usage_slow.record_sizes.dtype == np.int64
    assert np.array_equal(usage_fast.record_sizes, usage_slow.record_sizes)
    assert usage_fast.billed_bytes() == usage_slow.billed_bytes()
    assert _same(usage_fast.ingest_cost_usd(), usage_slow.ingest_cost_usd())
    summary_fast, summary_slow = delivery_summary(fast), delivery_summary(slow)
    assert summary_fast.keys() == summary_slow.keys()
    assert all(_same(summary_fast[k], summary_slow[k]) for k in summary_fast), (summary_fast, summary_slow)
    if bodies:
        assert [fast.read(o.key) for o in fast.objects] == [slow.read(o.key) for o in slow.objects]


@st.composite
def steady_workloads(draw):
    size_mib = draw(st.integers(1, 3))
    interval = draw(st.one_of(st.sampled_from([0, 1, 60, 900]), st.integers(0, 12)))
    events_per_second = draw(st.integers(0, 12))
    event_bytes = draw(st.one_of(st.integers(0, 3000), st.integers(100_000, 1_024_000)))
    # Small runs; big records get fewer seconds (the record-by-record reference keeps every body).
    duration = min(draw(st.integers(0, 40)), 12 * MiB // max(1, events_per_second * event_bytes))
    return size_mib, interval, events_per_second, event_bytes, duration


@SLOW
@given(steady_workloads())
def test_steady_delivery_equals_one_accept_per_record(workload):
    size_mib, interval, events_per_second, event_bytes, duration = workload
    run = steady_delivery(size_mib, interval, events_per_second, event_bytes, duration=duration, keep_bodies=True)
    reference = _record_by_record(size_mib, interval, events_per_second, event_bytes, duration)
    assert_same_stream(run.stream, reference)
    # Keys only (the dashboards' setting): the same files, their bodies never assembled.
    keys_only = steady_delivery(size_mib, interval, events_per_second, event_bytes, duration=duration)
    assert_same_stream(keys_only.stream, reference, bodies=False)
    # Both paths leave the stream in the same state: what comes next is the same too.
    assert run.stream.ingest(b"y" * 7) == reference.ingest(b"y" * 7)
    run.stream.sim.advance(interval + 1)
    reference.sim.advance(interval + 1)
    assert_same_stream(run.stream, reference)


@SLOW
@given(
    steps=st.lists(st.tuples(
        st.lists(st.sampled_from([b"", b"a", b"bb" * 50, b"c" * 300_000, b"d" * 700_000]), max_size=9)
        .flatmap(lambda base: st.just(sorted(base, key=len)) | st.just(base)),
        st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.5, 1 / 3])), max_size=25),
    interval=st.sampled_from([0, 1, 2, 60]),
    compression=st.sampled_from(["UNCOMPRESSED", "GZIP"]),
    prefix=st.sampled_from(["", "logs/", "x/!{timestamp:yyyy/MM/dd/HH/mm}/!{firehose:random-string}/"]),
    start=st.sampled_from([0.0, 0.25]),
)
def test_batches_of_mixed_records_equal_one_accept_per_record(steps, interval, compression, prefix, start):
    """Runs of equal payloads, fractional times (the mean arrival's one-by-one sum), GZIP and
    prefixes: accept_direct_puts against accept, then a delete drops the same records."""
    streams = []
    for _ in range(2):
        sim = Simulator(seed=3)
        sim.advance(start)
        streams.append(_new_stream(sim, 1, interval, compression, prefix))
    fast, slow = streams
    for payloads, gap in steps:
        fast.accept_direct_puts(payloads)
        for data in payloads:
            slow.accept(data)
        fast.sim.advance(gap)
        slow.sim.advance(gap)
    assert_same_stream(fast, slow)
    fast.delete()
    slow.delete()
    assert fast.totals == slow.totals and fast.buffered_records == slow.buffered_records == 0


@settings(max_examples=300, deadline=None)
@given(
    size_bytes=st.integers(1, 60),
    interval=st.sampled_from([0, 1, 3]),
    steps=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 25), st.sampled_from([0.0, 0.5, 1.0, 2.0])),
                   max_size=30),
)
def test_a_run_flushes_like_its_records_added_one_by_one(size_bytes, interval, steps):
    """TimedBuffer.add_run (the size rule solved for equal records) against add (the rule applied
    record by record): the same flushes, at the same times, for the same records."""
    clocks = [VirtualClock(), VirtualClock()]
    flushed: list[list] = [[], []]

    def handler(which):
        def on_flush(items, trigger):
            records = [r for item in items for r in (item if which else [item])]
            flushed[which].append((clocks[which].time, trigger, records))
        return on_flush

    one_by_one, runs = (TimedBuffer(clocks[i], size_bytes, interval, handler(i)) for i in range(2))
    serial = 0
    for count, size, gap in steps:
        for offset in range(count):
            one_by_one.add(serial + offset, size)
        pieces = iter(range(serial, serial + count))
        runs.add_run(count, size, lambda k: [next(pieces) for _ in range(k)])
        serial += count
        assert (len(runs), runs.buffered_bytes, runs.opened_at) == \
            (len(one_by_one), one_by_one.buffered_bytes, one_by_one.opened_at)
        assert flushed[0] == flushed[1]
        for clock in clocks:
            clock.advance(gap)
    assert flushed[0] == flushed[1]


# --- The helpers, pinned to the formulas they replace ----------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.integers(0, 10**6), st.integers(1_700_000_000, 1_900_000_000).map(float),
                                    st.integers(2**40, 2**52).map(float), st.floats(0, 4e9)),
                          st.integers(1, 3000)), min_size=1, max_size=6))
@example([(2564564204237301.0, 260)])       # a float sum one by one is not exact here
@example([(1767225605.0, 10**7)])           # nor past 2**53 in total: 10 million records of 2026
@example([(1767225605.0, 3), (1767225605.5, 2)])
def test_arrival_stats_equal_the_sum_over_every_record(runs):
    records = sum(count for _, count in runs)
    got = _arrival_stats([RecordRun(b"", arrival, count) for arrival, count in runs], records)
    arrivals = [arrival for arrival, _ in runs]
    one_by_one = sum(chain.from_iterable(repeat(arrival, count) for arrival, count in runs))
    expected = (min(arrivals), max(arrivals), one_by_one / records)
    assert all(_same(g, e) for g, e in zip(got, expected)), (got, expected)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.integers(0, 4_000_000_000).map(float), st.floats(0, 4e9), st.integers(0, 4_000_000_000),
                 st.integers(1_767_225_600, 1_767_312_000).map(lambda s: s + 0.999_999_7)))
def test_utc_stamps_and_keys_equal_strftime(at):
    when = datetime.fromtimestamp(at, tz=timezone.utc)
    assert utc_stamps(at) == (when.strftime("%Y-%m-%d-%H-%M-%S"), when.strftime("%Y/%m/%d/%H/"))
    object_uuid = "0123abcd-0000-5000-8000-00000000beef"
    assert object_key("p/", "s", "1", at, object_uuid, ".gz") == \
        f"p/{when.strftime('%Y/%m/%d/%H/')}s-1-{when.strftime('%Y-%m-%d-%H-%M-%S')}-{object_uuid}.gz"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_uuid5_string_equals_uuid5(name):
    assert uuid5_string(name) == str(uuid.uuid5(uuid.NAMESPACE_OID, name))
    assert uuid5_string(name, uuid.NAMESPACE_URL.bytes) == str(uuid.uuid5(uuid.NAMESPACE_URL, name))
