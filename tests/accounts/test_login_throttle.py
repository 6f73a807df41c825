"""Login throttling that slows an attacker without locking the owner out (issue #12, fault 7):
wrong passwords are counted per (address, IP) pair with increasing waits; the owner from another
address is never held back; the login link by e-mail always works; unknown addresses cost the same
argon2 check as known ones."""
from __future__ import annotations

import re

import pytest

from tests.helpers import DEFAULT_PASSWORD, csrf_token_from, last_mail, mail_text
from workspace.accounts import service
from workspace.ratelimit import LoginThrottle, MemoryBackend, RedisBackend, get_limiter

ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def maria(person):
    return person("maria@example.it").email


@pytest.fixture
def clock(app):
    """The app's throttle on a memory backend whose time the test moves."""
    tick = Clock()
    limiter = get_limiter(app)
    app.extensions["tavoli_ratelimit"] = LoginThrottle(
        MemoryBackend(tick), limiter.limit, limiter.window, ip_limit=limiter.ip_limit, free=limiter.free,
        max_delay=limiter.max_delay, pair_window=limiter.pair_window)
    return tick


def _client(app, ip: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _login(client, email: str, password: str):
    page = client.get("/accedi")
    return client.post("/accedi", data={"csrf_token": csrf_token_from(page.get_data(as_text=True)),
                                        "email": email, "password": password})


class CountingHasher:
    """The service's hasher, counting its argon2 verifications."""

    def __init__(self, inner, calls: list) -> None:
        self._inner, self._calls = inner, calls

    def verify(self, password_hash, password):
        self._calls.append(password_hash)
        return self._inner.verify(password_hash, password)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _count_verifications(monkeypatch) -> list[str | None]:
    calls: list[str | None] = []
    monkeypatch.setattr(service, "_hasher", CountingHasher(service._hasher, calls))
    return calls


def test_an_attacker_cannot_lock_the_owner_out(app, maria, clock):
    attacker, owner = _client(app, ATTACKER), _client(app, OWNER)
    for _ in range(12):
        response = _login(attacker, maria, "password-sbagliata")
        assert response.status_code in (401, 429)
        clock.now += 3600  # the attacker waits out every delay: still only one guess per wait
    # The owner, from their own address, logs in at once: no lock per e-mail address.
    assert _login(owner, maria, DEFAULT_PASSWORD).status_code == 302
    assert owner.get("/profilo").status_code == 200


def test_waits_grow_for_the_pair_and_stop_at_the_maximum(app, maria, clock, monkeypatch):
    attacker = _client(app, ATTACKER)
    limiter = get_limiter(app)
    waits = []
    for _ in range(limiter.free + 12):
        response = _login(attacker, maria, "password-sbagliata")
        assert response.status_code == 401
        refused = _login(attacker, maria, "password-sbagliata")
        if refused.status_code == 429:
            waits.append(int(refused.headers["Retry-After"]))
            assert "Troppi tentativi" in refused.get_data(as_text=True)
        clock.now += 2 * limiter.max_delay
    assert waits[:4] == [1, 2, 4, 8]
    assert waits == sorted(waits) and waits[-1] == limiter.max_delay
    # While waiting, even the right password is not checked (no argon2 time for the attacker).
    _login(attacker, maria, "password-sbagliata")
    calls = _count_verifications(monkeypatch)
    blocked = _login(attacker, maria, DEFAULT_PASSWORD)
    assert blocked.status_code == 429 and calls == []


def test_the_owner_behind_the_same_ip_waits_seconds_not_minutes(app, maria, clock):
    """An office behind one NAT: after five wrong guesses (the issue's scenario) the owner waits
    a few seconds, then the right password works."""
    office = _client(app, ATTACKER)
    for _ in range(5):
        assert _login(office, maria, "password-sbagliata").status_code in (401, 429)
        clock.now += 1
    response = _login(office, maria, DEFAULT_PASSWORD)
    if response.status_code == 429:
        retry = int(response.headers["Retry-After"])
        assert retry <= 8
        assert "secondi" in response.get_data(as_text=True) and "link via e-mail" in response.get_data(as_text=True)
        clock.now += retry
        response = _login(office, maria, DEFAULT_PASSWORD)
    assert response.status_code == 302


def test_success_starts_the_pair_count_again(app, maria, clock):
    office = _client(app, OWNER)
    free = get_limiter(app).free
    for _ in range(free - 1):
        assert _login(office, maria, "password-sbagliata").status_code == 401
    assert _login(office, maria, DEFAULT_PASSWORD).status_code == 302
    office.post("/esci", data={"csrf_token": csrf_token_from(office.get("/").get_data(as_text=True))})
    for _ in range(free - 1):
        assert _login(office, maria, "password-sbagliata").status_code == 401
    assert _login(office, maria, DEFAULT_PASSWORD).status_code == 302


def test_one_ip_trying_many_addresses_meets_its_ceiling(app, clock):
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 4
    app.extensions.pop("tavoli_ratelimit")
    sprayer = _client(app, ATTACKER)
    statuses = [_login(sprayer, f"persona{n}@example.it", "password-sbagliata").status_code for n in range(6)]
    assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429]


