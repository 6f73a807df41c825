"""The Pavia demo: every role has a login, ETS are valid and plainly fictional, loading is once."""
from __future__ import annotations

from sqlalchemy import func, select

from workspace.accounts.codice_fiscale import validate_codice_fiscale
from workspace.accounts.models import Membership, Organisation, User
from workspace.demo.loader import AMBITO, DEMO_PASSWORD, demo_logins, load_demo


def test_demo_loads_once_with_every_role(session):
    assert load_demo(session, only_if_empty=True) is True
    session.commit()
    assert load_demo(session, only_if_empty=True) is False
    assert load_demo(session) is False  # already there: nothing duplicated
    session.commit()

    kinds = {o.kind for o in session.scalars(select(Organisation))}
    assert {"comune", "asst", "ats", "ufficio_di_piano", "ets", "sindacato"} <= kinds
    ets = session.scalars(select(Organisation).where(Organisation.kind == "ets")).all()
    assert len(ets) >= 6
    assert len({o.runts_section for o in ets}) >= 6
    for org in ets:
        assert org.name.endswith("(demo)")
        assert validate_codice_fiscale(org.codice_fiscale) == org.codice_fiscale
        assert org.ambito_code == AMBITO
    assert session.scalar(select(func.count()).select_from(User)) == len(demo_logins())
    # every demo person is delegate of exactly one organisation
    assert session.scalar(select(func.count()).select_from(Membership)) == len(demo_logins())
    admins = session.scalars(select(User).where(User.is_admin.is_(True))).all()
    assert [a.email for a in admins] == ["rup@pavia.example.org"]


def test_demo_is_not_loaded_into_a_database_with_accounts(session):
    session.add(User(name="Persona reale", email="reale@comune.example.org"))
    session.commit()
    assert load_demo(session, only_if_empty=True) is False
    assert session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_demo_login_works(client, app):
    from workspace.db import db

    with app.app_context():
        load_demo(db.session)
        db.session.commit()
    from tests.helpers import csrf_post

    response = csrf_post(client, "/accedi", {"email": "odv@pavia.example.org", "password": DEMO_PASSWORD})
    assert response.status_code in (302, 303)
    assert "Anna Rossetti" in client.get("/").get_data(as_text=True)
