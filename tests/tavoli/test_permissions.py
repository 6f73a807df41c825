"""Permission table of the tavolo's operations: every role against every facilitator action,
through the real services. Allowed -> exactly one event by that person; forbidden -> 403 with an
Italian message and nothing written."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import refused
from tests.tavoli.support import (
    FACILITATORS,
    MSG_FACILITATE,
    MSG_VIEW,
    ROLES,
    VIEWERS,
    one_event,
    start_live,
    user,
)
from workspace import record
from workspace.db import utcnow
from workspace.tavoli import service as tavoli


def _start(session, w, actor):
    return tavoli.start_seduta(session, actor, w.seduta)


def _close(session, w, actor):
    return tavoli.close_seduta(session, actor, w.seduta)


def _move(session, w, actor):
    return tavoli.move_agenda(session, actor, w.seduta, w.seduta.agenda[1].id)


def _timer(session, w, actor):
    return tavoli.set_timer(session, actor, w.seduta, 300, "Interventi")


def _mark(session, w, actor):
    return tavoli.mark_presence(session, actor, w.seduta, w.delegate2.id, True)


def _convene(session, w, actor):
    tavoli.create_seduta(session, actor, w.tavolo, utcnow() + timedelta(days=7), "Sala", "remoto", ["Uno"])
    return record.events_between(session, w.tavolo.id)[-1]


def _self_presence(session, w, actor):
    return tavoli.presence_join(session, actor, w.seduta, "remoto")


# action -> (service call, needs a live seduta, roles allowed, event kind, refusal message)
ACTIONS = {
    "start_seduta": (_start, False, FACILITATORS, "seduta.started", MSG_FACILITATE),
    "close_seduta": (_close, True, FACILITATORS, "seduta.closed", MSG_FACILITATE),
    "move_agenda": (_move, True, FACILITATORS, "agenda.moved", MSG_FACILITATE),
    "set_timer": (_timer, True, FACILITATORS, "timer.set", MSG_FACILITATE),
    "mark_presence": (_mark, True, FACILITATORS, "presence.marked", MSG_FACILITATE),
    "convene_seduta": (_convene, False, FACILITATORS, "seduta.convened", MSG_FACILITATE),
    "automatic_presence": (_self_presence, True, VIEWERS, "presence.joined", MSG_VIEW),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_permission_table(session, world, role, action):
    call, live, allowed, kind, message = ACTIONS[action]
    if live:
        start_live(session, world)
    actor = user(world, role)
    before = record.last_seq(session, world.tavolo.id)
    if role in allowed:
        event = call(session, world, actor)
        session.commit()
        one_event(session, world.tavolo.id, before, event, kind, actor)
    else:
        refused(session, lambda: call(session, world, actor), "forbidden", 403, message)

