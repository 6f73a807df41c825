"""The documented scaled deployment (`make scaled N=2`: deploy/scaled.py — two gunicorn processes on
PostgreSQL and Redis behind the sticky proxy, started with the same options) holds 300 clients of one
tavolo: all connect and join through the proxy, spread over both processes, and every one receives
every event. Clients are the protocol-only ones of bench/liveclient.py."""
from __future__ import annotations

import asyncio
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import REDIS_TEST_URL, service_missing

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(600)]
CLIENTS = 300


@pytest.fixture
def cluster(tmp_path):
    from bench import plenary
    from deploy.scaled import Cluster

    try:
        url, name = plenary.pg_database()
    except Exception as exc:  # noqa: BLE001
        service_missing("PostgreSQL", exc)
    started = None
    try:
        secret = secrets.token_hex(32)
        world = plenary.build_world(url, tmp_path, secret, CLIENTS)
        started = Cluster(2, url, REDIS_TEST_URL, tmp_path / "cluster", secret=secret,
                          env={"TAVOLI_SOCKETIO_CHANNEL": f"test-{secrets.token_hex(4)}"}).start()
        yield started, world, secret
    finally:
        if started is not None:
            started.stop()
        plenary.drop_pg(name)


def established(port: int) -> int:
    """TCP connections established to ``port`` on this machine (from /proc/net/tcp)."""
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].split(":")[1], 16) == port:
                count += 1
    return count


async def _run(base: str, specs: list, ports: list[int]) -> tuple[list, dict, list, list[int]]:
    from bench.liveclient import LiveClient, http_session

    sessions = {addr: http_session(addr) for addr in {spec[-1] for spec in specs}}
    received: dict[int, list[int]] = {i: [] for i, *_ in specs}
    clients = []
    try:
        gate = asyncio.Semaphore(50)

        async def one(index, cookie, token, tavolo_id, addr):
            async with gate:
                client = LiveClient(sessions[addr], base, cookie, token,
                                    lambda e, _t, i=index: received[i].append(e["seq"]))
                await client.connect()
                ack = await client.call("join", {"tavolo_id": tavolo_id}, timeout=60)
                assert ack.get("ok"), ack
                clients.append(client)

        await asyncio.gather(*(one(*s) for s in specs))
        per_process = [established(p) for p in ports]
        writer = clients[0]
        acks = []
        for n in range(3):
            acks.append(await writer.call("bisogno.create", {
                "op_id": f"scaled-test-{n}-{secrets.token_hex(4)}", "tavolo_id": specs[0][3], "macroarea": "E",
                "title": f"Bisogno {n} della plenaria"}, timeout=30))
        deadline = time.monotonic() + 20
        wanted = {a["seq"] for a in acks if a.get("ok")}
        while time.monotonic() < deadline and not all(wanted <= set(r) for r in received.values()):
            await asyncio.sleep(0.2)
        return acks, received, clients, per_process
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        for s in sessions.values():
            await s.close()


def test_scaled_command_holds_300_clients(cluster):
    from bench.plenary import specs_for

    started, world, secret = cluster
    specs = specs_for(world, secret, CLIENTS, world.tavoli)
    # In a thread of its own: the browser tests' driver may have left an event loop set on this one.
    with ThreadPoolExecutor(1) as pool:
        acks, received, clients, per_process = pool.submit(
            asyncio.run, _run(started.base, specs, started.backend_ports)).result()
    assert len(clients) == CLIENTS
    assert all(a.get("ok") for a in acks), acks
    wanted = {a["seq"] for a in acks}
    missing = [i for i, seqs in received.items() if not wanted <= set(seqs)]
    assert missing == [], f"{len(missing)} clients did not receive every event"
    # both processes held clients (the proxy spreads client addresses), and both are still up
    assert sum(per_process) >= CLIENTS and min(per_process) >= CLIENTS // 4, per_process
    logs = [started.log_path(i).read_text(errors="replace") for i in range(2)]
    for i, proc in enumerate(started.servers):
        assert proc is not None and proc.poll() is None, logs[i][-2000:]
