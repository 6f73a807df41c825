"""Esiti of the previous programming (2021-2023): the objectives of the Ambito's previous Piano di
Zona, each with its *Tabella Esiti* (the 8 dimensions of the official model, DGR XII/2167 Allegato
B), entered or imported by the Ufficio di Piano, read by the tavoli's people, public once the
procedure is published, and exported in every format.

The modules, lowest first: ``scale`` (the official model as data, the two percentages and their
bands, with the rule for non-integer and over-100 % values), ``models``, ``permissions`` (who may),
``service`` (the columns, the checking of a row, the writes), ``importing`` (CSV/XLSX/ODS import,
all or nothing, and the template), ``document`` (the exports), ``payloads`` (JSON of the API);
``views``, ``public``, ``api``, ``cli`` and ``demo`` sit on top of them.
"""


def register(app) -> None:
    from workspace import signals
    from workspace.esiti import api, privacy, public, views  # noqa: F401  (api, public: routes)

    app.register_blueprint(views.bp)
    signals.personal_data_requested.connect(privacy.personal_data)
