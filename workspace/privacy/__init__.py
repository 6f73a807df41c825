"""Privacy: the information notice (art. 13 GDPR) read at first login, the person's own data as a
download, account deletion by pseudonymisation, and the retention rules (``tavoli privacy purge``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def register(app: Flask) -> None:
    from workspace.privacy import views

    app.register_blueprint(views.bp)
