"""GB/T 9704-2012 layout of official documents (公文) as PDF, with WeasyPrint.

`render_pdf(data, out)` lays out one document's elements (`LayoutInput`) on A4 and writes the
PDF to `out`; it returns the page count and one `SealSpot` per 发文机关署名, measured on the
laid-out pages, where the lead (do_seal) places each agency's electronic seal.

Page (GB/T 9704 chapter 5). A4; 天头 (top margin) 37 mm; 订口 (binding margin) 28 mm, on the
left of odd pages and the right of even ones (@page :right / :left mirror the margins); 版心
(type area) 156 × 225 mm. The body is 3号 (16 pt) 仿宋 on a grid of 22 lines × 28 characters:
the line height is 225 mm / 22 (28.99 pt) and the letter spacing about −0.22 pt, so that 28
full-width characters fill 156 mm; paragraphs are indented by two characters and orphans and
widows are 1, so every full page holds exactly 22 lines.

Variants (`LayoutInput.variant`):

- "standard" (文件格式, 7): 份号, 密级和保密期限 and 紧急程度 stacked at the top left in 黑体;
  the red 发文机关标志 in 小标宋, centred, its top 35 mm below the 版心 top; the 发文字号 two
  blank lines below it, centred; with 签发人 (上行文) the number moves left (one character in)
  and "签发人：" with the names in 楷体 (two a row) stands right, one character in; the red
  separator the width of the 版心, 4 mm below the number's baseline. A joint issue (several
  `agency_marks`) stacks the agency names, lead first, spaced to one width, with "文件" right
  of them, centred on them (`mark_suffix` says which word; see LayoutInput).
- "letter" (信函格式, 10.1): the lead agency's mark 30 mm below the top of the paper, a red
  double line (thick over thin) 4 mm below it and another (thin over thick) 20 mm above the
  bottom of the paper, both 170 mm long; 份号/密级/紧急程度 left and the number right, 7/8 of a
  character below the line; no page number on the first page; the 版记 has only 抄送, no rules.
- "order" (命令(令)格式, 10.2): the mark ("…令") 20 mm below the 版心 top, the 令号 (`number`)
  two lines below it, no separator, the text two lines below the 令号.
- "minutes" (纪要格式, 10.3): the "…纪要" mark as in the standard variant; after the text,
  出席/请假/列席 (labels in 黑体, names in 仿宋, run-on lines aligned after the colon).

Body (`body_html`, whitelisted again by `sanitize_body`): <p> paragraphs; headings carry their
own numbers as typed — <h2> 一、 in 黑体, <h3> （一） in 楷体, <h4> 1. / （1） in 仿宋, all 3号 on
the line grid and indented two characters like a paragraph; <strong> bold, <em> 楷体 (no
oblique Chinese), <u> underlined; lists and tables (4号, ruled) as written.

Closing elements: the title (2号 小标宋) two lines below the separator, centred; 主送机关 one
line below it, flush left, with "："; 附件说明 one line below the text, two characters in,
numbered when there are several, run-on lines aligned on the name; 发文机关署名 and 成文日期
two lines below (7.3.5.1): the date four characters from the right, the agency centred over
it; a joint issue sets the agencies side by side (at most three a row, rows centred) with the
date below. The block is kept with the text before it. 附注 on the next line, two characters
in. The 版记 (抄送, 印发机关 and 印发日期 in 4号 仿宋, rules 0.35/0.25/0.35 mm) sits at the foot
of the last page, its last rule on the bottom edge of the 版心: it is a CSS footnote, so it
moves to a page of its own when the last page is full. Page numbers "— N —" in 4号 宋体, their
dashes 7 mm below the 版心, odd pages right and even pages left, one character in.

Seal spots: after layout, the boxes of the signatory lines (ids sig-N) are read from WeasyPrint's
page boxes; each seal (`seal_size_mm`, 42 mm) is centred horizontally on its signatory and
vertically 0.3 line below the top of the signatory line, so the signatory and the date lie in
the lower middle of the seal and its top stays within a line of the text above. CSS px (1/96 in,
from the top left) become PDF points (1/72 in, from the bottom left).

Fonts come from the font map (fonts.py, setting EGOV_DOCUMENT_FONTS); nothing is fetched: the
URL fetcher refuses every URL. The labels printed on the page (附件, 抄送, 签发人, 出席 …) are
fixed by the standard and stay Chinese whatever the interface language.

Measured on the PDF (Noto faces; tests/test_layout.py checks these): 22 lines × 28 characters
on every full page, line pitch 10.227 mm, 28 characters span 155.9 mm; text edges at 28.0 mm
(odd) and 26.0 mm (even); mark top 34.95 mm below the 版心 top (30.0 mm from the paper in a
letter); separator 4.02 mm below the number's baseline, 156 mm long; page-number dashes 6.98 mm
below the 版心, 4.94 mm (one 4号 character) in; 版记 last rule on 262.0 mm; seal top 4.5 mm
below the text above it, signatory 2.3 mm and date 12.6 mm below the seal's centre.

Known deviations from GB/T 9704-2012:

- Faces: free substitutes unless the office installs the named ones (Noto Serif CJK SC stands
  in for 仿宋 and 小标宋, Noto Sans CJK SC for 黑体, AR PL UKai for 楷体). Vertical placement
  assumes Noto's metrics (ascent 1.16 em, descent 0.288 em); another face moves text by a
  fraction of a millimetre (AR PL UKai: 0.07 mm).
- Justification: WeasyPrint stretches lines only at spaces, so a line that the line-breaking
  rules end early (no closing punctuation at a line start: 避头尾) stays one or two characters
  short at the right instead of being compressed (标点挤压) or spread.
- The mark is at most 初号 (42 pt), shrunk so its line fits 156 mm; characters are not
  condensed or stretched as printed marks often are.
- Titles break where the line is full unless the drafter writes line breaks (a newline in
  `title`); no automatic 梯形/菱形 arrangement. Title lines use the body's line pitch.
- The 版记 goes to the foot of the last page whether it is odd or even; no blank page is added
  to put it on an even page.
- Orders (命令): the agency's seal over signatory and date as in 7.3.5.1, not the 签名章 layout
  of 7.3.5.3 (the platform seals with the agency's seal certificate). Unsealed documents
  (7.3.5.2) are not laid out differently.
- Joint issue: the date stands four characters from the right under the last row of agencies;
  it is not spread out (拧开) under the seals.
- The letter's first page ends 7/8 of a character above the second double line, so its lines
  are not on the 22-line grid; later pages are.
- Tables in the body use 4号 with a 1.5 line height and leave the line grid.
- When the text ends at the foot of a page, its last line moves over with the signature, so
  that page holds 21 lines (the standard's "adjust the spacing" instead is not attempted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from egov.documents.layout import geometry as g
from egov.documents.layout.fonts import resolved_fonts
from egov.documents.layout.spec import VARIANTS, LayoutInput, RenderResult, SealSpot
from egov.documents.sanitize import sanitize_body

TEMPLATE = "documents/layout/document.html"
MARK_SUFFIXES = ("文件", "命令", "令", "纪要")
JOINT_PER_ROW = 3  # 每排最多排列三个发文机关印章 (7.3.5.1)
# Where the seal's centre sits below the top of the signatory line, in lines.
SEAL_CENTRE_LINES = 0.3


# --- the document --------------------------------------------------------------------------


def render_html(data: LayoutInput) -> str:
    """The HTML (with its style sheet) that WeasyPrint lays out; also handy for a preview."""
    if data.variant not in VARIANTS:
        raise ValueError(f"Unknown layout variant: {data.variant!r}")
    stacks, _chosen = resolved_fonts()
    return render_to_string(TEMPLATE, _context(data, stacks))


def render_pdf(data: LayoutInput, out: BinaryIO) -> RenderResult:
    """Lay the document out and write the PDF to `out` (a binary file object)."""
    from weasyprint import HTML

    html = render_html(data)
    _stacks, chosen = resolved_fonts()
    document = HTML(string=html, url_fetcher=refusing_url_fetcher()).render()
    spots = seal_spots(document, data)
    document.write_pdf(out)
    return RenderResult(pages=len(document.pages), seal_spots=spots, fonts=chosen)


def refusing_url_fetcher() -> Any:
    """A WeasyPrint URL fetcher that fetches nothing: the layout needs no resource, and the
    drafter's text must never make the server reach out (http, https, file, data alike)."""
    from weasyprint.urls import URLFetcher

    class RefusingFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"Refused to fetch {url[:200]}")

    return RefusingFetcher(allowed_protocols=(), fail_on_errors=False)


