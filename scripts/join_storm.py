"""A quick join-storm probe (the formal benchmark is bench/): N clients connect and join at once a tavolo
with B bisogni and A annotations during a live seduta, while a facilitator writes W times a second.

    python scripts/join_storm.py build /tmp/storm            # the world, once (SQLite file)
    python scripts/join_storm.py run /tmp/storm [--code DIR] # a copy of it served, the storm, a JSON line

``--code DIR`` serves another checkout of Tavoli (e.g. a ``git archive`` of an older commit) with the
same virtualenv: its own ``tavoli serve`` (threading there, gevent here). The clients run in one
gevent-patched process (python-socketio's client, a greenlet each); sessions are forged with the
server's key, as a login would leave them, so no argon2 time is spent before the storm."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

SECRET = "join-storm-" + "k" * 32
PROJECT = Path(__file__).resolve().parents[1]


def cookie_id(session, user) -> str:
    """What a login leaves in the session cookie: ``<login_id>.<key>``, with its live login row."""
    from workspace.accounts.auth import key_hash
    from workspace.accounts.models import LoginSession

    key = secrets.token_urlsafe(24)
    session.add(LoginSession(user_id=user.id, key_hash=key_hash(key)))
    return f"{user.login_id}.{key}"


def credentials(login_id: str) -> tuple[str, str]:
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface
    from itsdangerous import URLSafeTimedSerializer

    raw = secrets.token_hex(20)
    signer = Flask("storm")
    signer.secret_key = SECRET
    cookie = SecureCookieSessionInterface().get_signing_serializer(signer).dumps(
        {"_user_id": login_id, "_fresh": True, "csrf_token": raw})
    return f"session={cookie}", URLSafeTimedSerializer(SECRET, salt="wtf-csrf-token").dumps(raw)


def build(workdir: Path, people: int, bisogni: int, annotations: int) -> None:
    from argon2 import PasswordHasher

    from workspace import create_app
    from workspace.accounts.models import Membership, Organisation, User
    from workspace.db import db, utcnow
    from workspace.migrate import upgrade
    from workspace.needs import service as needs
    from workspace.procedures import lifecycle
    from workspace.reference.loader import load_reference
    from workspace.tavoli import membership
    from workspace.tavoli import service as tavoli

    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'world.db'}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "SECRET_KEY": SECRET,
                      "CHECK_MIGRATIONS": False, "REDIS_URL": None})
    with app.app_context():
        s = db.session
        load_reference(s)
        pw = PasswordHasher().hash("storm-password")
        udp = Organisation(name="UdP (storm)", kind="ufficio_di_piano", ambito_code="50008")
        orgs = [Organisation(name=f"ETS {i:02d} (storm)", kind="ets", ambito_code="50008", runts_section="odv")
                for i in range(20)]
        admin = User(name="Admin", email="admin@storm.example.org", password_hash=pw, is_admin=True)
        fac = User(name="Facilitatore", email="fac@storm.example.org", password_hash=pw)
        s.add_all([udp, *orgs, admin, fac, Membership(user=admin, organisation=udp),
                   Membership(user=fac, organisation=udp)])
        users = []
        for i in range(people):
            u = User(name=f"Persona {i:04d}", email=f"p{i:04d}@storm.example.org", password_hash=pw)
            s.add_all([u, Membership(user=u, organisation=orgs[i % 20])])
            users.append((u, orgs[i % 20]))
        s.flush()
        proc = lifecycle.create_procedure(s, admin, "50008", "Storm", rup=fac)
        now = utcnow()
        t = membership.create_tavolo(s, admin, proc, "Tavolo (storm)", ["E"], opens_at=now - timedelta(days=1),
                                     closes_at=now + timedelta(days=10))
        membership.set_role(s, admin, t, fac, "facilitator")
        for u, o in users:
            membership.set_role(s, admin, t, u, "delegate", o)
        s.commit()
        made = []
        for b in range(bisogni):
            made.append(needs.create_bisogno(s, users[b % 50][0], t, {
                "macroarea": "E", "title": f"Bisogno {b}: anziani soli nei quartieri periferici",
                "description": "Un paragrafo di descrizione del bisogno, con **qualche** parola. " * 3})[0])
        s.commit()
        for a in range(annotations):
            needs.add_annotation(s, users[a % 50][0], made[a % len(made)], "esperienza",
                                 f"Annotazione {a}: un'esperienza sul campo raccontata in due frasi. "
                                 "Il servizio di prossimità ha funzionato per chi ha una rete.")
            if a % 500 == 499:
                s.commit()
        seduta = tavoli.create_seduta(s, fac, t, now, "Sala", "mista", ["Apertura", "Bisogni"])
        s.flush()
        tavoli.start_seduta(s, fac, seduta)
        s.commit()
        meta = {"tavolo": t.id, "bisogno": made[0].id, "writer": cookie_id(s, fac),
                "people": [cookie_id(s, u) for u, _ in users]}
        s.commit()
    app.extensions["tavoli_db"]["engine"].dispose()
    (workdir / "world.json").write_text(json.dumps(meta))


def serve(workdir: Path, code: Path | None, port: int) -> subprocess.Popen:
    run = workdir / f"run-{port}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    shutil.copyfile(workdir / "world.db", run / "t.db")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{run / 't.db'}", "SECRET_KEY": SECRET,
           "TAVOLI_INSTANCE": str(run), "PORT": str(port), "HOST": "127.0.0.1", "TAVOLI_AMBITO": "50008"}
    env.pop("REDIS_URL", None)
    env["TAVOLI_PROFILE"] = os.environ.get("TAVOLI_PROFILE", "")
    if os.environ.get("STORM_MONITOR"):  # gevent reports in the log every greenlet that blocks the loop
        env.update(GEVENT_MONITOR_THREAD_ENABLE="1", GEVENT_MAX_BLOCKING_TIME="0.3")
    if code is not None:
        env["PYTHONPATH"] = str(code)
        cmd = [sys.executable, "-c", "import sys; from workspace.cli import main; sys.argv[0] = 'tavoli'; main()",
               "serve"]
    else:
        cmd = [str(Path(sys.executable).parent / "tavoli"), "serve"]
    server = subprocess.Popen(cmd, env=env, cwd=str(code or PROJECT), stdout=open(run / "log", "w"),
                              stderr=subprocess.STDOUT)
    import urllib.request

    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accedi", timeout=1)
            return server
        except Exception:  # noqa: BLE001
            time.sleep(0.1)
    raise SystemExit("server did not start: " + (run / "log").read_text()[-2000:])


CLIENTS = r"""
from gevent import monkey
monkey.patch_all()
import json, sys, time, uuid
import gevent
import socketio
spec = json.loads(sys.argv[1])
base, tavolo = spec["base"], spec["tavolo"]
joins, connects, errors, acks, refused = [], [], [], [], []
start = gevent.event.Event()
clients = []

