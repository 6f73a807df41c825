"""Tavoli: real-time workspace for co-programming (art. 55 CTS) of the Piani di Zona.

``create_app`` builds the Flask app; every domain area registers its blueprint here.
"""
from __future__ import annotations

from flask import Flask

from workspace.config import PROJECT_ROOT, load_config


def create_app(overrides: dict | None = None) -> Flask:
    config = load_config(overrides)
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=config["INSTANCE_PATH"],
    )
    app.config.update(config)

    if app.config["BEHIND_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    from workspace import errors, security
    from workspace.db import db
    from workspace.extensions import babel, csrf, login_manager, socketio
    from workspace.i18n import select_locale

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    login_manager.init_app(app)
    # Same-origin only (the Engine.IO default): the browser's Origin must match the Host header.
    socketio.init_app(app, message_queue=app.config["REDIS_URL"], channel=app.config["SOCKETIO_CHANNEL"])
    security.init_app(app)
    errors.init_app(app)
    from workspace import realtime

    realtime.init_app(app)

    import workspace.accounts.auth  # noqa: F401  (user loader)
    import workspace.models  # noqa: F401  (complete metadata before anything queries)
    from workspace.accounts.views import bp as accounts_bp
    from workspace.api import bp as api_bp
    from workspace.core.views import bp as core_bp
    from workspace.reference.views import bp as reference_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(reference_bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # read-only JSON, no cookies needed to read it
    from workspace.tavoli.views import bp as tavoli_bp

    app.register_blueprint(tavoli_bp)
    from workspace.needs.views import bp as needs_bp

    app.register_blueprint(needs_bp)
    from workspace.procedures.views import bp as procedures_bp

    app.register_blueprint(procedures_bp)
    from workspace.privacy.views import bp as privacy_bp

    app.register_blueprint(privacy_bp)
    from workspace.voting.views import bp as voting_bp

    app.register_blueprint(voting_bp)

    from workspace.core.context import init_app as init_context

    init_context(app)

    if app.config["CHECK_MIGRATIONS"]:
        from workspace.migrate import check_migrated

        check_migrated(app.extensions["tavoli_db"]["engine"])
    return app
