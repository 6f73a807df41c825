"""The registry of live connections across processes (workspace/connections.py), on the real Redis:
counts every live process's connections, forgets a dead process's, and falls back when Redis is down."""
from __future__ import annotations

import pytest

from workspace.connections import Registry

pytestmark = pytest.mark.redis


def test_counts_connections_of_every_live_process(redis_url):
    a, b = Registry(redis_url), Registry(redis_url)
    assert a.heartbeat() and b.heartbeat()
    a.add(5, 9, "sid-a")
    b.add(5, 9, "sid-b")
    b.add(6, 9, "sid-b")  # another tavolo: counted apart
    assert a.count(5, 9) == b.count(5, 9) == 2
    a.remove(5, 9, "sid-a")
    assert b.count(5, 9) == 1 and a.count(6, 9) == 1
    b.remove(5, 9, "sid-b")
    assert a.count(5, 9) == 0


def test_a_dead_process_stops_counting(redis_url):
    alive, dead = Registry(redis_url), Registry(redis_url)
    alive.heartbeat()
    dead.heartbeat()
    dead.add(5, 9, "sid-dead")
    alive.add(5, 9, "sid-alive")
    assert alive.count(5, 9) == 2
    dead.forget_process()  # as if its heartbeat had expired (kill -9 + 30 s)
    assert alive.count(5, 9) == 1
    assert alive.count(5, 9) == 1  # and its entry was swept


def test_redis_down_gives_none_so_the_process_counts_its_own():
    registry = Registry("redis://127.0.0.1:1/0")
    registry.add(5, 9, "sid")  # logged, not raised
    registry.remove(5, 9, "sid")
    assert registry.count(5, 9) is None
    assert registry.heartbeat() is False