# --- the template context ------------------------------------------------------------------


@dataclass(frozen=True)
class _MarkLine:
    head: str  # all but the last character, letter-spaced so every name has the same width
    last: str
    spacing: str


def _context(data: LayoutInput, stacks: dict[str, str]) -> dict[str, Any]:
    # Blank names are skipped; the others keep their index into `signatories`.
    signatories = [(i, s.strip()) for i, s in enumerate(data.signatories) if s.strip()]
    single = signatories[0][1] if len(signatories) == 1 else ""
    rows: list[dict[str, Any]] = []
    if len(signatories) > 1:
        per_row = min(JOINT_PER_ROW, len(signatories))
        column = g.AREA_WIDTH_MM * g.MM / max(per_row, 2)
        for start in range(0, len(signatories), per_row):
            chunk = signatories[start : start + per_row]
            rows.append(
                {
                    "width": g.pt(column * len(chunk)),
                    "cells": [{"index": i, "name": name} for i, name in chunk],
                }
            )
    elif single:
        rows.append({"width": "", "cells": [{"index": signatories[0][0], "name": single}]})
    head_lines = [x for x in (data.copy_number, data.classification, data.urgency) if x.strip()]
    signers = [s.strip() for s in data.signers if s.strip()]
    letter = data.variant == "letter"
    copies_to = _copies(data.copies_to)
    printed_line = not letter and bool(data.printer.strip() or data.print_date_text.strip())
    return {
        "data": data,
        "variant": data.variant,
        "l": g.css_lengths(data.variant),
        "f": stacks,
        "mark": _mark(data),
        "head_lines": head_lines,
        "signer_rows": [signers[i : i + 2] for i in range(0, len(signers), 2)],
        "body_html": mark_safe(sanitize_body(data.body_html)),  # noqa: S308  # whitelisted
        "attachments": _attachments(data.attachments),
        "attendance": _attendance(data) if data.variant == "minutes" else [],
        "signatures": rows,
        "single_signature": single,
        "sign_padding": g.pt(_sign_padding(single, data.date_text)),
        "note": _note(data.note),
        "copies_to": copies_to,
        "printed_line": printed_line,
        "print_date": _print_date(data.print_date_text),
        "imprint": bool(copies_to) or printed_line,
    }


