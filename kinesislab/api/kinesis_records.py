"""Kinesis data plane: PutRecord, PutRecords, GetShardIterator, GetRecords."""

from __future__ import annotations

from kinesislab.api.errors import ServiceError
from kinesislab.api.iterators import IteratorState, decode_iterator, encode_iterator
from kinesislab.api.registry import operation
from kinesislab.engine.hashing import MAX_HASH_KEY, hash_key
from kinesislab.engine.sequence import shard_index_of
from kinesislab.engine.shard import Shard, shard_id_for
from kinesislab.engine.stream import Stream

KINESIS = "kinesis"
WRITABLE = ("ACTIVE", "UPDATING")


def as_bytes(data) -> bytes:
    """Blob parameters as boto3 accepts them: bytes, bytearray, str (UTF-8) or a file-like object."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    return as_bytes(data.read())


def _explicit_hash_key(value: str | None) -> int | None:
    if value is None:
        return None
    key = int(value)
    if key > MAX_HASH_KEY:
        raise ServiceError("InvalidArgumentException",
                           f"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                           f"Specified value was {value}")
    return key


def _check_size(stream: Stream, size: int) -> None:
    if size > stream.max_record_size_bytes:
        raise ServiceError("InvalidArgumentException",
                           f"Record size {size} bytes (data plus partition key) exceeds the stream's maximum record "
                           f"size of {stream.max_record_size_bytes} bytes ({stream.max_record_size_kib} KiB).")


def _missing_partition_key(stream: Stream) -> str:
    """The model makes PartitionKey optional (for RecordDistributionStrategy AUTO, facts §5); a
    stream that routes by key refuses a record without one. AUTO records get the empty key
    (what the service stores for them is UNCONFIRMED)."""
    if stream.record_distribution != "AUTO":
        raise ServiceError("InvalidArgumentException",
                           f"PartitionKey is required for stream {stream.name}: its RecordDistributionStrategy "
                           f"is {stream.record_distribution}.")
    return ""


def _throttle_message(client, stream: Stream, shard: Shard) -> str:
    return f"Rate exceeded for shard {shard.shard_id} in stream {stream.name} under account {client.sim.account_id}."


def _accepted(client, stream: Stream, shard: Shard, size: int) -> None:
    client.stream_metric(stream, "IncomingBytes", size)
    client.stream_metric(stream, "IncomingRecords", 1)
    client.shard_metric(stream, shard.shard_id, "IncomingBytes", size)
    client.shard_metric(stream, shard.shard_id, "IncomingRecords", 1)
    stream.usage.accepted(size)


def _throttled(client, stream: Stream, shard: Shard) -> None:
    client.stream_metric(stream, "WriteProvisionedThroughputExceeded", 1)
    client.shard_metric(stream, shard.shard_id, "WriteProvisionedThroughputExceeded", 1)


@operation(KINESIS, "PutRecord")
def put_record(client, params: dict) -> dict:
    stream = client.resolve_stream(params, allow_statuses=WRITABLE)
    data = as_bytes(params["Data"])
    partition_key = params.get("PartitionKey")
    if partition_key is None:
        partition_key = _missing_partition_key(stream)
    explicit = _explicit_hash_key(params.get("ExplicitHashKey"))
    if "SequenceNumberForOrdering" in params and stream.record_distribution == "AUTO":
        raise ServiceError("InvalidArgumentException",
                           "SequenceNumberForOrdering is not supported when RecordDistributionStrategy=AUTO.")
    size = stream.record_size(partition_key, data)
    _check_size(stream, size)
    shard = stream.route(partition_key, explicit)
    client.stream_metric(stream, "PutRecord.Bytes", size)
    if not stream.offer(shard, size):
        _throttled(client, stream, shard)
        client.stream_metric(stream, "PutRecord.Success", 0)
        raise ServiceError("ProvisionedThroughputExceededException", _throttle_message(client, stream, shard))
    record = stream.store(shard, partition_key, data, size, explicit)
    _accepted(client, stream, shard, size)
    client.stream_metric(stream, "PutRecord.Success", 1)
    return {"ShardId": shard.shard_id, "SequenceNumber": str(record.sequence_number), "EncryptionType": "NONE"}


@operation(KINESIS, "PutRecords")
def put_records(client, params: dict) -> dict:
    """PutRecords, with the per-record work cut to what each record needs.

    Records are admitted and stored one at a time through the engine's public ``Stream.offer`` and
    ``Stream.store`` (so throttling, demand tracking and sequence numbers are exactly those of the
    record-level path); what is the same for every record of the call is done once per call:
    metric and usage updates are summed per call (per shard, per record size) before they are
    recorded -- all integer sums, so the per-second totals are identical -- and shard ids and
    throttle messages are built once per shard.
    """
    stream = client.resolve_stream(params, allow_statuses=WRITABLE)
    limits = client.sim.limits
    record_size = stream.record_size
    max_record_size = stream.max_record_size_bytes
    entries = []
    total = 0
    # Validate every entry before admitting any: a request that fails changes nothing.
    for entry in params["Records"]:
        data = entry["Data"]
        if data.__class__ is not bytes:
            data = as_bytes(data)
        partition_key = entry.get("PartitionKey")
        if partition_key is None:
            partition_key = _missing_partition_key(stream)
        size = record_size(partition_key, data)
        if size > max_record_size:
            _check_size(stream, size)
        explicit = entry.get("ExplicitHashKey")
        if explicit is not None:
            explicit = _explicit_hash_key(explicit)
        entries.append((data, partition_key, explicit, size))
        total += size
    if total > limits.put_records_max_request_bytes:
        raise ServiceError("InvalidArgumentException",
                           f"Records size {total} bytes exceeds the PutRecords request limit of "
                           f"{limits.put_records_max_request_bytes} bytes (data plus partition keys).")
    results = []
    append = results.append
    offer = stream.offer
    store = stream.store
    auto = stream.record_distribution == "AUTO"
    route = stream.route
    shard_for_hash_key = stream.shard_for_hash_key
    # Per call, keyed by id(shard): [shard, shard_id, accepted records, accepted bytes, throttled records].
    per_shard: dict[int, list] = {}
    accepted_sizes: dict[int, int] = {}   # record size -> accepted records, in first-accepted order
    accepted_bytes = 0
    failed = 0
    for data, partition_key, explicit, size in entries:
        if auto:
            shard = route(partition_key, explicit)
        else:
            shard = shard_for_hash_key(hash_key(partition_key) if explicit is None else explicit)
        tally = per_shard.get(id(shard))
        if tally is None:
            tally = per_shard[id(shard)] = [shard, shard.shard_id, 0, 0, 0]
        if offer(shard, size):
            record = store(shard, partition_key, data, size, explicit)
            tally[2] += 1
            tally[3] += size
            accepted_bytes += size
            accepted_sizes[size] = accepted_sizes.get(size, 0) + 1
            append({"SequenceNumber": str(record.sequence_number), "ShardId": tally[1]})
        else:
            failed += 1
            tally[4] += 1
            append({"ErrorCode": "ProvisionedThroughputExceededException",
                    "ErrorMessage": _throttle_message(client, stream, shard)})
    succeeded = len(entries) - failed
    if succeeded:
        client.stream_metric(stream, "IncomingBytes", accepted_bytes)
        client.stream_metric(stream, "IncomingRecords", succeeded)
    if failed:
        client.stream_metric(stream, "WriteProvisionedThroughputExceeded", failed)
    if stream.enhanced_metrics:
        for shard, shard_id, count, size_sum, throttled in per_shard.values():
            if count:
                client.shard_metric(stream, shard_id, "IncomingBytes", size_sum)
                client.shard_metric(stream, shard_id, "IncomingRecords", count)
            if throttled:
                client.shard_metric(stream, shard_id, "WriteProvisionedThroughputExceeded", throttled)
    usage = stream.usage
    for size, count in accepted_sizes.items():
        usage.accepted(size, count)
    for metric, value in (("PutRecords.TotalRecords", len(entries)), ("PutRecords.SuccessfulRecords", succeeded),
                          ("PutRecords.ThrottledRecords", failed), ("PutRecords.FailedRecords", 0),
                          ("PutRecords.Bytes", total), ("PutRecords.Success", 1 if succeeded else 0)):
        client.stream_metric(stream, metric, value)
    return {"FailedRecordCount": failed, "Records": results, "EncryptionType": "NONE"}


@operation(KINESIS, "GetShardIterator")
def get_shard_iterator(client, params: dict) -> dict:
    sim = client.sim
    stream = client.resolve_stream(params, allow_statuses=WRITABLE)
    shard = stream.get_shard(params["ShardId"])
    kind = params["ShardIteratorType"]
    sequence = params.get("StartingSequenceNumber")
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and sequence is None:
        raise ServiceError("InvalidArgumentException",
                           f"Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                           f"StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
                           f"Request specified {kind} and no StartingSequenceNumber.")
    if kind not in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and sequence is not None:
        raise ServiceError("InvalidArgumentException",
                           f"Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                           f"StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
                           f"Request specified {kind} and also a StartingSequenceNumber.")
    if kind == "AT_TIMESTAMP" and "Timestamp" not in params:
        raise ServiceError("InvalidArgumentException",
                           "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                           "Current request has no timestamp parameter.")
    position = _start_position(client, stream, shard, kind, sequence, params.get("Timestamp"))
    if not stream.iterator_call_allowed(shard):
        raise ServiceError("ProvisionedThroughputExceededException",
                           f"Rate exceeded for shard {shard.shard_id} in stream {stream.name} under account "
                           f"{sim.account_id}.")
    state = IteratorState(stream.name, round(stream.created_seconds * 1000), shard.shard_id, position, sim.clock.millis)
    return {"ShardIterator": encode_iterator(state)}


def _start_position(client, stream: Stream, shard: Shard, kind: str, sequence: str | None, timestamp) -> int:
    stream.trim()
    if kind == "TRIM_HORIZON":
        return shard.first_position
    if kind == "LATEST":
        return shard.end_position
    if kind == "AT_TIMESTAMP":
        at = client.to_seconds(timestamp)
        if at > client.sim.clock.time:
            raise ServiceError("InvalidArgumentException",
                               f"The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                               f"timestampInMillis: {round(at * 1000)}, currentTimestampInMillis: {client.sim.clock.millis}")
        return shard.position_at_time(at)
    number = int(sequence)
    encoded = shard_index_of(number)
    if encoded is None:
        raise ServiceError("InvalidArgumentException",
                           f"StartingSequenceNumber {sequence} used in GetShardIterator on shard {shard.shard_id} "
                           f"in stream {stream.name} under account {client.sim.account_id} is invalid.")
    if encoded != shard.index:
        raise ServiceError("InvalidArgumentException",
                           f"Invalid StartingSequenceNumber. It encodes {shard_id_for(encoded)}, while it was used in "
                           f"a call to a shard with {shard.shard_id}")
    return shard.position_at_sequence(number, after=(kind == "AFTER_SEQUENCE_NUMBER"))


def child_shards(stream: Stream, shard: Shard) -> list[dict]:
    """The ``ChildShards`` list of a fully read closed shard."""
    children = []
    for child_id in shard.child_shard_ids:
        child = stream.shards.get(child_id)
        if child is None:
            continue
        parents = [p for p in (child.parent_shard_id, child.adjacent_parent_shard_id) if p]
        children.append({"ShardId": child_id, "ParentShards": parents,
                         "HashKeyRange": child.hash_key_range.as_response()})
    return children


def millis_behind_latest(now: float, shard: Shard, next_position: int) -> int:
    """0 when nothing is left to read; otherwise how old the oldest unread record is (ms)."""
    if next_position >= shard.end_position:
        return 0
    oldest_unread = shard.records[next_position - shard.first_position]
    return max(0, round((now - oldest_unread.arrival_seconds) * 1000))


def _records_response(client, records: list) -> list[dict]:
    """GetRecords' ``Records`` list.

    A shard's records are in arrival order and those written in the same call (or virtual instant)
    share an arrival time, so the datetime is built once per run of equal arrival times, not once
    per record (datetimes are immutable: sharing one is indistinguishable from building each).
    """
    to_datetime = client.to_datetime
    out = []
    append = out.append
    last_arrival = None
    stamp = None
    for r in records:
        arrival = r.arrival_seconds
        if arrival != last_arrival:
            stamp = to_datetime(arrival)
            last_arrival = arrival
        append({"SequenceNumber": str(r.sequence_number), "ApproximateArrivalTimestamp": stamp,
                "Data": r.data, "PartitionKey": r.partition_key, "EncryptionType": "NONE"})
    return out


@operation(KINESIS, "GetRecords")
def get_records(client, params: dict) -> dict:
    sim = client.sim
    limits = sim.limits
    token = params["ShardIterator"]
    state = decode_iterator(token)
    if state is None:
        raise ServiceError("InvalidArgumentException", "Invalid ShardIterator.")
    stream = sim.streams.get(state.stream_name)
    if stream is None or round(stream.created_seconds * 1000) != state.stream_created_millis:
        raise ServiceError("ResourceNotFoundException",
                           f"Stream {state.stream_name} under account {sim.account_id} not found.")
    age_millis = sim.clock.millis - state.issued_millis
    if age_millis > limits.iterator_lifetime_seconds * 1000:
        issued = client.to_datetime(state.issued_millis / 1000).strftime("%a %b %d %H:%M:%S UTC %Y")
        now = sim.now.strftime("%a %b %d %H:%M:%S UTC %Y")
        raise ServiceError("ExpiredIteratorException",
                           f"Iterator expired. The iterator was created at time {issued} while right now it is {now} "
                           f"which is further in the future than the tolerated delay of "
                           f"{int(limits.iterator_lifetime_seconds * 1000)} milliseconds.")
    shard = stream.get_shard(state.shard_id)
    limit = params.get("Limit", limits.get_records_max_records)
    budget = stream.read_budget
    budget.refill(sim.clock.time)
    if not budget.admit_call(shard.slot):
        client.stream_metric(stream, "ReadProvisionedThroughputExceeded", 1)
        client.shard_metric(stream, shard.shard_id, "ReadProvisionedThroughputExceeded", 1)
        raise ServiceError("ProvisionedThroughputExceededException",
                           f"Rate exceeded for Shard - {sim.account_id}/{stream.name}/{shard.shard_id}")
    stream.trim()
    position = max(state.position, shard.first_position)
    records = shard.records_from(position, min(limit, limits.get_records_max_records), limits.get_records_max_bytes)
    size = sum([r.size_bytes for r in records])
    budget.charge(shard.slot, size)
    next_position = position + len(records)
    now = sim.clock.time
    iterator_age = round((now - records[-1].arrival_seconds) * 1000) if records else 0
    if not records and next_position < shard.end_position:
        iterator_age = millis_behind_latest(now, shard, next_position)
    for metric, value in (("GetRecords.Bytes", size), ("GetRecords.Records", len(records)), ("GetRecords.Success", 1),
                          ("GetRecords.IteratorAgeMilliseconds", iterator_age)):
        client.stream_metric(stream, metric, value)
    for metric, value in (("OutgoingBytes", size), ("OutgoingRecords", len(records)),
                          ("IteratorAgeMilliseconds", iterator_age)):
        client.shard_metric(stream, shard.shard_id, metric, value)
    stream.usage.read(size, enhanced_fan_out=False)
    response = {
        "Records": _records_response(client, records),
        "MillisBehindLatest": millis_behind_latest(now, shard, next_position),
    }
    if not shard.is_open and next_position >= shard.end_position:
        # The service sends null, which botocore drops: the key is absent, .get() gives None.
        response["ChildShards"] = child_shards(stream, shard)
    else:
        response["NextShardIterator"] = encode_iterator(
            IteratorState(stream.name, state.stream_created_millis, shard.shard_id, next_position, sim.clock.millis))
    return response

