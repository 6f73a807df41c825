"""Fault scenarios of the scaled deployment (issue 14, point 4), each with a pass/fail verdict.

``python -m bench.faults`` (also run by ``make bench``; ``--only NAME``). Each scenario starts its own
PostgreSQL database, two server processes behind the sticky proxy (``deploy.scaled.Cluster``) and
clients that follow docs/live-protocol.md §8 (``SyncClient``: apply in order, hold an early event and
``resync`` on a gap, reconnect and ``join`` with ``last_seq``), plus a writer with an outbox (§7: the
same ``op_id`` until acknowledged, across reconnections).

- ``kill``: ``kill -9`` of the server process holding most clients, mid-seduta, while the writer
  writes. Pass: every client reconnects (through the proxy, to the other process) and ends with every
  event from its first join to the last one applied exactly once, in order; every operation was
  acknowledged and each made exactly one record.
- ``redis``: a private ``redis-server`` (its own port, never the machine's 6379) is stopped for 10 s
  and restarted while the writer writes. Pass: afterwards every process delivers pushes again (each
  client receives at least one event written after the restart by push), and every client ends with
  every event, those written while Redis was down included (through resync).
- ``postgres``: every PostgreSQL connection of the application is terminated
  (``pg_terminate_backend``). Pass: each operation and page request right after either succeeds or
  fails with a clear message (an ``internal`` ack with its Italian message, an HTTP error page), and
  within 5 s everything succeeds again.

Results: ``bench/results/faults.json`` and the ``faults`` key of ``bench/results.json``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.liveclient import LiveClient, Refused, http_session

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("kill", "redis", "postgres")


class SyncClient:
    """A live client keeping one tavolo in sync by the rules of §8, reconnecting by itself."""

    def __init__(self, http, base: str, cookie: str, token: str, tavolo_id: int):
        self.http, self.base, self.cookie, self.token, self.tavolo_id = http, base, cookie, token, tavolo_id
        self.client: LiveClient | None = None
        self.first: int | None = None  # last_seq of the first join (the starting snapshot)
        self.last_seq: int | None = None
        self.applied: list[int] = []
        self.pushed: list[tuple[int, float]] = []  # (seq, monotonic) of events received by push
        self.held: list[dict] = []
        self.syncing = False
        self.resync_wanted = False
        self.reconnects = 0
        self.resyncs = 0
        self.snapshots_after_start = 0
        self.task: asyncio.Task | None = None

    def start(self, stop: asyncio.Event) -> None:
        self.task = asyncio.create_task(self._run(stop))

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            client = LiveClient(self.http, self.base, self.cookie, self.token, self._on_event)
            try:
                await client.connect(timeout=10)
            except Refused:
                await asyncio.sleep(0.3 + random.random() * 0.3)
                continue
            self.client = client
            if await self._sync("join"):
                closed = asyncio.create_task(client.closed.wait())
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
                closed.cancel()
                stopping.cancel()
            await client.close()
            if stop.is_set():
                break
            self.reconnects += 1
            await asyncio.sleep(0.2 + random.random() * 0.5)

    def _apply(self, event: dict) -> None:
        self.applied.append(event["seq"])
        self.last_seq = event["seq"]

    def _drain_held(self) -> None:
        assert self.last_seq is not None
        for event in sorted(self.held, key=lambda e: e["seq"]):
            if event["seq"] == self.last_seq + 1:
                self._apply(event)
        gap = any(e["seq"] > self.last_seq + 1 for e in self.held)
        self.held = [e for e in self.held if e["seq"] > self.last_seq + 1]
        if gap:
            self._want_resync()

    def _on_event(self, event: dict, at: float) -> None:
        if event.get("tavolo_id") != self.tavolo_id:
            return
        self.pushed.append((event["seq"], at))
        if self.syncing or self.last_seq is None:
            self.held.append(event)
            return
        if event["seq"] <= self.last_seq:
            return
        if event["seq"] == self.last_seq + 1:
            self._apply(event)
            self._drain_held()
            return
        self.held.append(event)
        self._want_resync()

    def _want_resync(self) -> None:
        if self.syncing:
            self.resync_wanted = True
            return
        asyncio.get_running_loop().create_task(self._sync("resync"))

    async def _sync(self, kind: str) -> bool:
        client = self.client
        if client is None or not client.connected:
            return False
        self.syncing = True
        self.resync_wanted = False
        payload: dict = {"tavolo_id": self.tavolo_id}
        if kind == "join":
            payload["mode"] = "remoto"
        if self.last_seq is not None:
            payload["last_seq"] = self.last_seq
        try:
            reply = await client.call(kind, payload, timeout=30)
        except (TimeoutError, ConnectionError):
            self.syncing = False
            await client.close()
            return False
        if not (isinstance(reply, dict) and reply.get("ok")):
            self.syncing = False
            await client.close()  # e.g. internal: reconnect and try again
            return False
        if kind == "resync":
            self.resyncs += 1
        if reply["mode"] == "snapshot":
            if self.first is not None:
                self.snapshots_after_start += 1  # state replaced: tracking restarts there
            self.first = reply["last_seq"] if self.first is None else self.first
            self.last_seq = reply["last_seq"]
        else:
            for event in reply["events"]:
                if self.last_seq is not None and event["seq"] == self.last_seq + 1:
                    self._apply(event)
            self.last_seq = max(self.last_seq or 0, reply["last_seq"])
        self.syncing = False
        self._drain_held()
        if self.resync_wanted:
            asyncio.get_running_loop().create_task(self._sync("resync"))
        return True

    def verdict(self, final_seq: int) -> str | None:
        """None if every event after the first join was applied once and in order, else what is wrong."""
        if self.first is None:
            return "never joined"
        want = list(range(self.first + 1, final_seq + 1))
        if self.applied != want:
            missing = sorted(set(want) - set(self.applied))
            dups = len(self.applied) - len(set(self.applied))
            return f"applied {len(self.applied)} of {len(want)}; missing {missing[:5]}; duplicates {dups}"
        return None


class Writer:
    """Operations with an outbox: one op_id per intention, resent until acknowledged (§7)."""

    def __init__(self, http, base: str, cookie: str, token: str, tavolo_id: int, tag: str):
        self.http, self.base, self.cookie, self.token, self.tavolo_id, self.tag = http, base, cookie, token, tavolo_id, tag
        self.client: LiveClient | None = None
        self.acks: list[dict] = []
        self.errors: list[str] = []
        self.n = 0

    async def _connected(self) -> LiveClient:
        while self.client is None or not self.client.connected:
            self.client = LiveClient(self.http, self.base, self.cookie, self.token, None)
            try:
                await self.client.connect(timeout=10)
            except Refused as exc:
                self.errors.append(f"connect: {exc}"[:200])
                await asyncio.sleep(0.3)
        return self.client

    async def write(self, deadline: float = 60.0) -> dict:
        self.n += 1
        op = {"op_id": f"{self.tag}-{self.n:04d}", "tavolo_id": self.tavolo_id, "macroarea": "E",
              "title": f"Guasto {self.tag} n. {self.n}"}
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            client = await self._connected()
            try:
                ack = await client.call("bisogno.create", op, timeout=10)
            except (TimeoutError, ConnectionError) as exc:
                self.errors.append(f"{type(exc).__name__}")
                await client.close()
                continue
            if isinstance(ack, dict) and ack.get("ok"):
                self.acks.append({"op_id": op["op_id"], "seq": ack["seq"], "duplicate": bool(ack.get("duplicate"))})
                return ack
            self.errors.append(str(ack)[:200])
            if isinstance(ack, dict) and ack.get("error") == "too_many":
                # As a client does (§6): the same operation again once retry_after has passed.
                await asyncio.sleep(min(float(ack.get("retry_after") or 1), max(0.0, end - time.monotonic())))
                continue
            if not (isinstance(ack, dict) and ack.get("error") in ("internal", "conflict")):
                return ack
            await asyncio.sleep(0.3)
        return {"error": "timeout"}

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()


# --- set-up ----------------------------------------------------------------------------------------


class Stage:
    """A PostgreSQL database with one live tavolo, and a two-process cluster on ``redis_url``."""

    def __init__(self, people: int, redis_url: str, workdir: Path):
        from bench import plenary
        from deploy.scaled import Cluster

        self.url, self.dbname = plenary.pg_database()
        self.secret = secrets.token_hex(32)
        self.world = plenary.build_world(self.url, workdir, self.secret, people + 1)
        self.specs = plenary.specs_for(self.world, self.secret, people + 1, self.world.tavoli)
        self.tavolo_id = self.world.tavoli[0]
        self.cluster = Cluster(2, self.url, redis_url, workdir / "cluster", secret=self.secret,
                               env={"TAVOLI_SOCKETIO_CHANNEL": f"faults-{secrets.token_hex(4)}"})

    def start(self) -> Stage:
        self.cluster.start()
        return self

    def stop(self) -> None:
        from bench import plenary

        self.cluster.stop()
        plenary.drop_pg(self.dbname)

    def duplicates_and_count(self, tag: str) -> tuple[int, int]:
        """(titles written more than once, bisogni written) for the writer's operations."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT title, count(*) FROM bisogno WHERE title LIKE :t GROUP BY title"),
                                {"t": f"Guasto {tag} n. %"}).all()
        engine.dispose()
        return sum(1 for _t, c in rows if c > 1), len(rows)

    def final_seq(self) -> int:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url)
        with engine.connect() as conn:
            value = conn.execute(text("SELECT max(seq) FROM tavolo_event WHERE tavolo_id = :t"),
                                 {"t": self.tavolo_id}).scalar_one()
        engine.dispose()
        return int(value or 0)


