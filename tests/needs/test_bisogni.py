"""Bisogni through the service: contribution window with frozen time, key points and territory
from the reference data, versioning and stale edits, states and merge, sanitised Markdown, text
limits, and the event each write leaves in the tavolo's record."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.helpers import refused
from tests.tavoli.support import footprint, start_live
from tests.world import AMBITO, add_bisogno, bisogno_data
from workspace import record
from workspace.accounts.models import Organisation
from workspace.needs import payloads
from workspace.needs import service as needs
from workspace.needs.models import Bisogno, BisognoVersion
from workspace.problems import Problem
from workspace.reference.models import Ambito, KeyPoint
from workspace.tavoli import service as tavoli

OPENS = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)  # 10:00 in Rome (CET)
CLOSES = datetime(2025, 4, 30, 16, 0, tzinfo=UTC)  # 18:00 in Rome (CEST)


@pytest.fixture
def dated(session, world):
    """The tavolo's window fixed in the past: 10/03/2025 10:00 - 30/04/2025 18:00, Rome time."""
    world.tavolo.contribution_opens_at, world.tavolo.contribution_closes_at = OPENS, CLOSES
    session.commit()
    return world


def _key_point(session, code: str) -> KeyPoint:
    kp = session.scalars(select(KeyPoint).where(KeyPoint.macroarea_code == code).order_by(KeyPoint.id)).first()
    assert kp is not None, f"nessun punto chiave ufficiale per la macroarea {code} nei dati di riferimento"
    return kp


# --- contribution window ---------------------------------------------------------------------------


def test_before_opening_refused_with_the_opening_date(session, dated):
    refused(session, lambda: needs.create_bisogno(session, dated.delegate, dated.tavolo, bisogno_data(), now=OPENS - timedelta(minutes=1)),
            "window_closed", 409, "apre il 10/03/2025 10:00")


def test_after_closing_refused_with_the_closing_date(session, dated):
    refused(session, lambda: needs.create_bisogno(session, dated.delegate, dated.tavolo, bisogno_data(), now=CLOSES + timedelta(seconds=1)),
            "window_closed", 409, "chiusa dal 30/04/2025 18:00")


@pytest.mark.parametrize("moment", [OPENS, OPENS + timedelta(days=20), CLOSES])
def test_inside_the_window_accepted(session, dated, moment):
    bisogno, event = needs.create_bisogno(session, dated.delegate, dated.tavolo, bisogno_data(), now=moment)
    session.commit()
    assert bisogno.seduta_id is None and event.kind == "bisogno.created"


def test_no_window_means_only_during_sedute(session, world):
    world.tavolo.contribution_opens_at = world.tavolo.contribution_closes_at = None
    session.commit()
    refused(session, lambda: needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data()),
            "window_closed", 409, "solo durante le sedute")


def test_live_seduta_accepts_contributions_with_the_window_closed(session, dated):
    now = CLOSES + timedelta(days=30)
    refused(session, lambda: needs.create_bisogno(session, dated.delegate, dated.tavolo, bisogno_data(), now=now),
            "window_closed", 409)
    seduta = start_live(session, dated)
    bisogno, _ = needs.create_bisogno(session, dated.delegate, dated.tavolo, bisogno_data(), now=now)
    annotation, _ = needs.add_annotation(session, dated.delegate2, bisogno, "dato", "Dato raccolto in seduta")
    needs.update_bisogno(session, dated.delegate, bisogno, {"title": "Riformulato in seduta"})
    session.commit()
    assert bisogno.seduta_id == seduta.id and annotation.id


def test_closed_window_also_refuses_edits_and_annotations(session, world):
    bisogno = add_bisogno(session, world)
    world.tavolo.contribution_closes_at = world.tavolo.contribution_opens_at + timedelta(seconds=1)
    session.commit()
    refused(session, lambda: needs.update_bisogno(session, world.delegate, bisogno, {"title": "Tardi"}),
            "window_closed", 409, "chiusa dal")
    refused(session, lambda: needs.add_annotation(session, world.delegate2, bisogno, "dato", "Tardi"),
            "window_closed", 409, "chiusa dal")
    assert session.get(Bisogno, bisogno.id).title == bisogno_data()["title"]


