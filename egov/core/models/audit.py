"""The audit trail's tables: the hash-chained events and the chain's head.

The hashing and verification live in `egov.core.audit`; the database triggers that refuse
UPDATE and early DELETE are in migration `0004_audit_guard_triggers`.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from egov.core.choices import AuditOutcome

GENESIS_HASH = "0" * 64


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def delete(self) -> tuple[int, dict[str, int]]:
        # Deletion is refused here and, inside the retention period, by a database trigger too.
        # `egov.core.audit.prune_expired` is the one way to remove expired rows.
        from egov.core.errors import AuditImmutable

        raise AuditImmutable(_("Audit records cannot be deleted."))

    def update(self, **kwargs: object) -> int:
        from egov.core.errors import AuditImmutable

        raise AuditImmutable(_("Audit records cannot be changed."))


class AuditEvent(models.Model):
    """One entry of the tamper-evident audit trail (安全审计). Rows are hash-chained by `seq`.

    The chain hash covers every field below except `id`, `prev_hash`'s own row id and the
    hashes themselves; `seq` is gap-free, so a deleted row shows as a gap and an inserted one
    as a broken link. `actor` is a plain column (no foreign key, DO_NOTHING): deleting a user
    must never rewrite history.
    """

    seq = models.BigIntegerField(_("sequence"), unique=True)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_username = models.CharField(_("user name"), max_length=150, blank=True, db_index=True)
    position_id_snapshot = models.BigIntegerField(_("position"), null=True, blank=True)
    position_title = models.CharField(_("position"), max_length=200, blank=True)
    organisation_id_snapshot = models.BigIntegerField(
        _("organisation"), null=True, blank=True, db_index=True
    )
    organisation_name = models.CharField(_("organisation"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    source_ip = models.GenericIPAddressField(_("source IP"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=AuditOutcome.choices)
    details = models.JSONField(_("details"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash (SHA-256)"), max_length=64)
    hash_sm3 = models.CharField(_("hash (SM3)"), max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["action", "occurred_at"], name="core_audit_action_time"),
            models.Index(fields=["object_type", "object_id"], name="core_audit_object"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.actor_username} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Rows are written once, by `egov.core.audit.record_audit`; never re-saved.
        if not self._state.adding:
            from egov.core.errors import AuditImmutable

            raise AuditImmutable(_("Audit records cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        from egov.core.errors import AuditImmutable

        raise AuditImmutable(_("Audit records cannot be deleted."))


class AuditChainHead(models.Model):
    """The chain's last sequence number and hash; locked by every append so appends serialise.

    `base_seq`/`base_hash` are where the kept chain starts: 0 and the genesis hash until
    `audit_prune` removes expired rows, then the last removed row's seq and hash.
    Its single row (id=1) is created by migration `0005_audit_chain_head_row`; `record_audit`
    recreates it if a test database flush removed it.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    base_seq = models.BigIntegerField(default=0)
    base_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit chain head")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="core_auditchainhead_singleton")
        ]

    def __str__(self) -> str:
        return f"audit head #{self.last_seq}"
