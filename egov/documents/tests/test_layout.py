"""The GB/T 9704 layout, checked on the PDF itself: positions read back with pdfplumber.

The numbers here are the standard's (37 mm, 28 mm, 156 × 225 mm, 22 × 28, 35 mm, 4 mm, 7 mm),
not the renderer's constants. Each document is rendered once per module.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pdfplumber
import pytest

from egov.documents.layout import (
    LayoutInput,
    RenderResult,
    chinese_date,
    render_html,
    render_pdf,
)
from egov.documents.layout.fonts import resolved_fonts
from egov.documents.layout.render import refusing_url_fetcher

MM = 72 / 25.4
A4 = (595.28, 841.89)
TOP, BINDING, OUTER = 37.0, 28.0, 26.0
AREA_W, AREA_H = 156.0, 225.0
AREA_BOTTOM = TOP + AREA_H  # 262 mm from the top of the paper
LINE = AREA_H / 22  # mm
CHAR_16 = AREA_W / 28  # mm, one 3号 character on the grid
CHAR_14 = 14 / MM  # mm, one 4号 character
RED = (0.815686, 0.0, 0.0)  # #d00000

# Text without punctuation, so no line-breaking rule shortens a line.
PLAIN = "政务服务标准化规范化便利化水平持续提升全面深化改革优化营商环境"
PROSE = (
    "为进一步加强全省政务服务体系建设，推动政务服务标准化、规范化、便利化，"
    "现就有关事项通知如下。各地各部门要高度重视，认真组织实施，确保各项任务落到实处。"
)


# --- reading the PDF -------------------------------------------------------------------------


@dataclass
class Line:
    """The characters of one font size sharing a baseline; lengths in mm from the top left."""

    baseline: float
    chars: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "".join(c["text"] for c in self.chars)

    @property
    def x0(self) -> float:
        return float(min(c["x0"] for c in self.chars)) / MM

    @property
    def x1(self) -> float:
        return float(max(c["x1"] for c in self.chars)) / MM

    @property
    def size(self) -> float:
        return float(self.chars[0]["size"])

    def em_top(self) -> float:
        """Top of the ideographic em box (0.88 em above the baseline)."""
        return self.baseline - 0.88 * self.size / MM

    def em_middle(self) -> float:
        return self.baseline - 0.38 * self.size / MM

    def fonts(self) -> set[str]:
        return {c["fontname"].split("+", 1)[-1] for c in self.chars}


def baseline_mm(char: dict[str, Any], page_height: float) -> float:
    return float(page_height - char["matrix"][5]) / MM


def lines(page: Any, size: float | None = 16.0, red: bool | None = None) -> list[Line]:
    """The text lines of a page, top to bottom (only `size` chars, only red or black ones)."""
    chars = [
        c
        for c in page.chars
        if c["text"].strip()
        and (size is None or abs(c["size"] - size) < 0.1)
        and (red is None or _is_red(c.get("non_stroking_color")) == red)
    ]
    chars.sort(key=lambda c: (baseline_mm(c, page.height), c["x0"]))
    result: list[Line] = []
    for c in chars:
        y = baseline_mm(c, page.height)
        if result and abs(result[-1].baseline - y) < 0.5:
            result[-1].chars.append(c)
        else:
            result.append(Line(baseline=y, chars=[c]))
    for line in result:
        line.chars.sort(key=lambda c: c["x0"])
    return result


def _is_red(color: Any) -> bool:
    if not isinstance(color, (tuple, list)) or len(color) != 3:
        return False
    return color[0] > 0.6 and color[1] < 0.2 and color[2] < 0.2


def red_rects(page: Any) -> list[dict[str, Any]]:
    return [r for r in page.rects if _is_red(r.get("non_stroking_color"))]


def find_line(page: Any, text: str, size: float | None = None) -> Line:
    found = [line for line in lines(page, size) if text in line.text]
    assert found, f"{text!r} not on the page"
    return found[0]


@dataclass
class Rendered:
    result: RenderResult
    pdf: Any  # pdfplumber.PDF

    def page(self, index: int) -> Any:
        return self.pdf.pages[index]


def render(data: LayoutInput) -> Rendered:
    out = io.BytesIO()
    result = render_pdf(data, out)
    return Rendered(result=result, pdf=pdfplumber.open(io.BytesIO(out.getvalue())))


def document(**overrides: Any) -> LayoutInput:
    fields: dict[str, Any] = {
        "variant": "standard",
        "agency_marks": ["河北省人民政府办公厅文件"],
        "number": "冀政办发〔2026〕3号",
        "title": "河北省人民政府办公厅关于优化政务服务\n提升行政效能的通知",
        "main_recipients": "各市（含定州、辛集市）人民政府，雄安新区管委会，省政府各部门",
        "body_html": f"<p>{PROSE}</p>",
        "date_text": "2026年11月25日",
        "signatories": ["河北省人民政府办公厅"],
        "copies_to": "省委各部门，省人大常委会办公厅，省政协办公厅",
        "printer": "河北省人民政府办公厅",
        "print_date_text": "2026年11月26日",
    }
    fields.update(overrides)
    return LayoutInput(**fields)


def _closing(rendered: Rendered) -> tuple[int, Line, Line]:
    """(page, signatory line, date line) of a single-agency document."""
    spot = rendered.result.seal_spots[0]
    page = rendered.page(spot.page)
    return spot.page, find_line(page, "河北省人民政府办公厅", 16), find_line(page, "2026年11月25日")


def _overlaps(box: Iterable[float], char: dict[str, Any], page_height: float) -> bool:
    x1, y1, x2, y2 = box
    top, bottom = page_height - char["bottom"], page_height - char["top"]
    return char["x0"] < x2 and char["x1"] > x1 and top < y2 and bottom > y1


# --- documents ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_doc() -> Iterable[Rendered]:
    """A standard document of more than 20 pages: one long plain paragraph (full lines on every
    middle page), then prose with headings, a table and a list, attachments and a note."""
    giant = PLAIN * (28 * 22 * 20 // len(PLAIN))
    body = (
        f"<h2>一、总体要求</h2><p>{giant}</p>"
        f"<h2>二、重点任务</h2><h3>（一）优化服务</h3><h4>1.简化流程</h4><p>{PROSE}</p>"
        f"<p><strong>加粗</strong><em>楷体强调</em><u>下划线</u></p>"
        "<table><thead><tr><th>序号</th><th>任务</th></tr></thead>"
        "<tbody><tr><td>1</td><td>优化流程</td></tr></tbody></table>"
        "<ol><li>第一项</li><li>第二项</li></ol>"
        f"<p>{PROSE * 2}</p>"
    )
    rendered = render(
        document(
            body_html=body,
            copy_number="000001",
            classification="秘密★1年",
            urgency="特急",
            attachments=["重点任务分工", "联系人名单"],
            note="此件公开发布",
        )
    )
    yield rendered
    rendered.pdf.close()


@pytest.fixture(scope="module")
def joint_doc() -> Iterable[Rendered]:
    """A joint issue (联合行文) going up (上行文), with 签发人."""
    rendered = render(
        document(
            agency_marks=["河北省人民政府办公厅", "河北省财政厅"],
            signatories=["河北省人民政府办公厅", "河北省财政厅"],
            signers=["张三", "李四"],
            main_recipients="国务院办公厅",
        )
    )
    yield rendered
    rendered.pdf.close()


@pytest.fixture(scope="module")
def letter_doc() -> Iterable[Rendered]:
    rendered = render(
        document(
            variant="letter",
            agency_marks=["河北省人民政府办公厅"],
            number="冀政办函〔2026〕9号",
            title="河北省人民政府办公厅关于商请支持有关工作的函",
            body_html=f"<p>{PROSE * 12}</p>",
        )
    )
    yield rendered
    rendered.pdf.close()


@pytest.fixture(scope="module")
def minutes_doc() -> Iterable[Rendered]:
    rendered = render(
        document(
            variant="minutes",
            agency_marks=["河北省人民政府常务会议纪要"],
            number="第5期",
            title="",
            main_recipients="",
            attendees="张三、李四、王五",
            absentees="赵六（出差）",
            observers="省政府办公厅 钱七",
        )
    )
    yield rendered
    rendered.pdf.close()


@pytest.fixture(scope="module")
def order_doc() -> Iterable[Rendered]:
    rendered = render(
        document(
            variant="order",
            agency_marks=["河北省人民政府令"],
            number="第3号",
            title="",
            main_recipients="",
            signatories=["省长"],
        )
    )
    yield rendered
    rendered.pdf.close()


# --- page and grid ----------------------------------------------------------------------------


def test_a_long_document_renders_on_a4(long_doc: Rendered) -> None:
    assert long_doc.result.pages == len(long_doc.pdf.pages) >= 20
    for page in long_doc.pdf.pages:
        assert page.width == pytest.approx(A4[0], abs=1)
        assert page.height == pytest.approx(A4[1], abs=1)


def test_binding_margin_is_left_on_odd_pages_and_right_on_even_pages(long_doc: Rendered) -> None:
    odd, even = lines(long_doc.page(2)), lines(long_doc.page(1))  # pages 3 and 2
    assert min(line.x0 for line in odd) == pytest.approx(BINDING, abs=1)
    assert max(line.x1 for line in odd) == pytest.approx(BINDING + AREA_W, abs=1)
    assert min(line.x0 for line in even) == pytest.approx(OUTER, abs=1)
    assert max(line.x1 for line in even) == pytest.approx(OUTER + AREA_W, abs=1)


def test_a_continuation_page_starts_at_the_top_margin(long_doc: Rendered) -> None:
    first = lines(long_doc.page(1))[0]
    # The characters stand in the middle of the first line of the grid.
    assert first.em_middle() == pytest.approx(TOP + LINE / 2, abs=1)


def test_a_full_page_holds_22_lines_of_28_characters(long_doc: Rendered) -> None:
    for index in (1, 2, 10, 17):
        page_lines = lines(long_doc.page(index))
        assert len(page_lines) == 22, index
        assert [len(line.text) for line in page_lines] == [28] * 22, index
        pitches = [b.baseline - a.baseline for a, b in itertools.pairwise(page_lines)]
        assert max(pitches) == pytest.approx(LINE, abs=0.1)
        assert min(pitches) == pytest.approx(LINE, abs=0.1)
        # 22 lines fill the 225 mm: the last baseline is within the last line of the grid.
        assert page_lines[-1].em_middle() == pytest.approx(AREA_BOTTOM - LINE / 2, abs=1)


def test_no_line_is_longer_than_28_characters(long_doc: Rendered) -> None:
    for page in long_doc.pdf.pages:
        for line in lines(page):
            assert line.x1 - line.x0 <= AREA_W + 0.5, line.text


# --- 版头 -------------------------------------------------------------------------------------


def test_the_mark_is_red_centred_and_35mm_below_the_type_area_top(long_doc: Rendered) -> None:
    page = long_doc.page(0)
    (mark,) = [line for line in lines(page, size=None, red=True)]
    assert mark.text == "河北省人民政府办公厅文件"
    assert mark.size > 22
    assert mark.em_top() == pytest.approx(TOP + 35, abs=2)
    assert (mark.x0 + mark.x1) / 2 == pytest.approx(BINDING + AREA_W / 2, abs=1)
    assert mark.x1 - mark.x0 <= AREA_W + 0.5


def test_copy_number_classification_and_urgency_stack_at_the_top_left(long_doc: Rendered) -> None:
    page = long_doc.page(0)
    head = lines(page)[:3]
    assert [line.text for line in head] == ["000001", "秘密★1年", "特急"]
    assert all(line.x0 == pytest.approx(BINDING, abs=0.5) for line in head)
    assert head[0].em_middle() == pytest.approx(TOP + LINE / 2, abs=1)


def test_the_red_separator_is_4mm_below_the_number(long_doc: Rendered) -> None:
    page = long_doc.page(0)
    number = find_line(page, "冀政办发〔2026〕3号")
    assert (number.x0 + number.x1) / 2 == pytest.approx(BINDING + AREA_W / 2, abs=1)
    mark = lines(page, size=None, red=True)[0]
    # 发文字号 two blank lines below the mark.
    assert number.em_middle() - (mark.baseline + 0.12 * mark.size / MM) == pytest.approx(
        2.5 * LINE, abs=1
    )
    (rule,) = red_rects(page)
    assert rule["x0"] / MM == pytest.approx(BINDING, abs=0.5)
    assert (rule["x1"] - rule["x0"]) / MM == pytest.approx(AREA_W, abs=0.5)
    assert rule["top"] / MM - number.baseline == pytest.approx(4, abs=1)


def test_the_title_is_centred_two_lines_below_the_separator(long_doc: Rendered) -> None:
    page = long_doc.page(0)
    (rule,) = red_rects(page)
    title = lines(page, size=22)
    assert [line.text for line in title] == [
        "河北省人民政府办公厅关于优化政务服务",
        "提升行政效能的通知",
    ]
    for line in title:
        assert (line.x0 + line.x1) / 2 == pytest.approx(BINDING + AREA_W / 2, abs=1)
    assert title[0].em_middle() - rule["bottom"] / MM == pytest.approx(2.5 * LINE, abs=1.5)
    recipients = lines(page)[4]  # after 份号, 密级, 紧急程度 and the number
    assert recipients.text.startswith("各市（含定州、辛集市）")
    assert recipients.x0 == pytest.approx(BINDING, abs=0.5)
    assert recipients.baseline - title[-1].baseline == pytest.approx(2 * LINE, abs=1)


def test_headings_use_their_faces(long_doc: Rendered) -> None:
    _stacks, chosen = resolved_fonts()
    page = long_doc.page(0)
    heading = find_line(page, "一、总体要求")
    assert heading.fonts() == {chosen["heiti"].replace(" ", "-")}
    assert heading.x0 == pytest.approx(BINDING + 2 * CHAR_16, abs=0.5)  # indented two characters
    for text, role in (("（一）优化服务", "kaiti"), ("1.简化流程", "fangsong")):
        matches = [
            line for p in long_doc.pdf.pages[-3:] for line in lines(p) if line.text.startswith(text)
        ]
        assert matches, text
        assert matches[0].fonts() == {chosen[role].replace(" ", "-")}, text


# --- 页码 ---------------------------------------------------------------------------------------


def test_page_numbers_alternate_sides_7mm_below_the_type_area(long_doc: Rendered) -> None:
    for index in (0, 1, 2):
        page = long_doc.page(index)
        (number,) = lines(page, size=14)
        assert number.text == f"—{index + 1}—"  # "— 2 —": spaces are not drawn
        assert number.em_middle() - AREA_BOTTOM == pytest.approx(7, abs=1)
        if (index + 1) % 2:  # odd: right, one character in
            assert number.x1 == pytest.approx(BINDING + AREA_W - CHAR_14, abs=1)
        else:  # even: left, one character in
            assert number.x0 == pytest.approx(OUTER + CHAR_14, abs=1)
    assert "— 2 —" in long_doc.page(1).extract_text()


# --- 主体 and 版记 ----------------------------------------------------------------------------


def test_the_date_is_four_characters_from_the_right_under_the_signatory(long_doc: Rendered) -> None:
    index, signatory, day = _closing(long_doc)
    right_edge = (OUTER if (index + 1) % 2 == 0 else BINDING) + AREA_W
    assert day.x1 == pytest.approx(right_edge - 4 * CHAR_16, abs=1)
    assert (signatory.x0 + signatory.x1) / 2 == pytest.approx((day.x0 + day.x1) / 2, abs=0.5)
    assert day.baseline - signatory.baseline == pytest.approx(LINE, abs=0.3)
    page = long_doc.page(index)
    attachments = find_line(page, "附件：1.重点任务分工")
    second = find_line(page, "2.联系人名单")
    assert attachments.x0 == pytest.approx(second.x0 - 3 * CHAR_16, abs=0.5)  # names aligned
    note = find_line(page, "（此件公开发布）")
    assert note.baseline - day.baseline == pytest.approx(LINE, abs=0.3)


def test_the_seal_spot_covers_signatory_and_date_in_its_lower_middle(long_doc: Rendered) -> None:
    (spot,) = long_doc.result.seal_spots
    index, signatory, day = _closing(long_doc)
    assert spot.page == index and spot.signatory_index == 0
    x1, y1, x2, y2 = spot.box
    assert (x2 - x1) / MM == pytest.approx(42, abs=0.5)
    assert (y2 - y1) / MM == pytest.approx(42, abs=0.5)
    page = long_doc.page(index)
    assert 0 <= x1 < x2 <= page.width and 0 <= y1 < y2 <= page.height
    assert all(_overlaps(spot.box, c, page.height) for c in day.chars)
    middle = signatory.chars[len(signatory.chars) // 2 - 2 : len(signatory.chars) // 2 + 2]
    assert all(_overlaps(spot.box, c, page.height) for c in middle)
    centre_x, centre_y = (x1 + x2) / 2, page.height - (y1 + y2) / 2  # y from the top
    assert centre_x / MM == pytest.approx((day.x0 + day.x1) / 2, abs=0.5)
    # Both lines below the centre, the seal's top within a line of the text above.
    assert signatory.em_middle() > centre_y / MM
    assert day.em_middle() > signatory.em_middle()
    above = [line for line in lines(page) if line.baseline < signatory.baseline - 1]
    assert (page.height - y2) / MM - above[-1].baseline < LINE


def test_the_imprint_sits_on_the_bottom_of_the_last_page(long_doc: Rendered) -> None:
    page = long_doc.pdf.pages[-1]
    copies = find_line(page, "抄送：", 14)
    assert copies.text == "抄送：省委各部门，省人大常委会办公厅，省政协办公厅。"
    printed = find_line(page, "印发", 14)
    assert printed.text == "河北省人民政府办公厅2026年11月26日印发"
    left = OUTER if len(long_doc.pdf.pages) % 2 == 0 else BINDING
    assert copies.x0 == pytest.approx(left + CHAR_14, abs=0.5)
    assert printed.x1 == pytest.approx(left + AREA_W - CHAR_14, abs=0.5)
    # Borders are drawn as an outer and an inner rectangle: the rules are their differences.
    outer = max((r for r in page.rects if r["width"] / MM > 150), key=lambda r: r["height"])
    inner = min(
        (r for r in page.rects if r["width"] / MM > 150 and r["top"] > outer["top"] + 0.01),
        key=lambda r: r["height"],
    )
    assert outer["bottom"] / MM == pytest.approx(AREA_BOTTOM, abs=0.3)
    assert (inner["top"] - outer["top"]) / MM == pytest.approx(0.35, abs=0.05)
    assert (outer["bottom"] - inner["bottom"]) / MM == pytest.approx(0.35, abs=0.05)
    middle = [ln for ln in page.lines if ln["top"] / MM > copies.baseline]
    assert middle and all(ln["linewidth"] / MM == pytest.approx(0.25, abs=0.05) for ln in middle)
    assert outer["top"] / MM < copies.em_top() < printed.em_top() < AREA_BOTTOM


def test_the_signature_is_kept_with_the_text() -> None:
    """When the text fills the page, its last line goes over with the signature (no page
    holds only the signature: GB/T 9704 forbids "此页无正文")."""
    base = [f"<p>{PLAIN * 8}</p>"]
    first = render(document(body_html="".join(base), copies_to="", printer=""))
    spot = first.result.seal_spots[0]
    page = first.page(spot.page)
    sig = find_line(page, "河北省人民政府办公厅", 16)
    used = [line for line in lines(page) if line.baseline < sig.baseline - 1]
    assert spot.page >= 1 and len(used) < 22  # the signature's page is a continuation page
    first.pdf.close()
    # Fill that page to the last line with one-line paragraphs.
    filled = base + ["<p>短段落。</p>"] * (22 - len(used))
    second = render(document(body_html="".join(filled), copies_to="", printer=""))
    spot = second.result.seal_spots[0]
    page = second.page(spot.page)
    sig = find_line(page, "河北省人民政府办公厅", 16)
    above = [line for line in lines(page) if line.baseline < sig.baseline - 1]
    assert spot.page == first.result.seal_spots[0].page + 1
    assert above and above[-1].text.endswith("短段落。")
    assert len(lines(second.page(spot.page - 1))) == 21
    second.pdf.close()


# --- joint issue, 签发人 -------------------------------------------------------------------------


def test_a_joint_issue_stacks_the_names_with_wenjian_beside_them(joint_doc: Rendered) -> None:
    marks = lines(joint_doc.page(0), size=None, red=True)
    assert [m.text for m in marks] == ["河北省人民政府办公厅", "文件", "河北省财政厅"]
    lead, word, other = marks
    assert lead.x0 == pytest.approx(other.x0, abs=0.3)  # names spaced to one width
    assert lead.x1 == pytest.approx(other.x1, abs=0.3)
    assert word.x0 > lead.x1
    assert word.baseline == pytest.approx((lead.baseline + other.baseline) / 2, abs=0.5)
    assert lead.em_top() == pytest.approx(TOP + 35, abs=2)
    assert max(word.x1, lead.x1) <= BINDING + AREA_W + 0.5


def test_a_joint_issue_has_a_seal_spot_per_agency(joint_doc: Rendered) -> None:
    spots = joint_doc.result.seal_spots
    assert [s.signatory_index for s in spots] == [0, 1]
    assert spots[0].page == spots[1].page
    a, b = spots[0].box, spots[1].box
    assert a[2] < b[0]  # side by side, lead agency left, not touching
    assert a[1] == pytest.approx(b[1])
    page = joint_doc.page(spots[0].page)
    (both,) = [ln for ln in lines(page) if ln.text == "河北省人民政府办公厅河北省财政厅"]
    for spot, name in zip(spots, (both.chars[:10], both.chars[10:]), strict=True):
        x1, _y1, x2, _y2 = spot.box
        centre = (name[0]["x0"] + name[-1]["x1"]) / 2
        assert (x1 + x2) / 2 == pytest.approx(centre, abs=0.5 * MM)
        assert all(_overlaps(spot.box, c, page.height) for c in name[1:-1])
    day = find_line(page, "2026年11月25日")
    assert any(_overlaps(s.box, c, page.height) for s in spots for c in day.chars)


def test_signers_move_the_number_left(joint_doc: Rendered) -> None:
    _stacks, chosen = resolved_fonts()
    page = joint_doc.page(0)
    number = find_line(page, "冀政办发〔2026〕3号")
    assert number.chars[0]["x0"] / MM == pytest.approx(BINDING + CHAR_16, abs=0.5)
    signers = [c for c in number.chars if c["x0"] / MM > 100]
    assert "".join(c["text"] for c in signers) == "签发人：张三李四"
    names = [c for c in signers if c["text"] in "张三李四"]
    assert {c["fontname"].split("+", 1)[-1] for c in names} == {chosen["kaiti"].replace(" ", "-")}
    assert max(c["x1"] for c in signers) / MM <= BINDING + AREA_W - CHAR_16 + 0.5
    (rule,) = red_rects(page)
    assert rule["top"] / MM - number.baseline == pytest.approx(4, abs=1)


# --- variants -----------------------------------------------------------------------------------


def test_the_letter_format(letter_doc: Rendered) -> None:
    assert letter_doc.result.pages >= 2
    first = letter_doc.page(0)
    (mark,) = lines(first, size=None, red=True)
    assert mark.text == "河北省人民政府办公厅"
    assert mark.em_top() == pytest.approx(30, abs=2)  # from the top of the paper
    rules = red_rects(first)
    assert all((r["x1"] - r["x0"]) / MM == pytest.approx(170, abs=0.5) for r in rules)
    assert all(
        (r["x0"] + r["x1"]) / 2 / MM == pytest.approx(BINDING + AREA_W / 2, abs=1) for r in rules
    )
    top_rule = [r for r in rules if r["top"] / MM < 100]
    bottom_rule = [r for r in rules if r["top"] / MM > 200]
    assert top_rule and bottom_rule
    assert min(r["top"] for r in top_rule) / MM - (mark.baseline + 0.12 * mark.size / MM) == (
        pytest.approx(4, abs=1)
    )
    assert max(r["bottom"] for r in bottom_rule) / MM == pytest.approx(297 - 20, abs=0.5)
    number = find_line(first, "冀政办函〔2026〕9号")
    assert number.x1 == pytest.approx(BINDING + AREA_W, abs=0.5)
    assert lines(first, size=14) == []  # no page number on the first page
    (page_number,) = lines(letter_doc.page(1), size=14)
    assert page_number.text == "—2—"
    assert red_rects(letter_doc.page(1)) == []


def test_the_minutes_format(minutes_doc: Rendered) -> None:
    _stacks, chosen = resolved_fonts()
    first = minutes_doc.page(0)
    (mark,) = lines(first, size=None, red=True)
    assert mark.text == "河北省人民政府常务会议纪要"
    assert mark.em_top() == pytest.approx(TOP + 35, abs=2)
    assert len(red_rects(first)) == 1
    all_lines = [line for page in minutes_doc.pdf.pages for line in lines(page)]
    for label, names in (
        ("出席", "张三、李四、王五"),
        ("请假", "赵六（出差）"),
        ("列席", "省政府办公厅"),
    ):
        (line,) = [ln for ln in all_lines if ln.text.startswith(label + "：")]
        assert names in line.text
        assert line.x0 == pytest.approx(BINDING + 2 * CHAR_16, abs=0.5)
        label_fonts = {c["fontname"].split("+", 1)[-1] for c in line.chars[:3]}
        name_fonts = {c["fontname"].split("+", 1)[-1] for c in line.chars[3:]}
        assert label_fonts == {chosen["heiti"].replace(" ", "-")}
        assert name_fonts == {chosen["fangsong"].replace(" ", "-")}


def test_the_order_format(order_doc: Rendered) -> None:
    first = order_doc.page(0)
    (mark,) = lines(first, size=None, red=True)
    assert mark.text == "河北省人民政府令"
    assert mark.em_top() == pytest.approx(TOP + 20, abs=2)
    number = find_line(first, "第3号")
    assert (number.x0 + number.x1) / 2 == pytest.approx(BINDING + AREA_W / 2, abs=1)
    assert red_rects(first) == []  # no separator
    body = find_line(first, PROSE[:10])
    assert body.baseline - number.baseline == pytest.approx(3 * LINE, abs=0.5)
    assert [s.signatory_index for s in order_doc.result.seal_spots] == [0]


# --- safety -------------------------------------------------------------------------------------

XSS = (
    '<p onclick="alert(1)">正文一<script>alert("x")</script></p>'
    '<img src=x onerror=alert(2)><iframe src="javascript:alert(3)">框</iframe>'
    '<a href="javascript:alert(4)">链接文字</a><style>p{color:red}</style>'
    "<p>&lt;script&gt;alert(5)&lt;/script&gt;</p>"
    '<svg onload="alert(6)"><circle/></svg><p style="background:url(http://127.0.0.1:9/x)">正文二</p>'
)


def test_markup_in_the_body_is_never_executable() -> None:
    html = render_html(document(body_html=XSS))
    assert "<script" not in html.lower().replace("&lt;script", "")
    for needle in (
        "onclick",
        "onerror",
        "onload",
        "javascript:",
        "<iframe",
        "<img",
        "<svg",
        "url(",
    ):
        assert needle not in html.split("<body", 1)[1].lower(), needle
    out = io.BytesIO()
    render_pdf(document(body_html=XSS), out)
    raw = out.getvalue()
    for action in (b"/JavaScript", b"/JS", b"/URI", b"/Launch", b"/OpenAction"):
        assert action not in raw
    with pdfplumber.open(io.BytesIO(raw)) as pdf:
        text = "".join(page.extract_text() for page in pdf.pages)
    assert "正文一" in text and "正文二" in text and "链接文字" in text
    assert "alert(1)" not in text and 'alert("x")' not in text and "框" not in text
    assert "<script>alert(5)</script>" in text  # typed text stays text


def test_the_url_fetcher_refuses_everything() -> None:
    fetcher = refusing_url_fetcher()
    for url in ("https://example.org/x.css", "http://127.0.0.1/", "file:///etc/passwd", "data:,x"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


# --- helpers and settings -----------------------------------------------------------------------


def test_chinese_date_has_no_zero_padding() -> None:
    assert chinese_date(date(2026, 1, 5)) == "2026年1月5日"
    assert chinese_date(date(2026, 11, 25)) == "2026年11月25日"


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="variant"):
        render_html(document(variant="poster"))


def test_the_font_map_setting(settings: Any) -> None:
    settings.EGOV_DOCUMENT_FONTS = {
        "fangsong": ["No Such Face", "AR PL UKai CN"],
        "heiti": ['Bad"Name;}'],
    }
    stacks, chosen = resolved_fonts()
    assert chosen["fangsong"] == "AR PL UKai CN"
    assert "No Such Face" not in stacks["fangsong"]
    assert chosen["heiti"] == "Noto Sans CJK SC"  # invalid names: the defaults
    assert chosen["kaiti"] == "AR PL UKai CN"  # roles not given keep their defaults
    rendered = render(document(body_html=f"<p>{PROSE}</p>"))
    body = find_line(rendered.page(0), PROSE[:10])
    assert body.fonts() == {"AR-PL-UKai-CN"}
    assert rendered.result.fonts["fangsong"] == "AR PL UKai CN"
    rendered.pdf.close()


def test_mark_suffix_forms() -> None:
    names_then_word = render_html(
        document(agency_marks=["河北省人民政府办公厅", "河北省财政厅", "文件"])
    )
    names_with_word = render_html(
        document(agency_marks=["河北省人民政府办公厅文件", "河北省财政厅文件"])
    )
    for html in (names_then_word, names_with_word):
        assert html.count('class="mark-suffix">文件<') == 1
        assert "财政厅文件" not in html
    explicit = render_html(document(agency_marks=["甲厅", "乙厅"], mark_suffix=""))
    assert "mark-suffix" not in explicit.split("<body", 1)[1]
    assert re.search(r"letter-spacing: [0-9.]+pt\">甲<", explicit)
