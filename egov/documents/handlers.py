"""The documents' payload kinds on the exchange (registered in apps.ready).

DOCUMENT arrives at the recipient: check 8 (the metadata) and check 9 (the sealed PDF validates
against the province root and is sealed by the issuer) in `validate`, then an IncomingDocument
in `accept`. DOCUMENT_SIGNED_FOR and DOCUMENT_RETURNED travel back to the issuer and update the
recipient's row of the distribution list.
"""

from __future__ import annotations

from datetime import date
from typing import Any, BinaryIO, cast
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from egov.core.acting import Acting
from egov.documents.choices import (
    Classification,
    DistributionState,
    DocType,
    EventKind,
    IncomingState,
    RecipientRole,
    Urgency,
)
from egov.documents.models import Attachment, Distribution, DocumentEvent, IncomingDocument
from egov.documents.services import DOCUMENT_KIND, PDF_PART, RETURNED_KIND, SIGNED_FOR_KIND
from egov.exchange.envelope import PartSpec, PartStore
from egov.exchange.registry import ReceivedEnvelope, Return, register_payload_kind

SYSTEM = Acting.system("documents.exchange")


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _issuer_name(code: str, claimed: str) -> str:
    """The issuer's name as our directory knows it (the payload's only when it does not)."""
    from egov.orgs.models import Organisation

    name = Organisation.objects.filter(code=code).values_list("name", flat=True).first()
    return (name or claimed)[:200]


class DocumentHandler:
    def validate(self, manifest: dict[str, Any], parts: list[PartSpec]) -> Return | None:
        doc = manifest.get("payload", {}).get("document")
        if not isinstance(doc, dict):
            return Return("bad_payload", "no document metadata")
        for key in ("uuid", "number", "title", "doc_type"):
            if not isinstance(doc.get(key), str) or not doc[key]:
                return Return("bad_payload", f"document {key} is missing")
        if doc["doc_type"] not in DocType.values:
            return Return("bad_payload", "unknown document type")
        try:
            UUID(doc["uuid"])
        except ValueError:
            return Return("bad_payload", "the document id is not a UUID")
        if doc.get("classification", Classification.NONE) != Classification.NONE:
            return Return("classified", "classified documents do not travel by exchange")
        pdf = next((p for p in parts if p.name == PDF_PART), None)
        if pdf is None or pdf.media_type != "application/pdf":
            return Return("missing_document", "the sealed PDF is missing")
        return self._check_seal(manifest, pdf)

    def _check_seal(self, manifest: dict[str, Any], pdf: PartSpec) -> Return | None:
        """Check 9: every seal intact, valid, trusted, not revoked; the issuer's seal is last and
        covers the whole file."""
        from egov.documents.pdfseal import validate_sealed_pdf

        try:
            with PartStore().open(pdf.sha256) as source:
                checks = validate_sealed_pdf(cast(BinaryIO, source))
        except Exception as exc:  # a PDF that cannot even be parsed
            return Return("seal_invalid", f"the PDF cannot be validated: {exc}"[:300])
        if not checks:
            return Return("seal_missing", "the PDF carries no seal")
        for check in checks:
            if not check.ok:
                return Return("seal_invalid", f"seal {check.field_name}: {check.summary}"[:300])
        if not checks[-1].covers_whole_file:
            return Return("seal_invalid", "content was added after the last seal")
        # The envelope's signer (the issuing agency's seal) must have sealed the PDF too.
        sender_cert = manifest["sender"]["certificate"]
        if not any(check.certificate_sha256 == sender_cert for check in checks):
            return Return("seal_not_sender", "the PDF is not sealed by the issuing agency")
        return None

    def accept(self, envelope: ReceivedEnvelope) -> None:
        doc = envelope.manifest["payload"]["document"]
        recipient = envelope.recipient
        role = RecipientRole.COPY if recipient.code in doc.get("copies", []) else RecipientRole.MAIN
        pdf = next(p for p in envelope.parts if p.name == PDF_PART)
        urgency = doc.get("urgency") if doc.get("urgency") in Urgency.values else Urgency.NORMAL
        incoming = IncomingDocument.objects.create(
            organisation=recipient,
            envelope_id=envelope.envelope_id,
            sender_code=envelope.sender_code,
            sender_name=_issuer_name(envelope.sender_code, str(doc.get("issuer", ""))),
            source_uuid=doc["uuid"],
            role=role,
            doc_type=doc["doc_type"],
            number=doc["number"][:60],
            title=doc["title"][:200],
            body_text=str(doc.get("text", ""))[:100_000],
            urgency=urgency,
            document_date=_date(doc.get("document_date")),
            reply_due=_date(doc.get("reply_due")),
            pdf_name=pdf.name,
            pdf_sha256=pdf.sha256,
            pdf_sm3=pdf.sm3,
            pdf_size=pdf.size,
            received_at=timezone.now(),
        )
        Attachment.objects.bulk_create(
            [
                Attachment(
                    incoming=incoming,
                    position=i,
                    name=p.name.split("-", 1)[-1],
                    media_type=p.media_type,
                    size=p.size,
                    sha256=p.sha256,
                    sm3=p.sm3,
                )
                for i, p in enumerate(x for x in envelope.parts if x.name != PDF_PART)
            ]
        )
        DocumentEvent.objects.create(
            incoming=incoming,
            kind=EventKind.RECEIVED,
            to_state=IncomingState.RECEIVED,
            actor_label=incoming.sender_name,
        )
        _notify_clerks(incoming)

    def recall(self, envelope_id: str) -> bool:
        """A recall succeeds only before the document is signed for."""
        with transaction.atomic():  # against a clerk signing for it at the same moment
            doc = (
                IncomingDocument.objects.select_for_update().filter(envelope_id=envelope_id).first()
            )
            if doc is None:
                return True
            if doc.state != IncomingState.RECEIVED:
                return doc.state == IncomingState.RECALLED
            doc.state = IncomingState.RECALLED
            doc.save(update_fields=["state", "updated_at"])
            DocumentEvent.objects.create(
                incoming=doc,
                kind=EventKind.RECALLED,
                from_state=IncomingState.RECEIVED,
                to_state=IncomingState.RECALLED,
                actor_label=doc.sender_name,
            )
        return True


