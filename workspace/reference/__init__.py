"""Official reference data (DGR XII/2167/2024): macroaree, key points, LEPS, territory, forms."""


def register(app) -> None:
    from workspace.reference import api, views  # noqa: F401  (api adds its routes to the API blueprint)

    app.register_blueprint(views.bp)
