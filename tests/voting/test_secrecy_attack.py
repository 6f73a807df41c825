"""The attack of issue 11, performed on the database files themselves (docs/secret-ballot.md).

The attacker holds copies of what the server stores: on SQLite the database file with its ``-wal``
and ``-shm``; on PostgreSQL every table with its system columns (``xmin``, ``ctid``), the physical
order of rows, the size of the table files, and a ``pg_dump``. Sixteen delegates vote in a secret
round, one after the other (the easiest case for the attacker: one ballot per commit).

Each test first shows the attack *works*: on a copy taken while the round is open it pairs every
ballot with its voter (the pool is linkable during the round, as the model says). Then the same
attack on a copy taken after the round closed (and the storage was sealed) must pair nothing: no
commit, page, order, transaction id or dead row left that ties a ballot to a voter.
"""
from __future__ import annotations

import json
import re
import sqlite3
import struct
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from tests.voting.support import add_delegates, cast, kendall_tau, make_round, voting_world
from workspace.accounts.models import User
from workspace.db import db
from workspace.voting import box, rounds
from workspace.voting.models import Participation, SecretBallot, VoteRound

pytestmark = pytest.mark.real_db  # real commits: the files must hold what a server leaves in them
VOTERS = 16
# Seconds: the seal runs in the background after the closing commit. On PostgreSQL it must wait for
# every transaction of the server begun before the closing (other test runs sharing the server, too).
SEAL_WAIT = 300


