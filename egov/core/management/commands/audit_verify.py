"""Verify the audit trail's hash chain: `manage.py audit_verify [--json] [--anchor SEQ:HASH]`.

Exit status 0 when the chain holds, 1 when any problem is found. Each problem names the row
(seq and id). The head printed at the end is worth keeping outside the database: passing it
back later as `--anchor` shows whether the chain was rewritten as a whole.
"""

from __future__ import annotations

import json
import logging
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction

from egov.core.acting import Acting
from egov.core.audit import (
    ChainProblem,
    ChainVerifier,
    check_anchor,
    guard_problems,
    guard_retention_days,
    record_audit,
)
from egov.core.choices import AuditOutcome

logger = logging.getLogger("egov.audit")


def _anchor(value: str) -> tuple[int, str]:
    seq, _sep, digest = value.partition(":")
    if (
        not seq.isdigit()
        or len(digest) != 64
        or not all(c in "0123456789abcdefABCDEF" for c in digest)
    ):
        raise ArgumentTypeError("expected SEQ:HASH, the hash as 64 hexadecimal digits")
    return int(seq), digest.lower()


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and name every edited, deleted or inserted row."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--anchor",
            action="append",
            type=_anchor,
            default=[],
            metavar="SEQ:HASH",
            help="a head printed by an earlier run, kept outside the database (repeatable)",
        )
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="do not record this verification in the audit trail",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verifier = ChainVerifier()
        problems: list[ChainProblem] = list(verifier)
        for seq, digest in options["anchor"]:
            problem = check_anchor(seq, digest)
            if problem is not None:
                problems.append(problem)
        problems.extend(guard_problems())
        ok = not problems
        summary = {
            "ok": ok,
            "checked": verifier.checked,
            "head": {"seq": verifier.head_seq, "hash": verifier.head_hash},
            "retention_guard_days": guard_retention_days(),
            "problems": [p.as_dict() for p in problems],
        }
        logger.log(
            logging.INFO if ok else logging.ERROR,
            "audit chain verified" if ok else "audit chain verification failed",
            extra={
                "checked": verifier.checked,
                "problems": len(problems),
                "head_seq": verifier.head_seq,
                "head_hash": verifier.head_hash,
            },
        )
        if not options["no_record"]:
            self._record(ok, verifier.checked, problems)
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
        else:
            for problem in problems:
                where = f"seq={problem.seq if problem.seq is not None else '-'} "
                where += f"id={problem.row_id if problem.row_id is not None else '-'}"
                self.stdout.write(f"{where} {problem.kind}: {problem.message}")
            self.stdout.write(
                f"{'OK' if ok else 'FAILED'}: {verifier.checked} rows checked, "
                f"{len(problems)} problem(s); head seq={verifier.head_seq} "
                f"hash={verifier.head_hash}"
            )
        if not ok:
            raise CommandError(f"the audit chain has {len(problems)} problem(s)")

    def _record(self, ok: bool, checked: int, problems: list[ChainProblem]) -> None:
        try:
            with transaction.atomic():
                record_audit(
                    "audit.verified",
                    acting=Acting.system("audit_verify"),
                    outcome=AuditOutcome.SUCCESS if ok else AuditOutcome.FAILURE,
                    details={
                        "checked": checked,
                        "problems": [p.as_dict() for p in problems[:50]],
                        "problem_count": len(problems),
                    },
                )
        except DatabaseError:
            # A row forged beyond the head takes the next seq; the report above still stands.
            logger.exception("could not record the verification in the audit trail")
