"""Helpers of the voting suites: the voting world (the test tavolo with four bisogni), extra
delegates, rounds made and opened through the service, ballots, and a count of what votes write."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from tests.world import World, add_bisogno, build_world, make_person
from workspace import record
from workspace.accounts.models import Organisation
from workspace.db import utcnow
from workspace.tavoli import membership
from workspace.voting import ballots, rounds
from workspace.voting.models import (
    ConflictDeclaration,
    OpenBallot,
    Participation,
    PooledBallot,
    SecretBallot,
    VoteOperation,
    VoteRound,
    VoteRoundItem,
)


@dataclass
class VotingWorld:
    w: World
    bisogni: list[int]
    extra: dict[str, list] = field(default_factory=dict)

    def __getattr__(self, name):
        return getattr(self.w, name)


def voting_world(session) -> VotingWorld:
    """The test tavolo (tests/world.py) with four bisogni. Default electorate per person: delegate,
    colleague (both Associazione Alfa, ETS) and delegate2 (Cooperativa Beta, ETS)."""
    w = build_world(session)
    titles = ["Solitudine degli anziani", "Trasporto sociale", "Caregiver familiari", "Demenze e Alzheimer"]
    ids = [add_bisogno(session, w, w.delegate, title=t).id for t in titles]
    return VotingWorld(w, ids)


def add_delegates(session, vw: VotingWorld, kind: str, count: int, prefix: str) -> list:
    """``count`` delegates, each of a new organisation of ``kind`` (for breakdown tests)."""
    people = []
    for n in range(count):
        org = Organisation(name=f"{prefix} {n}", kind=kind, ambito_code="50008")
        session.add(org)
        session.flush()
        person = make_person(session, f"{prefix} persona {n}", f"{prefix.lower().replace(' ', '')}{n}@prova.example.org",
                             org)
        membership.set_role(session, vw.w.admin, vw.w.tavolo, person, "delegate", org)
        people.append(person)
    session.commit()
    vw.extra[prefix] = people
    return people


def make_round(session, vw: VotingWorld, open_it: bool = True, **kw) -> VoteRound:
    """A round on all four bisogni: dot voting (10 points), asynchronous, closing in a day."""
    kw.setdefault("title", "Priorità del tavolo")
    kw.setdefault("method", "dot")
    kw.setdefault("bisogni", list(vw.bisogni))
    if "seduta" not in kw:
        kw.setdefault("closes_at", utcnow() + timedelta(days=1))
    vote, _ = rounds.create_round(session, vw.w.facilitator, vw.w.tavolo, **kw)
    session.commit()
    if open_it:
        rounds.open_round(session, vw.w.facilitator, vote)
        session.commit()
    return vote


def cast(session, user, vote, content, **kw) -> dict:
    receipt = ballots.cast_ballot(session, user, vote, content, **kw)
    session.commit()
    return receipt


def pts(vw: VotingWorld, *values: int) -> dict:
    """A dot ballot giving ``values`` to the bisogni in order."""
    return {"points": {str(b): v for b, v in zip(vw.bisogni, values, strict=False) if v}}


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def footprint(session, tavolo_id: int) -> dict[str, int]:
    return {
        "seq": record.last_seq(session, tavolo_id),
        "rounds": count(session, VoteRound),
        "items": count(session, VoteRoundItem),
        "open": count(session, OpenBallot),
        "secret": count(session, SecretBallot) + count(session, PooledBallot),
        "participation": count(session, Participation),
        "operations": count(session, VoteOperation),
        "conflicts": count(session, ConflictDeclaration),
    }


def kendall_tau(order: list, reference: list) -> float:
    """Kendall's rank correlation between two orders of the same items: 1 the same order, -1 the
    reverse, around 0 unrelated (a random order: standard deviation about 0.19 for 16 items)."""
    rank = {item: n for n, item in enumerate(reference)}
    assert sorted(rank) == sorted(order) and len(rank) == len(order), "not the same items"
    positions = [rank[item] for item in order]
    n = len(positions)
    concordant = sum(1 if positions[i] < positions[j] else -1 for i in range(n) for j in range(i + 1, n))
    return concordant / (n * (n - 1) / 2)
