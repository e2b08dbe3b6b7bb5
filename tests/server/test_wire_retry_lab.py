"""The retry-mode lab behind lesson 13: real boto3 producers whose waits pass in virtual time.
Deterministic (same seed, same table), botocore restored afterwards, and its accounting adds up."""

from __future__ import annotations

import time

import botocore.endpoint
from botocore.retries import bucket

from kinesislab.server.retry_lab import put_records_retries, run_retry_mode


def test_runs_are_deterministic_and_botocore_is_restored():
    saved = (botocore.endpoint.time, bucket.Clock.sleep, bucket.Clock.current_time, bucket.TokenBucket.acquire)
    first = run_retry_mode("adaptive", rate=15, seconds=2)
    second = run_retry_mode("adaptive", rate=15, seconds=2)
    assert first.seconds.equals(second.seconds) and first.totals == second.totals
    assert (botocore.endpoint.time, bucket.Clock.sleep, bucket.Clock.current_time,
            bucket.TokenBucket.acquire) == saved
    assert botocore.endpoint.time is time


def test_the_accounting_adds_up_and_the_shard_caps_what_is_stored():
    run = run_retry_mode("standard", rate=20, seconds=2)
    t = run.totals
    assert run.capacity == 10                                  # 100 KiB records, 1 MiB/s
    assert t["offered"] == 40
    assert t["accepted"] + t["gave_up"] == t["offered"]        # every record stored or given up
    assert t["attempts"] == t["offered"] + t["retried"]        # every call a first attempt or a retry
    assert t["attempts"] == t["accepted"] + t["throttled"]     # every call accepted or refused
    assert run.seconds["accepted"].max() == 10 and t["retried"] > 0 and t["most_attempts"] == 3


def test_botocore_never_retries_a_partly_refused_put_records_batch():
    result = put_records_retries("legacy", seconds=1)
    assert result == {"mode": "legacy", "offered": 1500, "calls": 3, "retried": 0, "failed_entries": 500,
                      "accepted": 1000}
