"""A burst of ballots: every voter of an open round casts ``vote.cast`` within about one second.

What it does, all on loopback, bounded in time, cleaning up after itself:

1. builds a database — SQLite in a temporary directory, or a fresh PostgreSQL database on the
   server of ``TAVOLI_BENCH_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``, dropped
   afterwards) — with migrations, reference data, one procedure with one tavolo on macroarea E, five
   bisogni, one delegate per voter spread over 30 ETS, all sharing one precomputed argon2 hash, and
   an **open** asynchronous round on the five bisogni (dot voting, 10 points, one ballot per
   person), palese or segreto;
2. starts the real server as a subprocess, ``python -m workspace.entry serve`` (gevent, as shipped;
   Werkzeug), on a free port, with a random SECRET_KEY passed by environment;
3. logs the voters in without password checks (signed Flask session cookies, then one page each for
   its CSRF token), connects one python-socketio client per voter (websocket transport), spread over
   worker processes, and joins each to the tavolo;
4. releases the burst at a common start time (CLOCK_MONOTONIC, shared by the processes): voter i
   sends ``vote.cast`` (own ``op_id``, a deterministic ballot) at start + a random offset in
   [0, ``--spread``) seconds. An ack that does not come within ``--ack-timeout`` or says
   ``internal``/``conflict`` is retried with the same ``op_id``, as the live outbox does;
5. checks: every voter acknowledged with ``ok``; the database holds exactly one participation and
   one ballot per voter (no more, no fewer: attributed ballots, or a secret round's pool); the
   facilitator closes the round (``vote.close``), after which a secret round's box holds exactly N
   ballots and its pool none, and the results API reports a turnout of N of N, N ballots counted and
   the tally computed independently from the ballots sent; every client's last ``vote.live`` push
   shows N voted;
6. reports ack latency (first emit -> final ack) p50/p90/p99/max, the burst's duration (first emit ->
   last ack) and throughput, the pushes received per client, the server's CPU and memory;
   prints a table and writes ``bench/results/votes_burst.{json,md}`` (date, cores, Python version)
   and merges its headline figures into ``bench/results.json``: ``vote_burst`` (SQLite, secret round),
   ``vote_burst_open`` (SQLite, open round), ``vote_burst_pg`` (PostgreSQL, secret round) and
   ``vote_burst_pg_open`` (PostgreSQL, open round).

``--profile DIR`` samples the server with py-spy during the burst (``Profiler``).

Run: ``make bench`` (all benchmarks) or ``python -m bench.votes_burst --voters 300 --spread 1``.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import socketio

from bench.live_broadcast import (
    RESULTS_DIR,
    ROOT,
    Server,
    cpu_seconds,
    csrf_login,
    machine_busy_seconds,
    ms,
    percentile,
    populate_tavolo,
    proc_status,
    raise_nofile,
    session_cookie,
    versions,
)

NAMESPACE = "/live"
ORGANISATIONS = 30
BISOGNI = 5
POINTS = 10
RETRY_ERRORS = ("internal", "conflict", "timeout")


@dataclass
class Settings:
    voters: int = 300
    spread: float = 1.0  # the burst: sends are spread over [0, spread) seconds
    scenarios: tuple[str, ...] = ("palese", "segreto")
    databases: tuple[str, ...] = ("sqlite", "postgresql")
    procs: int = 0  # client worker processes; 0 = one per core, at least 2
    batch: int = 32  # connections (and joins) in flight at once, over all workers
    ack_timeout: float = 20.0
    retries: int = 3
    connect_timeout: float = 30.0
    save: bool = True
    seed: int = 2025
    profile: str | None = None  # a folder: py-spy samples the server during the burst (see ``Profiler``)

    def workers(self) -> int:
        return max(1, min(self.procs or max(2, os.cpu_count() or 2), self.voters))


def ballot_of(index: int, bisogni: list[int]) -> dict:
    """Voter ``index``'s dot ballot: deterministic, varied, within 10 points (at most 5 per item)."""
    n = len(bisogni)
    first, second, third = bisogni[index % n], bisogni[(index * 3 + 1) % n], bisogni[(index * 7 + 2) % n]
    points: dict[str, int] = {}
    for bid, amount in ((first, 5), (second, 3), (third, 2)):
        points[str(bid)] = points.get(str(bid), 0) + amount
    return {"points": {k: min(v, 5) for k, v in points.items()}}


# --- the database -------------------------------------------------------------------------------------


@dataclass
class BurstWorld:
    tavolo_id: int
    round_id: int
    bisogni: list[int]
    login_ids: list[str]
    facilitator_login: str


