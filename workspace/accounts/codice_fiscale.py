"""Italian codice fiscale: pure validation, no database, no network.

Two shapes exist:

* 11 digits: bodies (associations, cooperatives, companies, public bodies) and the partita IVA.
  The last digit is a check digit (Luhn-like, as defined by the Agenzia delle Entrate): digits in
  odd positions (1st, 3rd, ... 9th) are summed as they are; digits in even positions (2nd ... 10th)
  are doubled, subtracting 9 when the double exceeds 9; the check digit is (10 - sum mod 10) mod 10.
* 16 characters: natural persons (DM 23/12/1976). Surname (3 letters), name (3 letters), year
  (2 digits), month (a letter), day (2 digits, +40 for women), place (a letter and 3 digits),
  check character. Any of the seven digit positions may be replaced by a letter L-V (*omocodia*:
  L=0, M=1, ... V=9) when two people would otherwise share the same code.

``validate`` returns the normalised value (upper-case, spaces removed) or raises
:class:`CodiceFiscaleError`, a ``ValueError`` whose message says in Italian what is wrong.
"""
from __future__ import annotations

import re

from workspace.i18n import gettext as _

__all__ = [
    "CodiceFiscaleError",
    "normalise",
    "numeric_check_digit",
    "personal_check_char",
    "validate_codice_fiscale",
    "validate",
    "validate_numeric",
    "validate_personal",
]

# Positions (0-based) of the personal code that hold digits, possibly replaced by omocodia letters.
_DIGIT_POSITIONS = (6, 7, 9, 10, 12, 13, 14)
_OMOCODIA = "LMNPQRSTUV"  # L=0, M=1, N=2, P=3, Q=4, R=5, S=6, T=7, U=8, V=9
_MONTHS = "ABCDEHLMPRST"  # January ... December

# Values of characters in odd positions (1st, 3rd, ... 15th, counting from 1).
_ODD = {
    "0": 1, "1": 0, "2": 5, "3": 7, "4": 9, "5": 13, "6": 15, "7": 17, "8": 19, "9": 21,
    "A": 1, "B": 0, "C": 5, "D": 7, "E": 9, "F": 13, "G": 15, "H": 17, "I": 19, "J": 21,
    "K": 2, "L": 4, "M": 18, "N": 20, "O": 11, "P": 3, "Q": 6, "R": 8, "S": 12, "T": 14,
    "U": 16, "V": 10, "W": 22, "X": 25, "Y": 24, "Z": 23,
}
# Values of characters in even positions: digits by value, letters A=0 ... Z=25.
_EVEN = {**{str(d): d for d in range(10)}, **{chr(65 + i): i for i in range(26)}}

_PERSONAL_SHAPE = re.compile(r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$")


class CodiceFiscaleError(ValueError):
    """The value is not a valid codice fiscale; ``message`` says why, in Italian."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def normalise(value: str | None) -> str:
    """Upper-case, without spaces (people often type the code in groups)."""
    return re.sub(r"\s+", "", value or "").upper()


def numeric_check_digit(first_ten: str) -> str:
    """The check digit of an 11-digit codice fiscale / partita IVA, from its first ten digits."""
    if len(first_ten) != 10 or not first_ten.isascii() or not first_ten.isdigit():
        raise ValueError("first_ten must be 10 ASCII digits")
    total = 0
    for index, char in enumerate(first_ten):
        digit = int(char)
        if index % 2 == 1:  # 2nd, 4th, ... 10th digit counting from 1
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def personal_check_char(first_fifteen: str) -> str:
    """The check character of a 16-character personal codice fiscale, from its first fifteen."""
    if len(first_fifteen) != 15:
        raise ValueError("first_fifteen must be 15 characters")
    total = 0
    for index, char in enumerate(first_fifteen.upper()):
        table = _ODD if index % 2 == 0 else _EVEN  # index 0 is the 1st (odd) position
        total += table[char]
    return chr(65 + total % 26)


def validate_numeric(value: str) -> str:
    code = normalise(value)
    if not code.isascii() or not code.isdigit():
        raise CodiceFiscaleError(
            _("Il codice fiscale di un ente è composto da 11 cifre, senza lettere né altri simboli.")
        )
    if len(code) != 11:
        raise CodiceFiscaleError(
            _("Il codice fiscale di un ente ha 11 cifre: ne sono state inserite %(n)d.", n=len(code))
        )
    if code == "0" * 11:
        raise CodiceFiscaleError(_("Il codice fiscale non può essere composto solo da zeri."))
    expected = numeric_check_digit(code[:10])
    if code[10] != expected:
        raise CodiceFiscaleError(
            _(
                "Il codice fiscale %(code)s non è valido: la cifra di controllo (l'ultima) non "
                "corrisponde alle altre. Verificare di averlo trascritto correttamente.",
                code=code,
            )
        )
    return code


def _decode_digits(chars: str) -> int:
    return int("".join(str(_OMOCODIA.index(c)) if c in _OMOCODIA else c for c in chars))


def validate_personal(value: str) -> str:
    code = normalise(value)
    if len(code) != 16:
        raise CodiceFiscaleError(
            _("Il codice fiscale di una persona ha 16 caratteri: ne sono stati inseriti %(n)d.", n=len(code))
        )
    if not code.isascii() or not code.isalnum():
        raise CodiceFiscaleError(_("Il codice fiscale può contenere solo lettere e cifre."))
    if not _PERSONAL_SHAPE.match(code):
        raise CodiceFiscaleError(
            _(
                "Il codice fiscale %(code)s non ha la forma prevista: sei lettere (cognome e nome), "
                "due cifre (anno), una lettera (mese), due cifre (giorno), una lettera e tre cifre "
                "(comune o Stato di nascita), una lettera di controllo.",
                code=code,
            )
        )
    if code[8] not in _MONTHS:
        raise CodiceFiscaleError(
            _("Il codice fiscale %(code)s non è valido: la lettera del mese (%(letter)s) non esiste.",
              code=code, letter=code[8])
        )
    day = _decode_digits(code[9:11])
    if not (1 <= day <= 31 or 41 <= day <= 71):
        raise CodiceFiscaleError(
            _("Il codice fiscale %(code)s non è valido: il giorno di nascita (%(day)02d) non esiste.",
              code=code, day=day)
        )
    expected = personal_check_char(code[:15])
    if code[15] != expected:
        raise CodiceFiscaleError(
            _(
                "Il codice fiscale %(code)s non è valido: il carattere di controllo (l'ultimo) non "
                "corrisponde agli altri. Verificare di averlo trascritto correttamente.",
                code=code,
            )
        )
    return code


def validate(value: str | None) -> str:
    """Validate either shape and return the normalised code."""
    code = normalise(value)
    if not code:
        raise CodiceFiscaleError(_("Il codice fiscale è obbligatorio."))
    if code.isascii() and code.isdigit():
        return validate_numeric(code)
    if len(code) == 16:
        return validate_personal(code)
    if len(code) == 11:
        return validate_numeric(code)  # 11 characters with letters: say it must be digits
    raise CodiceFiscaleError(
        _(
            "Il codice fiscale deve avere 11 cifre (enti) oppure 16 caratteri (persone): "
            "ne sono stati inseriti %(n)d.",
            n=len(code),
        )
    )


# Descriptive alias for callers outside this module (``from ... import validate_codice_fiscale``).
validate_codice_fiscale = validate
