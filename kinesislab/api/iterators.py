"""Shard iterators: opaque strings that carry their own position and birth time.

An iterator names the stream (and its creation instant, so a deleted and re-created stream
does not honour old iterators), the shard, a record position in the shard, and the virtual
time it was issued; GetRecords refuses it 300 s later (ExpiredIteratorException). Encoding the
state in the string means the simulator keeps no table of issued iterators.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

_VERSION = "kl1"


@dataclass(frozen=True)
class IteratorState:
    stream_name: str
    stream_created_millis: int
    shard_id: str
    position: int
    issued_millis: int


def encode_iterator(state: IteratorState) -> str:
    text = "|".join([_VERSION, state.stream_name, str(state.stream_created_millis), state.shard_id,
                     str(state.position), str(state.issued_millis)])
    return "AAAAAAAAAAE" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_iterator(token: str) -> IteratorState | None:
    """The state inside ``token``, or None when it is not an iterator this lab issued."""
    if not token.startswith("AAAAAAAAAAE"):
        return None
    body = token[len("AAAAAAAAAAE"):]
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        version, stream_name, created, shard_id, position, issued = text.split("|")
        if version != _VERSION:
            return None
        return IteratorState(stream_name, int(created), shard_id, int(position), int(issued))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
