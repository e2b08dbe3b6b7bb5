"""Field checks for the scenario model's dataclasses.

Every dataclass of :mod:`kinesislab.scenario.model` checks its own fields in ``__post_init__``
with these helpers and raises ValueError naming the class, the field, the value and what is
allowed ("Bad input gets a clear error ... and changes nothing"). The checks only read fields (the
classes are frozen). Ranges come from the service where it defines one -- the engine's
:class:`~kinesislab.limits.Limits` and the botocore model, each limit in its one place -- and are
otherwise the physical ones (rates >= 0, durations > 0, counts >= 1). Limits a stream may change
are not fixed here: retention is checked against the StreamSpec's own limits, and record sizes
have no upper bound (a stream's max record size may be raised).
"""

from __future__ import annotations

import math
import numbers
import re
from functools import lru_cache

from kinesislab.limits import Limits

#: The service's limits as the engine has them (a stream's own overrides aside).
SERVICE_LIMITS = Limits()
#: GetRecords ``Limit``: 1 .. this many records per call.
GET_RECORDS_MAX_LIMIT = SERVICE_LIMITS.get_records_max_records
#: PutRecords takes 1 .. this many entries (and so does the KPL's CollectionMaxCount).
PUT_RECORDS_MAX_ENTRIES = SERVICE_LIMITS.put_records_max_entries

#: KPL AggregationMaxSize minimum (KPL KinesisProducerConfiguration: 64 .. 1048576 bytes).
KPL_MIN_AGGREGATION_MAX_SIZE = 64
#: KPL RecordTtl minimum: 100 ms.
KPL_MIN_RECORD_TTL_SECONDS = 0.1
#: Where the simulated consumers may start reading.
STARTS = ("TRIM_HORIZON", "LATEST")
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


def fail(owner, name: str, value, allowed: str):
    raise ValueError(f"{type(owner).__name__}.{name} must be {allowed}, not {value!r}")


def _fmt(number) -> str:
    if isinstance(number, float):
        return f"{number:g}"
    return f"{number:,}" if abs(number) >= 10_000 else str(number)


def _bounds(minimum=None, maximum=None, above=None, unit: str = "") -> str:
    """The allowed range in words: "between 0 and 1", "more than 0 seconds", "at least 1"."""
    unit = f" {unit}" if unit else ""
    if above is not None:
        text = f"more than {_fmt(above)}"
        return f"{text} and at most {_fmt(maximum)}{unit}" if maximum is not None else f"{text}{unit}"
    if minimum is not None and maximum is not None:
        return f"between {_fmt(minimum)} and {_fmt(maximum)}{unit}"
    if minimum is not None:
        return f"at least {_fmt(minimum)}{unit}"
    if maximum is not None:
        return f"at most {_fmt(maximum)}{unit}"
    return f"a finite number{unit}"


def is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _in_range(value, minimum, maximum, above) -> bool:
    return ((above is None or value > above) and (minimum is None or value >= minimum)
            and (maximum is None or value <= maximum))


def check_real(owner, name: str, *, minimum=None, maximum=None, above=None, unit: str = "",
                optional: bool = False) -> None:
    """``owner.name`` is a finite number in the range (None too if ``optional``)."""
    value = getattr(owner, name)
    if optional and value is None:
        return
    if not (is_real(value) and _in_range(value, minimum, maximum, above)):
        fail(owner, name, value, _bounds(minimum, maximum, above, unit) + (" or None" if optional else ""))


def check_whole(owner, name: str, *, minimum=None, maximum=None, unit: str = "", optional: bool = False) -> None:
    """``owner.name`` is an int (not a bool, not a float) in the range (None too if ``optional``)."""
    value = getattr(owner, name)
    if optional and value is None:
        return
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and _in_range(value, minimum, maximum, None)):
        range_ = _bounds(minimum, maximum, None, unit)
        allowed = "a whole number " + ("of " + range_ if range_.startswith("at ") else range_)
        fail(owner, name, value, allowed + (" or None" if optional else ""))


def check_choice(owner, name: str, choices: tuple) -> None:
    value = getattr(owner, name)
    if not isinstance(value, str) or value not in choices:
        fail(owner, name, value, "one of " + ", ".join(repr(c) for c in choices))


def check_text(owner, name: str, pattern: re.Pattern | None = None, allowed: str = "a non-empty string") -> None:
    value = getattr(owner, name)
    if not isinstance(value, str) or not value.strip() or (pattern is not None and not pattern.fullmatch(value)):
        fail(owner, name, value, allowed)


def check_kind(owner, name: str, kinds: tuple, allowed: str, optional: bool = False) -> None:
    value = getattr(owner, name)
    if optional and value is None:
        return
    if not isinstance(value, kinds):
        fail(owner, name, value, allowed + (" or None" if optional else ""))


def check_traffic(owner, name: str = "traffic") -> None:
    value = getattr(owner, name)
    if not callable(getattr(value, "at", None)):
        fail(owner, name, value, "a traffic shape (Constant, Ramp, Step, Burst, Diurnal or Series)")


def check_consumer_name(owner) -> None:
    check_service_name(owner, "name", "ConsumerName")


def check_service_name(owner, name: str, shape: str) -> None:
    """``owner.name`` is a valid ``shape`` (StreamName, ConsumerName) of the Kinesis API: its
    length and pattern as the botocore model gives them."""
    low, high, pattern = _name_rule(shape)
    value = getattr(owner, name)
    if not (isinstance(value, str) and low <= len(value) <= high and re.fullmatch(pattern, value)):
        fail(owner, name, value, f"{low} to {high} characters matching {pattern}")


@lru_cache(maxsize=None)
def _name_rule(shape: str) -> tuple[int, int, str]:
    metadata = _kinesis_shape(shape).metadata
    return metadata["min"], metadata["max"], metadata["pattern"]


@lru_cache(maxsize=None)
def capacity_modes() -> tuple[str, ...]:
    """The capacity modes a stream may have (the botocore model's StreamModeDetails.StreamMode)."""
    return tuple(_kinesis_shape("StreamModeDetails").members["StreamMode"].enum)


def _kinesis_shape(name: str):
    from kinesislab.api.service_model import service_model  # late: botocore's model loads once, when needed

    return service_model("kinesis").shape_for(name)


def check_at(owner) -> None:
    check_real(owner, "at", minimum=0, unit="seconds")


def check_order(owner, low: str, high: str, blame: str = "high") -> None:
    """``owner.high`` is not below ``owner.low`` (both already checked as numbers); the message
    names the field ``blame`` says is wrong."""
    if getattr(owner, high) < getattr(owner, low):
        cls = type(owner).__name__
        if blame == "high":
            raise ValueError(f"{cls}.{high} must be at least {cls}.{low} ({getattr(owner, low)!r}), "
                             f"not {getattr(owner, high)!r}")
        raise ValueError(f"{cls}.{low} must be at most {cls}.{high} ({getattr(owner, high)!r}), "
                         f"not {getattr(owner, low)!r}")


@lru_cache(maxsize=None)
def partition_key_max_characters() -> int:
    """A partition key is 1 .. this many Unicode characters (the botocore model's PartitionKey)."""
    return int(_kinesis_shape("PartitionKey").metadata["max"])
