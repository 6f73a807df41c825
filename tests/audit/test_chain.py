"""The audit trail's chain on a scripted sequence of changes, on SQLite and PostgreSQL: what each
entry holds, how entries link, and that an entry exists if and only if its change was committed."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.audit.support import assert_chained, entries, summary
from tests.helpers import refused
from tests.world import add_bisogno, build_world
from workspace import signals
from workspace.accounts import service as accounts
from workspace.audit import chain
from workspace.audit.models import GENESIS, AuditEntry, AuditHead
from workspace.needs import service as needs
from workspace.tavoli import service as tavoli


def test_a_scripted_sequence_is_recorded_and_chained(session):
    w = build_world(session)
    before = len(entries(session))
    assert before == 10  # the procedure, the tavolo, its members and roles, the convened seduta

    tavoli.start_seduta(session, w.facilitator, w.seduta)
    session.commit()
    bisogno = add_bisogno(session, w, title="Solitudine degli anziani (testo che non entra nel registro)")
    annotation, _ev = needs.add_annotation(session, w.delegate2, bisogno, "esperienza",
                                           "Un'esperienza raccontata da Dario Delegato")
    session.commit()
    tavoli.close_seduta(session, w.facilitator, w.seduta)
    accounts.create_organisation(session, name="Comune di Certosa di Pavia", kind="comune", actor=w.admin)
    session.commit()

    rows = assert_chained(session)
    # Closing the seduta also drafts its verbale (the minutes area announces it).
    draft = next(e for e in rows[before:] if e.action == "verbale.generated")
    new = [e for e in rows[before:] if e is not draft]
    org_id = new[-1].object_id
    assert summary(new) == [
        ("seduta.started", w.facilitator.id, "seduta", w.seduta.id),
        ("bisogno.created", w.delegate.id, "bisogno", bisogno.id),
        ("annotation.created", w.delegate2.id, "annotation", annotation.id),
        ("seduta.closed", w.facilitator.id, "seduta", w.seduta.id),
        ("organisation.created", w.admin.id, "organisation", org_id),
    ]
    assert rows.index(draft) == rows.index(new[3]) + 1 and draft.actor_id == w.facilitator.id
    # Events: the tavolo, their number in its record, and the payload's ids and codes; no text.
    assert new[0].details == {"id": w.seduta.id, "tavolo_id": w.tavolo.id, "number": 1, "mode": "mista",
                              "status": "in_corso", "seq": 10, "current_item_id": new[0].details["current_item_id"]}
    assert new[2].details["kind"] == "esperienza" and new[2].details["bisogno_id"] == bisogno.id
    assert new[4].details == {"kind": "comune", "ambito_code": None}
    # The label is frozen at writing time: name and organisation.
    assert new[0].actor_label == "Fabio Facilitatore (Ufficio di Piano di prova)"
    assert new[2].actor_label == "Dario Delegato (Cooperativa Beta (prova))"
    # Time: the event's own, in UTC.
    assert new[1].at.tzinfo is not None and new[1].at.utcoffset().total_seconds() == 0
    everything = json.dumps([e.details for e in rows], ensure_ascii=False)
    for text in ("Solitudine", "esperienza raccontata", "Dario", "Fabio", "@prova.example.org", "Certosa"):
        assert text not in everything
    verification = chain.verify(session)
    assert verification.ok and verification.checked == len(rows) and verification.last_hash == rows[-1].hash


def test_the_canonical_form_is_fixed():
    """The serialisation that is hashed, byte for byte: sorted keys, no spaces, UTF-8, UTC time with
    microseconds, the format version and the previous hash. Changing it breaks every existing chain."""
    at = datetime(2026, 3, 2, 16, 5, 7, 1234, tzinfo=UTC)
    text = chain.canonical(7, at, 3, "login.failed", "user", 3, {"reason": "bad_credentials", "è": [1, True]},
                           GENESIS)
    assert text == ('{"action":"login.failed","actor_id":3,"at":"2026-03-02T16:05:07.001234Z",'
                    '"details":{"reason":"bad_credentials","è":[1,true]},"id":7,"object_id":3,'
                    '"object_type":"user","prev_hash":"' + GENESIS + '","v":1}').encode("utf-8")
    assert chain.digest(7, at, 3, "login.failed", "user", 3, {"è": [1, True], "reason": "bad_credentials"},
                        GENESIS) == hashlib.sha256(text).hexdigest()
    # The same moment in another zone is the same content.
    from zoneinfo import ZoneInfo

    assert chain.canonical(7, at.astimezone(ZoneInfo("Europe/Rome")), 3, "login.failed", "user", 3,
                           {"reason": "bad_credentials", "è": [1, True]}, GENESIS) == text


def test_a_rolled_back_change_leaves_no_entry(session):
    w = build_world(session)
    head = (session.get(AuditHead, 1).last_id, session.get(AuditHead, 1).last_hash)
    tavoli.start_seduta(session, w.facilitator, w.seduta)
    accounts.create_organisation(session, name="Comune annullato", kind="comune", actor=w.admin)
    assert [p.action for p in chain.pending(session)] == ["seduta.started", "organisation.created"]
    session.rollback()
    session.commit()
    assert chain.pending(session) == []
    assert len(entries(session)) == 10
    session.expire_all()
    assert (session.get(AuditHead, 1).last_id, session.get(AuditHead, 1).last_hash) == head
    assert_chained(session)


def test_a_rolled_back_savepoint_takes_its_entries_along(session):
    w = build_world(session)
    tavoli.start_seduta(session, w.facilitator, w.seduta)
    with pytest.raises(RuntimeError), session.begin_nested():
        accounts.create_organisation(session, name="Comune nel savepoint", kind="comune", actor=w.admin)
        raise RuntimeError("annullato")
    with session.begin_nested():  # a released savepoint keeps its entries
        accounts.create_organisation(session, name="Comune confermato", kind="comune", actor=w.admin)
    session.commit()
    assert [e.action for e in entries(session)[10:]] == ["seduta.started", "organisation.created"]
    assert_chained(session)


def test_a_refused_change_writes_nothing(session):
    w = build_world(session)
    # refused() commits after the refusal and compares every table, the trail's included.
    refused(session, lambda: tavoli.start_seduta(session, w.delegate, w.seduta), "forbidden", 403)
    tavoli.start_seduta(session, w.facilitator, w.seduta)
    session.commit()
    refused(session, lambda: tavoli.start_seduta(session, w.facilitator, w.seduta), "conflict", 409)
    assert [e.action for e in entries(session)[10:]] == ["seduta.started"]


def test_a_receiver_can_refuse_the_change_and_nothing_is_recorded(session):
    """The entry is written in the change's transaction: a later refusal undoes both."""
    w = build_world(session)

    def veto(_sender, **_kw):
        from workspace.problems import conflict

        raise conflict("Registro non disponibile.")

    with signals.action_recorded.connected_to(veto):
        refused(session, lambda: accounts.create_organisation(session, name="Comune vietato", kind="comune",
                                                              actor=w.admin), "conflict", 409)
    assert len(entries(session)) == 10


