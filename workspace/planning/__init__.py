"""The Ufficio di Piano's output: priorities and dispositions, schede obiettivo (Allegato B), their
traceability to bisogni, votes and verbali, exports and open data.

``models`` (dispositions, publication, cards and their versions), ``schema`` (the official 26
fields, loaded from the reference data), ``service`` (reads other areas through their services;
permissions inside), ``documents`` (priorities and cards in every format from one description),
``views``, ``api``, ``cli``.
"""


def register(app) -> None:
    from workspace import signals
    from workspace.planning import api, opendata, views  # noqa: F401  (api adds its routes to the API blueprint)

    app.register_blueprint(views.bp)
    signals.open_data_requested.connect(opendata.open_data_part)