PG_ADMIN_URL = os.environ.get("TAVOLI_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


class Database:
    """Where a scenario's data lives: a SQLite file in the scenario's folder, or a PostgreSQL database
    made for it on the server of ``PG_ADMIN_URL`` and dropped afterwards."""

    def __init__(self, kind: str, workdir: Path):
        self.kind = kind
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.db'}"
            return
        from sqlalchemy.engine import make_url

        self.name = f"tavoli_bench_votes_{os.getpid()}_{secrets.token_hex(3)}"
        admin = make_url(PG_ADMIN_URL)
        self.admin_url = admin.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        self.url = admin.set(drivername="postgresql", database=self.name).render_as_string(hide_password=False)
        self._admin(f'CREATE DATABASE "{self.name}"')

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def label(self) -> str:
        return "SQLite (WAL)" if self.kind == "sqlite" else "PostgreSQL"

    def drop(self) -> None:
        if self.kind == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def postgres_reachable() -> str | None:
    """None when the PostgreSQL server of ``PG_ADMIN_URL`` answers, else why not."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg"),
                           connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 — reported, the scenario is left out
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        engine.dispose()


def prepare_database(workdir: Path, url: str, secret: str, voters: int, secret_round: bool) -> BurstWorld:

    from workspace import create_app
    from workspace.db import db, utcnow
    from workspace.migrate import upgrade
    from workspace.needs import service as needs
    from workspace.reference.loader import load_reference
    from workspace.voting import rounds as voting

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "SECRET_KEY": secret,
                      "MAIL_DIR": str(workdir / "mail"), "CHECK_MIGRATIONS": False})
    with app.app_context():
        session = db.session
        load_reference(session)
        facilitator, tavolo, people = populate_tavolo(session, voters, "Votante", "votante",
                                                      "Tavolo E — Anziani (bench voti)")
        now = utcnow()
        bisogni = [needs.create_bisogno(session, people[i][0], tavolo,
                                        {"title": f"Bisogno di prova n. {i + 1}", "macroarea": "E"})[0].id
                   for i in range(BISOGNI)]
        vote, _ = voting.create_round(session, facilitator, tavolo, "Priorità (bench)", "dot", bisogni,
                                      settings={"points": POINTS, "max_per_item": 5}, secret=secret_round,
                                      closes_at=now + timedelta(hours=2))
        session.flush()
        voting.open_round(session, facilitator, vote)
        session.commit()
        # One recorded login per person: the cookies name it (workspace.accounts.models.LoginSession).
        from workspace.accounts.service import open_login

        world = BurstWorld(tavolo.id, vote.id, bisogni, [open_login(session, u) for u, _ in people],
                           open_login(session, facilitator))
        session.commit()
    app.extensions["tavoli_db"]["engine"].dispose()
    return world


def stored_counts(url: str, round_id: int) -> dict[str, int]:
    """Rows of the round, read straight from the database (a connection of the benchmark's own)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            def one(sql: str) -> int:
                return conn.execute(text(sql), {"r": round_id}).scalar_one()

            return {
                "participations": one("SELECT count(*) FROM vote_participation WHERE round_id = :r"),
                "distinct_voters": one("SELECT count(DISTINCT voter_key) FROM vote_participation WHERE round_id = :r"),
                "open_ballots": one("SELECT count(*) FROM open_ballot WHERE round_id = :r"),
                "pooled_ballots": one("SELECT count(*) FROM vote_pool WHERE round_id = :r"),
                "secret_ballots": one("SELECT count(*) FROM secret_ballot WHERE round_id = :r"),
                "operations": one("SELECT count(*) FROM vote_operation WHERE round_id = :r"),
                "revision": one("SELECT revision FROM vote_round WHERE id = :r"),
            }
    finally:
        engine.dispose()


# --- clients --------------------------------------------------------------------------------------------


class Voters:
    """The voters of one process: connect, join, cast at their times, record acks and pushes."""

    def __init__(self, base: str, tavolo_id: int, round_id: int):
        self.base, self.tavolo_id, self.round_id = base, tavolo_id, round_id
        self.clients: dict[int, socketio.Client] = {}
        self.live: dict[int, list] = {}  # index -> [pushes received, last voted seen]
        self._lock = threading.Lock()

    def _connect(self, index: int, cookie: str, token: str, timeout: float):
        sio = socketio.Client(reconnection=False)
        self.live[index] = [0, None]

        @sio.on("vote.live", namespace=NAMESPACE)
        def _pushed(payload, index=index):
            if isinstance(payload, dict) and payload.get("round_id") == self.round_id:
                with self._lock:
                    entry = self.live[index]
                    entry[0] += 1
                    voted = (payload.get("turnout") or {}).get("voted")
                    if isinstance(voted, int) and (entry[1] is None or voted > entry[1]):
                        entry[1] = voted

        started = time.monotonic()
        try:
            sio.connect(self.base, headers={"Cookie": f"session={cookie}"}, auth={"csrf_token": token},
                        transports=["websocket"], namespaces=[NAMESPACE], wait_timeout=timeout)
            ack = sio.call("join", {"tavolo_id": self.tavolo_id, "presence": False}, namespace=NAMESPACE,
                           timeout=timeout)
        except Exception as exc:  # noqa: BLE001 — reported, not raised
            return index, time.monotonic() - started, f"{type(exc).__name__}: {exc}"
        if not (isinstance(ack, dict) and ack.get("ok")):
            return index, time.monotonic() - started, f"join: {ack}"
        self.clients[index] = sio
        return index, time.monotonic() - started, None

    def connect(self, specs, parallel: int, timeout: float) -> list:
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            return list(pool.map(lambda s: self._connect(*s, timeout), specs))

    def burst(self, start_at: float, plan: list[tuple[int, float, str, dict]], ack_timeout: float,
              retries: int) -> list[dict]:
        """Send each planned ballot at ``start_at + offset``; wait for every ack (retrying)."""
        records: dict[int, dict] = {}
        done = threading.Event()
        remaining = [len(plan)]

        def send(index: int, op_id: str, ballot: dict, attempt: int) -> None:
            rec = records[index]
            now = time.monotonic()
            rec["attempts"] = attempt
            rec.setdefault("sent", now)
            rec["last_sent"] = now
            payload = {"op_id": op_id, "tavolo_id": self.tavolo_id, "round_id": self.round_id, "ballot": ballot}

            def on_ack(ack=None, index=index, attempt=attempt):
                at = time.monotonic()
                with self._lock:
                    rec = records[index]
                    if rec.get("final") or rec["attempts"] != attempt:
                        return
                    error = ack.get("error") if isinstance(ack, dict) else "malformed"
                    if error in RETRY_ERRORS and attempt <= retries:
                        rec.setdefault("errors", []).append(error)
                        threading.Thread(target=send, args=(index, op_id, ballot, attempt + 1), daemon=True).start()
                        return
                    rec.update(final=True, ack_at=at, ok=bool(isinstance(ack, dict) and ack.get("ok")),
                               error=None if isinstance(ack, dict) and ack.get("ok") else ack,
                               duplicate=bool(isinstance(ack, dict) and ack.get("duplicate")),
                               voted_in_ack=(((ack.get("result") or {}).get("turnout") or {}).get("voted")
                                             if isinstance(ack, dict) else None))
                    remaining[0] -= 1
                    if remaining[0] == 0:
                        done.set()

            try:
                self.clients[index].emit("vote.cast", payload, namespace=NAMESPACE, callback=on_ack)
            except Exception as exc:  # noqa: BLE001 — a send that fails is retried by the watchdog
                rec.setdefault("errors", []).append(f"emit: {exc}")

        for index, _offset, _op, _ballot in plan:
            records[index] = {"index": index}
        for index, offset, op_id, ballot in sorted(plan, key=lambda p: p[1]):
            delay = start_at + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            send(index, op_id, ballot, 1)
        # Watchdog: an operation left without an ack is sent again (same op_id), like the outbox.
        deadline = time.monotonic() + ack_timeout * (retries + 1) + 5
        while not done.wait(0.5) and time.monotonic() < deadline:
            now = time.monotonic()
            with self._lock:
                stale = [r for r in records.values() if not r.get("final") and now - r["last_sent"] > ack_timeout]
            for rec in stale:
                index = rec["index"]
                spec = next(p for p in plan if p[0] == index)
                with self._lock:
                    if rec["attempts"] > retries:
                        rec.update(final=True, ok=False, error={"error": "timeout"}, ack_at=None)
                        remaining[0] -= 1
                        if remaining[0] == 0:
                            done.set()
                        continue
                    rec.setdefault("errors", []).append("timeout")
                send(index, spec[2], spec[3], rec["attempts"] + 1)
        return list(records.values())

    def pushes(self) -> dict[int, list]:
        with self._lock:
            return {k: list(v) for k, v in self.live.items()}

    def disconnect(self) -> None:
        with ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(lambda c: c.disconnect(), list(self.clients.values())))
        self.clients.clear()


def _worker(conn, base: str, tavolo_id: int, round_id: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    voters = Voters(base, tavolo_id, round_id)
    try:
        while True:
            if not conn.poll(600):
                break  # orphaned
            command, *args = conn.recv()
            if command == "connect":
                conn.send(voters.connect(*args))
            elif command == "burst":
                conn.send(voters.burst(*args))
            elif command == "pushes":
                conn.send(voters.pushes())
            elif command == "stop":
                break
    finally:
        voters.disconnect()
        conn.close()


class Workers:
    def __init__(self, count: int, base: str, tavolo_id: int, round_id: int):
        ctx = mp.get_context("spawn")
        self.pipes, self.procs = [], []
        for _ in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, base, tavolo_id, round_id), daemon=True)
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


