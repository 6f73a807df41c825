"""The documento di sintesi that closes a co-programming procedure (DM 72/2021): generated from the
data (contributions per tavolo, macroarea and organisation type; priorities with the
administration's dispositions; the resulting schede obiettivo; participation), with an introduction
the RUP writes; sent to the tavoli's members for review, then approved and frozen like a verbale
(canonical JSON, SHA-256, PDF/A). Its approval concludes the procedure
(``procedures.lifecycle.conclude``), after which nothing in it changes (``procedures.closure``).

The services, lowest first: ``labels``, ``permissions``, ``generation`` (the data), ``document`` (the
document for every format, with its charts), ``service`` (draft, text, review, approval, exports);
``views``, ``cli`` and ``demo`` on top. Nothing below imports this area.
"""


def register(app) -> None:
    from workspace.sintesi import views

    app.register_blueprint(views.bp)
