"""A plenary of 1,000 (issue 14): fan-out, join storm and page load, Tavoli against bare floors.

Every figure comes from an independent client that speaks only docs/live-protocol.md
(``bench/liveclient.py``: raw Engine.IO/Socket.IO over aiohttp WebSockets, hundreds of clients per
asyncio process, spread over a few processes). The suite starts everything it measures, in one
sitting, product and floors interleaved:

- ``fanout_bare``: bare python-socketio, threading mode (Werkzeug), ``bench/bare_server.py``;
- ``fanout_embedded``: ``tavoli serve`` on SQLite, the embedded mode as ``make run`` starts it;
- ``fanout_bare_gevent``: bare python-socketio on gevent;
- ``fanout_scaled``: ``deploy.scaled.Cluster`` — 2 gunicorn processes on PostgreSQL + Redis behind
  the sticky proxy, as ``make scaled N=2``;
- ``fanout_1000``: 1,000 clients, embedded (plus server ``threads`` and ``rss_kb_per_client``);
- ``multi_seduta``: 1,000 clients over 4 tavoli, each with a live seduta, on the scaled cluster;
- ``join``: 300 clients connecting and joining at once a tavolo with 500 bisogni and 5,000
  annotations while one writer sends 10 writes/s (embedded); ``join_bare_gevent``: the same storm on
  the bare gevent server, its floor;
- ``page``: the participants' seduta page (``/tavoli/<id>/partecipa``) of that tavolo at 20
  concurrent connections.

Fan-out: every client joins the tavolo while its seduta is live, without presence (``presence:
false``: each presence is a write pushed to the whole room, n² pushes while a plenary fills up — the
``join`` scenario measures joining with presence); the writer sends one operation per second (``bisogno.create`` / ``annotation.create``
alternately, each with its ``op_id``); ``p50_ms``/``p99_ms`` are percentiles over the rounds of the
time from the writer's emit to the receipt by the *last* client; ``delivered``/``expected`` count
(client, event) receipts. Timestamps are CLOCK_MONOTONIC, shared by every process of the machine.

Logging in: the bench owns the server's SECRET_KEY and signs each participant's session cookie
(with the CSRF secret in it) and token itself, instead of paying 1,000 argon2 logins; from there the
client follows §2 step 3 (cookie + ``auth.csrf_token``).

``make bench`` runs it in full (60 rounds of 1 event/s); ``BENCH_QUICK=1`` or ``--quick`` runs a
short version (100 clients, 10 rounds, a smaller tavolo) for development. Writes ``bench/results.json``
(merged: other benchmarks' keys kept), ``bench/results.md`` and ``bench/results/plenary.json``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.live_broadcast import ms, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS_JSON = ROOT / "bench" / "results.json"
RESULTS_MD = ROOT / "bench" / "results.md"
RESULTS_DIR = ROOT / "bench" / "results"
PG_ADMIN = os.environ.get("TAVOLI_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("TAVOLI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")
ORGANISATIONS = 30
ALL = ("fanout_bare", "fanout_embedded", "fanout_bare_gevent", "fanout_scaled", "fanout_1000", "multi_seduta",
       "join_bare_gevent", "join", "page")


@dataclass
class Settings:
    clients: int = 300
    big: int = 1000
    rounds: int = 60
    warmup: int = 3
    interval: float = 1.0
    tavoli: int = 4
    bisogni: int = 500
    annotations: int = 5000
    join_clients: int = 300
    writes_per_s: float = 10.0
    page_seconds: float = 20.0
    page_concurrency: int = 20
    connect_batch: int = 50  # connections in flight at once per client process (fan-out set-up)
    quick: bool = False
    profile: str | None = None  # a folder: py-spy samples the server during the join storm and the page run

    @classmethod
    def quick_mode(cls) -> Settings:
        return cls(clients=100, big=300, rounds=10, warmup=2, tavoli=4, bisogni=50, annotations=500,
                   join_clients=100, page_seconds=5.0, quick=True)


# --- helpers -------------------------------------------------------------------------------------


def proc_status(pids: list[int]) -> dict[str, int]:
    out = {"rss_kb": 0, "threads": 0}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key == "VmRSS":
                    out["rss_kb"] += int(value.split()[0])
                elif key == "Threads":
                    out["threads"] += int(value)
        except OSError:
            pass
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes so far (``/proc/PID/stat``): a figure that other
    load on the machine inflates much less than wall-clock latency."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def open_presences(path: Path) -> int:
    """Presences not ended in a SQLite database (read directly: the bench checks the server)."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM presence WHERE left_at IS NULL").fetchone()[0]


