"""Rosters: pattern expansion, shift generation, assignments without overlap, swaps, handover."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from egov.core.acting import Acting
from egov.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from egov.core.models import CalendarOverride
from egov.duty import selectors, services
from egov.duty.choices import DayKind, DutyRole, Frequency, HandoverState, SwapKind, SwapState
from egov.duty.models import Shift, ShiftAssignment
from egov.duty.rosters import PatternSpec, expand_pattern
from egov.duty.tests.conftest import START, DutyTree
from egov.duty.tests.factories import ShiftFactory, ShiftPatternFactory, put_on_shift
from egov.orgs.choices import Role
from egov.orgs.tests.factories import make_member

TZ = ZoneInfo("Asia/Shanghai")


def acting(user: Any) -> Acting:
    return Acting(user=user, position=user.current_position())


# ---------------------------------------------------------------- expansion (pure)


def test_daily_pattern_every_day_at_the_local_start_time() -> None:
    spec = PatternSpec(Frequency.DAILY, time(8, 30), 24 * 60, date(2026, 7, 1))
    shifts = expand_pattern(spec, date(2026, 7, 1), date(2026, 7, 3), tz=TZ)
    assert [s.isoformat() for s, _e in shifts] == [
        "2026-07-01T08:30:00+08:00",
        "2026-07-02T08:30:00+08:00",
        "2026-07-03T08:30:00+08:00",
    ]
    assert all(e - s == timedelta(hours=24) for s, e in shifts)


def test_daily_interval_and_validity_window() -> None:
    spec = PatternSpec(
        Frequency.DAILY, time(9), 480, date(2026, 7, 2), valid_until=date(2026, 7, 8), interval=3
    )
    days = [s.date() for s, _e in expand_pattern(spec, date(2026, 7, 1), date(2026, 7, 31), tz=TZ)]
    assert days == [date(2026, 7, 2), date(2026, 7, 5), date(2026, 7, 8)]


def test_weekly_pattern_on_a_weekday_set_every_other_week() -> None:
    spec = PatternSpec(
        Frequency.WEEKLY,
        time(18),
        14 * 60,
        date(2026, 6, 29),  # a Monday
        interval=2,
        weekdays=frozenset({0, 4}),
    )
    days = [s.date() for s, _e in expand_pattern(spec, date(2026, 6, 29), date(2026, 7, 26), tz=TZ)]
    assert days == [date(2026, 6, 29), date(2026, 7, 3), date(2026, 7, 13), date(2026, 7, 17)]


@pytest.mark.django_db
def test_working_day_and_rest_day_patterns_follow_the_calendar() -> None:
    # 2026-10-01..07 National Day; make 2026-09-27 (a Sunday) an adjusted workday by override.
    CalendarOverride.objects.bulk_create(
        [CalendarOverride(date=date(2026, 9, 27), is_working_day=True)]
    )
    working = PatternSpec(
        Frequency.DAILY, time(8, 30), 600, date(2026, 9, 1), day_kind=DayKind.WORKING
    )
    rest = PatternSpec(Frequency.DAILY, time(8, 30), 600, date(2026, 9, 1), day_kind=DayKind.REST)
    start, end = date(2026, 9, 26), date(2026, 10, 8)
    work_days = {s.date() for s, _e in expand_pattern(working, start, end, tz=TZ)}
    rest_days = {s.date() for s, _e in expand_pattern(rest, start, end, tz=TZ)}
    assert date(2026, 9, 27) in work_days
    assert date(2026, 10, 1) in rest_days and date(2026, 10, 5) in rest_days
    assert not work_days & rest_days
    assert len(work_days | rest_days) == (end - start).days + 1


def test_expansion_refuses_huge_windows() -> None:
    spec = PatternSpec(Frequency.DAILY, time(8), 60, date(2026, 1, 1))
    with pytest.raises(ValueError, match="400"):
        expand_pattern(spec, date(2026, 1, 1), date(2028, 1, 1))
    assert expand_pattern(spec, date(2026, 2, 1), date(2026, 1, 1)) == []


# ---------------------------------------------------------------- generation and assignment


@pytest.mark.django_db
def test_generate_shifts_is_idempotent(duty: DutyTree) -> None:
    pattern = ShiftPatternFactory(team=duty.teams["city"], valid_from=date(2026, 7, 2))
    leader = acting(duty.city_leader)
    created = services.do_generate_shifts(
        pattern=pattern, start=date(2026, 7, 2), end=date(2026, 7, 8), acting=leader
    )
    assert len(created) == 7
    again = services.do_generate_shifts(
        pattern=pattern, start=date(2026, 7, 2), end=date(2026, 7, 10), acting=leader
    )
    assert len(again) == 2
    with pytest.raises(NotPermitted):
        services.do_generate_shifts(
            pattern=pattern,
            start=date(2026, 7, 2),
            end=date(2026, 7, 3),
            acting=acting(duty.city_officer),
        )
    with pytest.raises(DomainError):
        services.do_generate_shifts(
            pattern=pattern, start=date(2026, 7, 2), end=date(2028, 7, 3), acting=leader
        )


@pytest.mark.django_db
def test_overlapping_shifts_for_one_person_are_refused(duty: DutyTree) -> None:
    team = duty.teams["city"]
    overlapping = ShiftFactory(
        team=team, starts_at=START + timedelta(hours=12), ends_at=START + timedelta(hours=36)
    )
    with pytest.raises(Conflict) as caught:
        services.do_assign(
            shift=overlapping,
            user=duty.city_officer,
            role=DutyRole.OFFICER,
            acting=acting(duty.city_leader),
        )
    assert caught.value.field == "user"
    later = ShiftFactory(
        team=team,
        starts_at=duty.shifts["city"].ends_at,
        ends_at=duty.shifts["city"].ends_at + timedelta(hours=24),
    )
    services.do_assign(
        shift=later, user=duty.city_officer, role=DutyRole.OFFICER, acting=acting(duty.city_leader)
    )
    outsider = make_member(duty.county, Role.DUTY_OFFICER)
    with pytest.raises(DomainError):
        services.do_assign(
            shift=later, user=outsider, role=DutyRole.OFFICER, acting=acting(duty.city_leader)
        )


@pytest.mark.django_db
def test_empty_shift_warning(duty: DutyTree) -> None:
    team = duty.teams["city"]
    lonely = ShiftFactory(
        team=team, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=2)
    )
    put_on_shift(lonely, make_member(duty.city, Role.DUTY_OFFICER), DutyRole.OFFICER)
    empty = ShiftFactory(
        team=team, starts_at=START + timedelta(days=2), ends_at=START + timedelta(days=3)
    )
    flagged = set(selectors.empty_shifts(Shift.objects.filter(team=team)))
    assert flagged == {lonely, empty}


# ---------------------------------------------------------------- swaps


@pytest.fixture
def two_shifts(duty: DutyTree) -> tuple[ShiftAssignment, ShiftAssignment, Any]:
    team = duty.teams["city"]
    colleague = make_member(duty.city, Role.DUTY_OFFICER, username="colleague")
    s1 = ShiftFactory(
        team=team, starts_at=START + timedelta(days=2), ends_at=START + timedelta(days=3)
    )
    s2 = ShiftFactory(
        team=team, starts_at=START + timedelta(days=4), ends_at=START + timedelta(days=5)
    )
    return put_on_shift(s1, duty.city_officer), put_on_shift(s2, colleague), colleague


@pytest.mark.django_db
def test_swap_needs_approval_then_exchanges_people(duty: DutyTree, two_shifts: Any) -> None:
    mine, theirs, colleague = two_shifts
    swap = services.do_request_swap(
        assignment=mine, kind=SwapKind.SWAP, counterpart=theirs, acting=acting(duty.city_officer)
    )
    assert swap.state == SwapState.PENDING
    assert selectors.swaps_to_approve(duty.city_leader).get() == swap
    with pytest.raises(NotPermitted):
        services.do_decide_swap(swap=swap, approve=True, acting=acting(duty.city_officer))
    services.do_decide_swap(swap=swap, approve=True, acting=acting(duty.city_leader))
    assert ShiftAssignment.objects.get(shift=mine.shift).user == colleague
    assert ShiftAssignment.objects.get(shift=theirs.shift).user == duty.city_officer
    swap.refresh_from_db()
    with pytest.raises(InvalidTransition):
        services.do_decide_swap(swap=swap, approve=False, acting=acting(duty.city_leader))


@pytest.mark.django_db
def test_takeover_approved_and_rejected(duty: DutyTree, two_shifts: Any) -> None:
    mine, _theirs, colleague = two_shifts
    swap = services.do_request_swap(
        assignment=mine, kind=SwapKind.TAKEOVER, taker=colleague, acting=acting(duty.city_officer)
    )
    with pytest.raises(Conflict):  # one pending request per shift
        services.do_request_swap(
            assignment=mine,
            kind=SwapKind.TAKEOVER,
            taker=colleague,
            acting=acting(duty.city_officer),
        )
    services.do_decide_swap(swap=swap, approve=False, acting=acting(duty.city_leader))
    assert ShiftAssignment.objects.get(pk=mine.pk).user == duty.city_officer
    swap = services.do_request_swap(
        assignment=mine, kind=SwapKind.TAKEOVER, taker=colleague, acting=acting(duty.city_officer)
    )
    services.do_decide_swap(swap=swap, approve=True, acting=acting(duty.city_leader))
    assert ShiftAssignment.objects.get(pk=mine.pk).user == colleague


@pytest.mark.django_db
def test_swap_bad_input(duty: DutyTree, two_shifts: Any) -> None:
    mine, theirs, colleague = two_shifts
    officer = acting(duty.city_officer)
    with pytest.raises(NotPermitted):
        services.do_request_swap(
            assignment=theirs, kind=SwapKind.TAKEOVER, taker=duty.city_officer, acting=officer
        )
    with pytest.raises(DomainError) as caught:
        services.do_request_swap(assignment=mine, kind=SwapKind.SWAP, acting=officer)
    assert caught.value.field == "counterpart"
    with pytest.raises(DomainError) as caught:
        services.do_request_swap(
            assignment=mine, kind=SwapKind.TAKEOVER, taker=duty.county_officer, acting=officer
        )
    assert caught.value.field == "taker"
    with pytest.raises(DomainError) as caught:
        services.do_request_swap(assignment=mine, kind="bogus", acting=officer)
    assert caught.value.field == "kind"
    # A take-over onto someone already on duty then is refused at approval, nothing moves.
    busy = ShiftFactory(
        team=duty.teams["city"],
        starts_at=mine.starts_at + timedelta(hours=1),
        ends_at=mine.ends_at + timedelta(hours=1),
    )
    put_on_shift(busy, colleague)
    swap = services.do_request_swap(
        assignment=mine, kind=SwapKind.TAKEOVER, taker=colleague, acting=officer
    )
    with pytest.raises(Conflict):
        services.do_decide_swap(swap=swap, approve=True, acting=acting(duty.city_leader))
    assert ShiftAssignment.objects.get(pk=mine.pk).user == duty.city_officer


# ---------------------------------------------------------------- handover


@pytest.mark.django_db
def test_handover_closed_only_by_the_incoming_officer(duty: DutyTree) -> None:
    incoming = make_member(duty.city, Role.DUTY_OFFICER, username="incoming")
    handover = services.do_create_handover(
        incoming=incoming,
        notes="平稳",
        open_items="跟踪爆炸事件\n\n回复省厅",
        acting=acting(duty.city_officer),
    )
    assert handover.item_lines() == ["跟踪爆炸事件", "回复省厅"]
    assert handover.from_shift == duty.shifts["city"]
    assert list(selectors.pending_handovers_for(incoming)) == [handover]
    for stranger in (duty.city_officer, duty.city_leader):
        with pytest.raises(NotPermitted):
            services.do_acknowledge_handover(handover=handover, acting=acting(stranger))
    handover.refresh_from_db()
    assert handover.state == HandoverState.OPEN
    services.do_acknowledge_handover(handover=handover, acting=acting(incoming))
    handover.refresh_from_db()
    assert (
        handover.state == HandoverState.ACKNOWLEDGED and handover.acknowledged_at == timezone.now()
    )
    with pytest.raises(InvalidTransition):
        services.do_acknowledge_handover(handover=handover, acting=acting(incoming))


@pytest.mark.django_db
def test_handover_bad_input(duty: DutyTree) -> None:
    with pytest.raises(DomainError) as caught:
        services.do_create_handover(
            incoming=duty.city_officer, notes="", open_items="", acting=acting(duty.city_officer)
        )
    assert caught.value.field == "incoming"
    with pytest.raises(DomainError) as caught:
        services.do_create_handover(
            incoming=duty.county_officer, notes="", open_items="", acting=acting(duty.city_officer)
        )
    assert caught.value.field == "incoming"
    with pytest.raises(NotPermitted):
        services.do_create_handover(
            incoming=duty.city_officer, notes="", open_items="", acting=acting(duty.province_signer)
        )


# ---------------------------------------------------------------- zero-reports


@pytest.mark.django_db
def test_zero_report_owed_until_filed(duty: DutyTree) -> None:
    services.do_set_zero_report_obligation(
        organisation=duty.county, active=True, acting=acting(duty.city_leader)
    )
    today = timezone.localdate()
    assert list(
        selectors.owed_zero_reports(today, selectors.duty_organisations(duty.city_officer))
    ) == [duty.county]
    services.do_file_zero_report(acting=acting(duty.county_officer), note="无")
    assert not selectors.owed_zero_reports(
        today, selectors.duty_organisations(duty.province_officer)
    ).exists()
    with pytest.raises(Conflict):
        services.do_file_zero_report(acting=acting(duty.county_officer))
    with pytest.raises(NotPermitted):
        services.do_set_zero_report_obligation(
            organisation=duty.city, active=True, acting=acting(duty.county_leader)
        )