# --- profiling -------------------------------------------------------------------------------------------


class Profiler:
    """``py-spy`` attached to the server for the burst (``--profile DIR``), twice: ``cpu`` samples only
    the thread holding the GIL (where the CPU goes), ``wall`` samples every thread, idle ones too
    (where handlers wait: locks, the connection pool, the database). Raw collapsed stacks go to
    ``DIR/<scenario>-<kind>.txt``; the report keeps the functions that hold most samples."""

    KINDS = {"cpu": ["--gil"], "wall": ["--idle"]}

    def __init__(self, folder: Path, scenario: str, pid: int):
        import subprocess

        folder.mkdir(parents=True, exist_ok=True)
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.paths = {kind: folder / f"{scenario}-{kind}.txt" for kind in self.KINDS}
        self.procs = [subprocess.Popen([exe, "record", "--pid", str(pid), "--rate", "200", "--format", "raw",
                                        "--output", str(self.paths[kind]), "--nonblocking", *extra],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                      for kind, extra in self.KINDS.items()]

    def stop(self) -> dict:
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            proc.wait(timeout=60)
        return {kind: summarise_profile(path) for kind, path in self.paths.items()}


def summarise_profile(path: Path, top: int = 25) -> dict:
    """Inclusive share of samples per function (``name (file)``), from py-spy's collapsed stacks."""
    total, inclusive = 0, {}
    if not path.exists():
        return {"samples": 0, "top": []}
    for line in path.read_text().splitlines():
        stack, _sep, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        seen = set()
        for frame in stack.split(";"):
            name = re.sub(r":\d+\)$", ")", frame.strip())
            if name and name not in seen:
                seen.add(name)
                inclusive[name] = inclusive.get(name, 0) + n
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]
    return {"samples": total, "top": [{"function": f, "share": round(n / total, 3)} for f, n in ranked]}


