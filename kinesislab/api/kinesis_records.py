"""Kinesis data plane: PutRecord, PutRecords, GetShardIterator, GetRecords."""

from __future__ import annotations

from collections import Counter
from itertools import compress
from operator import add

from kinesislab.api.errors import ServiceError
from kinesislab.api.iterators import IteratorState, decode_iterator, encode_iterator
from kinesislab.api.registry import operation
from kinesislab.api.validation import CheckedEntries, common_length
from kinesislab.engine.columns import take
from kinesislab.engine.hashing import MAX_HASH_KEY
from kinesislab.engine.sequence import shard_index_of
from kinesislab.engine.shard import Shard, ShardRead, shard_id_for
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
    record = stream.store(shard, partition_key, data, size)
    _accepted(client, stream, shard, size)
    client.stream_metric(stream, "PutRecord.Success", 1)
    return {"ShardId": shard.shard_id, "SequenceNumber": record.sequence_text, "EncryptionType": "NONE"}


def _general_columns(stream: Stream, records: list[dict]) -> tuple:
    """The columns of :func:`_checked_columns` for any valid request: blobs of every kind boto3
    accepts, missing partition keys (AUTO streams), explicit hash keys. Raises what the service
    raises for the first entry it refuses (entries are checked in order)."""
    data_column, keys, explicit_column, encoded, sizes = [], [], [], [], []
    max_record_size = stream.max_record_size_bytes
    for entry in records:
        data = entry["Data"]
        if data.__class__ is not bytes:
            data = as_bytes(data)
        partition_key = entry.get("PartitionKey")
        if partition_key is None:
            partition_key = _missing_partition_key(stream)
        encoded_key = str.encode(partition_key)
        size = len(data) + len(encoded_key)
        if size > max_record_size:
            _check_size(stream, size)
        data_column.append(data)
        keys.append(partition_key)
        explicit_column.append(_explicit_hash_key(entry.get("ExplicitHashKey")))
        encoded.append(encoded_key)
        sizes.append(size)
    explicit = explicit_column if any(e is not None for e in explicit_column) else None
    return data_column, keys, explicit, encoded, sizes, common_length(sizes)


def _record_sizes(data_lengths: list[int], common_data_length: int | None, encoded_keys: list[bytes],
                  common_key_bytes: int | None) -> tuple[list[int], int | None]:
    """Each record's size (data plus UTF-8 key, bytes) and their common value if all are equal.
    Equal sizes (fixed-size keys and payloads: the common case) are known without a pass per record."""
    if common_data_length is not None and common_key_bytes is not None:
        size = common_data_length + common_key_bytes
        return [size] * len(data_lengths), size
    sizes = list(map(add, data_lengths, map(len, encoded_keys)))
    return sizes, common_length(sizes)


def _checked_columns(stream: Stream, checked: CheckedEntries) -> tuple | None:
    """The columns of entries the validator found plainly valid, with their UTF-8 keys and record
    sizes -- or None if the service would refuse one (too large, or an explicit hash key above
    2**128 - 1): then the general path reports the first such entry, as entries are checked in order."""
    data, keys, data_lengths, common_data_length, common_key_bytes, explicit_texts = checked
    explicit = None
    if explicit_texts is not None:
        explicit = [None if text is None else int(text) for text in explicit_texts]
        if max(key for key in explicit if key is not None) > MAX_HASH_KEY:
            return None
    encoded = list(map(str.encode, keys))
    sizes, common_size = _record_sizes(data_lengths, common_data_length, encoded, common_key_bytes)
    if (common_size if common_size is not None else max(sizes)) > stream.max_record_size_bytes:
        return None
    return data, keys, explicit, encoded, sizes, common_size


