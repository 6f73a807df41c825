"""Who sits at a tavolo (workspace/tavoli/membership.py): instituting a tavolo, member
organisations and people's roles go through the write path — the Ufficio di Piano's permission,
validation before writing, one numbered event per change (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import refused
from tests.tavoli.support import start_live
from tests.world import make_person
from workspace import record, signals
from workspace.accounts.models import Organisation
from workspace.db import utcnow
from workspace.problems import Problem
from workspace.tavoli import membership, permissions
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Presence, Tavolo, TavoloMember, TavoloRole

MSG_MANAGE = "Solo gli amministratori dell'Ufficio di Piano possono istituire i tavoli e deciderne membri e ruoli."
NOT_ADMINS = ("facilitator", "delegate", "observer", "outsider")


def _events(session, tavolo_id: int, after: int) -> list[record.TavoloEvent]:
    return [e for e in record.events_between(session, tavolo_id) if e.seq > after]


def _new_org(session, name: str = "Fondazione Delta (prova)") -> Organisation:
    org = Organisation(name=name, kind="fondazione", ambito_code="50008")
    session.add(org)
    session.commit()
    return org


# --- instituting a tavolo ---------------------------------------------------------------------------------


def test_admin_institutes_a_tavolo_with_its_first_event(session, world):
    now = utcnow()
    tavolo = membership.create_tavolo(session, world.admin, world.tavolo.procedure, "  Tavolo disabilità  ",
                                      ["F"], description="Persone con disabilità", opens_at=now,
                                      closes_at=now + timedelta(days=3), quorum_percent=60)
    session.commit()
    (event,) = record.events_between(session, tavolo.id)
    assert (event.seq, event.kind, event.actor_id) == (1, "tavolo.created", world.admin.id)
    assert event.payload == {
        "id": tavolo.id, "procedure_id": world.tavolo.procedure_id, "title": "Tavolo disabilità",
        "description": "Persone con disabilità", "macroaree": ["F"],
        "contribution_opens_at": tavolo.contribution_opens_at.isoformat(),
        "contribution_closes_at": tavolo.contribution_closes_at.isoformat(), "quorum_percent": 60}


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_only_administrators_institute_tavoli(session, world, who):
    refused(session, lambda: membership.create_tavolo(session, getattr(world, who), world.tavolo.procedure, "Tavolo abusivo", ["E"]), "forbidden", 403, MSG_MANAGE)


@pytest.mark.parametrize(("title", "macroaree", "window", "quorum", "fragment"), [
    ("   ", ["E"], None, 50, "titolo del tavolo è obbligatorio"),
    ("Tavolo", [], None, 50, "almeno una macroarea"),
    ("Tavolo", ["Z"], None, 50, "Macroarea non valida"),
    ("Tavolo", ["E"], -1, 50, "deve chiudersi dopo l'apertura"),
    ("Tavolo", ["E"], None, 0, "percentuale fra 1 e 100"),
    ("Tavolo", ["E"], None, 101, "percentuale fra 1 e 100"),
])
def test_invalid_tavolo_writes_nothing(session, world, title, macroaree, window, quorum, fragment):
    now = utcnow()
    closes = now + timedelta(days=window) if window is not None else None
    refused(session, lambda: membership.create_tavolo(session, world.admin, world.tavolo.procedure, title, macroaree,
                                     opens_at=now if window is not None else None, closes_at=closes,
                                     quorum_percent=quorum), "invalid", 422, fragment)


def test_procedure_lookup(session, world):
    assert membership.get_procedure(session, world.tavolo.procedure_id) is world.tavolo.procedure
    with pytest.raises(Problem) as caught:
        membership.get_procedure(session, 987_654)
    assert (caught.value.status, caught.value.message) == (404, "Procedura inesistente.")


# --- member organisations ---------------------------------------------------------------------------------


def test_adding_a_member_is_recorded_once(session, world):
    org = _new_org(session)
    before = record.last_seq(session, world.tavolo.id)
    membership.add_member(session, world.admin, world.tavolo, org)
    membership.add_member(session, world.admin, world.tavolo, org)  # already a member: no change, no event
    session.commit()
    (event,) = _events(session, world.tavolo.id, before)
    assert (event.seq, event.kind, event.actor_id) == (before + 1, "member.added", world.admin.id)
    assert event.payload == {"tavolo_id": world.tavolo.id, "organisation_id": org.id, "organisation": org.name,
                             "seduta_id": None, "quorum": None}


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_only_administrators_add_members(session, world, who):
    org = _new_org(session)
    refused(session, lambda: membership.add_member(session, getattr(world, who), world.tavolo, org), "forbidden", 403, MSG_MANAGE)


def test_members_move_the_quorum_of_a_live_seduta(session, world):
    seduta = start_live(session, world)
    tavoli.presence_join(session, world.delegate, seduta)
    session.commit()
    org = _new_org(session)
    assert tavoli.quorum(session, seduta)["organisations_total"] == 2
    before = record.last_seq(session, world.tavolo.id)
    membership.add_member(session, world.admin, world.tavolo, org)
    session.commit()
    (added,) = _events(session, world.tavolo.id, before)
    assert added.payload["seduta_id"] == seduta.id
    assert (added.payload["quorum"]["organisations_present"], added.payload["quorum"]["organisations_total"]) == (1, 3)
    assert added.payload["quorum"] == tavoli.quorum(session, seduta)
    removed = membership.remove_member(session, world.admin, world.tavolo, org)
    session.commit()
    assert removed.kind == "member.removed" and removed.payload["quorum"]["organisations_total"] == 2


def test_a_member_with_delegates_is_not_removed(session, world):
    refused(session, lambda: membership.remove_member(session, world.admin, world.tavolo, world.ets), "conflict", 409, "togliere il ruolo ai suoi delegati", "Carlo Collega, Delia Delegata")
    membership.remove_role(session, world.admin, world.tavolo, world.delegate)
    membership.remove_role(session, world.admin, world.tavolo, world.colleague)
    before = record.last_seq(session, world.tavolo.id)
    event = membership.remove_member(session, world.admin, world.tavolo, world.ets)
    session.commit()
    assert (event.seq, event.kind) == (before + 1, "member.removed")
    assert event.payload["organisation_id"] == world.ets.id
    assert session.scalar(select(TavoloMember).where(TavoloMember.tavolo_id == world.tavolo.id,
                                                     TavoloMember.organisation_id == world.ets.id)) is None
    refused(session, lambda: membership.remove_member(session, world.admin, world.tavolo, world.ets), "not_found", 404, "non è membro del tavolo")


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_only_administrators_remove_members(session, world, who):
    org = _new_org(session)
    membership.add_member(session, world.admin, world.tavolo, org)
    session.commit()
    refused(session, lambda: membership.remove_member(session, getattr(world, who), world.tavolo, org), "forbidden", 403, MSG_MANAGE)


# --- people's roles ---------------------------------------------------------------------------------------


def test_a_new_delegate_brings_their_organisation_in(session, world):
    org = _new_org(session)
    person = make_person(session, "Nadia Nuova", "nuova@prova.example.org", org)
    session.commit()
    before = record.last_seq(session, world.tavolo.id)
    role = membership.set_role(session, world.admin, world.tavolo, person, "delegate", org)
    session.commit()
    added, given = _events(session, world.tavolo.id, before)
    assert (added.seq, added.kind, given.seq, given.kind) == (before + 1, "member.added", before + 2, "role.set")
    assert given.actor_id == world.admin.id
    assert given.payload == {"tavolo_id": world.tavolo.id, "user_id": person.id, "name": "Nadia Nuova",
                             "role": "delegate", "organisation_id": org.id, "organisation": org.name,
                             "previous": None}
    assert role.role == "delegate" and permissions.can(session, person, "contribute", world.tavolo.id)


def test_changing_a_role_records_the_previous_one_and_the_same_role_records_nothing(session, world):
    before = record.last_seq(session, world.tavolo.id)
    membership.set_role(session, world.admin, world.tavolo, world.delegate, "delegate", world.ets)  # unchanged
    session.commit()
    assert record.last_seq(session, world.tavolo.id) == before
    membership.set_role(session, world.admin, world.tavolo, world.delegate, "observer")
    session.commit()
    (event,) = _events(session, world.tavolo.id, before)
    assert (event.kind, event.payload["role"], event.payload["previous"]) == ("role.set", "observer", "delegate")
    assert event.payload["organisation_id"] is None
    assert not permissions.can(session, world.delegate, "contribute", world.tavolo.id)
    assert permissions.can(session, world.delegate, "view", world.tavolo.id)


@pytest.mark.parametrize(("role", "with_org", "fragment"), [
    ("presidente", False, "Ruolo non valido"),
    ("", False, "Ruolo non valido"),
    ("delegate", False, "Un delegato rappresenta un'organizzazione"),
])
def test_invalid_roles_write_nothing(session, world, role, with_org, fragment):
    refused(session, lambda: membership.set_role(session, world.admin, world.tavolo, world.outsider, role,
                                world.ets if with_org else None), "invalid", 422, fragment)


def test_an_inactive_account_gets_no_role(session, world):
    world.outsider.active = False
    session.commit()
    refused(session, lambda: membership.set_role(session, world.admin, world.tavolo, world.outsider, "observer"), "invalid", 422, "non ha un account attivo")


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_facilitators_and_others_do_not_give_roles(session, world, who):
    refused(session, lambda: membership.set_role(session, getattr(world, who), world.tavolo, world.outsider, "facilitator"), "forbidden", 403, MSG_MANAGE)


def test_a_removed_person_is_refused_from_then_on(session, world):
    from workspace.needs import service as needs

    before = record.last_seq(session, world.tavolo.id)
    event = membership.remove_role(session, world.admin, world.tavolo, world.delegate2)
    session.commit()
    assert (event.seq, event.kind, event.actor_id) == (before + 1, "role.removed", world.admin.id)
    assert event.payload == {"tavolo_id": world.tavolo.id, "user_id": world.delegate2.id, "name": "Dario Delegato",
                             "role": "delegate", "organisation_id": world.ets2.id,
                             "organisation": world.ets2.name, "presence_id": None, "seduta_id": None,
                             "quorum": None}
    assert permissions.role_name(session, world.delegate2, world.tavolo.id) is None
    refused(session, lambda: permissions.require(session, world.delegate2, "view", world.tavolo.id), "forbidden", 403, "Non fai parte di questo tavolo.")
    refused(session, lambda: needs.create_bisogno(session, world.delegate2, world.tavolo, {"title": "Dopo l'uscita", "macroarea": "E"}), "forbidden", 403, "contribuire")
    # The organisation stays a member: only the person left.
    assert session.scalar(select(TavoloMember).where(TavoloMember.organisation_id == world.ets2.id)) is not None
    refused(session, lambda: membership.remove_role(session, world.admin, world.tavolo, world.delegate2), "not_found", 404, "Dario Delegato non ha un ruolo a questo tavolo.")


def test_removing_a_present_person_ends_their_presence(session, world):
    seduta = start_live(session, world)
    tavoli.presence_join(session, world.delegate2, seduta)
    session.commit()
    event = membership.remove_role(session, world.admin, world.tavolo, world.delegate2)
    session.commit()
    presence = session.scalar(select(Presence).where(Presence.user_id == world.delegate2.id))
    assert presence.left_at is not None
    assert event.payload["presence_id"] == presence.id
    assert event.payload["seduta_id"] == seduta.id
    assert event.payload["quorum"] == tavoli.quorum(session, seduta)
    assert event.payload["quorum"]["people_present"] == 0


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_only_administrators_remove_roles(session, world, who):
    refused(session, lambda: membership.remove_role(session, getattr(world, who), world.tavolo, world.observer), "forbidden", 403, MSG_MANAGE)


# --- admissions (called by the procedures area) -------------------------------------------------------------


def test_admission_makes_member_and_delegate_but_keeps_another_role(session, world):
    org = _new_org(session)
    newcomer = make_person(session, "Nadia Nuova", "nuova@prova.example.org", org)
    session.commit()
    before = record.last_seq(session, world.tavolo.id)
    membership.admit_organisation(session, world.admin, world.tavolo, org, newcomer)
    membership.admit_organisation(session, world.admin, world.tavolo, org, world.facilitator)
    membership.admit_organisation(session, world.admin, world.tavolo, org, newcomer)  # nothing new
    session.commit()
    assert [e.kind for e in _events(session, world.tavolo.id, before)] == ["member.added", "role.set"]
    roles = dict(session.execute(select(TavoloRole.user_id, TavoloRole.role)
                                 .where(TavoloRole.tavolo_id == world.tavolo.id)).all())
    assert roles[newcomer.id] == "delegate" and roles[world.facilitator.id] == "facilitator"


# --- the record's listeners ---------------------------------------------------------------------------------


def test_membership_events_reach_the_listeners_of_the_record(session, world):
    """The audit trail listens to ``signals.event_recorded``: role changes reach it like any event."""
    heard: list[tuple[str, int]] = []

    def listener(_session, event):
        heard.append((event.kind, event.actor_id))

    signals.event_recorded.connect(listener)
    try:
        org = _new_org(session)
        tavolo = membership.create_tavolo(session, world.admin, world.tavolo.procedure, "Tavolo ascoltato", ["E"])
        membership.set_role(session, world.admin, tavolo, world.delegate, "delegate", org)
        membership.remove_role(session, world.admin, tavolo, world.delegate)
        membership.remove_member(session, world.admin, tavolo, org)
        session.commit()
    finally:
        signals.event_recorded.disconnect(listener)
    assert heard == [(kind, world.admin.id) for kind in
                     ("tavolo.created", "member.added", "role.set", "role.removed", "member.removed")]
    assert session.scalar(select(Tavolo).where(Tavolo.title == "Tavolo ascoltato")) is not None


def test_names_in_role_events_are_pseudonymised_with_the_person(session, world):
    """Role payloads carry ``user_id`` beside ``name``: the privacy area rewrites that name."""
    from workspace.privacy.service import Scrubber

    event = membership.remove_role(session, world.admin, world.tavolo, world.observer)
    scrubber = Scrubber(world.observer.id, world.observer.name, world.observer.email, "Persona eliminata",
                        "eliminata@example.invalid")
    assert scrubber.json(event.payload)["name"] == "Persona eliminata"


def test_only_a_delegates_organisation_becomes_a_member(session, world):
    """An observer may be named with their organisation (a union, say): it observes, it is no member."""
    union = _new_org(session, "Sindacato Epsilon (prova)")
    person = make_person(session, "Ugo Uditore", "ugo@prova.example.org", union)
    session.commit()
    before = record.last_seq(session, world.tavolo.id)
    membership.set_role(session, world.admin, world.tavolo, person, "observer", union)
    session.commit()
    assert [e.kind for e in _events(session, world.tavolo.id, before)] == ["role.set"]
    assert session.scalar(select(TavoloMember).where(TavoloMember.organisation_id == union.id)) is None