def quiet(pids: list[int], below: float = 0.05, window: float = 0.5, limit: float = 60.0) -> float:
    """Wait until the processes use less than ``below`` of a core over ``window`` seconds (at most
    ``limit`` seconds); returns the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        before = cpu_seconds(pids)
        time.sleep(window)
        if cpu_seconds(pids) - before < below * window:
            break
    return time.monotonic() - start


def raise_nofile(wanted: int = 65536) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def cookie_id(session, user) -> str:
    """What a login leaves in the session cookie: ``<login_id>.<key>``, with its live login row."""
    from workspace.accounts.auth import key_hash
    from workspace.accounts.models import LoginSession

    key = secrets.token_urlsafe(24)
    session.add(LoginSession(user_id=user.id, key_hash=key_hash(key)))
    return f"{user.login_id}.{key}"


def credentials(secret: str, login_id: str) -> tuple[str, str]:
    """The session cookie a login leaves (with Flask-WTF's CSRF secret in it) and the CSRF token a
    page would show for it, signed with the server's key."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface
    from itsdangerous import URLSafeTimedSerializer

    raw = secrets.token_hex(20)
    signer = Flask("bench-cookies")
    signer.secret_key = secret
    cookie = SecureCookieSessionInterface().get_signing_serializer(signer).dumps(
        {"_user_id": login_id, "_fresh": True, "csrf_token": raw})
    token = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)
    return f"session={cookie}", token


# --- worlds --------------------------------------------------------------------------------------


@dataclass
class World:
    tavoli: list[int]
    login_ids: list[str]  # participant i belongs to tavoli[i % len(tavoli)]; 0..len(tavoli)-1 are the writers
    bisogno: int | None = None


def build_world(url: str, workdir: Path, secret: str, people: int, tavoli: int = 1, bisogni: int = 0,
                annotations: int = 0) -> World:
    """Migrate, load the reference data, and make ``tavoli`` tavoli (macroarea E, window open, a live
    seduta each) sharing ``people`` delegates round-robin; optionally fill the first with content."""
    from argon2 import PasswordHasher

    from workspace import create_app
    from workspace.accounts.models import Membership, Organisation, User
    from workspace.db import db, utcnow
    from workspace.migrate import upgrade
    from workspace.needs import service as needs
    from workspace.procedures import lifecycle
    from workspace.reference.loader import load_reference
    from workspace.tavoli import membership
    from workspace.tavoli import service as tavoli_service

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "SECRET_KEY": secret,
                      "MAIL_DIR": str(workdir / "mail"), "CHECK_MIGRATIONS": False, "REDIS_URL": None})
    with app.app_context():
        session = db.session
        load_reference(session)
        password_hash = PasswordHasher().hash(secrets.token_hex(16))
        udp = Organisation(name="Ufficio di Piano (bench)", kind="ufficio_di_piano", ambito_code="50008")
        orgs = [Organisation(name=f"Ente del Terzo Settore {i + 1:02d} (bench)", kind="ets", ambito_code="50008",
                             runts_section="odv") for i in range(ORGANISATIONS)]
        admin = User(name="Amministratrice (bench)", email="amministrazione@bench.example.org",
                     password_hash=password_hash, is_admin=True)
        facilitator = User(name="Facilitatore (bench)", email="facilitatore@bench.example.org",
                           password_hash=password_hash)
        session.add_all([udp, *orgs, admin, facilitator])
        session.add_all([Membership(user=admin, organisation=udp), Membership(user=facilitator, organisation=udp)])
        people_rows = []
        for i in range(people):
            user = User(name=f"Partecipante {i + 1:04d}", email=f"p{i + 1:04d}@bench.example.org",
                        password_hash=password_hash)
            org = orgs[i % ORGANISATIONS]
            people_rows.append((user, org))
            session.add(user)
            session.add(Membership(user=user, organisation=org))
        session.flush()
        procedure = lifecycle.create_procedure(session, admin, "50008", "Co-programmazione (bench)", rup=facilitator)
        now = utcnow()
        made = []
        for t in range(tavoli):
            tavolo = membership.create_tavolo(session, admin, procedure, f"Tavolo {t + 1} (bench)", ["E"],
                                              opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10))
            membership.set_role(session, admin, tavolo, facilitator, "facilitator")
            made.append(tavolo)
        for i, (user, org) in enumerate(people_rows):
            membership.set_role(session, admin, made[i % tavoli], user, "delegate", org)
        session.commit()
        first_bisogno = None
        if bisogni:
            tavolo = made[0]
            authors = [u for i, (u, _o) in enumerate(people_rows) if i % tavoli == 0][:50] or [people_rows[0][0]]
            created = []
            for b in range(bisogni):
                bisogno, _event = needs.create_bisogno(session, authors[b % len(authors)], tavolo, {
                    "macroarea": "E", "title": f"Bisogno {b + 1}: anziani soli nei quartieri periferici",
                    "description": "Descrizione di prova del benchmark, un paragrafo di testo. " * 3,
                    "consolidation": "nuovo"})
                created.append(bisogno)
                if b % 100 == 99:
                    session.commit()
            session.commit()
            for a in range(annotations):
                needs.add_annotation(session, authors[a % len(authors)], created[a % len(created)], "esperienza",
                                     f"Annotazione {a + 1}: un'esperienza sul campo raccontata in due frasi. "
                                     "Il servizio di prossimità ha funzionato per chi ha una rete.")
                if a % 200 == 199:
                    session.commit()
            session.commit()
            first_bisogno = created[0].id
        for tavolo in made:
            seduta = tavoli_service.create_seduta(session, facilitator, tavolo, now, "Sala (bench)", "mista",
                                                  ["Apertura", "Bisogni", "Varie"])
            session.flush()
            tavoli_service.start_seduta(session, facilitator, seduta)
        session.commit()
        world = World([t.id for t in made], [cookie_id(session, u) for u, _ in people_rows], first_bisogno)
        session.commit()
    app.extensions["tavoli_db"]["engine"].dispose()
    return world


