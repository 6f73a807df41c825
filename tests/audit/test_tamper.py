"""``tavoli audit verify`` on a real database (SQLite file, PostgreSQL): exit 0 with the number of
entries on an intact trail; exit 1 naming the first broken entry (number, time, action) when a row
is altered, deleted or inserted directly with SQL, bypassing the application."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, text

from tests.world import build_world
from workspace.audit import chain
from workspace.audit.models import AuditEntry
from workspace.cli import main
from workspace.db import db

pytestmark = pytest.mark.real_db


def verify(app) -> tuple[int, str]:
    """The command as an operator runs it, on the app's database (its own app and connections)."""
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "TAVOLI_INSTANCE": app.instance_path}
    result = CliRunner().invoke(main, ["audit", "verify"], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def sql(app, statement: str, **params) -> None:
    with app.app_context():
        db.session.execute(text(statement), params)
        db.session.commit()


def row(app, entry_id: int) -> dict:
    with app.app_context():
        values = db.session.execute(select(AuditEntry.__table__).where(AuditEntry.id == entry_id)).mappings().one()
        return dict(values)


def put_back(app, values: dict) -> None:
    with app.app_context():
        db.session.execute(insert(AuditEntry.__table__).values(**values))
        db.session.commit()


def assert_broken(app, entry_id: int, action: str, *fragments: str) -> None:
    code, output = verify(app)
    assert code == 1, output
    assert f"voce n. {entry_id} del " in output and f"({action})" in output, output
    for fragment in fragments:
        assert fragment in output, output


def test_verify_detects_alteration_deletion_and_insertion(app):
    with app.app_context():
        build_world(db.session)
    code, output = verify(app)
    assert code == 0, output
    assert "Registro di audit integro: 10 voci verificate." in output
    last = row(app, 10)
    assert last["hash"] in output

    # Altered: the action of entry 5 (a role given to someone else becomes something else).
    original = row(app, 5)
    sql(app, "UPDATE audit_entry SET action = 'role.removed' WHERE id = 5")
    assert_broken(app, 5, "role.removed", "voce modificata", "Voci integre prima di questa: 4.")
    sql(app, "UPDATE audit_entry SET action = :a WHERE id = 5", a=original["action"])
    assert verify(app)[0] == 0
    # Altered: the person (the hash covers the actor's id) or the time.
    sql(app, "UPDATE audit_entry SET actor_id = actor_id + 1 WHERE id = 3")
    assert_broken(app, 3, "role.set", "voce modificata")
    sql(app, "UPDATE audit_entry SET actor_id = actor_id - 1 WHERE id = 3")
    with app.app_context():
        moved = original["at"].replace(year=original["at"].year - 1)
        db.session.execute(AuditEntry.__table__.update().where(AuditEntry.id == 5).values(at=moved))
        db.session.commit()
    assert_broken(app, 5, "role.set", "voce modificata")
    sql(app, "DELETE FROM audit_entry WHERE id = 5")
    put_back(app, original)
    assert verify(app)[0] == 0

    # Deleted from the middle: the next entry names the gap.
    sql(app, "DELETE FROM audit_entry WHERE id = 5")
    assert_broken(app, 6, row(app, 6)["action"], "manca la voce n. 5")
    put_back(app, original)
    # Deleted at the end: the head still names it.
    sql(app, "DELETE FROM audit_entry WHERE id = 10")
    assert_broken(app, 9, row(app, 9)["action"], "mancano le ultime 1")
    put_back(app, last)
    assert verify(app)[0] == 0

    # Inserted: a forged entry correctly chained and hashed after the last one...
    forged = dict(last, id=11, action="admin.granted", object_type="user", object_id=1, details={},
                  prev_hash=last["hash"])
    forged["hash"] = chain.digest(11, forged["at"], forged["actor_id"], "admin.granted", "user", 1, {}, last["hash"])
    put_back(app, forged)
    assert_broken(app, 11, "admin.granted", "aggiunta fuori dal registro")
    sql(app, "DELETE FROM audit_entry WHERE id = 11")
    # ... or with a number of its own.
    put_back(app, dict(forged, id=40))
    assert_broken(app, 40, "admin.granted", "mancano le voci dalla n. 11 alla n. 39")
    sql(app, "DELETE FROM audit_entry WHERE id = 40")
    # ... or re-linked in place of a real one.
    sql(app, "UPDATE audit_entry SET prev_hash = :h WHERE id = 7", h="f" * 64)
    assert_broken(app, 7, row(app, 7)["action"], "non è collegata alla voce precedente")
    sql(app, "UPDATE audit_entry SET prev_hash = :h WHERE id = 7", h=row(app, 6)["hash"])

    code, output = verify(app)
    assert code == 0 and "10 voci verificate" in output, output


def test_verify_refuses_a_trail_whose_head_is_gone(app):
    with app.app_context():
        build_world(db.session)
    sql(app, "DELETE FROM audit_head")
    assert_broken(app, 1, "procedure.created", "manca la testa della catena")
    sql(app, "DELETE FROM audit_entry")
    code, output = verify(app)
    assert code == 0 and "0 voci verificate" in output, output


def test_verify_on_an_untouched_new_database(app):
    code, output = verify(app)
    assert code == 0, output
    assert "Registro di audit integro: 0 voci verificate." in output
