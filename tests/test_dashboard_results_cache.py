"""A dashboard keeps the results of settings it has shown (``Dashboard.compute_key``): a setting
shown again must show exactly what a fresh run of it shows -- the same readout (every number the
learner reads) and the same picture -- and only the controls the result depends on may be keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kinesislab.dashboards.capstone import CapstoneDashboard
from kinesislab.dashboards.catalog import lesson_dashboard
from kinesislab.dashboards.consumers import ConsumersDashboard
from kinesislab.dashboards.cost import CostDashboard, first_crossing
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.retention import RetentionDashboard
from kinesislab.dashboards.style import set_ticks
from kinesislab.pricing import hourly_cost_curve

#: Lesson dashboards that keep results, their main control and a value to move it to.
CASES = {name: (lesson_dashboard(name).build, control, other) for name, control, other in (
    ("capstone", "shards", 9), ("consumers", "polling", 6), ("resharding", "split_percent", 25),
    ("retention", "retention_days", 30), ("cost", "rate", 5000))}


@pytest.mark.parametrize("name", list(CASES))
def test_a_setting_shown_again_shows_what_a_fresh_run_shows(name):
    build, control, other = CASES[name]
    dashboard = build()
    first = dashboard.controls[control].value
    dashboard.set(**{control: other})
    assert not dashboard.last_compute_reused
    dashboard.set(**{control: first})
    assert dashboard.last_compute_reused             # taken from the kept results, not run again
    fresh = build()
    assert not fresh.last_compute_reused
    assert dashboard.readout.value == fresh.readout.value
    assert dashboard.live_figure.png() == fresh.live_figure.png()


def test_kept_results_are_bounded_least_recently_shown_first_out(monkeypatch):
    monkeypatch.setattr(ConsumersDashboard, "RESULTS_KEPT", 3)
    dashboard = ConsumersDashboard(polling=0)
    for polling in (1, 2, 3):
        dashboard.set(polling=polling)
    assert len(dashboard._results) == 3                 # 0 was dropped when 3 came
    dashboard.set(polling=1)
    assert dashboard.last_compute_reused
    dashboard.set(polling=0)
    assert not dashboard.last_compute_reused            # dropped: run again
    dashboard.set(polling=1)
    assert dashboard.last_compute_reused                # 1 was shown recently: kept
    dashboard.set(polling=2)
    assert not dashboard.last_compute_reused            # 2 was the least recently shown


def test_a_setting_the_service_refuses_is_not_kept():
    dashboard = ConsumersDashboard(efo=0)
    dashboard.set(efo=21)                               # one more than the service allows
    assert "LimitExceededException" in dashboard.message.value
    dashboard.set(efo=21)
    assert "LimitExceededException" in dashboard.message.value
    assert not dashboard.last_compute_reused


def test_retention_runs_again_only_for_retention_or_replay_time():
    dashboard = RetentionDashboard(retention_days=7, iterator="TRIM_HORIZON", replay_days=7)
    dashboard.set(iterator="AT_TIMESTAMP")
    assert dashboard.last_compute_reused                # every iterator type was read in the run
    fresh = RetentionDashboard(retention_days=7, iterator="AT_TIMESTAMP", replay_days=7)
    assert dashboard.readout.value == fresh.readout.value
    dashboard.set(replay_days=3)
    assert not dashboard.last_compute_reused


def test_a_dashboard_without_a_key_computes_every_time():
    class Counting(Dashboard):
        def compute(self, values):
            self.runs = getattr(self, "runs", 0) + 1
            return self.runs

        def draw(self, result, values):
            return str(result)

    import ipywidgets as widgets

    from kinesislab.dashboards.figure import LiveFigure

    dashboard = Counting("counting", {"x": widgets.IntSlider(value=1, min=0, max=3)}, "x", LiveFigure(2, 1))
    dashboard.set(x=2)
    dashboard.set(x=1)
    assert dashboard.runs == 3 and not dashboard._results


def test_the_cost_curve_kept_for_the_rate_slider_is_the_one_the_pricing_gives():
    dashboard = CostDashboard(rate=1000, record_bytes=1024, sizing="for a peak", peak_to_average=4.0, readers=2)
    dashboard.set(rate=20_000)
    result = dashboard.result
    workload = dashboard.workload(dashboard.values())
    pd.testing.assert_frame_equal(result["curve"], hourly_cost_curve(dashboard.grid, 1024, **workload))
    assert result["crossing"] == first_crossing(1024, **workload)
    assert len(dashboard._curves) == 1                  # the rate moved: the same curve served both
    dashboard.set(record_bytes=5000)
    assert len(dashboard._curves) == 2


def test_set_ticks_leaves_an_axis_with_the_same_ticks_alone():
    from kinesislab.dashboards.figure import LiveFigure

    ax = LiveFigure(3, 2).axes[0, 0]
    set_ticks(ax.xaxis, range(3), ["a", "b", "c"])
    locator, formatter = ax.xaxis.get_major_locator(), ax.xaxis.get_major_formatter()
    set_ticks(ax.xaxis, [0, 1, 2], ["a", "b", "c"])
    assert ax.xaxis.get_major_locator() is locator and ax.xaxis.get_major_formatter() is formatter
    set_ticks(ax.xaxis, range(4), ["a", "b", "c", "d"])
    assert list(ax.get_xticks()) == [0, 1, 2, 3]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]


def test_shard_load_bars_stand_at_the_figures_the_panel_reports():
    dashboard = CapstoneDashboard(shards=12)
    load = dashboard.load
    results = dashboard.report.results
    b = dashboard.brief
    last_spike = b.first_spike + ((b.duration - b.first_spike - 1) // b.spike_every) * b.spike_every
    hot = load.update(results, upto=min(last_spike + b.spike_length, b.duration) - 1, average_over=b.spike_length)
    accepted_tops = np.array([path.vertices[:4, 1].max() for path in load.accepted.get_paths()])
    throttled = np.array([np.ptp(path.vertices[:4, 1]) for path in load.throttled.get_paths()])
    assert len(accepted_tops) == 12
    assert accepted_tops.sum() == pytest.approx(hot["total_accepted"])
    assert throttled.sum() == pytest.approx(hot["total_throttled"])
    outlined = [i for i, width in enumerate(load.accepted.get_linewidths()) if width > 0]
    assert outlined == ([int(np.argmax(accepted_tops + throttled))] if hot["throttled"] > 0 else [])
