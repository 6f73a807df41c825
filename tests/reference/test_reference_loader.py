"""The reference loader against the real package data, on SQLite and PostgreSQL.

Expected figures are the official facts listed in shared/domain/README.md (DGR XII/2167 of
15/04/2024 and its Allegato C), not numbers read back from the data files. The PostgreSQL database
is shared by the whole session, so tests that change reference rows never commit: they work inside
the session's transaction and roll it back.
"""
from __future__ import annotations

import shutil
from collections import Counter

import pytest
from sqlalchemy import delete, func, insert, select, update

from workspace.reference import loader
from workspace.reference.loader import LoadReport, ReferenceDataError, load_reference
from workspace.reference.models import (
    Ambito,
    AmbitoDistretto,
    Asst,
    Ats,
    Distretto,
    FieldSchema,
    KeyPoint,
    Leps,
    Macroarea,
    macroarea_leps,
)

KINDS = ("macroaree", "key_points", "leps", "macroarea_leps", "ats", "asst", "distretti", "ambiti",
         "ambito_distretto", "field_schemas")
STRATEGIC = {"valutazione_multidimensionale", "incremento_sad", "dimissioni_protette", "pua_uvm",
             "prevenzione_allontanamento"}
# README "Per ATS (Ambiti / ASST / Distretti)".
PER_ATS = {
    "321": (17, 8, 25), "322": (20, 3, 17), "323": (7, 2, 5), "324": (8, 2, 8),
    "325": (14, 3, 9), "326": (12, 3, 11), "327": (8, 3, 6), "328": (5, 1, 5),
}


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def changes_by_kind(report: LoadReport) -> dict[str, tuple[int, int, int]]:
    """Only the kinds that changed, as (created, updated, deleted)."""
    return {k: (report[k].created, report[k].updated, report[k].deleted)
            for k in KINDS if report[k].changes}


@pytest.fixture
def tx(session):
    """The session, rolled back afterwards whatever the test did (nothing here commits)."""
    yield session
    session.rollback()


# ----------------------------------------------------------------------------- what the data holds


def test_macroaree_and_key_points(session):
    macroaree = session.scalars(select(Macroarea).order_by(Macroarea.code)).all()
    assert [m.code for m in macroaree] == list("ABCDEFGHIJKL")
    assert [m.code for m in macroaree if m.is_active] == list("ABDEFGHIJKL")
    c = session.get(Macroarea, "C")
    assert (c.status, c.merged_into, c.period) == ("merged", "A", "2021-2023")
    assert c.key_points == [] and c.leps == []

    assert count(session, KeyPoint) == 70
    assert session.scalar(select(func.count(func.distinct(KeyPoint.text)))) == 47
    a = session.get(Macroarea, "A")
    assert a.name.startswith("Contrasto alla povertà")
    assert [kp.position for kp in a.key_points] == list(range(1, 11))
    assert a.key_points[0].text == "Allargamento della rete e coprogrammazione"
    assert a.key_points[5].text == "Working poors e lavoratori precari"
    assert {m.code: len(m.key_points) for m in macroaree} == {
        "A": 10, "B": 5, "C": 0, "D": 9, "E": 11, "F": 5, "G": 7, "H": 5, "I": 9, "J": 6, "K": 3, "L": 0}

    # details: the official lists kept as printed
    assert len(a.details["regional_measures"]) == 4
    assert sum(len(m.details["regional_measures"]) for m in macroaree) == 34
    assert sum(len(m.details["possible_interventions"]) for m in macroaree) == 43
    assert a.details["source"]["file"] == "002_6a4532bd01b90fb0.txt"
    assert any("merged into A" in note for note in c.details["notes"])
    for key in ("leps_objectives_it", "leps_objectives_en", "possible_interventions_en", "notes"):
        assert all(isinstance(m.details[key], list) for m in macroaree)


def test_leps_and_their_macroaree(session):
    leps = session.scalars(select(Leps).order_by(Leps.position)).all()
    assert len(leps) == 16
    assert [lp.position for lp in leps] == list(range(1, 17))
    assert leps[0].id == "adi"
    assert {lp.id for lp in leps if lp.strategic} == STRATEGIC
    sad = session.get(Leps, "incremento_sad")
    assert sad.name == "Incremento SAD"
    assert [m.code for m in sad.macroaree] == ["D", "E", "J"]
    assert "strategic" in sad.details and len(sad.details["strategic"]["indicators"]) > 0
    assert "id" not in sad.details and "name_it" not in sad.details
    # links come from the macroaree' leps_ids: F and L have none
    assert session.scalar(select(func.count()).select_from(macroarea_leps)) == 31
    assert session.get(Macroarea, "F").leps == []
    assert [lp.id for lp in session.get(Macroarea, "H").leps] == ["presa_in_carico_sociale_lavorativa"]


