"""The chain does not fork under concurrent writers: many threads, each with its own connection and
transaction, append at the same moment (the first of them also creating the chain's head), on a
SQLite file in WAL mode and on PostgreSQL. Every entry lands exactly once, linked to the one before."""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.audit.support import assert_chained, entries
from workspace import signals
from workspace.audit import chain
from workspace.db import db

pytestmark = pytest.mark.real_db

THREADS = 8
ROUNDS = 4
PER_TRANSACTION = 3


def test_concurrent_writers_make_one_chain(app):
    errors: list[BaseException] = []
    barriers = [threading.Barrier(THREADS) for _ in range(ROUNDS)]

    def worker(n: int) -> None:
        with app.app_context():
            session = db.session
            for r in range(ROUNDS):
                barriers[r].wait(timeout=60)  # everybody starts each round together
                try:
                    for k in range(PER_TRANSACTION):
                        signals.action_recorded.send(session, actor=None, action="test.concurrent",
                                                     object_type="thread", object_id=n,
                                                     details={"round": r, "k": k})
                    session.commit()
                except BaseException as exc:  # noqa: BLE001 — reported below
                    session.rollback()
                    errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "un thread è rimasto bloccato"
    assert errors == []

    with app.app_context():
        rows = assert_chained(db.session)
        assert len(rows) == THREADS * ROUNDS * PER_TRANSACTION
        assert Counter(e.object_id for e in rows) == {n: ROUNDS * PER_TRANSACTION for n in range(THREADS)}
        # A transaction's entries are consecutive: no other writer slipped in between them.
        for start in range(0, len(rows), PER_TRANSACTION):
            group = rows[start:start + PER_TRANSACTION]
            assert {e.object_id for e in group} == {group[0].object_id}
            assert [e.details["k"] for e in group] == list(range(PER_TRANSACTION))
        assert chain.verify(db.session).checked == len(rows)
        assert len(entries(db.session)) == len(rows)