def one(cookie, token):
    start.wait()
    t0 = time.monotonic()
    c = socketio.Client(reconnection=False)
    try:
        c.connect(base, headers={"Cookie": cookie}, auth={"csrf_token": token}, namespaces=["/live"],
                  transports=["websocket"], wait_timeout=60)
        t1 = time.monotonic()
        reply = c.call("join", {"tavolo_id": tavolo, "mode": "remoto"}, namespace="/live", timeout=120)
        t2 = time.monotonic()
        if not reply.get("ok"):
            errors.append(reply.get("error"))
        else:
            connects.append(t1 - t0); joins.append(t2 - t0)
            clients.append((c, len(json.dumps(reply))))
    except Exception as exc:
        errors.append(type(exc).__name__)

def writer(cookie, token, stop):
    c = socketio.Client(reconnection=False)
    c.connect(base, headers={"Cookie": cookie}, auth={"csrf_token": token}, namespaces=["/live"],
              transports=["websocket"], wait_timeout=30)
    c.call("join", {"tavolo_id": tavolo, "presence": False}, namespace="/live", timeout=120)
    n = 0
    def send(n):
        t0 = time.monotonic()
        try:
            ack = c.call("annotation.create", {"op_id": uuid.uuid4().hex, "tavolo_id": tavolo,
                         "bisogno_id": spec["bisogno"], "kind": "dato", "body": f"Scrittura {n}"},
                         namespace="/live", timeout=120)
            acks.append(time.monotonic() - t0)
            if not ack.get("ok"):
                refused.append(ack.get("error"))
        except Exception as exc:
            refused.append(type(exc).__name__)
    pending = []
    while not stop.is_set():
        pending.append(gevent.spawn(send, n)); n += 1
        gevent.sleep(1 / spec["rate"])
    gevent.joinall(pending, timeout=120)
    c.disconnect()

