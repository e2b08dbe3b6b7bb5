"""Every lesson's dashboard with the settings its notebook opens it at.

One list for a teacher's overview and for everything that must see the dashboards as learners
do: the layout, redraw and cache tests and ``benchmarks/dashboard_redraw.py`` build them from
here, and ``tests/test_notebook_hygiene.py`` checks each entry against its notebook's call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kinesislab.dashboards.capacity_modes import CapacityModesDashboard
from kinesislab.dashboards.capstone import CapstoneDashboard
from kinesislab.dashboards.consumers import ConsumersDashboard
from kinesislab.dashboards.cost import CostDashboard
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.firehose import FirehoseDashboard
from kinesislab.dashboards.hot_shards import HotShardDashboard
from kinesislab.dashboards.key_space import KeySpaceDashboard
from kinesislab.dashboards.producers import KclCrashDashboard, ProducerDashboard
from kinesislab.dashboards.records import RecordsDashboard
from kinesislab.dashboards.resharding import ReshardingDashboard
from kinesislab.dashboards.retention import RetentionDashboard
from kinesislab.dashboards.retry_modes import RetryModesDashboard
from kinesislab.dashboards.throughput import ThroughputDashboard
from kinesislab.dashboards.tour import TourDashboard


@dataclass(frozen=True)
class LessonDashboard:
    """A lesson's dashboard: its class and the keyword settings the notebook passes it."""

    lesson: str                      #: the notebook's number, "00" .. "13"
    name: str                        #: what it shows, e.g. "key space"
    dashboard: type[Dashboard]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``"02 key space"``."""
        return f"{self.lesson} {self.name}"

    def build(self) -> Dashboard:
        """The dashboard as the lesson opens it (headless, it needs no frontend)."""
        return self.dashboard(**self.settings)


LESSON_DASHBOARDS: tuple[LessonDashboard, ...] = (
    LessonDashboard("00", "tour", TourDashboard, dict(rate=1500, shards=2)),
    LessonDashboard("01", "records", RecordsDashboard, dict(shards=2, records=24, keys=4)),
    LessonDashboard("02", "key space", KeySpaceDashboard, dict(shards=3, key="customer-42")),
    LessonDashboard("03", "throughput", ThroughputDashboard, dict(shards=2, rate=3000, record_bytes=1024)),
    LessonDashboard("04", "hot shards", HotShardDashboard,
                    dict(shards=4, keys=100, distribution="one hot key", hot_share=0.5, rate=3000)),
    LessonDashboard("05", "consumers", ConsumersDashboard, dict(polling=2, poll_interval=1.0, efo=0, write_mib=0.75)),
    LessonDashboard("06", "resharding", ReshardingDashboard, dict(split_percent=50, merge="yes", hot_rate=1600)),
    LessonDashboard("07", "capacity modes", CapacityModesDashboard, dict(pattern="sudden jump", factor=10.0, shards=4)),
    LessonDashboard("08", "cost", CostDashboard, dict(rate=1000, record_bytes=1024, sizing="for the average", readers=1)),
    LessonDashboard("09", "retention", RetentionDashboard,
                    dict(retention_days=1, iterator="TRIM_HORIZON", replay_days=7)),
    LessonDashboard("10", "producers", ProducerDashboard, dict(record_bytes=100, rate=5000, shards=1)),
    LessonDashboard("10", "KCL crash", KclCrashDashboard, dict(checkpoint_every=20, crash_at=45, workers=2)),
    LessonDashboard("11", "firehose", FirehoseDashboard, dict(interval_seconds=300, size_mib=5, kb_per_second=10)),
    # The notebook passes the brief it shows, which is the default one.
    LessonDashboard("12", "capstone", CapstoneDashboard, dict(shards=4, mode="provisioned", salt=1)),
    # The notebook passes the three boto3 runs it made (15-30 s), which the dashboard makes itself otherwise.
    LessonDashboard("13", "retry modes", RetryModesDashboard, dict(mode="legacy")),
)


def lesson_dashboard(name: str) -> LessonDashboard:
    """The entry called ``name`` ("key space") or labelled so ("02 key space")."""
    for entry in LESSON_DASHBOARDS:
        if name in (entry.name, entry.label):
            return entry
    raise KeyError(f"no lesson dashboard {name!r}; there are: {', '.join(e.name for e in LESSON_DASHBOARDS)}")
