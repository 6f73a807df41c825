"""The Pavia demo's second procedure: concluded, with its approved documento di sintesi."""
from __future__ import annotations

from sqlalchemy import select

from workspace.demo.loader import load_demo
from workspace.minutes import content as contents
from workspace.procedures.models import Procedure
from workspace.sintesi import service
from workspace.sintesi.demo import TITLE


def test_the_demo_has_a_concluded_procedure_with_its_documento(session):
    assert load_demo(session) is True
    session.commit()
    procedure = session.scalar(select(Procedure).where(Procedure.title == TITLE))
    assert procedure is not None and procedure.status == "conclusa"
    documento = service.documento_of(session, procedure)
    assert documento is not None and documento.approved
    assert documento.content_sha256 == contents.sha256(documento.content)
    content = documento.content
    assert content["priorities"]["source"] == "planning"
    assert {p["disposition"] for p in content["priorities"]["items"]} == {"accolto", "parzialmente_accolto",
                                                                           "non_accolto"}
    assert all(p["reason"] for p in content["priorities"]["items"])
    assert len(content["cards"]["items"]) == 1
    assert content["participation"]["totals"]["presences"] == 5
    assert len(content["verbali"]) == 1
    # It went through the art. 55 steps with the procedures area's services: act with its file,
    # avviso, three ETS applied and were admitted (their delegates voted at the tavolo).
    assert [t.to_status for t in procedure.transitions] == ["avviso_pubblicato", "candidature", "ammissioni",
                                                            "tavoli_in_corso", "conclusa"]
    assert procedure.act_file_sha256 and procedure.avviso_published_at < procedure.application_deadline
    assert sorted(a.status for a in procedure.applications) == ["admitted"] * 3
    assert {a.organisation.kind for a in procedure.applications} == {"ets"}
    # The first procedure is still open.
    first = session.scalar(select(Procedure).where(Procedure.title != TITLE))
    assert first is not None and first.status != "conclusa"
