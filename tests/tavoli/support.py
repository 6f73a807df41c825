"""Helpers for the service suites of tavoli and needs: named roles, counting what a tavolo write
leaves behind, one event per write. (Refusals: ``tests.helpers.refused``.)"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.world import World, bisogno_data
from workspace import record
from workspace.db import utcnow
from workspace.needs import service as needs
from workspace.needs.models import Annotation, AnnotationSupport, Bisogno, BisognoVersion
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Presence, Seduta, Tavolo, TavoloMember, TavoloRole

ROLES = ("facilitator", "delegate", "colleague", "delegate2", "observer", "outsider", "admin")
CONTRIBUTORS = frozenset({"facilitator", "delegate", "colleague", "delegate2", "admin"})
FACILITATORS = frozenset({"facilitator", "admin"})
VIEWERS = frozenset(ROLES) - {"outsider"}

MSG_VIEW = "Non fai parte di questo tavolo."
MSG_CONTRIBUTE = "Solo i facilitatori e i delegati delle organizzazioni del tavolo possono contribuire."
MSG_FACILITATE = "Solo i facilitatori del tavolo possono farlo."
MSG_EDIT = "Può modificare il bisogno solo chi lo ha proposto, la sua organizzazione o un facilitatore."
MSG_WITHDRAW = "Può ritirare il bisogno solo chi lo ha proposto, la sua organizzazione o un facilitatore."


def footprint(session, tavolo_id: int) -> dict[str, int]:
    """Everything a tavolo write can leave behind, counted."""
    def count(model, *where):
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "last_seq": record.last_seq(session, tavolo_id),
        "events": count(record.TavoloEvent, record.TavoloEvent.tavolo_id == tavolo_id),
        "bisogni": count(Bisogno),
        "versions": count(BisognoVersion),
        "annotations": count(Annotation),
        "deleted_annotations": count(Annotation, Annotation.deleted_at.is_not(None)),
        "supports": count(AnnotationSupport),
        "presences": count(Presence),
        "open_presences": count(Presence, Presence.left_at.is_(None)),
        "sedute_live": count(Seduta, Seduta.status == "in_corso"),
        "tavoli": count(Tavolo),
        "members": count(TavoloMember),
        "roles": count(TavoloRole),
        "all_events": count(record.TavoloEvent),
    }


def one_event(session, tavolo_id: int, before: int, event, kind: str, actor) -> None:
    """A write appended exactly one event: the next number, of this kind, by this actor."""
    assert isinstance(event, record.TavoloEvent)
    assert (event.seq, event.kind, event.actor_id) == (before + 1, kind, actor.id)
    assert record.last_seq(session, tavolo_id) == before + 1


def user(world: World, role: str):
    return getattr(world, role)


def start_live(session, world: World) -> Seduta:
    tavoli.start_seduta(session, world.facilitator, world.seduta)
    session.commit()
    return world.seduta


def close_window(session, world: World) -> None:
    """Contributions between sedute closed: the window ended yesterday."""
    now = utcnow()
    world.tavolo.contribution_opens_at = now - timedelta(days=10)
    world.tavolo.contribution_closes_at = now - timedelta(days=1)
    session.commit()


def second_tavolo(session, world: World):
    """Another tavolo of the same procedure (macroarea A), with the same facilitator and delegate,
    its own seduta, a bisogno and an annotation."""
    now = utcnow()
    other = membership.create_tavolo(session, world.admin, world.tavolo.procedure, "Tavolo minori e famiglie", ["A"],
                                     opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10))
    membership.set_role(session, world.admin, other, world.facilitator, "facilitator")
    membership.set_role(session, world.admin, other, world.delegate, "delegate", world.ets)
    seduta = tavoli.create_seduta(session, world.facilitator, other, now + timedelta(hours=2), "Sala B",
                                  "presenza", ["Unico punto"])
    bisogno, _ = needs.create_bisogno(session, world.delegate, other, bisogno_data(macroarea="A"))
    annotation, _ = needs.add_annotation(session, world.delegate, bisogno, "dato", "Un dato dell'altro tavolo")
    session.commit()
    return other, seduta, bisogno, annotation

