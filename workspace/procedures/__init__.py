"""The art. 55 procedure: initiation act, avviso, applications, admissions, public record."""


def register(app) -> None:
    from workspace import signals
    from workspace.procedures import closure, privacy, views

    closure.install()
    app.before_request(closure.refuse_concluded_request)
    app.register_blueprint(views.bp)
    signals.personal_data_requested.connect(privacy.personal_data)
    signals.person_pseudonymised.connect(privacy.pseudonymise)
