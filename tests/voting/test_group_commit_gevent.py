"""Group commit under gevent (the server mode being adopted): in a process monkey-patched by gevent,
twenty greenlets hand in their ballots at once through ``ballots.submit``; the committer's locks and
events are gevent's, the leader lets the others queue before writing, and all twenty are written in
one batch and acknowledged, exactly once each, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.voting.support import add_delegates, make_round, voting_world
from workspace.db import db
from workspace.voting.models import Participation, PooledBallot

pytestmark = pytest.mark.real_db
PROJECT = Path(__file__).resolve().parents[2]

CHILD = r"""
from gevent import monkey
monkey.patch_all()

import json, sys
import gevent
from workspace import create_app
from workspace.db import db
from workspace.problems import Problem
from workspace.voting import ballots

spec = json.loads(sys.argv[1])
app = create_app({"DATABASE_URL": spec["url"], "INSTANCE_PATH": spec["instance"], "SECRET_KEY": "prova-gevent",
                  "CHECK_MIGRATIONS": False})

def hand_in(item):
    user_id, content = item
    with app.test_request_context():
        try:
            return ballots.submit(db.session, ballots.Submission(user_id, spec["round"], content, None,
                                                                 spec["tavolo"]))["voter"]
        except Problem as problem:
            return problem.code

jobs = [gevent.spawn(hand_in, item) for item in spec["submissions"]]
gevent.joinall(jobs, timeout=120)
print(json.dumps({"outcomes": [job.value for job in jobs], "stats": ballots.stats(app),
                  "patched": monkey.is_module_patched("threading")}))
"""


def test_twenty_greenlets_are_written_in_one_batch(app, tmp_path):
    with app.app_context():
        session = db.session
        vw = voting_world(session)
        extra = add_delegates(session, vw, "ets", 17, "ETS verde")
        vote = make_round(session, vw, secret=True)
        voters = [vw.delegate.id, vw.colleague.id, vw.delegate2.id, *[p.id for p in extra]]
        submissions = [[uid, {"points": {str(vw.bisogni[n % 4]): 10}}] for n, uid in enumerate(voters)]
        submissions.append([vw.delegate.id, {"points": {str(vw.bisogni[1]): 10}}])  # a second ballot: refused
        spec = {"url": app.config["DATABASE_URL"], "instance": str(tmp_path), "round": vote.id,
                "tavolo": vw.tavolo.id, "submissions": submissions}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], cwd=PROJECT, capture_output=True,
                          text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["patched"] is True
    assert report["outcomes"] == ["person"] * 20 + ["already_voted"]
    assert report["stats"] == {"batches": 1, "ballots": 21, "largest": 21, "waiting": 0}
    with app.app_context():
        session = db.session
        counts = [session.scalar(select(func.count()).select_from(m).where(m.round_id == vote.id))
                  for m in (Participation, PooledBallot)]
    assert counts == [20, 20]
