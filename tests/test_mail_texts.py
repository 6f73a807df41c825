"""The e-mail texts read as correct Italian: "ed entrare" (not "e entrare"), singular and plural
agree with the numbers, organisations are addressed as "Spettabile"."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from workspace import mail

APPLICATION = SimpleNamespace(organisation_name="Associazione Alfa", delegate_name="Delia Delegata",
                              delegate_email="delia@example.org", motivation="Requisiti presenti.",
                              decided_by_name="Rita Rup", revision=1, id=3, codice_fiscale="80012345678",
                              tavoli=[SimpleNamespace(title="Tavolo anziani")])
PROCEDURE = SimpleNamespace(title="Co-programmazione 2025-2027", id=1)


def _render(template: str, **context) -> str:
    return mail.render_mail(template, application=APPLICATION, procedure=PROCEDURE, **context)


@pytest.mark.parametrize("tavoli, place", [([("Tavolo anziani", "http://x/1")], "nel tavolo"),
                                           ([("Tavolo anziani", "http://x/1"), ("Tavolo minori", "http://x/2")],
                                            "nei tavoli")])
def test_procedure_invitation(sqlite_app, tavoli, place):
    with sqlite_app.app_context():
        one_day = _render("procedure_invitation.txt", tavoli=tavoli, link="http://x/invito/abc", days=1)
        two_weeks = _render("procedure_invitation.txt", tavoli=tavoli, link="http://x/invito/abc", days=14)
    assert f"Per aderire ed entrare {place} apri questo indirizzo:" in one_day
    assert "scade fra 1 giorno." in one_day and "scade fra 14 giorni." in two_weeks


def test_no_e_before_a_vowel_and_organisations_addressed_properly(sqlite_app):
    org = SimpleNamespace(name="Associazione Alfa")
    with sqlite_app.app_context():
        texts = {
            "invitation.txt": mail.render_mail("invitation.txt", name="Delia", organisation=org, inviter=None,
                                               grants_admin=False, link="http://x/i", expires="1 gennaio 2027"),
            "procedure_invitation.txt": _render("procedure_invitation.txt", tavoli=[("T", "l")], link="l", days=14),
            "procedure_admitted.txt": _render("procedure_admitted.txt", outcome="Ammessa", tavoli=[("T", "l")]),
            "procedure_excluded.txt": _render("procedure_excluded.txt", outcome="Esclusa", public_url="http://x/p"),
            "procedure_delegate_added.txt": _render("procedure_delegate_added.txt", tavoli=[("T", "l")]),
        }
    for name, text in texts.items():
        assert not re.search(r"\be [eE]", text), f"{name}: «e» davanti a vocale e: serve «ed»"
        assert "Gentili " not in text, name
    assert texts["procedure_admitted.txt"].startswith("Spettabile Associazione Alfa,")
    assert "partecipa al tavolo:" in texts["procedure_admitted.txt"]
    assert "riceverà per e-mail il link" in texts["procedure_admitted.txt"]
    assert "Per aderire ed entrare apri questo indirizzo:" in texts["invitation.txt"]
