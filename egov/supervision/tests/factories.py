"""Factories for supervised tasks and their rows (use these, never objects.create in tests)."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from egov.orgs.tests.factories import OrganisationFactory
from egov.supervision.choices import ReminderReason, TaskSource, TaskState, UnitRole, UnitState
from egov.supervision.models import (
    ExtensionRequest,
    ProgressReport,
    Reminder,
    SupervisionTask,
    TaskUnit,
)


def _in_a_month() -> date:
    return timezone.localdate() + timedelta(days=30)


class SupervisionTaskFactory(DjangoModelFactory[SupervisionTask]):
    class Meta:
        model = SupervisionTask

    number = factory.Sequence(lambda n: f"DB2026-{n:06d}")
    title = factory.Sequence(lambda n: f"督办事项{n}")
    source = TaskSource.LEADER_INSTRUCTION
    source_reference = "省长批示"
    requirement = "按要求落实"
    quality_standard = "全面完成"
    responsible_leader = "王副省长"
    responsible_person = "李处长"
    office = factory.SubFactory(OrganisationFactory)
    state = TaskState.REGISTERED
    deadline = factory.LazyFunction(_in_a_month)
    original_deadline = factory.LazyAttribute(lambda t: t.deadline)


class TaskUnitFactory(DjangoModelFactory[TaskUnit]):
    class Meta:
        model = TaskUnit

    task = factory.SubFactory(SupervisionTaskFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = UnitRole.LEAD
    state = UnitState.ASSIGNED


class ProgressReportFactory(DjangoModelFactory[ProgressReport]):
    class Meta:
        model = ProgressReport

    task = factory.SubFactory(SupervisionTaskFactory)
    unit = factory.SubFactory(OrganisationFactory)
    author = factory.SubFactory("egov.orgs.tests.factories.UserFactory")
    text = "进展顺利"
    percent = 50


class ExtensionRequestFactory(DjangoModelFactory[ExtensionRequest]):
    class Meta:
        model = ExtensionRequest

    task = factory.SubFactory(SupervisionTaskFactory)
    requested_by = factory.SubFactory("egov.orgs.tests.factories.UserFactory")
    old_deadline = factory.LazyAttribute(lambda e: e.task.deadline)
    new_deadline = factory.LazyAttribute(lambda e: e.task.deadline + timedelta(days=7))
    reason = "需要更多时间"


class ReminderFactory(DjangoModelFactory[Reminder]):
    class Meta:
        model = Reminder

    task = factory.SubFactory(SupervisionTaskFactory)
    reason = ReminderReason.OVERDUE
    day = factory.LazyFunction(timezone.localdate)
