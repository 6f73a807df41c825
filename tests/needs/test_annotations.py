"""Annotations through the service: replies, soft deletion and moderation with a recorded reason,
one support per organisation, sanitised Markdown and text limits."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import refused
from tests.needs.test_bisogni import HOSTILE, _assert_clean
from tests.tavoli.support import second_tavolo
from tests.world import add_bisogno
from workspace import record
from workspace.needs import payloads
from workspace.needs import service as needs
from workspace.needs.models import Annotation, AnnotationSupport
from workspace.problems import Problem


@pytest.fixture
def bisogno(session, world):
    return add_bisogno(session, world)


def _annotate(session, who, bisogno, body="Nel nostro quartiere lo vediamo ogni giorno.", kind="esperienza",
              parent_id=None):
    annotation, event = needs.add_annotation(session, who, bisogno, kind, body, parent_id=parent_id)
    session.commit()
    return annotation, event


def test_annotation_attributed_to_the_delegates_organisation(session, world, bisogno):
    annotation, event = _annotate(session, world.colleague, bisogno)
    data = payloads.annotation_member(annotation)
    assert (data["author"], data["organisation"], data["kind"]) == ("Carlo Collega", world.ets.name, "esperienza")
    assert event.kind == "annotation.created" and event.payload == data


@pytest.mark.parametrize("kind", ["opinione", "", None])
def test_unknown_kind_refused(session, world, bisogno, kind):
    refused(session, lambda: needs.add_annotation(session, world.delegate, bisogno, kind, "Testo"),
            "invalid", 422, "Tipo di annotazione")


@pytest.mark.parametrize("body", ["", "   \n ", None])
def test_empty_body_refused(session, world, bisogno, body):
    refused(session, lambda: needs.add_annotation(session, world.delegate, bisogno, "dato", body),
            "invalid", 422, "Testo", "obbligatorio")


def test_reply_threads_under_the_parent(session, world, bisogno):
    parent, _ = _annotate(session, world.delegate, bisogno)
    child, event = _annotate(session, world.delegate2, bisogno, "Confermo, anche da noi.", parent_id=parent.id)
    assert child.parent_id == parent.id and event.payload["parent_id"] == parent.id


def test_reply_to_an_annotation_of_another_bisogno_refused(session, world, bisogno):
    other = add_bisogno(session, world, title="Altro bisogno")
    parent, _ = _annotate(session, world.delegate, other)
    refused(session, lambda: needs.add_annotation(session, world.delegate2, bisogno, "dato", "Risposta", parent_id=parent.id),
            "invalid", 422, "stesso bisogno")
    refused(session, lambda: needs.add_annotation(session, world.delegate2, bisogno, "dato", "Risposta", parent_id=999_999),
            "invalid", 422, "stesso bisogno")


def test_lookup_by_tavolo_refuses_ids_of_another_tavolo(session, world, bisogno):
    _, _, other_bisogno, other_annotation = second_tavolo(session, world)
    with pytest.raises(Problem) as caught:
        needs.get_annotation(session, other_annotation.id, world.tavolo.id)
    assert (caught.value.code, caught.value.status, caught.value.message) == ("not_found", 404,
                                                                            "Annotazione inesistente.")
    with pytest.raises(Problem) as caught:
        needs.get_bisogno(session, other_bisogno.id, world.tavolo.id)
    assert (caught.value.code, caught.value.message) == ("not_found", "Bisogno inesistente.")


# --- deletion and moderation -----------------------------------------------------------------------


def test_own_deletion_keeps_the_row_and_hides_the_text(session, world, bisogno):
    annotation, _ = _annotate(session, world.delegate, bisogno, "Testo che ritiro")
    event = needs.delete_annotation(session, world.delegate, annotation)
    session.commit()
    row = session.get(Annotation, annotation.id)
    assert row is not None and row.body == "Testo che ritiro"  # kept for the record
    assert (row.deleted_by_id, row.moderated, row.deletion_reason) == (world.delegate.id, False, None)
    assert row.deleted_at is not None
    data = payloads.annotation_member(row)
    assert (data["deleted"], data["body"], data["body_html"], data["moderated"]) == (True, None, None, False)
    assert event.kind == "annotation.deleted" and event.payload == data
    assert "Testo che ritiro" not in str(event.payload)
    snap = needs.needs_snapshot(session, world.tavolo)
    assert [a for a in snap["annotations"] if a["id"] == annotation.id] == [data]


def test_moderation_requires_and_records_a_reason(session, world, bisogno):
    annotation, _ = _annotate(session, world.delegate2, bisogno, "Il signor Rossi di via Roma 3 è malato.")
    refused(session, lambda: needs.delete_annotation(session, world.facilitator, annotation, "  "),
            "invalid", 422, "Motivazione", "obbligatorio")
    refused(session, lambda: needs.delete_annotation(session, world.facilitator, annotation, "r" * 1001),
            "too_long", 413, "Motivazione", "1.000")
    event = needs.delete_annotation(session, world.facilitator, annotation, "Dati personali di terzi")
    session.commit()
    row = session.get(Annotation, annotation.id)
    assert (row.moderated, row.deletion_reason, row.deleted_by_id) == (True, "Dati personali di terzi",
                                                                      world.facilitator.id)
    assert event.payload["moderation_reason"] == "Dati personali di terzi" and event.payload["body"] is None
    assert "Rossi" not in str(event.payload)
    refused(session, lambda: needs.delete_annotation(session, world.facilitator, annotation, "Di nuovo"),
            "conflict", 409, "già stata eliminata")


def test_a_delegate_cannot_delete_a_colleagues_annotation(session, world, bisogno):
    annotation, _ = _annotate(session, world.delegate, bisogno)
    refused(session, lambda: needs.delete_annotation(session, world.colleague, annotation, "Non mi piace"),
            "forbidden", 403, "Solo i facilitatori")


# --- supports ----------------------------------------------------------------------------------------


def _supports(session, annotation_id):
    return session.scalars(select(AnnotationSupport).where(AnnotationSupport.annotation_id == annotation_id)).all()


def test_one_support_per_organisation(session, world, bisogno):
    annotation, _ = _annotate(session, world.facilitator, bisogno)
    first = needs.toggle_support(session, world.delegate, annotation, True)
    second = needs.toggle_support(session, world.colleague, annotation, True)
    session.commit()
    rows = _supports(session, annotation.id)
    assert [(r.organisation_id, r.user_id) for r in rows] == [(world.ets.id, world.delegate.id)]
    assert first.payload["supports"] == second.payload["supports"] == [world.ets.name]
    needs.toggle_support(session, world.delegate2, annotation, True)
    session.commit()
    assert payloads.annotation_member(session.get(Annotation, annotation.id))["supports"] == sorted(
        [world.ets.name, world.ets2.name])
    # any delegate of the organisation may withdraw its support
    event = needs.toggle_support(session, world.colleague, annotation, False)
    session.commit()
    assert event.payload["supports"] == [world.ets2.name]
    assert [r.organisation_id for r in _supports(session, annotation.id)] == [world.ets2.id]


def test_support_on_a_deleted_annotation_refused(session, world, bisogno):
    annotation, _ = _annotate(session, world.delegate, bisogno)
    needs.delete_annotation(session, world.delegate, annotation)
    session.commit()
    refused(session, lambda: needs.toggle_support(session, world.delegate2, annotation, True),
            "conflict", 409, "eliminata")


# --- Markdown and sizes ----------------------------------------------------------------------------


def test_markdown_sanitised_in_annotation_member(session, world, bisogno):
    annotation, event = _annotate(session, world.delegate, bisogno, HOSTILE)
    html = payloads.annotation_member(annotation)["body_html"]
    _assert_clean(html)
    _assert_clean(event.payload["body_html"])
    assert "<strong>importante</strong>" in html


def test_oversized_annotation_refused_and_nothing_written(app, session, world, bisogno):
    refused(session, lambda: needs.add_annotation(session, world.delegate, bisogno, "dato", "a" * 20_001),
            "too_long", 413, "Testo", "20.000", "20.001")
    app.config["TEXT_LIMIT"] = 50
    refused(session, lambda: needs.add_annotation(session, world.delegate, bisogno, "dato", "a" * 51),
            "too_long", 413, "limite di 50")
    annotation, _ = _annotate(session, world.delegate, bisogno, "a" * 50)
    assert [a.id for a in session.get(type(bisogno), bisogno.id).annotations] == [annotation.id]
    assert [e.kind for e in record.events_between(session, world.tavolo.id)].count("annotation.created") == 1
