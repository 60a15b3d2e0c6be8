"""The GB/T 9704-2012 page geometry, in millimetres and points, and the CSS lengths made of it.

Lengths the style sheet needs are computed here once, so the template holds no arithmetic and
the tests check the PDF against the same numbers.
"""

from __future__ import annotations

MM = 72 / 25.4  # PDF points per millimetre
PT_PER_PX = 0.75  # PDF points per CSS px (1/96 in → 1/72 in)

PAGE_WIDTH_MM = 210.0  # A4
PAGE_HEIGHT_MM = 297.0
TOP_MM = 37.0  # 天头 (5.2.1)
BINDING_MM = 28.0  # 订口: left on odd pages, right on even pages
AREA_WIDTH_MM = 156.0  # 版心
AREA_HEIGHT_MM = 225.0
OUTER_MM = PAGE_WIDTH_MM - BINDING_MM - AREA_WIDTH_MM  # 26
BOTTOM_MM = PAGE_HEIGHT_MM - TOP_MM - AREA_HEIGHT_MM  # 35

LINES_PER_PAGE = 22
CHARS_PER_LINE = 28

BODY_PT = 16.0  # 3号
TITLE_PT = 22.0  # 2号
SMALL_PT = 14.0  # 4号 (page numbers, 版记)
MARK_MAX_PT = 42.0  # 初号: the mark is never larger; a long one shrinks to fit the 156 mm

# The line pitch and the character advance are a hair under 225/22 mm and 156/28 mm so that
# 22 lines and 28 characters still fit after the layout engine's rounding.
LINE_PT = AREA_HEIGHT_MM * MM / LINES_PER_PAGE - 0.001
CHAR_PT = AREA_WIDTH_MM * MM / CHARS_PER_LINE - 0.01
LETTER_SPACING_PT = CHAR_PT - BODY_PT  # about -0.22 pt

MARK_TOP_MM = {"standard": 35.0, "minutes": 35.0, "order": 20.0}  # below the 版心 top
LETTER_MARK_TOP_MM = 30.0  # below the top edge of the paper (10.1.1)
LETTER_RULE_WIDTH_MM = 170.0
LETTER_BOTTOM_RULE_MM = 20.0  # the second double line, above the bottom edge of the paper
SEPARATOR_GAP_MM = 4.0  # 发文字号 → red separator (7.2.6); mark → letter double line (10.1.2)
PAGE_NUMBER_GAP_MM = 7.0  # 版心 bottom → the dashes of the page number (7.5)
LETTER_RULE_THICK_PT = 1.5  # the letter's red double lines: a thick and a thin line 1 pt apart
LETTER_RULE_THIN_PT = 0.5
LETTER_RULE_GAP_PT = 1.0
SEPARATOR_PT = 1.0  # the red separator line
IMPRINT_THICK_MM = 0.35  # 版记 first and last rule
IMPRINT_THIN_MM = 0.25  # 版记 rules between
RED = "#d00000"

# Vertical metrics of the default faces (Noto CJK: hhea ascender 1.16 em, descender 0.288 em;
# ideographic em box from 0.88 em above to 0.12 em below the baseline). Used to place the
# baseline of a line box; another face shifts text by a fraction of a point.
ASCENT_EM = 1.16
DESCENT_EM = 0.288
IDEO_TOP_EM = 0.88
IDEO_BOTTOM_EM = 0.12


def baseline_in_line(font_pt: float, line_pt: float) -> float:
    """Distance from the top of a line box to the baseline of its text."""
    half_leading = (line_pt - (ASCENT_EM + DESCENT_EM) * font_pt) / 2
    return half_leading + ASCENT_EM * font_pt


def mark_shift(font_pt: float, line_pt: float) -> float:
    """How far the ideographic top of a line's text lies below the top of its line box."""
    return baseline_in_line(font_pt, line_pt) - IDEO_TOP_EM * font_pt


def mark_overhang(font_pt: float, line_pt: float) -> float:
    """How far the ideographic bottom of a line's text lies below the bottom of its line box."""
    return baseline_in_line(font_pt, line_pt) + IDEO_BOTTOM_EM * font_pt - line_pt


