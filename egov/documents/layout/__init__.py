"""GB/T 9704-2012 layout of official documents (公文): see render.py for what it does."""

from egov.documents.layout.render import render_html, render_pdf
from egov.documents.layout.spec import (
    VARIANTS,
    LayoutInput,
    RenderResult,
    SealSpot,
    chinese_date,
)
from egov.documents.sanitize import sanitize_body

__all__ = [
    "VARIANTS",
    "LayoutInput",
    "RenderResult",
    "SealSpot",
    "chinese_date",
    "render_html",
    "render_pdf",
    "sanitize_body",
]