# --- one scenario -----------------------------------------------------------------------------------------


def expected_tally(world: BurstWorld, voters: int) -> dict:
    from workspace.voting import methods

    candidates = [str(b) for b in world.bisogni]
    result = methods.tally("dot", candidates, [ballot_of(i, world.bisogni) for i in range(voters)],
                           methods.DotSettings(points=POINTS, max_per_item=5))
    return {"ranking": result.ranking, "scores": result.scores}


def close_and_read(base: str, secret: str, world: BurstWorld, timeout: float) -> dict:
    """The facilitator closes the round over the live channel, then reads the results API."""
    import requests

    cookie, token = csrf_login(base, session_cookie(secret, world.facilitator_login))
    sio = socketio.Client(reconnection=False)
    try:
        sio.connect(base, headers={"Cookie": f"session={cookie}"}, auth={"csrf_token": token},
                    transports=["websocket"], namespaces=[NAMESPACE], wait_timeout=timeout)
        sio.call("join", {"tavolo_id": world.tavolo_id, "presence": False}, namespace=NAMESPACE, timeout=timeout)
        t0 = time.monotonic()
        ack = sio.call("vote.close", {"op_id": f"bench-close-{secrets.token_hex(6)}", "tavolo_id": world.tavolo_id,
                                      "round_id": world.round_id}, namespace=NAMESPACE, timeout=timeout)
        close_s = time.monotonic() - t0
    finally:
        sio.disconnect()
    with requests.Session() as http:
        http.cookies.set("session", cookie, domain="127.0.0.1", path="/")
        results = http.get(f"{base}/api/v1/votazioni/{world.round_id}/risultati", timeout=timeout)
        results.raise_for_status()
    return {"close_ack": ack, "close_ms": ms(close_s), "results": results.json()}


