"""Enumerations of the exchange: envelope kinds, delivery states, transports, reason codes."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind:
    """Envelope kinds the exchange itself understands; payload kinds register their own."""

    RECEIPT = "RECEIPT"
    RETURN = "RETURN"
    RECALL = "RECALL"
    RECALL_ACK = "RECALL_ACK"
    REPLIES = frozenset({RECEIPT, RETURN, RECALL_ACK})


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("In flight")
    DELIVERED = "delivered", _("Delivered")
    RETURNED = "returned", _("Returned")
    FAILED = "failed", _("Failed")


class Direction(models.TextChoices):
    OUT = "out", _("Sent")
    IN = "in", _("Received")


class Transport(models.TextChoices):
    LOCAL = "local", _("This node")
    HTTP = "http", _("HTTP")
    BUNDLE = "bundle", _("Bundle files (isolated network)")


class DirectorySource(models.TextChoices):
    PUBLISHED = "published", _("Published here")
    FETCHED = "fetched", _("Fetched")
    IMPORTED = "imported", _("Imported from a file")


class InboxStatus(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    RETURNED = "returned", _("Returned")


# Reason codes, by the receiver's check (EXCHANGE.md) that produces them.
CHECK_OF_REASON = {
    "malformed_package": 1,
    "bad_manifest": 1,
    "unexpected_file": 1,
    "missing_part": 1,
    "duplicate_file": 1,
    "path_traversal": 1,
    "too_large": 1,
    "hash_mismatch": 2,
    "size_mismatch": 2,
    "malformed": 3,
    "bad_signature": 3,
    "signer_certificate_missing": 3,
    "unsupported_algorithm": 3,
    "unknown_issuer": 4,
    "expired": 4,
    "not_yet_valid": 4,
    "wrong_key_usage": 4,
    "revoked": 4,
    "certificate_not_sender": 4,
    "misaddressed": 5,
    "envelope_expired": 6,
    "clock_skew": 6,
    "unknown_kind": 8,
}
