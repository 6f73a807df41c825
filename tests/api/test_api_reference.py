"""/api/v1/riferimenti/*: content checked against the official facts (DGR XII/2167, Allegato C)."""
from __future__ import annotations

import pytest

PREFIX = "/api/v1/riferimenti"


def get_json(client, url: str):
    response = client.get(PREFIX + url)
    assert response.status_code == 200
    return response.get_json()


def test_macroaree(client):
    body = get_json(client, "/macroaree")
    by_code = {m["code"]: m for m in body}
    assert [m["code"] for m in body] == list("ABCDEFGHIJKL")
    assert [m["code"] for m in body if m["status"] == "active"] == list("ABDEFGHIJKL")
    c = by_code["C"]
    assert (c["status"], c["merged_into"], c["key_points"], c["leps"]) == ("merged", "A", [], [])
    a = by_code["A"]
    assert a["merged_into"] is None
    assert a["name_en"].startswith("Tackling poverty")
    assert len(a["key_points"]) == 10 and a["key_points"][5] == "Working poors e lavoratori precari"
    assert a["leps"][0] == {"id": "adi", "name": "Reddito di cittadinanza ora Assegno di Inclusione (ADI)"}
    assert sum(len(m["key_points"]) for m in body) == 70
    assert sum(len(m["leps"]) for m in body) == 31
    assert by_code["F"]["leps"] == [] and by_code["L"]["key_points"] == []


def test_leps(client):
    body = get_json(client, "/leps")
    assert len(body) == 16 and body[0]["id"] == "adi"
    strategic = {lp["id"] for lp in body if lp["strategic"]}
    assert strategic == {"valutazione_multidimensionale", "incremento_sad", "dimissioni_protette", "pua_uvm",
                         "prevenzione_allontanamento"}
    by_id = {lp["id"]: lp for lp in body}
    assert by_id["incremento_sad"]["macroaree"] == ["D", "E", "J"]
    assert by_id["residenza_fittizia"]["macroaree"] == ["A", "B"]
    # both directions agree
    macroaree = get_json(client, "/macroaree")
    pairs_from_macroaree = {(m["code"], lp["id"]) for m in macroaree for lp in m["leps"]}
    pairs_from_leps = {(code, lp["id"]) for lp in body for code in lp["macroaree"]}
    assert pairs_from_macroaree == pairs_from_leps


def test_ambiti(client):
    body = get_json(client, "/ambiti")
    assert len(body) == 91
    assert [a["code"] for a in body] == sorted(a["code"] for a in body)
    assert len({a["sioss_code"] for a in body}) == 91
    assert len({a["ats"]["code"] for a in body}) == 8
    assert sum(len(a["distretti"]) for a in body) == 102
    assert len({d["code"] for a in body for d in a["distretti"]}) == 86
    assert len({d["asst"]["code"] for a in body for d in a["distretti"]}) == 25

    by_code = {a["code"]: a for a in body}
    assert by_code["50008"] == {
        "code": "50008",
        "name": "Pavia",
        "sioss_code": "lom_72",
        "ats": {"code": "328", "name": "ATS DI PAVIA"},
        "distretti": [{"code": "22076", "name": "PAVIA", "asst": {"code": "727", "name": "ASST DI PAVIA"}}],
    }
    milano = by_code["50007"]
    assert milano["name"] == "Milano Città" and len(milano["distretti"]) == 9
    oglio_po = [d for a in body for d in a["distretti"] if d["code"] == "22070"]
    assert sorted(d["asst"]["code"] for d in oglio_po) == ["724", "725"]


@pytest.mark.parametrize(("query", "codes"), [
    ("lom_72", ["50008"]),
    ("50008", ["50008"]),
    ("milano città", None),
    ("MUNICIPIO 9", ["50007"]),
])
def test_ambiti_filter(client, query, codes):
    body = get_json(client, "/ambiti?q=" + query)
    if codes is not None:
        assert [a["code"] for a in body] == codes
    else:
        assert "50007" in [a["code"] for a in body]


def test_ambiti_filter_pavia(client):
    body = get_json(client, "/ambiti?q=pavia")
    assert len(body) == 5 and "50008" in [a["code"] for a in body]
    assert {a["ats"]["code"] for a in body} == {"328"}


def test_empty_query_means_all(client):
    assert len(get_json(client, "/ambiti?q=")) == 91


def test_unknown_api_path_is_json_in_italian(client):
    response = client.get(PREFIX + "/inesistente")
    assert response.status_code == 404
    assert response.get_json() == {"error": 404, "message": "La pagina richiesta non esiste."}
