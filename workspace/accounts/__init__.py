"""Organisations, people, memberships, login, invitations and single-use links."""


def register(app) -> None:
    from workspace.accounts import auth, views  # noqa: F401  (auth installs the user loader)

    app.register_blueprint(views.bp)
