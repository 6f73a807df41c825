"""Organisations, people, memberships, login, invitations and single-use links."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def register(app: Flask) -> None:
    from workspace.accounts import auth, epoch, views  # noqa: F401  (auth installs the user loader)

    epoch.init_app(app)
    app.register_blueprint(views.bp)
