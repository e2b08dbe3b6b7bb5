"""Where a Firehose stream delivers: S3-style objects, in memory or in a local folder.

Object keys follow Firehose's S3 naming (https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html):
``<evaluated prefix><stream name>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><extension>``. A prefix
without ``!{...}`` expressions gets the default time path ``YYYY/MM/DD/HH/`` appended; a prefix
with expressions is evaluated instead (``!{timestamp:yyyy/MM/dd}``, ``!{firehose:random-string}``,
``!{firehose:error-output-type}``). Times are UTC and come from the oldest record in the object,
as the custom-prefix page says for ``!{timestamp:...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Protocol

_EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
# Java DateTimeFormatter letters Firehose users write, longest first so "yyyy" wins over "yy".
_JAVA_TOKENS = (("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"),
                ("ss", "%S"))


@dataclass(frozen=True, init=False)
class DeliveredObject:
    """One object a Firehose stream wrote. Times are epoch seconds (virtual); sizes are bytes."""

    key: str
    kind: str                 # "data", or "processing-failed" for records a transform failed
    delivered_at: float
    bytes: int                # object size as stored (after compression)
    records: int
    first_arrival: float      # when the oldest record in the object reached Firehose
    last_arrival: float
    mean_arrival: float
    trigger: str              # "size", "interval", or "processing-failed"

    def __init__(self, key: str, kind: str, delivered_at: float, bytes: int, records: int,
                 first_arrival: float, last_arrival: float, mean_arrival: float, trigger: str):
        # Written out because the __init__ dataclass generates for a frozen class sets each field
        # through object.__setattr__, several times slower; a stream makes one of these per file.
        fields = self.__dict__
        fields["key"] = key
        fields["kind"] = kind
        fields["delivered_at"] = delivered_at
        fields["bytes"] = bytes
        fields["records"] = records
        fields["first_arrival"] = first_arrival
        fields["last_arrival"] = last_arrival
        fields["mean_arrival"] = mean_arrival
        fields["trigger"] = trigger

    @property
    def latency_seconds(self) -> float:
        """How long the oldest record in the object waited for delivery (s)."""
        return self.delivered_at - self.first_arrival

    @property
    def mean_latency_seconds(self) -> float:
        """Average wait of the object's records from arrival to delivery (s)."""
        return self.delivered_at - self.mean_arrival


class Sink(Protocol):
    """Somewhere objects can be written and read back by key.

    A sink may set ``keep_bodies = False`` (keys only): the stream then skips assembling the
    bytes of an uncompressed object and passes ``body=None`` (the object's size is the sum of
    its records'). A sink without the attribute gets every body.
    """

    def put(self, key: str, body: bytes | None) -> None: ...

    def get(self, key: str) -> bytes: ...

    def keys(self) -> list[str]: ...


class MemorySink:
    """An in-memory bucket: ``{key: bytes}``. ``keep_bodies=False`` keeps only the keys (long runs)."""

    def __init__(self, keep_bodies: bool = True):
        self.keep_bodies = keep_bodies
        self.objects: dict[str, bytes] = {}
        self._keys: list[str] = []

    def put(self, key: str, body: bytes | None) -> None:
        self._keys.append(key)
        if self.keep_bodies:
            self.objects[key] = body

    def get(self, key: str) -> bytes:
        if not self.keep_bodies:
            raise KeyError(f"{key}: this MemorySink keeps keys only (keep_bodies=False)")
        return self.objects[key]

    def keys(self) -> list[str]:
        return list(self._keys)


