"""Tavoli, sedute, agenda and presence: the facilitator's console and the room."""


def register(app) -> None:
    from workspace import realtime, signals
    from workspace.tavoli import live, privacy, views

    app.register_blueprint(views.bp)
    realtime.bind(app, live)
    signals.tavolo_snapshot_fresh.connect(live.snapshot_part)
    signals.tavolo_joined.connect(live.presence_on_join)
    signals.tavolo_joined_together.connect(live.presence_on_join_together)
    signals.tavolo_left.connect(live.presence_on_leave)
    signals.tavolo_left_together.connect(live.presence_on_leave_together)
    signals.event_recorded.connect(live.evict_removed)
    signals.personal_data_requested.connect(privacy.personal_data)
    signals.person_pseudonymised.connect(privacy.pseudonymise)
    signals.retention_due.connect(privacy.apply_retention)
