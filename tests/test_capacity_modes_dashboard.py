"""Lesson 07's dashboard helpers: the traffic patterns, the run summary and the dashboard itself."""

from __future__ import annotations

import numpy as np
import pytest

from kinesislab.dashboards.capacity_modes import (BASE_RATE, DURATION, PATTERNS, CapacityModesDashboard,
                                                  describe_pattern, run_pattern, run_summary, throttle_spells,
                                                  traffic_for)


def test_patterns():
    t = np.array([0.0, 59.0, 60.0, 300.0, 600.0, 900.0, 1079.0])
    assert list(traffic_for("steady", 10).at(t)) == [BASE_RATE] * len(t)
    assert list(traffic_for("sudden jump", 3).at(t)) == [2000, 2000, 6000, 6000, 6000, 6000, 6000]
    assert list(traffic_for("doubling", 3).at(t)) == [900, 900, 900, 1800, 3600, 7200, 7200]
    spiky = traffic_for("spiky", 5).at(np.arange(DURATION))
    assert spiky.max() == 10_000 and (spiky == 10_000).sum() == 5 * 30
    with pytest.raises(ValueError):
        traffic_for("sawtooth", 2)
    assert set(PATTERNS) == {"steady", "spiky", "doubling", "sudden jump"}
    assert "20,000 records/s" in describe_pattern("sudden jump", 10.0)


def test_throttle_spells():
    assert throttle_spells(np.array([0, 3, 4, 0, 0, 1])) == [(1.0, 2.0), (5.0, 5.0)]
    assert throttle_spells(np.zeros(4)) == []


def test_steady_traffic_never_throttles_and_the_dashboard_says_so():
    summary = run_summary(run_pattern("ON_DEMAND", "steady"))
    assert summary["throttled"] == 0 and summary["end_shards"] == 4
    dashboard = CapacityModesDashboard(pattern="steady")
    assert "steady" in dashboard.readout.value and "never throttled" in dashboard.readout.value
    assert dashboard.message.value == ""