def pg_database() -> tuple[str, str]:
    """A fresh PostgreSQL database: (its URL, its name)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tavoli_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)), name


def drop_pg(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- servers -------------------------------------------------------------------------------------


class Process:
    """A server subprocess (bare or ``tavoli serve``); ``pids`` for RSS and threads."""

    def __init__(self, cmd: list[str], env: dict[str, str], log: Path, base: str):
        self.base, self.log_path = base, log
        self._log = open(log, "wb")  # noqa: SIM115 — closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def pids(self) -> list[int]:
        return [self.proc.pid]

    def start(self) -> Process:
        from deploy.scaled import wait_http

        wait_http(self.base + "/" if "/socket.io" not in self.base else self.base, 60, self.proc, self.log_path)
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


def bare_server(mode: str, workdir: Path) -> Process:
    from deploy.scaled import free_port

    port = free_port()
    proc = Process([sys.executable, "-m", "bench.bare_server", "--mode", mode, "--port", str(port)],
                   {**os.environ, "PYTHONUNBUFFERED": "1"}, workdir / f"bare-{mode}.log", f"http://127.0.0.1:{port}")
    from deploy.scaled import wait_http

    wait_http(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling", 60, proc.proc, proc.log_path)
    return proc


def embedded_server(url: str, secret: str, workdir: Path) -> Process:
    from deploy.scaled import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY")}
    env.update({"DATABASE_URL": url, "SECRET_KEY": secret, "TAVOLI_INSTANCE": str(workdir), "BASE_URL": base,
                "PYTHONUNBUFFERED": "1"})
    # As `tavoli serve` runs (workspace.entry: gevent's monkey-patching first).
    return Process([sys.executable, "-m", "workspace.entry", "serve", "--host", "127.0.0.1", "--port", str(port)],
                   env, workdir / "embedded.log", base).start()


# --- client processes ----------------------------------------------------------------------------


def _worker(conn, base: str, specs: list[tuple[int, str, str, int, str]], batch: int) -> None:
    """A client process: connects and joins its clients on "go", reports, collects receipts on "collect"."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_nofile()
    asyncio.run(_worker_main(conn, base, specs, batch))


async def _worker_main(conn, base, specs, batch) -> None:
    from bench.liveclient import LiveClient, Refused, http_session

    loop = asyncio.get_running_loop()
    receipts: list[tuple[int, int, int, float]] = []
    sessions = {}
    clients: dict[int, LiveClient] = {}
    for _i, _c, _t, _tv, addr in specs:
        if addr not in sessions:
            sessions[addr] = http_session(addr)

    presence = True

    async def one(index, cookie, token, tavolo_id, addr, gate):
        async with gate:
            def on_event(event, at, index=index):
                receipts.append((index, event.get("tavolo_id"), event.get("seq"), at))

            client = LiveClient(sessions[addr], base, cookie, token, on_event)
            started = time.monotonic()
            try:
                await client.connect()
                ack = await client.call("join", {"tavolo_id": tavolo_id, "mode": "remoto", "presence": presence},
                                        timeout=120)
            except (TimeoutError, Refused, ConnectionError, OSError) as exc:
                await client.close()
                return index, time.monotonic() - started, f"{type(exc).__name__}: {exc}"[:200]
            if not (isinstance(ack, dict) and ack.get("ok")):
                await client.close()
                return index, time.monotonic() - started, f"join: {str(ack)[:200]}"
            clients[index] = client
            return index, time.monotonic() - started, None

    try:
        while True:
            command, *args = await loop.run_in_executor(None, conn.recv)
            if command == "go":
                gate = asyncio.Semaphore(args[0] or len(specs) or 1)
                presence = args[1] if len(args) > 1 else True
                results = await asyncio.gather(*(one(*s, gate) for s in specs))
                conn.send(results)
            elif command == "status":
                conn.send(sum(1 for c in clients.values() if c.connected))
            elif command == "collect":
                conn.send(list(receipts))
            elif command == "stop":
                break
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()), return_exceptions=True)
        for s in sessions.values():
            await s.close()
        conn.close()


class Workers:
    def __init__(self, base: str, specs: list, processes: int, batch: int):
        ctx = mp.get_context("spawn")
        self.pipes, self.procs = [], []
        shares = [specs[i::processes] for i in range(processes)]
        for share in shares:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, base, share, batch), daemon=True)
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)

    def send(self, *command) -> None:
        for pipe in self.pipes:
            pipe.send(command)

    def gather(self, timeout: float = 900) -> list:
        out = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise TimeoutError("un processo client non risponde")
            out.append(pipe.recv())
        return out

    def all(self, *command, timeout: float = 900) -> list:
        self.send(*command)
        return self.gather(timeout)

    def stop(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)


