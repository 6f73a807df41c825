"""Tavoli: real-time workspace for co-programming (art. 55 CTS) of the Piani di Zona.

``create_app`` builds the Flask app; every domain area is registered from one list here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

# Nothing is imported here at module level: the served process (``workspace.entry``,
# ``workspace.wsgi``) monkey-patches the standard library with gevent before anything else loads.
if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: dict | None = None) -> Flask:
    from flask import Flask

    from workspace.config import PROJECT_ROOT, load_config
    from workspace.serving import HandshakeGate, async_mode, patched, preload

    if patched():
        preload()  # native libraries found on the main thread, not in offload's pool (serving.py)
    config = load_config(overrides)
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=config["INSTANCE_PATH"],
    )
    app.config.update(config)
    # Row ids in URLs are parsed once, by one converter, before any route is added (workspace/ids.py).
    from workspace import ids

    ids.register(app)

    if app.config["BEHIND_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    from workspace import errors, realtime, security, text
    from workspace.db import db
    from workspace.extensions import LivePacket, LiveSessionInterface, babel, csrf, login_manager, socketio
    from workspace.i18n import install_jinja, select_locale

    app.session_interface = LiveSessionInterface()
    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    install_jinja(app)
    login_manager.init_app(app)
    # Same-origin only (the Engine.IO default): the browser's Origin must match the Host header.
    # gevent in the served process (monkey-patched), threading elsewhere (tests, scripts): see serving.py.
    socketio.init_app(app, async_mode=async_mode(), message_queue=app.config["REDIS_URL"],
                      channel=app.config["SOCKETIO_CHANNEL"], serializer=LivePacket)
    security.init_app(app)
    if async_mode() == "gevent" and app.config["HANDSHAKES_AT_ONCE"] > 0:
        # Outermost: a waiting connection costs nothing until its turn (workspace/serving.py).
        app.wsgi_app = HandshakeGate(app.wsgi_app, app.config["HANDSHAKES_AT_ONCE"])  # type: ignore[method-assign]
    errors.init_app(app)
    text.init_app(app)
    from workspace.web import submission_key_field

    app.add_template_global(submission_key_field, "submission_key")

    import workspace.models  # noqa: F401  (complete metadata before anything queries)
    from workspace import (
        accounts,
        api,
        audit,
        core,
        esiti,
        minutes,
        needs,
        planning,
        policy,
        privacy,
        procedures,
        reference,
        sintesi,
        tavoli,
        voting,
    )
    from workspace.tavoli.live import door, guard, guard_together
    from workspace.tavoli.permissions import require

    realtime.init_app(app, guard=guard, require=require, guard_together=guard_together)
    policy.init_app(app, door)
    # The areas, lower ones first. Each registers its pages, API routes, live handlers and the
    # signals it listens to; the API blueprint goes last, once every area has added its routes.
    for area in (core, reference, accounts, audit, privacy, procedures, tavoli, needs, voting, minutes, esiti, planning,
                 sintesi, api):
        area.register(app)
    # The models' relationships resolved now, once, not by the first request of a freshly started
    # server (in a restart's join storm that was ~0.1 s inside the first handshake).
    from sqlalchemy.orm import configure_mappers

    configure_mappers()

    if app.config["CHECK_MIGRATIONS"]:
        from workspace.migrate import check_migrated

        check_migrated(app.extensions["tavoli_db"]["engine"])
    return app
