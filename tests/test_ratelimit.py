"""The limiter's backends: memory (with a fake clock) and the real Redis."""
from __future__ import annotations

import threading

import pytest

from workspace.ratelimit import Limiter, MemoryBackend, RedisBackend, Throttled, email_key, ip_key


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_memory_window_starts_at_first_failure_and_expires():
    clock = Clock()
    limiter = Limiter(MemoryBackend(clock), limit=3, window=60)
    keys = [email_key("login", "A@Example.it"), ip_key("login", "10.0.0.1")]
    for _ in range(2):
        limiter.hit(keys)
        limiter.check(keys)
    clock.now += 30
    limiter.hit(keys)
    with pytest.raises(Throttled) as info:
        limiter.check(keys)
    assert info.value.retry_after == 30
    assert "riprova fra circa 1 minuto" in info.value.message
    clock.now += 31
    limiter.check(keys)  # the window is over


def test_email_keys_are_hashed_and_case_insensitive():
    assert email_key("login", "A@Example.it") == email_key("login", " a@example.it ")
    assert "example" not in email_key("login", "a@example.it")


def test_ip_limit_can_differ():
    limiter = Limiter(MemoryBackend(), limit=2, window=60, ip_limit=5)
    ip = [ip_key("login", "10.0.0.9")]
    for _ in range(4):
        limiter.hit(ip)
    limiter.check(ip)
    limiter.hit(ip)
    with pytest.raises(Throttled):
        limiter.check(ip)


def test_memory_backend_is_thread_safe():
    backend = MemoryBackend()
    threads = [threading.Thread(target=lambda: [backend.hit("k", 60) for _ in range(500)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert backend.status("k")[0] == 4000


def test_redis_backend(redis_url):
    import redis

    backend = RedisBackend(redis_url)
    assert backend.status("login:ip:1.2.3.4") == (0, 0)
    assert [backend.hit("login:ip:1.2.3.4", 120) for _ in range(3)] == [1, 2, 3]
    count, ttl = backend.status("login:ip:1.2.3.4")
    assert count == 3 and 115 <= ttl <= 120
    raw = redis.Redis.from_url(redis_url)
    assert 0 < raw.ttl("tavoli:rl:login:ip:1.2.3.4") <= 120  # no counter lives for ever
    # Another process (another backend object) sees the same counter.
    other = Limiter(RedisBackend(redis_url), limit=3, window=120)
    with pytest.raises(Throttled):
        other.check(["login:ip:1.2.3.4"])
    backend.reset("login:ip:1.2.3.4")
    other.check(["login:ip:1.2.3.4"])


def test_redis_window_does_not_slide(redis_url):
    """Later hits do not push the expiry forward (EXPIRE NX)."""
    import redis

    backend = RedisBackend(redis_url)
    backend.hit("k", 100)
    raw = redis.Redis.from_url(redis_url)
    raw.expire("tavoli:rl:k", 5)  # pretend most of the window has passed
    backend.hit("k", 100)
    assert raw.ttl("tavoli:rl:k") <= 5


def test_unreachable_redis_falls_back_to_memory():
    limiter = Limiter(RedisBackend("redis://127.0.0.1:1/0"), limit=1, window=60, fallback=MemoryBackend())
    limiter.hit(["x"])
    with pytest.raises(Throttled):
        limiter.check(["x"])
