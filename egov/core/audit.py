"""The tamper-evident audit trail (安全审计): append, verify and prune a hash chain.

Conventions for callers
-----------------------
- Action names are dotted lower case, ``<area>.<verb>`` in the past tense or a noun phrase:
  ``auth.login``, ``auth.logout``, ``auth.login_failed``, ``auth.locked_out``,
  ``org.created``, ``user.updated``, ``role.granted``, ``role.revoked``,
  ``document.signed_off``, ``audit.viewed``, ``audit.exported``, ``audit.pruned``.
  `record_audit` refuses any other shape (`ACTION_PATTERN`).
- Every service write calls ``record_audit(action, acting=acting, obj=..., details=...)``
  inside its ``transaction.atomic`` block, *after* taking its own row locks: the chain head
  is always the last lock taken, so lock order stays fixed.
- A refused or failed attempt (``outcome=AuditOutcome.FAILURE`` or ``DENIED``) must be
  recorded *outside* the block that rolls back, or it is rolled back with it: catch the
  `DomainError` in the view or service wrapper, then record.
- ``details`` holds what an auditor needs to understand the act (changed field names, old
  and new values of roles, counts, filters) — never passwords, keys, tokens or document
  bodies. It is stored as JSON; values that are not JSON become strings.
- ``username=`` records a name when there is no user (a failed login names the account tried).

The chain
---------
Each row's hash is SHA-256 over the previous row's hash and the row's canonical content; an
SM3 digest of the same bytes is kept beside it. The canonical content is a JSON text built by
`canonical_bytes` so that a row reads back to the same bytes from SQLite and PostgreSQL
(UTC microsecond timestamps, sorted keys, numbers by decimal value, normalised IP addresses).
`seq` is gap-free, so verification tells an edited row (its hash no longer matches its
content), a deleted row (a gap in `seq`, or a head beyond the last row), an inserted row
(a repeated `seq`, a row beyond the head) and a re-chained row (its `prev_hash` is not its
predecessor's hash).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from egov.core.acting import Acting
from egov.core.choices import AuditOutcome
from egov.core.errors import DomainError
from egov.core.models import AuditChainHead, AuditEvent
from egov.core.models.audit import GENESIS_HASH

logger = logging.getLogger("egov.audit")

__all__ = [
    "AUDIT_ADMIN_ROLE",
    "GENESIS_HASH",
    "ChainProblem",
    "ChainVerifier",
    "auditable_events",
    "canonical_bytes",
    "chain_hash",
    "check_anchor",
    "guard_problems",
    "is_auditor",
    "prune_expired",
    "record_audit",
    "verify_chain",
]

# The auditor (审计管理员). The value of `egov.orgs.choices.Role.AUDIT_ADMIN`, spelt out here
# because `core` imports no domain app; a test checks the two agree.
AUDIT_ADMIN_ROLE = "audit_admin"
# The other two of the 三员 never read the trail, even if a grant slipped through by mistake.
EXCLUDED_ROLES = frozenset({"system_admin", "security_admin"})
# 《网络安全法》第二十一条: network logs are kept for no less than six months.
STATUTORY_MIN_RETENTION_DAYS = 180
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# A `details` dict larger than this (as JSON) is replaced by a marker and its first part.
MAX_DETAILS_CHARS = 32_768
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_username",
    "position_id_snapshot",
    "position_title",
    "organisation_id_snapshot",
    "organisation_name",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "source_ip",
    "outcome",
    "details",
)


# --- canonical form ---------------------------------------------------------------------


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def _number_token(value: int | float) -> str:
    """A number by its decimal value: 1, 1.0 and 1E+0 give the same token on every database.

    PostgreSQL's jsonb keeps numbers as `numeric` (1e20 reads back as 100000000000000000000),
    SQLite keeps the JSON text; both agree on the decimal value.
    """
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 - finite numbers only (checked on the way in)
    kept = list(digits)
    while len(kept) > 1 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    if kept == [0]:
        return "0"
    return f"{'-' if sign else ''}{''.join(map(str, kept))}E{exponent}"


def _canonical_json(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return _number_token(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_canonical_json(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted((str(key), item) for key, item in value.items())
        return "{" + ",".join(f"{_canonical_json(k)}:{_canonical_json(v)}" for k, v in items) + "}"
    raise TypeError(f"not canonical JSON: {type(value).__name__}")


def normalise_ip(value: Any) -> str | None:
    """The address as one canonical text (compressed IPv6, IPv4-mapped written as ::ffff:a.b.c.d)."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        address = ipaddress.ip_interface(text).ip  # PostgreSQL's inet may carry a /32 mask
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"  # Python < 3.13 writes ::ffff:102:304
    return str(address)