def run_scenario(settings: Settings, scenario: str, database: str = "sqlite") -> dict:
    nofile = raise_nofile(max(4096, settings.voters * 8 + 256))
    workdir = Path(tempfile.mkdtemp(prefix="tavoli-bench-votes-"))
    secret = secrets.token_hex(32)
    server = workers = store = None
    timings: dict = {}
    try:
        t = time.monotonic()
        store = Database(database, workdir)
        url = store.url
        world = prepare_database(workdir, url, secret, settings.voters, scenario == "segreto")
        timings["prepare_s"] = round(time.monotonic() - t, 2)
        server = Server(workdir, url, secret)
        server.wait_ready()

        t = time.monotonic()
        cookies = [session_cookie(secret, login_id) for login_id in world.login_ids]
        with ThreadPoolExecutor(max_workers=8) as pool:
            creds = list(pool.map(lambda c: csrf_login(server.base, c), cookies))
        timings["login_s"] = round(time.monotonic() - t, 2)

        n_workers = settings.workers()
        workers = Workers(n_workers, server.base, world.tavolo_id, world.round_id)
        shares: list[list] = [[] for _ in range(n_workers)]
        for i in range(settings.voters):
            shares[i % n_workers].append((i, *creds[i]))
        per_worker = max(1, settings.batch // n_workers)
        t = time.monotonic()
        connected = []
        for got in workers.all(("connect",), [(s, per_worker, settings.connect_timeout) for s in shares]):
            connected.extend(got)
        timings["connect_and_join_s"] = round(time.monotonic() - t, 2)
        connect_errors = [e for _i, _d, e in connected if e]
        ready = {i for i, _d, e in connected if not e}
        time.sleep(1.0)  # let the server settle after the connections
        before = proc_status(server.proc.pid)

        # The burst: every voter at start + offset, offsets uniform in [0, spread).
        rng = random.Random(settings.seed)
        run_id = secrets.token_hex(4)
        plans: list[list] = [[] for _ in range(n_workers)]
        for i in range(settings.voters):
            if i in ready:
                plans[i % n_workers].append((i, rng.uniform(0, settings.spread), f"bench-{run_id}-{i:04d}",
                                             ballot_of(i, world.bisogni)))
        start_at = time.monotonic() + 2.0
        client_pids = [p.pid for p in workers.procs]
        profiler = (Profiler(Path(settings.profile), f"{scenario}-{database}", server.proc.pid)
                    if settings.profile else None)
        cpu_start = cpu_seconds(server.proc.pid)
        clients_cpu_start = sum(cpu_seconds(pid) or 0.0 for pid in client_pids)
        busy_start = machine_busy_seconds()
        wall_start = time.monotonic()
        records = []
        for got in workers.all(("burst",), [(start_at, plan, settings.ack_timeout, settings.retries)
                                            for plan in plans],
                               timeout=settings.ack_timeout * (settings.retries + 2) + 60):
            records.extend(got)
        cpu_end = cpu_seconds(server.proc.pid)
        if profiler is not None:
            timings["profile"] = profiler.stop()
        timings["clients_cpu_during_burst_s"] = round(
            sum(cpu_seconds(pid) or 0.0 for pid in client_pids) - clients_cpu_start, 2)
        busy_end = machine_busy_seconds()
        timings["burst_wall_s"] = round(time.monotonic() - wall_start, 2)
        if None not in (busy_start, busy_end, cpu_start, cpu_end):
            # Whatever else ran on the machine meanwhile (other programs, not this benchmark).
            timings["other_cpu_during_burst_s"] = round(max(
                0.0, (busy_end - busy_start) - (cpu_end - cpu_start) - timings["clients_cpu_during_burst_s"]), 2)
        after = proc_status(server.proc.pid)
        time.sleep(1.0)  # the last coalesced push is at most 0.3 s behind the last ballot
        pushes: dict[int, list] = {}
        for got in workers.all(("pushes",)):
            pushes.update(got)
        db_counts = stored_counts(url, world.round_id)
        closing = close_and_read(server.base, secret, world, settings.connect_timeout)
        closed_counts = stored_counts(url, world.round_id)
        db_counts["box_after_closing"] = closed_counts["secret_ballots"]
        db_counts["pool_after_closing"] = closed_counts["pooled_ballots"]
        expected = expected_tally(world, settings.voters)
        result = analyse(settings, scenario, world, records, pushes, db_counts, closing, expected, start_at,
                         connect_errors, len(ready), before, after, cpu_start, cpu_end, timings, n_workers, nofile,
                         server)
        result["database"] = database
        result["settings"]["database"] = store.label()
        return result
    finally:
        if workers is not None:
            workers.stop()
        if server is not None:
            server.stop()
        if store is not None:
            store.drop()
        shutil.rmtree(workdir, ignore_errors=True)


def analyse(settings, scenario, world, records, pushes, db_counts, closing, expected, start_at, connect_errors,
            ready, before, after, cpu_start, cpu_end, timings, n_workers, nofile, server) -> dict:
    ok = [r for r in records if r.get("ok")]
    failed = [r for r in records if not r.get("ok")]
    latencies = [r["ack_at"] - r["sent"] for r in ok]
    first_send = min((r["sent"] for r in records if "sent" in r), default=start_at)
    last_send = max((r["sent"] for r in records if "sent" in r), default=start_at)
    last_ack = max((r["ack_at"] for r in ok), default=first_send)
    burst_s = last_ack - first_send
    retried = [r for r in records if r.get("attempts", 1) > 1]
    results = closing["results"]
    tally = results.get("tally") or {}
    stored_ballots = db_counts["pooled_ballots"] if scenario == "segreto" else db_counts["open_ballots"]
    push_counts = [v[0] for v in pushes.values()]
    saw_all = sum(1 for v in pushes.values() if v[1] == settings.voters)
    n = settings.voters
    checks = {
        "all_connected": ready == n,
        "all_acknowledged_ok": len(ok) == n,
        "stored_participations_exact": db_counts["participations"] == n == db_counts["distinct_voters"],
        "stored_ballots_exact": stored_ballots == n,
        "box_exact_after_closing": scenario != "segreto"
        or (db_counts["box_after_closing"] == n and db_counts["pool_after_closing"] == 0),
        "results_turnout_exact": (results.get("turnout") or {}).get("voted") == n
        and (results.get("turnout") or {}).get("eligible") == n,
        "results_ballots_counted_exact": results.get("ballots_counted") == n,
        "tally_matches_ballots_sent": tally.get("ranking") == expected["ranking"]
        and tally.get("scores") == expected["scores"],
        "every_client_saw_final_turnout": saw_all == ready,
    }
    return {
        "scenario": scenario,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": {
            "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "machine": platform.machine(), "open_files_limit": nofile[0], "packages": versions(),
        },
        "settings": asdict(settings) | {"worker_processes": n_workers,
                                        "server": "`tavoli serve` (threading mode, Werkzeug)",
                                        "transport": "websocket",
                                        "method": f"dot, {POINTS} points, at most 5 per item, {BISOGNI} items",
                                        "ballot_unit": "person"},
        "checks": checks,
        "passed": all(checks.values()),
        "clients": {"voters": n, "connected_and_joined": ready, "connect_errors": connect_errors[:5]},
        "timings_s": timings | {"send_window_s": round(last_send - first_send, 3),
                                "burst_s": round(burst_s, 3)},
        "acks": {"ok": len(ok), "failed": len(failed), "retried": len(retried),
                 "duplicates": sum(1 for r in ok if r.get("duplicate")),
                 "failures": [r.get("error") for r in failed[:5]],
                 "retry_reasons": sorted({e for r in retried for e in r.get("errors", [])})},
        "ack_latency_ms": {"p50": ms(percentile(latencies, 50)), "p90": ms(percentile(latencies, 90)),
                           "p99": ms(percentile(latencies, 99)), "max": ms(max(latencies)) if latencies else None,
                           "min": ms(min(latencies)) if latencies else None},
        "throughput_ballots_per_s": round(len(ok) / burst_s, 1) if burst_s > 0 else None,
        "stored": db_counts,
        "results": {"turnout": results.get("turnout"), "ballots_counted": results.get("ballots_counted"),
                    "ranking": tally.get("ranking"), "scores": tally.get("scores"),
                    "expected_ranking": expected["ranking"], "close_ms": closing["close_ms"],
                    "close_ack_ok": bool(isinstance(closing["close_ack"], dict) and closing["close_ack"].get("ok"))},
        "live_pushes": {"per_client_p50": percentile(push_counts, 50), "per_client_max": max(push_counts, default=0),
                        "clients_that_saw_final_turnout": saw_all},
        "server": {"rss_before_burst_mb": round(before.get("rss_kb", 0) / 1024, 1),
                   "rss_after_burst_mb": round(after.get("rss_kb", 0) / 1024, 1),
                   "threads_after_burst": after.get("threads"),
                   "cpu_s_during_burst": round(cpu_end - cpu_start, 2) if cpu_start is not None and cpu_end else None,
                   "log_tail_on_problems": "" if all(checks.values()) else server.log_tail(15)},
    }


