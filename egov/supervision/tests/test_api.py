"""The API: every step of the flow, scope, and bad input (responses checked against OpenAPI)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from egov.api.testing import ApiClient, bearer_for
from egov.core.models import Notification
from egov.supervision.models import SupervisionTask

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
BASE = "/api/v1/supervision/tasks"

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def api(user) -> ApiClient:
    return ApiClient(token=bearer_for(user))


def body(world, **changes):
    data = {
        "office": str(world.office.uuid),
        "title": "落实省长批示",
        "source": "leader_instruction",
        "source_reference": "批示",
        "requirement": "落实",
        "quality_standard": "全面完成",
        "responsible_leader": "王副省长",
        "responsible_person": "李处长",
        "deadline": "2026-04-30",
    }
    data.update(changes)
    return data


def test_the_flow_through_the_api(world):
    sup, lead, ha, hb = (
        api(world.supervisor),
        api(world.leader),
        api(world.handler_a),
        api(world.handler_b),
    )
    r = sup.post_json(BASE, body(world))
    assert r.status_code == 201, r.json()
    uid = r.json()["uuid"]
    assert r.json()["state"] == "registered"
    assert lead.post_json(f"{BASE}/{uid}/approve").json()["state"] == "approved"
    r = sup.post_json(
        f"{BASE}/{uid}/assign",
        {"lead_unit": str(world.city_a.uuid), "co_units": [str(world.city_b.uuid)]},
    )
    assert r.status_code == 200 and len(r.json()["units"]) == 2
    assert ha.post_json(f"{BASE}/{uid}/acknowledge").json()["state"] == "in_progress"
    assert hb.post_json(f"{BASE}/{uid}/acknowledge").status_code == 200
    r = ha.post_json(f"{BASE}/{uid}/reports", {"text": "进展", "percent": 60})
    assert r.status_code == 201 and r.json()["percent"] == 60
    r = ha.post_json(f"{BASE}/{uid}/extensions", {"new_deadline": "2026-05-15", "reason": "协调"})
    assert r.status_code == 201
    ext = r.json()["uuid"]
    r = lead.post_json(f"{BASE}/{uid}/extensions/{ext}/decide", {"approve": True})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    r = sup.post_json(f"{BASE}/{uid}/urge", {"text": "请加快进度"})
    assert r.status_code == 201 and r.json()["recipients"] == 3
    Notification.objects.filter(recipient=world.handler_a, kind="supervision.reminder").update(
        read_at=NOW
    )
    r = sup.get(f"{BASE}/{uid}/reminders")
    assert r.json()[0]["read"] == 1
    assert (
        ha.post_json(f"{BASE}/{uid}/apply-close", {"evidence": "完成"}).json()["state"] == "closing"
    )
    r = sup.post_json(f"{BASE}/{uid}/review", {"passed": True, "quality_score": 88})
    detail = r.json()
    assert (detail["state"], detail["colour"], detail["deadline"], detail["original_deadline"]) == (
        "done",
        "done",
        "2026-05-15",
        "2026-04-30",
    )
    assert sup.post_json(f"{BASE}/{uid}/archive").json()["colour"] == "closed"
    r = sup.get("/api/v1/supervision/rankings?month=2026-05")
    assert r.status_code == 200 and r.json()[0]["unit"] == str(world.city_a.uuid)


def test_list_and_get_respect_scope(world):
    task = world.in_progress(date(2026, 4, 30), co=False)
    r = api(world.handler_a).get(BASE)
    assert r.status_code == 200 and r.json()["count"] == 1
    assert r.json()["items"][0]["colour"] == "on_time"
    assert api(world.supervisor).get(f"{BASE}?state=in_progress").json()["count"] == 1
    for user in (world.handler_b, world.outsider, world.other_supervisor):
        client = api(user)
        assert client.get(BASE).json()["count"] == 0
        assert client.get(f"{BASE}/{task.uuid}").status_code == 404
        assert (
            client.post_json(f"{BASE}/{task.uuid}/reports", {"text": "x", "percent": 1}).status_code
            == 404
        )
    assert api(world.handler_a).get(f"{BASE}/{task.uuid}").status_code == 200


def test_the_list_runs_a_constant_number_of_queries(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(world.supervisor)
    counts = []
    for _ in range(2):
        for _i in range(5):
            world.register(date(2026, 4, 30))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(BASE).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"deadline": "2026-03-01"}, 400, "deadline"),
        ({"deadline": "2026-02-30"}, 422, "deadline"),
        ({"deadline": 20260430}, 422, "deadline"),
        ({"title": ""}, 422, "title"),
        ({"title": "x" * 201}, 422, "title"),
        ({"title": "a\x00b"}, 422, "title"),
        ({"source": "rumour"}, 422, "source"),
        ({"sign_in_days": 0}, 422, "sign_in_days"),
        ({"sign_in_days": "two"}, 422, "sign_in_days"),
        ({"office": "not-a-uuid"}, 422, "office"),
        ({"office": "00000000-0000-0000-0000-000000000000"}, 404, "office"),
        ({"parent": "00000000-0000-0000-0000-000000000000"}, 404, "parent"),
        ({"surprise": 1}, 422, "surprise"),
    ],
)
def test_register_bad_input(world, changes, status, field):
    r = api(world.supervisor).post_json(BASE, body(world, **changes))
    assert r.status_code == status, r.json()
    assert field in {d["field"] for d in r.json()["details"]}
    assert not SupervisionTask.objects.exists()


def test_register_in_another_office_is_refused(world):
    r = api(world.other_supervisor).post_json(BASE, body(world))
    assert r.status_code == 404
    r = api(world.handler_a).post_json(BASE, body(world, office=str(world.city_a.uuid)))
    assert r.status_code == 404
    assert not SupervisionTask.objects.exists()


def test_malformed_and_oversized_bodies(world):
    client = api(world.supervisor)
    r = client.post(BASE, data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    r = client.post_json(BASE, body(world, requirement="x" * 5001))
    assert r.status_code == 422
    r = client.post_json(BASE, ["a list"])
    assert r.status_code == 422


def test_step_bad_input(world):
    task = world.in_progress(date(2026, 4, 30))
    sup, ha = api(world.supervisor), api(world.handler_a)
    url = f"{BASE}/{task.uuid}"
    cases = [
        (ha, "reports", {"text": "x", "percent": 101}, 422, "percent"),
        (ha, "reports", {"text": "x", "percent": "half"}, 422, "percent"),
        (ha, "reports", {"text": "", "percent": 1}, 422, "text"),
        (ha, "reports", {"text": "  ", "percent": 1}, 400, "text"),
        (ha, "apply-close", {"evidence": " "}, 400, "evidence"),
        (ha, "extensions", {"new_deadline": "2026-04-01", "reason": "x"}, 400, "new_deadline"),
        (ha, "extensions", {"new_deadline": "2030-01-01", "reason": "x"}, 400, "new_deadline"),
        (ha, "return", {"reason": "x"}, 409, ""),  # signed for already: too late to return
        (sup, "urge", {"text": ""}, 422, "text"),
        (sup, "review", {"passed": True}, 409, ""),  # not applied to close
        (sup, "review", {"passed": "perhaps"}, 422, "passed"),
        (sup, "assign", {"lead_unit": str(task.office.uuid)}, 409, ""),
        (sup, "approve", None, 409, ""),
        (ha, "acknowledge", None, 403, ""),  # already signed for: nothing left to sign
    ]
    for client, step, data, status, field in cases:
        r = client.post_json(f"{url}/{step}", data)
        assert r.status_code == status, (step, data, r.json())
        if field:
            assert field in {d["field"] for d in r.json()["details"]}, (step, r.json())
    task.refresh_from_db()
    assert task.state == "in_progress" and not task.reports.exists()


def test_assign_refuses_units_outside_the_scope(world):
    task = world.register(date(2026, 4, 30))
    api(world.leader).post_json(f"{BASE}/{task.uuid}/approve")
    sup = api(world.supervisor)
    r = sup.post_json(f"{BASE}/{task.uuid}/assign", {"lead_unit": str(world.outside.uuid)})
    assert r.status_code == 404 and r.json()["details"][0]["field"] == "lead_unit"
    r = sup.post_json(
        f"{BASE}/{task.uuid}/assign",
        {"lead_unit": str(world.city_a.uuid), "co_units": [str(world.outside.uuid)]},
    )
    assert r.status_code == 404 and r.json()["details"][0]["field"] == "co_units.0"
    r = sup.post_json(
        f"{BASE}/{task.uuid}/assign",
        {"lead_unit": str(world.city_a.uuid), "co_units": [str(world.city_a.uuid)]},
    )
    assert r.status_code == 400 and r.json()["details"][0]["field"] == "co_units"
    task.refresh_from_db()
    assert task.state == "approved"


def test_extension_decision_of_another_task_is_404(world):
    task = world.in_progress(date(2026, 4, 30))
    r = api(world.supervisor).post_json(
        f"{BASE}/{task.uuid}/extensions/00000000-0000-0000-0000-000000000000/decide",
        {"approve": True},
    )
    assert r.status_code == 404


def test_rankings_bad_month(world):
    client = api(world.supervisor)
    assert client.get("/api/v1/supervision/rankings?month=2026-13").status_code == 422
    assert client.get("/api/v1/supervision/rankings?month=0000-01").status_code == 422
    assert client.get("/api/v1/supervision/rankings").status_code == 200
