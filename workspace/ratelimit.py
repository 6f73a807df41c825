"""Counting failures in fixed windows: login throttling (and mail-sending requests).

Passwords (:class:`LoginThrottle`): failures are counted per *pair* of e-mail address and client
IP, and past ``LOGIN_FREE_FAILURES`` each further failure makes that pair wait, 1, 2, 4, 8 ...
seconds up to ``LOGIN_MAX_DELAY_SECONDS``: someone guessing a delegate's password from one place
is slowed down exponentially, while the delegate, from any other address, is never held back (a
lock per e-mail address would let anyone lock a delegate out of a seduta). One IP trying many
addresses meets ``LOGIN_MAX_FAILURES_PER_IP`` per ``LOGIN_WINDOW_SECONDS``. A waiting attempt is
refused *before* the password is checked, so it costs no argon2 time; the login link by e-mail is
never held back by password failures (its requests have their own, separate counters).

Mail-sending requests (:class:`Limiter`): at most ``LOGIN_MAX_FAILURES`` requests per window for
one e-mail address and ``LOGIN_MAX_FAILURES_PER_IP`` for one IP.

Two backends: in memory (one process, thread-safe) and Redis (``INCR`` + ``EXPIRE``, shared by all
processes) when ``REDIS_URL`` is configured. If Redis stops answering, counting falls back to memory
in that process rather than locking everybody out.
"""
from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from flask import Flask, current_app

from workspace.i18n import gettext, ngettext

log = logging.getLogger(__name__)


class Backend(Protocol):
    def hit(self, key: str, window: int) -> int:
        """Count one event for ``key``; the window starts at the first event. Returns the count."""

    def status(self, key: str) -> tuple[int, int]:
        """(count, seconds until the window ends) for ``key``; (0, 0) when there is none."""

    def reset(self, key: str) -> None: ...


class BackendUnavailable(Exception):
    """The shared store (Redis) did not answer."""


class MemoryBackend:
    """Counters in a dict guarded by a lock; expired entries are purged once a minute."""

    PURGE_SECONDS = 60

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[str, tuple[int, float]] = {}  # key -> (count, expires_at)
        self._last_purge = clock()

    def _purge(self, now: float) -> None:
        for key in [k for k, (_c, exp) in self._counters.items() if exp <= now]:
            del self._counters[key]
        self._last_purge = now

    def hit(self, key: str, window: int) -> int:
        with self._lock:
            now = self._clock()
            count, expires = self._counters.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + window
            count += 1
            self._counters[key] = (count, expires)
            if now - self._last_purge > self.PURGE_SECONDS:
                self._purge(now)
            return count

    def status(self, key: str) -> tuple[int, int]:
        with self._lock:
            now = self._clock()
            count, expires = self._counters.get(key, (0, 0.0))
            if expires <= now:
                return 0, 0
            return count, max(1, math.ceil(expires - now))

    def reset(self, key: str) -> None:
        with self._lock:
            self._counters.pop(key, None)


class RedisBackend:
    """Counters in Redis: ``INCR`` and ``EXPIRE ... NX`` in one transaction, so the window starts
    at the first failure and a crash between the two commands cannot leave a counter that never
    expires."""

    def __init__(self, url: str, prefix: str = "tavoli:rl:"):
        import redis

        self._errors = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2,
                                           health_check_interval=30)
        self._prefix = prefix

    def _run(self, build: Callable) -> list:
        """Run the commands queued by ``build(pipe)`` as one MULTI/EXEC transaction."""
        try:
            pipe = self._redis.pipeline(transaction=True)
            build(pipe)
            return pipe.execute()
        except self._errors as exc:
            raise BackendUnavailable(str(exc)) from exc

    def hit(self, key: str, window: int) -> int:
        name = self._prefix + key
        count, _set = self._run(lambda p: p.incr(name).expire(name, window, nx=True))
        return int(count)

    def status(self, key: str) -> tuple[int, int]:
        name = self._prefix + key
        raw, ttl = self._run(lambda p: p.get(name).ttl(name))
        if raw is None:
            return 0, 0
        return int(raw), (int(ttl) if ttl and ttl > 0 else 1)

    def reset(self, key: str) -> None:
        name = self._prefix + key
        self._run(lambda p: p.delete(name))


