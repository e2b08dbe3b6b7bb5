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
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

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
    allowed members, min and max Data bytes, min and max PartitionKey length, ExplicitHashKey
    matcher)."""
    operation = service_model("kinesis").operation_model("PutRecords")
    records = operation.input_shape.members["Records"]
    entry = records.member
    data = entry.members["Data"].metadata
    key = entry.members["PartitionKey"].metadata
    return (records.metadata["min"], records.metadata["max"], frozenset(entry.members),
            data.get("min", 0), data["max"], key["min"], key["max"],
            _compiled(entry.members["ExplicitHashKey"].metadata["pattern"]).fullmatch)


class CheckedEntries(NamedTuple):
    """PutRecords entries that certainly pass both layers, as columns in entry order, with what
    checking them measured."""

    data: list[bytes]
    partition_keys: list[str]
    #: len(data[i]) in bytes, and their common value if they are all equal (else None)
    data_lengths: list[int]
    common_data_length: int | None
    #: The UTF-8 length of every partition key when they are all ASCII and equally long, else None.
    common_key_bytes: int | None
    #: Each entry's ExplicitHashKey or None; None altogether when no entry has one.
    explicit_hash_keys: list[str | None] | None


_data_of = itemgetter("Data")
_partition_key_of = itemgetter("PartitionKey")


def common_length(lengths: list[int]) -> int | None:
    """The length they all have, or None (one C pass; cheaper than min and max)."""
    first = lengths[0]
    return first if lengths.count(first) == len(lengths) else None


def _within(lengths: list[int], common: int | None, shortest: int, longest: int) -> bool:
    """Every length lies in ``shortest .. longest`` (``common``: their common length, if any)."""
    if common is not None:
        return shortest <= common <= longest
    return shortest <= min(lengths) and max(lengths) <= longest


def check_put_records_entries(records) -> CheckedEntries | None:
    """The entries as columns when every one certainly passes both layers (the common case);
    None means "not sure", and the full validators must run (they report exactly as always).

    Each rule is checked over the whole batch at once, so the loops run in C: every entry a
    ``dict`` with Data and PartitionKey and no member outside the model's; Data ``bytes`` within
    the model's lengths; PartitionKey a ``str`` within its lengths; an ExplicitHashKey, where
    present, a ``str`` matching the model's pattern.
    """
    fewest, most, members, min_data, max_data, min_key, max_key, explicit_ok = _put_records_entry_rules()
    if type(records) is not list or not fewest <= len(records) <= most:
        return None
    count = len(records)
    if type(records[0]) is not dict or len(set(map(type, records))) != 1:
        return None
    try:
        data = list(map(_data_of, records))
        keys = list(map(_partition_key_of, records))
        joined_keys = "".join(keys)  # raises TypeError unless every key is a str
    except (KeyError, TypeError):  # Data is required; PartitionKey is optional in the model (AUTO)
        return None
    if not all(map(isinstance, data, repeat(bytes))):
        return None
    data_lengths = list(map(len, data))
    key_lengths = list(map(len, keys))
    data_length, key_length = common_length(data_lengths), common_length(key_lengths)
    if (not _within(data_lengths, data_length, min_data, max_data)
            or not _within(key_lengths, key_length, min_key, max_key)):
        return None
    explicit = None
    # Every entry has Data and PartitionKey; more members than that in all means some entry has others.
    if sum(map(len, records)) != 2 * count:
        if not members.issuperset(set().union(*records)):
            return None
        explicit = [entry.get("ExplicitHashKey") for entry in records]
        for value, entry in zip(explicit, records):
            if value is None:
                if "ExplicitHashKey" in entry:  # present but None: botocore reports a type error
                    return None
            elif type(value) is not str or not explicit_ok(value):
                return None
    # An ASCII key's UTF-8 length is its length in characters.
    key_bytes = key_length if key_length is not None and joined_keys.isascii() else None
    return CheckedEntries(data, keys, data_lengths, data_length, key_bytes, explicit)


def validate_request(service_name: str, operation_name: str, params: dict) -> CheckedEntries | None:
    """Raise as boto3 and then the service would for a request that breaks the model.

    Raises botocore's ``ParamValidationError`` (client side) or ``ServiceError``
    ``ValidationException`` (service side). Returns quietly for a valid request. PutRecords'
    entries are checked a batch at a time (the same rules, read from the model) when they are
    plainly valid; the generic walk then only checks the rest of the request and the first entry,
    and the columns built on the way are returned, for the handler (None for anything else).
    """
    if service_name == "kinesis" and operation_name == "PutRecords" and type(params) is dict:
        records = params.get("Records")
        checked = check_put_records_entries(records)
        if checked is not None:
            _validate_put_records_rest(params, records)
            return checked
    _validate_request(service_name, operation_name, params)
    return None


#: Members of PutRecords requests (all but Records) found valid, as (name, type, value) tuples.
_valid_put_records_rests: set[tuple] = set()
_MAX_REMEMBERED_RESTS = 256


def _validate_put_records_rest(params: dict, records: list) -> None:
    """Validate a PutRecords request whose entries all certainly pass: the generic walk over the
    request with only its first entry. Its outcome then depends on the other members alone, so
    a set of them already found valid (the same stream named the same way, call after call)
    is remembered and not walked again; anything else is walked, and reports exactly as always."""
    try:
        rest = tuple(sorted((name, type(value), value) for name, value in params.items() if name != "Records"))
        hash(rest)
    except TypeError:  # an unhashable (so certainly unusual) member: just walk it
        rest = None
    if rest is not None and rest in _valid_put_records_rests:
        return
    _validate_request("kinesis", "PutRecords", {**params, "Records": records[:1]})
    if rest is not None:
        if len(_valid_put_records_rests) >= _MAX_REMEMBERED_RESTS:
            _valid_put_records_rests.clear()
        _valid_put_records_rests.add(rest)


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