def test_territory_matches_allegato_c(session):
    assert count(session, Ats) == 8
    assert count(session, Asst) == 25
    assert count(session, Distretto) == 86
    assert count(session, Ambito) == 91
    assert session.scalar(select(func.count(func.distinct(Ambito.sioss_code)))) == 91
    assert count(session, AmbitoDistretto) == 102  # the 102 CSV rows are all distinct

    for ats_code, (n_ambiti, n_asst, n_distretti) in PER_ATS.items():
        assert count(session, select(Ambito).where(Ambito.ats_code == ats_code).subquery()) == n_ambiti
        assert count(session, select(Asst).where(Asst.ats_code == ats_code).subquery()) == n_asst
        distretti = session.scalar(
            select(func.count(func.distinct(AmbitoDistretto.distretto_code)))
            .join(Ambito).where(Ambito.ats_code == ats_code)
        )
        assert distretti == n_distretti, ats_code

    pavia = session.get(Ambito, "50008")
    assert (pavia.name, pavia.sioss_code, pavia.ats_code) == ("Pavia", "lom_72", "328")
    assert [(link.distretto_code, link.asst_code) for link in pavia.links] == [("22076", "727")]

    milano = session.scalar(select(Ambito).where(Ambito.name == "Milano Città"))
    assert len({link.distretto_code for link in milano.links}) == 9
    for name in ("Alto Milanese", "Lodi"):
        ambito = session.scalar(select(Ambito).where(Ambito.name == name))
        assert len({link.distretto_code for link in ambito.links}) == 2, name

    oglio_po = session.scalars(select(AmbitoDistretto).where(AmbitoDistretto.distretto_code == "22070")).all()
    assert sorted(link.asst_code for link in oglio_po) == ["724", "725"]

    ambiti_per_distretto = Counter(
        code for code, _ in session.execute(
            select(AmbitoDistretto.distretto_code, AmbitoDistretto.ambito_code).distinct())
    )
    shared = {d: n for d, n in ambiti_per_distretto.items() if n > 1}
    assert len(shared) == 14 and set(shared.values()) <= {2, 3}


def test_field_schemas(session):
    assert set(session.scalars(select(FieldSchema.key))) == {"scheda_obiettivo", "esiti"}
    scheda = session.get(FieldSchema, "scheda_obiettivo")
    assert len(scheda.content["fields"]) == 26
    assert len(scheda.content["key_points_catalog"]) == 47
    assert "Obiettivi della programmazione 2025-2027" in scheda.title
    assert len(session.get(FieldSchema, "esiti").content["fields"]) == 8


# ------------------------------------------------------------------------------------- idempotency


def test_second_run_changes_nothing(tx):
    report = load_reference(tx)
    assert report.changes == 0, report.summary()
    assert not tx.new and not tx.dirty and not tx.deleted
    assert {k: report[k].total for k in KINDS} == {
        "macroaree": 12, "key_points": 70, "leps": 16, "macroarea_leps": 31, "ats": 8, "asst": 25,
        "distretti": 86, "ambiti": 91, "ambito_distretto": 102, "field_schemas": 2}
    summary = report.summary()
    assert "Macroaree: 12 (11 attive) — create 0, aggiornate 0, eliminate 0" in summary
    assert "LEPS: 16 (5 strategici) — creati 0, aggiornati 0, eliminati 0" in summary
    assert "Ambiti: 91 — creati 0, aggiornati 0, eliminati 0" in summary
    assert summary.splitlines()[-1].startswith("Nessuna modifica")


