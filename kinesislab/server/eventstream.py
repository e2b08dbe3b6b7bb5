"""The binary ``application/vnd.amazon.eventstream`` framing SubscribeToShard responses use.

Each message: a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), the
headers (name length, name, type 7 = string, value length, value), the payload, and a CRC32 of
everything before it. botocore's ``EventStreamBuffer`` decodes exactly this.
"""

from __future__ import annotations

import struct
from zlib import crc32

_STRING = 7


def _headers(headers: dict[str, str]) -> bytes:
    out = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", _STRING, len(raw_value)) + raw_value
    return out


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message."""
    header_bytes = _headers(headers)
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack("!II", total, len(header_bytes))
    prelude += struct.pack("!I", crc32(prelude))
    body = prelude + header_bytes + payload
    return body + struct.pack("!I", crc32(body))


def event_message(event_type: str, payload: bytes) -> bytes:
    return encode_message({":event-type": event_type, ":content-type": "application/json",
                           ":message-type": "event"}, payload)


def exception_message(error_code: str, payload: bytes) -> bytes:
    return encode_message({":exception-type": error_code, ":content-type": "application/json",
                           ":message-type": "exception"}, payload)
