"""Who may vote in a round, and who has.

The electorate is a set of *voter keys*: ``u:<user id>`` per person, ``o:<organisation id>`` per
organisation (the round's ballot unit). Eligible by default: the tavolo's delegates; observers
unless excluded (excluded by default); facilitators only when included; never people whose
organisation's kind is excluded. A draft previews the electorate from the tavolo's current roles;
opening a round freezes it (``{"voters": {key: group}}``), with each key's breakdown group (ETS,
public bodies, others). Every voter key has the same weight: one ballot each.

``vote_participation`` records who voted (for turnout and "one ballot each"); it names no ballot.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from workspace.accounts.models import ORGANISATION_KINDS, Membership, Organisation, User
from workspace.i18n import gettext as _
from workspace.problems import Problem, forbidden, invalid
from workspace.tavoli import permissions
from workspace.tavoli.models import TavoloRole
from workspace.voting.models import Participation, VoteRound

DEFAULT_ELIGIBILITY: dict[str, Any] = {"exclude_observers": True, "include_facilitators": False,
                                       "excluded_kinds": []}
PUBLIC_KINDS = frozenset({"comune", "ufficio_di_piano", "asst", "ats", "scuola"})


def group_of(kind: str | None) -> str:
    """The breakdown group of an organisation kind: ETS, public bodies, others."""
    if kind == "ets":
        return "ets"
    if kind in PUBLIC_KINDS:
        return "pubblico"
    return "altri"


def check_eligibility(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The eligibility rules of a draft, completed with the defaults, or an Italian refusal."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(DEFAULT_ELIGIBILITY))
    if unknown:
        raise invalid(_("Regola di ammissione al voto non prevista: %(k)s.", k=", ".join(unknown)))
    result = {**DEFAULT_ELIGIBILITY, **raw}
    for key in ("exclude_observers", "include_facilitators"):
        if not isinstance(result[key], bool):
            raise invalid(_("Regola di ammissione al voto non valida: «%(k)s» è vero o falso.", k=key))
    kinds = result["excluded_kinds"]
    if not isinstance(kinds, list | tuple) or any(k not in ORGANISATION_KINDS for k in kinds):
        raise invalid(_("Tipo di organizzazione da escludere non valido: scegliere fra %(k)s.",
                        k=", ".join(ORGANISATION_KINDS)))
    result["excluded_kinds"] = sorted(set(kinds))
    return result


def eligibility_of(vote: VoteRound) -> dict[str, Any]:
    """The round's eligibility rules, defaults included."""
    return {**DEFAULT_ELIGIBILITY, **(vote.eligibility or {})}


@dataclass(frozen=True)
class Voter:
    """Who a ballot counts for: the key (person or organisation), who casts it, and their group."""

    key: str
    user_id: int
    organisation_id: int | None
    group: str

    @property
    def unit(self) -> str:
        """"organisation" or "person"."""
        return "organisation" if self.key.startswith("o:") else "person"


def _role_organisation(role: TavoloRole) -> Organisation | None:
    if role.organisation is not None:
        return role.organisation
    organisations = role.user.organisations if role.user else []
    return organisations[0] if organisations else None


def _voter_of_role(vote: VoteRound, role: TavoloRole) -> Voter | None:
    org = _role_organisation(role)
    return _voter(vote, role.role, role.user_id, org.id if org else None, org.kind if org else None)


def _voter(vote: VoteRound, role: str, user_id: int, org_id: int | None, org_kind: str | None) -> Voter | None:
    """The voter a person with ``role`` speaking for organisation ``org_id`` (of ``org_kind``) is."""
    rules = eligibility_of(vote)
    if role == "observer" and rules["exclude_observers"]:
        return None
    if role == "facilitator" and not rules["include_facilitators"]:
        return None
    if org_id is not None and org_kind in rules["excluded_kinds"]:
        return None
    if vote.ballot_unit == "organisation":
        if org_id is None:
            return None
        key = f"o:{org_id}"
    else:
        key = f"u:{user_id}"
    return Voter(key, user_id, org_id, group_of(org_kind if org_id is not None else None))


