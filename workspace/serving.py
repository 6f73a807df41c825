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