def test_window_check_uses_rome_time_and_frozen_now(session, dated):
    assert tavoli.check_contribution_window(session, dated.tavolo, OPENS + timedelta(hours=1)) is None
    with pytest.raises(Problem) as caught:
        tavoli.check_contribution_window(session, dated.tavolo, datetime(2025, 1, 1, tzinfo=UTC))
    assert "10/03/2025 10:00" in caught.value.message


# --- key points and territory -----------------------------------------------------------------------


def test_key_points_of_the_bisognos_macroarea(session, world):
    kp_e = _key_point(session, "E")
    bisogno, _ = needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(key_points=[kp_e.id]))
    session.commit()
    assert [k.id for k in bisogno.key_points] == [kp_e.id]
    assert payloads.bisogno_member(bisogno)["key_points"] == [{"id": kp_e.id, "macroarea": "E", "text": kp_e.text}]


def test_key_point_of_another_macroarea_refused(session, world):
    kp_a = _key_point(session, "A")
    refused(session, lambda: needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(key_points=[kp_a.id])),
            "invalid", 422, "punti chiave", "macroaree del bisogno")


def test_key_point_of_a_transversal_macroarea_accepted(session, world):
    kp_a = _key_point(session, "A")
    bisogno, _ = needs.create_bisogno(session, world.delegate, world.tavolo,
                                      bisogno_data(transversal=["A"], key_points=[kp_a.id]))
    session.commit()
    assert [m.code for m in bisogno.transversal] == ["A"] and bisogno.key_points == [kp_a]


@pytest.mark.parametrize("key_points", [[999_999], ["uno"], [True]])
def test_unknown_or_malformed_key_points_refused(session, world, key_points):
    refused(session, lambda: needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(key_points=key_points)),
            "invalid", 422, "chiave")


def test_primary_macroarea_must_be_the_tavolos(session, world):
    refused(session, lambda: needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(macroarea="A")),
            "invalid", 422, "macroarea principale")


def test_territory_only_comuni_of_the_ambito(session, world):
    bisogno, _ = needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(comuni=[world.comune.id]))
    session.commit()
    assert payloads.bisogno_member(bisogno)["comuni"] == [{"id": world.comune.id, "name": "Comune di Pavia"}]


def _comune_elsewhere(session) -> Organisation:
    other = session.scalars(select(Ambito.code).where(Ambito.code != AMBITO).order_by(Ambito.code)).first()
    comune = Organisation(name="Comune di Altrove", kind="comune", ambito_code=other)
    session.add(comune)
    session.commit()
    return comune


@pytest.mark.parametrize("which", ["other_ambito", "not_a_comune", "unknown"])
def test_territory_outside_the_ambito_refused(session, world, which):
    comune_id = {"other_ambito": lambda: _comune_elsewhere(session).id,
                 "not_a_comune": lambda: world.ets.id,
                 "unknown": lambda: 999_999}[which]()
    refused(session, lambda: needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(comuni=[world.comune.id, comune_id])),
            "invalid", 422, "Comuni dell'Ambito")


@pytest.mark.parametrize("field,value,fragment", [
    ("title", "   ", "obbligatorio"),
    ("evidence_year", 1900, "anno del dato"),
    ("evidence_year", "duemila", "anno del dato"),
    ("consolidation", "vecchio", "consolidato o nuovo"),
    ("transversal", ["Z"], "trasversale"),
    ("description", 42, "deve essere un testo"),
])
def test_invalid_fields_refused(session, world, field, value, fragment):
    refused(session, lambda: needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(**{field: value})),
            "invalid", 422, fragment)


# --- versioning --------------------------------------------------------------------------------------


def test_every_edit_adds_a_version_and_history_keeps_old_values(session, world):
    bisogno = add_bisogno(session, world)
    original = bisogno_data()
    needs.update_bisogno(session, world.delegate, bisogno, {"title": "Secondo titolo"}, expected_version=1)
    session.commit()
    needs.update_bisogno(session, world.colleague, bisogno, {"description": "Nuova _descrizione_"},
                         expected_version=2)
    session.commit()
    row = session.get(Bisogno, bisogno.id)
    assert row.version == 3
    versions = session.scalars(select(BisognoVersion).where(BisognoVersion.bisogno_id == bisogno.id)
                               .order_by(BisognoVersion.version)).all()
    assert [(v.version, v.change) for v in versions] == [(1, "creato"), (2, "modificato"), (3, "modificato")]
    assert [v.data["title"] for v in versions] == [original["title"], "Secondo titolo", "Secondo titolo"]
    assert [v.data["description"] for v in versions] == [original["description"]] * 2 + ["Nuova _descrizione_"]
    assert [v.author_id for v in versions] == [world.delegate.id, world.delegate.id, world.colleague.id]
    # untouched fields survive a partial edit
    assert (row.evidence_figure, row.consolidation) == (original["evidence_figure"], "consolidato")


