"""`manage.py pki <subcommand>`: operate the provincial CA from the command line.

Subcommands: init [--demo], issue, revoke, crl, export, list, root-offline, root-online,
reminders. Every subcommand takes --json for machine-readable output.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.orgs.choices import OrgKind
from egov.orgs.models import Organisation, User
from egov.pki import services
from egov.pki.choices import REQUESTABLE_PROFILES, RevocationReason
from egov.pki.keystore import load_kek
from egov.pki.models import Certificate, CertificateAuthority

ACTOR = "pki-command"


def _cert_dict(cert: Certificate) -> dict[str, Any]:
    return {
        "uuid": str(cert.uuid),
        "serial": cert.serial,
        "ca": cert.issuer.slug,
        "profile": cert.profile,
        "subject": cert.subject,
        "organisation": cert.organisation.code if cert.organisation else None,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "status": cert.status,
        "revocation_reason": cert.revocation_reason,
        "sha256": cert.fingerprint_sha256,
        "sm3": cert.fingerprint_sm3,
    }


def _ca_dict(ca: CertificateAuthority) -> dict[str, Any]:
    return {
        "slug": ca.slug,
        "name": ca.name,
        "kind": ca.kind,
        "online": ca.is_online,
        "serial": ca.certificate.serial if ca.certificate else None,
        "sha256": ca.certificate.fingerprint_sha256 if ca.certificate else None,
        "sm3": ca.certificate.fingerprint_sm3 if ca.certificate else None,
        "crl_number": ca.crl_number,
    }


class Command(BaseCommand):
    help = "Operate the provincial CA: init, issue, revoke, crl, export, root-offline/online."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)

        def add(name: str, help_text: str) -> ArgumentParser:
            p = sub.add_parser(name, help=help_text)
            p.add_argument("--json", action="store_true", help="machine-readable output")
            return p

        p = add("init", "create the root and issuing CAs (idempotent)")
        p.add_argument("--demo", action="store_true", help="also issue seal certificates")
        p = add("issue", "issue a certificate with a key generated on the server")
        p.add_argument("--org", required=True, help="the organisation's 统一社会信用代码")
        p.add_argument(
            "--profile", default="org_seal", choices=[str(x) for x in REQUESTABLE_PROFILES]
        )
        p.add_argument("--holder", default="", help="user name (person_signing)")
        p.add_argument("--dns", action="append", default=[], help="DNS name (server_tls)")
        p = add("revoke", "revoke a certificate by serial")
        p.add_argument("--ca", default="org", help="issuing CA slug (org, person, root)")
        p.add_argument("--serial", required=True, help="hexadecimal serial")
        p.add_argument(
            "--reason",
            default="unspecified",
            choices=[
                r.name.lower() for r in RevocationReason if int(r) in services.REVOCABLE_REASONS
            ],
        )
        p = add("crl", "generate a fresh CRL for one CA or all online CAs")
        p.add_argument("--ca", default="", help="CA slug; all online CAs when omitted")
        p = add("export", "write a CA certificate, a certificate or a CRL")
        p.add_argument("--ca", default="", help="CA slug: its certificate (or CRL with --crl)")
        p.add_argument("--serial", default="", help="a certificate of --ca by serial")
        p.add_argument("--crl", action="store_true")
        p.add_argument("--format", choices=["pem", "der"], default="pem")
        p.add_argument("--out", default="", help="file to write; standard output when omitted")
        add("list", "list the CAs")
        p = add("root-offline", "export the root key encrypted and remove it from the server")
        p.add_argument("--out", required=True, help="where to write the encrypted PEM key")
        p = add("root-online", "bring the root key back")
        p.add_argument("--key", required=True, help="the encrypted PEM written by root-offline")
        p = add("reminders", "notify holders of certificates expiring soon")
        p.add_argument("--days", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        self.as_json = options.get("json", False)
        try:
            load_kek()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        action = options["action"].replace("-", "_")
        try:
            getattr(self, f"do_{action}")(options)
        except DomainError as exc:
            if self.as_json:
                self.stdout.write(
                    json.dumps(
                        {
                            "ok": False,
                            "code": exc.code,
                            "message": str(exc.message),
                            "field": exc.field,
                        },
                        ensure_ascii=False,
                    )
                )
            raise CommandError(f"{exc.code}: {exc.message}") from None

    def emit(self, data: dict[str, Any], text: str) -> None:
        if self.as_json:
            self.stdout.write(json.dumps({"ok": True, **data}, ensure_ascii=False, default=str))
        else:
            self.stdout.write(text)

    @property
    def acting(self) -> Acting:
        return Acting.system(ACTOR)

    def do_init(self, options: dict[str, Any]) -> None:
        result = services.do_init_hierarchy(acting=self.acting)
        data: dict[str, Any] = {
            "created": result.created,
            "authorities": [_ca_dict(ca) for ca in result.authorities],
        }
        lines = [
            f"{'created' if result.created else 'exists'}: "
            + ", ".join(ca.slug for ca in result.authorities)
        ]
        if options["demo"]:
            started = time.perf_counter()
            orgs = list(
                Organisation.objects.filter(is_active=True)
                .exclude(kind=OrgKind.INTERNAL_UNIT)
                .order_by("path")
            )
            issued = services.do_issue_demo_seals(orgs, acting=self.acting)
            data["seals_issued"] = len(issued)
            data["seconds"] = round(time.perf_counter() - started, 3)
            lines.append(f"seal certificates issued: {len(issued)} in {data['seconds']} s")
        self.emit(data, "\n".join(lines))

    def do_issue(self, options: dict[str, Any]) -> None:
        org = Organisation.objects.filter(code=options["org"].strip().upper()).first()
        if org is None:
            raise DomainError("No organisation with this code.", field="org")
        holder = None
        if options["holder"]:
            holder = User.objects.filter(username=options["holder"]).first()
            if holder is None:
                raise DomainError("No such user.", field="holder")
        cert = services.do_issue_with_server_key(
            org, options["profile"], holder=holder, dns_names=options["dns"], acting=self.acting
        )
        self.emit({"certificate": _cert_dict(cert)}, f"issued {cert.serial} for {org.name}")

    def do_revoke(self, options: dict[str, Any]) -> None:
        cert = services.find_certificate(options["ca"], options["serial"])
        reason = RevocationReason[options["reason"].upper()]
        cert = services.do_revoke_certificate(cert, reason=int(reason), acting=self.acting)
        self.emit({"certificate": _cert_dict(cert)}, f"revoked {cert.serial} ({reason.name})")

    def do_crl(self, options: dict[str, Any]) -> None:
        if options["ca"]:
            crls = [services.do_generate_crl(services.get_ca(options["ca"]), acting=self.acting)]
        else:
            crls = services.do_generate_all_crls(acting=self.acting)
        data = [
            {
                "ca": c.ca.slug,
                "number": c.number,
                "revoked": c.revoked_count,
                "sha256": c.sha256,
                "sm3": c.sm3,
            }
            for c in crls
        ]
        self.emit({"crls": data}, "\n".join(f"{d['ca']}: CRL #{d['number']}" for d in data))

    def do_export(self, options: dict[str, Any]) -> None:
        from cryptography import x509

        ca = services.get_ca(options["ca"] or services.ROOT_SLUG)
        der_format = options["format"] == "der"
        if options["crl"]:
            crl = ca.crls.order_by("-number").first()
            if crl is None:
                raise DomainError("This CA has no CRL yet.", field="ca")
            parsed = x509.load_der_x509_crl(bytes(crl.der))
            blob = parsed.public_bytes(
                serialization.Encoding.DER if der_format else serialization.Encoding.PEM
            )
            what = f"CRL #{crl.number} of {ca.slug}"
        else:
            cert = (
                services.find_certificate(ca.slug, options["serial"])
                if options["serial"]
                else ca.certificate
            )
            if cert is None:
                raise RuntimeError("cert is missing")
            blob = cert.x509.public_bytes(
                serialization.Encoding.DER if der_format else serialization.Encoding.PEM
            )
            what = f"certificate {cert.serial}"
        if options["out"]:
            Path(options["out"]).write_bytes(blob)
            self.emit(
                {"written": options["out"], "what": what, "bytes": len(blob)},
                f"wrote {what} to {options['out']}",
            )
        elif self.as_json:
            self.emit({"what": what, "pem": blob.decode() if not der_format else None}, "")
        else:
            if der_format:
                raise DomainError("DER goes to a file: give --out.", field="out")
            self.stdout.write(blob.decode(), ending="")

    def do_list(self, options: dict[str, Any]) -> None:
        cas = list(CertificateAuthority.objects.select_related("certificate").order_by("id"))
        self.emit(
            {"authorities": [_ca_dict(ca) for ca in cas]},
            "\n".join(
                f"{ca.slug:8} {'online ' if ca.is_online else 'OFFLINE'} {ca.name}" for ca in cas
            ),
        )

    def _passphrase(self, confirm: bool) -> str:
        value = os.environ.get("EGOV_PKI_ROOT_PASSPHRASE", "")
        if value:
            return value
        value = getpass.getpass("Passphrase for the root key: ")
        if confirm and getpass.getpass("Again: ") != value:
            raise CommandError("The passphrases differ.")
        return value

    def do_root_offline(self, options: dict[str, Any]) -> None:
        out = Path(options["out"])
        if out.exists():
            raise DomainError("Refusing to overwrite an existing file.", field="out")
        created = False

        def keep(pem: bytes) -> None:
            # Called before the key is removed: if the copy cannot be written, nothing changes.
            nonlocal created
            try:
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                created = True
                with os.fdopen(fd, "wb") as handle:
                    handle.write(pem)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:
                raise DomainError(
                    f"Cannot write {out}: {exc.strerror or exc}; the root key stays online.",
                    field="out",
                ) from None

        try:
            services.do_root_offline(
                passphrase=self._passphrase(confirm=True), acting=self.acting, keep=keep
            )
        except BaseException:
            if created:
                out.unlink(missing_ok=True)
            raise
        self.emit(
            {"written": str(out)},
            f"root key written to {out} (encrypted) and removed from the server",
        )

    def do_root_online(self, options: dict[str, Any]) -> None:
        path = Path(options["key"])
        if not path.is_file():
            raise DomainError("No such file.", field="key")
        services.do_root_online(
            pem=path.read_bytes(), passphrase=self._passphrase(confirm=False), acting=self.acting
        )
        self.emit({"online": True}, "root key is online again")

    def do_reminders(self, options: dict[str, Any]) -> None:
        sent = services.do_send_expiry_reminders(acting=self.acting, days=options["days"])
        self.emit({"reminded": sent}, f"reminders sent for {sent} certificates")
