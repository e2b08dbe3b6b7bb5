"""The Direct PUT quota of one Firehose stream: records/s, requests/s and bytes/s (facts §10).

It reuses the shard engine's :class:`~kinesislab.engine.throughput.WriteBudget` (one slot): each
whole virtual second refills one second of each rate, capped at one second's worth, so within
any whole second a stream admits at most the quota. PutRecord and PutRecordBatch share it.
"""

from __future__ import annotations

import math

from kinesislab.engine.throughput import WriteBudget
from kinesislab.limits import Limits


class DirectPutQuota:
    """Token buckets for requests, records and bytes of one Firehose stream."""

    def __init__(self, limits: Limits):
        self.records_and_bytes = WriteBudget(
            limits.firehose_direct_put_bytes_per_second, limits.firehose_direct_put_records_per_second,
            limits.firehose_direct_put_bytes_per_second, limits.firehose_direct_put_records_per_second)
        # Requests are "records" of zero bytes in a second budget with an unlimited byte bucket.
        self.requests = WriteBudget(math.inf, limits.firehose_direct_put_requests_per_second,
                                    math.inf, limits.firehose_direct_put_requests_per_second)
        self.records_and_bytes.add_slot()
        self.requests.add_slot()

    def admit_request(self, now: float) -> bool:
        """Take one request (PutRecord or PutRecordBatch call) at virtual time ``now`` (epoch s)."""
        self.requests.refill(now)
        self.records_and_bytes.refill(now)
        return self.requests.try_take(0, 0)

    def admit_record(self, size_bytes: int) -> bool:
        """Take one record of ``size_bytes`` (call after :meth:`admit_request` in the same call)."""
        return self.records_and_bytes.try_take(0, size_bytes)
