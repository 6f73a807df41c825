"""The server mode the product ships with: gevent.

- ``tavoli serve`` runs monkey-patched: hundreds of WebSocket connections on one OS thread (threading
  mode would hold a thread or more per connection), joins and operations served;
- in a gevent-patched process SQLite writers queue on the cooperative write lock (a writer that waits
  never stalls the event loop, where SQLite's own busy wait would freeze it until it timed out), a read
  transaction never waits for a writer, and argon2 hashing runs off the loop (other greenlets keep
  running during a login);
- reads never take the write lock: a long read transaction is open while a writer commits.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import socketio
from sqlalchemy import func, select

from tests.conftest import _config
from workspace import create_app
from workspace.accounts.models import Organisation
from workspace.db import db, reading

PROJECT = Path(__file__).resolve().parents[1]
SECRET = "test-secret-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _login(session, user) -> str:
    """A live login of ``user`` (its row), as the session cookie carries it: ``<login_id>.<key>``."""
    from workspace.accounts.auth import key_hash
    from workspace.accounts.models import LoginSession

    key = secrets.token_urlsafe(24)
    session.add(LoginSession(user_id=user.id, key_hash=key_hash(key)))
    return f"{user.login_id}.{key}"


def _credentials(login_id: str) -> tuple[str, str]:
    """The session cookie a login leaves and the CSRF token a page shows for it."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface
    from itsdangerous import URLSafeTimedSerializer

    raw = secrets.token_hex(20)
    signer = Flask("cookies")
    signer.secret_key = SECRET
    cookie = SecureCookieSessionInterface().get_signing_serializer(signer).dumps(
        {"_user_id": login_id, "_fresh": True, "csrf_token": raw})
    return f"session={cookie}", URLSafeTimedSerializer(SECRET, salt="wtf-csrf-token").dumps(raw)


def _disconnect_all(clients: list) -> None:
    """Together: each python-socketio client waits up to 3 s for the server's WebSocket close frame
    (websocket-client's close timeout); one after the other, 60 clients took close to three minutes."""
    threads = [threading.Thread(target=c.disconnect) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)


def _threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