def test_empty_database_gets_everything_then_nothing(tx):
    for model in (AmbitoDistretto, Ambito, Distretto, Asst, Ats, FieldSchema, KeyPoint):
        tx.execute(delete(model))
    tx.execute(delete(macroarea_leps))
    tx.execute(update(Macroarea).values(merged_into=None))
    tx.execute(delete(Macroarea))
    tx.execute(delete(Leps))
    tx.expire_all()

    first = load_reference(tx)
    assert changes_by_kind(first) == {
        "macroaree": (12, 0, 0), "key_points": (70, 0, 0), "leps": (16, 0, 0),
        "macroarea_leps": (31, 0, 0), "ats": (8, 0, 0), "asst": (25, 0, 0), "distretti": (86, 0, 0),
        "ambiti": (91, 0, 0), "ambito_distretto": (102, 0, 0), "field_schemas": (2, 0, 0)}
    summary = first.summary()
    assert "Macroaree: 12 (11 attive) — create 12, aggiornate 0, eliminate 0" in summary
    assert "Totale modifiche: 443" in summary
    assert tx.get(Macroarea, "C").merged_into == "A"

    tx.expire_all()
    assert load_reference(tx).changes == 0


def test_loader_does_not_commit(tx, monkeypatch):
    tx.execute(delete(FieldSchema).where(FieldSchema.key == "esiti"))
    tx.expire_all()

    def forbidden():
        raise AssertionError("the loader must leave the commit to its caller")

    monkeypatch.setattr(tx, "commit", forbidden)
    report = load_reference(tx)
    assert changes_by_kind(report) == {"field_schemas": (1, 0, 0)}
    assert tx.in_transaction()


MUTATIONS = {
    "macroaree": update(Macroarea).where(Macroarea.code == "A").values(name="Nome sbagliato"),
    "key_points": update(KeyPoint).where(KeyPoint.macroarea_code == "B", KeyPoint.position == 2)
    .values(text="Testo modificato"),
    "leps": update(Leps).where(Leps.id == "adi").values(details={"altro": 1}),
    "ats": update(Ats).where(Ats.code == "328").values(name="ATS DI PAVIA (vecchio nome)"),
    "asst": update(Asst).where(Asst.code == "727").values(ats_code="321"),
    "distretti": update(Distretto).where(Distretto.code == "22070").values(name="OGLIO PO"),
    "ambiti": update(Ambito).where(Ambito.code == "50008").values(sioss_code="lom_999"),
    "field_schemas": update(FieldSchema).where(FieldSchema.key == "esiti").values(content={}),
}


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_a_modified_row_is_restored(tx, kind):
    before = load_reference(tx)
    assert before.changes == 0
    tx.execute(MUTATIONS[kind])
    tx.expire_all()

    report = load_reference(tx)
    assert changes_by_kind(report) == {kind: (0, 1, 0)}
    tx.expire_all()
    assert tx.get(Macroarea, "A").name.startswith("Contrasto alla povertà")
    assert tx.get(Ambito, "50008").sioss_code == "lom_72"
    assert tx.get(Asst, "727").ats_code == "328"
    assert load_reference(tx).changes == 0


def test_missing_rows_are_recreated_and_extra_rows_deleted(tx):
    tx.execute(delete(AmbitoDistretto).where(AmbitoDistretto.ambito_code == "50008"))
    tx.execute(delete(macroarea_leps).where(macroarea_leps.c.macroarea_code == "H"))
    tx.execute(insert(macroarea_leps).values(macroarea_code="F", leps_id="adi"))
    tx.execute(insert(KeyPoint).values(macroarea_code="K", position=4, text="Punto in più"))
    tx.execute(insert(Ats).values(code="399", name="ATS INESISTENTE"))
    tx.execute(insert(Asst).values(code="799", name="ASST INESISTENTE", ats_code="399"))
    tx.execute(insert(Distretto).values(code="29999", name="DISTRETTO INESISTENTE"))
    tx.execute(insert(Ambito).values(code="59999", name="Ambito inesistente", sioss_code="lom_999",
                                     ats_code="399"))
    tx.execute(insert(AmbitoDistretto).values(ambito_code="59999", distretto_code="29999", asst_code="799"))
    tx.expire_all()

    report = load_reference(tx)
    assert changes_by_kind(report) == {
        "ambito_distretto": (1, 0, 1),  # Pavia's row back, the fake one gone
        "macroarea_leps": (1, 0, 1),
        "key_points": (0, 0, 1),
        "ats": (0, 0, 1), "asst": (0, 0, 1), "distretti": (0, 0, 1), "ambiti": (0, 0, 1),
    }
    tx.expire_all()
    assert tx.get(Ambito, "59999") is None and tx.get(Ats, "399") is None
    assert [link.distretto_code for link in tx.get(Ambito, "50008").links] == ["22076"]
    assert [lp.id for lp in tx.get(Macroarea, "F").leps] == []
    assert load_reference(tx).changes == 0


