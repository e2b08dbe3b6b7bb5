"""Lambda data transformation, with a plain Python function in place of the Lambda.

Lab-only registry: a delivery stream's ``ProcessingConfiguration`` names a Lambda by ARN, as on
AWS; :func:`register_transform` says which Python callable answers for that ARN::

    import base64
    from kinesislab.firehose import register_transform

    def upper(event, context=None):
        return {"records": [
            {"recordId": r["recordId"], "result": "Ok",
             "data": base64.b64encode(base64.b64decode(r["data"]).upper()).decode()}
            for r in event["records"]]}

    register_transform("arn:aws:lambda:us-east-1:123456789012:function:upper", upper)

The function gets the event Firehose sends a Lambda (``invocationId``, ``deliveryStreamArn``,
``region``, ``records`` of ``recordId``, ``approximateArrivalTimestamp`` in ms, base64
``data``, and ``kinesisRecordMetadata`` for a Kinesis source) and returns
``{"records": [{"recordId", "result": "Ok" | "Dropped" | "ProcessingFailed", "data"}]}``. A
function of two parameters also gets ``context=None``. The call takes no virtual time.

Outcomes (FH-T and the failure-handling page): ``Ok`` records go on to the destination buffer,
``Dropped`` ones disappear (counted), ``ProcessingFailed`` ones are written to the error prefix
(``processing-failed/`` by default). A function that raises is retried ``NumberOfRetries``
times (default 3); if it still raises, the whole batch fails with ``Lambda.FunctionError``.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

TransformFunction = Callable[..., Any]

_REGISTRY: dict[str, TransformFunction] = {}

RESULTS = ("Ok", "Dropped", "ProcessingFailed")
# Error codes and messages as Firehose writes them into processing-failed records (the
# MissingRecordId message is copied from a pasted real error; the others follow the same style).
MISSING_RECORD_ID = ("Lambda.MissingRecordId", "One or more record Ids were not returned. Ensure that the "
                     "Lambda function returns all received record Ids.")
DUPLICATED_RECORD_ID = ("Lambda.DuplicatedRecordId", "Multiple records were returned with the same record ID. "
                        "Ensure that the Lambda function returns unique record IDs for each record.")
PROCESSING_FAILED = ("Lambda.ProcessingFailedStatus", "ProcessingFailed status set for record")
BAD_RESPONSE = "Lambda.JsonProcessingException"
FUNCTION_ERROR = "Lambda.FunctionError"


def register_transform(lambda_arn: str, function: TransformFunction) -> None:
    """Make ``function`` answer for the Lambda ``lambda_arn`` in every simulator (lab-only)."""
    if not callable(function):
        raise TypeError("register_transform needs a callable taking the Firehose Lambda event")
    _REGISTRY[lambda_arn] = function


def unregister_transform(lambda_arn: str) -> None:
    """Forget the function registered for ``lambda_arn`` (no error if there is none)."""
    _REGISTRY.pop(lambda_arn, None)


def registered_transform(lambda_arn: str) -> TransformFunction | None:
    """The function registered for ``lambda_arn``, or None."""
    return _REGISTRY.get(lambda_arn)


@dataclass
class TransformOutcome:
    """What one (possibly retried) invocation made of its records."""

    ok: list[tuple[Any, bytes]] = field(default_factory=list)        # (record, transformed data)
    dropped: list[Any] = field(default_factory=list)
    failed: list[tuple[Any, str, str]] = field(default_factory=list)  # (record, errorCode, errorMessage)
    attempts: int = 0


def _call(function: TransformFunction, event: dict) -> Any:
    try:
        positional = [p for p in inspect.signature(function).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):  # builtins without a signature
        positional = []
    return function(event, None) if len(positional) >= 2 else function(event)


class LambdaTransform:
    """A Lambda processor: the function, its ARN, its own buffer hints and retry count."""

    def __init__(self, function: TransformFunction, lambda_arn: str, buffer_size_bytes: int,
                 buffer_interval_seconds: float, retries: int):
        self.function = function
        self.lambda_arn = lambda_arn
        self.buffer_size_bytes = int(buffer_size_bytes)
        self.buffer_interval_seconds = float(buffer_interval_seconds)
        self.retries = int(retries)
        self.invocations = 0

    def invoke(self, records: list, event_records: list[dict], header: dict) -> TransformOutcome:
        """Run the function on ``records`` (whose Lambda-event entries are ``event_records``).

        ``header`` holds the event's other fields (deliveryStreamArn, region); each attempt
        gets a fresh deterministic ``invocationId``.
        """
        outcome = TransformOutcome()
        while True:
            outcome.attempts += 1
            self.invocations += 1
            event = {"invocationId": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{header['deliveryStreamArn']}/"
                                                    f"invocation/{self.invocations}")),
                     **header, "records": [dict(r) for r in event_records]}
            try:
                response = _call(self.function, event)
                break
            except Exception as error:  # noqa: BLE001 - a Lambda's own failure, reported like Firehose does
                if outcome.attempts > self.retries:
                    message = f"{type(error).__name__}: {error}"
                    outcome.failed = [(record, FUNCTION_ERROR, message) for record in records]
                    return outcome
        return self._interpret(records, event_records, response, outcome)

    @staticmethod
    def _interpret(records: list, event_records: list[dict], response: Any,
                   outcome: TransformOutcome) -> TransformOutcome:
        """Sort ``records`` into ok / dropped / failed by the function's ``response``."""
        entries = response.get("records") if isinstance(response, dict) else None
        if not isinstance(entries, list):
            message = "The Lambda function's response has no 'records' list."
            outcome.failed = [(record, BAD_RESPONSE, message) for record in records]
            return outcome
        by_id: dict[str, dict] = {}
        duplicated: set[str] = set()
        for entry in entries:
            record_id = entry.get("recordId") if isinstance(entry, dict) else None
            if record_id in by_id:
                duplicated.add(record_id)
            elif record_id is not None:
                by_id[record_id] = entry
        for record, sent in zip(records, event_records):
            record_id = sent["recordId"]
            entry = by_id.get(record_id)
            if record_id in duplicated:
                outcome.failed.append((record, *DUPLICATED_RECORD_ID))
            elif entry is None:
                outcome.failed.append((record, *MISSING_RECORD_ID))
            elif entry.get("result") not in RESULTS:
                outcome.failed.append((record, BAD_RESPONSE, f"Invalid result {entry.get('result')!r}: must be "
                                                             f"one of Ok, Dropped, ProcessingFailed."))
            elif entry["result"] == "Dropped":
                outcome.dropped.append(record)
            elif entry["result"] == "ProcessingFailed":
                outcome.failed.append((record, *PROCESSING_FAILED))
            else:
                try:
                    data = base64.b64decode(entry.get("data", ""), validate=True)
                except (binascii.Error, TypeError, ValueError):
                    outcome.failed.append((record, BAD_RESPONSE, "The 'data' of an Ok record is not valid base64."))
                    continue
                outcome.ok.append((record, data))
        return outcome