def em_width(text: str) -> float:
    """Width of a text in em, counting ASCII as half-width and everything else as full."""
    return sum(0.5 if ord(c) < 0x80 else 1.0 for c in text)


def pt(value: float) -> str:
    return f"{value:.4f}pt"


def css_lengths(variant: str) -> dict[str, str]:
    """The lengths the style sheet uses, as CSS strings."""
    line = LINE_PT
    number_baseline = baseline_in_line(BODY_PT, line)
    # Page number: the em box's middle (where the dashes are) 7 mm below the 版心.
    pn_line = SMALL_PT
    pn_middle = baseline_in_line(SMALL_PT, pn_line) - (IDEO_TOP_EM - IDEO_BOTTOM_EM) / 2 * SMALL_PT
    # Letter: 7/8 of a 3号 character's height between the double line and the first text line.
    letter_gap = BODY_PT * 7 / 8 - (baseline_in_line(BODY_PT, line) - IDEO_TOP_EM * BODY_PT)
    letter_rule = LETTER_RULE_THICK_PT + LETTER_RULE_GAP_PT + LETTER_RULE_THIN_PT
    # From the ideographic bottom of a text line to the bottom of its line box.
    below_text = line - baseline_in_line(BODY_PT, line) - IDEO_BOTTOM_EM * BODY_PT
    return {
        "top": pt(TOP_MM * MM),
        "bottom": pt(BOTTOM_MM * MM),
        "binding": pt(BINDING_MM * MM),
        "outer": pt(OUTER_MM * MM),
        "line": pt(line),
        "two_lines": pt(2 * line),
        "four_lines": pt(4 * line),
        "body_size": pt(BODY_PT),
        "title_size": pt(TITLE_PT),
        "small_size": pt(SMALL_PT),
        "letter_spacing": pt(LETTER_SPACING_PT),
        "char": pt(CHAR_PT),
        "two_chars": pt(2 * CHAR_PT),
        "three_chars": pt(3 * CHAR_PT),
        "four_chars": pt(4 * CHAR_PT),
        "small_char": pt(SMALL_PT),
        "mark_top": pt(MARK_TOP_MM.get(variant, 35.0) * MM),
        # The rule's top edge 4 mm below the number's baseline.
        "separator_gap": pt(max(0.0, SEPARATOR_GAP_MM * MM - (line - number_baseline))),
        "pn_padding": pt(PAGE_NUMBER_GAP_MM * MM - pn_middle),
        "pn_line": pt(pn_line),
        "letter_top": pt(LETTER_MARK_TOP_MM * MM),
        # The first page of a letter ends 7/8 of a character above the second double line.
        "letter_bottom": pt(
            LETTER_BOTTOM_RULE_MM * MM + letter_rule + BODY_PT * 7 / 8 - below_text
        ),
        "letter_rule_gap": pt(SEPARATOR_GAP_MM * MM),
        "letter_text_gap": pt(max(0.0, letter_gap)),
        "letter_rule_offset": pt((LETTER_RULE_WIDTH_MM - AREA_WIDTH_MM) / 2 * MM),
        "letter_rule_width": pt(LETTER_RULE_WIDTH_MM * MM),
        # From the top of the first page's page area to the second double line, whose lower
        # edge is 20 mm above the bottom of the paper.
        "letter_bottom_rule_top": pt(
            (PAGE_HEIGHT_MM - LETTER_MARK_TOP_MM - LETTER_BOTTOM_RULE_MM) * MM - letter_rule
        ),
        "letter_rule_thick": pt(LETTER_RULE_THICK_PT),
        "letter_rule_thin": pt(LETTER_RULE_THIN_PT),
        "letter_rule_inner": pt(LETTER_RULE_GAP_PT),
        "separator": pt(SEPARATOR_PT),
        "imprint_thick": pt(IMPRINT_THICK_MM * MM),
        "imprint_thin": pt(IMPRINT_THIN_MM * MM),
        "red": RED,
    }
