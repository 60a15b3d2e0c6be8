"""The processing forms as PDF: 发文稿纸 (the drafting form of an outgoing document) and 收文处理单
(the processing form of an incoming document), laid out like the printed forms clerks know.

Each form is one A4 table (labels in 黑体, entries in 仿宋, the form's title and rules in red)
followed by the document's history (流转记录). The fonts are the installed faces of the
document font map (`egov.documents.layout.fonts`); nothing is fetched — the URL fetcher refuses
every URL, so no value in a document can make the renderer reach the network or the disk.

Building the context runs a fixed number of queries whatever the length of the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, cast

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.documents.choices import Classification, EventKind, RecipientRole
from egov.documents.models import (
    DocumentEvent,
    IncomingDocument,
    OutgoingDocument,
)
from egov.documents.selectors import distribution_states
from egov.orgs.models import User

OUTGOING_TEMPLATE = "documents/processing_form_out.html"
INCOMING_TEMPLATE = "documents/processing_form_in.html"


def person(user: User | None) -> str:
    if user is None:
        return ""
    return user.full_name or user.get_username()


@dataclass(frozen=True)
class Opinion:
    """A signed entry of the form: who, when, what they wrote (审核/签发/拟办/批示意见)."""

    name: str
    at: datetime | None
    text: str = ""
    role: str = ""


def _last_event(
    events: list[DocumentEvent], kind: str, actor_id: int | None = None
) -> DocumentEvent | None:
    for event in reversed(events):
        if event.kind == kind and (actor_id is None or event.actor_id == actor_id):
            return event
    return None


def outgoing_form_context(doc: OutgoingDocument) -> dict[str, Any]:
    """What the 发文稿纸 shows (7 queries beyond the document and its people)."""
    events = list(doc.events.all())
    signers: list[Opinion] = []
    if doc.signed_off_by is not None:
        event = _last_event(events, EventKind.SIGNED_OFF, doc.signed_off_by_id)
        signers.append(
            Opinion(
                name=person(doc.signed_off_by),
                at=doc.signed_off_at,
                text=event.text if event else "",
                role=doc.organisation.name,
            )
        )
    joint = list(doc.joint_agencies.select_related("organisation", "signed_off_by"))
    for j in joint:
        if j.signed_off_by is not None:
            event = _last_event(events, EventKind.SIGNED_OFF, j.signed_off_by_id)
            signers.append(
                Opinion(
                    name=person(j.signed_off_by),
                    at=j.signed_off_at,
                    text=event.text if event else "",
                    role=j.organisation.name,
                )
            )
    reviews = [
        Opinion(
            name=person(r.reviewer),
            at=r.decided_at,
            text=r.comment,
            role=str(r.get_state_display()),
        )
        for r in doc.reviews.select_related("reviewer")
    ]
    distribution = list(doc.distribution.select_related("organisation"))
    classification = ""
    if doc.classification != Classification.NONE:
        classification = str(doc.get_classification_display())
        if doc.secrecy_period:
            classification += f"★{doc.secrecy_period}"
    return {
        "doc": doc,
        "issuers": [doc.organisation.name, *(j.organisation.name for j in joint)],
        "signers": signers,
        "reviews": reviews,
        "drafter": person(doc.drafted_by),
        "rechecked": Opinion(person(doc.rechecked_by), doc.rechecked_at)
        if doc.rechecked_by_id
        else None,
        "dispatched_by": person(doc.dispatched_by) if doc.dispatched_by_id else "",
        "classification": classification,
        "main_recipients": "、".join(
            d.organisation.name for d in distribution if d.role == RecipientRole.MAIN
        ),
        "copies": "，".join(
            d.organisation.name for d in distribution if d.role == RecipientRole.COPY
        ),
        "distribution": (
            [(c.row, c.label) for c in distribution_states(doc)] if doc.dispatched_at else []
        ),
        "attachments": [a.name for a in doc.attachments.all()],
        "events": events,
    }


def incoming_form_context(doc: IncomingDocument) -> dict[str, Any]:
    """What the 收文处理单 shows (5 queries beyond the document and its people)."""
    events = list(doc.events.all())
    proposed = _last_event(events, EventKind.PROPOSED)
    answered = _last_event(events, EventKind.ANSWERED)
    circulation = list(doc.circulation.select_related("reader"))
    return {
        "doc": doc,
        "signed_for": Opinion(person(doc.signed_for_by), doc.signed_for_at)
        if doc.signed_for_by_id
        else None,
        "proposal": Opinion(
            person(doc.proposed_by), proposed.created_at if proposed else None, doc.proposal
        )
        if doc.proposal
        else None,
        "instruction": Opinion(person(doc.instructed_by), doc.instructed_at, doc.instruction)
        if doc.instruction
        else None,
        "assignments": list(doc.assignments.select_related("unit", "done_by")),
        "circulation": circulation,
        "read_count": sum(1 for c in circulation if c.read_at is not None),
        "replies": [r.number or r.title for r in doc.replies.all()],
        "answered_at": answered.created_at if answered else None,
        "events": events,
    }


def _refusing_fetcher() -> Any:
    """A WeasyPrint URL fetcher that fetches nothing (the form needs no external resource)."""
    from weasyprint.urls import URLFetcher

    class RefusingFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> NoReturn:
            raise ValueError(f"The processing form fetches nothing: {url[:200]}")

    return RefusingFetcher(allowed_protocols=(), fail_on_errors=False)


# The style of both forms; `{fangsong}` etc. are the font stacks of the document font map.
FORM_CSS = """
@page {{
  size: A4;
  margin: 20mm 18mm 20mm 22mm;
  @bottom-center {{ content: {page_counter}; font-family: {songti}; font-size: 9pt; }}
}}
html {{ font-family: {fangsong}; font-size: 12pt; line-height: 1.45; color: #000; }}
h1 {{ font-family: {xiaobiaosong}; font-size: 20pt; font-weight: bold; color: #c00;
      text-align: center; letter-spacing: 0.08em; margin: 0 0 3mm; }}
.meta {{ display: flex; justify-content: space-between; font-size: 10.5pt; margin: 0 0 1.5mm; }}
table.form {{ width: 100%; border-collapse: collapse; table-layout: fixed;
              border: 1.2pt solid #c00; }}
table.form th, table.form td {{ border: 0.6pt solid #c00; padding: 1.5mm 2mm;
                                vertical-align: top; }}
table.form th {{ font-family: {heiti}; font-weight: normal; color: #c00; text-align: center;
                 vertical-align: middle; }}
table.form td.title {{ font-family: {xiaobiaosong}; font-size: 14pt; }}
table.form td.tall {{ height: 28mm; }}
table.form td.medium {{ height: 16mm; }}
table.form tr {{ break-inside: avoid; }}
.opinion {{ margin: 0 0 2mm; }}
.opinion .text {{ margin: 0; white-space: pre-wrap; }}
.opinion .sig {{ margin: 1mm 0 0; text-align: right; font-family: {kaiti}; }}
.muted {{ color: #555; font-size: 10pt; }}
ul.plain {{ list-style: none; margin: 0; padding: 0; }}
ul.plain li {{ margin: 0 0 1mm; }}
h2 {{ font-family: {heiti}; font-size: 13pt; font-weight: normal; margin: 6mm 0 2mm;
      break-after: avoid; }}
table.list {{ width: 100%; border-collapse: collapse; table-layout: fixed; font-size: 10pt; }}
table.list thead {{ display: table-header-group; }}
table.list th, table.list td {{ border: 0.5pt solid #000; padding: 1mm 1.5mm;
                                vertical-align: top; }}
table.list th {{ font-family: {heiti}; font-weight: normal; background: #eee; }}
table.list tr {{ break-inside: avoid; }}
.footer {{ margin-top: 4mm; font-size: 9pt; color: #555; }}
"""


def form_css() -> str:
    from egov.documents.layout.fonts import resolved_fonts

    stacks, _chosen = resolved_fonts()
    return FORM_CSS.format(page_counter=_page_counter(), **stacks)


def _css_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return '"' + escaped.replace("<", "\\3c ") + '"'


def _page_counter() -> str:
    """`content:` of the page number, from the translated "Page %(page)s of %(pages)s"."""
    marker = "\x00"
    text = _("Page %(page)s of %(pages)s") % {"page": marker + "p", "pages": marker + "n"}
    out = []
    for i, part in enumerate(text.split(marker)):
        if i and part[:1] in ("p", "n"):
            out.append("counter(page)" if part[0] == "p" else "counter(pages)")
            part = part[1:]
        if part:
            out.append(_css_string(part))
    return " ".join(out)


def render_form_pdf(template: str, context: dict[str, Any], *, printed_by: str = "") -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        template,
        {
            **context,
            "css": form_css(),
            "printed_at": timezone.localtime(),
            "printed_by": printed_by,
        },
    )
    document = HTML(string=html, base_url="about:blank", url_fetcher=_refusing_fetcher())
    return cast(bytes, document.write_pdf())


def outgoing_form_pdf(doc: OutgoingDocument, *, printed_by: str = "") -> bytes:
    """The 发文稿纸 of an outgoing document as an A4 PDF."""
    return render_form_pdf(OUTGOING_TEMPLATE, outgoing_form_context(doc), printed_by=printed_by)


def incoming_form_pdf(doc: IncomingDocument, *, printed_by: str = "") -> bytes:
    """The 收文处理单 of an incoming document as an A4 PDF."""
    return render_form_pdf(INCOMING_TEMPLATE, incoming_form_context(doc), printed_by=printed_by)
