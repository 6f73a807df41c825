"""Helpers of the planning suites: a tavolo with four bisogni, a closed vote on them, and the values
of a complete scheda obiettivo."""
from __future__ import annotations

from sqlalchemy import select

from tests.voting.support import VotingWorld, cast, make_round, pts, voting_world
from workspace.planning import schema
from workspace.reference.models import KeyPoint
from workspace.voting import rounds


def closed_world(session) -> tuple[VotingWorld, int]:
    """The voting world with a closed dot round: ranking 2nd bisogno (14), 1st (9), 3rd (4), 4th (0)."""
    vw = voting_world(session)
    vote = make_round(session, vw)
    for person, ballot in zip((vw.delegate, vw.colleague, vw.delegate2),
                              (pts(vw, 6, 4), pts(vw, 0, 10), pts(vw, 3, 0, 4)), strict=True):
        cast(session, person, vote, ballot)
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    return vw, vote.id


def key_point(session, code: str, n: int = 0) -> str:
    return list(session.scalars(select(KeyPoint.text).where(KeyPoint.macroarea_code == code)
                                .order_by(KeyPoint.position)))[n]


def complete_values(session, code: str = "E") -> dict:
    """Every one of the 26 fields filled in, valid for macroarea ``code``."""
    values: dict = {}
    for f in schema.fields():
        kind = f["type"]
        if kind == "text":
            values[f["id"]] = ["Azione uno", "Azione due"] if f.get("multi") else f"Testo per {f['id']}"
        elif kind == "money":
            values[f["id"]] = {"public": 120000, "private": 15000.5}
        elif kind == "list_of_macroaree":
            values[f["id"]] = {"answer": "NO", "macroaree": []}
        elif kind == "key_points":
            values[f["id"]] = [key_point(session, code)]
        elif kind == "yes_no":
            values[f["id"]] = "SI"
        elif kind == "yes_no_with_detail":
            values[f["id"]] = {"answer": "SI", "detail": f"Dettaglio {f['id']}"}
        elif kind == "enum":
            values[f["id"]] = {"answer": f["options"][0], "detail": ""}
        elif kind == "indicators":
            values[f["id"]] = [{"description": f"Indicatore {f['indicator_class']}", "baseline": "10",
                                "target": "20", "source": "Servizi sociali", "horizon": "2027"}]
    values["title"] = f"Intervento della macroarea {code}"
    return values


def refused(session, fn, code: str, status: int, *fragments: str):
    """Like ``tests.helpers.refused``, for refusals that also name every field at fault (``errors``):
    the Problem's code, status, Italian fragments, and nothing left in the database."""
    import pytest

    from tests.helpers import database_footprint, footprint_changes
    from workspace.problems import Problem

    before = database_footprint(session)
    with pytest.raises(Problem) as caught:
        fn()
    problem = caught.value
    assert (problem.code, problem.status) == (code, status), (problem.code, problem.status, problem.message)
    text = " ".join([problem.message, *problem.errors.values()])
    for fragment in fragments:
        assert fragment in text, text
    session.commit()
    changes = footprint_changes(before, database_footprint(session))
    assert not changes, "il rifiuto ha lasciato tracce nel database: " + "; ".join(changes)
    return problem