def _split_mark(data: LayoutInput) -> tuple[list[str], str]:
    """(agency names, word right of them) — see LayoutInput.mark_suffix."""
    lines = [m.strip() for m in data.agency_marks if m.strip()]
    if data.variant == "letter":
        return lines[:1], ""  # 联合行文时，使用主办机关标志 (10.1.1)
    if len(lines) <= 1:
        return lines, data.mark_suffix or ""
    if data.mark_suffix is not None:
        return lines, data.mark_suffix
    if lines[-1] in MARK_SUFFIXES:
        return lines[:-1], lines[-1]
    for suffix in MARK_SUFFIXES:
        if all(line.endswith(suffix) and len(line) > len(suffix) for line in lines):
            return [line[: -len(suffix)] for line in lines], suffix
    return lines, "文件" if data.variant == "standard" else ""


def _mark(data: LayoutInput) -> dict[str, Any]:
    names, suffix = _split_mark(data)
    area = g.AREA_WIDTH_MM * g.MM
    if len(names) <= 1:
        text = (names[0] if names else "") + suffix
        size = min(g.MARK_MAX_PT, area / max(g.em_width(text), 1.0))
        return {
            "joint": False,
            "text": text,
            "size": g.pt(size),
            "shift": g.pt(-g.mark_shift(size, size)),
            **_below(g.mark_overhang(size, size)),
        }
    widest = max(g.em_width(n) for n in names)
    total = widest + (g.em_width(suffix) + 0.5 if suffix else 0.0)
    size = min(g.MARK_MAX_PT, area / total)
    lines = []
    for name in names:
        gaps = len(name) - 1
        spacing = (widest - g.em_width(name)) * size / gaps if gaps else 0.0
        lines.append(_MarkLine(head=name[:-1], last=name[-1], spacing=g.pt(spacing)))
    return {
        "joint": True,
        "lines": lines,
        "suffix": suffix,
        "size": g.pt(size),
        "shift": g.pt(-g.mark_shift(size, 1.2 * size)),
        **_below(g.mark_overhang(size, 1.2 * size)),
    }