# --- output ------------------------------------------------------------------------------------------------

METRICS = (
    ("voters connected and joined", ("clients", "connected_and_joined"), ""),
    ("acks ok", ("acks", "ok"), ""),
    ("acks failed (after retries)", ("acks", "failed"), ""),
    ("ballots retried (same op_id)", ("acks", "retried"), ""),
    ("participations stored", ("stored", "participations"), ""),
    ("ballots stored before closing (open ballots, or the pool)", None, ""),
    ("secret ballots in the box after closing", ("stored", "box_after_closing"), ""),
    ("results turnout voted", ("results", "turnout", "voted"), ""),
    ("results ballots counted", ("results", "ballots_counted"), ""),
    ("send window (first -> last emit)", ("timings_s", "send_window_s"), "s"),
    ("burst (first emit -> last ack)", ("timings_s", "burst_s"), "s"),
    ("throughput", ("throughput_ballots_per_s",), "ballots/s"),
    ("ack latency p50", ("ack_latency_ms", "p50"), "ms"),
    ("ack latency p90", ("ack_latency_ms", "p90"), "ms"),
    ("ack latency p99", ("ack_latency_ms", "p99"), "ms"),
    ("ack latency max", ("ack_latency_ms", "max"), "ms"),
    ("vote.live pushes per client, p50", ("live_pushes", "per_client_p50"), ""),
    ("clients whose last push shows N voted", ("live_pushes", "clients_that_saw_final_turnout"), ""),
    ("closing (vote.close ack)", ("results", "close_ms"), "ms"),
    ("server CPU during the burst", ("server", "cpu_s_during_burst"), "s"),
    ("clients' CPU during the burst", ("timings_s", "clients_cpu_during_burst_s"), "s"),
    ("other programs' CPU during the burst", ("timings_s", "other_cpu_during_burst_s"), "s"),
    ("server RSS after the burst", ("server", "rss_after_burst_mb"), "MB"),
    ("all checks passed", ("passed",), ""),
)


def _get(result: dict, path) -> object:
    if path is None:
        stored = result["stored"]
        return stored["pooled_ballots"] if result["scenario"] == "segreto" else stored["open_ballots"]
    for key in path:
        result = result.get(key) if isinstance(result, dict) else None
    return result


