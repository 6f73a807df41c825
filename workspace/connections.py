"""Who has a live connection open on which tavolo, across every server process.

Automatic presence ends when a person's *last* connection to a tavolo goes away (§9 of
docs/live-protocol.md). One process knows its own connections; with several processes (the scaled
deployment, ``REDIS_URL`` set) they are also registered in Redis, so a person with one tab on each of
two processes stays present until both are closed:

- ``tavoli:conn:<tavolo>:<user>`` — a hash, connection id (sid) -> the process holding it;
- ``tavoli:proc:<process>`` — the process's heartbeat, refreshed every ``HEARTBEAT`` seconds and
  expiring after ``TTL``: the connections of a process that died (``kill -9``) stop counting once its
  heartbeat expires, and are swept when next counted.

If Redis does not answer, counting falls back to this process's own connections (the behaviour of a
single process) rather than failing the join or the disconnect.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

HEARTBEAT = 10
TTL = 30
KEY_TTL = 2 * 24 * 3600  # a connection entry outlives no seduta by much


class Registry:
    """Connections per (tavolo, person) in Redis, shared by the processes."""

    def __init__(self, url: str, prefix: str = "tavoli:"):
        import redis

        self._errors = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2,
                                           health_check_interval=30)
        self.prefix = prefix
        self.process = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._beat_lock = threading.Lock()
        self._last_beat = 0.0

    def _key(self, tavolo_id: int, user_id: int) -> str:
        return f"{self.prefix}conn:{tavolo_id}:{user_id}"

    def _proc_key(self, process: str) -> str:
        return f"{self.prefix}proc:{process}"

    def heartbeat(self) -> bool:
        """Say this process is alive; False if Redis did not answer."""
        try:
            self._redis.set(self._proc_key(self.process), "1", ex=TTL)
        except self._errors as exc:
            log.warning("Registro connessioni: Redis non risponde (%s)", exc)
            return False
        self._last_beat = time.monotonic()
        return True

    def _beat_if_due(self) -> None:
        if time.monotonic() - self._last_beat > HEARTBEAT:
            with self._beat_lock:
                if time.monotonic() - self._last_beat > HEARTBEAT:
                    self.heartbeat()

    def add(self, tavolo_id: int, user_id: int, sid: str) -> None:
        self._beat_if_due()
        key = self._key(tavolo_id, user_id)
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hset(key, sid, self.process)
            pipe.expire(key, KEY_TTL)
            pipe.execute()
        except self._errors as exc:
            log.warning("Registro connessioni: Redis non risponde (%s)", exc)

    def remove(self, tavolo_id: int, user_id: int, sid: str) -> None:
        try:
            self._redis.hdel(self._key(tavolo_id, user_id), sid)
        except self._errors as exc:
            log.warning("Registro connessioni: Redis non risponde (%s)", exc)

    def count(self, tavolo_id: int, user_id: int) -> int | None:
        """Open connections of the person on the tavolo in every live process; None if Redis is down."""
        key = self._key(tavolo_id, user_id)
        try:
            entries: dict[Any, Any] = self._redis.hgetall(key)
            if not entries:
                return 0
            processes = sorted({p.decode() if isinstance(p, bytes) else p for p in entries.values()})
            alive_flags = self._redis.mget([self._proc_key(p) for p in processes])
            alive = {p for p, flag in zip(processes, alive_flags, strict=True) if flag is not None}
            alive.add(self.process)
            dead = [sid for sid, p in entries.items() if (p.decode() if isinstance(p, bytes) else p) not in alive]
            if dead:
                self._redis.hdel(key, *dead)
            return len(entries) - len(dead)
        except self._errors as exc:
            log.warning("Registro connessioni: Redis non risponde (%s)", exc)
            return None

    def forget_process(self) -> None:
        """On a clean shutdown: this process's connections stop counting at once."""
        try:
            self._redis.delete(self._proc_key(self.process))
        except self._errors:
            pass


def heartbeat_forever(registry: Registry, sleep) -> None:
    """Background task of a server process: keep the heartbeat fresh (``sleep`` is the server's)."""
    while True:
        registry.heartbeat()
        sleep(HEARTBEAT)
