"""Secret ballots are unlinkable from voters: the schema, the data and the outputs. The attack on the
database files themselves (SQLite pages and -wal, PostgreSQL system columns, dead rows, pg_dump) is
in test_secrecy_attack.py; docs/secret-ballot.md states the model.

The schema (models and the migrated databases): the pool (``vote_pool``) and the box
(``secret_ballot``) have no voter identifier, no timestamp, no foreign key but the round, a random
key and, on SQLite, no hidden rowid; nothing references them; participations and operation ids are
keyed by random values too. The data: while the round is open its ballots wait in the pool and the
box is empty; closing moves them into the box in random order with fresh keys and rewrites the
round's participations (on PostgreSQL everything then carries the mixer's transaction id). The
outputs: no partial tally, breakdowns with fewer than 5 ballots suppressed (with their
complement), published ballots sorted and bare."""
from __future__ import annotations

import json
import re

from sqlalchemy import DateTime, Integer, inspect, select, text

from tests.helpers import refused
from tests.voting.support import add_delegates, cast, kendall_tau, make_round, pts
from workspace.db import Base, db
from workspace.voting import payloads, results, rounds
from workspace.voting.models import Participation, PooledBallot, SecretBallot

SECRET_COLUMNS = {"id", "round_id", "org_group", "content"}
BALLOT_TABLES = ("secret_ballot", "vote_pool")
RANDOM_KEYED = ("secret_ballot", "vote_pool", "vote_participation", "vote_operation")


# --------------------------------------------------------------------------------------- schema


def test_ballot_tables_have_nothing_that_names_a_voter_or_a_moment():
    for name in BALLOT_TABLES:
        table = Base.metadata.tables[name]
        assert set(table.columns.keys()) == SECRET_COLUMNS, name
        assert {fk.column.table.name for fk in table.foreign_keys} == {"vote_round"}, name
        assert not [c for c in table.columns if isinstance(c.type, DateTime)], name
        # The key is a random text, not a counter that follows the order of insertion.
        (pk,) = table.primary_key.columns
        assert pk.name == "id" and not isinstance(pk.type, Integer) and pk.autoincrement is not True, name
        assert re.fullmatch(r"[0-9a-f]{32}", table.c.id.default.arg(None)), name
    for name in RANDOM_KEYED:  # no hidden insertion counter behind any table a ballot's casting writes
        assert Base.metadata.tables[name].dialect_options["sqlite"]["with_rowid"] is False, name


def test_nothing_references_ballots_and_participation_shares_no_key_with_them():
    for table in Base.metadata.tables.values():
        assert not {"secret_ballot", "vote_pool"} & {fk.column.table.name for fk in table.foreign_keys}, table.name
    participation = Base.metadata.tables["vote_participation"]
    for name in BALLOT_TABLES:
        ballots = Base.metadata.tables[name]
        assert set(participation.columns.keys()) & set(ballots.columns.keys()) == {"id", "round_id"}
        assert not {"voter_key", "user_id", "organisation_id", "ballot_id", "token"} & set(ballots.columns.keys())
    # "id" is an independent random text in each: equal only by a 1 in 2**122 chance, joining means nothing.
    assert re.fullmatch(r"[0-9a-f]{32}", participation.c.id.default.arg(None))
    assert not {"ballot_id", "secret_ballot_id", "token", "content"} & set(participation.columns.keys())


def test_the_migrated_database_has_the_same_unlinkable_schema(app):
    with app.app_context():
        conn = db.session.connection()  # the test's own connection: the migrated schema, read there
        inspector = inspect(conn)
        for name in BALLOT_TABLES:
            columns = {c["name"]: c for c in inspector.get_columns(name)}
            assert set(columns) == SECRET_COLUMNS
            assert not [c for c in columns.values() if isinstance(c["type"], DateTime)]
            fks = inspector.get_foreign_keys(name)
            assert [(fk["referred_table"], fk["constrained_columns"]) for fk in fks] == [("vote_round", ["round_id"])]
            assert inspector.get_pk_constraint(name)["constrained_columns"] == ["id"]
            assert not (set(columns) - {"id", "round_id"}) & {c["name"] for c in inspector.get_columns(
                "vote_participation")}
        for name in inspector.get_table_names():
            referred = {fk["referred_table"] for fk in inspector.get_foreign_keys(name)}
            assert not {"secret_ballot", "vote_pool"} & referred, name
        if conn.dialect.name == "sqlite":
            for name in RANDOM_KEYED:
                sql = conn.scalar(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name})
                assert "WITHOUT ROWID" in sql.upper(), name
            assert not conn.scalars(text("SELECT name FROM sqlite_master WHERE type IN ('trigger', 'view')")).all()
        else:
            assert not conn.scalars(text(
                "SELECT trigger_name FROM information_schema.triggers WHERE event_object_table IN "
                "('secret_ballot', 'vote_pool', 'vote_participation', 'vote_operation')")).all()
            assert not conn.scalars(text("SELECT table_name FROM information_schema.views "
                                         "WHERE table_schema = 'public'")).all()


