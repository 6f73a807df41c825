"""Broadcast latency of the live channel with many clients on one tavolo (embedded mode).

What it does, all on loopback and cleaning up after itself:

1. builds a SQLite database in a temporary directory (migrations, reference data, one procedure
   with one tavolo on macroarea E, its contribution window open, one delegate per client, all
   sharing one precomputed argon2 hash);
2. starts the real server as a subprocess, ``python -m workspace.entry serve`` (as ``tavoli serve``:
   gevent mode), on a free port, with a random SECRET_KEY passed by environment;
3. logs the clients in without password checks: it signs Flask session cookies itself with
   ``SecureCookieSessionInterface`` and that key, then GETs ``/`` with each cookie to read the
   page's ``csrf_token`` (as a browser would);
4. connects the python-socketio clients (websocket transport) in batches, spread over a few worker
   processes so that one process's GIL does not serialise every receipt, and each joins the tavolo;
5. runs warm-up rounds and then measured rounds: one client (the writer, in this process) sends an
   operation with an ``op_id`` (``bisogno.create`` and ``annotation.create`` alternately), and
   every client, writer included, timestamps the ``event`` carrying that operation's ``seq``;
6. reports per-receipt latency (writer's emit -> receipt), time to the last client per round,
   fan-out (first to last receipt), the writer's ack time, deliveries received vs expected, the
   server's RSS and thread count before and after the connections, connect/join times, and the CPU
   used by the server, by the clients and by anything else on the machine during the rounds;
7. repeats all this ``--runs`` times (3), each with a fresh server and database, and reports the
   median over runs beside each run; prints a table and writes ``bench/results/live_broadcast.{json,md}``.

Nothing is tuned: the server runs as ``make run`` runs it (gevent mode, default Engine.IO ping
interval). An operation refused with ``internal`` or left without an ack is retried with the same
``op_id``, as a real client would; what still fails is counted, and the server log is kept.

Timestamps are ``time.monotonic()``, which on Linux is CLOCK_MONOTONIC, the same clock in every
process, so receipts in worker processes compare with the writer's emit time.

Run: ``make bench`` or ``python -m bench.live_broadcast --clients 300 --rounds 20 --runs 3``.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import engineio
import socketio

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
NAMESPACE = "/live"
EVENT_PREFIX = f'2{NAMESPACE},["event",'
CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
ORGANISATIONS = 30  # the delegates are spread over this many ETS


@dataclass
class Settings:
    clients: int = 300
    rounds: int = 20
    warmup: int = 2
    runs: int = 3
    procs: int = 0  # client worker processes; 0 = one per core, at least 2
    batch: int = 32  # connections (and joins) in flight at once, over all workers
    round_timeout: float = 15.0
    pause: float = 0.25  # between rounds, so rounds never overlap
    connect_timeout: float = 30.0
    save: bool = True

    def workers(self) -> int:
        return max(1, min(self.procs or max(2, os.cpu_count() or 2), max(1, self.clients - 1)))


# --- helpers -----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    data = sorted(values)
    k = (len(data) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile(wanted: int) -> tuple[int, int]:
    """Raise the soft limit on open files towards ``wanted`` (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def proc_status(pid: int) -> dict[str, int]:
    """RSS (KB) and thread count of a process, from /proc (Linux)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key == "VmRSS":
                out["rss_kb"] = int(value.split()[0])
            elif key == "Threads":
                out["threads"] = int(value)
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def machine_busy_seconds() -> float | None:
    """CPU time spent by every process on the machine so far (all cores), from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def versions() -> dict[str, str]:
    out = {}
    for dist in ("Flask", "Flask-SocketIO", "python-socketio", "python-engineio", "simple-websocket",
                 "websocket-client", "Werkzeug", "SQLAlchemy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "?"
    return out


# --- the database and the server ---------------------------------------------------------------


@dataclass
class BenchWorld:
    tavolo_id: int
    bisogno_macroarea: str
    login_ids: list[str]  # one per client; index 0 is the writer



def populate_tavolo(session, people: int, person_label: str, email_word: str, title: str):
    """The Ufficio di Piano, ORGANISATIONS ETS, a facilitator and ``people`` delegates spread over the
    ETS, one procedure and one tavolo on macroarea E with everyone in role. Returns
    (facilitator, tavolo, [(user, organisation), ...]). Shared by the benchmarks."""
    from argon2 import PasswordHasher

    from workspace.accounts.models import Membership, Organisation, User
    from workspace.db import utcnow
    from workspace.procedures import lifecycle
    from workspace.tavoli import membership

    password_hash = PasswordHasher().hash(secrets.token_hex(16))  # one hash for everybody; never used
    udp = Organisation(name="Ufficio di Piano (bench)", kind="ufficio_di_piano", ambito_code="50008")
    orgs = [Organisation(name=f"Ente del Terzo Settore {i + 1:02d} (bench)", kind="ets", ambito_code="50008",
                         runts_section="odv") for i in range(ORGANISATIONS)]
    session.add_all([udp, *orgs])
    facilitator = User(name="Facilitatore (bench)", email="facilitatore@bench.example.org",
                       password_hash=password_hash)
    # The Ufficio di Piano's administrator creates the procedure, institutes the tavolo, gives the roles.
    admin = User(name="Amministratrice (bench)", email="amministrazione@bench.example.org",
                 password_hash=password_hash, is_admin=True)
    session.add_all([facilitator, admin])
    session.add(Membership(user=facilitator, organisation=udp))
    session.add(Membership(user=admin, organisation=udp))
    delegates = []
    for i in range(people):
        user = User(name=f"{person_label} {i + 1:03d}", email=f"{email_word}{i + 1:03d}@bench.example.org",
                    password_hash=password_hash)
        delegates.append((user, orgs[i % ORGANISATIONS]))
        session.add(user)
        session.add(Membership(user=user, organisation=orgs[i % ORGANISATIONS]))
    session.flush()
    procedure = lifecycle.create_procedure(session, admin, "50008", "Co-programmazione PdZ 2025-2027 (bench)",
                                           rup=facilitator)
    now = utcnow()
    tavolo = membership.create_tavolo(session, admin, procedure, title, ["E"],
                                      opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10))
    membership.set_role(session, admin, tavolo, facilitator, "facilitator")
    for user, org in delegates:
        membership.set_role(session, admin, tavolo, user, "delegate", org)
    return facilitator, tavolo, delegates


def prepare_database(workdir: Path, secret: str, people: int) -> tuple[str, BenchWorld]:
    """Migrate a fresh SQLite database, load the reference data and build one tavolo."""

    from workspace import create_app
    from workspace.db import db, utcnow
    from workspace.migrate import upgrade
    from workspace.reference.loader import load_reference
    from workspace.tavoli import service as tavoli

    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "SECRET_KEY": secret,
                      "MAIL_DIR": str(workdir / "mail"), "CHECK_MIGRATIONS": False})
    with app.app_context():
        session = db.session
        load_reference(session)
        facilitator, tavolo, delegates = populate_tavolo(session, people, "Delegato", "delegato",
                                                        "Tavolo E — Anziani (bench)")
        now = utcnow()
        tavoli.create_seduta(session, facilitator, tavolo, now + timedelta(hours=1), "Sala prove", "mista",
                             ["Apertura", "Bisogni", "Varie"])
        session.commit()
        from workspace.accounts.service import open_login  # one recorded login per person

        world = BenchWorld(tavolo.id, "E", [open_login(session, u) for u, _ in delegates])
        session.commit()
    app.extensions["tavoli_db"]["engine"].dispose()
    return url, world


