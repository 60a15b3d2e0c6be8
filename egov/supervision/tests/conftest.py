"""Shared fixtures: a small province with a general office, two cities and an outside unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from egov.core.acting import Acting
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, User
from egov.orgs.tests.factories import OrganisationFactory, make_member
from egov.supervision import services
from egov.supervision.choices import TaskSource
from egov.supervision.models import SupervisionTask


@dataclass
class World:
    province: Organisation
    office: Organisation
    city_a: Organisation
    city_b: Organisation
    outside: Organisation
    supervisor: User
    leader: User
    handler_a: User
    clerk_a: User
    handler_b: User
    outsider: User
    other_supervisor: User

    def acting(self, user: User) -> Acting:
        return Acting(user=user)

    def register(self, deadline: date, **kwargs: Any) -> SupervisionTask:
        fields: dict[str, Any] = {
            "office": self.office,
            "title": "落实省长批示",
            "source": TaskSource.LEADER_INSTRUCTION,
            "source_reference": "省长批示第12号",
            "requirement": "抓紧落实",
            "quality_standard": "按期全面完成",
            "responsible_leader": "王副省长",
            "responsible_person": "李处长",
            "deadline": deadline,
        }
        fields.update(kwargs)
        return services.do_register_task(**fields, acting=self.acting(self.supervisor))

    def in_progress(self, deadline: date, *, co: bool = True, **kwargs: Any) -> SupervisionTask:
        task = self.register(deadline, **kwargs)
        services.do_approve_task(task, acting=self.acting(self.leader))
        services.do_assign_task(
            task,
            lead_unit=self.city_a,
            co_units=[self.city_b] if co else [],
            acting=self.acting(self.supervisor),
        )
        services.do_acknowledge_task(task, acting=self.acting(self.handler_a))
        task.refresh_from_db()
        return task


@pytest.fixture
def world(db: Any) -> World:
    province = OrganisationFactory(
        name="河北省人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.PROVINCE
    )
    office = OrganisationFactory(
        name="河北省人民政府办公厅", kind=OrgKind.GENERAL_OFFICE, parent=province
    )
    city_a = OrganisationFactory(
        name="石家庄市人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY, parent=province
    )
    city_b = OrganisationFactory(
        name="唐山市人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY, parent=province
    )
    other_root = OrganisationFactory(name="外省人民政府", kind=OrgKind.GOVERNMENT)
    outside = OrganisationFactory(name="外省办公厅", kind=OrgKind.GENERAL_OFFICE, parent=other_root)
    return World(
        province=province,
        office=office,
        city_a=city_a,
        city_b=city_b,
        outside=outside,
        supervisor=make_member(office, Role.SUPERVISOR, full_name="督查员"),
        leader=make_member(office, Role.SIGNER, full_name="秘书长"),
        handler_a=make_member(city_a, Role.HANDLER, full_name="石家庄承办人"),
        clerk_a=make_member(city_a, Role.CLERK, full_name="石家庄收发员"),
        handler_b=make_member(city_b, Role.HANDLER, full_name="唐山承办人"),
        outsider=make_member(outside, Role.HANDLER, full_name="外省承办人"),
        other_supervisor=make_member(outside, Role.SUPERVISOR, full_name="外省督查员"),
    )
