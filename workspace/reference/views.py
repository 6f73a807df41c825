"""Pages to browse the reference data: macroaree, LEPS, Ambiti territoriali."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from workspace.db import db
from workspace.i18n import gettext as _
from workspace.reference import service

bp = Blueprint("reference", __name__)


@bp.get("/macroaree")
def macroaree():
    rows = service.list_macroaree(db.session)
    return render_template(
        "reference/macroaree.html",
        active=[m for m in rows if m.is_active],
        historic=[m for m in rows if not m.is_active],
    )


@bp.get("/macroaree/<code>")
def macroarea(code: str):
    row = service.get_macroarea(db.session, code)
    if row is None:
        abort(404, _("La macroarea «%(code)s» non esiste. Le macroaree 2025-2027 sono A, B e da D a L.",
                     code=code[:20]))
    if row.code != code:
        return redirect(url_for("reference.macroarea", code=row.code), 301)
    return render_template("reference/macroarea.html", m=row)


@bp.get("/leps")
def leps():
    rows = service.list_leps(db.session)
    return render_template("reference/leps.html", leps=rows, strategic=[r for r in rows if r.strategic])


@bp.get("/ambiti")
def ambiti():
    query = request.args.get("q", "", type=str).strip()[: service.MAX_QUERY_LENGTH]
    rows = service.search_ambiti(db.session, query)
    return render_template("reference/ambiti.html", ambiti=rows, q=query)
