"""The server mode: gevent, in both deployments.

``tavoli serve`` (embedded) and gunicorn's gevent worker (scaled) run Tavoli in a process whose
standard library gevent has monkey-patched before anything else was imported (``workspace.entry``
for the command; gunicorn's worker patches before loading ``workspace.wsgi``). Sockets, locks,
``threading.local`` and sleeps become cooperative: one OS thread serves thousands of connections,
Flask-SocketIO runs in ``gevent`` mode with WebSocket from simple-websocket (gevent-websocket is
unmaintained; python-engineio falls back to simple-websocket under gevent's WSGI server), psycopg 3
waits cooperatively, SQLite writers queue on a cooperative lock (``workspace.db``).

What would hold the loop — CPU-bound C or pure-Python work: argon2 hashing, PDF rendering and exports —
goes through ``offload``: a thread of gevent's pool in the served process, a plain call elsewhere
(tests and scripts run unpatched, in threading mode).
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs

T = TypeVar("T")


def patched() -> bool:
    """True in a process gevent has monkey-patched (the served process)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("socket") and monkey.is_module_patched("threading"))


def async_mode() -> str:
    return "gevent" if patched() else "threading"


def patch() -> None:
    """Monkey-patch the standard library with gevent. Must run before anything else is imported."""
    from gevent import monkey

    if not patched():
        monkey.patch_all()


def preload() -> None:
    """Import, on the main thread of the served process, the libraries that find native ones with
    ``ctypes.util.find_library``: WeasyPrint (Pango, GObject, HarfBuzz). ``find_library`` runs
    ``/sbin/ldconfig`` in a subprocess, and under gevent a child process can only be watched from the
    main thread's loop: imported for the first time inside ``offload`` (a thread of the pool), it
    fails with "child watchers are only available on the default loop" — the server's first PDF
    export was an error page. Called by ``create_app`` in the patched process only."""
    import weasyprint  # noqa: F401


def offload(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run CPU-bound ``fn`` off the event loop (a real thread of gevent's pool; the calling greenlet
    waits cooperatively) when served under gevent; a plain call otherwise."""
    if not patched():
        return fn(*args, **kwargs)
    import gevent

    return gevent.get_hub().threadpool.apply(fn, args, kwargs)


def offload_in_context(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``offload`` for work that reads the Flask context (translations, configuration): the thread
    runs it inside a copy of the caller's request context, or the caller's app context."""
    if not patched():
        return fn(*args, **kwargs)
    import flask

    if flask.has_request_context():
        return offload(flask.copy_current_request_context(fn), *args, **kwargs)
    if flask.has_app_context():
        app = flask.current_app._get_current_object()  # type: ignore[attr-defined]

        def run() -> T:
            with app.app_context():
                return fn(*args, **kwargs)

        return offload(run)
    return offload(fn, *args, **kwargs)


#: Connections the kernel holds for the embedded server while its loop is busy. A seduta starting (or
#: the server restarting) brings hundreds of connections in the same second; beyond the listen
#: backlog the kernel drops their SYN and each client tries again a second later (TCP's first
#: retransmission): gevent's default backlog of 128 turned a 300-client join storm's last joins from
#: ~0.5 s into ~1.5 s. The kernel caps it at ``net.core.somaxconn`` (4,096 on current Linux).
#: gunicorn (the scaled deployment) listens with a backlog of 2,048 by default.
LISTEN_BACKLOG = 2048


def tune_gc() -> None:
    """For a long-lived server process, once the app is built: what exists now (modules, the app,
    mappers, compiled templates) is moved out of the collector's sight (``gc.freeze``), and full
    collections come less often. A live seduta allocates many short-lived objects per join; with the
    default thresholds the collector kept rescanning the whole heap in the middle of join storms
    (profiled: a single full pass inside one ORM load of a storm took a tenth of its CPU)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD_0, 50, 100)


#: Allocations between two young-generation collections in a served process (Python's default: 700).
GC_THRESHOLD_0 = 20_000


#: Where the live connect handler finds the call that frees a connection's handshake slot.
HANDSHAKE_DONE = "tavoli.handshake_done"


class HandshakeGate:
    """At most ``slots`` new WebSocket connections set up at a time in the served (gevent) process;
    the others wait their turn cooperatively, costing nothing, before their upgrade is handled.

    Why: a seduta starting brings hundreds of connections in the same second. Unchecked, the event
    loop took them all at once, and every message of the people already connected — the
    facilitator's writes, the joins' replies — queued behind hundreds of handshakes (the writer's
    acknowledgement took 250-350 ms during a storm of 300 on the 2-core machine, against ~10 ms
    before it). With a gate, each turn of the loop holds a few dozen handshakes at most.

    A slot is held from the upgrade request until the live connect handler has answered (accepted
    or refused: ``HANDSHAKE_DONE`` in the request's environ), the connection ends, or ``hold``
    seconds have passed, whichever comes first: a client that opens a WebSocket and stays silent
    holds its slot for ``hold`` seconds at most. Long-polling requests and the upgrade of a session
    opened by long-polling (``sid`` in the query) are short requests and pass freely. Nobody is
    refused: a slow turn is the worst case."""

    def __init__(self, wsgi_app: Callable[..., Any], slots: int, hold: float = 2.0) -> None:
        import gevent.lock

        self.wsgi_app, self.hold = wsgi_app, hold
        self.slots = gevent.lock.BoundedSemaphore(slots)

    @staticmethod
    def opens_websocket(environ: dict[str, Any]) -> bool:
        return (environ.get("HTTP_UPGRADE", "").lower() == "websocket"
                and "sid" not in parse_qs(environ.get("QUERY_STRING", "")))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not self.opens_websocket(environ):
            return self.wsgi_app(environ, start_response)
        import gevent

        self.slots.acquire()
        freed = False

        def free() -> None:
            nonlocal freed
            if not freed:  # one greenlet runs at a time: no lock needed
                freed = True
                self.slots.release()

        timer = gevent.spawn_later(self.hold, free)
        environ[HANDSHAKE_DONE] = free
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            timer.kill(block=False)
            free()
