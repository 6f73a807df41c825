"""Builders for the procedure suites: people, a procedure with its tavoli, the act and the avviso
filled in, moving it along its lifecycle at a frozen time, and a complete application."""
from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from werkzeug.datastructures import FileStorage

from tests.helpers import valid_numeric_cf
from tests.world import AMBITO, make_person
from workspace.accounts.models import User
from workspace.procedures import applications, files, lifecycle, texts
from workspace.procedures.models import PROCEDURE_STATUSES, Procedure
from workspace.tavoli import membership
from workspace.tavoli.models import Tavolo

# A frozen "now" for the service suites: the avviso goes out at T0, applications close 30 days later.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(days=30)
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
# The DER opening of a CAdES envelope: SEQUENCE, OID signedData, ... then the PDF it signs.
P7M = (bytes.fromhex("3080") + bytes.fromhex("06092a864886f70d010702") + bytes.fromhex("a0803080020101")
       + bytes.fromhex("06092a864886f70d010701a0802480048200ff") + PDF + b"\x00" * 64)

SECTIONS = {
    "object": "Co-programmazione del **Piano di Zona 2025-2027**: bisogni, priorità e risorse.",
    "avviso_eligibility": "Enti del Terzo settore iscritti al RUNTS che operano nell'Ambito.",
    "avviso_application": "Modulo online con le dichiarazioni sostitutive e sul conflitto di interessi.",
    "avviso_conduct": "Sedute mensili da aprile a giugno, in presenza e da remoto.",
    "avviso_closure": "Documento di sintesi approvato dall'Ufficio di Piano.",
    "avviso_transparency": "Avviso, ammessi e verbali pubblicati sul sito per cinque anni.",
}


def pdf(name: str = "atto.pdf", data: bytes = PDF) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type="application/pdf")


@dataclass
class Setup:
    procedure: Procedure
    tavolo: Tavolo
    tavolo2: Tavolo
    admin: User
    rup: User
    outsider: User


def build(session, tag: str | None = None) -> Setup:
    """A draft procedure (RUP not yet named) with two tavoli; an admin, a RUP, an outsider."""
    tag = tag or uuid.uuid4().hex[:6]
    admin = make_person(session, "Anna Amministratrice", f"adm-{tag}@prova.example.org", admin=True)
    rup = make_person(session, "Rita Responsabile", f"rup-{tag}@prova.example.org")
    outsider = make_person(session, "Oscar Estraneo", f"out-{tag}@prova.example.org")
    procedure = lifecycle.create_procedure(session, admin, AMBITO, f"Co-programmazione PdZ {tag}")
    tavolo = membership.create_tavolo(session, admin, procedure, "Tavolo anziani e fragilità", ["E"])
    tavolo2 = membership.create_tavolo(session, admin, procedure, "Tavolo famiglie e minori", ["D"])
    session.commit()
    return Setup(procedure, tavolo, tavolo2, admin, rup, outsider)


def fill(session, s: Setup, published_at: datetime = T0, deadline: datetime = DEADLINE,
         now: datetime = T0) -> None:
    """Initiation act with its file, RUP, the six sections, publication date and deadline."""
    stored = files.save_upload(pdf(), "l'atto di avvio")
    lifecycle.update_act(session, s.admin, s.procedure, number="123/2025", act_date=date(2025, 2, 20),
                       stored=stored, now=now)
    lifecycle.set_rup(session, s.admin, s.procedure, s.rup)
    lifecycle.update_avviso(session, s.admin, s.procedure, sections=SECTIONS, published_at=published_at,
                          deadline=deadline, allowed_kinds=["ets"])
    session.commit()


def advance(session, s: Setup, to: str, now: datetime | None = None) -> None:
    """Step forward until ``to``, each step at a plausible frozen moment."""
    moments = {"avviso_pubblicato": T0, "candidature": T0 + timedelta(hours=1),
               "ammissioni": s.procedure.application_deadline + timedelta(minutes=1) if s.procedure.application_deadline
               else DEADLINE, "tavoli_in_corso": DEADLINE + timedelta(days=5)}
    while PROCEDURE_STATUSES.index(s.procedure.status) < PROCEDURE_STATUSES.index(to):
        target = lifecycle.next_status(s.procedure)
        lifecycle.transition(session, s.rup, s.procedure, target, now=now or moments[target])
        session.commit()


def application_data(s: Setup, **overrides) -> dict:
    data = {
        "organisation_name": "Associazione Alfa ODV",
        "codice_fiscale": valid_numeric_cf(9700001234),
        "organisation_kind": "ets",
        "registration": "runts",
        "runts_section": "odv",
        "runts_repertorio": "12345",
        "transitional_details": "",
        "organisation_email": "alfa@pec.example.org",
        "legal_rep_name": "Laura Legale",
        "legal_rep_role": "Presidente",
        "signed_by_proxy": False,
        "proxy_name": "",
        "delegate_name": "Delia Delegata",
        "delegate_email": "delia@alfa.example.org",
        "declarations": {key: True for key, _text in texts.DECLARATIONS},
        "coi": "none",
        "coi_details": "",
        "tavoli": [s.tavolo.id],
    }
    data.update(overrides)
    return data


def apply(session, s: Setup, now: datetime | None = None, **overrides):
    application, _created = applications.submit_application(session, s.procedure, application_data(s, **overrides),
                                                       now=now or T0 + timedelta(days=1))
    session.commit()
    return application
