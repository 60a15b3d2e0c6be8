"""Reminders (催办) by the periodic job: a received document coming due reminds its handling units'
handlers once a day — earlier for urgent documents (特急 3 days ahead) — and never twice a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils.translation import gettext

from egov.core.models import Notification
from egov.core.scheduling import periodic_jobs, run_due_jobs
from egov.documents.choices import AssignmentState, EventKind, IncomingState, Urgency
from egov.documents.models import DocumentEvent, IncomingDocument
from egov.documents.tasks import CHASE_JOB
from egov.documents.tests.factories import AssignmentFactory, IncomingDocumentFactory
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, User
from egov.orgs.tests.factories import OrganisationFactory, make_member

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, h: int = 9) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=TZ)


@dataclass
class World:
    city: Organisation
    unit: Organisation
    handler: User
    other_handler: User
    clerk: User


@pytest.fixture
def world(db: Any) -> World:
    city = OrganisationFactory(
        name="石家庄市人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY
    )
    unit = OrganisationFactory(
        name="石家庄市政府办公室秘书科",
        kind=OrgKind.INTERNAL_UNIT,
        level=OrgLevel.CITY,
        parent=city,
    )
    return World(
        city=city,
        unit=unit,
        handler=make_member(unit, Role.HANDLER),
        other_handler=make_member(unit, Role.HANDLER),
        clerk=make_member(city, Role.CLERK),
    )


def in_handling(w: World, reply_due: date, urgency: str = Urgency.NORMAL) -> IncomingDocument:
    doc: IncomingDocument = IncomingDocumentFactory(
        organisation=w.city,
        received_at=at(2026, 5, 4),
        signed_for_at=at(2026, 5, 4, 10),
        state=IncomingState.IN_HANDLING,
        reply_due=reply_due,
        urgency=urgency,
    )
    AssignmentFactory(document=doc, unit=w.unit)
    return doc


def reminders(user: User) -> int:
    return Notification.objects.filter(recipient=user).count()


def chased(doc: IncomingDocument) -> list[str]:
    return list(
        DocumentEvent.objects.filter(incoming=doc, kind=EventKind.CHASED).values_list(
            "text", flat=True
        )
    )


def run_job(moment: datetime) -> list[str]:
    with time_machine.travel(moment, tick=False):
        return run_due_jobs()


def test_the_job_is_registered() -> None:
    assert CHASE_JOB in {job.name for job in periodic_jobs()}


def test_extra_urgent_document_is_reminded_three_days_ahead_once_a_day(world: World) -> None:
    doc = in_handling(world, date(2026, 5, 11), Urgency.EXTRA_URGENT)
    assert CHASE_JOB in run_job(at(2026, 5, 7))  # four days ahead: not yet
    assert reminders(world.handler) == 0
    assert CHASE_JOB in run_job(at(2026, 5, 8))  # three days ahead
    assert reminders(world.handler) == 1 and reminders(world.other_handler) == 1
    assert CHASE_JOB in run_job(at(2026, 5, 8, 15))  # the job runs again the same day…
    assert reminders(world.handler) == 1  # …and reminds nobody twice
    assert chased(doc) == [gettext("Reply due soon")]
    note = Notification.objects.get(recipient=world.handler)
    assert note.url == f"/documents/in/{doc.uuid}/"
    assert reminders(world.clerk) == 0  # the handling unit's handlers are reminded
    run_job(at(2026, 5, 9))  # the next day: once more
    assert reminders(world.handler) == 2


def test_normal_document_is_reminded_the_day_before_and_when_overdue(world: World) -> None:
    doc = in_handling(world, date(2026, 5, 11))
    run_job(at(2026, 5, 8))  # three days ahead: a normal document waits
    assert reminders(world.handler) == 0
    run_job(at(2026, 5, 10))  # tomorrow is the day
    assert reminders(world.handler) == 1
    run_job(at(2026, 5, 10, 23))
    assert reminders(world.handler) == 1
    run_job(at(2026, 5, 12))  # overdue
    assert reminders(world.handler) == 2
    assert chased(doc) == [gettext("Reply due soon"), gettext("Overdue")]


def test_a_unit_that_has_reported_and_a_closed_document_are_not_reminded(world: World) -> None:
    doc = in_handling(world, date(2026, 5, 11))
    doc.assignments.update(state=AssignmentState.DONE)
    closed = in_handling(world, date(2026, 5, 11))
    IncomingDocument.objects.filter(pk=closed.pk).update(state=IncomingState.CLOSED)
    run_job(at(2026, 5, 10))
    assert reminders(world.handler) == 0
    assert chased(closed) == []
