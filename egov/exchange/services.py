"""Writes of the exchange: dispatch (deliveries and their outbox rows in one transaction),
replies (receipts, returns), processing a reply on the sender's side, retry and recall."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.errors import DomainError, InvalidTransition
from egov.core.notifications import do_notify
from egov.exchange import log
from egov.exchange.choices import DeliveryState, Direction, Kind, Transport
from egov.exchange.envelope import (
    EnvelopeError,
    ParsedEnvelope,
    PartSpec,
    PartStore,
    canonical_json,
    check_part_name,
    digests,
    iso,
    package_bytes,
    parse_package,
)
from egov.exchange.models import Delivery, Node
from egov.exchange.sealing import seal_for, sign_manifest, verify_manifest
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, Position, User
from egov.pki.models import Certificate

DEFAULT_TTL = timedelta(days=30)
# The notification kind the senders' clerks get when a delivery turns FAILED.
FAILED_KIND = "exchange.delivery_failed"
MAX_BULK_RETRY = 10000


class ExchangeError(DomainError):
    code = "exchange_error"


def node_code() -> str:
    return str(settings.EGOV_NODE_CODE)


def node_of(org: Organisation) -> str:
    return org.node_code or node_code()


def transport_for(node: str, nodes: dict[str, Node]) -> str:
    if node == node_code():
        return Transport.LOCAL
    row = nodes.get(node)
    return row.transport if row is not None else ""


@dataclass(frozen=True)
class PartInput:
    """A file to send: its name in the package, media type and an open binary stream."""

    name: str
    media_type: str
    stream: IO[bytes]


def store_parts(parts: Iterable[PartInput], store: PartStore | None = None) -> list[PartSpec]:
    """Copy the parts into the part store, hashing while copying (before the transaction)."""
    store = store or PartStore()
    specs = []
    for part in parts:
        reason = check_part_name(part.name)
        if reason:
            raise ExchangeError(_("This file name is not allowed."), field="parts")
        sha, sm3, size = store.put_stream(part.stream)
        specs.append(
            PartSpec(part.name, part.media_type or "application/octet-stream", size, sha, sm3)
        )
    if len({s.name for s in specs}) != len(specs):
        raise ExchangeError(_("Two files have the same name."), field="parts")
    return specs


def build_manifest(
    *,
    kind: str,
    sender: Organisation,
    certificate: Certificate,
    recipient_code: str,
    recipient_node: str,
    payload: dict[str, Any],
    parts: Sequence[PartSpec],
    in_reply_to: str | None = None,
    envelope_id: str | None = None,
    now: datetime | None = None,
    ttl: timedelta = DEFAULT_TTL,
) -> bytes:
    now = now or timezone.now()
    manifest = {
        "version": 1,
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "kind": kind,
        "sender": {
            "org": sender.code,
            "node": node_of(sender),
            "certificate": certificate.fingerprint_sha256,
        },
        "recipient": {"org": recipient_code, "node": recipient_node},
        "created_at": iso(now),
        "expires_at": iso(now + ttl),
        "in_reply_to": in_reply_to,
        "payload": payload,
        "parts": [p.as_dict() for p in parts],
    }
    try:
        return canonical_json(manifest)
    except (TypeError, ValueError) as exc:
        raise ExchangeError(_("The payload metadata is not plain JSON."), field="payload") from exc


def do_dispatch(
    *,
    kind: str,
    sender: Organisation,
    recipients: Sequence[Organisation],
    payload: dict[str, Any],
    parts: Sequence[PartSpec] = (),
    title: str = "",
    in_reply_to: str | None = None,
    acting: Acting,
) -> list[Delivery]:
    """One envelope per recipient, signed by the sender's seal; the deliveries (outbox rows),
    their message-log entries and the audit event are written in one transaction."""
    if not recipients:
        raise ExchangeError(_("Choose at least one recipient."), field="recipients")
    if len({r.pk for r in recipients}) != len(recipients):
        raise ExchangeError(_("A recipient is listed twice."), field="recipients")
    store = PartStore()
    for spec in parts:
        if not store.has(spec.sha256):
            raise ExchangeError(_("A file is missing from the part store."), field="parts")
    cert = seal_for(sender)
    now = timezone.now()
    batch = uuid.uuid4()
    deliveries: list[Delivery] = []
    entries = []
    for org in recipients:
        target = node_of(org)
        envelope_id = str(uuid.uuid4())
        manifest = build_manifest(
            kind=kind,
            sender=sender,
            certificate=cert,
            recipient_code=org.code,
            recipient_node=target,
            payload=payload,
            parts=parts,
            in_reply_to=in_reply_to,
            envelope_id=envelope_id,
            now=now,
        )
        signature = sign_manifest(manifest, cert)
        deliveries.append(
            Delivery(
                envelope_id=envelope_id,
                batch_id=batch,
                kind=kind,
                title=title[:300],
                in_reply_to=in_reply_to,
                sender=sender,
                recipient=org,
                recipient_node=target,
                manifest=manifest,
                signature=signature,
                manifest_sha256=digests(manifest)[0],
                next_attempt_at=now,
            )
        )
        entries.append(
            log.make_entry(
                Direction.OUT,
                manifest,
                signature,
                {
                    "envelope_id": envelope_id,
                    "kind": kind,
                    "in_reply_to": in_reply_to,
                    "sender": {"org": sender.code},
                    "recipient": {"org": org.code},
                },
                target,
            )
        )
    with transaction.atomic():
        Delivery.objects.bulk_create(deliveries, batch_size=500)
        log.append(entries, at=now)
        record_audit(
            "exchange.dispatched",
            acting=acting,
            obj=sender,
            details={
                "batch": str(batch),
                "kind": kind,
                "recipients": len(deliveries),
                "parts": [p.as_dict() for p in parts],
            },
        )
    return deliveries


# --- replies -------------------------------------------------------------------------------------


def build_reply(
    *,
    kind: str,
    to: ParsedEnvelope,
    signer: Organisation,
    status: str,
    reason: str = "",
    message: str = "",
    received_at: datetime,
) -> bytes:
    """A signed reply envelope (RECEIPT, RETURN, RECALL_ACK) to an envelope, as zip bytes."""
    manifest, signature, _ = build_reply_parts(
        kind=kind,
        to=to,
        signer=signer,
        status=status,
        reason=reason,
        message=message,
        received_at=received_at,
    )
    return package_bytes(manifest, signature)


def build_reply_parts(
    *,
    kind: str,
    to: ParsedEnvelope,
    signer: Organisation,
    status: str,
    reason: str = "",
    message: str = "",
    received_at: datetime,
) -> tuple[bytes, bytes, dict[str, Any]]:
    """The reply's manifest bytes, signature and manifest (for the log, without re-parsing)."""
    cert = seal_for(signer)
    manifest = build_manifest(
        kind=kind,
        sender=signer,
        certificate=cert,
        recipient_code=to.manifest["sender"]["org"],
        recipient_node=to.manifest["sender"]["node"],
        payload={
            "status": status,
            "reason": reason,
            "message": message[:500],
            "manifest_sha256": to.manifest_sha256,
            "manifest_sm3": to.manifest_sm3,
            "received_at": iso(received_at),
            "signed_for_by": signer.name,
        },
        parts=[],
        in_reply_to=to.envelope_id,
    )
    return manifest, sign_manifest(manifest, cert), json.loads(manifest)


