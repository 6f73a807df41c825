"""No ballot is lost once acknowledged: a real server (``tavoli serve``) acknowledges secret ballots
cast together over the live channel, is killed with SIGKILL right after the last acknowledgement,
and a new server closes the round: every acknowledged ballot is counted, on SQLite and PostgreSQL.
Real processes, real Socket.IO clients (python-socketio), bounded waits, processes always stopped."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
import socketio as sio_client
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import func, select

from tests.voting.support import add_delegates, make_round, voting_world
from workspace.accounts.service import open_login
from workspace.db import db
from workspace.voting import methods
from workspace.voting.models import Participation, PooledBallot, SecretBallot

pytestmark = pytest.mark.real_db
PROJECT = Path(__file__).resolve().parents[2]
TAVOLI = PROJECT / ".venv" / "bin" / "tavoli"
SECRET = "chiave-di-prova-del-server-interrotto"
WAIT = 30  # seconds, for start-up; every other wait is shorter


class ServerProcess:
    """``tavoli serve`` on the test's database, in a process of its own."""

    def __init__(self, database_url: str, instance: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = instance / f"server-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(DATABASE_URL=database_url, SECRET_KEY=SECRET, TAVOLI_INSTANCE=str(instance), BASE_URL=self.url,
                   PYTHONUNBUFFERED="1")
        self._log = open(self.log, "wb")  # noqa: SIM115 — closed in stop()
        self.proc = subprocess.Popen([str(TAVOLI), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=env, cwd=PROJECT, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"il server è terminato (codice {self.proc.returncode}):\n{self.output()}")
            try:
                if requests.get(self.url + "/", timeout=1).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)  # polling a port that is not open yet: there is no message to wait for
        pytest.fail(f"il server non risponde su {self.url} dopo {WAIT}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no after-commit work of any kind."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


def _signed_in(server: ServerProcess, login_id: str) -> tuple[str, str]:
    """The session cookie a login would leave (signed with the server's key) and the CSRF token of
    that session, read from a page, as a browser would."""
    signer = Flask("prova")
    signer.secret_key = SECRET
    cookie = SecureCookieSessionInterface().get_signing_serializer(signer).dumps({"_user_id": login_id,
                                                                                "_fresh": True})
    with requests.Session() as http:
        http.cookies.set("session", cookie, domain="127.0.0.1", path="/")
        page = http.get(server.url + "/", timeout=10)
        assert page.status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "nessun token CSRF: il cookie di sessione non è stato accettato"
        return http.cookies.get("session"), token.group(1)


def _live(server: ServerProcess, login_id: str, tavolo_id: int) -> sio_client.Client:
    cookie, token = _signed_in(server, login_id)
    client = sio_client.Client(reconnection=False)
    client.connect(server.url, namespaces=["/live"], headers={"Cookie": f"session={cookie}"},
                   transports=["websocket"], auth={"csrf_token": token}, wait_timeout=10)
    assert client.call("join", {"tavolo_id": tavolo_id, "presence": False}, namespace="/live", timeout=10)["ok"]
    return client


def test_acknowledged_secret_ballots_survive_a_kill_and_are_counted(app, tmp_path):
    with app.app_context():
        session = db.session
        vw = voting_world(session)
        extra = add_delegates(session, vw, "ets", 3, "ETS sopravvissuto")
        vote = make_round(session, vw, secret=True)
        people = [vw.delegate, vw.colleague, vw.delegate2, *extra]  # 6 voters
        logins = [open_login(session, p) for p in people]
        ids = {"round": vote.id, "tavolo": vw.tavolo.id, "facilitator": open_login(session, vw.facilitator),
               "candidates": [str(b) for b in vw.bisogni]}
        ballots = [{"points": {str(vw.bisogni[n % 4]): 6, str(vw.bisogni[(n + 1) % 4]): 4}} for n in range(len(people))]
        session.commit()  # the logins the cookies name
    db_url = app.config["DATABASE_URL"]

    first = ServerProcess(db_url, tmp_path)
    clients: list[sio_client.Client] = []
    try:
        clients = [_live(first, login, ids["tavolo"]) for login in logins]
        acks: list = [None] * len(clients)

        def cast(n: int) -> None:
            acks[n] = clients[n].call("vote.cast", {"op_id": f"op-sopravvive-{n:03d}", "tavolo_id": ids["tavolo"],
                                                    "round_id": ids["round"], "ballot": ballots[n]},
                                      namespace="/live", timeout=20)

        threads = [threading.Thread(target=cast, args=(n,)) for n in range(len(clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        first.kill()  # right after the last acknowledgement
    finally:
        for client in clients:
            client.disconnect()
        first.stop()
    assert all(isinstance(a, dict) and a.get("ok") and a["result"]["secret"] for a in acks), acks

    with app.app_context():  # what the killed server left: every acknowledged ballot, in the pool
        session = db.session
        counts = [session.scalar(select(func.count()).select_from(m).where(m.round_id == ids["round"]))
                  for m in (Participation, PooledBallot, SecretBallot)]
        session.rollback()
    assert counts == [len(people), len(people), 0]

    second = ServerProcess(db_url, tmp_path)
    try:
        facilitator = _live(second, ids["facilitator"], ids["tavolo"])
        try:
            closed = facilitator.call("vote.close", {"op_id": "op-chiusura-dopo-il-crash", "tavolo_id": ids["tavolo"],
                                                     "round_id": ids["round"]}, namespace="/live", timeout=20)
        finally:
            facilitator.disconnect()
        assert closed.get("ok"), closed
        cookie, _token = _signed_in(second, ids["facilitator"])
        response = requests.get(f"{second.url}/api/v1/votazioni/{ids['round']}/risultati",
                                cookies={"session": cookie}, timeout=10)
        assert response.status_code == 200, response.text
        results = response.json()
    finally:
        second.stop()
    expected = methods.tally("dot", ids["candidates"], ballots, methods.DotSettings(points=10))
    assert results["ballots_counted"] == len(people)
    assert results["turnout"]["voted"] == len(people)
    assert results["tally"]["scores"] == expected.scores and results["tally"]["ranking"] == expected.ranking