class FolderSink:
    """A bucket that is a local folder: each object is the file ``<folder>/<key>``."""

    keep_bodies = True

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).resolve()
        self._keys: list[str] = []

    def _path(self, key: str) -> Path:
        path = (self.folder / key).resolve()
        # A prefix such as "../" must not write outside the folder the learner chose.
        if self.folder != path and self.folder not in path.parents:
            raise ValueError(f"object key {key!r} would leave the folder {self.folder}")
        return path

    def put(self, key: str, body: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        self._keys.append(key)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def keys(self) -> list[str]:
        return list(self._keys)


def _java_time(pattern: str, at: datetime) -> str:
    """Format ``at`` with the subset of Java DateTimeFormatter patterns used in prefixes."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "'":
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[i + 1:end])
            i = end + 1
            continue
        for token, directive in _JAVA_TOKENS:
            if pattern.startswith(token, i):
                out.append(at.strftime(directive))
                i += len(token)
                break
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)


def _utc_datetime(at: float) -> datetime:
    return datetime.fromtimestamp(at, tz=timezone.utc)


@lru_cache(maxsize=4096)
def _minute_strings(minute: int) -> tuple[str, str]:
    """("YYYY-MM-DD-HH-MM-", "YYYY/MM/DD/HH/") of the UTC minute ``minute`` minutes after the epoch."""
    when = _utc_datetime(minute * 60)
    return when.strftime("%Y-%m-%d-%H-%M-"), when.strftime("%Y/%m/%d/%H/")


def utc_stamps(at: float) -> tuple[str, str]:
    """("YYYY-MM-DD-HH-MM-SS", "YYYY/MM/DD/HH/") of epoch second ``at``, UTC: what
    ``datetime.fromtimestamp(at, timezone.utc).strftime(...)`` gives, without a strftime per call
    for a whole second (a minute's strings are kept and the second appended)."""
    if float(at).is_integer():
        minute, second = divmod(int(at), 60)
        dashed, slashed = _minute_strings(minute)
        return f"{dashed}{second:02d}", slashed
    when = _utc_datetime(at)
    return when.strftime("%Y-%m-%d-%H-%M-%S"), when.strftime("%Y/%m/%d/%H/")


def evaluate_prefix(prefix: str, at: float, random_string: str, error_output_type: str | None = None) -> str:
    """The evaluated prefix of an object whose oldest record arrived at ``at`` (epoch seconds).

    Raises ValueError for an expression kinesislab does not evaluate (dynamic partitioning keys).
    """
    if "!{" not in prefix:
        return prefix + utc_stamps(at)[1]
    when = _utc_datetime(at)

    def replace(match: re.Match) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return _java_time(value, when)
        if namespace == "firehose" and value == "random-string":
            return random_string
        if namespace == "firehose" and value == "error-output-type" and error_output_type is not None:
            return error_output_type
        raise ValueError(f"kinesislab does not evaluate the prefix expression {match.group(0)!r}")

    return _EXPRESSION.sub(replace, prefix)


def object_key(prefix: str, stream_name: str, version: str, at: float, object_uuid: str, extension: str = "",
               error_output_type: str | None = None) -> str:
    """``<evaluated prefix><stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><extension>`` (UTC, ``at`` in epoch s)."""
    stamp, default_path = utc_stamps(at)
    evaluated = (prefix + default_path if "!{" not in prefix
                 else evaluate_prefix(prefix, at, object_uuid.replace("-", "")[:11], error_output_type))
    return f"{evaluated}{stream_name}-{version}-{stamp}-{object_uuid}{extension}"


# --- Lab-only: which S3 bucket ARNs are local folders --------------------------------------------
_BUCKET_FOLDERS: dict[str, Path] = {}


def register_bucket_folder(bucket_arn: str, folder: str | Path) -> None:
    """Deliveries to ``bucket_arn`` (by any simulator's Firehose client) are written as files under
    ``folder`` instead of kept in memory (lab-only; ``unregister_bucket_folder`` undoes it)."""
    _BUCKET_FOLDERS[bucket_arn] = Path(folder)


def unregister_bucket_folder(bucket_arn: str) -> None:
    _BUCKET_FOLDERS.pop(bucket_arn, None)


def sink_for_bucket(bucket_arn: str) -> Sink:
    """A new sink for ``bucket_arn``: a :class:`FolderSink` if one was registered, else a :class:`MemorySink`."""
    folder = _BUCKET_FOLDERS.get(bucket_arn)
    return FolderSink(folder) if folder is not None else MemorySink()