@pytest.fixture
def served(sqlite_template, tmp_path):
    """``tavoli serve`` (the command, as `make run` starts it) on a copy of the template with a world."""
    from tests.world import build_world

    db_path = tmp_path / "tavoli.db"
    shutil.copyfile(sqlite_template, db_path)
    url = f"sqlite:///{db_path}"
    app = create_app(_config(url, tmp_path, CHECK_MIGRATIONS=False, REDIS_URL=None))
    with app.app_context():
        world = build_world(db.session)
        people = {"tavolo": world.tavolo.id, "login_ids": [_login(db.session, u) for u in (
            world.facilitator, world.delegate, world.delegate2, world.colleague, world.observer)]}
        db.session.commit()
    app.extensions["tavoli_db"]["engine"].dispose()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "TAVOLI_INSTANCE": str(tmp_path),
           "PORT": str(port), "HOST": "127.0.0.1", "BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("REDIS_URL", None)
    server = subprocess.Popen([str(Path(sys.executable).parent / "tavoli"), "serve"], env=env, cwd=PROJECT,
                              stdout=subprocess.DEVNULL, stderr=open(tmp_path / "server.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/accedi", timeout=1)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
        yield base, server.pid, people
    finally:
        server.terminate()
        server.wait(10)


def test_tavoli_serve_holds_its_connections_on_one_thread(served):
    base, pid, people = served
    clients = []
    try:
        for n in range(60):
            cookie, token = _credentials(people["login_ids"][n % len(people["login_ids"])])
            client = socketio.Client(reconnection=False)
            client.connect(base, headers={"Cookie": cookie}, auth={"csrf_token": token}, namespaces=["/live"],
                           transports=["websocket"], wait_timeout=20)
            clients.append(client)
        replies = [c.call("join", {"tavolo_id": people["tavolo"], "presence": False}, namespace="/live", timeout=20)
                   for c in clients]
        assert all(r.get("ok") and r["mode"] == "snapshot" for r in replies), replies[:3]
        # gevent: the main thread and at most a few of the pool's; threading mode would hold 60+.
        assert _threads(pid) <= 4
        got = threading.Event()
        clients[-1].on("event", lambda e: got.set(), namespace="/live")
        ack = clients[1].call("bisogno.create", {"op_id": "op-served-1", "tavolo_id": people["tavolo"],
                                                 "title": "Servito da gevent", "macroarea": "E"},
                              namespace="/live", timeout=20)
        assert ack.get("ok"), ack
        assert got.wait(10)
    finally:
        _disconnect_all(clients)


def test_a_seduta_starting_finds_its_connections_held_while_the_server_is_busy(served):
    """Hundreds of people connecting in the same second while the loop is busy: the kernel holds
    their connections (the listen backlog) instead of dropping them, which costs each dropped client
    a second (TCP's SYN retransmission). The server is stopped to stand for a busy loop: no
    connection is accepted by it, so every one completed here was held by the kernel."""
    import selectors
    import signal

    base, pid, _people = served
    port = int(base.rsplit(":", 1)[1])
    wanted = 400  # above gevent's default backlog (128)
    sockets, selector = [], selectors.DefaultSelector()
    os.kill(pid, signal.SIGSTOP)
    try:
        for _ in range(wanted):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            sockets.append(sock)
            selector.register(sock, selectors.EVENT_WRITE)
        connected: set[int] = set()
        deadline = time.monotonic() + 0.8  # under the first SYN retransmission (1 s)
        while len(connected) < wanted and time.monotonic() < deadline:
            for key, _mask in selector.select(timeout=0.1):
                selector.unregister(key.fileobj)
                if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected.add(key.fileobj.fileno())
        assert len(connected) == wanted
    finally:
        os.kill(pid, signal.SIGCONT)
        selector.close()
        for sock in sockets:
            sock.close()
    # And the server, resumed, still serves.
    with urllib.request.urlopen(f"{base}/accedi", timeout=10) as page:
        assert page.status == 200


@pytest.fixture
def one_handshake_at_a_time(monkeypatch):
    monkeypatch.setenv("TAVOLI_HANDSHAKES_AT_ONCE", "1")


def test_with_one_handshake_slot_everyone_still_connects_and_a_silent_socket_cannot_lock_them_out(
        one_handshake_at_a_time, served):
    """The served process's handshake gate at its narrowest: a WebSocket that opens and says nothing
    holds the only slot for two seconds at most, and twenty people connecting at once all get in
    and join, one handshake after the other."""
    base, _pid, people = served
    port = int(base.rsplit(":", 1)[1])
    silent = socket.create_connection(("127.0.0.1", port))
    silent.sendall(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    assert b"101" in silent.recv(1024).split(b"\r\n", 1)[0]  # upgraded, and then silent
    clients: list = []
    replies: list = []
    errors: list = []

    def one(n: int) -> None:
        cookie, token = _credentials(people["login_ids"][n % len(people["login_ids"])])
        client = socketio.Client(reconnection=False)
        try:
            client.connect(base, headers={"Cookie": cookie}, auth={"csrf_token": token}, namespaces=["/live"],
                           transports=["websocket"], wait_timeout=20)
            clients.append(client)
            replies.append(client.call("join", {"tavolo_id": people["tavolo"], "presence": False},
                                       namespace="/live", timeout=20))
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(repr(exc))

    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        took = time.monotonic() - started
        assert errors == []
        assert len(replies) == 20 and all(r.get("ok") for r in replies), replies[:3]
        assert took < 15, took  # the silent socket's two seconds, then one handshake at a time
    finally:
        silent.close()
        _disconnect_all(clients)


CHILD = r"""
from gevent import monkey
monkey.patch_all()

import json, sys, time
import gevent
from sqlalchemy import text
from workspace import create_app
from workspace.db import db, reading
from workspace.accounts import service
from workspace.serving import async_mode

spec = json.loads(sys.argv[1])
app = create_app({"DATABASE_URL": spec["url"], "INSTANCE_PATH": spec["instance"], "SECRET_KEY": "x",
                  "CHECK_MIGRATIONS": False, "REDIS_URL": None})
report = {"mode": async_mode()}

def ticker(gaps, stop):
    last = time.monotonic()
    while not stop:
        gevent.sleep(0.002)
        now = time.monotonic()
        gaps.append(now - last)
        last = now

# 1. Hashing: four logins' worth of argon2 while a greenlet ticks.
gaps, stop = [], []
tick = gevent.spawn(ticker, gaps, stop)
started = time.monotonic()
hashes = [gevent.spawn(service._hash, "una password abbastanza lunga") for _ in range(4)]
gevent.joinall(hashes)
report["hashing_s"] = time.monotonic() - started
report["hash_ok"] = all(service._check(h.value, "una password abbastanza lunga") for h in hashes)
stop.append(1); tick.join()
report["max_gap_s"] = max(gaps)

# 2. Writers and a reader: A holds a write transaction across a cooperative pause, B writes meanwhile,
#    C reads meanwhile.
with app.app_context():
    db.session.execute(text("CREATE TABLE IF NOT EXISTS scratch (n INTEGER)"))
    db.session.commit()
out = {}

def writer_a():
    with app.app_context():
        s = db.session
        s.execute(text("INSERT INTO scratch VALUES (1)"))
        gevent.sleep(0.3)
        s.commit()
        out["a_done"] = time.monotonic()

def writer_b():
    gevent.sleep(0.05)
    t0 = time.monotonic()
    with app.app_context():
        s = db.session
        s.execute(text("INSERT INTO scratch VALUES (2)"))
        s.commit()
    out["b_s"] = time.monotonic() - t0
    out["b_done"] = time.monotonic()

def reader_c():
    gevent.sleep(0.1)
    t0 = time.monotonic()
    with app.app_context(), reading():
        out["c_rows"] = db.session.execute(text("SELECT count(*) FROM scratch")).scalar()
        db.session.commit()
    out["c_s"] = time.monotonic() - t0

gevent.joinall([gevent.spawn(writer_a), gevent.spawn(writer_b), gevent.spawn(reader_c)], timeout=60)
with app.app_context():
    out["rows"] = db.session.execute(text("SELECT n FROM scratch ORDER BY n")).scalars().all()
report.update(out)
report["b_after_a"] = out.get("b_done", 0) >= out.get("a_done", 1)
print(json.dumps(report))
"""


def test_under_gevent_writers_queue_cooperatively_readers_never_wait_and_hashing_is_off_the_loop(
        sqlite_template, tmp_path):
    db_path = tmp_path / "tavoli.db"
    shutil.copyfile(sqlite_template, db_path)
    spec = {"url": f"sqlite:///{db_path}", "instance": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], cwd=PROJECT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["mode"] == "gevent"
    # argon2 took its time, in the pool: the loop never stopped for more than a fraction of one hash.
    assert report["hash_ok"] and report["hashing_s"] > 0.1
    assert report["max_gap_s"] < min(0.1, report["hashing_s"] / 2), report
    # B waited for A (the lock), without freezing the loop: A could finish its pause and commit.
    assert report["rows"] == [1, 2] and report["b_after_a"], report
    assert report["b_s"] < 5, report
    # C read while A held the write lock: at once, and without A's uncommitted row.
    assert report["c_rows"] == 0 and report["c_s"] < 0.1, report


PDF_CHILD = """
from workspace.serving import patch
patch()
import sys
from workspace import create_app
from workspace.serving import offload

create_app({"DATABASE_URL": sys.argv[1], "INSTANCE_PATH": sys.argv[2], "SECRET_KEY": "x",
            "CHECK_MIGRATIONS": False, "REDIS_URL": None})

def render():
    from weasyprint import HTML

    return HTML(string="<p>Verbale</p>").write_pdf()

print(offload(render)[:5].decode())
"""


def test_the_served_process_renders_pdf_in_the_pool(sqlite_template, tmp_path):
    """WeasyPrint finds its native libraries by running ldconfig in a subprocess: under gevent that
    works on the main thread only, so the served app loads it there (``serving.preload``), not at the
    first PDF export inside ``offload``'s pool (where it failed: the first export was a 500)."""
    db_path = tmp_path / "tavoli.db"
    shutil.copyfile(sqlite_template, db_path)
    done = subprocess.run([sys.executable, "-c", PDF_CHILD, f"sqlite:///{db_path}", str(tmp_path)], cwd=PROJECT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "%PDF-"


@pytest.mark.real_db
def test_a_long_read_does_not_block_a_writer(app):
    """A read transaction stays open (a join building a big snapshot, a page) while a writer commits:
    the writer does not wait for it, and the reader keeps its consistent view until it ends."""
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Organisation))
    opened, release, seen = threading.Event(), threading.Event(), {}

    def long_read():
        with app.app_context(), reading():
            session = db.session
            seen["first"] = session.scalar(select(func.count()).select_from(Organisation))
            opened.set()
            release.wait(10)
            seen["second"] = session.scalar(select(func.count()).select_from(Organisation))
            session.commit()

    reader = threading.Thread(target=long_read)
    reader.start()
    assert opened.wait(10)
    started = time.monotonic()
    with app.app_context():
        session = db.session
        session.add(Organisation(name="Scritta durante la lettura", kind="ets", ambito_code="50008"))
        session.commit()
    took = time.monotonic() - started
    release.set()
    reader.join(10)
    assert took < 1.0
    assert seen["first"] == before
    if app.config["DATABASE_URL"].startswith("sqlite"):
        assert seen["second"] == before  # a snapshot: the reader's view does not change under it
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == before + 1
