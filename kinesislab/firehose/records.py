"""Firehose data plane: PutRecord and PutRecordBatch (Direct PUT).

Throttling follows the service (BC-F, and "Slow down." as pasted from real responses in public
issues): PutRecord over the quota raises ``ServiceUnavailableException`` for the call;
PutRecordBatch over the *request* rate raises it for the call, and records over the record or
byte rate fail one by one with ``ErrorCode`` ``ServiceUnavailableException`` while the rest are
accepted (``FailedPutCount`` counts them). Both operations share one quota per stream.
"""

from __future__ import annotations

from kinesislab.api.errors import ServiceError
from kinesislab.api.kinesis_records import as_bytes
from kinesislab.api.registry import operation
from kinesislab.firehose.delivery import KINESIS_SOURCE, DeliveryStream

FIREHOSE = "firehose"
SLOW_DOWN = "Slow down."


def _direct_put_stream(client, name: str) -> DeliveryStream:
    stream = client.resolve(name, active=True)
    if stream.source_type == KINESIS_SOURCE:
        raise ServiceError("InvalidArgumentException",
                           "This operation is not permitted on KinesisStreamAsSource delivery stream type.")
    return stream


def _check_size(client, data: bytes) -> None:
    limit = client.sim.limits.firehose_record_max_bytes
    if len(data) > limit:
        raise ServiceError("InvalidArgumentException",
                           f"Record size {len(data)} bytes exceeds the maximum record size of {limit} bytes.")


@operation(FIREHOSE, "PutRecord")
def put_record(client, params: dict) -> dict:
    stream = _direct_put_stream(client, params["DeliveryStreamName"])
    data = as_bytes(params["Record"]["Data"])
    _check_size(client, data)
    now = client.sim.clock.time
    stream.totals["IncomingPutRequests"] += 1
    if not stream.quota.admit_request(now) or not stream.quota.admit_record(len(data)):
        stream.totals["ThrottledRecords"] += 1
        raise ServiceError("ServiceUnavailableException", SLOW_DOWN)
    return {"RecordId": stream.ingest(data), "Encrypted": False}


@operation(FIREHOSE, "PutRecordBatch")
def put_record_batch(client, params: dict) -> dict:
    limits = client.sim.limits
    stream = _direct_put_stream(client, params["DeliveryStreamName"])
    entries = [as_bytes(entry["Data"]) for entry in params["Records"]]
    # Validate the whole request before admitting anything: a refused request changes nothing.
    for data in entries:
        _check_size(client, data)
    if len(entries) > limits.firehose_put_record_batch_max_records:
        raise ServiceError("InvalidArgumentException",
                           f"PutRecordBatch accepts at most {limits.firehose_put_record_batch_max_records} records "
                           f"per call; got {len(entries)}.")
    total = sum(len(data) for data in entries)
    if total > limits.firehose_put_record_batch_max_bytes:
        # CHOSEN: the call is refused; the real wording for an oversized batch was not found.
        raise ServiceError("InvalidArgumentException",
                           f"Records size {total} bytes exceeds the PutRecordBatch limit of "
                           f"{limits.firehose_put_record_batch_max_bytes} bytes.")
    stream.totals["IncomingPutRequests"] += 1
    if not stream.quota.admit_request(client.sim.clock.time):
        stream.totals["ThrottledRecords"] += len(entries)
        raise ServiceError("ServiceUnavailableException", SLOW_DOWN)
    responses = []
    failed = 0
    for data in entries:
        if stream.quota.admit_record(len(data)):
            responses.append({"RecordId": stream.ingest(data)})
        else:
            failed += 1
            stream.totals["ThrottledRecords"] += 1
            responses.append({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": SLOW_DOWN})
    return {"FailedPutCount": failed, "Encrypted": False, "RequestResponses": responses}
