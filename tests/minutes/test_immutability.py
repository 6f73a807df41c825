"""An approved verbale never changes: every service that writes refuses (one guard), every route that
writes refuses and leaves the database as it was, no live (Socket.IO) event belongs to the verbali,
and a write that slipped past the services would be refused at flush by the model itself. An errata
is a new record; the original stays byte for byte what was approved."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import csrf_token_from, database_footprint, footprint_changes, refused
from tests.minutes.support import approved, get, scripted_seduta
from tests.world import login_client
from workspace import realtime
from workspace.minutes import content as contents
from workspace.minutes import review, service
from workspace.minutes.models import Verbale, VerbaleRemark
from workspace.problems import Problem

FROZEN = ("verbale_approved", 409, "approvato")


def _snapshot(verbale: Verbale) -> tuple:
    return (verbale.status, verbale.version, verbale.content_sha256, verbale.pdf_sha256, verbale.public_pdf_sha256,
            dict(verbale.narrative), contents.sha256(verbale.content), verbale.approved_at,
            [(r.id, r.status, r.reason, r.text) for r in verbale.remarks])


@pytest.fixture
def frozen(session):
    s = scripted_seduta(session)
    approved(session, s)
    return s


def test_every_service_refuses_an_approved_verbale(session, frozen):
    s = frozen
    verbale = get(session, s)
    before = _snapshot(verbale)
    remark = verbale.remarks[0]
    calls = {
        "regenerate": lambda: service.regenerate(session, s.facilitator, verbale),
        "save_section": lambda: service.save_section(session, s.facilitator, verbale, "apertura", "Nuovo testo.",
                                                     service.section_version(session, verbale, "apertura")),
        "send_for_review": lambda: review.send_for_review(session, s.facilitator, verbale),
        "file_remark": lambda: review.file_remark(session, s.delegate, verbale, None, "Tardiva."),
        "decide_remark": lambda: review.decide_remark(session, s.facilitator, verbale, remark, False, "Ci ripenso."),
        "approve": lambda: service.approve(session, s.facilitator, verbale),
    }
    for name, call in calls.items():
        problem = refused(session, call, *FROZEN)
        assert "errata corrige" in problem.message, name
    # Generating again for the seduta is refused too (it has its verbale).
    refused(session, lambda: service.create_draft(session, s.facilitator, s.seduta), "conflict", 409)
    session.expire_all()
    assert _snapshot(get(session, s)) == before


def test_the_model_refuses_any_write_that_slipped_past_the_services(session, frozen):
    s = frozen
    verbale = get(session, s)
    digest = verbale.content_sha256
    verbale.narrative = {"apertura": "Riscritto di nascosto."}
    with pytest.raises(Problem) as caught:
        session.flush()
    assert caught.value.code == "verbale_approved"
    session.rollback()
    remark = session.scalar(select(VerbaleRemark).where(VerbaleRemark.verbale_id == s.verbale_id))
    remark.reason = "Motivazione cambiata."
    with pytest.raises(Problem):
        session.flush()
    session.rollback()
    verbale = get(session, s)
    verbale.status = "bozza"  # not even un-approving it
    with pytest.raises(Problem):
        session.flush()
    session.rollback()
    session.expire_all()
    assert get(session, s).content_sha256 == digest and get(session, s).status == "approvato"


def test_no_live_event_belongs_to_the_verbali(app):
    handlers = realtime.handlers(app)
    assert handlers, "the live channel has handlers"
    assert not [name for name, fn in handlers.items() if getattr(fn, "__module__", "").startswith("workspace.minutes")]
    assert not [name for name in handlers if "verbal" in name]


def test_every_route_refuses_an_approved_verbale(app, scripted, in_app):
    s = scripted
    with in_app() as db:
        approved(db, s)
        remark_id = get(db, s).remarks[0].id
    base = f"/tavoli/{s.tavolo.id}/verbali/{s.verbale_id}"
    fabio, _ = login_client(app, s.facilitator)
    token = csrf_token_from(fabio.get(base).get_data(as_text=True))
    prefix = f"esito-{remark_id}"
    posts = {
        f"{base}/rigenera": {},
        f"{base}/revisione": {"days": "7"},
        f"{base}/osservazioni/{remark_id}/esito": {f"{prefix}-decision": "respinta", f"{prefix}-reason": "No."},
        f"{base}/approva": {},
        f"{base}/sezioni/apertura": {"version": "2", "text": "Nuovo testo."},
        f"/tavoli/{s.tavolo.id}/sedute/{s.seduta.id}/verbale/genera": {},
    }
    delia, _ = login_client(app, s.delegate)
    delia_token = csrf_token_from(delia.get(base).get_data(as_text=True))
    with in_app() as db:
        before = database_footprint(db)
    for url, data in posts.items():
        response = fabio.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 409, (url, response.status_code)
        assert "approvato" in response.get_data(as_text=True) or "esiste già" in response.get_data(as_text=True), url
    # Remarks come from attendees: Delia was there.
    remark = delia.post(f"{base}/osservazioni", data={"csrf_token": delia_token, "section": "", "text": "Tardiva."})
    assert remark.status_code == 409 and "approvato" in remark.get_data(as_text=True)
    assert fabio.get(f"{base}/sezioni/apertura").status_code == 409
    with in_app() as db:
        assert footprint_changes(before, database_footprint(db)) == []
    page = fabio.get(base).get_data(as_text=True)
    assert "Ricalcola le parti generate" not in page and "Approva il verbale" not in page
    assert "Modifica<span" not in page and "Scrivi<span" not in page


def test_an_errata_is_a_new_record_that_cites_the_original(session, frozen):
    s = frozen
    original = get(session, s)
    before = _snapshot(original)
    refused(session, lambda: service.issue_errata(session, s.delegate, original, "x", "y"), "forbidden", 403)
    footprint = database_footprint(session)
    with pytest.raises(Problem) as caught:
        service.issue_errata(session, s.facilitator, original, "", "  ")
    assert (caught.value.status, set(caught.value.errors)) == (422, {"corrections", "reason"})
    session.commit()
    assert footprint_changes(footprint, database_footprint(session)) == []
    errata = service.issue_errata(session, s.facilitator, original, "Al punto 2 si legga «Comune di Pavia».",
                                  "Refuso nel nome dell'ente.")
    session.commit()
    assert (errata.edition, errata.corrects_id, errata.status, errata.seduta_id) == (2, original.id, "approvato",
                                                                                   original.seduta_id)
    assert errata.content["corrects"] == {"id": original.id, "edition": 1, "sha256": original.content_sha256,
                                          "approved_at": original.approved_at.isoformat()}
    assert errata.content_sha256 == contents.sha256(errata.content) != original.content_sha256
    assert errata.pdf.startswith(b"%PDF-")
    session.expire_all()
    assert _snapshot(get(session, s)) == before
    # The errata is frozen too, and an errata of an errata is refused.
    refused(session, lambda: service.save_section(session, s.facilitator, errata, "apertura", "x", 0), *FROZEN)
    refused(session, lambda: service.issue_errata(session, s.facilitator, errata, "x", "y"), "conflict", 409)
    second = service.issue_errata(session, s.facilitator, get(session, s), "Seconda correzione.", "Altro refuso.")
    session.commit()
    assert second.edition == 3 and [e.id for e in service.errata_of(session, get(session, s))] == [errata.id, second.id]


def test_an_errata_only_for_an_approved_verbale(session):
    s = scripted_seduta(session)
    refused(session, lambda: service.issue_errata(session, s.facilitator, get(session, s), "x", "y"), "conflict", 409,
            "approvato")
