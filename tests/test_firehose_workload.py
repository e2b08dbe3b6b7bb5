"""A steady Direct PUT workload (kinesislab.firehose.workload): the buffering hints decide the files."""

import pytest

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
