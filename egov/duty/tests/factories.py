"""Factories for the duty app's models (factory-boy)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from egov.duty.choices import Category, DutyRole, Frequency, Grade, ReportState
from egov.duty.models import (
    CallRecord,
    DutyTeam,
    EmergencyReport,
    Handover,
    ReportingRule,
    Shift,
    ShiftAssignment,
    ShiftPattern,
    ZeroReportObligation,
)
from egov.orgs.tests.factories import OrganisationFactory, UserFactory


class DutyTeamFactory(DjangoModelFactory[DutyTeam]):
    class Meta:
        model = DutyTeam

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"值班组{n}")


class ShiftPatternFactory(DjangoModelFactory[ShiftPattern]):
    class Meta:
        model = ShiftPattern

    team = factory.SubFactory(DutyTeamFactory)
    name = factory.Sequence(lambda n: f"班次{n}")
    frequency = Frequency.DAILY
    start_time = time(8, 30)
    duration_minutes = 24 * 60
    valid_from = factory.LazyFunction(timezone.localdate)


class ShiftFactory(DjangoModelFactory[Shift]):
    class Meta:
        model = Shift

    team = factory.SubFactory(DutyTeamFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + timedelta(hours=24))


class ShiftAssignmentFactory(DjangoModelFactory[ShiftAssignment]):
    class Meta:
        model = ShiftAssignment

    shift = factory.SubFactory(ShiftFactory)
    user = factory.SubFactory(UserFactory)
    role = DutyRole.OFFICER
    starts_at = factory.LazyAttribute(lambda a: a.shift.starts_at)
    ends_at = factory.LazyAttribute(lambda a: a.shift.ends_at)


def put_on_shift(shift: Shift, user: Any, role: str = DutyRole.OFFICER) -> ShiftAssignment:
    return ShiftAssignmentFactory(shift=shift, user=user, role=role)


class ReportingRuleFactory(DjangoModelFactory[ReportingRule]):
    class Meta:
        model = ReportingRule

    province = None
    category = ""
    grade = Grade.II
    phone_minutes = 30
    written_minutes = 60
    follow_up_minutes = 120
    daily_after_hours = 72
    escalation_minutes = 10


class EmergencyReportFactory(DjangoModelFactory[EmergencyReport]):
    """A report as if filed in writing now for an event an hour ago (deadlines from rule II)."""

    class Meta:
        model = EmergencyReport

    organisation = factory.SubFactory(OrganisationFactory)
    title = factory.Sequence(lambda n: f"突发事件{n}")
    category = Category.ACCIDENT
    grade = Grade.II
    source = "县应急管理局"
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=30))
    learned_at = factory.LazyAttribute(lambda r: r.occurred_at + timedelta(minutes=5))
    place = "某乡镇"
    course = "经过"
    state = ReportState.OPEN
    rule = factory.LazyFunction(
        lambda: ReportingRule.objects.get(province=None, category="", grade=Grade.II)
    )
    phone_due_at = factory.LazyAttribute(lambda r: r.occurred_at + timedelta(minutes=30))
    written_due_at = factory.LazyAttribute(lambda r: r.occurred_at + timedelta(minutes=60))
    first_reported_at = factory.LazyFunction(timezone.now)
    last_report_at = factory.LazyFunction(timezone.now)
    next_due_at = factory.LazyAttribute(lambda r: r.last_report_at + timedelta(minutes=120))
    next_due_kind = "follow_up"
    filed_by = factory.SubFactory(UserFactory)


class CallRecordFactory(DjangoModelFactory[CallRecord]):
    class Meta:
        model = CallRecord

    organisation = factory.SubFactory(OrganisationFactory)
    received_at = factory.LazyFunction(timezone.now)
    caller_unit = "某县应急局"
    caller_name = "张三"
    caller_phone = "0311-1234567"
    what_happened = "报告情况"
    recorded_by = factory.SubFactory(UserFactory)


class HandoverFactory(DjangoModelFactory[Handover]):
    class Meta:
        model = Handover

    organisation = factory.SubFactory(OrganisationFactory)
    outgoing = factory.SubFactory(UserFactory)
    incoming = factory.SubFactory(UserFactory)
    notes = "平稳"


class ZeroReportObligationFactory(DjangoModelFactory[ZeroReportObligation]):
    class Meta:
        model = ZeroReportObligation

    organisation = factory.SubFactory(OrganisationFactory)
