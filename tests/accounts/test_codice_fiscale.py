"""Codice fiscale validation: pure unit tests, valid and invalid vectors."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workspace.accounts.codice_fiscale import (
    CodiceFiscaleError,
    numeric_check_digit,
    personal_check_char,
    validate,
    validate_numeric,
    validate_personal,
)


def reference_check_digit(first_ten: str) -> str:
    """Independent implementation of the partita IVA / codice fiscale check digit (Agenzia delle
    Entrate): odd positions summed, even positions doubled with digit sum, then 10's complement."""
    odd = sum(int(c) for c in first_ten[0::2])
    even = sum(sum(divmod(int(c) * 2, 10)) for c in first_ten[1::2])
    return str((10 - (odd + even) % 10) % 10)


# Publicly known, well-formed numeric codes (partite IVA of large companies and public bodies).
KNOWN_NUMERIC = [
    "00743110157",  # the example cited in the brief
    "01114601006",
    "80012000826",
]


@pytest.mark.parametrize("code", KNOWN_NUMERIC)
def test_known_numeric_codes_are_valid(code):
    assert reference_check_digit(code[:10]) == code[10]
    assert validate(code) == code
    assert validate_numeric(code) == code


@pytest.mark.parametrize("first_ten", ["0000000001", "1234567890", "9700000000", "9999999999", "8001234567"])
def test_numeric_check_digit_matches_independent_computation(first_ten):
    code = first_ten + reference_check_digit(first_ten)
    assert numeric_check_digit(first_ten) == code[10]
    assert validate(code) == code


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_every_numeric_code_has_exactly_one_valid_check_digit(first_ten):
    valid = [d for d in "0123456789" if _is_valid(first_ten + d)]
    if first_ten == "0" * 10:
        assert valid == []  # all zeros is refused outright
    else:
        assert valid == [reference_check_digit(first_ten)]


def _is_valid(code: str) -> bool:
    try:
        validate(code)
    except CodiceFiscaleError:
        return False
    return True


def test_numeric_code_is_normalised():
    assert validate("  007 431 101 57 ") == "00743110157"


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("00743110158", "cifra di controllo"),
        ("00743110150", "cifra di controllo"),
        ("0074311015", "11 cifre"),
        ("007431101570", "11 cifre"),
        ("0074311015A", "11 cifre"),
        ("00000000000", "zeri"),
        ("", "obbligatorio"),
        ("ABC", "11 cifre"),
        ("00743-10157", "11 cifre"),
    ],
)
def test_invalid_numeric_codes_say_what_is_wrong(code, fragment):
    with pytest.raises(CodiceFiscaleError) as info:
        validate(code)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


# Personal codes: a widely published example (Mario Rossi) and its omocodic variants.
def test_personal_code_valid_and_normalised():
    assert validate("RSSMRA85T10A562S") == "RSSMRA85T10A562S"
    assert validate("rssmra 85t10 a562s") == "RSSMRA85T10A562S"
    assert personal_check_char("RSSMRA85T10A562") == "S"


@pytest.mark.parametrize("code", ["RSSMRA85T10A56NS"[:15], "RSSMRAURTMLARSN", "RSSMRA85T10A5S2"])
def test_omocodic_personal_codes(code):
    """Omocodia replaces digits with L-V; the check character is computed on the letters."""
    full = code + personal_check_char(code)
    assert validate_personal(full) == full


def test_fully_omocodic_code():
    assert validate("RSSMRAURTMLARSNL") == "RSSMRAURTMLARSNL"


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("RSSMRA85T10A562T", "carattere di controllo"),
        ("RSSMRA85T10A562", "16 caratteri"),
        ("RSSMRA85T10A562SX", "16 caratteri"),
        ("RSSMRA85Z10A562S", "mese"),  # Z is no month letter
        ("RSSMRA85F10A562S", "mese"),  # F is a letter but no month
        ("RSSMRA85T99A562S", "giorno"),
        ("RSSMRA85T10A5625", "forma prevista"),  # check character must be a letter
        ("RSSMRA85T10A56WS", "forma prevista"),  # W is no omocodia letter
        ("RSSMR@85T10A562S", "lettere e cifre"),
    ],
)
def test_invalid_personal_codes_say_what_is_wrong(code, fragment):
    with pytest.raises(CodiceFiscaleError) as info:
        validate(code)
    assert fragment in str(info.value)


def test_women_days_are_valid():
    first = "RSSMRA85T50A562"  # day 10 + 40
    assert validate(first + personal_check_char(first)).startswith("RSSMRA85T50")