def test_the_login_link_always_works_after_password_failures(app, maria, clock):
    attacker = _client(app, ATTACKER)
    for _ in range(10):
        _login(attacker, maria, "password-sbagliata")
    assert _login(attacker, maria, DEFAULT_PASSWORD).status_code == 429  # this pair waits
    page = attacker.get("/accesso-con-link")
    sent = attacker.post("/accesso-con-link", data={"csrf_token": csrf_token_from(page.get_data(as_text=True)),
                                                    "email": maria})
    assert sent.status_code == 200
    link = re.search(r"https?://\S+/accesso/\S+", mail_text(last_mail(app, maria))).group(0)
    path = "/" + link.split("/", 3)[3]
    confirm = attacker.get(path)
    assert confirm.status_code == 200
    done = attacker.post(path, data={"csrf_token": csrf_token_from(confirm.get_data(as_text=True))})
    assert done.status_code == 302 and attacker.get("/profilo").status_code == 200


def test_unknown_addresses_run_the_same_password_hash(app, maria, monkeypatch, person):
    """Timing: every kind of address costs one argon2 verification (measured: bench, not here)."""
    person("senza.password@example.it", password=None)
    client = _client(app, OWNER)
    cases = {
        "known, wrong password": maria,
        "unknown address": "nessuno@example.it",
        "malformed address": "non-un-indirizzo",
        "account without password": "senza.password@example.it",
    }
    for label, email in cases.items():
        calls = _count_verifications(monkeypatch)
        assert _login(client, email, "password-sbagliata").status_code == 401, label
        assert len(calls) == 1, f"{label}: {len(calls)} verifiche argon2"
        monkeypatch.setattr(service, "_hasher", service._hasher._inner)


def test_pair_counters_live_in_redis_and_expire(app, maria, redis_url):
    app.config["REDIS_URL"] = redis_url
    app.extensions.pop("tavoli_ratelimit", None)
    with app.app_context():
        assert isinstance(get_limiter().backend, RedisBackend)
    attacker = _client(app, ATTACKER)
    for _ in range(get_limiter(app).free):
        _login(attacker, maria, "password-sbagliata")
    import redis

    store = redis.Redis.from_url(redis_url)
    keys = {k.decode().split(":")[3] for k in store.keys("tavoli:rl:login:*")}
    assert keys == {"pair", "wait", "ip"}
    assert all(store.ttl(k) > 0 for k in store.keys("tavoli:rl:login:*"))
    assert not [k for k in store.keys("tavoli:rl:login:*") if b"maria" in k]  # addresses are hashed