def parse_reply(data: bytes) -> ParsedEnvelope:
    import io

    parsed = parse_package(io.BytesIO(data), size=len(data))
    verify_manifest(parsed)
    if parsed.kind not in Kind.REPLIES:
        raise EnvelopeError("unexpected_reply", f"a {parsed.kind} is not a reply")
    return parsed


def do_process_reply(delivery_id: int, data: bytes, *, acting: Acting) -> Delivery:
    """Mark a delivery done by a valid signed reply (receipt or return); repeat-safe."""
    parsed = parse_reply(data)
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .get(pk=delivery_id)
        )
        _check_reply_matches(delivery, parsed)
        if delivery.state in (DeliveryState.DELIVERED, DeliveryState.RETURNED):
            return delivery
        now = timezone.now()
        returned = parsed.kind == Kind.RETURN
        delivery.state = DeliveryState.RETURNED if returned else DeliveryState.DELIVERED
        delivery.reply = data
        delivery.reply_kind = parsed.kind
        delivery.return_reason = str(parsed.manifest["payload"].get("reason", ""))[:50]
        delivery.done_at = now
        delivery.claimed_until = None
        delivery.last_error_code = ""
        delivery.last_error = ""
        delivery.save(
            update_fields=[
                "state",
                "reply",
                "reply_kind",
                "return_reason",
                "done_at",
                "claimed_until",
                "last_error_code",
                "last_error",
                "updated_at",
            ]
        )
        log.append([log.entry_for(Direction.IN, parsed, delivery.recipient_node)], at=now)
    return delivery


