"""The font map: which installed face stands in for each typeface GB/T 9704 names.

The standard names commercial faces (仿宋, 方正小标宋, 黑体, 楷体) that the repository cannot
ship. Each role maps to a list of family names, the first installed one wins; the defaults end
with the free faces of Debian's fonts-noto-cjk and fonts-arphic-ukai. An office that owns
licences lists its faces first in the Django setting `EGOV_DOCUMENT_FONTS` (a dict role → list
of families; roles not given keep their defaults).

Only the families fontconfig reports as installed go into the style sheet: fontconfig would
otherwise substitute an unknown name by its own choice (DejaVu for "SimSun" on Debian), and
nothing is ever fetched (no @font-face).
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import subprocess

from django.conf import settings

logger = logging.getLogger(__name__)

DEFAULT_FONTS: dict[str, list[str]] = {
    "fangsong": ["FangSong", "FangSong_GB2312", "STFangsong", "Noto Serif CJK SC"],  # 仿宋
    "xiaobiaosong": ["FZXiaoBiaoSong-B05S", "FZXiaoBiaoSong-B05", "Noto Serif CJK SC"],  # 小标宋
    "heiti": ["SimHei", "STHeiti", "Noto Sans CJK SC"],  # 黑体
    "kaiti": ["KaiTi", "KaiTi_GB2312", "STKaiti", "AR PL UKai CN", "Noto Serif CJK SC"],  # 楷体
    "songti": ["SimSun", "STSong", "Noto Serif CJK SC"],  # 宋体 (page numbers)
}
GENERIC = {"heiti": "sans-serif"}  # the last resort of a role; serif for the others

# A family name goes into CSS quoted; anything but letters, digits, CJK, space, - _ . is refused.
_FAMILY_RE = re.compile(r"^[\w .\-]{1,80}$")


@functools.lru_cache(maxsize=1)
def installed_families() -> frozenset[str] | None:
    """The families fontconfig knows (casefolded), or None when fc-list is not available."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603  # a fixed argument list, no shell
            [fc_list, "--format", "%{family}\n"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        logger.warning("fc-list failed; the configured font families are used unchecked")
        return None
    names: set[str] = set()
    for line in result.stdout.splitlines():
        names.update(part.strip().casefold() for part in line.split(",") if part.strip())
    return frozenset(names)


def font_map() -> dict[str, list[str]]:
    """Role → configured families (defaults overridden by `EGOV_DOCUMENT_FONTS`), validated."""
    configured = getattr(settings, "EGOV_DOCUMENT_FONTS", None) or {}
    result: dict[str, list[str]] = {}
    for role, defaults in DEFAULT_FONTS.items():
        families = configured.get(role) or defaults
        if isinstance(families, str):
            families = [families]
        valid = [f for f in families if isinstance(f, str) and _FAMILY_RE.match(f)]
        if len(valid) != len(families):
            logger.warning("EGOV_DOCUMENT_FONTS[%r]: invalid family names ignored", role)
        result[role] = valid or list(defaults)
    return result


def resolved_fonts() -> tuple[dict[str, str], dict[str, str]]:
    """(role → CSS font-family value, role → the installed family used or "")."""
    installed = installed_families()
    stacks: dict[str, str] = {}
    chosen: dict[str, str] = {}
    for role, families in font_map().items():
        present = (
            families if installed is None else [f for f in families if f.casefold() in installed]
        )
        chosen[role] = present[0] if present else ""
        names = [*present, GENERIC.get(role, "serif")]
        stacks[role] = ", ".join(n if n in ("serif", "sans-serif") else f'"{n}"' for n in names)
    return stacks, chosen