DB_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _fmt(value) -> str:
    if value is None:
        return "—"
    if value is True:
        return "yes"
    if value is False:
        return "NO"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table_rows(report: dict) -> list[list[str]]:
    runs = report["scenarios"]
    rows = [["measure"] + [f"{r['scenario']} ({DB_LABELS[r['database']]})" for r in runs]]
    for label, path, unit in METRICS:
        rows.append([f"{label} ({unit})" if unit else label] + [_fmt(_get(r, path)) for r in runs])
    return rows


def table(report: dict) -> str:
    rows = table_rows(report)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                       for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                     for row in rows)


def _name(r: dict) -> str:
    return f"{r['scenario']} ({DB_LABELS[r.get('database', 'sqlite')]})"


def notes(report: dict) -> list[str]:
    out = []
    for r in report["scenarios"]:
        failed = [name for name, ok in r["checks"].items() if not ok]
        if failed:
            out.append(f"{_name(r)}: checks FAILED: {', '.join(failed)} (see the JSON).")
        else:
            out.append(f"{_name(r)}: every voter acknowledged, exactly {r['clients']['voters']} participations "
                       f"and ballots stored, results turnout {r['clients']['voters']} of {r['clients']['voters']}, "
                       "tally equal to the one computed from the ballots sent.")
        if r["acks"]["retried"]:
            out.append(f"{_name(r)}: {r['acks']['retried']} ballots needed a retry with the same op_id "
                       f"({', '.join(r['acks']['retry_reasons'])}); each counted once.")
    out.append("Ballots arriving together are written in one transaction (group commit, "
               "workspace/voting/ballots.py: the first waiting ballot leads, writes every ballot waiting at that "
               "moment with set-wise reads and inserts, acknowledges each, and hands the lead on). A secret "
               "ballot goes into the round's mixing pool with its participation; the box is filled by the mixer "
               "when the round closes (its cost is in the closing time), so a secret ballot costs about what an "
               "open one does.")
    out.append(PROFILE_FINDING)
    cores = report["environment"]["cores"]
    for r in report["scenarios"]:
        server_cpu = r["server"]["cpu_s_during_burst"]
        if server_cpu and r["acks"]["ok"]:
            out.append(f"{_name(r)}: the server spent {round(server_cpu * 1000 / r['acks']['ok'], 1)} ms of CPU per "
                       f"ballot (write path, ack, and the coalesced vote.live pushes to {r['clients']['voters']} "
                       f"clients); the {r['clients']['voters']} clients used {r['timings_s'].get('clients_cpu_during_burst_s')} s "
                       f"on the same {cores} cores.")
    for r in report["scenarios"]:
        other = r["timings_s"].get("other_cpu_during_burst_s") or 0
        wall = r["timings_s"].get("burst_wall_s") or 0
        if wall and other > 0.1 * cores * wall:
            out.append(f"{_name(r)}: the machine was not idle: other programs used {other} s of CPU during the "
                       f"burst (of {round(cores * wall, 1)} core-seconds available), which makes the figures "
                       "pessimistic.")
    out.append("Clients and server share the same cores; the latencies include time spent waiting for a core "
               "behind the clients. The server runs as `tavoli serve` ships it (gevent, no tuning).")
    return out


#: What profiling the burst showed (py-spy on the server, ``--profile``), before and after group commit.
PROFILE_FINDING = (
    "Profile (py-spy on the server during the burst, `--profile`), before this change (one transaction per "
    "ballot): 99% of a `vote.cast` handler's wall time was spent queueing, 84% for one of the 15 pooled "
    "database connections (300 handler threads) and 15% for SQLite's write lock (`BEGIN IMMEDIATE`, taken "
    "already by the login's user lookup), under 2% doing the ballot's work. Of the server's CPU, 74% went "
    "to `cast_ballot`: 39% rewriting all the round's secret ballots for every new one (O(n) per ballot), "
    "the rest ten ORM queries per ballot (role lookups twice, lock, duplicates, conflicts, turnout). "
    "Fixed by group commit with set-wise queries and by the mixing pool (no rewrite per ballot). After "
    "(same burst, secret round): the server's CPU per ballot fell from about 9.5 ms to about 2.8 ms; 45% of "
    "it is the batches' database work (about 0.3-0.8 ms per ballot in a batch of 300, machine busy), 18% "
    "the login's user lookup that every Socket.IO message repeats, the rest Socket.IO, the request "
    "context and the acknowledgement; a waiting handler spends its time waiting for its batch."
)