# --------------------------------------------------------------------------------------- data


def _stored(session, sql: str, round_id: int) -> list:
    """Rows as the database returns them without ORDER BY (its physical order), JSON decoded."""
    rows = [row[0] for row in session.execute(text(sql), {"r": round_id})]
    return [json.loads(r) if isinstance(r, str) and r.startswith("{") else r for r in rows]


def test_ballots_wait_in_the_pool_and_closing_mixes_them_into_the_box(session, vw):
    voters = [vw.delegate, vw.colleague, vw.delegate2, *add_delegates(session, vw, "ets", 13, "ETS extra")]  # 16
    vote = make_round(session, vw, secret=True)
    cast_order = []
    for n, voter in enumerate(voters):
        ballot = {"points": {str(vw.bisogni[0]): n % 5 + 1, str(vw.bisogni[1]): n // 5 + 1}}  # all different
        cast(session, voter, vote, ballot)
        cast_order.append(ballot)
        # While the round is open the box stays empty: the ballots wait in the pool.
        assert session.scalar(select(SecretBallot.id).limit(1)) is None
        assert len(session.scalars(select(PooledBallot.id).where(PooledBallot.round_id == vote.id)).all()) == n + 1
    pool_ids = set(session.scalars(select(PooledBallot.id)))
    participation_ids = set(session.scalars(select(Participation.id)))
    keys = [f"u:{v.id}" for v in voters]
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()

    assert session.scalar(select(PooledBallot.id).limit(1)) is None  # the pool is empty
    box_ids = set(session.scalars(select(SecretBallot.id).where(SecretBallot.round_id == vote.id)))
    assert len(box_ids) == len(voters) and not box_ids & pool_ids  # fresh keys: none survives from the pool
    assert not set(session.scalars(select(Participation.id))) & participation_ids  # participations rewritten
    stored = _stored(session, "SELECT content FROM secret_ballot WHERE round_id = :r", vote.id)
    assert sorted(map(json.dumps, stored)) == sorted(map(json.dumps, cast_order))
    # Neither the physical order nor the order of the keys follows the order of voting, for ballots
    # or participations (|tau| >= 0.9 by chance: about 1 in a million with 16 rows).
    by_key = [c for _i, c in sorted(session.execute(select(SecretBallot.id, SecretBallot.content)
                                                    .where(SecretBallot.round_id == vote.id)))]
    stored_keys = _stored(session, "SELECT voter_key FROM vote_participation WHERE round_id = :r", vote.id)
    for order, reference in ((stored, cast_order), (by_key, cast_order), (stored_keys, keys)):
        assert abs(kendall_tau([json.dumps(x) for x in order], [json.dumps(x) for x in reference])) < 0.9
    assert vote.result["ballots"] == len(voters) and results.recount(session, vote)["match"] is True
    if session.get_bind().dialect.name == "postgresql":
        box_xmins = set(session.scalars(text("SELECT xmin::text FROM secret_ballot WHERE round_id = :r"),
                                        {"r": vote.id}))
        participation_xmins = set(session.scalars(text("SELECT xmin::text FROM vote_participation "
                                                       "WHERE round_id = :r"), {"r": vote.id}))
        operation_xmins = set(session.scalars(text("SELECT xmin::text FROM vote_operation WHERE round_id = :r"),
                                              {"r": vote.id}))
        # One transaction wrote them all (the mixer's): the system columns pair nothing with anything.
        assert len(box_xmins) == 1 and participation_xmins == box_xmins
        assert operation_xmins <= box_xmins


def test_participations_of_secret_rounds_have_no_time_and_ballots_none_either(session, vw):
    vote = make_round(session, vw, secret=True)
    cast(session, vw.delegate, vote, pts(vw, 10))
    assert session.scalar(select(Participation.voted_at).where(Participation.round_id == vote.id)) is None
    row = session.execute(text("SELECT * FROM vote_pool")).mappings().one()
    assert set(row.keys()) == SECRET_COLUMNS and row["org_group"] is None  # breakdown off by default
    open_round = make_round(session, vw)
    cast(session, vw.delegate, open_round, pts(vw, 10))
    moment = session.scalar(select(Participation.voted_at).where(Participation.round_id == open_round.id))
    assert (moment.second, moment.microsecond) == (0, 0)  # open rounds: to the minute


# --------------------------------------------------------------------------------------- outputs


def test_secret_rounds_never_show_partial_tallies(session, vw):
    refused(session, lambda: rounds.create_round(session, vw.facilitator, vw.tavolo, "X", "dot", vw.bisogni,
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
    refused(session, lambda: payloads.anonymised_ballots(session, vote), "not_closed", 409)
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    out = payloads.anonymised_ballots(session, vote)
    assert out["candidates"] == [str(b) for b in vw.bisogni]
    assert out["ballots"] == sorted(out["ballots"], key=lambda b: json.dumps(b, sort_keys=True))
    assert all(set(b) == {"points"} for b in out["ballots"])
    # Nothing in the closing event or the results says who cast which ballot.
    results = payloads.results(session, vote, vw.delegate)
    assert results["ballots"] is None
