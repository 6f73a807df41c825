"""Bisogni and their annotations: raised live or between sedute, versioned, merged, moderated."""


def register(app) -> None:
    from workspace import realtime, signals
    from workspace.needs import api, live, privacy, views  # noqa: F401  (api adds its routes to the API blueprint)

    app.register_blueprint(views.bp)
    realtime.bind(app, live)
    signals.tavolo_snapshot.connect(live.snapshot_part)
    signals.live_labels.connect(live.live_labels)
    signals.personal_data_requested.connect(privacy.personal_data)
    signals.person_pseudonymised.connect(privacy.pseudonymise)