def specs_for(world: World | None, secret: str | None, clients: int, tavoli: list[int]) -> list:
    """(index, cookie, token, tavolo_id, source address) per client; index 0..len(tavoli)-1 are writers."""
    out = []
    for i in range(clients):
        if world is not None and secret is not None:
            cookie, token = credentials(secret, world.login_ids[i])
        else:
            cookie, token = "session=bare", secrets.token_hex(8)
        out.append((i, cookie, token, tavoli[i % len(tavoli)], f"127.0.0.{10 + i % 48}"))
    return out


def client_processes(clients: int) -> int:
    return 1 if clients <= 120 else (2 if clients <= 600 else 3)


# --- scenarios -----------------------------------------------------------------------------------


def _operation(n: int, tavolo_id: int, bisogno_id: int | None, tag: str) -> tuple[str, dict]:
    op_id = f"bench-{tag}-{n:05d}"
    if bisogno_id is None or n % 2 == 0:
        return "bisogno.create", {"op_id": op_id, "tavolo_id": tavolo_id, "macroarea": "E",
                                  "title": f"Bisogno di prova n. {n}", "consolidation": "nuovo",
                                  "description": "Anziani soli nei quartieri periferici (benchmark)."}
    return "annotation.create", {"op_id": op_id, "tavolo_id": tavolo_id, "bisogno_id": bisogno_id,
                                 "kind": "esperienza", "body": f"Annotazione di prova n. {n}."}


async def _writer_rounds(writer, tavolo_id: int, rounds: int, interval: float, offset: float, tag: str,
                         sent: list, start: float) -> None:
    """One operation every ``interval`` s from ``start + offset``; ``sent`` gets (tavolo, seq, t0, ack_s, ok)."""
    bisogno_id = None
    for n in range(rounds):
        at = start + offset + n * interval
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        name, payload = _operation(n, tavolo_id, bisogno_id, tag)
        t0 = time.monotonic()
        ack = None
        for _attempt in range(3):  # same op_id: applied at most once (§7)
            try:
                ack = await writer.call(name, payload, timeout=30)
            except (TimeoutError, ConnectionError) as exc:
                ack = {"error": "timeout", "message": str(exc)}
            if isinstance(ack, dict) and (ack.get("ok") or ack.get("error") not in ("internal", "timeout")):
                break
        ok = isinstance(ack, dict) and bool(ack.get("ok"))
        if ok and name == "bisogno.create" and isinstance(ack.get("result"), dict):
            bisogno_id = ack["result"].get("id") or bisogno_id
        sent.append((tavolo_id, ack.get("seq") if ok else None, t0, time.monotonic() - t0, ok))


async def _writers(base: str, writer_specs: list, rounds: int, interval: float, tag: str) -> list:
    from bench.liveclient import LiveClient, http_session

    http = http_session()
    writers = []
    try:
        for _i, cookie, token, tavolo_id, _addr in writer_specs:
            w = LiveClient(http, base, cookie, token, lambda e, t: None)
            await w.connect()
            ack = await w.call("join", {"tavolo_id": tavolo_id, "presence": False}, timeout=60)
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise RuntimeError(f"il writer non entra: {ack}")
            writers.append((w, tavolo_id))
        sent: list = []
        start = time.monotonic() + 0.2
        step = interval / max(1, len(writers))
        await asyncio.gather(*(_writer_rounds(w, tv, rounds, interval, k * step, f"{tag}{k}", sent, start)
                               for k, (w, tv) in enumerate(writers)))
        await asyncio.sleep(2.0)  # the last round's deliveries
        return sent
    finally:
        for w, _ in writers:
            await w.close()
        await http.close()


