"""Two real server processes sharing one database and one Redis: an event written through one
process reaches a client connected to the other. Real HTTP login, real Socket.IO clients
(python-socketio), bounded waits, processes always stopped."""
from __future__ import annotations

import os
import queue
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import socketio as sio_client

from tests.helpers import csrf_token_from
from tests.realtime.support import new_op_id
from tests.world import PASSWORD

PROJECT = Path(__file__).resolve().parents[2]
TAVOLI = PROJECT / ".venv" / "bin" / "tavoli"
SECRET = "chiave-condivisa-fra-i-processi-di-prova"
WAIT = 30  # seconds, for start-up; every other wait is shorter
# Two `tavoli serve` processes read and write the test database: it needs real commits.
pytestmark = pytest.mark.real_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, database_url: str, redis_url: str, instance: Path):
        self.name, self.port = name, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = instance / f"server-{name}.log"
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET,
               "TAVOLI_INSTANCE": str(instance), "BASE_URL": self.url, "PYTHONUNBUFFERED": "1"}
        self._log_file = open(self.log, "wb")  # noqa: SIM115 — closed in stop()
        self.proc = subprocess.Popen([str(TAVOLI), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=env, cwd=PROJECT, stdout=self._log_file, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_listening(self) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"il server {self.name} è terminato (codice {self.proc.returncode}):\n{self.output()}")
            try:
                if requests.get(self.url + "/", timeout=1).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        pytest.fail(f"il server {self.name} non risponde su {self.url} dopo {WAIT}s:\n{self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log_file.close()


@pytest.fixture
def servers(app, world, redis_url, tmp_path):
    """Two `tavoli serve` processes on the test database (SQLite file or PostgreSQL) and Redis."""
    started: list[Server] = []
    try:
        for name in ("A", "B"):
            instance = tmp_path / f"instance-{name}"
            instance.mkdir()
            started.append(Server(name, app.config["DATABASE_URL"], redis_url, instance))
        for server in started:
            server.wait_listening()
        yield started
    finally:
        for server in started:
            server.stop()


def _login(server: Server, email: str) -> tuple[str, str]:
    """Log in over HTTP like a browser; returns (session cookie, CSRF token of the session)."""
    http = requests.Session()
    page = http.get(server.url + "/accedi", timeout=10)
    assert page.status_code == 200
    response = http.post(server.url + "/accedi", timeout=10, allow_redirects=False,
                         data={"email": email, "password": PASSWORD, "csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302, (response.status_code, response.text[:500])
    home = http.get(server.url + "/", timeout=10)
    assert home.status_code == 200
    cookie = http.cookies.get("session")
    assert cookie, "nessun cookie di sessione dopo l'accesso"
    return cookie, csrf_token_from(home.text)


class LiveClient:
    def __init__(self):
        self.sio = sio_client.Client(reconnection=False)
        self.events: queue.Queue = queue.Queue()
        self.refusals: list = []
        self.sio.on("event", self.events.put, namespace="/live")
        self.sio.on("connect_error", self.refusals.append, namespace="/live")

    def connect(self, server: Server, cookie: str | None, token: str | None) -> None:
        headers = {"Cookie": f"session={cookie}"} if cookie else {}
        self.sio.connect(server.url, namespaces=["/live"], headers=headers, transports=["websocket"],
                         auth={"csrf_token": token} if token else None, wait_timeout=10)

    def call(self, event: str, data: dict):
        return self.sio.call(event, data, namespace="/live", timeout=10)

    def wait_for(self, kind: str, seq: int, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            if event["kind"] == kind and event["seq"] == seq:
                return event
        pytest.fail(f"nessun evento {kind} #{seq} entro {timeout}s")

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


def test_event_written_on_one_process_reaches_a_client_of_the_other(servers, world):
    a, b = servers
    tavolo = world.tavolo.id
    cookie_a, token_a = _login(a, world.delegate.email)
    # logged in on A, connected to B: the session is valid on both (same SECRET_KEY)
    cookie_b, token_b = _login(a, world.delegate2.email)
    on_a, on_b = LiveClient(), LiveClient()
    try:
        on_a.connect(a, cookie_a, token_a)
        on_b.connect(b, cookie_b, token_b)
        assert on_a.call("join", {"tavolo_id": tavolo})["ok"]
        reply = on_b.call("join", {"tavolo_id": tavolo})
        assert reply["ok"] and reply["mode"] == "snapshot"

        ack = on_a.call("bisogno.create", {"op_id": new_op_id(), "tavolo_id": tavolo, "macroarea": "E",
                                           "title": "Trasporto sociale per le visite"})
        assert ack.get("ok"), ack
        event = on_b.wait_for("bisogno.created", ack["seq"])
        assert event["tavolo_id"] == tavolo and event["actor_id"] == world.delegate.id
        assert event["payload"]["title"] == "Trasporto sociale per le visite"
        assert event["payload"]["id"] == ack["result"]["id"]
        on_a.wait_for("bisogno.created", ack["seq"])  # the author's own process delivers it too

        # and back: written on B, received on A
        back = on_b.call("annotation.create", {"op_id": new_op_id(), "tavolo_id": tavolo,
                                               "bisogno_id": ack["result"]["id"], "kind": "risorsa",
                                               "body": "Abbiamo un pulmino"})
        assert back.get("ok") and back["seq"] == ack["seq"] + 1, back
        assert on_a.wait_for("annotation.created", back["seq"])["payload"]["body"] == "Abbiamo un pulmino"

        # a reconnecting client replays from either process: the record is in the shared database
        replay = on_b.call("resync", {"tavolo_id": tavolo, "last_seq": reply["last_seq"]})
        assert [e["seq"] for e in replay["events"]] == [ack["seq"], back["seq"]]
    finally:
        on_a.close()
        on_b.close()
    for server in servers:
        assert server.proc.poll() is None, server.output()


def test_real_server_refuses_connections_with_an_italian_reason(servers, world):
    a, b = servers
    cookie, token = _login(b, world.delegate.email)
    csrf_message = "Token di sicurezza mancante o non valido: ricarica la pagina."
    cases = [(None, token, {"message": "Accesso richiesto.", "data": {"error": "unauthorized"}}),
             (cookie, None, {"message": csrf_message, "data": {"error": "csrf"}}),
             (cookie, "token-falso", {"message": csrf_message, "data": {"error": "csrf"}})]
    for c, t, refusal in cases:
        client = LiveClient()
        try:
            with pytest.raises(sio_client.exceptions.ConnectionError):
                client.connect(a, c, t)  # logged in on B: the session itself is valid on A
            assert client.refusals == [refusal]
        finally:
            client.close()
    # a malformed call on a real server gets an error ack, and the connection keeps working
    client = LiveClient()
    try:
        client.connect(a, cookie, token)
        assert client.sio.call("join", ({"tavolo_id": world.tavolo.id}, 2), namespace="/live", timeout=10) == {
            "error": "invalid", "message": "Il messaggio non ha la forma prevista."}
        assert client.call("join", {"tavolo_id": world.tavolo.id})["ok"]
    finally:
        client.close()


def test_logout_on_one_process_closes_the_logins_connection_on_the_other(servers, world):
    """Issue #12, fault 1, with two processes: the login's socket lives on B, the logout happens on
    A; B closes it (the sids of each login are in Redis, the disconnect goes through the queue)."""
    a, b = servers
    http = requests.Session()
    page = http.get(a.url + "/accedi", timeout=10)
    http.post(a.url + "/accedi", timeout=10, allow_redirects=False,
              data={"email": world.delegate.email, "password": PASSWORD, "csrf_token": csrf_token_from(page.text)})
    home = http.get(a.url + "/", timeout=10)
    cookie, token = http.cookies.get("session"), csrf_token_from(home.text)
    other_cookie, other_token = _login(a, world.delegate.email)  # the same person, another device
    on_b, other = LiveClient(), LiveClient()
    try:
        on_b.connect(b, cookie, token)
        other.connect(b, other_cookie, other_token)
        assert on_b.call("join", {"tavolo_id": world.tavolo.id})["ok"]
        assert http.post(a.url + "/esci", data={"csrf_token": token}, timeout=10,
                         allow_redirects=False).status_code == 302
        deadline = time.monotonic() + 10
        while on_b.sio.connected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not on_b.sio.connected, "la connessione del login chiuso su A è ancora aperta su B"
        assert other.sio.connected, "l'altro dispositivo è stato disconnesso"
        again = LiveClient()
        try:
            with pytest.raises(sio_client.exceptions.ConnectionError):
                again.connect(b, cookie, token)
        finally:
            again.close()
    finally:
        on_b.close()
        other.close()


def _drain(client: LiveClient, seconds: float) -> list[dict]:
    got, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(client.events.get(timeout=left))
        except queue.Empty:
            break
    return got


def test_two_tabs_on_two_processes_stay_present_until_both_close(servers, world, redis_url):
    """Presence counts a person's connections in every process (Redis): closing the tab on A keeps
    them present while the tab on B is open; closing that one too ends the presence."""
    a, b = servers
    tavolo = world.tavolo.id
    fac_cookie, fac_token = _login(a, world.facilitator.email)
    del_cookie, del_token = _login(a, world.delegate.email)
    console, tab_a, tab_b = LiveClient(), LiveClient(), LiveClient()
    try:
        console.connect(a, fac_cookie, fac_token)
        assert console.call("join", {"tavolo_id": tavolo, "presence": False})["ok"]
        started = console.call("seduta.start", {"op_id": new_op_id(), "tavolo_id": tavolo,
                                                "seduta_id": world.seduta.id})
        assert started.get("ok"), started
        tab_a.connect(a, del_cookie, del_token)
        tab_b.connect(b, del_cookie, del_token)
        joined = tab_a.call("join", {"tavolo_id": tavolo})
        assert joined["ok"]
        assert tab_b.call("join", {"tavolo_id": tavolo})["ok"]
        kinds = [e["kind"] for e in _drain(console, 1.5)]
        assert kinds.count("presence.joined") == 1, kinds  # the second tab opens no second presence

        tab_a.close()  # one tab closed, on process A: still present through B
        assert [e["kind"] for e in _drain(console, 2.0) if e["kind"].startswith("presence")] == []
        snapshot = console.call("resync", {"tavolo_id": tavolo, "register": True})["snapshot"]
        assert [p["user_id"] for p in snapshot["presences"]] == [world.delegate.id]

        tab_b.close()  # the last one, on process B: the presence ends, announced to everybody
        left = [e for e in _drain(console, 3.0) if e["kind"] == "presence.left"]
        assert [e["payload"]["user_id"] for e in left] == [world.delegate.id]
        assert console.call("resync", {"tavolo_id": tavolo, "register": True})["snapshot"]["presences"] == []
    finally:
        for client in (console, tab_a, tab_b):
            client.close()
    for server in servers:
        assert server.proc.poll() is None, server.output()
