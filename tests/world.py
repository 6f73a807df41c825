"""A small, realistic tavolo to test against: one procedure, one tavolo on macroarea E with a
contribution window, a convened seduta with an agenda, and one person per role."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from argon2 import PasswordHasher

from workspace.accounts.models import Membership, Organisation, User
from workspace.db import utcnow
from workspace.needs import service as needs_service
from workspace.procedures import lifecycle as procedures
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli_service
from workspace.tavoli.models import Seduta, Tavolo

PASSWORD = "password-di-prova-1"
AMBITO = "50008"


@lru_cache(maxsize=1)
def _hash() -> str:
    return PasswordHasher().hash(PASSWORD)


@dataclass
class World:
    tavolo: Tavolo
    seduta: Seduta
    facilitator: User
    delegate: User
    delegate2: User
    colleague: User  # a second delegate of the same organisation as ``delegate``
    observer: User
    outsider: User
    admin: User
    ets: Organisation
    ets2: Organisation
    comune: Organisation

    def ids(self) -> dict[str, int]:
        return {k: getattr(self, k).id for k in
                ("facilitator", "delegate", "delegate2", "colleague", "observer", "outsider", "admin")}


def make_person(session, name: str, email: str, org: Organisation | None = None, admin: bool = False,
                flush: bool = True) -> User:
    user = User(name=name, email=email, password_hash=_hash(), is_admin=admin)
    session.add(user)
    if org is not None:
        session.add(Membership(user=user, organisation=org))
    if flush:
        session.flush()
    return user


def build_world(session, window_open: bool = True) -> World:
    def org(name, kind, cf=None):
        o = Organisation(name=name, kind=kind, ambito_code=AMBITO, codice_fiscale=cf,
                         runts_section="odv" if kind == "ets" else None)
        session.add(o)
        return o

    udp = org("Ufficio di Piano di prova", "ufficio_di_piano")
    ets = org("Associazione Alfa (prova)", "ets", "96000001010")
    ets2 = org("Cooperativa Beta (prova)", "ets", "96000002026")
    comune = org("Comune di Pavia", "comune")
    union = org("Sindacato Gamma (prova)", "sindacato")
    session.flush()
    # One flush for all: each table's rows go in one INSERT (the world is built for every test).
    admin = make_person(session, "Amministratrice", "admin@prova.example.org", udp, admin=True, flush=False)
    facilitator = make_person(session, "Fabio Facilitatore", "fac@prova.example.org", udp, flush=False)
    delegate = make_person(session, "Delia Delegata", "del@prova.example.org", ets, flush=False)
    colleague = make_person(session, "Carlo Collega", "col@prova.example.org", ets, flush=False)
    delegate2 = make_person(session, "Dario Delegato", "del2@prova.example.org", ets2, flush=False)
    observer = make_person(session, "Olga Osservatrice", "oss@prova.example.org", union, flush=False)
    outsider = make_person(session, "Esterno Estranei", "ext@prova.example.org", flush=False)
    session.flush()

    procedure = procedures.create_procedure(session, admin, AMBITO, "Co-programmazione PdZ 2025-2027", rup=admin)
    now = utcnow()
    tavolo = membership.create_tavolo(
        session, admin, procedure, "Tavolo anziani e fragilità", ["E"],
        opens_at=now - timedelta(days=1) if window_open else now + timedelta(days=1),
        closes_at=now + timedelta(days=10),
    )
    membership.set_role(session, admin, tavolo, facilitator, "facilitator")
    membership.set_role(session, admin, tavolo, delegate, "delegate", ets)
    membership.set_role(session, admin, tavolo, colleague, "delegate", ets)
    membership.set_role(session, admin, tavolo, delegate2, "delegate", ets2)
    membership.set_role(session, admin, tavolo, observer, "observer")
    seduta = tavoli_service.create_seduta(session, facilitator, tavolo, now + timedelta(hours=1), "Sala Consiglio",
                                          "mista", ["Apertura", "Bisogni emersi", "Varie"])
    session.commit()
    return World(tavolo, seduta, facilitator, delegate, delegate2, colleague, observer, outsider, admin,
                 ets, ets2, comune)


def bisogno_data(**overrides) -> dict:
    data = {
        "title": "Solitudine degli anziani soli nei quartieri periferici",
        "description": "Molti anziani **vivono soli** senza rete familiare.",
        "macroarea": "E",
        "target_population": "Over 75 soli",
        "evidence_source": "Anagrafe comunale",
        "evidence_figure": "2.340 persone",
        "evidence_year": 2024,
        "consolidation": "consolidato",
    }
    data.update(overrides)
    return data


def add_bisogno(session, world: World, who: User | None = None, **overrides):
    bisogno, _ = needs_service.create_bisogno(session, who or world.delegate, world.tavolo, bisogno_data(**overrides))
    session.commit()
    return bisogno


def login_client(app, user: User):
    """A Flask test client logged in as ``user`` and the CSRF token of its session."""
    from flask import current_app, has_app_context

    from workspace.accounts.service import open_login
    from workspace.db import db

    if has_app_context() and current_app._get_current_object() is app:
        # The caller holds the app context (and its session, which the client's requests reuse):
        # a nested context would close that session under the caller on its way out.
        cookie_id = open_login(db.session, db.session.get(User, user.id))
        db.session.commit()
    else:
        with app.app_context():
            cookie_id = open_login(db.session, db.session.get(User, user.id))
            db.session.commit()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = cookie_id
        sess["_fresh"] = True
    html = client.get("/").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "la pagina non contiene un token CSRF"
    return client, match.group(1)