def _below(overhang: float) -> dict[str, str]:
    """Space under the mark so what follows is measured from the bottom of its characters: a
    padding when they reach below the line box (a margin would collapse with the next one's),
    a negative margin when they stop above it."""
    return {
        "pad_below": g.pt(max(0.0, overhang)),
        "margin_below": g.pt(min(0.0, overhang)),
    }


_ATTACHMENT_LABEL = re.compile(r"^\s*附件\s*[：:]\s*")
_ATTACHMENT_NUMBER = re.compile(r"^\s*\d+\s*[.．、]\s*")


def _attachments(names: Any) -> list[tuple[str, str]]:
    """附件说明 entries (number, name); the names carry no label, number or final stop."""
    cleaned = []
    for name in names:
        text = _ATTACHMENT_NUMBER.sub("", _ATTACHMENT_LABEL.sub("", str(name))).strip()
        if text:
            cleaned.append(text.rstrip("。."))
    if len(cleaned) == 1:
        return [("", cleaned[0])]
    return [(f"{i}.", name) for i, name in enumerate(cleaned, start=1)]


def _attendance(data: LayoutInput) -> list[tuple[str, str]]:
    entries = (("出席", data.attendees), ("请假", data.absentees), ("列席", data.observers))
    return [(label, text.strip()) for label, text in entries if text.strip()]


def _sign_padding(signatory: str, date_text: str) -> float:
    """Right padding of a single signature: four characters, more when the agency's name is
    so much longer than the date that, centred over it, it would cross the 版心 edge."""
    four = 4 * g.CHAR_PT
    if not signatory or not date_text:
        return four
    overhang = (g.em_width(signatory) - g.em_width(date_text)) * g.CHAR_PT / 2
    return max(four, overhang)


def _note(note: str) -> str:
    text = note.strip()
    if not text:
        return ""
    if text.startswith(("（", "(")) and text.endswith(("）", ")")):
        return text
    return f"（{text}）"


def _copies(copies: str) -> str:
    text = copies.strip()
    if not text:
        return ""
    return text if text.endswith("。") else text.rstrip("，,；;.") + "。"


def _print_date(text: str) -> str:
    text = text.strip()
    if not text or text.endswith("印发"):
        return text
    return text + "印发"


# --- seal spots ----------------------------------------------------------------------------


def seal_spots(document: Any, data: LayoutInput) -> list[SealSpot]:
    """One spot per signatory, measured on a laid-out WeasyPrint document."""
    from weasyprint.formatting_structure.boxes import BlockContainerBox, LineBox, TextBox

    side = data.seal_size_mm * g.MM
    spots = []
    for page_index, page in enumerate(document.pages):
        page_height = page.height * g.PT_PER_PX
        seen = set()
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            ident = element.get("id", "") if element is not None else ""
            # descendants() walks parents first: the outermost box of the element comes first.
            if not ident.startswith("sig-") or not isinstance(box, BlockContainerBox):
                continue
            if ident in seen:
                continue
            seen.add(ident)
            lines = [
                line
                for line in box.descendants()
                if isinstance(line, LineBox)
                and any(isinstance(t, TextBox) and t.text.strip() for t in line.descendants())
            ]
            texts = [t for line in lines for t in line.descendants() if isinstance(t, TextBox)]
            if not texts:
                continue
            left = min(t.position_x for t in texts) * g.PT_PER_PX
            right = max(t.position_x + t.width for t in texts) * g.PT_PER_PX
            top = min(line.position_y for line in lines) * g.PT_PER_PX
            cx = (left + right) / 2
            cy = page_height - (top + SEAL_CENTRE_LINES * g.LINE_PT)
            spots.append(
                SealSpot(
                    page=page_index,
                    box=(
                        round(cx - side / 2, 2),
                        round(cy - side / 2, 2),
                        round(cx + side / 2, 2),
                        round(cy + side / 2, 2),
                    ),
                    signatory_index=int(ident.removeprefix("sig-")),
                )
            )
    spots.sort(key=lambda s: s.signatory_index)
    return spots
