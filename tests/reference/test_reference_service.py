"""Query functions over the loaded reference data."""
from __future__ import annotations

import pytest

from workspace.reference import service


def codes(ambiti) -> list[str]:
    return [a.code for a in ambiti]


def test_list_macroaree_loads_key_points_and_leps(session):
    rows = service.list_macroaree(session)
    assert [m.code for m in rows] == list("ABCDEFGHIJKL")
    a = rows[0]
    assert "Working poors e lavoratori precari" in [kp.text for kp in a.key_points]
    assert [lp.id for lp in a.leps][:2] == ["adi", "pronto_intervento_sociale"]


@pytest.mark.parametrize("code", ["A", "a", " k "])
def test_get_macroarea_by_letter(session, code):
    assert service.get_macroarea(session, code).code == code.strip().upper()


@pytest.mark.parametrize("code", ["Z", "", "AB", "%"])
def test_get_macroarea_unknown(session, code):
    assert service.get_macroarea(session, code) is None


def test_list_leps_in_official_order(session):
    rows = service.list_leps(session)
    assert len(rows) == 16 and rows[0].id == "adi"
    assert sum(r.strategic for r in rows) == 5
    assert [m.code for m in next(r for r in rows if r.id == "pua_uvm").macroaree] == ["E", "J", "K"]


def test_normalise_folds_case_accents_and_apostrophes():
    assert service.normalise("ATS DELLA CITTA' METROPOLITANA") == "ats della citta metropolitana"
    assert service.normalise("Milano Città") == "milano citta"
    assert service.normalise("CANTU' E MARIANO") == service.normalise("Cantù e Mariano")
    assert service.normalise("Valle Imagna e Villa d’Almè") == "valle imagna e villa dalme"
    assert service.normalise("Garda - Salò - 11") == "garda salo 11"
    assert service.normalise("lom_72") == "lom_72"


def test_search_without_query_returns_all_ambiti_with_relations(session):
    rows = service.search_ambiti(session)
    assert len(rows) == 91
    assert codes(rows) == sorted(codes(rows))
    assert service.search_ambiti(session, "   ") == rows
    pavia = next(a for a in rows if a.code == "50008")
    assert pavia.ats.name == "ATS DI PAVIA"
    assert [(link.distretto.name, link.asst.name) for link in pavia.links] == [("PAVIA", "ASST DI PAVIA")]


@pytest.mark.parametrize("query", ["pavia", "PAVIA", "Pavia"])
def test_search_pavia(session, query):
    rows = service.search_ambiti(session, query)
    assert "50008" in codes(rows)
    assert {a.ats_code for a in rows} == {"328"}  # the 5 Ambiti of ATS di Pavia
    assert len(rows) == 5


@pytest.mark.parametrize("query", ["Città", "citta", "CITTA'", "milano città"])
def test_search_is_accent_insensitive(session, query):
    rows = service.search_ambiti(session, query)
    assert "50007" in codes(rows)  # Milano Città
    # the ATS is printed "CITTA'", so all 17 Ambiti of ATS Milano match
    assert len(rows) == 17 and {a.ats_code for a in rows} == {"321"}


@pytest.mark.parametrize(("query", "expected"), [
    ("lom_72", ["50008"]),
    ("LOM_72", ["50008"]),
    ("50008", ["50008"]),
    ("cantu", None),
    ("MUNICIPIO 5", ["50007"]),
    ("oglio po", None),
    ("villa d'alme", None),
])
def test_search_by_code_sioss_distretto(session, query, expected):
    rows = service.search_ambiti(session, query)
    if expected is not None:
        assert codes(rows) == expected
    else:
        assert rows, query
    for a in rows:
        hay = service.normalise(" ".join(
            [a.code, a.name, a.sioss_code, a.ats.code, a.ats.name]
            + [f"{link.distretto_code} {link.distretto.name}" for link in a.links]))
        assert all(w in hay for w in service.normalise(query).split())


def test_search_by_ats_code_and_no_match(session):
    assert len(service.search_ambiti(session, "328")) == 5
    assert service.search_ambiti(session, "nessun ambito si chiama così") == []


def test_field_schema(session):
    assert len(service.get_field_schema(session, "esiti").content["fields"]) == 8
    assert service.get_field_schema(session, "altro") is None
