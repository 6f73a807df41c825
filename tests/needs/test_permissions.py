"""Permission table of bisogni and annotations: every role against every action, through the real
services. Allowed -> exactly one event by that person; forbidden -> 403 with an Italian message
and nothing written (not even if the caller commits anyway)."""
from __future__ import annotations

import pytest

from tests.helpers import refused
from tests.tavoli.support import (
    CONTRIBUTORS,
    FACILITATORS,
    MSG_CONTRIBUTE,
    MSG_EDIT,
    MSG_FACILITATE,
    MSG_WITHDRAW,
    ROLES,
    one_event,
    start_live,
    user,
)
from tests.world import add_bisogno, bisogno_data
from workspace import record
from workspace.needs import service as needs
from workspace.needs.models import Annotation, Bisogno


def _bisogno_of(session, w, author, title="Bisogno di prova"):
    """A bisogno proposed by ``author``. Observers and outsiders cannot propose one today, so theirs
    is one they proposed when they still were delegates (the row keeps them as author)."""
    if author.id in (w.observer.id, w.outsider.id):
        bisogno = add_bisogno(session, w, w.facilitator, title=title)
        bisogno.author_id = author.id
        bisogno.organisation_id = author.organisations[0].id if author.organisations else None
        session.commit()
        return bisogno
    return add_bisogno(session, w, author, title=title)


def _annotation_of(session, w, author, bisogno=None):
    bisogno = bisogno or add_bisogno(session, w, w.delegate2, title="Bisogno annotato")
    writer = author if author.id not in (w.observer.id, w.outsider.id) else w.facilitator
    annotation, _ = needs.add_annotation(session, writer, bisogno, "esperienza", "Lo vediamo ogni giorno.")
    annotation.author_id = author.id
    session.commit()
    return annotation


def _other(w, role):
    """Somebody else's contribution: delegate2's, or delegate's when the actor is delegate2."""
    return w.delegate if role == "delegate2" else w.delegate2


# Each action does its set-up (committed) and returns the call under test.


def create_bisogno(session, w, role, actor):
    return lambda: needs.create_bisogno(session, actor, w.tavolo, bisogno_data())[1]


def edit_own_bisogno(session, w, role, actor):
    bisogno = _bisogno_of(session, w, actor)
    return lambda: needs.update_bisogno(session, actor, bisogno, {"title": "Titolo corretto"}, expected_version=1)


def edit_delegates_bisogno(session, w, role, actor):
    # delegate's bisogno (delegate2's when the actor is delegate: never one's own)
    bisogno = _bisogno_of(session, w, w.delegate2 if role == "delegate" else w.delegate)
    return lambda: needs.update_bisogno(session, actor, bisogno, {"title": "Titolo corretto"})


def set_status(session, w, role, actor):
    bisogno = add_bisogno(session, w)
    return lambda: needs.set_status(session, actor, bisogno, "in_discussione")


def merge(session, w, role, actor):
    first = add_bisogno(session, w, w.delegate, title="Primo")
    second = add_bisogno(session, w, w.delegate2, title="Secondo")
    return lambda: needs.merge_bisogno(session, actor, first, second)


def withdraw_delegates_bisogno(session, w, role, actor):
    bisogno = add_bisogno(session, w, w.delegate)
    return lambda: needs.set_status(session, actor, bisogno, "ritirato")


def spotlight(session, w, role, actor):
    bisogno = add_bisogno(session, w)
    start_live(session, w)
    return lambda: needs.spotlight(session, actor, w.seduta, bisogno.id)


def annotate(session, w, role, actor):
    bisogno = add_bisogno(session, w)
    return lambda: needs.add_annotation(session, actor, bisogno, "proposta", "Un centro diurno.")[1]


def reply(session, w, role, actor):
    parent = _annotation_of(session, w, _other(w, role))
    return lambda: needs.add_annotation(session, actor, parent.bisogno, "esperienza", "Confermo.",
                                        parent_id=parent.id)[1]