def test_stale_expected_version_is_a_conflict(session, world):
    bisogno = add_bisogno(session, world)
    needs.update_bisogno(session, world.facilitator, bisogno, {"title": "Prima modifica"}, expected_version=1)
    session.commit()
    refused(session, lambda: needs.update_bisogno(session, world.delegate, bisogno, {"title": "Modifica su versione vecchia"}, expected_version=1),
            "conflict", 409, "modificato nel frattempo", "versione 2")
    row = session.get(Bisogno, bisogno.id)
    assert (row.title, row.version, len(row.versions)) == ("Prima modifica", 2, 2)


def test_status_changes_are_versioned_and_follow_the_transitions(session, world):
    bisogno = add_bisogno(session, world)
    needs.set_status(session, world.facilitator, bisogno, "in_discussione")
    needs.set_status(session, world.delegate, bisogno, "ritirato")
    session.commit()
    refused(session, lambda: needs.set_status(session, world.facilitator, bisogno, "in_discussione"),
            "conflict", 409, "da «ritirato» a «in_discussione»")
    refused(session, lambda: needs.update_bisogno(session, world.delegate, bisogno, {"title": "Non si può"}),
            "conflict", 409, "ritirato non si modifica")
    refused(session, lambda: needs.set_status(session, world.facilitator, bisogno, "approvato"),
            "invalid", 422, "Stato non valido")
    refused(session, lambda: needs.set_status(session, world.facilitator, bisogno, "accorpato"),
            "conflict", 409, "Passaggio di stato non consentito")  # only through merge
    needs.set_status(session, world.facilitator, bisogno, "proposto")
    session.commit()
    row = session.get(Bisogno, bisogno.id)
    assert [(v.version, v.change, v.data["status"]) for v in row.versions] == [
        (1, "creato", "proposto"), (2, "stato", "in_discussione"), (3, "stato", "ritirato"), (4, "stato", "proposto")]


# --- merge -------------------------------------------------------------------------------------------


def test_merge_keeps_links_and_annotations(session, world):
    first = add_bisogno(session, world, world.delegate, title="Anziani soli")
    second = add_bisogno(session, world, world.delegate2, title="Isolamento sociale")
    note, _ = needs.add_annotation(session, world.delegate2, first, "dato", "Il 30% vive solo.")
    session.commit()
    event = needs.merge_bisogno(session, world.facilitator, first, second)
    session.commit()
    merged = session.get(Bisogno, first.id)
    assert (merged.status, merged.merged_into_id, merged.version) == ("accorpato", second.id, 2)
    assert merged.versions[-1].change == "accorpato"
    assert [a.id for a in merged.annotations] == [note.id] and note.bisogno_id == first.id
    assert event.payload["into"] == second.id and event.payload["merged_into"] == second.id
    assert payloads.bisogno_member(merged)["merged_into"] == second.id
    assert session.get(Bisogno, second.id).status == "proposto"
    snap = needs.needs_snapshot(session, world.tavolo)
    assert {b["id"] for b in snap["bisogni"]} == {first.id, second.id}
    assert [a["id"] for a in snap["annotations"]] == [note.id]


def test_merge_refusals(session, world):
    first = add_bisogno(session, world, title="Primo")
    second = add_bisogno(session, world, title="Secondo")
    third = add_bisogno(session, world, title="Terzo")
    refused(session, lambda: needs.merge_bisogno(session, world.facilitator, first, first),
            "invalid", 422, "stesso tavolo")
    needs.merge_bisogno(session, world.facilitator, first, second)
    session.commit()
    refused(session, lambda: needs.merge_bisogno(session, world.facilitator, first, third),
            "conflict", 409, "già accorpati")
    refused(session, lambda: needs.merge_bisogno(session, world.facilitator, third, first),
            "conflict", 409, "già accorpati")
    refused(session, lambda: needs.add_annotation(session, world.delegate, first, "dato", "Troppo tardi"),
            "conflict", 409, "accorpato o ritirato")


