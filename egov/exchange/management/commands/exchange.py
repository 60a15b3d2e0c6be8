"""`manage.py exchange …`: the worker, isolated-network bundles, evidence and the directory.

exchange worker [--once] [--limit N] [--threads N] [--interval S]
exchange export --to NODE FILE          pending envelopes for NODE into a signed bundle
exchange import FILE [--replies-out F]  verify and deliver a bundle; write the replies bundle
exchange verify FILE                    an envelope or a log export: who sent what, when
exchange log-export --since D --until D FILE
exchange log-verify                     walk the message log's hash chain
exchange node CODE [--url U] [--transport http|bundle|local] [--operator ORGCODE] [--pin|--unpin]
exchange directory publish [--if-changed]   (provincial node) sign and serve a new directory
exchange directory fetch [--from URL]       fetch, verify and install the directory
exchange directory import FILE              install a directory carried as a file
exchange directory export FILE              write the directory in force to a file
exchange directory show                     the directory in force: serial, nodes, counts
"""

from __future__ import annotations

import json
import time
from argparse import ArgumentParser
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.exchange import bundles, evidence, log, worker
from egov.exchange import directory as node_directory
from egov.exchange.choices import Transport
from egov.exchange.conf import setting_str
from egov.exchange.envelope import EnvelopeError
from egov.exchange.models import Node
from egov.orgs.models import Organisation

SYSTEM = Acting.system("exchange")


def _date(text: str) -> datetime:
    try:
        return (
            datetime.fromisoformat(text).replace(tzinfo=UTC)
            if "T" not in text
            else (datetime.fromisoformat(text).astimezone(UTC))
        )
    except ValueError as exc:
        raise CommandError(f"not a date: {text}") from exc