class Server:
    """``tavoli serve`` in a subprocess; always stopped by ``stop`` (also on errors)."""

    def __init__(self, workdir: Path, url: str, secret: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY")}
        env.update({
            "DATABASE_URL": url, "SECRET_KEY": secret, "TAVOLI_INSTANCE": str(workdir),
            "HOST": "127.0.0.1", "PORT": str(self.port), "BASE_URL": self.base, "PYTHONUNBUFFERED": "1",
        })
        self._log = open(self.log_path, "wb")  # noqa: SIM115 — closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workspace.entry", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"il server è uscito (codice {self.proc.returncode}):\n{self.log_tail()}")
            try:
                if requests.get(self.base + "/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"il server non risponde dopo {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


# --- logging in without passwords ----------------------------------------------------------------


def session_cookie(secret: str, login_id: str) -> str:
    """What Flask-Login would leave in the session cookie after a login."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    signer = Flask("bench-cookies")
    signer.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    return serializer.dumps({"_user_id": login_id, "_fresh": True})


def csrf_login(base: str, cookie: str) -> tuple[str, str]:
    """GET a page with the session cookie: the CSRF token in the page and the updated cookie
    (Flask-WTF stores the token's secret half in the session)."""
    import requests

    with requests.Session() as http:
        http.cookies.set("session", cookie, domain="127.0.0.1", path="/")
        response = http.get(base + "/", timeout=30)
        response.raise_for_status()
        match = CSRF_RE.search(response.text)
        if match is None:
            raise RuntimeError("nessun csrf_token nella pagina: il cookie di sessione non è stato accettato")
        return http.cookies.get("session"), match.group(1)


# --- clients -----------------------------------------------------------------------------------------


class _StampingEngineIO(engineio.Client):
    """Timestamps each ``event`` packet as the read loop takes it off the socket, before the
    python-socketio client hands it to a new thread for the handler (which it does for every
    message): that thread start is the client library's cost, not the server's."""

    on_event_packet = None  # callable(seq, monotonic)

    def _receive_packet(self, pkt):
        if pkt.packet_type == engineio.packet.MESSAGE and isinstance(pkt.data, str) \
                and pkt.data.startswith(EVENT_PREFIX) and self.on_event_packet is not None:
            now = time.monotonic()
            try:
                seq = json.loads(pkt.data[len(NAMESPACE) + 2:])[1].get("seq")
            except (ValueError, IndexError, AttributeError):
                seq = None
            if isinstance(seq, int):
                self.on_event_packet(seq, now)
        return super()._receive_packet(pkt)


class _StampingClient(socketio.Client):
    def _engineio_client_class(self):
        return _StampingEngineIO


class Clients:
    """A set of Socket.IO clients in this process that record when each event arrives."""

    def __init__(self, base: str, tavolo_id: int):
        self.base, self.tavolo_id = base, tavolo_id
        self.clients: dict[int, object] = {}
        # (client, seq, monotonic) when the packet is read, and when the handler runs; list.append is atomic.
        self.receipts: list[tuple[int, int, float]] = []
        self.handled: list[tuple[int, int, float]] = []
        self.seen: dict[int, set[int]] = defaultdict(set)  # seq -> clients (for progress counts)
        self._lock = threading.Lock()

    def _one(self, index: int, cookie: str, token: str, timeout: float) -> tuple[int, float, str | None]:
        sio = _StampingClient(reconnection=False)

        def _arrived(seq, at, index=index):
            self.receipts.append((index, seq, at))

        sio.eio.on_event_packet = _arrived

        @sio.on("event", namespace=NAMESPACE)
        def _event(message, index=index):
            now = time.monotonic()
            seq = message.get("seq") if isinstance(message, dict) else None
            if isinstance(seq, int):
                self.handled.append((index, seq, now))
                with self._lock:
                    self.seen[seq].add(index)

        started = time.monotonic()
        try:
            sio.connect(self.base, headers={"Cookie": f"session={cookie}"}, auth={"csrf_token": token},
                        transports=["websocket"], namespaces=[NAMESPACE], wait_timeout=timeout)
        except Exception as exc:  # noqa: BLE001 — reported, not raised
            return index, time.monotonic() - started, f"connect: {exc}"
        self.clients[index] = sio
        return index, time.monotonic() - started, None

    def connect(self, specs: list[tuple[int, str, str]], parallel: int, timeout: float) -> list:
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            return list(pool.map(lambda s: self._one(*s, timeout), specs))

    def _join(self, index: int, timeout: float) -> tuple[int, float, str | None]:
        sio = self.clients[index]
        started = time.monotonic()
        try:
            ack = sio.call("join", {"tavolo_id": self.tavolo_id}, namespace=NAMESPACE, timeout=timeout)
        except Exception as exc:  # noqa: BLE001
            return index, time.monotonic() - started, f"join: {exc}"
        if not (isinstance(ack, dict) and ack.get("ok")):
            return index, time.monotonic() - started, f"join: {ack}"
        return index, time.monotonic() - started, None

    def join(self, parallel: int, timeout: float) -> list:
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            return list(pool.map(lambda i: self._join(i, timeout), list(self.clients)))

    def count(self, seq: int) -> int:
        with self._lock:
            return len(self.seen.get(seq, ()))

    def disconnect(self) -> None:
        with ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(lambda c: c.disconnect(), list(self.clients.values())))
        self.clients.clear()


def _worker(conn, base: str, tavolo_id: int) -> None:
    """A client worker process: obeys the orchestrator's commands over a pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator decides when to stop
    clients = Clients(base, tavolo_id)
    try:
        while True:
            if not conn.poll(600):
                break  # orphaned: the orchestrator is gone
            command, *args = conn.recv()
            if command == "connect":
                conn.send(clients.connect(*args))
            elif command == "join":
                conn.send(clients.join(*args))
            elif command == "count":
                conn.send(clients.count(args[0]))
            elif command == "collect":
                conn.send((list(clients.receipts), list(clients.handled)))
            elif command == "stop":
                break
    finally:
        clients.disconnect()
        conn.close()


class Workers:
    def __init__(self, count: int, base: str, tavolo_id: int):
        ctx = mp.get_context("spawn")
        self.pipes, self.procs = [], []
        for _ in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, base, tavolo_id), daemon=True)
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)

    def all(self, command: tuple, per_worker_args: list | None = None, timeout: float = 600) -> list:
        for i, pipe in enumerate(self.pipes):
            pipe.send(command if per_worker_args is None else (*command, *per_worker_args[i]))
        out = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise TimeoutError(f"un processo client non risponde a {command[0]!r}")
            out.append(pipe.recv())
        return out

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


# --- the run -------------------------------------------------------------------------------------


def _operation(round_no: int, run_id: str, tavolo_id: int, bisogno_id: int | None) -> tuple[str, dict]:
    op_id = f"bench-{run_id}-{round_no:04d}"
    if bisogno_id is None or round_no % 2 == 0:
        return "bisogno.create", {
            "op_id": op_id, "tavolo_id": tavolo_id, "macroarea": "E",
            "title": f"Bisogno di prova n. {round_no}",
            "description": "Anziani soli nei quartieri periferici (testo di prova del benchmark).",
            "consolidation": "nuovo",
        }
    return "annotation.create", {
        "op_id": op_id, "tavolo_id": tavolo_id, "bisogno_id": bisogno_id, "kind": "esperienza",
        "body": f"Annotazione di prova n. {round_no}: esperienza sul campo.",
    }


def run(settings: Settings) -> dict:
    nofile = raise_nofile(max(4096, settings.clients * 8 + 256))
    workdir = Path(tempfile.mkdtemp(prefix="tavoli-bench-"))
    secret = secrets.token_hex(32)
    server = workers = writer = None
    timings: dict = {}
    try:
        t = time.monotonic()
        url, world = prepare_database(workdir, secret, settings.clients)
        timings["prepare_s"] = round(time.monotonic() - t, 2)

        server = Server(workdir, url, secret)
        server.wait_ready()
        idle = proc_status(server.proc.pid)

        # Log in: sign cookies, then one page per client for its CSRF token.
        t = time.monotonic()
        cookies = [session_cookie(secret, login_id) for login_id in world.login_ids]
        with ThreadPoolExecutor(max_workers=8) as pool:
            creds = list(pool.map(lambda c: csrf_login(server.base, c), cookies))
        timings["login_s"] = round(time.monotonic() - t, 2)
        before = proc_status(server.proc.pid)

        # Connect: the writer here, the others spread over worker processes.
        n_workers = settings.workers()
        writer = Clients(server.base, world.tavolo_id)
        workers = Workers(n_workers, server.base, world.tavolo_id)
        shares: list[list] = [[] for _ in range(n_workers)]
        for i in range(1, settings.clients):
            shares[(i - 1) % n_workers].append((i, *creds[i]))
        per_worker = max(1, settings.batch // n_workers)
        t = time.monotonic()
        connect_results = writer.connect([(0, *creds[0])], 1, settings.connect_timeout)
        for got in workers.all(("connect",), [(s, per_worker, settings.connect_timeout) for s in shares]):
            connect_results.extend(got)
        timings["connect_s"] = round(time.monotonic() - t, 2)
        t = time.monotonic()
        join_results = writer.join(1, settings.connect_timeout)
        for got in workers.all(("join",), [(per_worker, settings.connect_timeout)] * n_workers):
            join_results.extend(got)
        timings["join_s"] = round(time.monotonic() - t, 2)
        connect_errors = [e for _, _, e in connect_results if e]
        join_errors = [e for _, _, e in join_results if e]
        joined = len(join_results) - len(join_errors)
        if 0 not in writer.clients:
            raise RuntimeError(f"il client che scrive non si è connesso: {connect_errors[:3]}")
        time.sleep(1.0)  # let the server settle after the burst
        after = proc_status(server.proc.pid)

        # Rounds.
        run_id = secrets.token_hex(4)
        bisogno_id = None
        rounds = []
        cpu_start = cpu_seconds(server.proc.pid)
        client_pids = [os.getpid(), *(p.pid for p in workers.procs)]
        clients_cpu_start = sum(cpu_seconds(pid) or 0.0 for pid in client_pids)
        busy_start = machine_busy_seconds()
        t_rounds = time.monotonic()
        refused: list[dict] = []
        for r in range(settings.warmup + settings.rounds):
            name, payload = _operation(r, run_id, world.tavolo_id, bisogno_id)
            t0 = time.monotonic()
            ack = None
            # As a client should: retry an unacknowledged or internally failed operation with the
            # same op_id (applied at most once); the round's latency still counts from the first emit.
            for _attempt in range(3):
                try:
                    ack = writer.clients[0].call(name, payload, namespace=NAMESPACE, timeout=settings.round_timeout)
                except socketio.exceptions.TimeoutError:
                    ack = {"error": "timeout", "message": "no ack"}
                if isinstance(ack, dict) and (ack.get("ok") or ack.get("error") not in ("internal", "timeout")):
                    break
            t_ack = time.monotonic()
            if not (isinstance(ack, dict) and ack.get("ok")):
                refused.append({"round": r, "operation": name, "ack": ack})
                time.sleep(settings.pause)
                continue
            seq = ack["seq"]
            if name == "bisogno.create":
                bisogno_id = ack["result"]["id"]
            deadline = t0 + settings.round_timeout
            received = 0
            while time.monotonic() < deadline:
                received = writer.count(seq) + sum(workers.all(("count", seq), timeout=settings.round_timeout))
                if received >= joined:
                    break
                time.sleep(0.05)
            rounds.append({"round": r, "warmup": r < settings.warmup, "operation": name, "seq": seq,
                           "t0": t0, "ack_s": t_ack - t0, "received": received,
                           "at_s": round(t0 - t_rounds, 2), "duplicate": bool(ack.get("duplicate"))})
            time.sleep(settings.pause)
        timings["refused_operations"] = len(refused)
        if refused:
            kept = Path(tempfile.gettempdir()) / f"tavoli-bench-server-{run_id}.log"
            shutil.copyfile(server.log_path, kept)
            timings["refusals"] = refused[:5]
            timings["server_log"] = str(kept)
            print(f"  {len(refused)} operazioni rifiutate (es. {refused[0]['ack']}); log del server: {kept}",
                  file=sys.stderr, flush=True)
        cpu_end = cpu_seconds(server.proc.pid)
        busy_end = machine_busy_seconds()
        timings["clients_cpu_during_rounds_s"] = round(
            sum(cpu_seconds(pid) or 0.0 for pid in client_pids) - clients_cpu_start, 2)
        if busy_start is not None and busy_end is not None and cpu_start is not None and cpu_end is not None:
            # Whatever else ran on the machine meanwhile (other programs, not this benchmark).
            timings["other_cpu_during_rounds_s"] = round(max(
                0.0, (busy_end - busy_start) - (cpu_end - cpu_start) - timings["clients_cpu_during_rounds_s"]), 2)
        end = proc_status(server.proc.pid)
        timings["rounds_s"] = round(time.monotonic() - t_rounds, 2)

        receipts, handled = list(writer.receipts), list(writer.handled)
        for got_receipts, got_handled in workers.all(("collect",)):
            receipts.extend(got_receipts)
            handled.extend(got_handled)
        return analyse(settings, world, rounds, receipts, handled, joined, connect_results, join_results,
                       connect_errors, join_errors, idle, before, after, end, cpu_start, cpu_end,
                       timings, n_workers, nofile, server)
    finally:
        if workers is not None:
            workers.stop()
        if writer is not None:
            writer.disconnect()
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _first_by_seq(receipts: list[tuple[int, int, float]]) -> dict[int, list[float]]:
    first: dict[tuple[int, int], float] = {}
    for client, seq, at in receipts:
        key = (seq, client)
        if key not in first or at < first[key]:
            first[key] = at
    by_seq: dict[int, list[float]] = defaultdict(list)
    for (seq, _client), at in first.items():
        by_seq[seq].append(at)
    return by_seq


def analyse(settings, world, rounds, receipts, handled, joined, connect_results, join_results, connect_errors,
            join_errors, idle, before, after, end, cpu_start, cpu_end, timings, n_workers, nofile,
            server) -> dict:
    by_seq, handled_by_seq = _first_by_seq(receipts), _first_by_seq(handled)

    measured = [r for r in rounds if not r["warmup"]]
    all_latencies, last, spread, per_round, handler_latencies, handler_last = [], [], [], [], [], []
    for r in measured:
        hl = [at - r["t0"] for at in handled_by_seq.get(r["seq"], [])]
        handler_latencies.extend(hl)
        if hl:
            handler_last.append(max(hl))
        lat = [at - r["t0"] for at in by_seq.get(r["seq"], [])]
        all_latencies.extend(lat)
        if lat:
            last.append(max(lat))
            spread.append(max(lat) - min(lat))
        per_round.append({
            "round": r["round"], "operation": r["operation"], "seq": r["seq"], "at_s": r["at_s"],
            "ack_ms": ms(r["ack_s"]), "received": len(lat), "p50_ms": ms(percentile(lat, 50)),
            "p99_ms": ms(percentile(lat, 99)), "last_ms": ms(max(lat)) if lat else None,
            "first_ms": ms(min(lat)) if lat else None,
        })
    expected = joined * settings.rounds  # a refused round delivers nothing and counts as missing
    connect_times = [d for _, d, e in connect_results if not e]
    join_times = [d for _, d, e in join_results if not e]
    stalls = [p for p in per_round if p["received"] < joined]
    rss = lambda s: round(s.get("rss_kb", 0) / 1024, 1)  # noqa: E731
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": {
            "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "machine": platform.machine(), "open_files_limit": nofile[0], "packages": versions(),
        },
        "settings": asdict(settings) | {"worker_processes": n_workers, "server": "`tavoli serve` (gevent mode)",
                                        "database": "SQLite (WAL), one insert per write + one event row",
                                        "transport": "websocket", "server_ping_interval_s": 25},
        "clients": {"requested": settings.clients, "connected": len(connect_results) - len(connect_errors),
                    "joined": joined, "connect_errors": connect_errors[:5], "join_errors": join_errors[:5]},
        "timings_s": timings,
        "connect_ms": {"p50": ms(percentile(connect_times, 50)), "p99": ms(percentile(connect_times, 99)),
                       "max": ms(max(connect_times)) if connect_times else None},
        "join_ms": {"p50": ms(percentile(join_times, 50)), "p99": ms(percentile(join_times, 99)),
                    "max": ms(max(join_times)) if join_times else None},
        "latency_ms": {"receipts": len(all_latencies), "p50": ms(percentile(all_latencies, 50)),
                       "p90": ms(percentile(all_latencies, 90)), "p99": ms(percentile(all_latencies, 99)),
                       "max": ms(max(all_latencies)) if all_latencies else None},
        "time_to_last_client_ms": {"p50": ms(percentile(last, 50)), "p99": ms(percentile(last, 99)),
                                   "max": ms(max(last)) if last else None},
        # The same, timed inside the python-socketio handler (after the client's per-message thread start).
        "handler_latency_ms": {"receipts": len(handler_latencies), "p50": ms(percentile(handler_latencies, 50)),
                               "p99": ms(percentile(handler_latencies, 99)),
                               "time_to_last_p50": ms(percentile(handler_last, 50)),
                               "time_to_last_p99": ms(percentile(handler_last, 99))},
        # From the first client's receipt to the last one's: the broadcast alone, without the write.
        "fan_out_ms": {"p50": ms(percentile(spread, 50)), "p99": ms(percentile(spread, 99)),
                       "max": ms(max(spread)) if spread else None},
        "ack_ms": {"p50": ms(percentile([r["ack_s"] for r in measured], 50)),
                   "p99": ms(percentile([r["ack_s"] for r in measured], 99))},
        "deliveries": {"received": len(all_latencies), "expected": expected,
                       "missing": expected - len(all_latencies), "incomplete_rounds": len(stalls)},
        "server": {
            "rss_idle_mb": rss(idle), "rss_before_connections_mb": rss(before),
            "rss_after_connections_mb": rss(after), "rss_after_rounds_mb": rss(end),
            "rss_per_connection_kb": round((after.get("rss_kb", 0) - before.get("rss_kb", 0)) / max(1, joined), 1),
            "threads_before": before.get("threads"), "threads_after": after.get("threads"),
            "cpu_s_during_rounds": round(cpu_end - cpu_start, 2) if cpu_start is not None and cpu_end else None,
            "cpu_ms_per_round": round((cpu_end - cpu_start) * 1000 / max(1, len(rounds)), 1)
            if cpu_start is not None and cpu_end else None,
            "log_tail_on_problems": server.log_tail(10) if (stalls or connect_errors or join_errors) else "",
        },
        "rounds": per_round,
    }


# --- output ----------------------------------------------------------------------------------------

# (label, path in a run's result, unit)
METRICS = (
    ("clients joined", ("clients", "joined"), ""),
    ("connect, all clients", ("timings_s", "connect_s"), "s"),
    ("connect, per client p50", ("connect_ms", "p50"), "ms"),
    ("connect, per client p99", ("connect_ms", "p99"), "ms"),
    ("join, all clients", ("timings_s", "join_s"), "s"),
    ("join, per client p99", ("join_ms", "p99"), "ms"),
    ("latency emit -> receipt, p50", ("latency_ms", "p50"), "ms"),
    ("latency emit -> receipt, p99", ("latency_ms", "p99"), "ms"),
    ("time to the last client, p50", ("time_to_last_client_ms", "p50"), "ms"),
    ("time to the last client, p99", ("time_to_last_client_ms", "p99"), "ms"),
    ("time to the last client, max", ("time_to_last_client_ms", "max"), "ms"),
    ("latency in the socketio handler, p50", ("handler_latency_ms", "p50"), "ms"),
    ("latency in the socketio handler, p99", ("handler_latency_ms", "p99"), "ms"),
    ("fan-out first -> last receipt, p50", ("fan_out_ms", "p50"), "ms"),
    ("fan-out first -> last receipt, p99", ("fan_out_ms", "p99"), "ms"),
    ("writer's ack, p50", ("ack_ms", "p50"), "ms"),
    ("writer's ack, p99", ("ack_ms", "p99"), "ms"),
    ("deliveries received", ("deliveries", "received"), ""),
    ("deliveries expected", ("deliveries", "expected"), ""),
    ("operations refused (after retries)", ("timings_s", "refused_operations"), ""),
    ("server RSS before connections", ("server", "rss_before_connections_mb"), "MB"),
    ("server RSS after connections", ("server", "rss_after_connections_mb"), "MB"),
    ("server RSS per connection", ("server", "rss_per_connection_kb"), "KB"),
    ("server threads after connections", ("server", "threads_after"), ""),
    ("server CPU during the rounds", ("server", "cpu_s_during_rounds"), "s"),
    ("server CPU per broadcast round", ("server", "cpu_ms_per_round"), "ms"),
    ("clients' CPU during the rounds", ("timings_s", "clients_cpu_during_rounds_s"), "s"),
    ("wall time of the rounds", ("timings_s", "rounds_s"), "s"),
    ("other programs' CPU during the rounds", ("timings_s", "other_cpu_during_rounds_s"), "s"),
)


def _get(result: dict, path: tuple[str, ...]):
    for key in path:
        result = result.get(key) if isinstance(result, dict) else None
    return result


def summarise(runs: list[dict]) -> dict[str, float | None]:
    """The median over runs of every metric (the runs vary: see the per-run columns)."""
    out = {}
    for label, path, unit in METRICS:
        values = [v for v in (_get(r, path) for r in runs) if isinstance(v, int | float)]
        key = f"{label} ({unit})" if unit else label
        out[key] = round(percentile(values, 50), 1) if values else None
    return out


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table_rows(report: dict) -> list[list[str]]:
    runs = report["runs"]
    header = ["measure", "median" if len(runs) > 1 else "value"] + (
        [f"run {i + 1}" for i in range(len(runs))] if len(runs) > 1 else [])
    rows = [header]
    for (label, path, unit), median in zip(METRICS, report["summary"].values(), strict=True):
        row = [f"{label} ({unit})" if unit else label, _fmt(median)]
        if len(runs) > 1:
            row += [_fmt(_get(r, path)) for r in runs]
        rows.append(row)
    return rows


def table(report: dict) -> str:
    rows = table_rows(report)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                       for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                     for row in rows)


def markdown(report: dict) -> str:
    st, env = report["settings"], report["environment"]
    rows = table_rows(report)
    lines = [
        "# Live broadcast benchmark",
        "",
        f"Run {report['date']} on {env['cores']} cores, Python {env['python']}, {env['platform']}; "
        f"python-socketio {env['packages']['python-socketio']}, Flask-SocketIO {env['packages']['Flask-SocketIO']}. "
        "Generated by `make bench` (`bench/live_broadcast.py`); all figures in `live_broadcast.json`.",
        "",
        f"Embedded mode: {st['server']}, {st['database']}. {st['clients']} python-socketio clients over "
        f"{st['transport']} on loopback ({st['worker_processes']} client processes plus the writer), all joined "
        f"to one tavolo. Per run: {st['warmup']} warm-up rounds, then {st['rounds']} measured rounds in which one "
        "client sends `bisogno.create` or `annotation.create` (with an `op_id`) and every client, writer "
        "included, timestamps the `event` carrying that operation's `seq` as its Engine.IO read loop takes it "
        "off the socket (\"in the socketio handler\": when the handler runs, after python-socketio's "
        "per-message thread start). Latency is from the writer's emit; fan-out is from the first client's "
        "receipt to the last one's; the ack is the writer's round trip (write path plus broadcast queueing). "
        f"{len(report['runs'])} runs, each with a fresh server; the median is over runs.",
        "",
        "| " + " | ".join(rows[0]) + " |",
        "|" + "---|" * len(rows[0]),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    if report.get("notes"):
        lines += ["", "Notes:", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def notes(report: dict) -> list[str]:
    out = []
    received = sum(r["deliveries"]["received"] for r in report["runs"])
    expected = sum(r["deliveries"]["expected"] for r in report["runs"])
    incomplete = sum(r["deliveries"]["incomplete_rounds"] for r in report["runs"])
    if received < expected:
        out.append(f"{expected - received} of {expected} deliveries missing ({incomplete} incomplete rounds): "
                   f"some clients did not get an event within {report['settings']['round_timeout']} s.")
    else:
        out.append(f"Every joined client received every measured event: {received} of {expected} deliveries.")
    refused = sum(_get(r, ("timings_s", "refused_operations")) or 0 for r in report["runs"])
    if refused:
        logs = ", ".join(r["timings_s"]["server_log"] for r in report["runs"] if r["timings_s"].get("server_log"))
        out.append(f"{refused} write operations were refused even after two retries with the same op_id "
                   f"(examples in the JSON, `timings_s.refusals`; server logs kept in {logs}).")
    lasts = [_get(r, ("time_to_last_client_ms", "max")) for r in report["runs"]]
    if any(v is not None and v > 1000 for v in lasts):
        out.append("At least one round took more than a second to reach the last client: a stall "
                   "(see the per-round figures in the JSON).")
    else:
        out.append("No stall: every round reached its last client within a second.")
    other = max((_get(r, ("timings_s", "other_cpu_during_rounds_s")) or 0) for r in report["runs"])
    rounds_wall = min((_get(r, ("timings_s", "rounds_s")) or 1) for r in report["runs"])
    cores = report["environment"]["cores"] or 1
    if other > 0.1 * cores * rounds_wall:
        out.append(f"The machine was not idle: other programs used up to {other} s of CPU during a run's "
                   f"rounds (of {round(cores * rounds_wall, 1)} core-seconds available), which makes the "
                   "figures pessimistic.")
    server_cpu = report["summary"].get("server CPU during the rounds (s)")
    clients_cpu = report["summary"].get("clients' CPU during the rounds (s)")
    heavier = (clients_cpu or 0) > (server_cpu or 0)
    out.append(f"Clients and server share the same cores{', and the clients are the heavier side' if heavier else ''}: "
               f"over a run's rounds the {report['settings']['clients']} python-socketio clients used "
               f"{clients_cpu} s of CPU against the server's {server_cpu} s (median); that client starts a "
               "thread for every message it receives. Latency, time to the last client and fan-out include "
               "time spent waiting for a core behind the clients, and vary from run to run; the server's own "
               "cost per broadcast is the \"server CPU per broadcast round\" line.")
    out.append("The server runs with its defaults (gevent mode, Engine.IO ping every 25 s, no tuning); "
               "clients answer pings as they come.")
    return out


def main(argv: list[str] | None = None) -> int:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m bench.live_broadcast", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=defaults.clients)
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument("--warmup", type=int, default=defaults.warmup)
    parser.add_argument("--runs", type=int, default=defaults.runs, help="independent runs (fresh server each)")
    parser.add_argument("--procs", type=int, default=defaults.procs, help="client processes (0: one per core)")
    parser.add_argument("--batch", type=int, default=defaults.batch, help="connections in flight at once")
    parser.add_argument("--round-timeout", type=float, default=defaults.round_timeout)
    parser.add_argument("--no-save", action="store_true", help="print only, do not write bench/results/")
    args = parser.parse_args(argv)
    if args.clients < 2 or args.rounds < 1 or args.runs < 1:
        parser.error("servono almeno 2 client, 1 round e 1 esecuzione")
    settings = Settings(clients=args.clients, rounds=args.rounds, warmup=args.warmup, runs=args.runs,
                        procs=args.procs, batch=args.batch, round_timeout=args.round_timeout,
                        save=not args.no_save)
    runs = []
    for i in range(settings.runs):
        print(f"live_broadcast: esecuzione {i + 1}/{settings.runs}, {settings.clients} client, "
              f"{settings.rounds} round (+{settings.warmup} di riscaldamento)...", flush=True)
        runs.append(run(settings))
    report = {
        "benchmark": "live_broadcast",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": runs[-1].pop("environment"),
        "settings": runs[-1].pop("settings"),
        "summary": summarise(runs),
        "runs": runs,
    }
    for r in runs:
        r.pop("environment", None)
        r.pop("settings", None)
    report["notes"] = notes(report)
    print(table(report))
    for note in report["notes"]:
        print(f"  - {note}")
    if settings.save:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "live_broadcast.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        (RESULTS_DIR / "live_broadcast.md").write_text(markdown(report))
        print(f"  risultati in {RESULTS_DIR.relative_to(ROOT)}/live_broadcast.{{json,md}}")
    complete = all(r["deliveries"]["missing"] == 0 and r["clients"]["joined"] == settings.clients for r in runs)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