def fanout(name: str, base: str, specs: list, settings: Settings, server_pids=None, tavoli: int = 1) -> dict:
    """Connect and join every client (writers are specs[:tavoli], which also receive), then rounds."""
    watchers = specs[tavoli:]
    writer_specs = specs[:tavoli]
    workers = Workers(base, watchers, client_processes(len(watchers)), settings.connect_batch)
    try:
        before = proc_status(server_pids() if server_pids else [])
        t = time.monotonic()
        # Set-up joins without presence: each presence is a write broadcast to the whole room (n² pushes
        # while a plenary fills up), which the `join` scenario measures; the fan-out is the same room.
        joins = [r for got in workers.all("go", settings.connect_batch, False) for r in got]
        connect_s = time.monotonic() - t
        errors = [e for _i, _d, e in joins if e]
        joined = len(joins) - len(errors)
        time.sleep(2.0)
        after = proc_status(server_pids() if server_pids else [])
        total_rounds = settings.warmup + settings.rounds
        sent = asyncio.run(_writers(base, writer_specs, total_rounds, settings.interval, name))
        receipts = [r for got in workers.all("collect") for r in got]
    finally:
        workers.stop()
    measured = [s for s in sent if s[1] is not None][tavoli * settings.warmup:]
    first: dict[tuple[int, int], dict[int, float]] = {}
    for index, tavolo_id, seq, at in receipts:
        per = first.setdefault((tavolo_id, seq), {})
        if index not in per or at < per[index]:
            per[index] = at
    tavolo_of = {spec[0]: spec[3] for spec in specs}
    per_tavolo_joined: dict[int, int] = {}
    for index, _d, e in joins:
        if not e:
            per_tavolo_joined[tavolo_of[index]] = per_tavolo_joined.get(tavolo_of[index], 0) + 1
    last, all_lat, delivered, expected = [], [], 0, 0
    for tavolo_id, seq, t0, _ack, _ok in measured:
        got = [at - t0 for at in first.get((tavolo_id, seq), {}).values()]
        delivered += len(got)
        expected += per_tavolo_joined.get(tavolo_id, 0)
        all_lat.extend(got)
        if got:
            last.append(max(got))
    refused = sum(1 for s in sent if not s[4])  # a refused write delivers nothing: counted apart
    out = {
        "clients": joined + len(writer_specs), "p50_ms": ms(percentile(last, 50)), "p99_ms": ms(percentile(last, 99)),
        "delivered": delivered, "expected": expected,
        "receipt_p50_ms": ms(percentile(all_lat, 50)), "receipt_p99_ms": ms(percentile(all_lat, 99)),
        "writer_ack_p50_ms": ms(percentile([s[3] for s in measured], 50)),
        "writer_ack_p99_ms": ms(percentile([s[3] for s in measured], 99)),
        "rounds": len(measured), "refused_writes": refused, "join_errors": len(errors),
        "connect_join_p99_ms": ms(percentile([d for _i, d, e in joins if not e], 99)),
        "connect_all_s": round(connect_s, 1),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if errors:
        out["join_error_sample"] = errors[:3]
    if server_pids:
        out["threads"] = after["threads"]
        out["rss_kb_per_client"] = round((after["rss_kb"] - before["rss_kb"]) / max(1, joined), 1)
        out["rss_mb"] = round(after["rss_kb"] / 1024, 1)
    return out


async def _join_storm(base: str, writer_spec, specs: list, settings: Settings, workers: Workers,
                      cpu: Callable[[], float] = lambda: 0.0) -> dict:
    from bench.liveclient import LiveClient, http_session

    http = http_session()
    writer = LiveClient(http, base, writer_spec[1], writer_spec[2], lambda e, t: None)
    await writer.connect()
    await writer.call("join", {"tavolo_id": writer_spec[3], "presence": False}, timeout=120)
    sent: list = []
    stop = asyncio.Event()

    async def write_loop():
        n = 0
        bisogno_id = None
        interval = 1.0 / settings.writes_per_s
        next_at = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            name, payload = _operation(n, writer_spec[3], bisogno_id, f"join{secrets.token_hex(2)}")
            n += 1
            t0 = time.monotonic()
            try:
                ack = await writer.call(name, payload, timeout=60)
            except (TimeoutError, ConnectionError) as exc:
                ack = {"error": "timeout", "message": str(exc)}
            ok = isinstance(ack, dict) and bool(ack.get("ok"))
            if ok and name == "bisogno.create":
                bisogno_id = ack["result"]["id"]
            sent.append((t0, time.monotonic() - t0, ok, None if ok else ack))

    task = asyncio.create_task(write_loop())
    await asyncio.sleep(1.0)
    storm_start, cpu_start = time.monotonic(), cpu()
    loop = asyncio.get_running_loop()
    joins = [r for got in await loop.run_in_executor(None, lambda: workers.all("go", 0, True)) for r in got]
    storm_end, cpu_end = time.monotonic(), cpu()
    await asyncio.sleep(1.0)
    stop.set()
    await task
    await writer.close()
    await http.close()
    during = [s for s in sent if storm_start - 0.5 <= s[0] <= storm_end]
    errors = [e for _i, _d, e in joins if e]
    return {
        "clients": len(joins), "p50_ms": ms(percentile([d for _i, d, e in joins if not e], 50)),
        "p99_ms": ms(percentile([d for _i, d, e in joins if not e], 99)),
        "writer_ack_p99_ms": ms(percentile([s[1] for s in during], 99)),
        "writer_ack_p50_ms": ms(percentile([s[1] for s in during], 50)),
        # The shape of the storm: when the joins were answered (0 %, 10 %, ... 100 % of them).
        "deciles_ms": [ms(percentile([d for _i, d, e in joins if not e], q)) for q in range(0, 101, 10)],
        "writer_acks_ms": [ms(s[1]) for s in during],
        "writes_during": len(during),
        "refused": len(errors) + sum(1 for s in during if not s[2]),
        "storm_s": round(storm_end - storm_start, 2),
        # The server's CPU time over the storm (joins, and the writer's writes meanwhile) per join.
        "server_cpu_ms_per_join": round((cpu_end - cpu_start) * 1000 / max(1, len(joins)), 2),
        "bisogni": settings.bisogni, "annotations": settings.annotations,
        "error_sample": (errors + [str(s[3]) for s in during if not s[2]])[:3],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


async def _page(url: str, cookie: str, seconds: float, concurrency: int) -> dict:
    import aiohttp

    times: list[float] = []
    failures = 0
    async with aiohttp.ClientSession(headers={"Cookie": cookie}, cookie_jar=aiohttp.DummyCookieJar(),
                                     connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        async with http.get(url) as response:  # warm-up, and a check that the page is there
            body = await response.text()
            if response.status != 200:
                raise RuntimeError(f"pagina {url}: HTTP {response.status}")
        end = time.monotonic() + seconds

        async def loop():
            nonlocal failures
            while time.monotonic() < end:
                t = time.monotonic()
                try:
                    async with http.get(url) as response:
                        await response.read()
                        if response.status != 200:
                            failures += 1
                            continue
                except aiohttp.ClientError:
                    failures += 1
                    continue
                times.append(time.monotonic() - t)

        started = time.monotonic()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        wall = time.monotonic() - started
    return {"rps": round(len(times) / wall, 1), "p50_ms": ms(percentile(times, 50)),
            "p95_ms": ms(percentile(times, 95)), "requests": len(times), "failures": failures,
            "concurrency": concurrency, "page_kb": round(len(body.encode()) / 1024, 1),
            "date": datetime.now(UTC).isoformat(timespec="seconds")}


# --- the suite -----------------------------------------------------------------------------------


def run(settings: Settings, only: tuple[str, ...]) -> dict:
    raise_nofile()
    results: dict[str, dict] = {}
    workdir = Path(tempfile.mkdtemp(prefix="tavoli-plenary-"))

    def step(name: str, fn) -> None:
        if name not in only:
            return
        print(f"plenary: {name}...", flush=True)
        t = time.monotonic()
        try:
            results[name] = fn()
        except Exception as exc:  # noqa: BLE001 — one failed scenario must not lose the others
            results[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        print(f"plenary: {name} in {time.monotonic() - t:.0f} s: {json.dumps(results[name])[:700]}", flush=True)

    def bare(mode: str) -> dict:
        server = bare_server(mode, workdir)
        try:
            return fanout(f"bare{mode}", server.base, specs_for(None, None, settings.clients, [1]), settings,
                          server.pids)
        finally:
            server.stop()

    def embedded(people: int) -> dict:
        secret = secrets.token_hex(32)
        sub = Path(tempfile.mkdtemp(dir=workdir))
        url = f"sqlite:///{sub / 'bench.db'}"
        world = build_world(url, sub, secret, people)
        server = embedded_server(url, secret, sub)
        try:
            return fanout("emb", server.base, specs_for(world, secret, people, world.tavoli), settings, server.pids)
        finally:
            server.stop()

    def scaled(people: int, tavoli: int) -> dict:
        from deploy.scaled import Cluster

        secret = secrets.token_hex(32)
        url, name = pg_database()
        sub = Path(tempfile.mkdtemp(dir=workdir))
        redis_url = REDIS_BASE
        cluster = None
        try:
            world = build_world(url, sub, secret, people, tavoli=tavoli)
            cluster = Cluster(2, url, redis_url, sub, secret=secret, clients_per_process=people,
                              env={"TAVOLI_SOCKETIO_CHANNEL": f"bench-{secrets.token_hex(4)}"}).start()
            pids = lambda: [p for i in range(cluster.n) for p in cluster.pids(i)]  # noqa: E731
            out = fanout("scaled", cluster.base, specs_for(world, secret, people, world.tavoli), settings, pids,
                         tavoli=tavoli)
            out["processes"] = 2
            if out.get("join_errors") or out.get("refused_writes"):
                kept = Path(tempfile.gettempdir()) / f"tavoli-plenary-scaled-{secrets.token_hex(3)}"
                cluster.stop()
                shutil.copytree(cluster.workdir, kept, dirs_exist_ok=True)
                out["server_logs"] = str(kept)
            return out
        finally:
            if cluster is not None:
                cluster.stop()
            drop_pg(name)

    join_state: dict = {}

    def profile(scenario: str, server: Process):
        from bench.votes_burst import Profiler

        return Profiler(Path(settings.profile), scenario, server.proc.pid) if settings.profile else None

    def join() -> dict:
        secret = secrets.token_hex(32)
        sub = Path(tempfile.mkdtemp(dir=workdir))
        url = f"sqlite:///{sub / 'bench.db'}"
        t = time.monotonic()
        world = build_world(url, sub, secret, settings.join_clients + 1, bisogni=settings.bisogni,
                            annotations=settings.annotations)
        prepared = time.monotonic() - t
        server = embedded_server(url, secret, sub)
        try:
            specs = specs_for(world, secret, settings.join_clients + 1, world.tavoli)
            workers = Workers(server.base, specs[1:], client_processes(len(specs) - 1), 0)
            profiler = profile("join", server)
            try:
                out = asyncio.run(_join_storm(server.base, specs[0], specs[1:], settings, workers,
                                             lambda: cpu_seconds(server.pids())))
                # Then everyone leaves at once (the seduta ends): the server's CPU until it is idle
                # again, and whether every presence ended.
                before = cpu_seconds(server.pids())
                workers.stop()
                quiet(server.pids())
                out["server_cpu_ms_per_leave"] = round((cpu_seconds(server.pids()) - before) * 1000
                                                       / max(1, out["clients"]), 2)
                out["open_presences_after_leave"] = open_presences(sub / "bench.db")
            finally:
                workers.stop()
            if profiler is not None:
                out["profile"] = profiler.stop()
            out["prepare_s"] = round(prepared, 1)
            if out.get("refused"):
                kept = Path(tempfile.gettempdir()) / f"tavoli-plenary-join-{secrets.token_hex(3)}.log"
                shutil.copyfile(server.log_path, kept)
                out["server_log"] = str(kept)
            if "page" in only:
                # The storm's 300 clients have just gone: their disconnects (each ends a presence) must
                # not be measured as page time. Wait until the server is idle.
                quiet(server.pids())
                print("plenary: page...", flush=True)
                cookie, _token = credentials(secret, world.login_ids[0])
                profiler = profile("page", server)
                join_state["page"] = asyncio.run(_page(f"{server.base}/tavoli/{world.tavoli[0]}/partecipa", cookie,
                                                       settings.page_seconds, settings.page_concurrency))
                if profiler is not None:
                    join_state["page"]["profile"] = profiler.stop()
                join_state["page"].update({"bisogni": settings.bisogni, "annotations": settings.annotations})
            return out
        finally:
            server.stop()

    def join_floor() -> dict:
        """The same storm against the bare gevent server (an empty snapshot, no database, no presence):
        what connecting 300 at once costs the transport alone, and the writer's ack meanwhile."""
        server = bare_server("gevent", workdir)
        try:
            specs = specs_for(None, None, settings.join_clients + 1, [1])
            workers = Workers(server.base, specs[1:], client_processes(len(specs) - 1), 0)
            try:
                out = asyncio.run(_join_storm(server.base, specs[0], specs[1:], settings, workers,
                                             lambda: cpu_seconds(server.pids())))
                # Then everyone leaves at once: the transport's part of a leave.
                before = cpu_seconds(server.pids())
                workers.stop()
                quiet(server.pids())
                out["server_cpu_ms_per_leave"] = round((cpu_seconds(server.pids()) - before) * 1000
                                                       / max(1, out["clients"]), 2)
            finally:
                workers.stop()
            out.update({"bisogni": 0, "annotations": 0})
            return out
        finally:
            server.stop()

    # Product and floors interleaved in one sitting.
    step("fanout_bare", lambda: bare("threading"))
    step("fanout_embedded", lambda: embedded(settings.clients))
    step("fanout_bare_gevent", lambda: bare("gevent"))
    step("fanout_scaled", lambda: scaled(settings.clients, 1))
    step("fanout_1000", lambda: embedded(settings.big))
    step("multi_seduta", lambda: scaled(settings.big, settings.tavoli))
    step("join_bare_gevent", join_floor)
    if "join" in only or "page" in only:
        step("join", join) if "join" in only else join()
    if "page" in join_state:
        results["page"] = join_state["page"]
    emb, bare_t = results.get("fanout_embedded", {}), results.get("fanout_bare", {})
    if emb.get("p99_ms") and bare_t.get("p99_ms"):
        emb["ratio_p99_embedded_to_bare"] = round(emb["p99_ms"] / bare_t["p99_ms"], 2)
        results["ratio_p99_embedded_to_bare"] = emb["ratio_p99_embedded_to_bare"]
    shutil.rmtree(workdir, ignore_errors=True)
    return results


TARGETS = {  # issue 14, this 2-core machine
    "fanout_embedded": ("p99_ms", 100), "fanout_scaled": ("p99_ms", 200), "fanout_1000": ("p99_ms", 150),
    "multi_seduta": ("p99_ms", 250), "join": ("p99_ms", 1000), "page": ("p95_ms", 150),
}


def markdown(results: dict, settings: Settings) -> str:
    def f(v):
        return "—" if v is None else (f"{v:,}" if isinstance(v, int) else str(v))

    lines = [
        "# A plenary of 1,000: live benchmarks (issue 14)", "",
        f"Generated by `make bench` (`bench/plenary.py`{', quick mode' if settings.quick else ''}) on "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. Each figure is the median over the runs of its scenario (`runs` in "
        "`results.json`; every run in `results/plenary.json`; `BENCH_RUNS=3 make bench` for three).",
        "",
        "| scenario | clients | p50 ms | p99 ms | delivered / expected | writer ack p99 ms | other | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in ("fanout_bare", "fanout_bare_gevent", "fanout_embedded", "fanout_scaled", "fanout_1000",
                "multi_seduta", "join_bare_gevent", "join", "page"):
        r = results.get(key)
        if r is None:
            continue
        target = TARGETS.get(key)
        verdict = ""
        if target and r.get(target[0]) is not None:
            verdict = f"{target[0]} ≤ {target[1]}: {'met' if r[target[0]] <= target[1] else 'MISSED'}"
        if "error" in r:
            lines.append(f"| {key} | — | — | — | — | — | failed: {r['error'][:120]} | |")
            continue
        if key == "page":
            other = f"{f(r.get('rps'))} req/s, p95 {f(r.get('p95_ms'))} ms, {f(r.get('page_kb'))} KB"
            if r.get("runs"):
                other += f", median of {r['runs']} runs"
            lines.append(f"| page | {r.get('concurrency')} conns | {f(r.get('p50_ms'))} | — | — | — | {other} | {verdict} |")
            continue
        other = []
        if "threads" in r:
            other.append(f"{f(r['threads'])} threads, {f(r.get('rss_kb_per_client'))} KB RSS/client")
        if key in ("join", "join_bare_gevent"):
            other.append(f"refused {r.get('refused')}, {r.get('bisogni')} bisogni / {r.get('annotations')} annotations, "
                         f"server CPU {f(r.get('server_cpu_ms_per_join'))} ms per join")
            if "server_cpu_ms_per_leave" in r:
                left = f"then all leave: server CPU {f(r['server_cpu_ms_per_leave'])} ms per leave"
                if "open_presences_after_leave" in r:
                    left += f", {f(r['open_presences_after_leave'])} presences left open"
                other.append(left)
        if r.get("runs"):
            other.append(f"median of {r['runs']} runs")
        if r.get("ratio_p99_embedded_to_bare"):
            other.append(f"p99 ratio to bare threading {r['ratio_p99_embedded_to_bare']}")
        delivered = f"{f(r.get('delivered'))} / {f(r.get('expected'))}" if "delivered" in r else "—"
        lines.append(f"| {key} | {f(r.get('clients'))} | {f(r.get('p50_ms'))} | {f(r.get('p99_ms'))} | {delivered} | "
                     f"{f(r.get('writer_ack_p99_ms'))} | {'; '.join(other)} | {verdict} |")
    lines += ["", "Fan-out p50/p99: over the rounds (one event per second), time from the writer's emit to the "
              "receipt by the last client. Join: connect + join acknowledgement per client, all at once, while "
              "the writer sends 10 writes/s; `refused` counts failed joins and refused writes; `join_bare_gevent` is "
              "the same storm on the bare gevent server (the floor: no database, an empty snapshot). Page: "
              "`/tavoli/<id>/partecipa` of the full tavolo, 20 concurrent connections.", ""]
    faults = json.loads(RESULTS_JSON.read_text()).get("faults", {}) if RESULTS_JSON.exists() else {}
    if faults:
        lines += ["## Faults (`bench/faults.py`, details in `results/faults.json`)", "",
                  "| scenario | verdict | run |", "|---|---|---|"]
        labels = {"kill": "`kill -9` of one of two processes mid-seduta",
                  "redis": "Redis stopped 10 s and restarted", "postgres": "PostgreSQL connections terminated"}
        for key, value in faults.items():
            lines.append(f"| {labels.get(key, key)} | {'PASS' if value.get('passed') else 'FAIL'} | {value.get('date')} |")
        lines.append("")
    return "\n".join(lines)


#: Counts of failures: the worst run is reported, not the median (one bad run in three is a defect).
WORST_OF_RUNS = frozenset({"refused", "failures", "open_presences_after_leave"})


def median_of(runs: list[dict]) -> dict:
    """Per scenario, the median of every number over the runs (the other fields of the last run; the
    counts of failures in ``WORST_OF_RUNS``: their worst run);
    ``runs`` says how many runs the median is of. One run is returned as it is."""
    if len(runs) == 1:
        return runs[0]
    out: dict = {}
    for key in runs[-1]:
        values = [r[key] for r in runs if key in r]
        if not all(isinstance(v, dict) for v in values):
            numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            out[key] = round(statistics.median(numbers), 2) if numbers else values[-1]
            continue
        ok = [v for v in values if "error" not in v]
        merged = dict(ok[-1] if ok else values[-1])
        for field_name in merged:
            numbers = [v[field_name] for v in ok if isinstance(v.get(field_name), (int, float))
                       and not isinstance(v.get(field_name), bool)]
            if numbers and len(numbers) == len(ok) and field_name in WORST_OF_RUNS:
                merged[field_name] = max(numbers)
            elif numbers and len(numbers) == len(ok):
                median = statistics.median(numbers)
                integral = all(isinstance(n, int) for n in numbers) and float(median).is_integer()
                merged[field_name] = int(median) if integral else round(median, 2)
        merged["runs"] = len(ok)
        if len(ok) < len(values):
            merged["failed_runs"] = [v.get("error") for v in values if "error" in v]
        out[key] = merged
    return out


def merge_results(figures: dict) -> None:
    current = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    current.update(figures)
    RESULTS_JSON.write_text(json.dumps(current, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plenary", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                        help="short version for development (also BENCH_QUICK=1)")
    parser.add_argument("--only", action="append", choices=ALL, help="only this scenario (repeatable)")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--profile", metavar="DIR", help="sample the server with py-spy (join storm and page)")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "1")),
                        help="run every scenario this many times and keep the median (also BENCH_RUNS)")
    args = parser.parse_args(argv)
    settings = Settings.quick_mode() if args.quick else Settings()
    settings.profile = args.profile
    runs = []
    for n in range(max(1, args.runs)):
        if args.runs > 1:
            print(f"plenary: run {n + 1} of {args.runs}", flush=True)
        runs.append(run(settings, tuple(args.only or ALL)))
    results = median_of(runs)
    print(markdown(results, settings))
    if not args.no_save:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "plenary.json").write_text(json.dumps({"settings": asdict(settings), "results": results,
                                                              "runs": runs}, indent=2, ensure_ascii=False) + "\n")
        merge_results(results)
        # The table shows every scenario's latest figures (a partial run keeps the others').
        RESULTS_MD.write_text(markdown(json.loads(RESULTS_JSON.read_text()), settings))
    return 0 if not any("error" in r for r in results.values() if isinstance(r, dict)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
