"""Rows of the exchange: the node directory (the nodes and the signed directory documents), the
outbox (deliveries), the inbox (de-duplication and the receipt given) and the append-only,
hash-chained message log."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from egov.core.models.audit import GENESIS_HASH
from egov.core.models.base import TimeStampedModel
from egov.exchange.choices import (
    DeliveryState,
    Direction,
    DirectorySource,
    InboxStatus,
    Transport,
)


class Node(TimeStampedModel):
    """A deployment serving some organisations (organisation.node_code names it): its inbox URL,
    how envelopes reach it, and the organisation that operates it (signs on the node's behalf)."""

    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    url = models.CharField(_("base URL"), max_length=300, blank=True)
    transport = models.CharField(
        _("transport"), max_length=10, choices=Transport.choices, default=Transport.HTTP
    )
    operator = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("operator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    certificate_sha256 = models.CharField(_("certificate fingerprint"), max_length=64, blank=True)
    # A node reached differently from here than the directory says (an isolated network reached
    # by bundles): the directory refresh leaves its URL and transport alone.
    pinned = models.BooleanField(
        _("pinned"),
        default=False,
        help_text=_("the directory does not change its URL and transport on this node"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("node")
        verbose_name_plural = _("nodes")

    def __str__(self) -> str:
        return self.name or self.code


class Directory(TimeStampedModel):
    """A signed node directory (节点目录) as published by the provincial node, kept unchanged:
    the canonical JSON and its detached CMS signature. The newest serial is the one in force;
    the older ones stay for audit and can be served again."""

    serial = models.PositiveBigIntegerField(_("serial"), unique=True)
    issued_at = models.DateTimeField(_("issued at"))
    signer_code = models.CharField(_("signed by"), max_length=18)
    document = models.BinaryField(_("directory"))
    signature = models.BinaryField(_("signature"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    source = models.CharField(_("source"), max_length=10, choices=DirectorySource.choices)
    source_url = models.CharField(_("fetched from"), max_length=300, blank=True)
    summary = models.JSONField(_("what changed"), default=dict, blank=True)

    class Meta:
        ordering = ["-serial"]
        verbose_name = _("node directory")
        verbose_name_plural = _("node directories")

    def __str__(self) -> str:
        return f"directory #{self.serial}"


class Delivery(TimeStampedModel):
    """One envelope to one recipient; the row is also its outbox entry (state, attempts, next
    attempt, lease). Only a valid signed receipt (or a signed RETURN) ends it."""

    envelope_id = models.UUIDField(_("envelope id"), default=uuid.uuid4, unique=True)
    batch_id = models.UUIDField(_("dispatch"), db_index=True)
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=300, blank=True)
    in_reply_to = models.UUIDField(_("in reply to"), null=True, blank=True)
    sender = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("sender"),
        on_delete=models.PROTECT,
        related_name="exchange_sent",
    )
    recipient = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="exchange_addressed",
    )
    recipient_node = models.CharField(_("recipient node"), max_length=50, db_index=True)
    manifest = models.BinaryField(_("manifest"))
    signature = models.BinaryField(_("manifest signature"))
    manifest_sha256 = models.CharField(max_length=64)
    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(_("last error"), max_length=50, blank=True)
    last_error = models.CharField(_("last error detail"), max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    done_at = models.DateTimeField(_("receipted at"), null=True, blank=True)
    reply = models.BinaryField(_("receipt envelope"), null=True, blank=True)
    reply_kind = models.CharField(max_length=20, blank=True)
    return_reason = models.CharField(_("return reason"), max_length=50, blank=True)
    # When the sender's clerks were told it FAILED (cleared by a retry): each failure is told
    # once, even if the worker dies between the failure and the notification.
    failure_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="exchange_due"),
            models.Index(fields=["sender", "state"], name="exchange_sender_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="delivered") | models.Q(done_at__isnull=False),
                name="exchange_delivered_has_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.envelope_id} → {self.recipient_id}"


class InboxEntry(models.Model):
    """An envelope this node received and answered: the de-duplication key and the reply given
    (a repeat gets this reply again and nothing else happens)."""

    envelope_id = models.UUIDField(_("envelope id"), unique=True)
    kind = models.CharField(_("kind"), max_length=40)
    sender_code = models.CharField(_("sender"), max_length=18)
    recipient = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="exchange_received",
    )
    in_reply_to = models.UUIDField(null=True, blank=True)
    manifest = models.BinaryField()
    signature = models.BinaryField()
    manifest_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=InboxStatus.choices)
    reason = models.CharField(max_length=50, blank=True)
    reply = models.BinaryField()
    received_at = models.DateTimeField(_("received at"), db_index=True)
    recalled_at = models.DateTimeField(_("recalled at"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("received envelope")
        verbose_name_plural = _("received envelopes")

    def __str__(self) -> str:
        return f"{self.kind} {self.envelope_id}"


class LogHead(models.Model):
    """The end of the message log's hash chain (one row, locked to append)."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"log head {self.last_seq}"


class LogEntry(models.Model):
    """An envelope sent or received, kept unchanged (manifest and signature bytes; the parts by
    their hashes in the part store), chained: hash = H(prev_hash, canonical content).

    A row is written unchained (`seq` and the hashes empty) in the transaction that sends or
    receives, and linked into the chain right after that commits (`egov.exchange.log`).
    """

    seq = models.BigIntegerField(unique=True, null=True, blank=True)
    logged_at = models.DateTimeField(db_index=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    envelope_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=40)
    in_reply_to = models.UUIDField(null=True, blank=True)
    sender_code = models.CharField(max_length=18)
    recipient_code = models.CharField(max_length=18)
    peer_node = models.CharField(max_length=50, blank=True)
    manifest = models.BinaryField()
    signature = models.BinaryField()
    manifest_sha256 = models.CharField(max_length=64)
    manifest_sm3 = models.CharField(max_length=64)
    signature_sha256 = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)
    hash_sm3 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("message log entry")
        verbose_name_plural = _("message log")
        indexes = [
            # The chainer's work list: the few rows not linked yet, in a log of millions.
            models.Index(
                fields=["id"], condition=models.Q(seq__isnull=True), name="exchange_log_unchained"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.seq or '-'} {self.direction} {self.kind} {self.envelope_id}"
