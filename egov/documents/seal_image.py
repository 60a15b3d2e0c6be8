"""The visible electronic seal (电子印章): a red ring, a five-pointed star in the middle and the
organisation's name along the upper arc, optionally a caption under the star.

Drawn as PDF vector operators only. The characters are filled glyph outlines taken from a
local CJK font with fontTools, so the seal needs no embedded font and no image file, and it
looks the same in every reader. The font is `EGOV_SEAL_FONT` (a .ttf/.otf/.ttc path; in a
collection the Simplified Chinese face is chosen), by default Noto Serif CJK SC Bold from
Debian's fonts-noto-cjk (a free substitute for the 宋体 of physical seals).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTCollection, TTFont

SEAL_RED = (0.86, 0.08, 0.08)
DEFAULT_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
# Proportions of the seal radius R, close to the GB/T rules for official seals (a 42 mm seal has
# a ring of about 1.2 mm, a star of about 14 mm across, characters about 8 mm high).
_RING = 0.055
_TEXT_GAP = 0.05
_TEXT_EM = 0.30
_MAX_ARC = math.radians(250)  # the name never runs further round than this
_MIN_X_SCALE = 0.55  # below this the characters shrink instead of narrowing further
_STAR = 0.32
_CAPTION_EM = 0.17
_lock = threading.Lock()


def _num(value: float, places: int = 2) -> str:
    """A compact PDF number (`places` decimals at most, no trailing zeros)."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class _PdfPathPen(BasePen):
    """Collects a glyph outline as PDF path operators in font units (quadratics made cubic)."""

    def __init__(self, glyph_set: Any) -> None:
        super().__init__(glyph_set)
        self.ops: list[str] = []

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(f"{_num(pt[0])} {_num(pt[1])} m")

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(f"{_num(pt[0])} {_num(pt[1])} l")

    def _curveToOne(
        self, p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float]
    ) -> None:
        self.ops.append(" ".join(_num(v) for v in (*p1, *p2, *p3)) + " c")

    def _closePath(self) -> None:
        self.ops.append("h")


@dataclass(frozen=True)
class Glyph:
    path: str  # PDF path operators in font units, empty for a space or a missing character
    advance: float  # font units


class GlyphSource:
    """Outlines of one font face, read lazily and cached (fontTools objects are not
    thread-safe, hence the lock)."""

    def __init__(self, path: str) -> None:
        font: TTFont
        if path.lower().endswith((".ttc", ".otc")):
            faces = TTCollection(path, lazy=True).fonts
            font = next((f for f in faces if _family(f).endswith(" SC")), faces[0])
        else:
            font = TTFont(path, lazy=True)
        self.path = path
        self.units_per_em = float(font["head"].unitsPerEm)
        os2 = font["OS/2"]
        # The em box of a CJK face runs from the typographic descender to the ascender.
        self.em_bottom = float(os2.sTypoDescender)
        self.em_top = float(os2.sTypoAscender)
        self._cmap = font.getBestCmap()
        self._glyphs = font.getGlyphSet()
        self._cache: dict[str, Glyph] = {}

    def glyph(self, char: str) -> Glyph:
        cached = self._cache.get(char)
        if cached is not None:
            return cached
        with _lock:
            name = self._cmap.get(ord(char))
            if name is None:
                glyph = Glyph("", self.units_per_em)
            else:
                source = self._glyphs[name]
                pen = _PdfPathPen(self._glyphs)
                source.draw(pen)
                glyph = Glyph(" ".join(pen.ops), float(source.width))
            self._cache[char] = glyph
        return glyph

    def missing(self, text: str) -> list[str]:
        return [c for c in text if not c.isspace() and ord(c) not in self._cmap]


def _family(font: TTFont) -> str:
    return str(font["name"].getDebugName(1) or "")


def font_path() -> str:
    configured = str(getattr(settings, "EGOV_SEAL_FONT", "") or "")
    candidates = [configured] if configured else list(DEFAULT_FONTS)
    for candidate in candidates:
        if Path(candidate).is_file():
            return candidate
    raise ImproperlyConfigured(
        "No CJK font for the visible seal: install fonts-noto-cjk or set EGOV_SEAL_FONT to a "
        f".ttf/.otf/.ttc file (looked for {', '.join(candidates)})."
    )


@lru_cache(maxsize=4)
def _glyph_source(path: str) -> GlyphSource:
    return GlyphSource(path)


def glyph_source() -> GlyphSource:
    return _glyph_source(font_path())


