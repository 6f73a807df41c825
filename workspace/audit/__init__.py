"""The audit trail: an append-only, hash-chained log of every tavolo event and administrative action
(``chain.py``: how it is written and verified; ``service.py``: what enters it and who reads it)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def register(app: Flask) -> None:
    from workspace import signals
    from workspace.audit import chain, privacy, service, views  # noqa: F401  (chain: the session hooks)

    app.register_blueprint(views.bp)
    signals.event_recorded.connect(service.on_event)
    signals.action_recorded.connect(service.on_action)
    signals.personal_data_requested.connect(privacy.personal_data)
    signals.person_pseudonymised.connect(privacy.pseudonymise)
