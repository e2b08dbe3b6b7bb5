"""Settings whose every value carries its source and unit: the base of Limits and Prices."""

from __future__ import annotations

import dataclasses
from dataclasses import field


def sourced(value, source: str, unit: str = ""):
    """A dataclass field with a default, its source tag and its unit."""
    return field(default=value, metadata={"source": source, "unit": unit})


class Sourced:
    """Mixin for frozen dataclasses built from :func:`sourced` fields."""

    #: Name of the first column of :meth:`table` ("limit", "price").
    _table_key = "setting"

    def override(self, **changes):
        """A copy with some values changed (for "what if" lessons and older defaults)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def source_of(cls, name: str) -> str:
        """The source tag of one value, e.g. ``Limits.source_of("shard_write_records_per_second")``."""
        return cls.__dataclass_fields__[name].metadata["source"]

    @classmethod
    def table(cls) -> list[dict]:
        """Every value with its default, unit and source, as records for a DataFrame."""
        defaults = cls()
        return [{cls._table_key: f.name, "value": getattr(defaults, f.name), "unit": f.metadata["unit"],
                 "source": f.metadata["source"]} for f in dataclasses.fields(cls)]
