"""The capstone grader (kinesislab/course/capstone.py): each target passes or fails for the right
reason, with the measured figure and one sentence, and the grade headline reads "Grade: N/3"."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from kinesislab.course.capstone import (Brief, Design, Report, grade, longest_streak, monthly_cost, scenario_for,
                                        simulate, validate)
from kinesislab.pricing import total
from kinesislab.scenario import EnhancedFanOutConsumer, HotKey, PollingConsumer, SaltedKeys

BRIEF = Brief()
GOOD = Design(mode="PROVISIONED", shards=16, salt=3, consumer_kind="polling")


@pytest.fixture(scope="module")
def good() -> Report:
    return grade(GOOD, BRIEF)


@pytest.fixture(scope="module")
def naive() -> Report:
    return grade(Design(mode="PROVISIONED", shards=4), BRIEF)


def test_the_brief_is_consistent():
    assert BRIEF.average_rate == 3000 + 3000 * 15 / 60
    assert BRIEF.spike_rate * BRIEF.hot_key_share < 1000  # the hot key alone fits one shard ...
    assert "2,000 ms" in BRIEF.targets_text() and "$400" in BRIEF.targets_text()


def test_a_good_design_meets_all_three_targets(good):
    assert good.headline == "Grade: 3/3 targets met"
    assert good.passed and good.met == 3 and good.failed() == []
    assert [t.name for t in good.targets] == ["throttling", "lag", "cost"]
    assert good["throttling"].measured <= BRIEF.max_throttled_seconds_in_a_row
    assert good["lag"].measured <= BRIEF.max_lag_ms
    assert good["cost"].measured <= BRIEF.budget_usd_per_month
    for target in good.targets:
        assert target.reason.endswith(".") and target.reason.count(". ") == 0  # one sentence


def test_too_few_shards_fail_throttling_and_lag_with_reasons(naive):
    assert naive.headline == "Grade: 1/3 targets met"
    throttling, lag, cost = naive.targets
    assert not throttling.passed and throttling.measured == BRIEF.duration
    assert "4 shards take 4,000" in throttling.reason and "add shards" in throttling.reason
    assert not lag.passed and lag.measured > BRIEF.max_lag_ms
    assert "reads were throttled" in lag.reason
    assert cost.passed


def test_an_unsalted_hot_key_is_named_as_the_cause():
    report = grade(Design(mode="PROVISIONED", shards=24), BRIEF)
    throttling = report["throttling"]
    assert not throttling.passed
    assert "hot key" in throttling.reason and "salt the keys" in throttling.reason
    assert "while the stream as a whole had room" in throttling.reason


def test_enhanced_fan_out_meets_the_lag_but_not_the_budget():
    report = grade(replace(GOOD, consumer_kind="enhanced fan-out"), BRIEF)
    assert report["lag"].passed and report["lag"].measured == pytest.approx(70.0)
    assert not report["cost"].passed
    assert "over the $400 budget" in report["cost"].reason and "EFO" in report["cost"].reason
    assert report.headline == "Grade: 2/3 targets met"


def test_on_demand_starts_warm_and_fails_the_budget():
    report = grade(Design(mode="ON_DEMAND", salt=3), BRIEF)
    opened = report.results.series("OpenShardCount")
    assert opened[0] == 2 * BRIEF.spike_rate / 1000  # capacity for twice the peak seen before
    assert report["throttling"].passed
    assert not report["cost"].passed and report["cost"].measured > 3 * BRIEF.budget_usd_per_month


def test_slow_polling_fails_the_lag_target():
    report = grade(replace(GOOD, poll_interval=5.0), BRIEF)
    assert not report["lag"].passed
    assert "poll" in report["lag"].reason


def test_monthly_cost_is_the_run_bill_scaled_to_730_hours(good):
    cost, month = monthly_cost(good.results)
    usage = good.results.sim.usage(good.results.stream_name)
    assert cost == pytest.approx(total(good.results.bill()) * 730 * 3600 / usage.duration_seconds)
    shard_hours = month.set_index("item").loc["Shard hours", "cost_usd"]
    assert shard_hours == pytest.approx(16 * 0.015 * 730)
    assert good["cost"].measured == pytest.approx(cost)


def test_the_scenario_follows_the_design():
    scenario = scenario_for(Design(mode="PROVISIONED", shards=7, salt=4, consumer_kind="enhanced fan-out"), BRIEF)
    assert scenario.stream.shards == 7 and scenario.duration == BRIEF.duration
    keys = scenario.producers[0].keys
    assert isinstance(keys, SaltedKeys) and keys.salt == 4 and isinstance(keys.base, HotKey)
    assert len(scenario.consumers) == BRIEF.consumers
    assert all(isinstance(c, EnhancedFanOutConsumer) for c in scenario.consumers)
    plain = scenario_for(Design(salt=1, poll_interval=2.0), BRIEF)
    assert isinstance(plain.producers[0].keys, HotKey)
    assert all(isinstance(c, PollingConsumer) and c.poll_interval == 2.0 for c in plain.consumers)
    assert plain.producers[0].record_size.data_bytes + plain.producers[0].partition_key_bytes == BRIEF.record_bytes


def test_grading_is_deterministic(good):
    again = grade(GOOD, BRIEF)
    assert [(t.passed, t.measured, t.reason) for t in again.targets] == \
           [(t.passed, t.measured, t.reason) for t in good.targets]


def test_report_views(good, naive):
    assert "Grade: 3/3 targets met" in good.to_html() and "Grade: 1/3 targets met" in str(naive)
    frame = naive.frame()
    assert list(frame.index) == ["throttling", "lag", "cost"]
    assert list(frame["passed"]) == [False, False, True]
    with pytest.raises(KeyError):
        naive["speed"]


@pytest.mark.parametrize("design, words", [
    (Design(mode="SERVERLESS"), "mode"), (Design(shards=0), "shards"), (Design(salt=0), "salt"),
    (Design(consumer_kind="carrier pigeon"), "consumer_kind"), (Design(poll_interval=0.01), "poll_interval"),
])
def test_odd_designs_are_refused_with_a_sentence(design, words):
    with pytest.raises(ValueError, match=words):
        validate(design)


def test_longest_streak():
    assert longest_streak(np.array([0, 1, 1, 0, 1, 1, 1, 0]) > 0) == (3, 4)
    assert longest_streak(np.zeros(5, dtype=bool)) == (0, -1)


def test_custom_brief_targets_move_the_grade():
    lenient = replace(BRIEF, budget_usd_per_month=5000.0)
    report = grade(replace(GOOD, consumer_kind="enhanced fan-out"), lenient)
    assert report.headline == "Grade: 3/3 targets met"
    strict = replace(BRIEF, max_lag_ms=100.0)
    assert not grade(GOOD, strict)["lag"].passed
    assert math.isfinite(simulate(GOOD, BRIEF).series("OpenShardCount")[0])


def test_dashboard_shows_the_grade_and_remembers_attempts():
    from kinesislab.dashboards.capstone import CapstoneDashboard

    dashboard = CapstoneDashboard(shards=4)
    assert "Grade: 1/3 targets met" in dashboard.readout.value and "4 shards" in dashboard.readout.value
    before = dashboard.live_figure.png()
    dashboard.set(shards=16, salt=3)
    assert "Grade: 3/3 targets met" in dashboard.readout.value and "16 shards" in dashboard.readout.value
    assert dashboard.live_figure.png() != before
    report = dashboard.grade_now()
    assert report.headline == "Grade: 3/3 targets met" and len(dashboard.attempts) == 1
    assert "Grade: 3/3 targets met" in dashboard.history.value
    dashboard.set(mode="on-demand")
    assert "on-demand" in dashboard.readout.value and dashboard.message.value == ""
