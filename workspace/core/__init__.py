"""Core pages (home, accessibility statement, language switch) and what every template needs."""


def register(app) -> None:
    from workspace.core import context, views

    app.register_blueprint(views.bp)
    context.init_app(app)
