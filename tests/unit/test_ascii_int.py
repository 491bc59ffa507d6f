"""ascii_int reads exactly the numbers written in 1 to 18 ASCII digits, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediashelf.digits import ascii_int


@given(st.integers(min_value=0, max_value=10**18 - 1))
def test_every_number_up_to_18_digits_reads_back(n: int) -> None:
    assert ascii_int(str(n)) == n
    assert ascii_int(str(n).zfill(18)) == n


@given(st.text(max_size=30))
def test_anything_else_is_none_and_never_raises(text: str) -> None:
    value = ascii_int(text)
    plain = 1 <= len(text) <= 18 and all("0" <= c <= "9" for c in text)
    assert (value is not None) == plain
    if plain:
        assert value == int(text)


@pytest.mark.parametrize("text", ["²", "١٢٣", " 1", "1 ", "+1", "-1", "1_000", "1e3", "",
                                  "9" * 19, "9" * 5000])
def test_the_traps_of_int_and_isdigit_are_refused(text: str) -> None:
    assert ascii_int(text) is None
