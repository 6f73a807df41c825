"""The scaled deployment on one machine, for trying it: N gunicorn processes on PostgreSQL and the
Redis message queue, behind a sticky proxy. ``make scaled N=2`` runs ``python -m deploy.scaled``.

- ``DATABASE_URL`` must be PostgreSQL (default ``postgresql+psycopg://postgres@127.0.0.1:5432/tavoli``,
  created if missing), ``REDIS_URL`` defaults to ``redis://127.0.0.1:6379/0``;
- each process is ``gunicorn -w 1 -k gevent --worker-connections 2000 workspace.wsgi:app`` on
  ``PORT+1 … PORT+N`` (``TAVOLI_GUNICORN_WORKER=gthread`` for the threading mode, with one thread per
  client it must hold, ``TAVOLI_CLIENTS_PER_PROCESS``);
- in front, on ``PORT`` (8000): ``deploy/sticky_proxy.py`` (sticky by client address). nginx is
  not started by this command even when installed: for production use ``deploy/nginx.conf``.

The same :class:`Cluster` is used by the benchmarks (``bench/plenary.py``), the scaled tests and the
fault scenarios (``bench/faults.py``).
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/tavoli"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_args(clients_per_process: int) -> list[str]:
    """gunicorn's worker options: the gevent worker (the server mode the product ships, see
    workspace/serving.py); ``TAVOLI_GUNICORN_WORKER=gthread`` for the threading mode, where each
    WebSocket holds a thread and the thread pool is the client limit."""
    if os.environ.get("TAVOLI_GUNICORN_WORKER") == "gthread":
        return ["-k", "gthread", "--threads", str(clients_per_process + 50)]
    return ["-k", "gevent", "--worker-connections", str(max(2000, clients_per_process + 100))]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"il processo è uscito (codice {proc.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} non risponde dopo {timeout:.0f} s")


class Cluster:
    """N server processes and the proxy; ``stop()`` ends every process it started."""

    def __init__(self, processes: int, database_url: str, redis_url: str, workdir: Path, *,
                 secret: str | None = None, port: int | None = None, clients_per_process: int = 1000,
                 env: dict[str, str] | None = None):
        self.n = processes
        self.database_url, self.redis_url = database_url, redis_url
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.secret = secret or secrets.token_hex(32)
        self.port = port or free_port()
        self.backend_ports = [free_port() for _ in range(processes)] if port is None else \
            [self.port + 1 + i for i in range(processes)]
        self.base = f"http://127.0.0.1:{self.port}"
        self.clients_per_process = clients_per_process
        self.extra_env = env or {}
        self.servers: list[subprocess.Popen | None] = [None] * processes
        self.proxy: subprocess.Popen | None = None
        self._logs: list = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
        env.update({"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url, "SECRET_KEY": self.secret,
                    "TAVOLI_INSTANCE": str(self.workdir), "BASE_URL": self.base, "PYTHONUNBUFFERED": "1"})
        # N processes share PostgreSQL's connections (100 by default, some kept for the CLI, cron and
        # the administrator): at most 70 for the servers together, 10 of them pooled per process.
        per_process = max(10, 70 // self.n)
        env.setdefault("TAVOLI_DB_POOL_SIZE", str(min(10, per_process)))
        env.setdefault("TAVOLI_DB_MAX_OVERFLOW", str(per_process - min(10, per_process)))
        env.update(self.extra_env)
        return env

    def log_path(self, i: int) -> Path:
        return self.workdir / f"server-{i}.log"

    def start_server(self, i: int) -> None:
        log = open(self.log_path(i), "ab")  # noqa: SIM115 — closed in stop()
        self._logs.append(log)
        cmd = [sys.executable, "-m", "gunicorn", "-w", "1", *worker_args(self.clients_per_process),
               "-b", f"127.0.0.1:{self.backend_ports[i]}", "--backlog", "2048", "--timeout", "120",
               "--graceful-timeout", "5", "workspace.wsgi:app"]
        self.servers[i] = subprocess.Popen(cmd, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)

    def start(self, timeout: float = 90.0) -> Cluster:
        for i in range(self.n):
            self.start_server(i)
        log = open(self.workdir / "proxy.log", "ab")  # noqa: SIM115
        self._logs.append(log)
        self.proxy = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "sticky_proxy.py"), "--listen", f"127.0.0.1:{self.port}",
             *[a for p in self.backend_ports for a in ("--backend", f"127.0.0.1:{p}")]],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for i in range(self.n):
            self.wait_server(i, timeout)
        wait_http(self.base + "/", timeout, self.proxy)
        return self

    def wait_server(self, i: int, timeout: float = 90.0) -> None:
        wait_http(f"http://127.0.0.1:{self.backend_ports[i]}/", timeout, self.servers[i], self.log_path(i))

    def pids(self, i: int) -> list[int]:
        """The gunicorn arbiter and its worker (the worker holds the clients)."""
        proc = self.servers[i]
        if proc is None:
            return []
        out = [proc.pid]
        try:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            out += [int(c) for c in children]
        except OSError:
            pass
        return out

    def kill(self, i: int) -> None:
        """``kill -9`` the process group of server ``i`` (arbiter and worker)."""
        proc = self.servers[i]
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in [*self.servers, self.proxy]:
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
                except ProcessLookupError:
                    pass
        for log in self._logs:
            log.close()
        self._logs.clear()


def prepare(database_url: str, demo: bool = True) -> None:
    """Create the PostgreSQL database if missing, migrate it, load the reference (and demo) data."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise SystemExit("La modalità scalata richiede PostgreSQL (DATABASE_URL=postgresql+psycopg://...).")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    env = {**os.environ, "DATABASE_URL": database_url}
    tavoli = [sys.executable, "-m", "workspace.cli"]
    subprocess.run([*tavoli, "db", "upgrade"], cwd=ROOT, env=env, check=True)
    subprocess.run([*tavoli, "reference", "load"], cwd=ROOT, env=env, check=True)
    if demo:
        subprocess.run([*tavoli, "demo", "load", "--if-empty"], cwd=ROOT, env=env, check=True)


def _instance_secret(workdir: Path) -> str:
    """One key for every process (a session must be valid on all of them), kept across restarts."""
    path = workdir / "secret_key"
    workdir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.scaled", description=__doc__.splitlines()[0])
    parser.add_argument("--processes", "-n", type=int, default=int(os.environ.get("N", "2")))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--clients-per-process", type=int,
                        default=int(os.environ.get("TAVOLI_CLIENTS_PER_PROCESS", "1000")))
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    prepare(database_url)
    workdir = Path(os.environ.get("TAVOLI_INSTANCE", ROOT / "instance")) / "scaled"
    secret = os.environ.get("SECRET_KEY") or _instance_secret(workdir)
    cluster = Cluster(args.processes, database_url, redis_url, workdir, secret=secret, port=args.port,
                      clients_per_process=args.clients_per_process)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        cluster.start()
        print(f"\n  Tavoli (scalata, {args.processes} processi) è pronto: {cluster.base}/   "
              f"log in {workdir}/   Ctrl-C per fermare\n", flush=True)
        while not stop:
            for i, proc in enumerate(cluster.servers):
                if proc is not None and proc.poll() is not None:
                    print(f"  il processo {i + 1} è uscito (codice {proc.returncode}): lo riavvio", flush=True)
                    cluster.start_server(i)
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
