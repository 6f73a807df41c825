"""Secret ballots are unlinkable from voters.

The schema (models and the migrated databases): ``secret_ballot`` has no voter identifier, no
timestamp, no foreign key but the round, a random key and, on SQLite, no hidden rowid; nothing
references it; it shares no key with participation. The data: after each ballot the round's
ballots are rewritten in a random order with fresh ids (and, on PostgreSQL, a common ``xmin``), so
neither storage order nor system columns follow the order of voting. The outputs: no partial tally,
breakdowns with fewer than 5 ballots suppressed (with their complement), published ballots sorted
and bare."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import DateTime, Integer, inspect, select, text

from tests.voting.test_service import add_delegates, cast, make_round, pts, refused, voting_world
from workspace.db import Base, db
from workspace.voting import payloads, rounds
from workspace.voting.models import Participation, SecretBallot

SECRET_COLUMNS = {"id", "round_id", "org_group", "content"}
VOTER_TABLES = {"user_account", "organisation", "vote_participation", "membership", "tavolo_role", "vote_conflict",
                "vote_operation", "open_ballot"}


@pytest.fixture
def vw(session):
    return voting_world(session)


# --------------------------------------------------------------------------------------- schema


def test_secret_ballot_model_has_nothing_that_names_a_voter_or_a_moment():
    table = Base.metadata.tables["secret_ballot"]
    assert set(table.columns.keys()) == SECRET_COLUMNS
    assert {fk.column.table.name for fk in table.foreign_keys} == {"vote_round"}
    assert not [c for c in table.columns if isinstance(c.type, DateTime)]
    # The key is a random text, not a counter that follows the order of insertion.
    (pk,) = table.primary_key.columns
    assert pk.name == "id" and not isinstance(pk.type, Integer) and pk.autoincrement is not True
    assert table.dialect_options["sqlite"]["with_rowid"] is False
    key = SecretBallot.__table__.c.id.default.arg(None)
    assert re.fullmatch(r"[0-9a-f]{32}", key)


def test_nothing_references_secret_ballots_and_participation_shares_no_key_with_them():
    for table in Base.metadata.tables.values():
        assert "secret_ballot" not in {fk.column.table.name for fk in table.foreign_keys}, table.name
    participation = Base.metadata.tables["vote_participation"]
    ballots = Base.metadata.tables["secret_ballot"]
    shared = set(participation.columns.keys()) & set(ballots.columns.keys())
    assert shared == {"id", "round_id"}
    # "id" is a different thing in each (a counter vs a random text): no join on it means anything.
    assert type(participation.c.id.type) is not type(ballots.c.id.type)
    assert not {"voter_key", "user_id", "organisation_id", "ballot_id", "token"} & set(ballots.columns.keys())
    assert not {"ballot_id", "secret_ballot_id", "token", "content"} & set(participation.columns.keys())


def test_the_migrated_database_has_the_same_unlinkable_schema(app):
    with app.app_context():
        engine = db.engine
        inspector = inspect(engine)
        columns = {c["name"]: c for c in inspector.get_columns("secret_ballot")}
        assert set(columns) == SECRET_COLUMNS
        assert not [c for c in columns.values() if isinstance(c["type"], DateTime)]
        fks = inspector.get_foreign_keys("secret_ballot")
        assert [(fk["referred_table"], fk["constrained_columns"]) for fk in fks] == [("vote_round", ["round_id"])]
        assert inspector.get_pk_constraint("secret_ballot")["constrained_columns"] == ["id"]
        for name in inspector.get_table_names():
            referred = {fk["referred_table"] for fk in inspector.get_foreign_keys(name)}
            assert "secret_ballot" not in referred, name
        assert not (set(columns) - {"id", "round_id"}) & {c["name"] for c in inspector.get_columns("vote_participation")}
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                sql = conn.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'secret_ballot'"))
                assert "WITHOUT ROWID" in sql.upper()
                assert not conn.scalars(text("SELECT name FROM sqlite_master WHERE type IN ('trigger', 'view')")).all()
            else:
                assert not conn.scalars(text(
                    "SELECT trigger_name FROM information_schema.triggers WHERE event_object_table IN "
                    "('secret_ballot', 'vote_participation')")).all()
                assert not conn.scalars(text("SELECT table_name FROM information_schema.views "
                                             "WHERE table_schema = 'public'")).all()


# --------------------------------------------------------------------------------------- data


def _storage_order(session, round_id: int) -> list:
    """The ballots as the database returns them without ORDER BY (its physical order)."""
    return [row[0] for row in session.execute(text(
        "SELECT content FROM secret_ballot WHERE round_id = :r"), {"r": round_id})]


def test_storage_order_and_system_columns_do_not_follow_the_order_of_voting(session, vw):
    voters = [vw.delegate, vw.colleague, vw.delegate2, *add_delegates(session, vw, "ets", 7, "ETS extra")]
    vote = make_round(session, vw, secret=True)
    cast_order, seen_ids = [], set()
    for n, voter in enumerate(voters):
        ballot = {"points": {str(vw.bisogni[0]): n % 5 + 1, str(vw.bisogni[1]): n // 5 + 1}}  # all different
        cast(session, voter, vote, ballot)
        cast_order.append(ballot)
        ids = set(session.scalars(select(SecretBallot.id).where(SecretBallot.round_id == vote.id)))
        assert len(ids) == n + 1 and not ids & seen_ids  # every ballot got a fresh random id
        seen_ids |= ids
    import json

    stored = [json.loads(c) if isinstance(c, str) else c for c in _storage_order(session, vote.id)]
    assert sorted(map(json.dumps, stored)) == sorted(map(json.dumps, cast_order))
    assert stored != cast_order, "the database returns the ballots in the order they were cast"
    # The order of the keys is random too: sorting by id does not give the order of voting either.
    by_id = [c for _i, c in sorted(session.execute(select(SecretBallot.id, SecretBallot.content)
                                                   .where(SecretBallot.round_id == vote.id)))]
    assert by_id != cast_order
    if session.get_bind().dialect.name == "postgresql":
        xmins = set(session.scalars(text("SELECT xmin::text FROM secret_ballot WHERE round_id = :r"),
                                    {"r": vote.id}))
        assert len(xmins) == 1, "ballots carry the transaction ids of their own casting"
        participation_xmins = set(session.scalars(text("SELECT xmin::text FROM vote_participation "
                                                       "WHERE round_id = :r"), {"r": vote.id}))
        assert len(participation_xmins) == len(voters)
        assert len(participation_xmins & xmins) == 1  # only the latest voter's, shared by all ballots


def test_participation_times_are_coarse_and_ballots_have_none(session, vw):
    vote = make_round(session, vw, secret=True)
    cast(session, vw.delegate, vote, pts(vw, 10))
    moment = session.scalar(select(Participation.voted_at))
    assert (moment.second, moment.microsecond) == (0, 0)
    row = session.execute(text("SELECT * FROM secret_ballot")).mappings().one()
    assert set(row.keys()) == SECRET_COLUMNS and row["org_group"] is None  # breakdown off by default


# --------------------------------------------------------------------------------------- outputs


def test_secret_rounds_never_show_partial_tallies(session, vw):
    refused(session, vw, lambda: rounds.create_round(session, vw.facilitator, vw.tavolo, "X", "dot", vw.bisogni,
                                                       secret=True, partial_results=True,
                                                       closes_at=vw.seduta.starts_at),
            "invalid", 422, "solo l'affluenza")
    vote = make_round(session, vw, secret=True)
    cast(session, vw.delegate, vote, pts(vw, 10))
    assert "tally" not in payloads.live_payload(session, vote)
    assert payloads.results(session, vote, vw.delegate)["tally"] is None


def test_small_groups_are_suppressed_with_their_complement(session, vw):
    ets = [vw.delegate, vw.colleague, vw.delegate2, *add_delegates(session, vw, "ets", 3, "ETS extra")]  # 6
    public = add_delegates(session, vw, "comune", 5, "Comune extra")  # 5
    union = add_delegates(session, vw, "sindacato", 1, "Sindacato extra")  # 1
    vote = make_round(session, vw, secret=True, breakdown=True)
    for person in ets + public + union:
        cast(session, person, vote, pts(vw, 10))
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    groups = vote.result["breakdown"]
    assert {g: (v["ballots"], v["suppressed"]) for g, v in groups.items()} == {
        "ets": (6, False), "pubblico": (5, True), "altri": (1, True)}
    # Suppressing "altri" alone would leave it as total minus ETS minus public bodies.
    assert groups["pubblico"]["scores"] is None and groups["altri"]["ranking"] is None
    assert groups["ets"]["scores"][str(vw.bisogni[0])] == 60


def test_open_rounds_show_every_group_however_small(session, vw):
    union = add_delegates(session, vw, "sindacato", 1, "Sindacato extra")
    vote = make_round(session, vw)
    cast(session, union[0], vote, pts(vw, 10))
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    assert vote.result["breakdown"]["altri"]["suppressed"] is False
    assert vote.result["breakdown"]["altri"]["scores"][str(vw.bisogni[0])] == 10


def test_published_ballots_are_bare_and_sorted(session, vw):
    vote = make_round(session, vw, secret=True, breakdown=True)
    cast(session, vw.delegate2, vote, pts(vw, 0, 0, 10))
    cast(session, vw.delegate, vote, pts(vw, 10))
    cast(session, vw.colleague, vote, pts(vw, 0, 10))
    refused(session, vw, lambda: payloads.anonymised_ballots(session, vote), "not_closed", 409)
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    out = payloads.anonymised_ballots(session, vote)
    assert out["candidates"] == [str(b) for b in vw.bisogni]
    import json

    assert out["ballots"] == sorted(out["ballots"], key=lambda b: json.dumps(b, sort_keys=True))
    assert all(set(b) == {"points"} for b in out["ballots"])
    # Nothing in the closing event or the results says who cast which ballot.
    results = payloads.results(session, vote, vw.delegate)
    assert results["ballots"] is None
