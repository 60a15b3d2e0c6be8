"""统一社会信用代码 (unified social credit code, GB 32100-2015) validation and construction.

18 characters: registration authority (1), organisation type (1), administrative division
code (6), organisation code (9, GB 11714 with its own check character), check character (1).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS_18 = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_WEIGHTS_9 = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class InvalidCode(ValueError):
    pass


def check_char_18(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS_18, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def check_char_9(first8: str) -> str:
    total = sum(_ORG_CODE_ALPHABET.index(c) * w for c, w in zip(first8, _WEIGHTS_9, strict=True))
    remainder = 11 - total % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def validate_uscc(code: str) -> str:
    """Return the normalised code or raise InvalidCode with the reason."""
    code = code.strip().upper()
    if len(code) != 18:
        raise InvalidCode(_("must be 18 characters, got %(count)d") % {"count": len(code)})
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        raise InvalidCode(
            _("contains characters not allowed in the code: %(chars)s") % {"chars": "".join(bad)}
        )
    if not code[2:8].isdigit():
        raise InvalidCode(_("characters 3–8 must be the 6-digit administrative division code"))
    if code[17] != check_char_18(code[:17]):
        raise InvalidCode(_("check character (18th) does not match"))
    org_code = code[8:17]
    if all(c in _ORG_CODE_ALPHABET for c in org_code[:8]) and org_code[8] != check_char_9(
        org_code[:8]
    ):
        raise InvalidCode(_("the organisation code (characters 9–17) has a wrong check character"))
    return code


def make_uscc(authority: str, org_type: str, division: str, org_code8: str) -> str:
    """Build a valid code from its parts (used by demo data and tests)."""
    if authority not in _VALUE or org_type not in _VALUE or len(authority + org_type) != 2:
        raise InvalidCode(_("authority and type must be one allowed character each"))
    if len(division) != 6 or not division.isdigit():
        raise InvalidCode(_("the administrative division code must be 6 digits"))
    if len(org_code8) != 8 or any(c not in _VALUE for c in org_code8):
        raise InvalidCode(_("the organisation code body must be 8 allowed characters"))
    body = authority + org_type + division + org_code8 + check_char_9(org_code8)
    return body + check_char_18(body)
