"""AWS JSON 1.1 on the wire <-> the Python values the clients take and return.

Conversions follow botocore's shapes: blobs travel as base64 text, timestamps as epoch seconds
(a JSON number). Walking the model keeps this exact for every operation.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone

from botocore.model import Shape


class WireError(ValueError):
    """A request body that does not fit its shape (sent back as SerializationException)."""


def from_wire(value, shape: Shape | None):
    """A JSON value of ``shape`` as the client's Python parameter."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise WireError(f"Expected an object for {shape.name}")
        return {name: from_wire(item, shape.members.get(name)) for name, item in value.items()}
    if kind == "list":
        if not isinstance(value, list):
            raise WireError(f"Expected a list for {shape.name}")
        return [from_wire(item, shape.member) for item in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise WireError(f"Expected an object for {shape.name}")
        return {key: from_wire(item, shape.value) for key, item in value.items()}
    if kind == "blob":
        if not isinstance(value, str):
            raise WireError(f"Expected base64 text for {shape.name}")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise WireError(f"Invalid base64 in {shape.name}") from None
    if kind == "timestamp":
        try:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return datetime.fromtimestamp(value, tz=timezone.utc)
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except (ValueError, OverflowError, OSError):   # out-of-range epochs overflow, NaN is a ValueError
            raise WireError(f"Invalid timestamp in {shape.name}") from None
    return value


def to_wire(value, shape: Shape | None):
    """A Python response value of ``shape`` as JSON-ready data."""
    if value is None:
        return None
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {name: to_wire(item, shape.members.get(name)) for name, item in value.items()
                if item is not None and name != "ResponseMetadata"}
    if kind == "list":
        return [to_wire(item, shape.member) for item in value]
    if kind == "map":
        return {key: to_wire(item, shape.value) for key, item in value.items()}
    if kind == "blob":
        return base64.b64encode(bytes(value)).decode()
    if kind == "timestamp":
        return value.timestamp() if isinstance(value, datetime) else float(value)
    return value
