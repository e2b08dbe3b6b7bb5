"""A steady Direct PUT workload (kinesislab.firehose.workload): the buffering hints decide the files."""

import pandas as pd
import pytest

from kinesislab.firehose.delivery import lambda_record_id
from kinesislab.firehose.workload import steady_delivery


@pytest.mark.parametrize("size_mib, interval, files, trigger", [(128, 60, 30, "interval"), (128, 300, 6, "interval"),
                                                                 (1, 900, 17, "size")])
def test_files_follow_the_first_hint_reached(size_mib, interval, files, trigger):
    run = steady_delivery(size_mib, interval, events_per_second=10, event_bytes=1000, duration=1800)
    summary = run.summary()
    assert summary["files"] == files
    assert summary[f"{trigger}_triggered"] == files
    when, sizes, records, triggers = run.files()
    assert len(when) == files and set(triggers) == {trigger}
    # Bytes are conserved: delivered + still buffered = put.
    assert sizes.sum() + summary["buffered_at_end"] * 1000 == 1800 * 10 * 1000
    assert summary["billed_bytes"] == 18_000 * 5120


def test_bigger_interval_means_fewer_larger_later_files():
    summaries = [steady_delivery(128, interval, duration=1800).summary() for interval in (60, 300, 900)]
    assert [s["files"] for s in summaries] == [30, 6, 2]
    assert [s["mean_record_wait_s"] for s in summaries] == sorted(s["mean_record_wait_s"] for s in summaries)


@pytest.mark.parametrize("size_mib, interval, events_per_second, event_bytes", [
    (5, 300, 10, 1000), (1, 0, 10, 5000), (1, 60, 7, 150_001), (3, 30, 13, 777)])
def test_the_batched_workload_delivers_what_one_ingest_per_record_delivers(size_mib, interval, events_per_second,
                                                                            event_bytes):
    """steady_delivery books each second's records as one run (DeliveryStream.accept_copies); the
    reference puts them one by one through DeliveryStream.ingest (the PutRecord path, RecordIds
    included). tests/test_firehose_fast_path.py holds the run path to the record path more widely."""
    from kinesislab.simulator import Simulator

    run = steady_delivery(size_mib, interval, events_per_second, event_bytes, duration=600, keep_bodies=True)
    sim = Simulator(seed=0)
    firehose = sim.client("firehose")
    firehose.create_delivery_stream(DeliveryStreamName="archive", ExtendedS3DestinationConfiguration={
        "RoleARN": "arn:aws:iam::123456789012:role/firehose-delivery", "BucketARN": "arn:aws:s3:::kinesislab-archive",
        "BufferingHints": {"SizeInMBs": size_mib, "IntervalInSeconds": interval}})
    reference = firehose.delivery_stream("archive")
    sim.advance(sim.limits.firehose_creating_seconds)
    ids = []
    for _ in range(600):
        for _ in range(events_per_second):
            ids.append(reference.ingest(b"x" * event_bytes))
        sim.advance(1.0)
    pd.testing.assert_frame_equal(run.stream.deliveries_frame(), reference.deliveries_frame(), check_exact=True)
    assert run.stream.totals == reference.totals
    assert run.stream.buffered_records == reference.buffered_records
    assert (run.stream.usage().record_sizes == reference.usage().record_sizes).all()
    assert [run.stream.read(key) for key in run.stream.deliveries_frame()["key"]] == \
        [reference.read(key) for key in reference.deliveries_frame()["key"]]
    # A later PutRecord gets the RecordId it would have had: ids follow the count of records.
    assert run.stream.ingest(b"y") == reference.ingest(b"y")
    assert len(set(ids)) == len(ids)


def test_lambda_record_ids_are_ten_to_the_55_plus_the_count():
    run = steady_delivery(1, 60, 2, 10, duration=3)
    counter = run.stream._record_counter
    assert run.stream._next_record_id() == str(10**55 + counter + 1)
    run.stream._record_counter = 10**12 - 1
    assert run.stream._next_record_id() == str(10**55 + 10**12)
    assert lambda_record_id(10**55 - 1) == str(10**55 + 10**55 - 1)