def _glyph_ops(
    font: GlyphSource,
    char: str,
    *,
    centre: tuple[float, float],
    up: tuple[float, float],
    em: float,
    x_scale: float,
) -> str:
    """One character with its em box centred on `centre`, its top pointing along `up`."""
    glyph = font.glyph(char)
    if not glyph.path:
        return ""
    k = em / font.units_per_em
    ux, uy = up
    tx, ty = uy, -ux  # the reading direction: `up` turned a quarter clockwise
    a, b = k * x_scale * tx, k * x_scale * ty
    c, d = k * ux, k * uy
    gx, gy = glyph.advance / 2, (font.em_top + font.em_bottom) / 2
    e = centre[0] - (a * gx + c * gy)
    f = centre[1] - (b * gx + d * gy)
    matrix = " ".join(_num(v, 6) for v in (a, b, c, d))
    return f"q {matrix} {_num(e)} {_num(f)} cm {glyph.path} f Q"


def _circle(cx: float, cy: float, r: float) -> str:
    k = 0.5523 * r  # the usual four-Bézier approximation of a circle
    return (
        f"{_num(cx + r)} {_num(cy)} m "
        f"{_num(cx + r)} {_num(cy + k)} {_num(cx + k)} {_num(cy + r)} {_num(cx)} {_num(cy + r)} c "
        f"{_num(cx - k)} {_num(cy + r)} {_num(cx - r)} {_num(cy + k)} {_num(cx - r)} {_num(cy)} c "
        f"{_num(cx - r)} {_num(cy - k)} {_num(cx - k)} {_num(cy - r)} {_num(cx)} {_num(cy - r)} c "
        f"{_num(cx + k)} {_num(cy - r)} {_num(cx + r)} {_num(cy - k)} {_num(cx + r)} {_num(cy)} c h"
    )


def _star(cx: float, cy: float, r: float) -> str:
    inner = r * math.sin(math.radians(18)) / math.sin(math.radians(54))
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else inner
        angle = math.radians(90 + 36 * i)
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    head, *rest = points
    ops = [f"{_num(head[0])} {_num(head[1])} m"]
    ops += [f"{_num(x)} {_num(y)} l" for x, y in rest]
    return " ".join(ops) + " h f"


def draw_seal(
    name: str,
    width: float,
    height: float,
    *,
    caption: str = "",
    colour: Sequence[float] = SEAL_RED,
    font: GlyphSource | None = None,
) -> str:
    """PDF operators drawing the seal centred in a `width` × `height` box (origin bottom-left).

    The caller sets the graphics state (opacity, blend mode) around it.
    """
    font = font or glyph_source()
    cx, cy = width / 2, height / 2
    big_r = min(width, height) / 2
    ring = big_r * _RING
    r, g, b = (_num(v) for v in colour)
    ops = [f"{r} {g} {b} rg {r} {g} {b} RG", f"{_num(ring)} w"]
    ops.append(_circle(cx, cy, big_r - ring / 2) + " S")

    chars = [c for c in name.strip() if not c.isspace()]
    if chars:
        em = big_r * _TEXT_EM
        x_scale = 1.0
        for _ in range(4):
            # The characters' em boxes sit just inside the ring; `centre_r` is their middle.
            centre_r = big_r - ring - big_r * _TEXT_GAP - em / 2
            needed = len(chars) * em * 1.08 * x_scale / centre_r
            if needed <= _MAX_ARC * 1.001:
                break
            squeeze = _MAX_ARC / needed
            if x_scale * squeeze >= _MIN_X_SCALE:
                x_scale *= squeeze
            else:  # narrow to the limit, then make the characters smaller
                em *= x_scale * squeeze / _MIN_X_SCALE
                x_scale = _MIN_X_SCALE
        centre_r = big_r - ring - big_r * _TEXT_GAP - em / 2
        step = min(em * 1.08 * x_scale / centre_r * 1.12, _MAX_ARC / len(chars))
        # Short names spread out a little (as on a physical seal), long ones fill the arc.
        span = step * len(chars)
        for i, char in enumerate(chars):
            angle = math.pi / 2 + span / 2 - (i + 0.5) * step  # left to right, clockwise
            up = (math.cos(angle), math.sin(angle))
            centre = (cx + centre_r * up[0], cy + centre_r * up[1])
            ops.append(_glyph_ops(font, char, centre=centre, up=up, em=em, x_scale=x_scale))

    star_r = big_r * _STAR
    star_cy = cy
    if caption.strip():
        star_r *= 0.85
        star_cy = cy + big_r * 0.04
        caption_chars = [c for c in caption.strip() if not c.isspace()]
        em = big_r * _CAPTION_EM
        line = em * 1.05 * len(caption_chars)
        x_scale = min(1.0, big_r * 1.1 / line) if line else 1.0
        x = cx - line * x_scale / 2
        y = cy - big_r * 0.52
        for char in caption_chars:
            centre = (x + em * 1.05 * x_scale / 2, y)
            ops.append(_glyph_ops(font, char, centre=centre, up=(0.0, 1.0), em=em, x_scale=x_scale))
            x += em * 1.05 * x_scale
    ops.append(_star(cx, star_cy, star_r))
    return "\n".join(op for op in ops if op)
