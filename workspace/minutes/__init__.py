"""Verbali of the sedute: drafted from the record when a seduta closes, edited, reviewed by the
attendees, approved and frozen (canonical JSON, SHA-256, PDF/A), exported and published.

The services, lowest first: ``labels`` (the words), ``permissions`` (who may), ``generation``
(the record, register and votes as the verbale's generated part), ``content`` (the canonical
document and its hash), ``document`` (the document laid out for every format), ``service``
(drafting, settings, approval, errata, exports), ``review`` (review and remarks), ``history``
(versions and their differences), ``publication`` (what the public may read), ``payloads`` (JSON
of the API); ``views``, ``public``, ``api``, ``cli`` and ``demo`` sit on top of them. Nothing in
the areas below imports this one: minutes reads them through their services and reacts to
``signals.seduta_closed``.
"""


def register(app) -> None:
    from workspace import signals
    from workspace.minutes import api, privacy, public, service, views  # noqa: F401  (api, public: routes)

    app.register_blueprint(views.bp)
    signals.seduta_closed.connect(service.draft_on_close)
    signals.personal_data_requested.connect(privacy.personal_data)
    signals.person_pseudonymised.connect(privacy.pseudonymise)
