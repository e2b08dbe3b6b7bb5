"""Sequence numbers that look and order like the service's.

A sequence number is a 56-digit decimal string, as real ones are (facts §2). The service does
not document what the digits mean; kinesislab lays them out in decimal fields, left to right::

    4 | shard-creation seconds (10) | shard index (12) | record seconds (10) | 1 | counter (22)

(seconds are whole epoch seconds, modulo 10**10). The counter is stream-wide and only grows, by
``COUNTER_STEP`` per record, so
within a shard the numbers rise (the record seconds never go down, and at equal seconds the
counter decides); they are not comparable across shards, exactly as the service warns. All
numbers have the same length, so comparing the strings orders them as numbers do.

Why a step: sequence numbers are not indexes and gaps are normal (facts §2, DG key-concepts);
with a step of 1, five puts in a row to one shard would read ...001, ...002, ...003 and invite
the arithmetic the course warns against. CHOSEN: 8, which divides 1,000, so the last three
digits still come from a table.

Why decimal fields: a shard's records written in one whole second share the first 33 digits
(the *prefix*), so a batch of sequence numbers is built by joining strings -- no arithmetic on
186-bit integers and no printing of one in decimal per record (a hex layout such as kinesalite's
needs both, about 0.8 µs per record here). The ``1`` before the counter is the leading digit of
``10**22 + counter``, which prints the counter zero-padded to 22 digits without formatting.
"""

from __future__ import annotations

from operator import add
from typing import Sequence

import numpy as np

from kinesislab.engine.columns import take

#: Digits in every sequence number.
SEQUENCE_DIGITS = 56
#: The first digit (so the number never starts with 0, and a stranger's number is told apart).
_LEADING_DIGIT = "4"
_SECONDS_MODULUS = 10**10
_INDEX_MODULUS = 10**12
#: ``str(COUNTER_OFFSET + counter)`` is the last 23 digits: "1" and the zero-padded counter.
COUNTER_OFFSET = 10**22
#: How much the counter field grows per record (CHOSEN; must divide 1,000, see above).
COUNTER_STEP = 8
#: The counter's last three digits, printed once: "000" .. "999".
_LAST_DIGITS_MODULUS = 1000
_LAST_DIGITS = [f"{last:03d}" for last in range(_LAST_DIGITS_MODULUS)]
#: Length of the prefix (everything before the counter field).
PREFIX_DIGITS = 1 + 10 + 12 + 10
_INDEX_DIGITS = slice(11, 23)


def sequence_prefix(shard_created_seconds: int, shard_index: int, record_seconds: int) -> str:
    """The first 33 digits, shared by a shard's records stamped in the same whole second."""
    return (f"{_LEADING_DIGIT}{shard_created_seconds % _SECONDS_MODULUS:010d}{shard_index % _INDEX_MODULUS:012d}"
            f"{record_seconds % _SECONDS_MODULUS:010d}")


def sequence_text(prefix: str, counter: int) -> str:
    """The sequence number (decimal string) of the ``counter``-th record (0 <= counter < 10**22 / COUNTER_STEP)."""
    return prefix + str(COUNTER_OFFSET + COUNTER_STEP * counter)


def sequence_texts(shard_prefixes: Sequence[str], positions: np.ndarray, first_counter: int) -> list[str]:
    """Sequence numbers for consecutive counters from ``first_counter``: record i goes to the
    shard whose prefix is ``shard_prefixes[positions[i]]`` (``positions``: an integer array).

    Each number is one string join: the shard's prefix with the counter's leading digits (the
    same for up to 1,000 consecutive counters, so joined once per shard per run of them), then
    the counter's last three digits, taken from a table. No integer is printed per record.
    """
    texts: list[str] = []
    field = COUNTER_OFFSET + COUNTER_STEP * first_counter
    done, count = 0, len(positions)
    while done < count:
        leading, last = divmod(field, _LAST_DIGITS_MODULUS)
        run = min((_LAST_DIGITS_MODULUS - last) // COUNTER_STEP, count - done)
        heads = [prefix + str(leading) for prefix in shard_prefixes]
        texts += map(add, take(heads, positions[done:done + run]),
                     _LAST_DIGITS[last:last + run * COUNTER_STEP:COUNTER_STEP])
        done += run
        field += run * COUNTER_STEP
    return texts


def make_sequence_number(shard_created_seconds: int, shard_index: int, counter: int, record_seconds: int) -> int:
    """The integer value of a sequence number (print it with ``str``)."""
    return int(sequence_text(sequence_prefix(shard_created_seconds, shard_index, record_seconds), counter))


def shard_index_of(sequence_number: int) -> int | None:
    """The shard index a sequence number encodes, or None if it is not one of ours."""
    text = str(sequence_number)
    if len(text) != SEQUENCE_DIGITS or text[0] != _LEADING_DIGIT or text[PREFIX_DIGITS] != "1":
        return None
    return int(text[_INDEX_DIGITS])