stop = gevent.event.Event()
w = gevent.spawn(writer, *spec["writer"], stop)
gevent.sleep(1.5)
jobs = [gevent.spawn(one, ck, tk) for ck, tk in spec["people"]]
gevent.sleep(0.5)
t0 = time.monotonic(); start.set()
gevent.joinall(jobs, timeout=300)
storm = time.monotonic() - t0
gevent.sleep(1.0)
stop.set(); w.join(timeout=150)
def pct(v, p):
    v = sorted(v); return round(1000 * v[min(len(v) - 1, int(p * len(v)))], 1) if v else None
print(json.dumps({"clients": len(spec["people"]), "joined": len(joins), "errors": errors[:5], "failed": len(errors),
                  "join_p50_ms": pct(joins, .5), "join_p99_ms": pct(joins, .99), "join_max_ms": pct(joins, 1),
                  "connect_p99_ms": pct(connects, .99), "storm_s": round(storm, 2),
                  "reply_bytes_max": max((b for _c, b in clients), default=None),
                  "writes": len(acks), "writer_ack_p50_ms": pct(acks, .5), "writer_ack_p99_ms": pct(acks, .99),
                  "writer_ack_max_ms": pct(acks, 1), "refused": len(refused), "refusals": refused[:5]}))
sys.stdout.flush()
import os
os._exit(0)  # closing 300 clients one by one can outlast the run: the server sees them go anyway
"""


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(workdir: Path, code: Path | None, clients: int, rate: float, port: int) -> dict:
    meta = json.loads((workdir / "world.json").read_text())
    server = serve(workdir, code, port)
    try:
        spec = {"base": f"http://127.0.0.1:{port}", "tavolo": meta["tavolo"], "bisogno": meta["bisogno"],
                "rate": rate, "writer": credentials(meta["writer"]),
                "people": [credentials(lid) for lid in meta["people"][:clients]]}
        import resource

        cpu0 = _cpu(server.pid)
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([sys.executable, "-c", CLIENTS, json.dumps(spec)], capture_output=True, text=True,
                             timeout=900)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["server_cpu_s"] = round(_cpu(server.pid) - cpu0, 1)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        result["client_cpu_s"] = round(kids.ru_utime + kids.ru_stime - kids0.ru_utime - kids0.ru_stime, 1)
        status = Path(f"/proc/{server.pid}/status").read_text()
        result["server_threads"] = int(next(line.split()[1] for line in status.splitlines()
                                            if line.startswith("Threads:")))
        return result
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["build", "run"])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--code", type=Path)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--bisogni", type=int, default=500)
    parser.add_argument("--annotations", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--port", type=int, default=5391)
    args = parser.parse_args()
    if args.what == "build":
        build(args.workdir, args.clients, args.bisogni, args.annotations)
    else:
        print(json.dumps(run(args.workdir, args.code, args.clients, args.rate, args.port)))