def markdown(report: dict) -> str:
    env = report["environment"]
    st = report["settings"]
    rows = table_rows(report)
    lines = [
        "# Votes burst benchmark",
        "",
        f"Run {report['date']} on {env['cores']} cores, Python {env['python']}, {env['platform']}; "
        f"python-socketio {env['packages']['python-socketio']}, Flask-SocketIO {env['packages']['Flask-SocketIO']}. "
        "Generated by `make bench` (`bench/votes_burst.py`); all figures in `votes_burst.json`.",
        "",
        f"Server: {st['server']}; database: SQLite (WAL, the embedded mode) and PostgreSQL. One open round ({st['method']}, one ballot per person) "
        f"with {st['voters']} eligible voters, each a python-socketio client over {st['transport']} on loopback "
        f"({st['worker_processes']} client processes), all joined to the tavolo. At a common start time every "
        f"voter sends `vote.cast` with its own `op_id` at a random offset within {st['spread']} s; unacknowledged "
        "or internally failed ballots are retried with the same `op_id`. Latency is from a ballot's first emit "
        "to its final ack; the burst is from the first emit to the last ack. Then the facilitator closes the "
        "round (`vote.close`) and the results API is read. One run per scenario, each with a fresh server and "
        "database.",
        "",
        "| " + " | ".join(rows[0]) + " |",
        "|" + "---|" * len(rows[0]),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    lines += ["", "Notes:", ""] + [f"- {n}" for n in report["notes"]]
    for r in report["scenarios"]:
        profile = r["timings_s"].get("profile")
        if profile:
            lines += ["", f"Profile of {_name(r)} (share of samples, inclusive):", ""]
            for kind, summary in profile.items():
                top = [t for t in summary["top"] if "workspace/" in t["function"]][:12]
                lines.append(f"- {kind} ({summary['samples']} samples): "
                             + "; ".join(f"{t['function']} {t['share']:.0%}" for t in top))
    return "\n".join(lines) + "\n"


#: results.json key of each (scenario, database).
RESULT_KEYS = {("segreto", "sqlite"): "vote_burst", ("palese", "sqlite"): "vote_burst_open",
               ("segreto", "postgresql"): "vote_burst_pg", ("palese", "postgresql"): "vote_burst_pg_open"}


def headline(report: dict) -> dict[str, dict]:
    """The figures ``make bench`` collects in bench/results.json, one key per scenario run."""
    out = {}
    for r in report["scenarios"]:
        out[RESULT_KEYS[(r["scenario"], r["database"])]] = {
            "date": r["date"], "voters": r["clients"]["voters"], "spread_s": report["settings"]["spread"],
            "ballots": r["acks"]["ok"], "counted": r["results"]["ballots_counted"],
            "ack_p50_ms": r["ack_latency_ms"]["p50"], "ack_p99_ms": r["ack_latency_ms"]["p99"],
            "ballots_per_s": r["throughput_ballots_per_s"], "close_ms": r["results"]["close_ms"],
            "other_cpu_during_burst_s": r["timings_s"].get("other_cpu_during_burst_s"),
            "passed": r["passed"],
        }
    return out


def merge_results(figures: dict[str, dict], path: Path = ROOT / "bench" / "results.json") -> None:
    """Merge ``figures`` into bench/results.json, keeping every other benchmark's keys."""
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(figures)
    path.write_text(json.dumps(current, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m bench.votes_burst", description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=defaults.voters)
    parser.add_argument("--spread", type=float, default=defaults.spread, help="seconds over which the ballots go")
    parser.add_argument("--scenario", choices=("palese", "segreto"), action="append",
                        help="only this scenario (repeatable; default: both)")
    parser.add_argument("--procs", type=int, default=defaults.procs, help="client processes (0: one per core)")
    parser.add_argument("--batch", type=int, default=defaults.batch, help="connections in flight at once")
    parser.add_argument("--ack-timeout", type=float, default=defaults.ack_timeout)
    parser.add_argument("--no-save", action="store_true", help="print only, do not write bench/results/")
    parser.add_argument("--profile", metavar="DIR", help="sample the server with py-spy during the burst")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), action="append",
                        help="only this database (repeatable; default: both)")
    args = parser.parse_args(argv)
    if args.voters < 2 or args.spread < 0:
        parser.error("servono almeno 2 votanti e una finestra di invio non negativa")
    settings = Settings(voters=args.voters, spread=args.spread,
                        scenarios=tuple(args.scenario or defaults.scenarios), procs=args.procs, batch=args.batch,
                        ack_timeout=args.ack_timeout, save=not args.no_save, profile=args.profile,
                        databases=tuple(args.database or defaults.databases))
    runs = []
    for database in settings.databases:
        if database == "postgresql" and (why := postgres_reachable()) is not None:
            print(f"votes_burst: PostgreSQL non raggiungibile ({why}): scenari PostgreSQL saltati", flush=True)
            continue
        for scenario in settings.scenarios:
            print(f"votes_burst: voto {scenario} su {DB_LABELS[database]}, {settings.voters} votanti in "
                  f"{settings.spread} s...", flush=True)
            runs.append(run_scenario(settings, scenario, database))
    report = {
        "benchmark": "votes_burst",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": runs[-1]["environment"],
        "settings": runs[-1]["settings"],
        "scenarios": runs,
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
        (RESULTS_DIR / "votes_burst.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        (RESULTS_DIR / "votes_burst.md").write_text(markdown(report))
        merge_results(headline(report))
        print(f"  risultati in {RESULTS_DIR.relative_to(ROOT)}/votes_burst.{{json,md}} e bench/results.json")
    return 0 if all(r["passed"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
