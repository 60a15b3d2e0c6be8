"""The whitelist for a document's body HTML (正文): what a drafter may write, nothing else.

The body is untrusted input that ends up in the laid-out PDF and in the web pages that show
a draft. `sanitize_body` keeps the structure GB/T 9704 text needs — paragraphs, the three
heading levels (h2 一、, h3 （一）, h4 1.), emphasis, line breaks, lists and simple tables —
and drops every attribute but a small colspan/rowspan on table cells. Other tags are removed
and their text kept; script, style and embedding elements go with their content; comments go;
text is escaped. It is built on nh3 (ammonia), an HTML5 parser, so malformed markup cannot
smuggle a tag through. The result is stable: sanitising it again changes nothing.
"""

from __future__ import annotations

import nh3

ALLOWED_TAGS = frozenset(
    {
        "p",
        "h2",
        "h3",
        "h4",
        "strong",
        "em",
        "u",
        "br",
        "ol",
        "ul",
        "li",
        "table",
        "thead",
        "tbody",
        "tr",
        "td",
        "th",
    }
)
# Removed with everything inside them (the rest keep their text when their tag goes).
DROPPED_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "template",
        "noscript",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "title",
        "head",
        "textarea",
        "select",
        "option",
        "button",
    }
)
MAX_SPAN = 20
_SPANS = {str(n) for n in range(1, MAX_SPAN + 1)}
_CELL_ATTRIBUTES = {"colspan": _SPANS, "rowspan": _SPANS}


def sanitize_body(html: str) -> str:
    """The body HTML reduced to the whitelist (see the module docstring)."""
    result = _clean(html or "")
    # Misnested input (<h2><h2>) can serialise to a tree the parser reads differently; clean
    # again until nothing changes, so what is stored is what is rendered.
    for _attempt in range(3):
        again = _clean(result)
        if again == result:
            break
        result = again
    return result


def _clean(html: str) -> str:
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={"*": set()},  # ammonia allows lang and title everywhere by default
        tag_attribute_values={"td": _CELL_ATTRIBUTES, "th": _CELL_ATTRIBUTES},
        strip_comments=True,
        link_rel=None,
        url_schemes=set(),
    )
