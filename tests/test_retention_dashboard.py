"""Lesson 09's dashboard writes its 400 days of history once and gives each retention setting a
copy whose period is then shortened: the readers must get exactly what they get from a stream that
had the setting's period before the history arrived."""

import numpy as np
import pytest

from kinesislab.dashboards import retention
from kinesislab.dashboards.retention import ITERATOR_TYPES, read_back, replay_run, write_history


def _from_scratch(retention_days: int, replay_days: float):
    """The run as the lesson describes it: retention set first, then the history, then the readers."""
    hours = int(round(retention_days * 24))
    sim = retention._new_stream(hours)
    written = write_history(sim, "history")
    return read_back(sim, hours, written, replay_days)


def _same(got, expected) -> None:
    assert (got.retention_hours, got.replay_days, got.now) == (expected.retention_hours, expected.replay_days,
                                                              expected.now)
    np.testing.assert_array_equal(got.written, expected.written)
    np.testing.assert_array_equal(got.held, expected.held)
    assert set(got.read) == set(expected.read) == set(ITERATOR_TYPES)
    for kind in ITERATOR_TYPES:
        np.testing.assert_array_equal(got.read[kind], expected.read[kind])
    assert got.first_sequence == expected.first_sequence


@pytest.mark.parametrize("retention_days, replay_days", [(1, 7), (7, 7), (30, 7), (90, 100), (365, 400)])
def test_retention_run_matches_a_stream_with_that_period_from_the_start(retention_days, replay_days):
    _same(replay_run(retention_days, replay_days), _from_scratch(retention_days, replay_days))


def test_retention_runs_do_not_share_state():
    longest = replay_run(365, 7)
    replay_run(1, 400)                      # trims the most and reads everything left
    _same(replay_run(365, 7), longest)
    assert len(longest.held) > len(replay_run(1, 7).held)
    template = retention._template()[0]        # the runs worked on copies: the template holds it all
    shard = template.stream("history").shards[retention.SHARD]
    assert shard.end_position - shard.first_position == len(longest.written)


def test_retention_longer_than_the_maximum_is_refused():
    with pytest.raises(Exception, match="too long"):
        replay_run(366)
