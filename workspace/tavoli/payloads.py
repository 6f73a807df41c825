"""Tavoli, sedute, presences, members and roles as JSON: the payloads of the tavolo's events and
the tavoli part of the live snapshot (docs/live-protocol.md, §4). Only the tavolo's participants
receive them (the live channel); there is no public variant yet.

A payload that names a person carries their ``user_id`` beside the ``name``, so the privacy
area's pseudonymisation finds and rewrites it in the recorded events.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from workspace.tavoli.models import Presence, Seduta, Tavolo, TavoloMember, TavoloRole


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def tavolo_payload(tavolo: Tavolo) -> dict[str, Any]:
    return {
        "id": tavolo.id,
        "procedure_id": tavolo.procedure_id,
        "title": tavolo.title,
        "description": tavolo.description,
        "macroaree": [m.code for m in tavolo.macroaree],
        "contribution_opens_at": _iso(tavolo.contribution_opens_at),
        "contribution_closes_at": _iso(tavolo.contribution_closes_at),
        "quorum_percent": tavolo.quorum_percent,
    }


def seduta_payload(seduta: Seduta) -> dict[str, Any]:
    return {
        "id": seduta.id,
        "tavolo_id": seduta.tavolo_id,
        "number": seduta.number,
        "starts_at": seduta.starts_at.isoformat(),
        "place": seduta.place,
        "mode": seduta.mode,
        "status": seduta.status,
        "started_at": _iso(seduta.started_at),
        "closed_at": _iso(seduta.closed_at),
        "agenda": [{"id": i.id, "position": i.position, "title": i.title} for i in seduta.agenda],
        "current_item_id": seduta.current_item_id,
        "spotlight_bisogno_id": seduta.spotlight_bisogno_id,
        "timer": {"ends_at": _iso(seduta.timer_ends_at), "label": seduta.timer_label},
    }


def presence_payload(p: Presence, user: Any = None, organisation: Any = None) -> dict[str, Any]:
    """``user`` and ``organisation``, when the caller has them already, save loading them."""
    user = user if user is not None else p.user
    organisation = organisation if organisation is not None else p.organisation
    return {
        "id": p.id,
        "seduta_id": p.seduta_id,
        "user_id": p.user_id,
        "name": user.name if user else None,
        "organisation": organisation.name if organisation else None,
        "role": p.role,
        "mode": p.mode,
        "source": p.source,
        "joined_at": p.joined_at.isoformat(),
        "left_at": _iso(p.left_at),
    }


def member_payload(member: TavoloMember) -> dict[str, Any]:
    """A member organisation of the tavolo."""
    return {
        "tavolo_id": member.tavolo_id,
        "organisation_id": member.organisation_id,
        "organisation": member.organisation.name,
    }


def role_payload(role: TavoloRole) -> dict[str, Any]:
    """A person's role at the tavolo (for delegates, the organisation they speak for)."""
    return {
        "tavolo_id": role.tavolo_id,
        "user_id": role.user_id,
        "name": role.user.name,
        "role": role.role,
        "organisation_id": role.organisation_id,
        "organisation": role.organisation.name if role.organisation else None,
    }
