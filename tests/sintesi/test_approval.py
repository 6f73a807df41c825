"""Drafting, review and approval of the documento di sintesi: optimistic locking of the introduction,
who may do what, approval freezing content, hash and PDF/A, and concluding the procedure."""
from __future__ import annotations

from sqlalchemy import select

from tests.exports.readback import pdf_text, pdf_xmp
from tests.helpers import refused
from tests.sintesi.support import INTRO, drafted, in_review, procedure_of, running_procedure
from workspace.minutes import content as contents
from workspace.needs import service as needs
from workspace.procedures import lifecycle
from workspace.procedures.models import ProcedureTransition
from workspace.sintesi import service
from workspace.sintesi.models import DocumentoSintesi
from workspace.tavoli import service as tavoli


def test_approval_freezes_the_document_and_concludes_the_procedure(session):
    c = running_procedure(session)
    documento = in_review(session, c)
    service.approve(session, c.admin, documento)
    session.commit()
    session.expire_all()
    documento = session.get_one(DocumentoSintesi, documento.id)
    assert documento.status == "approvato" and documento.approved_by_id == c.admin.id
    assert documento.content is not None and documento.content["introduction"] == INTRO
    assert documento.content["approval"]["person"] == c.admin.name
    assert documento.content_sha256 == contents.sha256(documento.content)
    assert documento.pdf is not None and documento.pdf_sha256 == contents.file_sha256(documento.pdf)
    assert pdf_xmp(documento.pdf)["part"] == "2" and pdf_xmp(documento.pdf)["conformance"] == "B"
    text = pdf_text(documento.pdf)
    assert "Priorità per macroarea" in text and documento.content_sha256 in text.replace("\n", "")
    procedure = procedure_of(session, c)
    assert procedure.status == "conclusa"
    step = session.scalars(select(ProcedureTransition).where(ProcedureTransition.procedure_id == procedure.id)
                           .order_by(ProcedureTransition.id.desc())).first()
    assert step is not None and (step.from_status, step.to_status, step.actor_id) == (
        "tavoli_in_corso", "conclusa", c.admin.id)
    # The stored PDF/A is what is downloaded, byte for byte.
    assert service.document_bytes(documento, "pdf") == documento.pdf
    assert [v.change for v in documento.versions] == ["generato", "introduzione", "revisione", "approvato"]


def test_approval_needs_the_review_first(session):
    c = running_procedure(session)
    documento = drafted(session, c)
    refused(session, lambda: service.approve(session, c.admin, documento), "conflict", 409, "revisione")
    assert procedure_of(session, c).status == "tavoli_in_corso"


def test_sending_for_review_needs_the_introduction(session):
    c = running_procedure(session)
    documento = service.create_draft(session, c.admin, procedure_of(session, c))
    session.commit()
    refused(session, lambda: service.send_for_review(session, c.admin, documento), "invalid", 422, "introduzione")


def test_approval_refused_when_the_data_changed_after_generation(session):
    c = running_procedure(session)
    documento = in_review(session, c)
    needs.create_bisogno(session, c.delegate, c.tavolo, {"title": "Un bisogno arrivato dopo", "macroarea": "E"})
    session.commit()
    refused(session, lambda: service.approve(session, c.admin, documento), "conflict", 409, "ricalcola")
    service.regenerate(session, c.admin, documento)
    session.commit()
    assert documento.generated["contributions"]["totals"]["bisogni"] == 3
    service.approve(session, c.admin, documento)
    session.commit()
    assert procedure_of(session, c).status == "conclusa"


def test_approval_refused_while_a_seduta_is_in_progress(session):
    c = running_procedure(session)
    documento = in_review(session, c)
    from datetime import timedelta

    from workspace.db import utcnow

    seduta = tavoli.create_seduta(session, c.facilitator, c.tavolo, utcnow() + timedelta(hours=1), "Sala", "presenza",
                                  ["Chiusura"])
    tavoli.start_seduta(session, c.facilitator, seduta)
    session.commit()
    service.regenerate(session, c.admin, documento)
    session.commit()
    refused(session, lambda: service.approve(session, c.admin, documento), "conflict", 409, "in corso")


def test_stale_introduction_is_refused_and_nothing_is_lost(session):
    c = running_procedure(session)
    documento = drafted(session, c)
    seen = documento.version
    service.save_introduction(session, c.admin, documento, "Primo testo.", seen)
    session.commit()
    refused(session, lambda: service.save_introduction(session, c.admin, documento, "Secondo testo.", seen),
            "stale_version", 409, "Nel frattempo")
    assert documento.introduction == "Primo testo."


def test_only_the_rup_drafts_and_members_read_after_review(session):
    from workspace.sintesi import permissions

    c = running_procedure(session)
    procedure = procedure_of(session, c)
    refused(session, lambda: service.create_draft(session, c.facilitator, procedure), "forbidden", 403, "RUP")
    documento = drafted(session, c)
    assert not permissions.can_read(session, c.delegate, procedure, documento)
    refused(session, lambda: service.save_introduction(session, c.delegate, documento, "No.", documento.version),
            "forbidden", 403)
    service.send_for_review(session, c.admin, documento)
    session.commit()
    assert permissions.can_read(session, c.delegate, procedure, documento)
    assert permissions.can_read(session, c.observer, procedure, documento)
    assert not permissions.can_read(session, c.outsider, procedure, documento)
    refused(session, lambda: service.approve(session, c.delegate, documento), "forbidden", 403)


def test_the_procedure_concludes_only_through_the_documento(session):
    c = running_procedure(session)
    procedure = procedure_of(session, c)
    assert lifecycle.next_status(procedure) is None
    refused(session, lambda: lifecycle.transition(session, c.admin, procedure, "conclusa"), "conflict", 409,
            "documento di sintesi")
