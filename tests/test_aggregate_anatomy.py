"""Naming the bytes of a KPL aggregated record (kinesislab.producers.anatomy)."""

import pytest

from kinesislab.producers.aggregation import encode_aggregated
from kinesislab.producers.anatomy import aggregate_anatomy, aggregate_parts, md5_matches


def test_parts_cover_the_blob_in_order_and_name_each_record():
    records = [("k1", None, b"alpha"), ("k2", "42", b"b" * 300), ("k1", None, b"")]
    blob = encode_aggregated(records)
    parts = aggregate_parts(blob)
    assert parts[0].start == 0 and parts[-1].end == len(blob)
    assert all(a.end == b.start for a, b in zip(parts, parts[1:]))
    assert [p.kind for p in parts] == ["magic", "partition key table", "partition key table",
                                       "explicit hash key table", "user record", "user record", "user record", "MD5"]
    assert "key #1" in parts[5].meaning and "key #0" in parts[6].meaning
    frame = aggregate_anatomy(blob)
    assert frame["size"].sum() == len(blob)
    assert md5_matches(blob)


def test_plain_record_is_refused():
    with pytest.raises(ValueError):
        aggregate_parts(b"just some data")
