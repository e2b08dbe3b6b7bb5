"""Every service limit the engine enforces, each in exactly one place, with its source.

Source tags refer to ``reference/kinesis-facts.md`` (the course's fact sheet):
BC-K botocore's Kinesis model, Q-NOW the current quotas page, Q-2022 the 2022 quotas page,
MODE-NOW the capacity-mode page, EFO-NOW the enhanced fan-out page, LARGE / BLOG-LR the
large-records announcement, KL kinesalite, KM kinesis-mock; for Firehose, FH-Q its quota page,
BC-F botocore's Firehose model, FH-T its data-transformation page, FH-KDS its Kinesis-source
page. ``CHOSEN`` marks a value the documentation leaves open (UNCONFIRMED in the fact sheet)
and the engine picks; the field's comment says why.

A :class:`Limits` is frozen; a simulator gets one from :func:`limits_for_region` and lessons
derive "what if" variants with :func:`dataclasses.replace` or :meth:`Limits.override`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kinesislab.sourced import Sourced, sourced

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: Regions with the largest default quotas (Q-NOW: 20,000 shards, 10 GB/s on-demand write).
LARGEST_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
#: Regions with 5,000 Firehose streams per account (FH-Q); the Direct PUT quota's largest Regions
#: are LARGEST_REGIONS above.
FIREHOSE_LARGEST_STREAM_QUOTA_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "ap-northeast-1")


@dataclass(frozen=True)
class Limits(Sourced):
    """The numbers the engine enforces. Units are in the field names or the ``unit`` metadata."""

    _table_key = "limit"

    region: str = sourced("us-east-1", "CHOSEN", "AWS Region name")

    # --- Write side, per shard (provisioned and on-demand alike) -------------------------------
    shard_write_bytes_per_second: int = sourced(1 * MiB, "Q-NOW, BC-K", "bytes/s")
    shard_write_records_per_second: int = sourced(1000, "Q-NOW, BC-K", "records/s")
    # Token-bucket capacity as a multiple of one second of the byte rate. CHOSEN: 1 second, so
    # every whole virtual second admits at most the per-second limit (what CloudWatch's
    # per-second view shows). Streams with records above 1 MiB get a larger byte tank (LARGE).
    write_burst_seconds: float = sourced(1.0, "CHOSEN", "seconds of rate")
    default_max_record_size_kib: int = sourced(1024, "BC-K, LARGE", "KiB")
    min_max_record_size_kib: int = sourced(1024, "BC-K", "KiB")
    max_max_record_size_kib: int = sourced(10240, "BC-K, LARGE", "KiB")
    put_records_max_entries: int = sourced(500, "BC-K", "records per call")
    put_records_max_request_bytes: int = sourced(10 * MiB, "BC-K, Q-NOW, BLOG-LR", "bytes per call")

    # --- Read side, shared-throughput (GetRecords) consumers ------------------------------------
    shard_read_bytes_per_second: int = sourced(2 * MiB, "Q-NOW, BC-K", "bytes/s")
    shard_get_records_calls_per_second: int = sourced(5, "Q-NOW, BC-K", "calls/s")
    get_records_max_bytes: int = sourced(10 * MiB, "BC-K, Q-NOW", "bytes per call")
    get_records_max_records: int = sourced(10_000, "BC-K, Q-NOW", "records per call")
    # After a call that returned get_records_max_bytes, calls in the next 5 s are throttled.
    get_records_large_call_penalty_seconds: float = sourced(5.0, "BC-K GetRecords", "seconds")
    iterator_lifetime_seconds: float = sourced(300.0, "BC-K GetShardIterator, Q-NOW", "seconds")
    get_shard_iterator_calls_per_second: int = sourced(5, "BC-K", "calls/s per shard")
    # Average propagation delay put -> reader (EFO-NOW table); used for end-to-end latency.
    polling_propagation_ms: float = sourced(200.0, "EFO-NOW", "ms (one consumer)")
    efo_propagation_ms: float = sourced(70.0, "EFO-NOW", "ms")

    # --- Retention ---------------------------------------------------------------------------
    default_retention_hours: int = sourced(24, "BC-K, Q-NOW", "hours")
    min_retention_hours: int = sourced(24, "BC-K, Q-NOW", "hours")
    max_retention_hours: int = sourced(8760, "BC-K, Q-NOW", "hours")

    # --- Stream lifecycle and resharding ------------------------------------------------------
    # CHOSEN: how long CREATING / UPDATING / DELETING last in virtual time. AWS gives no figure;
    # "a few seconds" to tens of seconds is what users report. kinesis-mock uses 0.5 s (KM).
    stream_creating_seconds: float = sourced(5.0, "CHOSEN", "seconds")
    stream_updating_seconds: float = sourced(5.0, "CHOSEN", "seconds")
    stream_deleting_seconds: float = sourced(5.0, "CHOSEN", "seconds")
    max_streams_creating: int = sourced(5, "Q-NOW", "streams")
    update_shard_count_calls_per_24h: int = sourced(10, "BC-K UpdateShardCount", "calls per rolling 24 h")
    update_shard_count_max_factor: float = sourced(2.0, "BC-K UpdateShardCount", "x current open shards")
    update_shard_count_max_shards: int = sourced(10_000, "BC-K UpdateShardCount", "shards per stream")
    tags_per_stream: int = sourced(50, "BC-K", "tags")

    # --- Account quotas -----------------------------------------------------------------------
    # Q-NOW: 20,000 shards in the largest Regions, "1,000 or 6,000" elsewhere; CHOSEN 6,000.
    account_shard_quota: int = sourced(20_000, "Q-NOW", "shards (provisioned)")
    on_demand_stream_quota: int = sourced(50, "Q-NOW", "on-demand streams")

    # --- On-demand capacity mode ---------------------------------------------------------------
    on_demand_initial_shards: int = sourced(4, "Q-NOW (4 MB/s), BLOG-LR (4 shards)", "shards")
    on_demand_headroom_factor: float = sourced(2.0, "MODE-NOW", "x previous peak")
    on_demand_peak_lookback_seconds: float = sourced(30 * 86400.0, "MODE-NOW", "seconds (30 days)")
    # Traffic that more than doubles the peak within this window is throttled while capacity
    # catches up; the engine makes new capacity available this long after a peak is seen.
    on_demand_scale_up_seconds: float = sourced(15 * 60.0, "MODE-NOW", "seconds")
    on_demand_split_threshold_bytes_per_second: int = sourced(500 * KiB, "MODE-NOW", "bytes/s (500 KB/s)")
    on_demand_max_write_bytes_per_second: int = sourced(10 * GiB, "Q-NOW (largest Regions)", "bytes/s")
    update_stream_mode_calls_per_24h: int = sourced(2, "Q-NOW, MODE-NOW", "switches per rolling 24 h")
    # On-demand Advantage cannot be switched off during its first 24 hours (MODE-NOW, BLOG-ODA).
    on_demand_advantage_commitment_seconds: float = sourced(86_400.0, "MODE-NOW, BLOG-ODA", "seconds (24 h)")

    # --- Enhanced fan-out ---------------------------------------------------------------------
    efo_consumers_per_stream: int = sourced(20, "EFO-NOW, Q-NOW, BC-K (Provisioned and On-demand Standard)", "consumers")
    # On-demand streams of an account with On-demand Advantage on (UpdateAccountSettings) get 50.
    efo_consumers_per_stream_advantage: int = sourced(50, "EFO-NOW, BC-K RegisterStreamConsumer", "consumers")
    efo_consumers_creating: int = sourced(5, "BC-K, EFO-NOW", "consumers")
    efo_shard_bytes_per_second: int = sourced(2 * MiB, "EFO-NOW", "bytes/s per consumer per shard")
    efo_subscription_seconds: float = sourced(300.0, "BC-K SubscribeToShard", "seconds")
    efo_resubscribe_min_seconds: float = sourced(5.0, "BC-K SubscribeToShard", "seconds")
    # CHOSEN: how long a consumer stays CREATING after RegisterStreamConsumer (AWS: "a few seconds").
    efo_consumer_creating_seconds: float = sourced(5.0, "CHOSEN", "seconds")

    # --- Pagination ---------------------------------------------------------------------------
    next_token_lifetime_seconds: float = sourced(300.0, "BC-K ListShards", "seconds")
    describe_stream_max_shards: int = sourced(100, "BC-K DescribeStream", "shards per call")

    # ==========================================================================================
    # --- Amazon Data Firehose (facts §10) -----------------------------------------------------
    # ==========================================================================================
    # FH-Q the Firehose quota page, BC-F botocore's Firehose model, FH-T the data-transformation
    # page, FH-KDS the "Writing to Firehose using Kinesis Data Streams" page
    # (https://docs.aws.amazon.com/firehose/latest/dev/writing-with-kinesis-streams.html).
    # Names start with ``firehose_`` so they never collide with the Kinesis limits above.
    firehose_record_max_bytes: int = sourced(1000 * KiB, "BC-F Record.Data, FH-Q", "bytes before base64")
    firehose_put_record_batch_max_records: int = sourced(500, "BC-F, FH-Q", "records per call")
    firehose_put_record_batch_max_bytes: int = sourced(4 * MiB, "BC-F, FH-Q", "bytes per call")
    # Direct PUT quota per Firehose stream; PutRecord and PutRecordBatch share it (BC-F). Smaller
    # Regions get 100,000 records/s, 1,000 requests/s, 1 MiB/s (limits_for_region). Not applied
    # to a stream that reads a Kinesis data stream (FH-Q).
    firehose_direct_put_records_per_second: int = sourced(500_000, "FH-Q (largest Regions)", "records/s")
    firehose_direct_put_requests_per_second: int = sourced(2_000, "FH-Q (largest Regions)", "requests/s")
    firehose_direct_put_bytes_per_second: int = sourced(5 * MiB, "FH-Q (largest Regions)", "bytes/s")
    # S3 buffering hints: the first one reached triggers a delivery (BC-F BufferingHints). The
    # quota page still says 60-900 s; the 0-second minimum (zero buffering) is newer (FH-Q).
    firehose_buffer_min_mib: int = sourced(1, "BC-F BufferingHints", "MiB")
    firehose_buffer_max_mib: int = sourced(128, "BC-F BufferingHints", "MiB")
    firehose_buffer_default_mib: int = sourced(5, "BC-F BufferingHints", "MiB")
    firehose_buffer_min_seconds: int = sourced(0, "BC-F BufferingHints", "seconds")
    firehose_buffer_max_seconds: int = sourced(900, "BC-F BufferingHints, FH-Q", "seconds")
    firehose_buffer_default_seconds: int = sourced(300, "BC-F BufferingHints", "seconds")
    # Lambda transformation buffer (processor parameters BufferSizeInMBs / BufferIntervalInSeconds).
    firehose_lambda_buffer_min_mib: float = sourced(0.2, "FH-T", "MiB")
    firehose_lambda_buffer_max_mib: float = sourced(3.0, "FH-T", "MiB")
    firehose_lambda_buffer_default_mib: float = sourced(1.0, "FH-T", "MiB")
    firehose_lambda_buffer_min_seconds: int = sourced(0, "FH-T", "seconds")
    firehose_lambda_buffer_max_seconds: int = sourced(900, "FH-T", "seconds")
    firehose_lambda_buffer_default_seconds: int = sourced(60, "FH-T", "seconds")
    # An invocation that raises is retried this many times before its records count as failed.
    firehose_lambda_default_retries: int = sourced(3, "FH-T (failure handling)", "retries")
    firehose_lambda_max_retries: int = sourced(300, "BC-F NumberOfRetries", "retries")
    # Kinesis stream as source: Firehose starts at LATEST and calls GetRecords once per second per shard.
    firehose_kinesis_poll_seconds: float = sourced(1.0, "FH-KDS", "seconds between GetRecords per shard")
    # Firehose streams per account and Region: 5,000 in the five largest Regions (FH-Q); elsewhere
    # FH-Q says "2,000, 500 or 100": limits_for_region picks 2,000 (CHOSEN).
    firehose_delivery_stream_quota: int = sourced(5_000, "FH-Q", "Firehose streams")
    # CHOSEN: how long CREATING / DELETING last in virtual time (AWS gives no figure).
    firehose_creating_seconds: float = sourced(5.0, "CHOSEN", "seconds")
    firehose_deleting_seconds: float = sourced(5.0, "CHOSEN", "seconds")


    @property
    def on_demand_initial_write_bytes_per_second(self) -> int:
        """Write capacity of a new on-demand stream: 4 MiB/s with the defaults (Q-NOW)."""
        return self.on_demand_initial_shards * self.shard_write_bytes_per_second

    @property
    def on_demand_initial_write_records_per_second(self) -> int:
        """4,000 records/s with the defaults: 4 shards x 1,000 (derived; see facts §5)."""
        return self.on_demand_initial_shards * self.shard_write_records_per_second




def _firehose_regional(region: str) -> dict:
    """Firehose quotas that depend on the Region (FH-Q); empty in the largest Regions."""
    changes: dict = {}
    if region not in LARGEST_REGIONS:
        changes.update(firehose_direct_put_records_per_second=100_000,
                       firehose_direct_put_requests_per_second=1_000,
                       firehose_direct_put_bytes_per_second=1 * MiB)
    if region not in FIREHOSE_LARGEST_STREAM_QUOTA_REGIONS:
        changes.update(firehose_delivery_stream_quota=2_000)
    return changes


def limits_for_region(region: str = "us-east-1") -> Limits:
    """Current defaults (Q-NOW, FH-Q) for a Region: the largest three get 20,000 shards, 10 GiB/s
    on-demand write and the Firehose Direct PUT quota of 500,000 records/s, 2,000 requests/s and
    5 MiB/s; others 6,000 shards, 200 MiB/s and 100,000 records/s, 1,000 requests/s, 1 MiB/s."""
    if region in LARGEST_REGIONS:
        return Limits(region=region, **_firehose_regional(region))
    return Limits(
        region=region,
        account_shard_quota=6_000,
        on_demand_max_write_bytes_per_second=200 * MiB,
        **_firehose_regional(region),
    )


def limits_2022(region: str = "us-east-1") -> Limits:
    """The defaults many course notes still quote (Q-2022): 500 shards per account in the largest
    Regions and 200 elsewhere, on-demand at most 200 MiB/s write everywhere, PutRecords requests
    up to 5 MiB, UpdateShardCount twice per 24 h."""
    return Limits(
        region=region,
        account_shard_quota=500 if region in LARGEST_REGIONS else 200,
        on_demand_max_write_bytes_per_second=200 * MiB,
        put_records_max_request_bytes=5 * MiB,
        update_shard_count_calls_per_24h=2,
    )
