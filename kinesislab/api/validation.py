"""Request validation in two layers, both read from botocore's service model.

1. What boto3 checks on the client before sending (required members, types, minimum lengths
   and values): botocore's own ``ParamValidator``; failures raise botocore's
   ``ParamValidationError``, exactly as ``boto3.client("kinesis")`` does.
2. What the service checks on arrival (maximum lengths and values, patterns, enums): failures
   raise ``ValidationException`` with the AWS JSON services' message format
   ("1 validation error detected: Value '...' at '...' failed to satisfy constraint: ...").
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from botocore.exceptions import ParamValidationError
from botocore.model import Shape
from botocore.validate import ParamValidator

from kinesislab.api.errors import ServiceError
from kinesislab.api.service_model import service_model

_MAX_LISTED_ERRORS = 10


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _service_side_errors(value, shape: Shape, path: str, errors: list[str]) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _service_side_errors(value[name], member, f"{path}.{_lower_camel(name)}" if path else _lower_camel(name), errors)
        return
    if kind == "list":
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: "
                          f"Member must have length less than or equal to {meta['max']}")
        for index, item in enumerate(value, start=1):
            _service_side_errors(item, shape.member, f"{path}.{index}.member", errors)
        return
    if kind == "map":
        # botocore checks no map (or blob) lengths on the client, so the service checks both ends.
        if "min" in meta and len(value) < meta["min"]:
            errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: "
                          f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: "
                          f"Member must have length less than or equal to {meta['max']}")
        for key, item in value.items():
            _service_side_errors(key, shape.key, f"{path}.key", errors)
            _service_side_errors(item, shape.value, f"{path}.value", errors)
        return
    if kind in ("string", "blob"):
        length = len(value)
        if kind == "blob" and "min" in meta and length < meta["min"]:
            errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: "
                          f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and length > meta["max"]:
            errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: "
                          f"Member must have length less than or equal to {meta['max']}")
        if kind == "string":
            if shape.enum and value not in shape.enum:
                errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                              f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
            elif "pattern" in meta and not _compiled(meta["pattern"]).fullmatch(value):
                errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                              f"Member must satisfy regular expression pattern: {meta['pattern']}")
        return
    if kind in ("integer", "long", "double", "float"):
        if "max" in meta and value > meta["max"]:
            errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                          f"Member must have value less than or equal to {meta['max']}")


@lru_cache(maxsize=None)
def _put_records_entry_rules() -> tuple:
    """PutRecords' entry constraints, read from the model once: (min entries, max entries,
    allowed members, max Data bytes, min and max PartitionKey length, ExplicitHashKey matcher)."""
    operation = service_model("kinesis").operation_model("PutRecords")
    records = operation.input_shape.members["Records"]
    entry = records.member
    key = entry.members["PartitionKey"].metadata
    return (records.metadata["min"], records.metadata["max"], frozenset(entry.members),
            entry.members["Data"].metadata["max"], key["min"], key["max"],
            _compiled(entry.members["ExplicitHashKey"].metadata["pattern"]).fullmatch)


def _surely_valid_entries(records) -> bool:
    """True when every PutRecords entry certainly passes both layers (the common case); False
    means "not sure", and the full validators run and report exactly as always."""
    fewest, most, members, max_data, min_key, max_key, explicit_ok = _put_records_entry_rules()
    if type(records) is not list or not fewest <= len(records) <= most:
        return False
    for entry in records:
        if type(entry) is not dict or not members.issuperset(entry):
            return False
        data, key = entry.get("Data"), entry.get("PartitionKey")
        if type(data) is not bytes or len(data) > max_data or type(key) is not str or not min_key <= len(key) <= max_key:
            return False
        explicit = entry.get("ExplicitHashKey")
        if explicit is not None and (type(explicit) is not str or not explicit_ok(explicit)):
            return False
    return True


def validate_request(service_name: str, operation_name: str, params: dict) -> None:
    """Raise as boto3 and then the service would for a request that breaks the model.

    Raises botocore's ``ParamValidationError`` (client side) or ``ServiceError``
    ``ValidationException`` (service side). Returns quietly for a valid request. PutRecords'
    entries are checked by a fast path (the same rules, read from the model) when they are
    plainly valid; the generic walk then only checks the rest of the request.
    """
    if (service_name == "kinesis" and operation_name == "PutRecords" and type(params) is dict
            and _surely_valid_entries(params.get("Records"))):
        params = {**params, "Records": params["Records"][:1]}
    _validate_request(service_name, operation_name, params)


def _validate_request(service_name: str, operation_name: str, params: dict) -> None:
    operation = service_model(service_name).operation_model(operation_name)
    input_shape = operation.input_shape
    if input_shape is None:
        if params:
            raise ParamValidationError(report=f"Unknown parameter in input: {sorted(params)[0]!r}, must be one of: ")
        return
    report = ParamValidator().validate(params, input_shape)
    if report.has_errors():
        raise ParamValidationError(report=report.generate_report())
    errors: list[str] = []
    _service_side_errors(params, input_shape, "", errors)
    if errors:
        count = len(errors)
        noun = "validation error" if count == 1 else "validation errors"
        raise ServiceError("ValidationException",
                           f"{count} {noun} detected: " + "; ".join(errors[:_MAX_LISTED_ERRORS]))
