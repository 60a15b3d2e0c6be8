"""The body HTML whitelist: what a drafter writes keeps its structure, nothing active survives."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egov.documents.sanitize import ALLOWED_TAGS, sanitize_body

# A tag of the output: a whitelisted name and at most a numeric colspan/rowspan.
TAG = re.compile(
    r"</?(?P<name>[a-z0-9]+)(?: (?:colspan|rowspan)=\"[0-9]{1,2}\")*>",
)


def test_the_gbt9704_structure_is_kept() -> None:
    html = (
        "<h2>一、总体要求</h2><h3>（一）工作目标</h3><h4>1.基本原则</h4>"
        "<p>正文<strong>加粗</strong><em>强调</em><u>下划线</u><br>换行</p>"
        "<ol><li>一</li></ol><ul><li>二</li></ul>"
        "<table><thead><tr><th>表头</th></tr></thead><tbody><tr><td>单元格</td></tr></tbody></table>"
    )
    assert sanitize_body(html) == html


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ('<p onclick="alert(1)">正文</p>', "<p>正文</p>"),
        ("<p>正文<script>alert(1)</script></p>", "<p>正文</p>"),
        ("<ScRiPt>alert(1)</sCrIpT>正文", "正文"),
        ("<style>p { color: red }</style>正文", "正文"),
        ('<img src="x" onerror="alert(1)">正文', "正文"),
        ('<a href="javascript:alert(1)">链接</a>', "链接"),
        ('<iframe src="javascript:alert(1)">框</iframe>正文', "正文"),
        ('<svg onload="alert(1)"><script>alert(2)</script></svg>正文', "正文"),
        ("<object data=x>内容</object><embed src=x>正文", "正文"),
        ('<p style="background: url(http://127.0.0.1/)">正文</p>', "<p>正文</p>"),
        ('<p class="x" id="y" title="z">正文</p>', "<p>正文</p>"),
        ("<!-- 注释 -->正文", "正文"),
        ("<h1>标题</h1><div>段</div><span>字</span>", "标题段字"),
        ("<p>1 < 2 & 3 > 2</p>", "<p>1 &lt; 2 &amp; 3 &gt; 2</p>"),
        ("<p>&lt;script&gt;</p>", "<p>&lt;script&gt;</p>"),
        ("<p><b>粗</b><i>斜</i></p>", "<p>粗斜</p>"),
        ("<p>未闭合<strong>加粗", "<p>未闭合<strong>加粗</strong></p>"),
        ("<template><p>隐藏</p></template>正文", "正文"),
        ("<textarea><script>x</script></textarea>正文", "正文"),
        ("", ""),
    ],
)
def test_everything_else_goes(dirty: str, clean: str) -> None:
    assert sanitize_body(dirty) == clean


def test_table_cells_keep_small_numeric_spans_only() -> None:
    assert sanitize_body('<table><tr><td colspan="2" rowspan="3">a</td></tr></table>') == (
        '<table><tbody><tr><td colspan="2" rowspan="3">a</td></tr></tbody></table>'
    )
    for bad in ('colspan="0"', 'colspan="21"', 'colspan="2 onclick=x"', 'rowspan="-1"'):
        cleaned = sanitize_body(f"<table><tr><th {bad}>a</th></tr></table>")
        assert cleaned == "<table><tbody><tr><th>a</th></tr></tbody></table>", bad


FRAGMENTS = [
    "<p>",
    "</p>",
    "<h2>",
    "<script>",
    "</script>",
    "<style>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">',
    "<svg onload=alert(1)>",
    "<iframe>",
    "<td colspan=2 onclick=x>",
    "<table>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<",
    ">",
    '"',
    "'",
    "&",
    "&lt;",
    "=",
    " onclick=",
    "javascript:",
    "正文",
    "一、",
    "\n",
    "<p style=x>",
    "</",
    "<math>",
    "<noscript>",
    "<textarea>",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join))
def test_the_result_is_inert_and_stable(html: str) -> None:
    cleaned = sanitize_body(html)
    for i, part in enumerate(re.split(r"(<[^>]*>)", cleaned)):
        if i % 2:  # a tag
            match = TAG.fullmatch(part)
            assert match is not None and match["name"] in ALLOWED_TAGS, part
        else:  # text: every markup character escaped
            assert "<" not in part and ">" not in part, part
    assert sanitize_body(cleaned) == cleaned