def _vote(app):
    """A secret round with 16 voters who cast, one commit each, 16 different ballots; returns the
    round id, the voter keys and their ballots in the order of voting, and a hook called after each."""
    with app.app_context():
        session = db.session
        vw = voting_world(session)
        people = [vw.delegate, vw.colleague, vw.delegate2, *add_delegates(session, vw, "ets", VOTERS - 3, "ETS")]
        vote = make_round(session, vw, secret=True)
        ballots = [{"points": {str(vw.bisogni[0]): n % 5 + 1, str(vw.bisogni[1]): n // 5 + 1}} for n in range(VOTERS)]
        return vote.id, vw.facilitator.id, people, ballots


def _close(app, round_id: int, facilitator_id: int) -> None:
    with app.app_context():
        session = db.session
        rounds.close_round(session, session.get(User, facilitator_id), session.get(VoteRound, round_id))
        session.commit()
        assert session.get(VoteRound, round_id).result["ballots"] == VOTERS
    assert box.wait_sealed(app, SEAL_WAIT), "the storage was not sealed after closing"


# --------------------------------------------------------------------------------------- SQLite


def _wal_commits(wal: bytes) -> list[list[bytes]]:
    """The pages written by each commit recorded in a -wal file, in order, stale frames included
    (an attacker reads them all)."""
    if len(wal) < 32:
        return []
    page_size = struct.unpack(">I", wal[8:12])[0]
    commits, current, offset = [], [], 32
    while offset + 24 + page_size <= len(wal):
        db_size = struct.unpack(">I", wal[offset + 4:offset + 8])[0]
        current.append(wal[offset + 24:offset + 24 + page_size])
        offset += 24 + page_size
        if db_size:  # a commit frame closes the transaction
            commits.append(current)
            current = []
    return commits


def _found(data: bytes, markers: dict[bytes, object]) -> set:
    return {value for marker, value in markers.items() if marker in data}


def wal_attack(wal: bytes, voters: dict[bytes, str], texts: dict[bytes, int]) -> dict[int, set[str]]:
    """The attack of the issue: walk the commits; a ballot first seen in a commit that also brings
    new voters can only be one of theirs. ``voters``: the participation rows' keys (random, unique
    byte strings) and whose they are; ``texts``: each ballot's stored bytes and its number. Ballot
    number -> candidate voters."""
    seen_ballots: set[int] = set()
    seen_voters: set[str] = set()
    pairs: dict[int, set[str]] = {}
    for pages in _wal_commits(wal):
        data = b"".join(pages)
        new_ballots = _found(data, texts) - seen_ballots
        new_voters = _found(data, voters) - seen_voters
        for n in new_ballots:
            if new_voters:
                pairs[n] = set(new_voters)
        seen_ballots |= new_ballots
        seen_voters |= new_voters
    return pairs


def _sqlite_markers(db_path: Path, round_id: int, ballots: list[dict], pool: bool = True
                    ) -> tuple[dict[bytes, int], dict[bytes, str]]:
    """What the attacker looks for: the bytes each ballot is stored as (SQLite keeps JSON as text),
    with its number, from the pool (during the round) or the box; and the keys of the round's
    participation rows (random, unique) with their voters."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        table = "vote_pool" if pool else "secret_ballot"
        stored = [row[0] for row in con.execute(f"SELECT content FROM {table} WHERE round_id = ?", (round_id,))]
        voters = {pid.encode(): key for pid, key in con.execute(
            "SELECT id, voter_key FROM vote_participation WHERE round_id = ?", (round_id,))}
    finally:
        con.close()
    texts = {t.encode(): ballots.index(json.loads(t)) for t in stored}
    assert len(texts) == len(voters) == VOTERS
    return texts, voters


def _files(db_path: Path) -> dict[str, bytes]:
    return {suffix: (Path(f"{db_path}{suffix}").read_bytes() if Path(f"{db_path}{suffix}").exists() else b"")
            for suffix in ("", "-wal", "-shm")}


def test_sqlite_files_after_the_round_pair_no_ballot_with_its_voter(sqlite_app):
    app = sqlite_app
    db_path = Path(make_url(app.config["DATABASE_URL"]).database)
    round_id, facilitator_id, people, ballots = _vote(app)
    keys = [f"u:{p.id}" for p in people]
    snapshots = []
    with app.app_context():
        session = db.session
        for person, ballot in zip(people, ballots, strict=True):
            cast(session, session.get(User, person.id), session.get(VoteRound, round_id), ballot)
            snapshots.append(_files(db_path))  # the attacker's copy after each ballot
    texts, voters = _sqlite_markers(db_path, round_id, ballots)

    # During the round the attack works: after k ballots it pairs each of them with its voter.
    for k in (1, 2, VOTERS // 2, VOTERS):
        pairs = wal_attack(snapshots[k - 1]["-wal"], voters, texts)
        assert pairs == {n: {keys[n]} for n in range(k)}, f"the attack fails on the copy after {k} ballots"

    _close(app, round_id, facilitator_id)
    after = _files(db_path)
    _texts, voters_after = _sqlite_markers(db_path, round_id, ballots, pool=False)
    # The -wal is empty after the seal: no commit left to walk, nothing to pair.
    assert after["-wal"] == b""
    assert wal_attack(after["-wal"], voters, texts) == {}
    # Each ballot is stored exactly once (the box), no copy left in freed cells or pages (the pool's,
    # zeroed by secure_delete), none in the -shm; the participations of the round are rewritten:
    # their keys of the round (which the pool's commits shared) are gone, the new ones are there.
    whole = after[""]
    assert {n: whole.count(blob) for blob, n in texts.items()} == {n: 1 for n in range(VOTERS)}
    assert not _found(after["-shm"], texts)
    assert not _found(whole + after["-shm"], voters)
    assert _found(whole, voters_after) == set(keys)
    # Where each ballot lies in the file (page and offset) says nothing of when it was cast, nor
    # does where each participation lies (|tau| >= 0.9 by chance: about 1 in a million).
    by_offset = sorted(texts.items(), key=lambda kv: whole.index(kv[0]))
    assert abs(kendall_tau([n for _b, n in by_offset], list(range(VOTERS)))) < 0.9
    positions = [key for _m, key in sorted(voters_after.items(), key=lambda kv: whole.index(kv[0]))]
    assert abs(kendall_tau(positions, keys)) < 0.9
    with app.app_context():  # nor any stored time (participations of secret rounds have none)
        assert db.session.scalars(select(Participation.voted_at).where(Participation.round_id == round_id)
                                  ).all() == [None] * VOTERS


# --------------------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_app(request, tmp_path):
    """PostgreSQL only, with real commits (the conftest's real_db app)."""
    from tests.conftest import _real_app

    yield from _real_app(request, "postgresql", tmp_path)


def _pg_rows(session, sql: str, **params) -> list:
    return list(session.execute(text(sql), params))


def _dump(url: str) -> tuple[str, str]:
    """A routine ``pg_dump`` of the data, by the client that matches the server's major version."""
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    version = subprocess.run(["/usr/bin/pg_dump", "--version"], capture_output=True, text=True, check=True).stdout
    return version, subprocess.run(["/usr/bin/pg_dump", "--data-only", "--no-owner", libpq], capture_output=True,
                                   text=True, check=True, timeout=120).stdout


def _pool_versions(app) -> tuple[int, int]:
    """(removable, nonremovable) row versions a ``VACUUM (FULL, VERBOSE)`` of the pool finds: the
    first two numbers of its report on the table (in the server's language)."""
    notices = []
    with app.app_context():
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.connection.driver_connection.add_notice_handler(lambda n: notices.append(n.message_primary))
            conn.exec_driver_sql("VACUUM (FULL, VERBOSE) vote_pool")
    reports = [n for n in notices if "vote_pool" in (n or "") and len(re.findall(r"\d+", n)) >= 3]
    assert len(reports) == 1, notices
    removable, nonremovable = map(int, re.findall(r"\d+", reports[0].split("vote_pool", 1)[1])[:2])
    return removable, nonremovable


def _copy_block(dump: str, table: str) -> list[str]:
    match = re.search(rf"^COPY public\.{table} \((.*?)\) FROM stdin;\n(.*?)^\\\.$", dump, re.S | re.M)
    assert match, f"no COPY block for {table} in the dump"
    return [line for line in match.group(2).splitlines() if line]


def test_postgresql_after_the_round_pairs_no_ballot_with_its_voter(pg_app):
    app = pg_app
    round_id, facilitator_id, people, ballots = _vote(app)
    keys = [f"u:{p.id}" for p in people]
    with app.app_context():
        session = db.session
        for person, ballot in zip(people, ballots, strict=True):
            cast(session, session.get(User, person.id), session.get(VoteRound, round_id), ballot)
        texts = {row[0]: ballots.index(json.loads(row[0])) for row in _pg_rows(
            session, "SELECT content::text FROM vote_pool WHERE round_id = :r", r=round_id)}
        # During the round the attack works: a ballot's xmin is its voter's participation's.
        by_xmin = {x: n for n, x in ((texts[t], x) for t, x in _pg_rows(
            session, "SELECT content::text, xmin::text FROM vote_pool WHERE round_id = :r", r=round_id))}
        voters_by_xmin = {x: key for key, x in _pg_rows(
            session, "SELECT voter_key, xmin::text FROM vote_participation WHERE round_id = :r", r=round_id)}
        assert {n: voters_by_xmin[x] for x, n in by_xmin.items()} == dict(enumerate(keys))
        nodes_before = {t: session.scalar(text("SELECT pg_relation_filenode(:t)"), {"t": t}) for t in box.TABLES}
        session.rollback()

    _close(app, round_id, facilitator_id)
    with app.app_context():
        session = db.session
        box_rows = _pg_rows(session, "SELECT content::text, xmin::text, ctid::text FROM secret_ballot "
                                     "WHERE round_id = :r", r=round_id)
        participations = _pg_rows(session, "SELECT voter_key, xmin::text FROM vote_participation "
                                           "WHERE round_id = :r", r=round_id)
        operations_xmins = {x for (x,) in _pg_rows(session, "SELECT xmin::text FROM vote_operation "
                                                            "WHERE round_id = :r", r=round_id)}
        # System columns: one transaction id on every row (the mixer's), shared by participations.
        xmins = {x for _t, x, _c in box_rows}
        assert len(box_rows) == VOTERS and len(xmins) == 1
        assert {x for _k, x in participations} == xmins and operations_xmins <= xmins
        # Physical order (rows come back in heap order, ctid ascending) says nothing of the order of voting.
        assert [c for _t, _x, c in box_rows] == sorted((c for _t, _x, c in box_rows),
                                                      key=lambda c: tuple(map(int, c.strip("()").split(","))))
        assert abs(kendall_tau([texts[t] for t, _x, _c in box_rows], list(range(VOTERS)))) < 0.9
        assert abs(kendall_tau([k for k, _x in participations], keys)) < 0.9
        # Dead rows: every table a casting wrote was rewritten after the round, and the pool's file
        # is empty: no dead version with a casting transaction's xmin survives.
        for table in box.TABLES:
            assert session.scalar(text("SELECT pg_relation_filenode(:t)"), {"t": table}) != nodes_before[table]
        assert session.scalar(text("SELECT pg_relation_size('vote_pool')")) == 0
        toast = session.scalar(text("SELECT reltoastrelid FROM pg_class WHERE relname = 'vote_pool'"))
        assert not toast or session.scalar(text("SELECT pg_relation_size(:o)"), {"o": toast}) == 0
        assert session.scalar(select(SecretBallot.id).where(SecretBallot.round_id == round_id).limit(1)) is not None
        server_major = int(session.scalar(text("SHOW server_version_num"))) // 10000
        session.rollback()
    # And a VACUUM of the pool run now finds no row version in it at all, dead or alive (it would
    # find them removable by now, or not yet removable: either way, there).
    assert _pool_versions(app) == (0, 0)

    # A pg_dump after the round: the pool is empty, the box and participations in no telling order,
    # and each ballot appears once, in the box.
    version, dump = _dump(app.config["DATABASE_URL"])
    assert int(re.search(r"(\d+)\.\d+", version).group(1)) == server_major, (version, server_major)
    assert _copy_block(dump, "vote_pool") == []
    box_lines = _copy_block(dump, "secret_ballot")
    dumped = [next(n for t, n in texts.items() if t in line) for line in box_lines]
    assert sorted(dumped) == list(range(VOTERS))
    assert abs(kendall_tau(dumped, list(range(VOTERS)))) < 0.9
    dumped_keys = [next(k for k in keys if f"\t{k}\t" in line) for line in _copy_block(dump, "vote_participation")]
    assert sorted(dumped_keys) == sorted(keys) and abs(kendall_tau(dumped_keys, keys)) < 0.9
    assert all(dump.count(t) == 1 for t in texts)