def test_a_durable_entry_outlives_the_rollback(session):
    """A failed login is rolled back with its request; its entry is written apart afterwards."""
    w = build_world(session)
    accounts.announce(session, None, "login.failed", "user", w.delegate.id, outlives_rollback=True,
                      reason="bad_credentials", known_account=True)
    tavoli.start_seduta(session, w.facilitator, w.seduta)  # not durable: goes with the rollback
    session.rollback()
    rows = assert_chained(session)
    assert summary(rows[10:]) == [("login.failed", None, "user", w.delegate.id)]
    assert rows[-1].details == {"reason": "bad_credentials", "known_account": True}


def test_a_durable_entry_commits_once_with_its_transaction(session):
    w = build_world(session)
    with pytest.raises(RuntimeError), session.begin_nested():
        accounts.announce(session, None, "login.failed", outlives_rollback=True, reason="bad_credentials")
        raise RuntimeError("savepoint annullato")
    session.commit()
    session.close()
    assert [e.action for e in entries(session)[10:]] == ["login.failed"]
    assert w.admin.id  # the world is intact


def test_entries_queued_while_a_savepoint_is_open_are_written(session):
    """session.commit() with a savepoint still open commits everything: so are its entries."""
    w = build_world(session)
    session.begin_nested()
    accounts.create_organisation(session, name="Comune in un savepoint aperto", kind="comune", actor=w.admin)
    session.commit()
    assert [e.action for e in entries(session)[10:]] == ["organisation.created"]
    assert_chained(session)


def test_verify_on_an_empty_trail(session):
    assert session.scalar(select(AuditEntry.id)) is None
    result = chain.verify(session)
    assert result.ok and result.checked == 0
