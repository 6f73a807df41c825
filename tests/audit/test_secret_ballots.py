"""No ballot content and nothing about who voted how ever enters the audit trail: secret ballots are
cast and counted, then every entry is scanned. The filter is also checked on its own, against an
event or an action that would carry ballots."""
from __future__ import annotations

import json
from types import SimpleNamespace

from tests.audit.support import assert_chained, entries
from tests.voting.support import cast, make_round, pts
from workspace import signals
from workspace.db import utcnow
from workspace.voting import rounds


def keys(value) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def test_secret_ballots_leave_no_trace_in_the_trail(session, vw):
    vote = make_round(session, vw, secret=True)
    before = len(entries(session))
    ballots = [(vw.delegate, pts(vw, 7, 3)), (vw.colleague, pts(vw, 0, 0, 10)), (vw.delegate2, pts(vw, 1, 2, 3, 4))]
    for person, ballot in ballots:
        cast(session, person, vote, ballot)
    assert len(entries(session)) == before  # casting a ballot is not an audited change
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()

    rows = assert_chained(session)
    closed = rows[-1]
    assert (closed.action, closed.object_type, closed.object_id) == ("vote.closed", "vote_round", vote.id)
    assert closed.details["secret"] is True
    # Only scalars: no result, ranking, turnout, participants or ballots copied from the payload.
    assert all(isinstance(v, bool | int | str) for v in closed.details.values()), closed.details
    forbidden = {"ballot", "ballots", "points", "participants", "voter", "voters", "voter_key", "content",
                 "tally", "result", "ranking", "breakdown", "turnout", "electorate"}
    for entry in rows:
        assert "ballot" not in entry.action
        assert not forbidden & keys(entry.details), (entry.action, entry.details)
        assert '"points"' not in json.dumps(entry.details)
    # The voters appear nowhere in what happened after the round was opened: not as actors, not in details.
    voters = {vw.delegate.id, vw.colleague.id, vw.delegate2.id}
    after_opening = rows[before:]
    assert [e.action for e in after_opening] == ["vote.closed"]
    assert not voters & {e.actor_id for e in after_opening}


def test_an_event_about_ballots_is_never_recorded(session, vw):
    before = len(entries(session))
    fake = SimpleNamespace(kind="vote.ballot_cast", tavolo_id=vw.tavolo.id, seq=999, actor_id=vw.delegate.id,
                           at=utcnow(), payload={"round_id": 1, "content": {"points": {"1": 10}}})
    signals.event_recorded.send(session, event=fake)
    signals.action_recorded.send(session, actor=vw.delegate, action="ballot.cast", object_type="vote_round",
                                 object_id=1, details={"content": {"points": {"1": 10}}})
    session.commit()
    assert len(entries(session)) == before


def test_ballot_fields_are_stripped_from_any_action(session, vw):
    signals.action_recorded.send(session, actor=vw.facilitator, action="vote.exported", object_type="vote_round",
                                 object_id=1, details={"format": "csv", "ballots": [{"points": {"1": 10}}],
                                                       "nested": {"voter_key": "abc", "content": "x", "rows": 3},
                                                       "participants": [vw.delegate.id]})
    session.commit()
    entry = entries(session)[-1]
    assert entry.details == {"format": "csv", "nested": {"rows": 3}}
