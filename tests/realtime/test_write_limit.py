"""Operations per person on the live channel are limited (LIVE_WRITES_MAX per window): past the limit
they are refused with ``too_many``, an Italian message and ``retry_after``, and nothing is written.
With Redis the count is shared by every server process."""
from __future__ import annotations

import pytest

from tests.realtime.support import footprint, join, op
from workspace.ratelimit import Limiter, MemoryBackend, RedisBackend


@pytest.fixture
def limited(app):
    """The app with a limit of 3 operations per person per minute (restored afterwards)."""
    saved = {k: app.config.get(k) for k in ("LIVE_WRITES_MAX", "LIVE_WRITES_WINDOW_SECONDS")}
    app.config.update(LIVE_WRITES_MAX=3, LIVE_WRITES_WINDOW_SECONDS=60)
    app.extensions.pop("tavoli_write_limit", None)
    yield app
    app.config.update(saved)
    app.extensions.pop("tavoli_write_limit", None)


def test_operations_past_the_limit_are_refused_and_write_nothing(limited, world, connect):
    client = connect(world.delegate)
    join(client, world.tavolo.id)
    for i in range(3):
        ack = op(client, "bisogno.create", world.tavolo.id, macroarea="E", title=f"Bisogno {i}")
        assert ack.get("ok"), ack
    before = footprint(limited, world.tavolo.id)
    ack = op(client, "bisogno.create", world.tavolo.id, macroarea="E", title="Uno di troppo")
    assert ack["error"] == "too_many"
    assert ack["message"].startswith("Troppe operazioni in poco tempo: riprova fra ")
    assert 1 <= ack["retry_after"] <= 60
    assert footprint(limited, world.tavolo.id) == before
    # another person is not affected
    other = connect(world.delegate2)
    join(other, world.tavolo.id)
    assert op(other, "bisogno.create", world.tavolo.id, macroarea="E", title="Il mio")["ok"]


def test_take_counts_per_key_in_memory():
    limiter = Limiter(MemoryBackend(), limit=2, window=30)
    assert [limiter.take("live:user:1") for _ in range(2)] == [0, 0]
    assert 1 <= limiter.take("live:user:1") <= 30
    assert limiter.take("live:user:2") == 0


@pytest.mark.redis
def test_take_is_shared_through_redis_by_two_processes(redis_url):
    """Two limiters on one Redis (two server processes) share one count per person."""
    first = Limiter(RedisBackend(redis_url), limit=3, window=30)
    second = Limiter(RedisBackend(redis_url), limit=3, window=30)
    assert [first.take("live:user:7"), second.take("live:user:7"), first.take("live:user:7")] == [0, 0, 0]
    assert 1 <= second.take("live:user:7") <= 30
    assert first.take("live:user:8") == 0
