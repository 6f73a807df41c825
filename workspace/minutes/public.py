"""The public pages of the sedute, under the procedure's public URL space (no login): per tavolo,
convocations with agendas, approved verbali (page, PDF/A, hash) and closed vote results, each with
its publication and end dates. What may be shown: ``workspace.minutes.publication``. The
procedure's public page links here (``has_endpoint("minutes.public_index")``)."""
from __future__ import annotations

from flask import render_template

from workspace import exports, markdown
from workspace.db import db, utcnow
from workspace.minutes import document, labels, publication, service
from workspace.minutes.views import bp, preview
from workspace.tavoli.labels import SEDUTA_MODE_LABELS, SEDUTA_STATUS_LABELS
from workspace.voting.labels import METHOD_SHORT, VALUE_LABELS


def _common() -> dict:
    return {"labels": labels.for_pages(), "when": labels.when, "day": labels.day, "md": markdown.render,
            "seduta_modes": SEDUTA_MODE_LABELS, "seduta_statuses": SEDUTA_STATUS_LABELS,
            "methods": METHOD_SHORT, "values": VALUE_LABELS}


@bp.get("/procedure/<int:procedure_id>/verbali")
def public_index(procedure_id: int):
    now = utcnow()
    procedure = publication.public_procedure(db.session, procedure_id, now)
    tavoli = publication.public_tavoli(db.session, procedure, now)
    return render_template("minutes/public_index.html", procedure=procedure, now=now, tavoli=tavoli, **_common())


@bp.get("/procedure/<int:procedure_id>/verbali/<int:verbale_id>")
def public_verbale(procedure_id: int, verbale_id: int):
    procedure, verbale = publication.public_verbale(db.session, procedure_id, verbale_id)
    body = publication.public_content(verbale)
    with document.italian():
        doc = document.build(body, document.footer_for(verbale.content_sha256, public=True))
    original = service.get_verbale(db.session, verbale.corrects_id) if verbale.corrects_id else None
    now = utcnow()
    errata = [e for e in service.errata_of(db.session, verbale)
              if e in publication.visible_verbali(db.session, verbale.tavolo_id, now)]
    return render_template("minutes/public_verbale.html", procedure=procedure, verbale=verbale,
                           seduta=service.seduta_of(db.session, verbale), preview=preview(doc), original=original,
                           errata=errata, **_common())


@bp.get("/procedure/<int:procedure_id>/verbali/<int:verbale_id>/verbale.pdf")
def public_pdf(procedure_id: int, verbale_id: int):
    _procedure, verbale = publication.public_verbale(db.session, procedure_id, verbale_id)
    seduta = service.seduta_of(db.session, verbale)
    suffix = f"-errata-{verbale.edition - 1}" if verbale.is_errata else ""
    return exports.download_response(service.document_bytes(verbale, "pdf", public=True),
                                     f"verbale-seduta-{seduta.number}-tavolo-{verbale.tavolo_id}{suffix}", "pdf")