def _notify_clerks(doc: IncomingDocument) -> None:
    from django.utils.translation import gettext as _

    from egov.core.notifications import do_notify
    from egov.documents.selectors import people_holding
    from egov.orgs.choices import Role

    clerks = people_holding([doc.organisation_id], [Role.CLERK])
    do_notify(
        clerks,
        kind="documents.received",
        title=_("Document received: %(title)s") % {"title": doc.title},
        url=f"/documents/in/{doc.uuid}/",
        acting=SYSTEM,
    )


class _AnswerHandler:
    """A sign-for or a return from a recipient, for the issuer's distribution list."""

    state: str = ""

    def validate(self, manifest: dict[str, Any], parts: list[PartSpec]) -> Return | None:
        payload = manifest.get("payload", {})
        if not isinstance(payload.get("envelope_id"), str):
            return Return("bad_payload", "which envelope is answered is missing")
        return None

    def accept(self, envelope: ReceivedEnvelope) -> None:
        payload = envelope.manifest["payload"]
        row = (
            Distribution.objects.select_for_update(of=("self",))
            .select_related("document", "organisation")
            .filter(
                envelope_id=payload["envelope_id"],
                organisation__code=envelope.sender_code,
                document__organisation=envelope.recipient,
            )
            .first()
        )
        if row is None:
            return  # not ours (or the document is gone): nothing to update
        if row.state == DistributionState.RETURNED or row.state == self.state:
            return  # answers can arrive out of order (retries, bundles): only move forward
        row.state = self.state
        if self.state == DistributionState.SIGNED_FOR:
            row.signed_for_at = timezone.now()
            row.signed_for_by = str(payload.get("by", ""))[:100]
        else:
            row.returned_reason = str(payload.get("reason", ""))[:2000]
        row.save()
        DocumentEvent.objects.create(
            outgoing=row.document,
            kind=EventKind.SIGNED_FOR
            if self.state == DistributionState.SIGNED_FOR
            else EventKind.RETURNED,
            actor_label=row.organisation.name[:150],
            text=row.returned_reason,
        )


class SignedForHandler(_AnswerHandler):
    state = DistributionState.SIGNED_FOR


class ReturnedHandler(_AnswerHandler):
    state = DistributionState.RETURNED


def register() -> None:
    register_payload_kind(DOCUMENT_KIND, DocumentHandler())
    register_payload_kind(SIGNED_FOR_KIND, SignedForHandler())
    register_payload_kind(RETURNED_KIND, ReturnedHandler())
