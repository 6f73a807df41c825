"""The art. 55 procedure: initiation act, avviso, applications, admissions, public record."""


def register(app) -> None:
    from workspace.procedures import views

    app.register_blueprint(views.bp)