def support(session, w, role, actor):
    annotation = _annotation_of(session, w, _other(w, role))
    return lambda: needs.toggle_support(session, actor, annotation, True)


def delete_own_annotation(session, w, role, actor):
    annotation = _annotation_of(session, w, actor)
    return lambda: needs.delete_annotation(session, actor, annotation)


def moderate_with_reason(session, w, role, actor):
    target = _annotation_of(session, w, _other(w, role))
    return lambda: needs.delete_annotation(session, actor, target, "Contiene dati personali di terzi.")


SAME_ORG_OR_FACILITATOR = FACILITATORS | {"delegate", "colleague"}

# action -> (roles allowed, event kind, message of the 403)
ACTIONS = {
    create_bisogno: (CONTRIBUTORS, "bisogno.created", MSG_CONTRIBUTE),
    edit_own_bisogno: (CONTRIBUTORS, "bisogno.updated", MSG_EDIT),
    # colleague: same organisation as the author; delegate gets delegate2's bisogno here
    edit_delegates_bisogno: (FACILITATORS | {"colleague"}, "bisogno.updated", MSG_EDIT),
    set_status: (FACILITATORS, "bisogno.status", MSG_FACILITATE),
    merge: (FACILITATORS, "bisogno.merged", MSG_FACILITATE),
    withdraw_delegates_bisogno: (SAME_ORG_OR_FACILITATOR, "bisogno.status", MSG_WITHDRAW),
    spotlight: (FACILITATORS, "spotlight.set", MSG_FACILITATE),
    annotate: (CONTRIBUTORS, "annotation.created", MSG_CONTRIBUTE),
    reply: (CONTRIBUTORS, "annotation.created", MSG_CONTRIBUTE),
    support: (CONTRIBUTORS, "annotation.supported", MSG_CONTRIBUTE),
    # an observer may withdraw words written when a delegate; an outsider is no longer at the tavolo
    delete_own_annotation: (CONTRIBUTORS | {"observer"}, "annotation.deleted", MSG_FACILITATE),
    moderate_with_reason: (FACILITATORS, "annotation.deleted", MSG_FACILITATE),
}



@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS), ids=lambda f: f.__name__)
def test_permission_table(session, world, role, action):
    allowed, kind, message = ACTIONS[action]
    actor = user(world, role)
    tavolo_id = world.tavolo.id
    run = action(session, world, role, actor)
    before = record.last_seq(session, tavolo_id)
    if role in allowed:
        event = run()
        session.commit()
        one_event(session, tavolo_id, before, event, kind, actor)
    else:
        refused(session, run, "forbidden", 403, message)


@pytest.mark.parametrize("role", ROLES)
def test_moderation_without_reason(session, world, role):
    """Facilitators must give a reason (422); anybody else is refused before that (403)."""
    target = _annotation_of(session, world, _other(world, role))
    actor = user(world, role)
    if role in FACILITATORS:
        refused(session, lambda: needs.delete_annotation(session, actor, target, "   "),
                "invalid", 422, "Motivazione", "obbligatorio")
    else:
        refused(session, lambda: needs.delete_annotation(session, actor, target, ""),
                "forbidden", 403, MSG_FACILITATE)
    assert session.get(Annotation, target.id).deleted_at is None


def test_colleague_may_edit_and_withdraw_for_the_organisation(session, world):
    bisogno = add_bisogno(session, world, world.delegate)
    needs.update_bisogno(session, world.colleague, bisogno, {"title": "Riformulato dal collega"})
    needs.set_status(session, world.colleague, bisogno, "ritirato")
    session.commit()
    row = session.get(Bisogno, bisogno.id)
    assert (row.title, row.status, row.author_id) == ("Riformulato dal collega", "ritirato", world.delegate.id)
    assert [v.author_id for v in row.versions] == [world.delegate.id, world.colleague.id, world.colleague.id]
