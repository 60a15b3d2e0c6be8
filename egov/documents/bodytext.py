"""The drafting text box: plain lines in, body HTML with the GB/T 9704 heading levels out.

Clerks type the body as they would on paper; a line numbered 一、 becomes a level-1 heading
(黑体), （一） level 2 (楷体), 1. level 3 and （1） stays in the paragraph face. Blank lines and
line breaks separate paragraphs. Everything is escaped: the text is never HTML.
"""

from __future__ import annotations

import re

from django.utils.html import escape

_LEVELS = [
    (re.compile(r"^[一二三四五六七八九十百]+、"), "h2"),
    (re.compile(r"^（[一二三四五六七八九十百]+）"), "h3"),
    (re.compile(r"^\d+[.．]"), "h4"),
]


def text_to_body_html(text: str) -> str:
    parts = []
    for raw in (text or "").replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            continue
        tag = next((t for rx, t in _LEVELS if rx.match(line)), "p")
        # A numbered heading followed by its text on the same line stays one paragraph-level block
        # when it is long (GB/T 9704 runs the text on after the heading).
        if tag != "p" and len(line) > 40:
            tag = "p"
        parts.append(f"<{tag}>{escape(line)}</{tag}>")
    return "".join(parts)


def body_html_to_text(html: str) -> str:
    """Back to lines for editing (headings and paragraphs one per line)."""
    text = re.sub(r"</(p|h2|h3|h4|li)>", "\n", html or "")
    text = re.sub(r"<br\s*/?>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    from html import unescape

    return "\n".join(line.strip() for line in unescape(text).splitlines() if line.strip())
