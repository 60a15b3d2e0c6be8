"""What the layout renderer takes and gives back: the GB/T 9704 elements of one document (要素)
and the places where its seals go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

# 文件格式, 信函格式, 命令(令)格式, 纪要格式 (GB/T 9704 chapters 7 and 10).
VARIANTS = ("standard", "letter", "order", "minutes")


@dataclass(frozen=True)
class LayoutInput:
    """The elements of one official document (公文), as the renderer prints them.

    Plain-text fields are escaped; `body_html` is whitelisted again with `sanitize_body`.
    """

    variant: str  # one of VARIANTS
    # 发文机关标志: one line as printed ("河北省人民政府办公厅文件"), or for a joint issue
    # (联合行文) the agency names, lead agency first; see `mark_suffix`.
    agency_marks: list[str]
    number: str  # 发文字号 ("冀政办发〔2026〕3号"); the 令号 for an order; may be "" for minutes
    title: str  # 标题
    main_recipients: str  # 主送机关, without the final "："
    body_html: str  # 正文, see the heading mapping in render.py
    date_text: str  # 成文日期 as printed, see chinese_date()
    signatories: list[str]  # 发文机关署名, one per agency (a seal spot each)
    copy_number: str = ""  # 份号
    classification: str = ""  # 密级和保密期限 ("秘密★1年")
    urgency: str = ""  # 紧急程度 (特急 / 加急)
    signers: Sequence[str] = ()  # 签发人 names (上行文)
    attachments: Sequence[str] = ()  # 附件说明: attachment names; "附件：" and numbers are added
    note: str = ""  # 附注; parentheses are added when missing
    copies_to: str = ""  # 抄送机关; the final "。" is added when missing
    printer: str = ""  # 印发机关
    print_date_text: str = ""  # 印发日期; "印发" is added when missing
    attendees: str = ""  # 出席 (minutes)
    absentees: str = ""  # 请假 (minutes)
    observers: str = ""  # 列席 (minutes)
    # Joint issue: the word printed right of the stacked agency names, centred on them. None:
    # taken from a last `agency_marks` entry that is only that word ("文件", "令", "纪要"), or
    # from an ending every name shares, else "文件" for the standard variant and "" otherwise.
    mark_suffix: str | None = None
    seal_size_mm: float = 42.0  # side of the square seal spot


@dataclass(frozen=True)
class SealSpot:
    """Where one agency's seal goes: the page (0-based) and the box in PDF points, origin at
    the bottom left of the page (what pyHanko's signature field box takes)."""

    page: int
    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    signatory_index: int


@dataclass(frozen=True)
class RenderResult:
    pages: int
    seal_spots: list[SealSpot]
    # role ("fangsong", "xiaobiaosong", ...) → the installed family used, "" when none of the
    # configured families is installed (the system's fallback face was used).
    fonts: dict[str, str] = field(default_factory=dict)


def chinese_date(d: date) -> str:
    """A date as 成文日期 are written: 2026年1月5日 (Arabic digits, no zero padding)."""
    return f"{d.year}年{d.month}月{d.day}日"
