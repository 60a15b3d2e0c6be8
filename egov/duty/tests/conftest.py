"""Fixtures of the duty tests: a province → city → county tree with people on duty now.

The clock is frozen (time-machine, no ticking) at 2026-07-01 10:00 Beijing time; tests move it
with `clock.shift(...)` / `clock.move_to(...)` — nobody sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps

from egov.duty.choices import DutyRole
from egov.duty.models import DutyTeam, Shift
from egov.duty.tests.factories import DutyTeamFactory, ShiftFactory, put_on_shift
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, User
from egov.orgs.tests.factories import OrganisationFactory, make_member

START = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@dataclass
class DutyTree:
    province: Organisation
    city: Organisation
    county: Organisation
    other_city: Organisation
    other_county: Organisation
    county_officer: User
    county_leader: User
    city_officer: User
    city_leader: User
    province_officer: User
    province_leader: User
    province_signer: User
    other_county_officer: User
    teams: dict[str, DutyTeam]
    shifts: dict[str, Shift]


def _gov(name: str, level: str, parent: Organisation | None = None) -> Organisation:
    return OrganisationFactory(name=name, kind=OrgKind.GOVERNMENT, level=level, parent=parent)


# The default time limits are rows written by a data migration; a transactional test before
# this one (live_server) flushes them, so each tree puts them back (idempotent).
_seed_default_rules = import_module("egov.duty.migrations.0002_seed_reporting_rules").seed


def build_tree(now: datetime = START) -> DutyTree:
    _seed_default_rules(django_apps, None)
    province = _gov("河北省人民政府", OrgLevel.PROVINCE)
    city = _gov("石家庄市人民政府", OrgLevel.CITY, province)
    county = _gov("正定县人民政府", OrgLevel.COUNTY, city)
    other_city = _gov("唐山市人民政府", OrgLevel.CITY, province)
    other_county = _gov("滦州市人民政府", OrgLevel.COUNTY, other_city)
    people = {
        "county_officer": make_member(county, Role.DUTY_OFFICER, username="county.officer"),
        "county_leader": make_member(county, Role.DUTY_LEADER, username="county.leader"),
        "city_officer": make_member(city, Role.DUTY_OFFICER, username="city.officer"),
        "city_leader": make_member(city, Role.DUTY_LEADER, username="city.leader"),
        "province_officer": make_member(province, Role.DUTY_OFFICER, username="prov.officer"),
        "province_leader": make_member(province, Role.DUTY_LEADER, username="prov.leader"),
        "province_signer": make_member(province, Role.SIGNER, username="prov.signer"),
        "other_county_officer": make_member(
            other_county, Role.DUTY_OFFICER, username="other.officer"
        ),
    }
    teams: dict[str, DutyTeam] = {}
    shifts: dict[str, Shift] = {}
    for key, org in (("county", county), ("city", city), ("province", province)):
        teams[key] = DutyTeamFactory(organisation=org, name="值班组")
        # The current shift: 08:30 today to 08:30 tomorrow.
        shifts[key] = ShiftFactory(
            team=teams[key],
            starts_at=now - timedelta(hours=1, minutes=30),
            ends_at=now + timedelta(hours=22, minutes=30),
        )
        put_on_shift(shifts[key], people[f"{key}_officer"], DutyRole.OFFICER)
        put_on_shift(shifts[key], people[f"{key}_leader"], DutyRole.LEADER)
    return DutyTree(
        province=province,
        city=city,
        county=county,
        other_city=other_city,
        other_county=other_county,
        teams=teams,
        shifts=shifts,
        **people,
    )


@pytest.fixture
def duty(db: None, clock: Any) -> DutyTree:
    return build_tree()
