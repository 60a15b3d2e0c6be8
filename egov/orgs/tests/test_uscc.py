"""统一社会信用代码: every built code validates; any single-character change is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egov.orgs.uscc import ALPHABET, InvalidCode, make_uscc, validate_uscc

_allowed = st.sampled_from(ALPHABET)
codes = st.builds(
    make_uscc,
    _allowed,
    _allowed,
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=8, max_size=8),
)


@given(codes)
def test_every_built_code_validates(code: str) -> None:
    assert validate_uscc(code) == code
    assert validate_uscc(f"  {code.lower()} ") == code


@given(codes, st.integers(min_value=0, max_value=17), st.characters(codec="utf-8"))
def test_any_single_character_change_is_refused(code: str, index: int, new: str) -> None:
    if new.upper() == code[index] or new.upper() == new.lower() == code[index]:
        return
    if new.upper() == code[index]:
        return
    changed = code[:index] + new + code[index + 1 :]
    if changed.strip().upper() == code:
        return
    with pytest.raises(InvalidCode):
        validate_uscc(changed)


@given(codes, st.integers(min_value=0, max_value=17), _allowed)
def test_substitution_within_the_alphabet_is_refused(code: str, index: int, new: str) -> None:
    if new == code[index]:
        return
    with pytest.raises(InvalidCode):
        validate_uscc(code[:index] + new + code[index + 1 :])


@pytest.mark.parametrize(
    "bad",
    ["", "123", "91130000MA0" + "X" * 8, "9113000O" + "0" * 10, "1" * 19, "11AB0000DEM000010"],
)
def test_malformed_codes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidCode):
        validate_uscc(bad)


@pytest.mark.parametrize(
    "parts",
    [
        ("I", "1", "130000", "DEM00001"),
        ("1", "1", "13000", "DEM00001"),
        ("1", "1", "130000", "DEMO0001"),
    ],
)
def test_make_uscc_refuses_bad_parts(parts: tuple[str, str, str, str]) -> None:
    with pytest.raises(InvalidCode):
        make_uscc(*parts)
