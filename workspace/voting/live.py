"""Socket.IO operations of priority votes, and the coalesced live turnout. Bound by
``workspace.voting.register``.

Operations (acks as everywhere on /live: ``{"ok": true, ...}`` or ``{"error": code, "message": ...}``):

- ``vote.open``, ``vote.close``, ``vote.declare_interest``, ``vote.tie_break``: ordinary operations,
  one numbered event each (vote.opened, vote.closed with the results, vote.interest_declared,
  vote.tie_break).
- ``vote.cast`` ``{op_id, tavolo_id, round_id, ballot}``: no numbered event per ballot (it would be
  one broadcast per ballot, and for secret rounds a per-voter timestamped record). Ballots arriving
  together are written in one transaction (``ballots.submit``, group commit). The ack is
  ``{"ok": true, "result": receipt}``; a retried ``op_id`` is acknowledged with ``"duplicate": true``.
- ``vote.status`` ``{tavolo_id, round_id}``: read-only; may I vote, have I voted, my declarations.

Live turnout: after each committed ballot ``ballots.cast_ballot`` sends ``signals.live_state_changed`` with a
small payload (``{tavolo_id, round_id, revision, status, turnout, tally?}``); ``push_turnout``
hands it to ``realtime.push_latest``, which sends it to the tavolo's room as ``vote.live`` at most
once per ``PUSH_INTERVAL`` per round, always the newest. It is not a numbered event: it carries
derived state that the snapshot on join/resync provides again.

Also here: closing a seduta closes its open live rounds (``close_live_rounds``, a receiver of
``signals.seduta_closed``), and ``close_due_forever`` — started by ``tavoli serve`` — closes
asynchronous rounds whose closing time has passed (``tavoli votes close-due`` does it where another
server runs the app; reading a round never closes it: ``rounds``, "Closing").
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace import realtime, record
from workspace.accounts.models import User
from workspace.db import db
from workspace.extensions import socketio
from workspace.realtime import ID, OP_ID, action, operation
from workspace.tavoli import permissions
from workspace.tavoli import service as tavoli_service
from workspace.tavoli.models import Seduta
from workspace.voting import ballots, box, payloads, rounds
from workspace.voting.electorate import turnout
from workspace.voting.models import VoteRound

log = logging.getLogger(__name__)

#: Seconds between two pushes of the same round's turnout (a few per second at most).
PUSH_INTERVAL = 0.3
LIVE_MESSAGE = payloads.LIVE_MESSAGE


def snapshot_part(session: Session, tavolo_id: int) -> dict[str, Any]:
    """Receiver of ``signals.tavolo_snapshot``: the rounds a joining client starts from."""
    return payloads.votes_snapshot(session, tavoli_service.get_tavolo(session, tavolo_id))


# --- coalesced pushes ---------------------------------------------------------------------------------


def push_turnout(kind: str, payload: dict[str, Any]) -> None:
    """Receiver of ``signals.live_state_changed`` for ``vote.live`` payloads (after commit)."""
    if kind != LIVE_MESSAGE:
        return
    realtime.push_latest(current_app._get_current_object(),  # type: ignore[attr-defined]
                         ("vote", payload["round_id"]), payload["tavolo_id"],
                         LIVE_MESSAGE, payload, payload["revision"], PUSH_INTERVAL)


# --- closing: with the seduta, and when the closing time has passed -----------------------------------


def close_live_rounds(session: Session, actor: User, seduta: Seduta) -> list[record.TavoloEvent]:
    """Close the open rounds held in ``seduta`` (it is being closed: its live votes end with it).
    Receiver of ``signals.seduta_closed``, inside ``close_seduta``'s transaction; drafts stay drafts."""
    held = session.scalars(select(VoteRound).where(VoteRound.seduta_id == seduta.id, VoteRound.status == "open")
                           .order_by(VoteRound.id)).all()
    return [rounds.close_round(session, actor, vote) for vote in held]


#: Seconds between two looks for asynchronous rounds past their closing time.
CLOSE_DUE_INTERVAL = 30


def close_due_once(app: Flask) -> int:
    """Close every round past its closing time, in ``app``'s context; the number closed."""
    with app.app_context():
        session = db.session
        try:
            closed = rounds.close_due_rounds(session)
            session.commit()
            return len(closed)
        except Exception:  # noqa: BLE001 — the loop must survive a bad moment of the database
            session.rollback()
            log.exception("closing the rounds past their closing time failed")
            return 0


def close_due_forever(app: Flask, interval: float = CLOSE_DUE_INTERVAL) -> None:
    """Background task of ``tavoli serve``: seal the database once (a crash between a secret round's
    closing and its seal leaves nothing behind past the restart: ``box``), then every ``interval``
    seconds close the due rounds (their ``vote.closed`` events reach the live pages like any other)."""
    box.request_seal(app)
    while True:
        socketio.sleep(interval)
        count = close_due_once(app)
        if count:
            log.info("closed %d round(s) past their closing time", count)


# --- operations ---------------------------------------------------------------------------------------


def _round(session: Session, data: dict[str, Any]) -> VoteRound:
    return rounds.get_round(session, data["round_id"], data["tavolo_id"])


@operation("vote.open", {"round_id": ID}, required=("round_id",))
def _open(session, user, data):
    event = rounds.open_round(session, user, _round(session, data), data["op_id"])
    return event, {"id": data["round_id"], "status": "open", "turnout": event.payload["turnout"]}


@operation("vote.close", {"round_id": ID}, required=("round_id",))
def _close(session, user, data):
    event = rounds.close_round(session, user, _round(session, data), data["op_id"])
    return event, {"id": data["round_id"], "status": "closed", "ranking": event.payload["ranking"],
                   "turnout": event.payload["turnout"]}


@operation("vote.declare_interest", {"round_id": ID, "bisogno_id": ID, "note": {"type": "string"}},
           required=("round_id", "bisogno_id"))
def _declare(session, user, data):
    declaration, event = rounds.declare_interest(session, user, _round(session, data), data["bisogno_id"],
                                                  data.get("note", ""), data["op_id"])
    return event, {"id": declaration.id, "bisogno_id": data["bisogno_id"]}


@operation("vote.tie_break", {"round_id": ID, "seed": {"type": "string", "minLength": 1, "maxLength": 100}},
           required=("round_id",))
def _tie_break(session, user, data):
    event = rounds.tie_break(session, user, _round(session, data), data.get("seed"), data["op_id"])
    return event, {"id": data["round_id"], "ranking": event.payload["ranking"],
                   "seed": event.payload["tie_break"]["seed"]}


@action("vote.cast", {"op_id": OP_ID, "tavolo_id": ID, "round_id": ID, "ballot": {"type": "object"}},
        required=("op_id", "tavolo_id", "round_id", "ballot"), writes=True)
def _cast(session, user, data):
    # Written together with the ballots arriving at the same moment (group commit, ballots.submit),
    # which also retries a lost race: the retry sees its outcome.
    submission = ballots.Submission(user.id, data["round_id"], data["ballot"], data["op_id"], data["tavolo_id"],
                                    str(get_locale()))
    receipt = ballots.submit(session, submission)
    return {"ok": True, "result": receipt, **({"duplicate": True} if receipt["duplicate"] else {})}


@action("vote.status", {"tavolo_id": ID, "round_id": ID}, required=("tavolo_id", "round_id"))
def _status(session, user, data):
    vote = _round(session, data)
    permissions.require(session, user, "view", vote.tavolo_id)
    return ballots.my_status(session, vote, user) | {"turnout": turnout(session, vote)}