def test_key_points_keep_their_identity(tx):
    """Bisogni are tagged with key point ids: a reorder moves rows, a corrected text keeps its row."""
    ids = {kp.text: kp.id for kp in tx.get(Macroarea, "D").key_points}
    first, second, third = tx.get(Macroarea, "D").key_points[:3]
    third_id = third.id
    # swap positions 1 and 2, and garble the text at position 3
    tx.execute(update(KeyPoint).where(KeyPoint.id == first.id).values(position=-1))
    tx.execute(update(KeyPoint).where(KeyPoint.id == second.id).values(position=1))
    tx.execute(update(KeyPoint).where(KeyPoint.id == first.id).values(position=2))
    tx.execute(update(KeyPoint).where(KeyPoint.id == third_id).values(text="Refuso"))
    tx.expire_all()

    report = load_reference(tx)
    assert changes_by_kind(report) == {"key_points": (0, 3, 0)}
    tx.expire_all()
    assert {kp.text: kp.id for kp in tx.get(Macroarea, "D").key_points} == ids
    assert tx.get(KeyPoint, third_id).position == 3


def test_swapped_sioss_codes_are_restored(tx):
    """The unique SIOSS index must not trip when two Ambiti exchange their codes."""
    tx.execute(update(Ambito).where(Ambito.code == "50008").values(sioss_code="tmp"))
    tx.execute(update(Ambito).where(Ambito.code == "50007").values(sioss_code="lom_72"))
    tx.execute(update(Ambito).where(Ambito.code == "50008").values(sioss_code="lom_49"))
    tx.expire_all()

    report = load_reference(tx)
    assert changes_by_kind(report) == {"ambiti": (0, 2, 0)}
    tx.expire_all()
    assert (tx.get(Ambito, "50007").sioss_code, tx.get(Ambito, "50008").sioss_code) == ("lom_49", "lom_72")


# ----------------------------------------------------------------------------- defective data files


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A writable copy of the package data that the loader reads instead."""
    copy = tmp_path / "data"
    shutil.copytree(loader.DATA_DIR, copy)
    monkeypatch.setattr(loader, "DATA_DIR", copy)
    return copy


def test_repeated_csv_rows_count_once(tx, data_copy):
    csv_path = data_copy / "ambiti.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) == 103  # header + 102 rows
    csv_path.write_text("".join(lines + [lines[5]]), encoding="utf-8")

    report = load_reference(tx)
    assert report.changes == 0
    assert report["ambito_distretto"].total == 102
    assert "Righe Ambito–Distretto–ASST: 102 (1 riga ripetuta nel CSV, contata una volta)" in report.summary()


def test_contradictory_csv_is_refused(tx, data_copy):
    csv_path = data_copy / "ambiti.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = lines[1].replace("Milano Città", "Milano")
    csv_path.write_text("".join(lines + [bad]), encoding="utf-8")

    with pytest.raises(ReferenceDataError, match="Ambito 50007"):
        load_reference(tx)


def _edit_json(path, edit) -> None:
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_rows_dropped_from_the_data_are_deleted(tx, data_copy):
    def drop_leps(data):
        data["leps"] = [lp for lp in data["leps"] if lp["id"] != "supervisione_personale"]

    def drop_b(data):
        data[:] = [m for m in data if m["code"] != "B"]
        k = next(m for m in data if m["code"] == "K")
        k["leps_ids"].remove("supervisione_personale")

    _edit_json(data_copy / "leps.json", drop_leps)
    _edit_json(data_copy / "macroaree.json", drop_b)

    report = load_reference(tx)
    assert changes_by_kind(report) == {
        "macroaree": (0, 0, 1), "key_points": (0, 0, 5), "leps": (0, 0, 1),  # the last one: no position shifts
        "macroarea_leps": (0, 0, 2 + 1),
    }
    tx.expire_all()
    assert tx.get(Macroarea, "B") is None and tx.get(Leps, "supervisione_personale") is None
    assert count(tx, KeyPoint) == 65
    assert tx.scalar(select(func.count()).select_from(macroarea_leps)) == 31 - 3


def test_unknown_leps_id_is_refused(tx, data_copy):
    _edit_json(data_copy / "macroaree.json", lambda data: data[0]["leps_ids"].append("inesistente"))
    with pytest.raises(ReferenceDataError, match="LEPS sconosciuti"):
        load_reference(tx)
