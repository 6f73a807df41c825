"""Small helpers for the Socket.IO tests: emitting operations, reading broadcast events, and
looking at the database in short app contexts (never one left open around client calls)."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Any

from tests.tavoli.support import footprint as _footprint
from workspace.realtime import NAMESPACE


def new_op_id() -> str:
    return "op-" + uuid.uuid4().hex


def call(client, event: str, *args) -> Any:
    """Emit ``event`` and return the acknowledgement."""
    return client.emit(event, *args, namespace=NAMESPACE, callback=True)


def op(client, name: str, tavolo_id: int, op_id: str | None = None, **fields) -> dict:
    return call(client, name, {"op_id": op_id or new_op_id(), "tavolo_id": tavolo_id, **fields})


def join(client, tavolo_id: int, **extra) -> dict:
    """Join as the console does (with the register, unless ``register=False``)."""
    extra.setdefault("register", True)
    reply = call(client, "join", {"tavolo_id": tavolo_id, **extra})
    assert isinstance(reply, dict) and reply.get("ok"), reply
    return reply


def events(client) -> list[dict]:
    """The tavolo events delivered to this client since the last call (other messages dropped); a
    batch (``events``, docs/live-protocol.md §4) counts as its events, each with the batch's tavolo_id."""
    out: list[dict] = []
    for m in client.get_received(NAMESPACE):
        if m["name"] == "event":
            out.append(m["args"][0])
        elif m["name"] == "events":
            batch = m["args"][0]
            out += [{"tavolo_id": batch["tavolo_id"], **e} for e in batch["events"]]
    return out


def connected(client) -> bool:
    return client.is_connected(NAMESPACE)


@contextmanager
def db_session(app):
    from workspace.db import db

    with app.app_context():
        yield db.session


def footprint(app, tavolo_id: int) -> dict[str, int]:
    with db_session(app) as session:
        return _footprint(session, tavolo_id)


def fresh_snapshot(app, tavolo_id: int) -> dict:
    """What a client joining now would receive, read straight from the services."""
    from workspace import realtime, record
    from workspace.tavoli.models import Tavolo

    with db_session(app) as session:
        tavolo = session.get(Tavolo, tavolo_id)
        return {"snapshot": realtime.snapshot(session, tavolo.id), "last_seq": record.last_seq(session, tavolo_id)}


def attached(world, session):
    """The same World, its objects loaded in ``session`` (the fixture's are detached)."""
    import dataclasses

    return dataclasses.replace(world, **{f.name: session.get(type(getattr(world, f.name)), getattr(world, f.name).id)
                                         for f in dataclasses.fields(world)})
