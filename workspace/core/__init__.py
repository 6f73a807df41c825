"""Core pages (home, accessibility statement, language switch) and what every template needs."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def register(app: Flask) -> None:
    from workspace.core import context, views

    app.register_blueprint(views.bp)
    context.init_app(app)