def _check_reply_matches(delivery: Delivery, parsed: ParsedEnvelope) -> None:
    manifest = parsed.manifest
    if manifest.get("in_reply_to") != str(delivery.envelope_id):
        raise EnvelopeError("reply_mismatch", "the reply answers another envelope")
    if manifest["payload"].get("manifest_sha256") != delivery.manifest_sha256:
        raise EnvelopeError("reply_mismatch", "the reply names another manifest hash")
    signer = manifest["sender"]["org"]
    if signer == delivery.recipient.code:
        return
    # Otherwise only the recipient node's operator may answer (a RETURN: misaddressed), and with
    # the certificate the directory names for that node when it names one.
    local = delivery.recipient_node == node_code()
    if parsed.kind != Kind.RETURN and not local:
        raise EnvelopeError("reply_mismatch", "the reply is not signed by the recipient")
    node = Node.objects.filter(code=delivery.recipient_node).select_related("operator").first()
    if node is None or node.operator is None or node.operator.code != signer:
        raise EnvelopeError("reply_mismatch", "the reply is not signed by the recipient")
    # verify_manifest checked that sender.certificate is the signing certificate's fingerprint.
    if node.certificate_sha256 and node.certificate_sha256 != manifest["sender"]["certificate"]:
        raise EnvelopeError(
            "node_certificate_mismatch",
            "the reply is signed by the node operator with another certificate than the "
            "directory's",
        )


# --- clerks' actions -----------------------------------------------------------------------------


def do_retry_delivery(delivery: Delivery, *, acting: Acting) -> Delivery:
    """A FAILED delivery goes back to the outbox, due now, with its attempts reset."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.state != DeliveryState.FAILED:
            raise InvalidTransition(_("Only a failed delivery can be retried."), field="state")
        delivery.state = DeliveryState.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.claimed_until = None
        delivery.failure_notified_at = None
        delivery.save(
            update_fields=[
                "state",
                "attempts",
                "next_attempt_at",
                "claimed_until",
                "failure_notified_at",
                "updated_at",
            ]
        )
        record_audit(
            "exchange.retried",
            acting=acting,
            obj=delivery,
            details={"envelope_id": str(delivery.envelope_id)},
        )
    return delivery


def do_retry_failed(deliveries: QuerySet[Delivery], *, acting: Acting) -> int:
    """Every FAILED delivery among `deliveries` (the clerk's, filtered) back to the outbox."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            deliveries.filter(state=DeliveryState.FAILED)
            .order_by("id")
            .values_list("id", flat=True)[:MAX_BULK_RETRY]
        )
        count = Delivery.objects.filter(id__in=ids, state=DeliveryState.FAILED).update(
            state=DeliveryState.PENDING,
            attempts=0,
            next_attempt_at=now,
            claimed_until=None,
            failure_notified_at=None,
            updated_at=now,
        )
        if count:
            record_audit("exchange.retried_failed", acting=acting, details={"count": count})
    return count