def test_merge_across_tavoli_refused(session, world):
    from tests.tavoli.support import second_tavolo

    _, _, elsewhere, _ = second_tavolo(session, world)
    here = add_bisogno(session, world)
    refused(session, lambda: needs.merge_bisogno(session, world.facilitator, here, elsewhere),
            "invalid", 422, "stesso tavolo")


# --- Markdown and sizes ----------------------------------------------------------------------------

HOSTILE = ("Testo **importante**.\n\n<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n"
           "[clicca](javascript:alert(2)) <a href=\"javascript:alert(3)\" onclick=\"alert(4)\">qui</a>\n\n"
           "<iframe src=\"https://evil.example\"></iframe><style>body{display:none}</style>")


def _assert_clean(html: str) -> None:
    """No markup a person wrote survives as markup (issue 12: it is shown as text, escaped):
    only the sanitiser's tags, no event handler, no javascript: target."""
    from html.parser import HTMLParser

    from workspace.markdown import ALLOWED_TAGS

    found: list[tuple[str, list]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Tags().feed(html)
    for tag, attrs in found:
        assert tag in ALLOWED_TAGS | {"div"}, (tag, html)
        for name, value in attrs:
            assert not name.startswith("on"), (name, html)
            assert "javascript" not in (value or "").lower(), (value, html)
    lowered = html.lower()
    for bad in ("<script", "<img", "<iframe", "<style"):
        assert bad not in lowered, (bad, html)
    # ...and the text is still there to read.
    assert "&lt;script&gt;" in html


def test_markdown_sanitised_in_bisogno_member(session, world):
    bisogno = add_bisogno(session, world, description=HOSTILE)
    html = payloads.bisogno_member(bisogno)["description_html"]
    _assert_clean(html)
    assert "<strong>importante</strong>" in html and ">clicca</a>" in html
    # the source is kept verbatim (it is what the author wrote); only the HTML is rendered
    assert session.get(Bisogno, bisogno.id).description == HOSTILE.strip()
    event = record.events_between(session, world.tavolo.id)[-1]
    _assert_clean(event.payload["description_html"])


def test_oversized_description_refused_and_nothing_written(session, world):
    refused(session, lambda: needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(description="x" * 20_001)),
            "too_long", 413, "Descrizione", "20.000")
    bisogno, _ = needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(description="x" * 20_000))
    session.commit()
    assert len(bisogno.description) == 20_000


def test_lowered_text_limit(app, session, world):
    app.config["TEXT_LIMIT"] = 100
    bisogno = add_bisogno(session, world, description="y" * 100)
    refused(session, lambda: needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(description="y" * 101)),
            "too_long", 413, "limite di 100 caratteri", "101")
    refused(session, lambda: needs.update_bisogno(session, world.delegate, bisogno, {"description": "z" * 101, "title": "Cambiato"}),
            "too_long", 413, "limite di 100")
    row = session.get(Bisogno, bisogno.id)
    assert (row.description, row.title, row.version) == ("y" * 100, bisogno_data()["title"], 1)


def test_oversized_title_refused(session, world):
    refused(session, lambda: needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(title="t" * 301)),
            "too_long", 413, "Titolo", "300")


def test_every_write_appends_one_event_and_refusals_none(session, world):
    start = footprint(session, world.tavolo.id)
    bisogno = add_bisogno(session, world)
    needs.update_bisogno(session, world.delegate, bisogno, {"title": "Due"})
    session.commit()
    refused(session, lambda: needs.update_bisogno(session, world.delegate2, bisogno, {"title": "Tre"}),
            "forbidden", 403)
    needs.set_status(session, world.facilitator, bisogno, "in_discussione")
    session.commit()
    events = record.events_between(session, world.tavolo.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.kind for e in events][-3:] == ["bisogno.created", "bisogno.updated", "bisogno.status"]
    assert record.last_seq(session, world.tavolo.id) == start["last_seq"] + 3
    assert all(e.payload["id"] == bisogno.id for e in events[-3:])
    assert [e.payload["version"] for e in events[-3:]] == [1, 2, 3]
