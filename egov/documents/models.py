"""Official documents (公文): the outgoing document (发文) from draft to dispatch, its reviewers,
recipients and numbering; the incoming document (收文) from receipt to archive, its handling
units and circulation; attachments by hash; one history of every transition (流转记录)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from egov.core.models import TimeStampedModel
from egov.documents.choices import (
    AssignmentState,
    Classification,
    Direction,
    DistributionState,
    DocType,
    EventKind,
    IncomingState,
    OutgoingState,
    RecipientRole,
    ReviewState,
    Urgency,
)

USER = settings.AUTH_USER_MODEL


class OutgoingDocument(TimeStampedModel):
    """A document this organisation issues (发文), with every GB/T 9704 element it carries.

    The number (发文字号) is `agency_code〔year〕serial号`, unique per agency code and year and
    gap-free (`NumberSequence`). After sign-off the body is frozen except through re-check, which
    sends a substantive edit back to sign-off.
    """

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "orgs.Organisation",
        on_delete=models.PROTECT,
        related_name="outgoing_documents",
        verbose_name=_("issuing organisation"),
    )
    doc_type = models.CharField(_("type"), max_length=20, choices=DocType.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    classification = models.CharField(
        _("classification"),
        max_length=20,
        choices=Classification.choices,
        default=Classification.NONE,
    )
    secrecy_period = models.CharField(_("secrecy period"), max_length=20, blank=True)
    copy_number = models.CharField(_("copy number"), max_length=6, blank=True)  # 份号
    urgency = models.CharField(
        _("urgency"), max_length=20, choices=Urgency.choices, default=Urgency.NORMAL
    )
    note = models.CharField(_("note"), max_length=300, blank=True)  # 附注
    # 纪要: 出席 / 请假 / 列席
    attendees = models.TextField(_("present"), blank=True)
    absentees = models.TextField(_("on leave"), blank=True)
    observers = models.TextField(_("in attendance"), blank=True)
    reply_due = models.DateField(_("reply due"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=OutgoingState.choices, default=OutgoingState.DRAFT
    )
    drafted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    signed_off_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_off_at = models.DateTimeField(_("signed off at"), null=True, blank=True)
    document_date = models.DateField(_("date of issue"), null=True, blank=True)  # 成文日期
    rechecked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rechecked_at = models.DateTimeField(_("re-checked at"), null=True, blank=True)
    agency_code = models.CharField(_("agency code"), max_length=30, blank=True)  # 机关代字
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    serial = models.PositiveIntegerField(_("serial"), null=True, blank=True)
    number = models.CharField(_("document number"), max_length=60, blank=True, db_index=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    printer = models.CharField(_("printed by"), max_length=200, blank=True)  # 印发机关
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_sm3 = models.CharField(max_length=64, blank=True)
    pdf_pages = models.PositiveSmallIntegerField(default=0)
    # Where each agency's seal goes on the laid-out PDF: [{"page", "box", "signatory_index"}].
    seal_spots = models.JSONField(default=list, blank=True)
    rendered_at = models.DateTimeField(_("laid out at"), null=True, blank=True)
    sealed_sha256 = models.CharField(max_length=64, blank=True)
    sealed_sm3 = models.CharField(max_length=64, blank=True)
    sealed_size = models.PositiveBigIntegerField(default=0)
    sealed_at = models.DateTimeField(_("sealed at"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    dispatched_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    in_reply_to = models.ForeignKey(
        "IncomingDocument",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("in reply to"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outgoing document")
        verbose_name_plural = _("outgoing documents")
        indexes = [models.Index(fields=["organisation", "state"], name="documents_out_org_state")]
        constraints = [
            models.UniqueConstraint(
                fields=["agency_code", "year", "serial"],
                condition=Q(serial__isnull=False),
                name="documents_number_unique",
            ),
            models.CheckConstraint(
                condition=Q(classification="none") | ~Q(copy_number=""),
                name="documents_classified_has_copy_number",
            ),
        ]

    def __str__(self) -> str:
        return self.number or self.title

    @property
    def is_joint(self) -> bool:
        return self.joint_agencies.exists()


class JointAgency(models.Model):
    """A co-issuing agency of a joint issue (联合发文); the lead is the document's organisation.
    Each co-issuer's leader signs off and its seal goes on the PDF beside the lead's."""

    document = models.ForeignKey(
        OutgoingDocument, on_delete=models.CASCADE, related_name="joint_agencies"
    )
    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveSmallIntegerField()
    signed_off_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "organisation"], name="documents_joint_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.document_id}:{self.organisation_id}"


class ReviewStep(models.Model):
    """One reviewer (审核人) in the order they review; a return sends the draft back."""

    document = models.ForeignKey(OutgoingDocument, on_delete=models.CASCADE, related_name="reviews")
    position = models.PositiveSmallIntegerField()
    reviewer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=10, choices=ReviewState.choices, default=ReviewState.WAITING
    )
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="documents_review_order")
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.position}"


class Distribution(models.Model):
    """A recipient of an outgoing document (主送 or 抄送) and what became of its copy."""

    document = models.ForeignKey(
        OutgoingDocument, on_delete=models.CASCADE, related_name="distribution"
    )
    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=10, choices=RecipientRole.choices)
    position = models.PositiveSmallIntegerField(default=0)
    envelope_id = models.UUIDField(null=True, blank=True, unique=True)
    state = models.CharField(
        max_length=20, choices=DistributionState.choices, default=DistributionState.PENDING
    )
    signed_for_at = models.DateTimeField(null=True, blank=True)
    signed_for_by = models.CharField(max_length=100, blank=True)
    returned_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "organisation"], name="documents_recipient_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.document_id}→{self.organisation_id}"


class NumberSequence(models.Model):
    """The last serial issued for an agency code (or a receiving register) and year. Registration
    locks this row, so numbers are unique and gap-free under concurrent registration."""

    agency_code = models.CharField(max_length=60)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency_code", "year"], name="documents_sequence_once")
        ]

    def __str__(self) -> str:
        return f"{self.agency_code}〔{self.year}〕{self.last}"


class IncomingDocument(TimeStampedModel):
    """A document received through the exchange (收文), from receipt to archive."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "orgs.Organisation",
        on_delete=models.PROTECT,
        related_name="incoming_documents",
        verbose_name=_("receiving organisation"),
    )
    envelope_id = models.UUIDField(unique=True)
    sender_code = models.CharField(max_length=18)
    sender_name = models.CharField(_("issuing organisation"), max_length=200)
    source_uuid = models.UUIDField(null=True, blank=True)  # the sender's OutgoingDocument.uuid
    role = models.CharField(max_length=10, choices=RecipientRole.choices)
    doc_type = models.CharField(_("type"), max_length=20, choices=DocType.choices)
    number = models.CharField(_("document number"), max_length=60, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    body_text = models.TextField(blank=True)  # for full-text search
    urgency = models.CharField(_("urgency"), max_length=20, choices=Urgency.choices)
    document_date = models.DateField(_("date of issue"), null=True, blank=True)
    pdf_name = models.CharField(max_length=200)
    pdf_sha256 = models.CharField(max_length=64)
    pdf_sm3 = models.CharField(max_length=64)
    pdf_size = models.PositiveBigIntegerField(default=0)
    state = models.CharField(
        _("state"), max_length=20, choices=IncomingState.choices, default=IncomingState.RECEIVED
    )
    received_at = models.DateTimeField(_("received at"))
    signed_for_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_for_at = models.DateTimeField(_("signed for at"), null=True, blank=True)
    register_number = models.CharField(_("register number"), max_length=60, blank=True)
    proposal = models.TextField(_("proposed handling"), blank=True)  # 拟办意见
    proposed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    instruction = models.TextField(_("leader's instruction"), blank=True)  # 批示
    instructed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    instructed_at = models.DateTimeField(null=True, blank=True)
    reply_due = models.DateField(_("reply due"), null=True, blank=True)
    answer_note = models.TextField(_("answer"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    returned_reason = models.TextField(_("reason for return"), blank=True)
    last_chased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("incoming document")
        verbose_name_plural = _("incoming documents")
        indexes = [models.Index(fields=["organisation", "state"], name="documents_in_org_state")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Attachment(models.Model):
    """A file of a document (附件), kept in the content-addressed part store by its hashes."""

    outgoing = models.ForeignKey(
        OutgoingDocument,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    incoming = models.ForeignKey(
        IncomingDocument,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(_("file name"), max_length=200)
    media_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    sm3 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outgoing__isnull=True) ^ Q(incoming__isnull=True),
                name="documents_attachment_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """A handling unit (承办单位) of an incoming document: lead or assisting."""

    document = models.ForeignKey(
        IncomingDocument, on_delete=models.CASCADE, related_name="assignments"
    )
    unit = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="+")
    is_lead = models.BooleanField(default=False)
    state = models.CharField(
        max_length=10, choices=AssignmentState.choices, default=AssignmentState.OPEN
    )
    result = models.TextField(blank=True)
    done_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_lead", "id"]
        constraints = [
            models.UniqueConstraint(fields=["document", "unit"], name="documents_assigned_once")
        ]

    def __str__(self) -> str:
        return f"{self.document_id}:{self.unit_id}"


class Circulation(models.Model):
    """A person a document circulates to (传阅): who has read it and who has not."""

    document = models.ForeignKey(
        IncomingDocument, on_delete=models.CASCADE, related_name="circulation"
    )
    reader = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["document", "reader"], name="documents_circulate_once")
        ]

    def __str__(self) -> str:
        return f"{self.document_id}:{self.reader_id}"


class DocumentEvent(models.Model):
    """One line of a document's history: who, when, what, why."""

    outgoing = models.ForeignKey(
        OutgoingDocument, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    incoming = models.ForeignKey(
        IncomingDocument, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outgoing__isnull=True) ^ Q(incoming__isnull=True),
                name="documents_event_one_document",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at}"