def _canonical_field(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if name == "source_ip":
        return normalise_ip(value)
    return value


def canonical_bytes(event: AuditEvent) -> bytes:
    content = {name: _canonical_field(name, getattr(event, name)) for name in HASHED_FIELDS}
    return _canonical_json(content).encode()


def chain_hash(prev_hash: str, content: bytes) -> tuple[str, str]:
    data = prev_hash.encode() + b"\n" + content
    return hashlib.sha256(data).hexdigest(), sm3_hex(data)


def row_hashes_match(event: AuditEvent) -> bool:
    """Whether the row's stored hashes still match its content (the row was not edited)."""
    return chain_hash(event.prev_hash, canonical_bytes(event)) == (event.hash, event.hash_sm3)


# --- appending ------------------------------------------------------------------------------


def _clean_text(value: Any, max_length: int) -> str:
    """Text every database stores as given: no NUL or control characters, no lone surrogates."""
    text = "" if value is None else str(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text)[:max_length]


def _json_safe(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return _clean_text(value, 200)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _clean_text(value, MAX_DETAILS_CHARS)
    if isinstance(value, dict):
        return {_clean_text(k, 200): _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_json_safe(item, depth + 1) for item in items]
    if isinstance(value, datetime):
        return value.isoformat()
    return _clean_text(value, 1000)


def normalise_details(details: dict[str, Any] | None) -> dict[str, Any]:
    safe = _json_safe(details or {})
    if not isinstance(safe, dict):
        safe = {"value": safe}
    text = json.dumps(safe, ensure_ascii=False, sort_keys=True)
    if len(text) > MAX_DETAILS_CHARS:
        return {"truncated": True, "size": len(text), "head": text[: MAX_DETAILS_CHARS // 2]}
    # A round trip through JSON, as the database will do it.
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _object_fields(obj: Any) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    if isinstance(obj, models.Model):
        return obj._meta.label_lower, str(obj.pk), str(obj)
    return type(obj).__name__, "", str(obj)


def _lock_head() -> AuditChainHead:
    """Lock the chain head (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers serialise)."""
    head = AuditChainHead.objects.select_for_update().filter(id=1).first()
    if head is None:  # a flushed test database; migration 0005 creates it everywhere else
        AuditChainHead.objects.bulk_create([AuditChainHead(id=1)], ignore_conflicts=True)
        head = AuditChainHead.objects.select_for_update().get(id=1)
    return head


def record_audit(
    action: str,
    *,
    acting: Acting,
    obj: Any = None,
    outcome: str = AuditOutcome.SUCCESS,
    details: dict[str, Any] | None = None,
    username: str | None = None,
    source_ip: str | None = None,
) -> AuditEvent:
    """Append one event to the chain. Call it inside the service's transaction, last.

    `username` overrides the recorded user name (a failed login names the account tried);
    `source_ip` overrides the address taken from `acting`.
    """
    if not ACTION_PATTERN.match(action) or len(action) > 100:
        raise ValueError(f"audit action {action!r} is not dotted lower case like 'auth.login'")
    if outcome not in AuditOutcome.values:
        raise ValueError(f"audit outcome {outcome!r} is not one of {AuditOutcome.values}")
    object_type, object_id, object_repr = _object_fields(obj)
    position = acting.position
    organisation = acting.organisation
    recorded_name = username if username is not None else acting.username
    # No savepoint of its own: the caller's transaction is the unit (an error here fails it),
    # and the chain head stays locked for two round trips fewer on every audited write.
    with transaction.atomic(savepoint=False):
        head = _lock_head()
        event = AuditEvent(
            seq=head.last_seq + 1,
            occurred_at=timezone.now(),
            actor=acting.user,
            actor_username=_clean_text(recorded_name, 150),
            position_id_snapshot=position.pk if position is not None else None,
            position_title=_clean_text(position.title if position is not None else "", 200),
            organisation_id_snapshot=organisation.pk if organisation is not None else None,
            organisation_name=_clean_text(
                organisation.name if organisation is not None else "", 200
            ),
            action=action,
            object_type=_clean_text(object_type, 100),
            object_id=_clean_text(object_id, 64),
            object_repr=_clean_text(object_repr, 300),
            source_ip=normalise_ip(source_ip if source_ip is not None else acting.source_ip),
            outcome=str(outcome),
            details=normalise_details(details),
            prev_hash=head.last_hash,
        )
        event.hash, event.hash_sm3 = chain_hash(head.last_hash, canonical_bytes(event))
        event.save(force_insert=True)
        head.last_seq = event.seq
        head.last_hash = event.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return event


# --- who may read the trail ---------------------------------------------------------------


def is_auditor(user: Any) -> bool:
    """Holds the audit administrator role and neither of the other two 三员 roles."""
    if not getattr(user, "is_authenticated", False):
        return False
    roles = user.role_codes()
    return AUDIT_ADMIN_ROLE in roles and not (roles & EXCLUDED_ROLES)


def auditable_events(user: Any) -> QuerySet[AuditEvent]:
    """The events this auditor may read: those of the organisations they audit (their subtree).

    Events without an organisation (system jobs, failed sign-ins) belong to the auditors of a
    root organisation. Nobody else reads anything (an empty queryset, never an error).
    """
    if not is_auditor(user):
        return AuditEvent.objects.none()
    # `core` imports no domain app at module level; the scope rules live with the tree.
    from egov.orgs.selectors import managed_organisations

    audited = managed_organisations(user, roles={AUDIT_ADMIN_ROLE})
    scope = Q(organisation_id_snapshot__in=audited.values("pk"))
    if audited.filter(depth=0).exists():
        scope |= Q(organisation_id_snapshot__isnull=True)
    return AuditEvent.objects.filter(scope)


# --- verifying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    """One thing wrong with the chain. `seq`/`row_id` name the row (row_id None: it is gone)."""

    seq: int | None
    row_id: int | None
    kind: str  # "edited", "deleted", "inserted", "relinked", "head", "anchor", "guard"
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ChainVerifier:
    """Walk the whole chain in `seq` order, yielding every problem (streamed, constant memory).

    Rows appended while the walk runs are fine: the head is read before and after the walk,
    and only rows beyond the final head count as inserted. After iterating, `checked`,
    `last_seq` and `last_hash` describe what was walked.
    """

    def __init__(self, chunk_size: int = 5000):
        self.chunk_size = chunk_size
        self.checked = 0
        self.last_seq = 0
        self.last_hash = GENESIS_HASH
        self.head_seq: int | None = None
        self.head_hash: str | None = None

    def __iter__(self) -> Iterator[ChainProblem]:
        start = AuditChainHead.objects.filter(id=1).first()
        base_seq = start.base_seq if start is not None else 0
        base_hash = start.base_hash if start is not None else GENESIS_HASH
        start_seq = start.last_seq if start is not None else 0
        if start is not None and base_seq > 0:
            yield from self._check_base(base_seq, base_hash)
        expected = base_seq + 1
        prev_hash = base_hash
        prev_label = "the chain's start" if base_seq == 0 else f"pruned seq {base_seq}"
        late: list[tuple[int, int, str]] = []  # rows beyond the head read at the start
        rows = AuditEvent.objects.order_by("seq", "id")
        for event in rows.iterator(chunk_size=self.chunk_size):
            self.checked += 1
            label = f"row seq={event.seq} id={event.pk}"
            if event.seq < expected:
                reason = (
                    "repeats an earlier seq"
                    if event.seq > base_seq
                    else f"lies before the chain's base seq {base_seq + 1} (pruned rows came back)"
                )
                yield ChainProblem(event.seq, event.pk, "inserted", f"{label} {reason}: inserted")
                continue
            if event.seq > expected:
                missing = (
                    f"seq {expected}"
                    if event.seq == expected + 1
                    else f"seq {expected}..{event.seq - 1}"
                )
                yield ChainProblem(
                    expected,
                    None,
                    "deleted",
                    f"rows {missing} are missing (deleted) between {prev_label} and {label}",
                )
            elif event.prev_hash != prev_hash:
                yield ChainProblem(
                    event.seq,
                    event.pk,
                    "relinked",
                    f"{label} does not link to {prev_label}: one of the two was replaced, "
                    "re-hashed or inserted",
                )
            sha, sm3 = chain_hash(event.prev_hash, canonical_bytes(event))
            if sha != event.hash or sm3 != event.hash_sm3:
                yield ChainProblem(
                    event.seq,
                    event.pk,
                    "edited",
                    f"{label} was edited: its content no longer matches its hash",
                )
            if event.seq > start_seq:
                late.append((event.seq, event.pk, event.hash))
            prev_hash = event.hash
            prev_label = label
            expected = event.seq + 1
        self.last_seq = expected - 1
        self.last_hash = prev_hash
        yield from self._check_head(late)

    def _check_base(self, base_seq: int, base_hash: str) -> Iterator[ChainProblem]:
        pruned = (
            AuditEvent.objects.filter(action="audit.pruned")
            .order_by("-seq")
            .only("details")
            .first()
        )
        details = pruned.details if pruned is not None else {}
        if details.get("through_seq") != base_seq or details.get("base_hash") != base_hash:
            yield ChainProblem(
                base_seq,
                None,
                "head",
                f"the chain starts after seq {base_seq}, but no audit.pruned event records "
                "that prune: the oldest rows were removed outside audit_prune",
            )

    def _check_head(self, late: list[tuple[int, int, str]]) -> Iterator[ChainProblem]:
        head = AuditChainHead.objects.filter(id=1).first()
        if head is None:
            if self.checked:
                yield ChainProblem(None, None, "head", "the chain head row is missing")
            return
        self.head_seq, self.head_hash = head.last_seq, head.last_hash
        for seq, row_id, _hash in late:
            if seq > head.last_seq:
                yield ChainProblem(
                    seq,
                    row_id,
                    "inserted",
                    f"row seq={seq} id={row_id} lies beyond the chain head (seq {head.last_seq}):"
                    " inserted outside record_audit",
                )
        if head.last_seq > self.last_seq:
            missing = (
                f"seq {self.last_seq + 1}"
                if head.last_seq == self.last_seq + 1
                else f"seq {self.last_seq + 1}..{head.last_seq}"
            )
            yield ChainProblem(
                self.last_seq + 1,
                None,
                "deleted",
                f"rows {missing} are missing (deleted from the end): "
                f"the chain ends at seq {self.last_seq} but its head records seq {head.last_seq}",
            )
            return
        head_row_hash = next((h for s, _i, h in late if s == head.last_seq), None)
        if head.last_seq == self.last_seq:
            head_row_hash = self.last_hash
        if head_row_hash is not None and head_row_hash != head.last_hash:
            head_row = next((i for s, i, _h in late if s == head.last_seq), None)
            yield ChainProblem(
                head.last_seq,
                head_row,
                "relinked",
                f"row seq={head.last_seq} does not match the hash the chain head recorded for it:"
                " the last row was replaced or re-hashed",
            )


def verify_chain(chunk_size: int = 5000) -> Iterator[ChainProblem]:
    """Walk the whole chain and yield every problem found (see `ChainVerifier`)."""
    return iter(ChainVerifier(chunk_size=chunk_size))


def check_anchor(seq: int, expected_hash: str) -> ChainProblem | None:
    """Compare a row with a hash kept outside the database (a printed or logged head).

    An attacker who rewrites the whole chain and its head leaves every link consistent; only a
    copy of an earlier head kept elsewhere shows it.
    """
    event = AuditEvent.objects.filter(seq=seq).only("id", "hash").first()
    if event is None:
        head = AuditChainHead.objects.filter(id=1).first()
        if head is not None and seq <= head.base_seq:
            return None  # pruned after its retention period, by audit_prune
        return ChainProblem(seq, None, "anchor", f"anchored row seq={seq} is missing")
    if event.hash != expected_hash.strip().lower():
        return ChainProblem(
            seq,
            event.pk,
            "anchor",
            f"row seq={seq} id={event.pk} no longer has the anchored hash: the chain was rewritten",
        )
    return None


# --- database guards ------------------------------------------------------------------------

GUARD_TRIGGERS = ("core_auditevent_no_update", "core_auditevent_retention")


def guard_problems() -> list[ChainProblem]:
    """Whether the triggers of migration 0004 are in place and enabled."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                ["core_auditevent"],
            )
        elif vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'core_auditevent'::regclass"
                " AND NOT tgisinternal AND tgenabled <> 'D'"
            )
        else:
            return []
        present = {row[0] for row in cursor.fetchall()}
    return [
        ChainProblem(
            None,
            None,
            "guard",
            f"database trigger {name} is missing or disabled: audit rows can be changed",
        )
        for name in GUARD_TRIGGERS
        if name not in present
    ]


def guard_retention_days() -> int | None:
    """The retention the delete trigger enforces (None: the guard table is missing)."""
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute("SELECT retention_days FROM core_auditguard WHERE id = 1")
                row = cursor.fetchone()
        except Exception:
            return None
    return int(row[0]) if row else None


# --- retention --------------------------------------------------------------------------------


def retention_days() -> int:
    """The configured retention, never below the statutory six months."""
    return max(int(settings.EGOV_AUDIT_RETENTION_DAYS), STATUTORY_MIN_RETENTION_DAYS)


class AuditChainBroken(DomainError):
    code = "audit_chain_broken"
    status = 409


def prune_expired(*, acting: Acting, now: datetime | None = None) -> int:
    """Remove the oldest rows past the retention period; record `audit.pruned`. Returns a count.

    Only a prefix of the chain goes (up to the first row still inside the period), and the
    head remembers where the kept chain now starts, so verification still holds end to end.
    """
    now = now or timezone.now()
    days = retention_days()
    cutoff = now - timedelta(days=days)
    with transaction.atomic():
        head = _lock_head()
        first_kept = (
            AuditEvent.objects.filter(seq__gt=head.base_seq, occurred_at__gte=cutoff)
            .order_by("seq")
            .values_list("seq", flat=True)
            .first()
        )
        through = first_kept - 1 if first_kept is not None else head.last_seq
        if through <= head.base_seq:
            return 0
        last = AuditEvent.objects.filter(seq=through).only("hash").first()
        if last is None:
            raise AuditChainBroken(
                f"audit row seq={through} is missing; run audit_verify before pruning"
            )
        doomed = AuditEvent.objects.filter(seq__gt=head.base_seq, seq__lte=through)
        count = doomed._raw_delete(doomed.db)  # the queryset's delete() refuses on purpose
        head.base_seq = through
        head.base_hash = last.hash
        head.save(update_fields=["base_seq", "base_hash"])
        record_audit(
            "audit.pruned",
            acting=acting,
            details={
                "through_seq": through,
                "base_hash": last.hash,
                "count": count,
                "retention_days": days,
            },
        )
    logger.info("audit trail pruned", extra={"through_seq": through, "count": count})
    return count