class Command(BaseCommand):
    help = "Document exchange: worker, bundles, evidence, node directory."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("worker")
        p.add_argument("--once", action="store_true")
        p.add_argument("--limit", type=int, default=100)
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--interval", type=float, default=1.0)
        p.add_argument("--until-idle", action="store_true", help="stop when nothing is pending")
        p = sub.add_parser("export")
        p.add_argument("--to", required=True, dest="to_node")
        p.add_argument("file")
        p = sub.add_parser("import")
        p.add_argument("file")
        p.add_argument("--replies-out", default="")
        p = sub.add_parser("verify")
        p.add_argument("file")
        p = sub.add_parser("log-export")
        p.add_argument("--since", required=True)
        p.add_argument("--until", required=True)
        p.add_argument("file")
        sub.add_parser("log-verify")
        p = sub.add_parser("node")
        p.add_argument("code")
        p.add_argument("--url", default=None)
        p.add_argument("--transport", choices=Transport.values, default=None)
        p.add_argument("--operator", default=None)
        p.add_argument("--name", default=None)
        pin = p.add_mutually_exclusive_group()
        pin.add_argument(
            "--pin",
            dest="pinned",
            action="store_true",
            default=None,
            help="keep this node's URL and transport as set here (the directory leaves them)",
        )
        pin.add_argument("--unpin", dest="pinned", action="store_false")
        p = sub.add_parser("directory", help="the signed node directory")
        dsub = p.add_subparsers(dest="directory_action", required=True)
        q = dsub.add_parser("publish")
        q.add_argument("--if-changed", action="store_true")
        q = dsub.add_parser("fetch")
        q.add_argument("--from", dest="source", default="", help="the provincial node's URL")
        q = dsub.add_parser("import")
        q.add_argument("file")
        q = dsub.add_parser("export")
        q.add_argument("file")
        dsub.add_parser("show")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        try:
            getattr(self, "do_" + action)(options)
        except EnvelopeError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    def _out(self, data: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, sort_keys=True))

    def do_worker(self, options: dict[str, Any]) -> None:
        while True:
            stats = worker.run_once(limit=options["limit"], threads=options["threads"])
            if options["once"]:
                self._out(stats.__dict__)
                return
            if stats.claimed == 0:
                if options["until_idle"] and worker.pending_count() == 0:
                    return
                time.sleep(options["interval"])

    def do_export(self, options: dict[str, Any]) -> None:
        with Path(options["file"]).open("wb") as out:
            count = bundles.export_bundle(options["to_node"], out, acting=SYSTEM)
        self._out({"ok": True, "envelopes": count, "file": options["file"]})

    def do_import(self, options: dict[str, Any]) -> None:
        path = Path(options["file"])
        with path.open("rb") as source:
            result = bundles.import_bundle(source, acting=SYSTEM)
        summary: dict[str, Any] = {
            "ok": True,
            "kind": result.kind,
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "settled": result.settled,
            "refused": result.refused,
        }
        if result.kind == "envelopes":
            out = Path(options["replies_out"] or f"{path}.replies.zip")
            with out.open("wb") as f:
                summary["replies"] = bundles.write_replies(
                    result, bundles.bundle_from_node(path), f
                )
            summary["replies_file"] = str(out)
        self._out(summary)

    def do_verify(self, options: dict[str, Any]) -> None:
        result = evidence.verify_file(Path(options["file"]).read_bytes())
        self._out(result)
        if not result["ok"]:
            raise CommandError(result.get("code") or "; ".join(result.get("problems", [])))

    def do_log_export(self, options: dict[str, Any]) -> None:
        with Path(options["file"]).open("wb") as out:
            count = evidence.export_log(
                out, since=_date(options["since"]), until=_date(options["until"])
            )
        self._out({"ok": True, "entries": count, "file": options["file"]})

    def do_log_verify(self, options: dict[str, Any]) -> None:
        # Rows left waiting too long are a problem even if linking them now succeeds.
        stale = log.unchained_since(timezone.now() - log.CHAIN_GRACE)
        try:
            log.chain_pending(wait=True)  # what was logged a moment ago is linked, then walked
        except DatabaseError:
            stale = 0  # a read-only connection: verify_log reports what still waits
        problems = list(log.verify_log())
        if stale:
            problems.append(log.stale_report(stale, linked_now=True))
        self._out({"ok": not problems, "problems": problems})
        if problems:
            raise CommandError("the message log is broken")

    def do_node(self, options: dict[str, Any]) -> None:
        node, _created = Node.objects.get_or_create(code=options["code"])
        for key in ("url", "transport", "name"):
            if options[key] is not None:
                setattr(node, key, options[key])
        if options["operator"] is not None:
            node.operator = Organisation.objects.filter(code=options["operator"]).first()
            if node.operator is None:
                raise CommandError(f"no organisation {options['operator']}")
        if options["pinned"] is not None:
            node.pinned = options["pinned"]
        node.save()
        self._out(
            {
                "ok": True,
                "code": node.code,
                "url": node.url,
                "transport": node.transport,
                "pinned": node.pinned,
            }
        )

    def do_directory(self, options: dict[str, Any]) -> None:
        action = options["directory_action"]
        if action == "publish":
            result = node_directory.do_publish_directory(
                acting=SYSTEM, only_if_changed=options["if_changed"]
            )
            self._out({"ok": True, **(result.as_dict() if result else {"unchanged": True})})
        elif action == "fetch":
            source = options["source"] or setting_str("EGOV_EXCHANGE_DIRECTORY_URL")
            if not source:
                raise CommandError("give --from URL or set EGOV_EXCHANGE_DIRECTORY_URL")
            self._out(
                {"ok": True, **node_directory.fetch_directory(source, acting=SYSTEM).as_dict()}
            )
        elif action == "import":
            path = Path(options["file"])
            result = node_directory.import_directory(
                path.read_bytes(), acting=SYSTEM, name=path.name
            )
            self._out({"ok": True, **result.as_dict()})
        elif action == "export":
            row = node_directory.current_directory()
            if row is None:
                raise CommandError("no directory here")
            data = node_directory.package(bytes(row.document), bytes(row.signature))
            Path(options["file"]).write_bytes(data)
            self._out({"ok": True, "serial": row.serial, "file": options["file"]})
        else:
            row = node_directory.current_directory()
            if row is None:
                self._out({"ok": True, "serial": None})
                return
            doc = json.loads(bytes(row.document))
            self._out(
                {
                    "ok": True,
                    "serial": row.serial,
                    "issued_at": doc["issued_at"],
                    "signer": row.signer_code,
                    "source": row.source,
                    "source_url": row.source_url,
                    "installed_at": row.created_at.isoformat(),
                    "nodes": doc["nodes"],
                    "organisations": len(doc["organisations"]),
                    "summary": row.summary,
                }
            )