class Throttled(Exception):
    """Too many failures; ``retry_after`` seconds until the window ends; ``message`` is Italian."""

    def __init__(self, retry_after: int, *, login: bool = False):
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        if login and retry_after < 60:
            self.message = ngettext(
                "Troppi tentativi non riusciti da questo dispositivo: attendi %(num)d secondo prima di "
                "riprovare.",
                "Troppi tentativi non riusciti da questo dispositivo: attendi %(num)d secondi prima di "
                "riprovare.",
                max(1, retry_after),
            )
        else:
            self.message = ngettext(
                "Troppi tentativi non riusciti. Per sicurezza l'accesso è sospeso: riprova fra circa "
                "%(num)d minuto.",
                "Troppi tentativi non riusciti. Per sicurezza l'accesso è sospeso: riprova fra circa "
                "%(num)d minuti.",
                minutes,
            )
        if login:
            self.message = f"{self.message} {gettext('Puoi entrare subito anche con un link via e-mail.')}"
        super().__init__(self.message)


class Limiter:
    """Fixed-window limits over several keys at once (e.g. the e-mail and the IP of a login)."""

    def __init__(self, backend: Backend, limit: int, window: int, *, ip_limit: int | None = None,
                 fallback: Backend | None = None):
        self.backend = backend
        self.limit = limit
        self.ip_limit = ip_limit or limit
        self.window = window
        self._fallback = fallback

    def _call(self, name: str, *args):
        try:
            return getattr(self.backend, name)(*args)
        except BackendUnavailable as exc:
            if self._fallback is None:
                raise
            log.warning("Limitatore: backend non disponibile (%s), uso la memoria locale", exc)
            return getattr(self._fallback, name)(*args)

    def _limit_for(self, key: str) -> int:
        # Keys made by ip_key() carry ":ip:"; e-mail keys are hex digests and cannot.
        return self.ip_limit if ":ip:" in key else self.limit

    def check(self, keys: Iterable[str]) -> None:
        """Raise Throttled if any key already reached its limit."""
        retry = 0
        for key in keys:
            count, ttl = self._call("status", key)
            if count >= self._limit_for(key):
                retry = max(retry, ttl)
        if retry:
            raise Throttled(retry)

    def hit(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._call("hit", key, self.window)

    def reset(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._call("reset", key)

    def take(self, key: str) -> int:
        """Count one event for ``key``: 0 while within the limit, else the seconds until the window
        ends (the event is counted anyway, so hammering does not shorten the wait)."""
        count = self._call("hit", key, self.window)
        if count <= self._limit_for(key):
            return 0
        _count, ttl = self._call("status", key)
        return max(1, ttl)


class LoginThrottle(Limiter):
    """Password failures per (e-mail, IP) pair with increasing delays, and a ceiling per IP; also a
    :class:`Limiter` (``check``/``hit``) for the mail-sending requests."""

    def __init__(self, backend: Backend, limit: int, window: int, *, ip_limit: int | None = None,
                 fallback: Backend | None = None, free: int = 3, max_delay: int = 900,
                 pair_window: int = 86400):
        super().__init__(backend, limit, window, ip_limit=ip_limit, fallback=fallback)
        self.free = free
        self.max_delay = max_delay
        self.pair_window = pair_window

    def delay(self, failures: int) -> int:
        """Seconds the pair waits after its ``failures``-th failure."""
        if failures < self.free:
            return 0
        return int(min(2 ** (failures - self.free), self.max_delay))

    @staticmethod
    def _pair(scope: str, email: str, ip: str | None) -> tuple[str, str]:
        digest = hashlib.sha256(f"{email.strip().lower()}|{ip or 'sconosciuto'}".encode()).hexdigest()[:32]
        return f"{scope}:pair:{digest}", f"{scope}:wait:{digest}"

    def check_login(self, email: str, ip: str | None, scope: str = "login") -> None:
        """Raise Throttled while this pair must wait, or when the IP reached its ceiling."""
        retry = 0
        count, ttl = self._call("status", ip_key(scope, ip))
        if count >= self.ip_limit:
            retry = ttl
        _pair, wait = self._pair(scope, email, ip)
        waiting, wait_ttl = self._call("status", wait)
        if waiting:
            retry = max(retry, wait_ttl)
        if retry:
            raise Throttled(retry, login=True)

    def failed_login(self, email: str, ip: str | None, scope: str = "login") -> int:
        """Count a failure; returns the seconds the pair must now wait."""
        pair, wait = self._pair(scope, email, ip)
        failures = self._call("hit", pair, self.pair_window)
        self._call("hit", ip_key(scope, ip), self.window)
        delay = self.delay(failures)
        if delay:
            self._call("reset", wait)
            self._call("hit", wait, delay)
        return delay

    def succeeded_login(self, email: str, ip: str | None, scope: str = "login") -> None:
        """The pair proved the password: its count starts again (the IP's keeps running)."""
        for key in self._pair(scope, email, ip):
            self._call("reset", key)


def email_key(scope: str, email: str) -> str:
    """Key for an e-mail address; hashed so Redis never holds the addresses themselves."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"{scope}:email:{digest}"


def ip_key(scope: str, ip: str | None) -> str:
    return f"{scope}:ip:{ip or 'sconosciuto'}"


def build_limiter(app: Flask) -> LoginThrottle:
    cfg = app.config
    url = cfg.get("RATELIMIT_REDIS_URL") or cfg.get("REDIS_URL")
    memory = MemoryBackend()
    backend: Backend = RedisBackend(url) if url else memory
    return LoginThrottle(
        backend,
        limit=int(cfg["LOGIN_MAX_FAILURES"]),
        window=int(cfg["LOGIN_WINDOW_SECONDS"]),
        ip_limit=int(cfg.get("LOGIN_MAX_FAILURES_PER_IP") or cfg["LOGIN_MAX_FAILURES"]),
        fallback=memory if url else None,
        free=int(cfg.get("LOGIN_FREE_FAILURES", 3)),
        max_delay=int(cfg.get("LOGIN_MAX_DELAY_SECONDS", 900)),
        pair_window=int(cfg.get("LOGIN_PAIR_WINDOW_SECONDS", 86400)),
    )


def build_write_limiter(app: Flask) -> Limiter:
    """Operations on the live channel per person: ``LIVE_WRITES_MAX`` per ``LIVE_WRITES_WINDOW_SECONDS``,
    counted in Redis (shared by every process) when configured, else in this process's memory."""
    cfg = app.config
    url = cfg.get("RATELIMIT_REDIS_URL") or cfg.get("REDIS_URL")
    memory = MemoryBackend()
    return Limiter(RedisBackend(url) if url else memory, limit=int(cfg.get("LIVE_WRITES_MAX") or 150),
                   window=int(cfg.get("LIVE_WRITES_WINDOW_SECONDS") or 10), fallback=memory if url else None)


def get_write_limiter(app: Flask) -> Limiter:
    limiter = app.extensions.get("tavoli_write_limit")
    if limiter is None:
        with _build_lock:
            limiter = app.extensions.get("tavoli_write_limit")
            if limiter is None:
                limiter = app.extensions["tavoli_write_limit"] = build_write_limiter(app)
    return limiter


_build_lock = threading.Lock()


def get_limiter(app: Flask | None = None) -> LoginThrottle:
    """The application's limiter, built on first use (once, even with concurrent first requests)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    limiter = app.extensions.get("tavoli_ratelimit")
    if limiter is None:
        with _build_lock:
            limiter = app.extensions.get("tavoli_ratelimit")
            if limiter is None:
                limiter = app.extensions["tavoli_ratelimit"] = build_limiter(app)
    return limiter

