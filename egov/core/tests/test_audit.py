"""The audit chain: appending, canonical hashing on both databases, guards, tampering, pruning."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, close_old_connections, connection, models, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egov.core import audit
from egov.core.acting import Acting
from egov.core.audit import (
    AUDIT_ADMIN_ROLE,
    ChainVerifier,
    canonical_bytes,
    chain_hash,
    check_anchor,
    guard_problems,
    prune_expired,
    record_audit,
    verify_chain,
)
from egov.core.choices import AuditOutcome
from egov.core.errors import AuditImmutable
from egov.core.models import AuditChainHead, AuditEvent
from egov.orgs.choices import Role
from egov.orgs.tests.factories import PositionFactory, UserFactory

pytestmark = pytest.mark.django_db


def _acting(ip: str | None = "10.1.2.3") -> Acting:
    position = PositionFactory.create(title="科员", roles=[Role.CLERK])
    return Acting(user=position.user, position=position, source_ip=ip)


def _chain(n: int, acting: Acting | None = None) -> list[AuditEvent]:
    acting = acting or Acting.system("test")
    return [record_audit("test.happened", acting=acting, details={"n": i}) for i in range(1, n + 1)]


def _sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _drop_guards() -> None:
    """What an attacker with database rights does first (rolled back with the test)."""
    if connection.vendor == "postgresql":
        _sql("DROP TRIGGER core_auditevent_no_update ON core_auditevent")
        _sql("DROP TRIGGER core_auditevent_retention ON core_auditevent")
    else:
        _sql("DROP TRIGGER core_auditevent_no_update")
        _sql("DROP TRIGGER core_auditevent_retention")


def _problems() -> list[audit.ChainProblem]:
    return list(verify_chain())


def _verify_command(*args: str) -> tuple[bool, str]:
    out = StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError:
        return False, out.getvalue()
    return True, out.getvalue()


# --- appending ------------------------------------------------------------------------------


def test_role_constant_matches_orgs():
    assert AUDIT_ADMIN_ROLE == Role.AUDIT_ADMIN


def test_record_audit_appends_a_gap_free_linked_chain():
    acting = _acting()
    events = _chain(5, acting)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == audit.GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    head = AuditChainHead.objects.get(id=1)
    assert (head.last_seq, head.last_hash) == (5, events[-1].hash)
    stored = AuditEvent.objects.get(seq=3)
    assert stored.actor_username == acting.username
    assert acting.organisation is not None
    assert stored.organisation_id_snapshot == acting.organisation.pk
    assert stored.position_title == "科员"
    assert stored.source_ip == "10.1.2.3"
    assert _problems() == []


def test_record_audit_names_the_object():
    acting = _acting()
    assert acting.organisation is not None
    event = record_audit("org.updated", acting=acting, obj=acting.organisation)
    assert event.object_type == "orgs.organisation"
    assert event.object_id == str(acting.organisation.pk)
    assert event.object_repr == str(acting.organisation)


@pytest.mark.parametrize("action", ["Login", "auth", "auth.", "auth login", "auth.Login", ""])
def test_record_audit_refuses_badly_named_actions(action):
    with pytest.raises(ValueError, match="dotted"):
        record_audit(action, acting=Acting.system())
    assert not AuditEvent.objects.exists()


def test_record_audit_refuses_unknown_outcomes():
    with pytest.raises(ValueError, match="outcome"):
        record_audit("auth.login", acting=Acting.system(), outcome="maybe")


def test_username_override_for_failed_logins():
    event = record_audit(
        "auth.login_failed",
        acting=Acting(user=None, source_ip="192.0.2.7"),
        outcome=AuditOutcome.FAILURE,
        username="nobody\x00\x07" + "x" * 400,
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_username == ("nobody" + "x" * 400)[:150]
    assert stored.outcome == AuditOutcome.FAILURE
    assert _problems() == []


AWKWARD_DETAILS: dict[str, Any] = {
    "zeta": 1,
    "alpha": {"b": [1, 2.5, None, True], "a": "中文\u2028"},
    "big": 1e20,
    "small": 1.5e-7,
    "one": 1.0,
    "negzero": -0.0,
    "huge": 10**30,
    "nan": float("nan"),
    "nul": "a\x00b",
    "surrogate": "\ud800x",
    "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    "set": {"b", "a"},
}
AWKWARD_DETAILS[5] = "int key"  # type: ignore[index]  # a key JSON will turn into "5"


@pytest.mark.parametrize(
    ("given_ip", "stored_ip"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("2001:0DB8:0000::0001", "2001:db8::1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("not-an-ip", None),
        (None, None),
    ],
)
def test_rows_read_back_hash_the_same(given_ip, stored_ip):
    """The hash computed in memory holds for the row read back (SQLite and PostgreSQL)."""
    event = record_audit("test.happened", acting=_acting(ip=given_ip), details=AWKWARD_DETAILS)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.source_ip == stored_ip or audit.normalise_ip(stored.source_ip) == stored_ip
    assert canonical_bytes(stored) == canonical_bytes(event)
    assert chain_hash(stored.prev_hash, canonical_bytes(stored)) == (stored.hash, stored.hash_sm3)
    assert _problems() == []


def test_oversized_details_are_truncated_not_refused():
    event = record_audit("test.happened", acting=Acting.system(), details={"x": "y" * 100_000})
    assert event.details["truncated"] is True
    assert _problems() == []


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(details=st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_any_json_details_verify_after_storage(details):
    event = record_audit("test.happened", acting=Acting.system(), details=details)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert audit.row_hashes_match(stored)


def test_number_tokens_follow_decimal_value():
    token = audit._number_token
    assert token(1) == token(1.0) == "1E0"
    assert token(1e20) == token(10**20)
    assert token(0.1) == "1E-1"
    assert token(-0.0) == token(0) == "0"
    assert token(10**40 + 1) == "1" + "0" * 39 + "1E0"


def test_deleting_a_user_leaves_the_chain_intact():
    """The actor column is never rewritten when a user goes (no SET_NULL, no foreign key)."""
    assert AuditEvent._meta.get_field("actor").remote_field.on_delete is models.DO_NOTHING
    assert AuditEvent._meta.get_field("actor").db_constraint is False  # type: ignore[attr-defined]  # a ForeignKey
    user = UserFactory.create()
    record_audit("user.updated", acting=Acting(user=user), obj=user)
    assert _problems() == []


# --- the ORM and the database refuse changes -------------------------------------------------


def test_orm_refuses_update_and_delete():
    event = _chain(1)[0]
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(action="x.y")
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditImmutable):
        event.delete()
    event.action = "x.y"
    with pytest.raises(AuditImmutable):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.happened"


def test_triggers_are_installed():
    assert guard_problems() == []
    assert audit.guard_retention_days() == 180


def test_trigger_refuses_raw_update():
    event = _chain(1)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        _sql("UPDATE core_auditevent SET actor_username = 'mallory' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).actor_username == "test"


def test_trigger_refuses_raw_delete_inside_retention():
    event = _chain(1)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        _sql("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_trigger_allows_raw_delete_after_retention():
    with time_machine.travel(datetime.now(UTC) - timedelta(days=200), tick=False):
        old = _chain(1)[0]
    young = _chain(1)[0]
    _sql("DELETE FROM core_auditevent WHERE id = %s", [old.pk])
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        _sql("DELETE FROM core_auditevent WHERE id = %s", [young.pk])


def test_retention_zero_switches_the_delete_guard_off():
    event = _chain(1)[0]
    _sql("UPDATE core_auditguard SET retention_days = 0")
    _sql("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    assert not AuditEvent.objects.filter(pk=event.pk).exists()


def test_missing_guard_row_falls_back_to_180_days():
    event = _chain(1)[0]
    _sql("DELETE FROM core_auditguard")
    with pytest.raises(IntegrityError), transaction.atomic():
        _sql("DELETE FROM core_auditevent WHERE id = %s", [event.pk])


# --- tampering --------------------------------------------------------------------------------


def test_clean_chain_verifies_with_the_command():
    _chain(3)
    ok, out = _verify_command()
    assert ok
    assert out.strip().splitlines()[-1].startswith("OK: 3 rows checked")
    assert AuditEvent.objects.filter(action="audit.verified", outcome="success").exists()


def test_edited_row_is_named():
    events = _chain(5)
    _drop_guards()
    _sql("UPDATE core_auditevent SET actor_username = 'mallory' WHERE seq = 3")
    problems = _problems()
    assert [(p.kind, p.seq, p.row_id) for p in problems] == [("edited", 3, events[2].pk)]
    ok, out = _verify_command("--no-record")
    assert not ok
    assert f"seq=3 id={events[2].pk} edited" in out
    assert "guard" in out  # the dropped triggers are reported too


def test_edited_details_json_is_named():
    events = _chain(4)
    _drop_guards()
    _sql(
        "UPDATE core_auditevent SET details = %s WHERE seq = 2",
        [json.dumps({"n": 99})],
    )
    assert [(p.kind, p.row_id) for p in _problems()] == [("edited", events[1].pk)]


def test_rehashed_row_breaks_the_next_link():
    events = _chain(4)
    _drop_guards()
    forged = AuditEvent.objects.get(seq=2)
    forged.actor_username = "mallory"
    sha, sm3 = chain_hash(forged.prev_hash, canonical_bytes(forged))
    _sql(
        "UPDATE core_auditevent SET actor_username = 'mallory', hash = %s, hash_sm3 = %s "
        "WHERE seq = 2",
        [sha, sm3],
    )
    problems = _problems()
    assert [(p.kind, p.seq, p.row_id) for p in problems] == [("relinked", 3, events[2].pk)]
    assert "seq=2" in problems[0].message  # the predecessor is named too


def test_deleted_middle_row_is_named():
    events = _chain(5)
    _drop_guards()
    _sql("DELETE FROM core_auditevent WHERE seq = 3")
    problems = _problems()
    assert [(p.kind, p.seq, p.row_id) for p in problems] == [("deleted", 3, None)]
    assert f"id={events[3].pk}" in problems[0].message
    ok, out = _verify_command("--json", "--no-record")
    assert not ok
    report = json.loads(out)
    assert report["ok"] is False
    assert {"seq": 3, "row_id": None, "kind": "deleted"}.items() <= report["problems"][0].items()


def test_deleted_tail_rows_are_named():
    _chain(5)
    _drop_guards()
    _sql("DELETE FROM core_auditevent WHERE seq >= 4")
    problems = _problems()
    assert [(p.kind, p.seq) for p in problems] == [("deleted", 4)]
    assert "seq 4..5" in problems[0].message


def test_inserted_row_beyond_the_head_is_named():
    events = _chain(3)
    _drop_guards()
    forged = AuditEvent(
        seq=4,
        occurred_at=events[-1].occurred_at + timedelta(seconds=1),
        actor_username="mallory",
        action="auth.login",
        outcome="success",
        details={},
        prev_hash=events[-1].hash,
    )
    forged.hash, forged.hash_sm3 = chain_hash(forged.prev_hash, canonical_bytes(forged))
    forged.save(force_insert=True)
    problems = _problems()
    assert [(p.kind, p.seq, p.row_id) for p in problems] == [("inserted", 4, forged.pk)]
    ok, out = _verify_command()  # recording its own run collides with the forged seq: reported
    assert not ok
    assert f"seq=4 id={forged.pk} inserted" in out


def test_inserted_row_in_the_middle_is_named():
    """Renumbering to make room: the inserted row and every row after it stop matching."""
    events = _chain(4)
    _drop_guards()
    _sql("UPDATE core_auditevent SET seq = seq + 100 WHERE seq >= 3")
    _sql("UPDATE core_auditevent SET seq = seq - 99 WHERE seq >= 103")
    forged = AuditEvent(
        seq=3,
        occurred_at=events[1].occurred_at,
        actor_username="mallory",
        action="auth.login",
        outcome="success",
        prev_hash=events[1].hash,
    )
    forged.hash, forged.hash_sm3 = chain_hash(forged.prev_hash, canonical_bytes(forged))
    forged.save(force_insert=True)
    problems = _problems()
    named = {(p.kind, p.seq, p.row_id) for p in problems}
    assert ("relinked", 4, events[2].pk) in named  # old row 3 no longer follows the forged row
    assert ("edited", 4, events[2].pk) in named
    assert any(p.kind == "inserted" and p.row_id == events[3].pk for p in problems)


def test_missing_head_is_reported():
    _chain(2)
    _sql("DELETE FROM core_auditchainhead")
    assert [p.kind for p in _problems()] == ["head"]


def test_anchor_detects_a_rewritten_chain():
    events = _chain(3)
    assert check_anchor(2, events[1].hash) is None
    problem = check_anchor(2, "f" * 64)
    assert problem is not None
    assert (problem.kind, problem.row_id) == ("anchor", events[1].pk)
    ok, out = _verify_command(f"--anchor=2:{'f' * 64}", "--no-record")
    assert not ok
    assert "anchor" in out


@pytest.mark.parametrize("bad", ["2", "x:" + "a" * 64, "2:abc", "2:" + "g" * 64])
def test_malformed_anchor_is_refused(bad):
    with pytest.raises(CommandError, match="anchor"):
        call_command("audit_verify", f"--anchor={bad}", stdout=StringIO(), stderr=StringIO())


# --- pruning ----------------------------------------------------------------------------------


def test_prune_removes_only_expired_rows_and_keeps_the_chain_verifiable():
    now = datetime.now(UTC)
    with time_machine.travel(now - timedelta(days=200), tick=False):
        _chain(3)
    kept = _chain(2)
    out = StringIO()
    call_command("audit_prune", stdout=out)
    assert out.getvalue().startswith("3 audit row(s)")
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [4, 5, 6]
    head = AuditChainHead.objects.get(id=1)
    assert (head.base_seq, head.base_hash) != (0, audit.GENESIS_HASH)
    pruned = AuditEvent.objects.get(action="audit.pruned")
    assert pruned.details["count"] == 3
    assert kept[0].prev_hash == head.base_hash
    assert _problems() == []
    assert prune_expired(acting=Acting.system()) == 0  # nothing more has expired


def test_rows_removed_outside_prune_are_reported():
    now = datetime.now(UTC)
    with time_machine.travel(now - timedelta(days=200), tick=False):
        _chain(3)
    _chain(1)
    _sql("DELETE FROM core_auditevent WHERE seq <= 2")  # old enough for the trigger
    problems = _problems()
    assert [(p.kind, p.seq) for p in problems] == [("deleted", 1)]


def test_moving_the_base_without_a_prune_record_is_reported():
    now = datetime.now(UTC)
    with time_machine.travel(now - timedelta(days=200), tick=False):
        _chain(3)
    _chain(1)
    base = AuditEvent.objects.get(seq=2)
    _sql("DELETE FROM core_auditevent WHERE seq <= 2")
    _sql("UPDATE core_auditchainhead SET base_seq = 2, base_hash = %s WHERE id = 1", [base.hash])
    assert [p.kind for p in _problems()] == ["head"]


def test_verifier_reports_what_it_walked():
    events = _chain(3)
    verifier = ChainVerifier(chunk_size=2)
    assert list(verifier) == []
    assert (verifier.checked, verifier.last_seq, verifier.head_hash) == (3, 3, events[-1].hash)


# --- concurrency (PostgreSQL row lock on the head) ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_serialise_through_the_head_lock():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the row lock matters on PostgreSQL")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def append(worker: int) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(10):
                with transaction.atomic():
                    record_audit(
                        "test.happened", acting=Acting.system(f"w{worker}"), details={"i": i}
                    )
        except BaseException as error:
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 41))
    assert _problems() == []


GOLDEN_SHA256 = "4346c1523e635215231c439f54e5f2d0f06a0ac3b8957db1be72ec700690b75f"


def test_the_same_event_hashes_the_same_on_every_database():
    """A fixed event gives a fixed hash on SQLite and PostgreSQL (and flags format changes)."""
    with time_machine.travel(datetime(2026, 7, 24, 1, 2, 3, 456789, tzinfo=UTC), tick=False):
        event = record_audit(
            "test.happened",
            acting=Acting(user=None, source_ip="2001:DB8::1", label="robot"),
            details={"b": [1.0, 1e20, "中文"], "a": {"z": None, "y": True}},
        )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.seq == 1
    assert stored.hash == event.hash == GOLDEN_SHA256
