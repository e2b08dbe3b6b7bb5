"""Lesson 08's calculator agrees with the pricing module: its bill lines add up to
hourly_cost_curve's totals, and its fast crossing search finds break_even_records_per_second's answer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kinesislab.dashboards.cost import CostDashboard, first_crossing, hourly_items
from kinesislab.pricing import break_even_records_per_second, hourly_cost_curve

WORKLOADS = [
    {},
    {"get_records_consumers": 3},
    {"get_records_consumers": 0, "efo_consumers": 2},
    {"retention_hours": 168.0},
    {"retention_hours": 720.0, "efo_consumers": 1},
    {"retention_hours": 8760.0},
    {"peak_to_average": 10.0},
    {"provisioned_shards": 7},
]


@pytest.mark.parametrize("rate, size, workload", [
    (rate, size, workload)
    for (rate, size), workload in itertools.product([(0, 1024), (1, 100), (950, 1024), (12_345, 3000),
                                                     (40, 500_000)], WORKLOADS)])
def test_bill_lines_add_up_to_the_hourly_curve(rate, size, workload):
    items = hourly_items(rate, size, **workload)
    curve = hourly_cost_curve(rate, size, **workload).iloc[0]
    totals = items.groupby("mode")["usd_per_hour"].sum()
    assert totals["PROVISIONED"] == pytest.approx(curve["provisioned_usd_per_hour"], rel=1e-12, abs=1e-15)
    assert totals["ON_DEMAND"] == pytest.approx(curve["on_demand_usd_per_hour"], rel=1e-12, abs=1e-15)
    assert np.allclose(items["usd_per_hour"], items["quantity"] * items["unit_price_usd"])


@pytest.mark.parametrize("workload", [
    {}, {"get_records_consumers": 3}, {"provisioned_shards": 3}, {"provisioned_shards": 4},
    {"provisioned_shards": 10}, {"peak_to_average": 25.0}, {"peak_to_average": 50.0},
])
def test_fast_crossing_matches_break_even(workload):
    fast = first_crossing(1024, 100_000, **workload)
    slow = break_even_records_per_second(1024, max_records_per_second=100_000, **workload)
    if slow is None:
        assert fast is None
    else:
        assert fast == pytest.approx(slow, rel=1e-6)


def test_dashboard_readout_follows_the_rate():
    dashboard = CostDashboard(rate=1000, sizing="fixed shard count", fixed_shards=10)
    assert "1,000 records/s" in dashboard.readout.value and "304 records/s" in dashboard.readout.value
    before = dashboard.live_figure.png()
    dashboard.set(rate=50)
    assert "50 records/s" in dashboard.readout.value and "On-demand is cheaper" in dashboard.readout.value
    assert dashboard.live_figure.png() != before