def _established(port: int) -> int:
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].split(":")[1], 16) == port:
                count += 1
    return count


async def _clients(stage: Stage, stop: asyncio.Event) -> tuple[list[SyncClient], dict]:
    sessions = {addr: http_session(addr) for addr in {spec[-1] for spec in stage.specs}}
    clients = [SyncClient(sessions[addr], stage.cluster.base, cookie, token, tavolo)
               for _i, cookie, token, tavolo, addr in stage.specs[1:]]
    for c in clients:
        c.start(stop)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(c.first is not None for c in clients):
        await asyncio.sleep(0.2)
    return clients, sessions


async def _settle(clients: list[SyncClient], final: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(c.verdict(final) for c in clients):
        await asyncio.sleep(0.3)


def _client_failures(clients: list[SyncClient], final: int) -> list[str]:
    return [f"client {i}: {v}" for i, c in enumerate(clients) if (v := c.verdict(final))]


# --- scenarios ---------------------------------------------------------------------------------------


async def scenario_kill(stage: Stage, people: int) -> dict:
    stop = asyncio.Event()
    clients, sessions = await _clients(stage, stop)
    ports = stage.cluster.backend_ports
    spread = [_established(p) for p in ports]
    victim = 0 if spread[0] >= spread[1] else 1
    _i, cookie, token, tavolo, addr = stage.specs[0]
    writer = Writer(sessions[addr], stage.cluster.base, cookie, token, tavolo, "kill")
    for _ in range(10):  # 2 s of writes at 5/s
        await writer.write()
        await asyncio.sleep(0.2)
    stage.cluster.kill(victim)
    killed_at = time.monotonic()
    for _ in range(25):  # 5 s more, while the clients of the dead process come back
        await writer.write()
        await asyncio.sleep(0.2)
    final = stage.final_seq()
    await _settle(clients, final)
    recovered_s = round(time.monotonic() - killed_at, 1)
    failures = _client_failures(clients, final)
    dup, written = stage.duplicates_and_count("kill")
    after = [_established(p) for p in ports]
    stop.set()
    await asyncio.gather(*(c.task for c in clients if c.task), return_exceptions=True)
    await writer.close()
    for s in sessions.values():
        await s.close()
    passed = not failures and dup == 0 and written == writer.n == len(writer.acks) and after[victim] == 0
    return {"passed": passed, "clients": people, "clients_per_process_before": spread, "killed": victim,
            "clients_per_process_after": after, "reconnected": sum(1 for c in clients if c.reconnects),
            "resyncs": sum(c.resyncs for c in clients), "operations": writer.n, "acknowledged": len(writer.acks),
            "duplicate_acks": sum(1 for a in writer.acks if a["duplicate"]), "records_written": written,
            "duplicated_records": dup, "final_seq": final, "client_failures": failures[:5],
            "writer_errors": writer.errors[:5], "settled_within_s": recovered_s}


class PrivateRedis:
    """A redis-server of our own on a free port (never the machine's shared one on 6379)."""

    def __init__(self, workdir: Path):
        from deploy.scaled import free_port

        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError("redis-server privato non parte")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


async def scenario_redis(stage: Stage, people: int, redis: PrivateRedis, outage: float) -> dict:
    stop = asyncio.Event()
    clients, sessions = await _clients(stage, stop)
    spread = [_established(p) for p in stage.cluster.backend_ports]
    _i, cookie, token, tavolo, addr = stage.specs[0]
    writer = Writer(sessions[addr], stage.cluster.base, cookie, token, tavolo, "redis")
    for _ in range(4):
        await writer.write()
        await asyncio.sleep(0.5)
    redis.stop()
    down_at = time.monotonic()
    written_while_down = 0
    while time.monotonic() - down_at < outage:  # the writer goes on: the database does not need Redis
        ack = await writer.write(deadline=10)
        written_while_down += bool(ack.get("ok"))
        await asyncio.sleep(0.5)
    redis.start()
    restarted_at = time.monotonic()
    # Writes after the restart: each process must push them again (its listener resubscribes).
    first_after = None
    for _ in range(40):  # up to 20 s
        ack = await writer.write()
        if first_after is None and ack.get("ok"):
            first_after = ack["seq"]
        await asyncio.sleep(0.5)
        if first_after is not None and all(any(seq >= first_after and at >= restarted_at for seq, at in c.pushed)
                                           for c in clients):
            break
    deaf = sum(1 for c in clients if not any(at >= restarted_at for _seq, at in c.pushed))
    pushes_back = [min((at for _s, at in c.pushed if at >= restarted_at), default=None) for c in clients]
    back_s = [p - restarted_at for p in pushes_back if p is not None]
    for _ in range(4):
        await writer.write()
        await asyncio.sleep(0.3)
    final = stage.final_seq()
    await _settle(clients, final)
    failures = _client_failures(clients, final)
    dup, written = stage.duplicates_and_count("redis")
    stop.set()
    await asyncio.gather(*(c.task for c in clients if c.task), return_exceptions=True)
    await writer.close()
    for s in sessions.values():
        await s.close()
    passed = deaf == 0 and not failures and dup == 0 and written == len(writer.acks)
    return {"passed": passed, "clients": people, "clients_per_process": spread, "outage_s": outage,
            "written_while_down": written_while_down, "deaf_clients_after_restart": deaf,
            "push_back_after_restart_s_max": round(max(back_s), 1) if back_s else None,
            "resyncs": sum(c.resyncs for c in clients), "final_seq": final, "client_failures": failures[:5],
            "duplicated_records": dup, "writer_errors": writer.errors[:5],
            "down_for_s": round(restarted_at - down_at, 1)}


async def scenario_postgres(stage: Stage) -> dict:
    import aiohttp
    from sqlalchemy import create_engine, text

    from bench.plenary import PG_ADMIN

    stop = asyncio.Event()
    _i, cookie, token, tavolo, addr = stage.specs[0]
    http = http_session(addr)
    writer = Writer(http, stage.cluster.base, cookie, token, tavolo, "pgdrop")
    await writer.write()
    page = f"{stage.cluster.base}/tavoli/{tavolo}/partecipa"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")

    async def get_page() -> tuple[int, str]:
        async with http.get(page, headers={"Cookie": cookie}) as response:
            return response.status, await response.text()

    for _ in range(3):  # every process has pooled connections
        await get_page()
    with admin.connect() as conn:
        terminated = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": stage.dbname}).scalar_one()
    admin.dispose()
    cut_at = time.monotonic()
    outcomes = []
    recovered_at = None
    streak = 0
    while time.monotonic() - cut_at < 15:
        # One operation (no retry: we want to see the first answer) and one page, alternately.
        writer.n += 1
        op = {"op_id": f"pgdrop-{writer.n:04d}", "tavolo_id": tavolo, "macroarea": "E",
              "title": f"Guasto pgdrop n. {writer.n}"}
        client = await writer._connected()
        try:
            ack = await client.call("bisogno.create", op, timeout=15)
        except (TimeoutError, ConnectionError) as exc:
            ack = {"error": type(exc).__name__}
        ok_op = isinstance(ack, dict) and bool(ack.get("ok"))
        clear_op = ok_op or bool(isinstance(ack, dict) and ack.get("message"))
        if not ok_op and clear_op and ack.get("error") == "internal":
            retried = await client.call("bisogno.create", op, timeout=15)  # the client's retry (§7)
            ok_op = bool(isinstance(retried, dict) and retried.get("ok"))
        try:
            status, body = await get_page()
        except aiohttp.ClientError as exc:
            status, body = 0, str(exc)
        ok_page = status == 200
        clear_page = ok_page or (status >= 400 and "<html" in body.lower())
        outcomes.append({"t_s": round(time.monotonic() - cut_at, 2), "op": "ok" if ok_op else ack,
                         "page": status, "clear": clear_op and clear_page})
        streak = streak + 1 if ok_op and ok_page else 0
        if streak == 1 and recovered_at is None:
            recovered_at = time.monotonic() - cut_at
        if streak >= 3:
            break
        await asyncio.sleep(0.3)
    # Then connections dropped *during* transactions: three writers with outboxes write for 4 s while
    # the application's backends are terminated every 0.5 s. Every refusal must carry a message, every
    # operation must end acknowledged (retried with its op_id) and be recorded once.
    burst = [Writer(http, stage.cluster.base, cookie, token, tavolo, f"pgburst{k}") for k in range(3)]
    burst_end = time.monotonic() + 4

    async def keep_writing(w: Writer) -> None:
        # Paced (10 writes a second each, 30 in all): one person's writes stay under the live
        # channel's limit (TAVOLI_LIVE_WRITES_MAX, 150 in 10 s), as a facilitator's would.
        while time.monotonic() < burst_end:
            await w.write(deadline=30)
            await asyncio.sleep(0.1)

    async def keep_terminating() -> int:
        count = 0
        engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        while time.monotonic() < burst_end:
            with engine.connect() as conn:
                count += conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": stage.dbname}).scalar_one()
            await asyncio.sleep(0.5)
        engine.dispose()
        return count

    *_done, burst_terminated = await asyncio.gather(*(keep_writing(w) for w in burst), keep_terminating())
    burst_errors = [e for w in burst for e in w.errors]
    unclear = [e for e in burst_errors if "message" not in e and e not in ("ConnectionError", "TimeoutError")]
    burst_ops = sum(w.n for w in burst)
    burst_acked = sum(len(w.acks) for w in burst)
    burst_dups = sum(stage.duplicates_and_count(w.tag)[0] for w in burst)
    burst_written = sum(stage.duplicates_and_count(w.tag)[1] for w in burst)
    stop.set()
    for w in [writer, *burst]:
        await w.close()
    await http.close()
    dup, _written = stage.duplicates_and_count("pgdrop")
    passed = (recovered_at is not None and recovered_at <= 5 and all(o["clear"] for o in outcomes) and dup == 0
              and not unclear and burst_acked == burst_ops == burst_written and burst_dups == 0)
    return {"passed": passed, "connections_terminated": terminated,
            "recovered_after_s": None if recovered_at is None else round(recovered_at, 2),
            "outcomes": outcomes[:8], "failed_before_recovery": sum(1 for o in outcomes if o["op"] != "ok" or o["page"] != 200),
            "duplicated_records": dup,
            "burst": {"operations": burst_ops, "acknowledged": burst_acked, "records": burst_written,
                      "duplicated_records": burst_dups, "backends_terminated": burst_terminated,
                      "refusals_retried": len(burst_errors), "refusal_sample": burst_errors[:3],
                      "refusals_without_message": unclear[:3]}}


# --- main --------------------------------------------------------------------------------------------


def run(only: tuple[str, ...], people: int, outage: float) -> dict:
    from bench.plenary import REDIS_BASE, raise_nofile

    raise_nofile()
    results: dict[str, dict] = {}
    workdir = Path(tempfile.mkdtemp(prefix="tavoli-faults-"))
    for name in only:
        print(f"faults: {name}...", flush=True)
        sub = workdir / name
        sub.mkdir()
        stage = redis = None
        started = time.monotonic()
        try:
            if name == "redis":
                redis = PrivateRedis(sub)
                redis.start()
                stage = Stage(people, redis.url, sub).start()
                results[name] = asyncio.run(scenario_redis(stage, people, redis, outage))
            elif name == "kill":
                stage = Stage(people, REDIS_BASE, sub).start()
                results[name] = asyncio.run(scenario_kill(stage, people))
            else:
                stage = Stage(4, REDIS_BASE, sub).start()
                results[name] = asyncio.run(scenario_postgres(stage))
        except Exception as exc:  # noqa: BLE001 — a crashed scenario is a failed one
            results[name] = {"passed": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
        finally:
            if stage is not None:
                if not results.get(name, {}).get("passed"):
                    kept = Path(tempfile.gettempdir()) / f"tavoli-faults-{name}-logs"
                    shutil.copytree(stage.cluster.workdir, kept, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("*.db"))
                    results.setdefault(name, {})["logs"] = str(kept)
                stage.stop()
            if redis is not None:
                redis.stop()
        results[name]["seconds"] = round(time.monotonic() - started, 1)
        results[name]["date"] = datetime.now(UTC).isoformat(timespec="seconds")
        print(f"faults: {name}: {'PASS' if results[name].get('passed') else 'FAIL'} "
              f"{json.dumps(results[name])[:600]}", flush=True)
    shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=SCENARIOS)
    parser.add_argument("--clients", type=int, default=40 if os.environ.get("BENCH_QUICK") == "1" else 100)
    parser.add_argument("--outage", type=float, default=10.0, help="seconds Redis stays down")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    results = run(tuple(args.only or SCENARIOS), args.clients, args.outage)
    if not args.no_save:
        from bench.plenary import RESULTS_DIR, RESULTS_JSON, merge_results

        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "faults.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        current = json.loads(RESULTS_JSON.read_text()).get("faults", {}) if RESULTS_JSON.exists() else {}
        current.update({k: {"passed": v.get("passed"), "date": v.get("date")} for k, v in results.items()})
        merge_results({"faults": current})
    return 0 if all(r.get("passed") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
