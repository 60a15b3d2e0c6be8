"""Score aggregation per unit and period, and the ranking order."""

from __future__ import annotations

from datetime import date

import pytest

from egov.supervision.choices import Satisfaction, TaskSource, TaskState
from egov.supervision.scoring import month_period, unit_scores
from egov.supervision.selectors import visible_tasks
from egov.supervision.tests.factories import SupervisionTaskFactory

TODAY = date(2026, 3, 20)
DONE = TaskState.DONE


def make(world, unit, deadline, state=TaskState.IN_PROGRESS, **kw):
    return SupervisionTaskFactory(
        office=world.office, lead_unit=unit, deadline=deadline, state=state, **kw
    )


@pytest.fixture
def scored(world):
    a, b = world.city_a, world.city_b
    make(world, a, date(2026, 3, 5), DONE, completed_on_time=True, quality_score=90)
    make(world, a, date(2026, 3, 6), DONE, completed_on_time=False, quality_score=60)
    make(world, a, date(2026, 3, 10))  # open and overdue on the 20th
    make(world, a, date(2026, 3, 25))  # open, not yet due
    for quality, satisfaction in ((100, Satisfaction.SATISFIED), (80, Satisfaction.UNSATISFIED)):
        make(
            world,
            a,
            date(2026, 3, 12),
            TaskState.ARCHIVED,
            completed_on_time=True,
            quality_score=quality,
            source=TaskSource.NPC_SUGGESTION,
            satisfaction=satisfaction,
        )
    make(world, a, date(2026, 4, 2))  # outside the period
    make(world, b, date(2026, 3, 31), DONE, completed_on_time=True, quality_score=100)
    # another province's task, not in the supervisor's scope
    SupervisionTaskFactory(office=world.outside, lead_unit=world.outside, deadline=date(2026, 3, 9))
    return world


def test_scores_aggregate_per_unit_and_rank(scored):
    start, end = month_period(2026, 3)
    assert (start, end) == (date(2026, 3, 1), date(2026, 3, 31))
    scores = unit_scores(visible_tasks(scored.supervisor), start, end, TODAY)
    assert [s.unit_id for s in scores] == [scored.city_b.pk, scored.city_a.pk]
    b, a = scores
    assert (b.rank, b.total, b.done_on_time, b.overdue, b.quality, b.score) == (
        1,
        1,
        1,
        0,
        100.0,
        100.0,
    )
    assert (a.rank, a.total, a.done_on_time, a.overdue, a.open) == (2, 6, 3, 2, 2)
    assert a.on_time_rate == 0.5
    assert a.quality == pytest.approx(82.5)
    assert (a.rated, a.satisfied, a.satisfaction_rate) == (2, 1, 0.5)
    assert a.score == pytest.approx(59.8, abs=0.05)


def test_scores_take_one_query(scored, django_assert_num_queries):
    qs = visible_tasks(scored.supervisor)
    with django_assert_num_queries(1):  # one aggregate (positions were read building qs)
        unit_scores(qs, date(2026, 3, 1), date(2026, 3, 31), TODAY)


def test_an_empty_period_scores_nobody(scored):
    assert (
        unit_scores(visible_tasks(scored.supervisor), date(2025, 1, 1), date(2025, 1, 31), TODAY)
        == []
    )


def test_a_unit_sees_only_its_own_tasks_in_its_scores(scored):
    scores = unit_scores(
        visible_tasks(scored.handler_b), date(2026, 3, 1), date(2026, 3, 31), TODAY
    )
    assert scores == []  # factory tasks carry no TaskUnit rows: the unit sees none of them
