"""Official documents: GB/T 9704 layout and PAdES sealing per second, and the time and peak
memory to take a 20-page document with a 50 MB attachment through upload, layout, seal, dispatch
and delivery — beside baselines in the same run.

Everything runs in child processes on a throw-away SQLite database (its own CA and key
encryption key), so the figures do not depend on what other benchmarks left behind:

- `--setup`: migrate, create the CA, a general office and a city with seal certificates, and
  the people who draft, review, sign off and dispatch;
- `--rates`: documents laid out per second (2-page notice) beside WeasyPrint rendering the same
  text as a plain HTML page; documents sealed per second beside a detached CMS signature
  (`egov.pki.signing.sign_detached`) over the same PDF bytes; both end to end;
- `--big`: one 20-page document with a 50 MB attachment, from the upload (streamed) to the
  recipient's inbox (the exchange streams the attachment into the envelope and out again); peak
  resident memory of the process (`ru_maxrss`) beside `--idle`, the same process after setting
  Django up and importing WeasyPrint and pyHanko.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, Section  # noqa: E402

REPEATS = 5
ATTACHMENT_BYTES = 50 * 1024 * 1024
PARAGRAPH = (
    "为深入贯彻落实省委、省政府关于推进政务信息化建设的决策部署，进一步提高机关办文效率，"
    "现就有关事项通知如下。各地各部门要高度重视，明确责任分工，确保各项任务按期完成。"
)


def _child(mode: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench_documents {mode} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run() -> Section:
    section = Section(
        title="Official documents: GB/T 9704 layout and electronic seal",
        method=(
            "Child processes on a throw-away SQLite database with its own CA. Rates: a 2-page "
            "notice laid out (WeasyPrint with the GB/T 9704 templates and CJK fonts) and sealed "
            "(pyHanko PAdES with the office's seal certificate and a visible seal), each timed "
            f"over several documents, median of {REPEATS} runs, beside WeasyPrint rendering the "
            "same text as a plain HTML page and a detached CMS signature over the same PDF "
            "bytes. Large document: 20 pages of body text and a 50 MB attachment taken from "
            "the upload through layout, seal, dispatch and the exchange's delivery to the "
            "recipient (same node), timed once per run, median of 3 runs; peak resident memory "
            "(ru_maxrss) of that process beside an idle process that only set Django up and "
            "imported WeasyPrint and pyHanko."
        ),
    )
    with tempfile.TemporaryDirectory(prefix="egov-bench-docs-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "egov.settings.test",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "EGOV_EXCHANGE_DIR": f"{tmp}/exchange",
            "EGOV_PKI_KEK": "bench-documents-key-encryption-key-0123456789",
            "EGOV_PKI_KEK_FILE": f"{tmp}/kek",
            "EGOV_BENCH_TMP": tmp,
        }
        _child("--setup", env)
        rates = [_child("--rates", env) for _ in range(REPEATS)]
        big = [_child("--big", env) for _ in range(3)]
        idle = [_child("--idle", env) for _ in range(3)]

    def med(rows: list[dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    section.rows += [
        Row(
            "documents laid out per second (2 pages)",
            med(rates, "render"),
            "docs/s",
            "WeasyPrint, same text as a plain page",
            med(rates, "plain"),
        ),
        Row(
            "documents sealed per second (PAdES, visible seal)",
            med(rates, "seal"),
            "docs/s",
            "detached CMS signature over the same PDF",
            med(rates, "cms"),
        ),
        Row("documents laid out and sealed per second", med(rates, "both"), "docs/s"),
        Row(
            "20 pages + 50 MB attachment: upload → layout → seal → dispatch → delivered",
            med(big, "seconds"),
            "s",
            note=(
                f"upload {med(big, 'upload'):.1f} s, layout {med(big, 'render'):.1f} s, "
                f"seal {med(big, 'seal'):.1f} s, dispatch and delivery "
                f"{med(big, 'deliver'):.1f} s; {int(med(big, 'pages'))} pages"
            ),
        ),
        Row(
            "peak resident memory of that process",
            med(big, "peak_mib"),
            "MiB",
            "idle process (Django, WeasyPrint, pyHanko imported)",
            med(idle, "peak_mib"),
            note="goal: under 500 MiB",
        ),
    ]
    section.notes.append(
        "Sealing is dominated by pyHanko writing the incremental update (the signature "
        "dictionary, the visible seal's appearance stream, the byte-range digest of the whole "
        "file) and its own CMS assembly; the raw detached signature row shows how little of it "
        "is the signature itself."
    )
    section.notes.append(
        "The attachment is never read whole into memory: the upload is copied in blocks into "
        "the content-addressed part store (hashing SHA-256 and SM3 on the way), the envelope "
        "streams it from there, and the receiver streams it back into its store."
    )
    return section


# --- the child processes -------------------------------------------------------------------------


def _django() -> None:
    import django

    django.setup()


def _world() -> dict[str, Any]:
    from egov.orgs.models import Organisation, User

    office = Organisation.objects.get(doc_code="冀政办发")
    city = Organisation.objects.get(name="石家庄市人民政府")
    users = {u.username: u for u in User.objects.filter(username__startswith="bench.")}
    return {"office": office, "city": city, **users}


def setup() -> dict[str, Any]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _django_world()
    return {"ok": True}


def _django_world() -> None:
    from egov.core.acting import Acting
    from egov.orgs.choices import OrgKind, OrgLevel, Role
    from egov.orgs.tests.factories import OrganisationFactory, make_member
    from egov.pki import services as pki

    system = Acting.system("bench")
    pki.do_init_hierarchy(acting=system)
    province = OrganisationFactory.create(
        name="河北省人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.PROVINCE
    )
    office = OrganisationFactory.create(
        name="河北省人民政府办公厅",
        kind=OrgKind.GENERAL_OFFICE,
        parent=province,
        doc_code="冀政办发",
    )
    city = OrganisationFactory.create(
        name="石家庄市人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY, parent=province
    )
    pki.do_issue_demo_seals([office, city], acting=system)
    make_member(office, Role.DRAFTER, Role.CLERK, username="bench.clerk")
    make_member(office, Role.REVIEWER, username="bench.reviewer")
    make_member(office, Role.SIGNER, username="bench.signer")


def _body(pages: int) -> str:
    # A page holds 22 lines × 28 characters: about 7 paragraphs of 88 characters (4 lines each,
    # the title and the closing elements take the rest).
    return "".join(f"<p>{PARAGRAPH}</p>" for _ in range(pages * 7))


def _registered(w: dict[str, Any], pages: int, attachments: list[Any] = ()) -> Any:  # type: ignore[assignment]
    from egov.core.acting import Acting
    from egov.documents import services
    from egov.documents.choices import Direction, DocType, RecipientRole

    clerk = Acting(user=w["bench.clerk"])
    doc = services.do_create_draft(
        w["office"],
        services.DraftData(
            doc_type=DocType.NOTICE,
            direction=Direction.DOWNWARD,
            title="关于进一步提高机关办文效率的通知",
            body=_body(pages),
            recipients=[(w["city"], RecipientRole.MAIN)],
        ),
        attachments=attachments,
        acting=clerk,
    )
    doc = services.do_submit(doc, [w["bench.reviewer"]], acting=clerk)
    doc = services.do_review(doc, approve=True, acting=Acting(user=w["bench.reviewer"]))
    doc = services.do_sign_off(doc, approve=True, acting=Acting(user=w["bench.signer"]))
    doc = services.do_recheck(doc, acting=clerk)
    return services.do_register(doc, acting=clerk)


def _per_second(fn: Any, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return count / (time.perf_counter() - start)


def rates() -> dict[str, Any]:
    import io

    from weasyprint import HTML

    from egov.core.acting import Acting
    from egov.documents import services
    from egov.documents.models import OutgoingDocument
    from egov.exchange.envelope import PartStore
    from egov.pki.signing import sign_detached

    w = _world()
    clerk = Acting(user=w["bench.clerk"])
    count = 4
    docs = [_registered(w, 2) for _ in range(count * 2)]
    # warm up fonts and the signer cache
    services.do_seal(services.do_render(docs.pop(), acting=clerk), acting=clerk)
    to_render = docs[:count]
    rendered: list[OutgoingDocument] = []
    start = time.perf_counter()
    for d in to_render:
        rendered.append(services.do_render(d, acting=clerk))
    render_rate = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for d in rendered:
        services.do_seal(d, acting=clerk)
    seal_rate = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for d in docs[count : count * 2 - 1]:
        services.do_seal(services.do_render(d, acting=clerk), acting=clerk)
    both_rate = (count - 1) / (time.perf_counter() - start)
    page = f"<html><body><h1>{rendered[0].title}</h1>{rendered[0].body}</body></html>"
    plain_rate = _per_second(lambda: HTML(string=page).write_pdf(io.BytesIO()), count)
    pdf = PartStore().path(rendered[0].pdf_sha256).read_bytes()
    from egov.exchange.sealing import seal_for

    cert = seal_for(w["office"])
    cms_rate = _per_second(lambda: sign_detached(pdf, cert), 50)
    return {
        "render": render_rate,
        "seal": seal_rate,
        "both": both_rate,
        "plain": plain_rate,
        "cms": cms_rate,
    }


class _Filler:
    """A 50 MB "PDF" produced on the fly (a header, then filler): nothing held in memory."""

    def __init__(self, size: int):
        self.left = size
        self.first = True

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = min(self.left, 256 * 1024 if n is None or n < 0 else n)
        block = (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" if self.first else b"") + b"0" * n
        block = block[:n]
        self.first = False
        self.left -= len(block)
        return block


def big() -> dict[str, Any]:
    from egov.core.acting import Acting
    from egov.documents import services
    from egov.documents.models import IncomingDocument
    from egov.documents.uploads import store_upload
    from egov.exchange import worker

    w = _world()
    clerk = Acting(user=w["bench.clerk"])
    t0 = time.perf_counter()
    upload = store_upload("附件1.pdf", _Filler(ATTACHMENT_BYTES))  # type: ignore[arg-type]
    t1 = time.perf_counter()
    doc = _registered(w, 20, [upload])
    doc = services.do_render(doc, acting=clerk)
    t2 = time.perf_counter()
    doc = services.do_seal(doc, acting=clerk)
    t3 = time.perf_counter()
    services.do_dispatch(doc, acting=clerk)
    stats = worker.run_once()
    t4 = time.perf_counter()
    if stats.delivered != 1:
        raise RuntimeError(f"the document was not delivered: {stats}")
    received = IncomingDocument.objects.filter(source_uuid=doc.uuid).get()
    if received.attachments.get().size != ATTACHMENT_BYTES:
        raise RuntimeError("the attachment did not arrive whole")
    return {
        "seconds": t4 - t0,
        "upload": t1 - t0,
        "render": t2 - t1,
        "seal": t3 - t2,
        "deliver": t4 - t3,
        "pages": doc.pdf_pages,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def idle() -> dict[str, Any]:
    import pyhanko.sign  # noqa: F401
    import weasyprint  # noqa: F401

    _world()
    return {"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1].startswith("--"):
    _django()
    mode = sys.argv[1]
    result = {"--setup": setup, "--rates": rates, "--big": big, "--idle": idle}[mode]()
    print(json.dumps(result))
