"""The public page of the esiti (no login), under the procedure's public URL space, and its
downloads: only for a published procedure (``permissions.public_procedure``); the procedure's
public page links here (``has_endpoint("esiti.public")``)."""
from __future__ import annotations

from flask import render_template

from workspace import exports
from workspace.db import db
from workspace.esiti import document, permissions, service
from workspace.esiti.views import bp, common


@bp.get("/procedure/<int:procedure_id>/esiti")
def public(procedure_id: int):
    procedure = permissions.public_procedure(db.session, procedure_id)
    return render_template("esiti/public.html", objectives=service.objectives(db.session, procedure),
                           **common(procedure))


@bp.get("/procedure/<int:procedure_id>/esiti/esporta/<fmt>")
def public_download(procedure_id: int, fmt: str):
    procedure = permissions.public_procedure(db.session, procedure_id)
    fmt = exports.check_format(fmt, document.FORMATS).name
    data = document.render(procedure, service.objectives(db.session, procedure), fmt)
    return exports.download_response(data, document.stem(procedure), fmt)