@operation(KINESIS, "PutRecords")
def put_records(client, params: dict, checked: CheckedEntries | None = None) -> dict:
    """PutRecords, a batch at a time.

    The entries are taken as columns (``checked``: from the validator, which already built them
    when every entry was plainly valid), checked as the service checks them, then routed, admitted and
    stored by the engine's batch methods (``Stream.put_many``), which give exactly what
    ``route``/``offer``/``store`` give record by record. Metric and usage updates are summed per
    call -- integer sums, so the per-second totals are the same as record by record -- and shard
    ids and throttle messages are built once per shard.
    """
    stream = client.resolve_stream(params, allow_statuses=WRITABLE)
    limits = client.sim.limits
    columns = None if checked is None else _checked_columns(stream, checked)
    if columns is None:
        columns = _general_columns(stream, params["Records"])
    data, keys, explicit, encoded, sizes, uniform_size = columns
    entry_count = len(keys)
    total = uniform_size * entry_count if uniform_size is not None else sum(sizes)
    if total > limits.put_records_max_request_bytes:
        raise ServiceError("InvalidArgumentException",
                           f"Records size {total} bytes exceeds the PutRecords request limit of "
                           f"{limits.put_records_max_request_bytes} bytes (data plus partition keys).")
    shards, positions, admission, sequence_numbers = stream.put_many(keys, encoded, data, sizes, explicit,
                                                                     uniform_size)
    shard_ids = [shard.shard_id for shard in shards]
    accepted = admission.accepted
    if accepted is None:
        results = [{"SequenceNumber": number, "ShardId": shard_id}
                   for number, shard_id in zip(sequence_numbers, take(shard_ids, positions))]
        failed = 0
        accepted_sizes = {uniform_size: entry_count} if uniform_size is not None else Counter(sizes)
    else:
        positions = positions.tolist()
        throttle_messages = [_throttle_message(client, stream, shard) for shard in shards]
        numbers = iter(sequence_numbers)
        results = [{"SequenceNumber": next(numbers), "ShardId": shard_ids[position]} if ok else
                   {"ErrorCode": "ProvisionedThroughputExceededException",
                    "ErrorMessage": throttle_messages[position]}
                   for ok, position in zip(accepted, positions)]
        failed = entry_count - len(sequence_numbers)
        accepted_sizes = Counter(compress(sizes, accepted))
    succeeded = entry_count - failed
    metrics = []
    if succeeded:
        metrics += (("IncomingBytes", sum(admission.accepted_bytes)), ("IncomingRecords", succeeded))
    if failed:
        metrics.append(("WriteProvisionedThroughputExceeded", failed))
    if stream.enhanced_metrics:
        for shard_id, count, size_sum, throttled in zip(shard_ids, admission.accepted_records,
                                                         admission.accepted_bytes, admission.throttled_records):
            if count:
                client.shard_metric(stream, shard_id, "IncomingBytes", size_sum)
                client.shard_metric(stream, shard_id, "IncomingRecords", count)
            if throttled:
                client.shard_metric(stream, shard_id, "WriteProvisionedThroughputExceeded", throttled)
    usage = stream.usage
    for size, count in accepted_sizes.items():
        usage.accepted(size, count)
    metrics += (("PutRecords.TotalRecords", entry_count), ("PutRecords.SuccessfulRecords", succeeded),
                ("PutRecords.ThrottledRecords", failed), ("PutRecords.FailedRecords", 0),
                ("PutRecords.Bytes", total), ("PutRecords.Success", 1 if succeeded else 0))
    client.stream_metrics(stream, metrics)
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
    return max(0, round((now - shard.arrival_at(next_position)) * 1000))


def records_response(to_datetime, shard: Shard, read: ShardRead) -> list[dict]:
    """GetRecords' ``Records`` list (and SubscribeToShard events') for what a shard read covers.

    Records that arrived at the same instant share one datetime, built once per run rather than
    per record (datetimes are immutable: sharing one is indistinguishable from building each).
    """
    out: list[dict] = []
    texts, data, keys = shard.sequence_texts, shard.data, shard.partition_keys
    for arrival, first, stop in shard.runs(read.position, read.count):
        stamp = to_datetime(arrival)
        out += [{"SequenceNumber": sequence, "ApproximateArrivalTimestamp": stamp, "Data": blob,
                 "PartitionKey": partition_key, "EncryptionType": "NONE"}
                for sequence, blob, partition_key in zip(texts[first:stop], data[first:stop], keys[first:stop])]
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
    read = shard.read(position, min(limit, limits.get_records_max_records), limits.get_records_max_bytes)
    count, size = read.count, read.size_bytes
    budget.charge(shard.slot, size)
    next_position = position + count
    now = sim.clock.time
    iterator_age = round((now - shard.arrival_at(next_position - 1)) * 1000) if count else 0
    if not count and next_position < shard.end_position:
        iterator_age = millis_behind_latest(now, shard, next_position)
    for metric, value in (("GetRecords.Bytes", size), ("GetRecords.Records", count), ("GetRecords.Success", 1),
                          ("GetRecords.IteratorAgeMilliseconds", iterator_age)):
        client.stream_metric(stream, metric, value)
    for metric, value in (("OutgoingBytes", size), ("OutgoingRecords", count),
                          ("IteratorAgeMilliseconds", iterator_age)):
        client.shard_metric(stream, shard.shard_id, metric, value)
    stream.usage.read(size, enhanced_fan_out=False)
    response = {
        "Records": records_response(client.to_datetime, shard, read),
        "MillisBehindLatest": millis_behind_latest(now, shard, next_position),
    }
    if not shard.is_open and next_position >= shard.end_position:
        # The service sends null, which botocore drops: the key is absent, .get() gives None.
        response["ChildShards"] = child_shards(stream, shard)
    else:
        response["NextShardIterator"] = encode_iterator(
            IteratorState(stream.name, state.stream_created_millis, shard.shard_id, next_position, sim.clock.millis))
    return response