def compute_electorate(session: Session, vote: VoteRound) -> dict[str, str]:
    """Voter key -> group, by the round's rules over the tavolo's current roles."""
    voters: dict[str, str] = {}
    roles = session.scalars(select(TavoloRole).where(TavoloRole.tavolo_id == vote.tavolo_id).order_by(TavoloRole.id))
    for role in roles:
        voter = _voter_of_role(vote, role)
        if voter is not None:
            voters.setdefault(voter.key, voter.group)
    return voters


def electorate(session: Session, vote: VoteRound) -> dict[str, str]:
    """The frozen electorate of an opened round; a preview for a draft."""
    if vote.electorate is not None:
        return dict(vote.electorate.get("voters", {}))
    return compute_electorate(session, vote)


def find_voter(session: Session, vote: VoteRound, user: User) -> Voter | None:
    """The voter ``user`` acts as in this round, or None if they may not vote in it."""
    return voter_from_role(vote, permissions.tavolo_role(session, user, vote.tavolo_id))


def roles_and_voters(session: Session, vote: VoteRound, user_ids: Iterable[int]
                     ) -> dict[int, tuple[str, Voter | None]]:
    """Several people at once: their role at the round's tavolo and the voter each is in the round
    (what ``permissions.tavolo_role`` and :func:`find_voter` give one by one), in one query of
    plain columns. People without a role are left out."""
    role_org = aliased(Organisation)
    member_org = aliased(Organisation)
    rows = session.execute(
        select(TavoloRole.user_id, TavoloRole.role, role_org.id, role_org.kind, member_org.id, member_org.kind)
        .outerjoin(role_org, role_org.id == TavoloRole.organisation_id)
        .outerjoin(Membership, Membership.user_id == TavoloRole.user_id)
        .outerjoin(member_org, member_org.id == Membership.organisation_id)
        .where(TavoloRole.tavolo_id == vote.tavolo_id, TavoloRole.user_id.in_(set(user_ids)))
        .order_by(TavoloRole.user_id, Membership.id))
    out: dict[int, tuple[str, Voter | None]] = {}
    for user_id, role, role_org_id, role_kind, member_id, member_kind in rows:
        if user_id in out:  # the first membership is the one that counts (``User.organisations[0]``)
            continue
        org_id, kind = (role_org_id, role_kind) if role_org_id is not None else (member_id, member_kind)
        out[user_id] = (role, _frozen(vote, _voter(vote, role, user_id, org_id, kind)))
    return out


def voter_from_role(vote: VoteRound, role: TavoloRole | None) -> Voter | None:
    """The voter a role makes of its person in this round (``find_voter`` without the lookup)."""
    return _frozen(vote, _voter_of_role(vote, role) if role is not None else None)


def _frozen(vote: VoteRound, voter: Voter | None) -> Voter | None:
    """The voter as the electorate frozen at opening has them (None if they are not in it)."""
    if voter is None or vote.electorate is None:
        return voter
    frozen = vote.electorate.get("voters", {})
    if voter.key not in frozen:
        return None
    return Voter(voter.key, voter.user_id, voter.organisation_id, frozen[voter.key])


def not_a_voter() -> Problem:
    """The refusal of someone who may not vote in the round."""
    return forbidden(_("Non sei fra gli aventi diritto al voto in questa votazione."))


def voter_for(session: Session, vote: VoteRound, user: User) -> Voter:
    """The voter ``user`` acts as in this round, or a 403 saying they may not vote."""
    voter = find_voter(session, vote, user)
    if voter is None:
        raise not_a_voter()
    return voter


def has_voted(session: Session, vote: VoteRound, key: str) -> bool:
    """Whether the voter key has a counted ballot in the round."""
    return session.scalar(select(Participation.id).where(Participation.round_id == vote.id,
                                                         Participation.voter_key == key)) is not None


def turnout(session: Session, vote: VoteRound) -> dict[str, Any]:
    """Ballots cast against the electorate: ``{"voted", "eligible", "percent"}``."""
    voted = session.scalar(select(func.count()).select_from(Participation)
                           .where(Participation.round_id == vote.id)) or 0
    eligible = len(electorate(session, vote))
    return {"voted": voted, "eligible": eligible,
            "percent": round(100 * voted / eligible, 1) if eligible else 0.0}
