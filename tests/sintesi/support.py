"""Helpers of the documento di sintesi suites: a procedure whose tavolo held a scripted seduta
(tests/minutes/support.py: presences, bisogni, annotations, a closed vote), in "tavoli in corso"."""
from __future__ import annotations

from dataclasses import dataclass

from tests.minutes.support import Scripted, scripted_seduta
from workspace.procedures.models import Procedure
from workspace.sintesi import service
from workspace.sintesi.models import DocumentoSintesi

INTRO = "La procedura ha coinvolto **tutti** gli enti del territorio."


@dataclass
class Closing:
    s: Scripted
    procedure_id: int

    def __getattr__(self, name):
        return getattr(self.s, name)


def running_procedure(session) -> Closing:
    s = scripted_seduta(session)
    procedure = s.tavolo.procedure
    procedure.status = "tavoli_in_corso"  # the steps before are the procedures suite's business
    session.commit()
    return Closing(s, procedure.id)


def procedure_of(session, c: Closing) -> Procedure:
    return session.get_one(Procedure, c.procedure_id)


def drafted(session, c: Closing) -> DocumentoSintesi:
    procedure = procedure_of(session, c)
    documento = service.create_draft(session, c.admin, procedure)
    service.save_introduction(session, c.admin, documento, INTRO, documento.version)
    session.commit()
    return documento


def in_review(session, c: Closing) -> DocumentoSintesi:
    documento = drafted(session, c)
    service.send_for_review(session, c.admin, documento)
    session.commit()
    return documento


def concluded(session, c: Closing) -> DocumentoSintesi:
    documento = in_review(session, c)
    service.approve(session, c.admin, documento)
    session.commit()
    return documento