def clerks_of(organisations: Iterable[Organisation]) -> dict[int, list[User]]:
    """For each organisation, the active users holding a clerk position there or above it (the
    clerks whose console shows its deliveries); one query."""
    orgs = list(organisations)
    chain = {org.pk: {org.pk, *org.ancestor_ids} for org in orgs}
    wanted = set().union(*chain.values()) if chain else set()
    positions = (
        Position.objects.filter(
            organisation_id__in=wanted,
            is_active=True,
            organisation__is_active=True,
            user__is_active=True,
            role_grants__role=Role.CLERK,
        )
        .select_related("user")
        .order_by("user_id")
        .distinct()
    )
    holders: dict[int, dict[int, User]] = {}
    for position in positions:
        holders.setdefault(position.organisation_id, {})[position.user_id] = position.user
    found: dict[int, list[User]] = {}
    for org_id, ids in chain.items():
        users: dict[int, User] = {}
        for unit in ids:
            users.update(holders.get(unit, {}))
        found[org_id] = list(users.values())
    return found


def do_notify_failed_deliveries(*, acting: Acting, limit: int = 5000) -> int:
    """Tell the senders' clerks about deliveries that turned FAILED and were not told yet: one
    notification per sender per sweep, each failure told once. Returns how many were told."""
    now = timezone.now()
    with transaction.atomic():
        due = Delivery.objects.filter(
            state=DeliveryState.FAILED, failure_notified_at__isnull=True
        ).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due.values_list("id", "sender_id", "title", "recipient__name")[:limit])
        if not rows:
            return 0
        by_sender: dict[int, list[tuple[int, str, str]]] = {}
        for pk, sender_id, title, recipient in rows:
            by_sender.setdefault(sender_id, []).append((pk, title, recipient))
        senders = {o.pk: o for o in Organisation.objects.filter(pk__in=by_sender)}
        clerks = clerks_of(senders.values())
        url = reverse("exchange:console") + "?state=" + DeliveryState.FAILED
        for sender_id, failed in by_sender.items():
            sender = senders[sender_id]
            if len(failed) == 1:
                _pk, title, recipient = failed[0]
                text = _("Delivery failed: %(title)s to %(recipient)s") % {
                    "title": title or _("(untitled)"),
                    "recipient": recipient,
                }
            else:
                text = ngettext(
                    "%(count)d delivery from %(sender)s failed",
                    "%(count)d deliveries from %(sender)s failed",
                    len(failed),
                ) % {"count": len(failed), "sender": sender.name}
            do_notify(
                clerks.get(sender_id, []),
                kind=FAILED_KIND,
                title=text,
                body=_("Open the exchange console to see why and to retry."),
                url=url,
                acting=acting,
            )
        Delivery.objects.filter(id__in=[r[0] for r in rows]).update(failure_notified_at=now)
    return len(rows)


def do_recall(delivery: Delivery, *, acting: Acting) -> Delivery:
    """Send a RECALL (撤回) for a delivered envelope; it travels like any envelope."""
    if delivery.kind in Kind.REPLIES or delivery.kind == Kind.RECALL:
        raise InvalidTransition(_("This envelope cannot be recalled."), field="kind")
    if delivery.state == DeliveryState.RETURNED:
        raise InvalidTransition(_("A returned envelope cannot be recalled."), field="state")
    [recall] = do_dispatch(
        kind=Kind.RECALL,
        sender=delivery.sender,
        recipients=[delivery.recipient],
        payload={"recalls": str(delivery.envelope_id)},
        title=delivery.title,
        in_reply_to=str(delivery.envelope_id),
        acting=acting,
    )
    return recall
