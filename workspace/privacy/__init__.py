"""Privacy: the information notice (art. 13 GDPR) read at first login, the person's own data as a
download, account deletion by pseudonymisation, and the retention rules (``tavoli privacy purge``)."""


def register(app) -> None:
    from workspace.privacy import views

    app.register_blueprint(views.bp)
