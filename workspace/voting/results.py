"""Counting glue: the stored ballots of a round handed to the pure counting methods
(``workspace.voting.methods``), the breakdown by organisation type with its suppression rule, the
result stored at closing, the running tally of rounds that show it, and the recount.

The result records the method and its version; ``recount`` recomputes a closed round from its
stored ballots and reports every difference (``tavoli votes recount ROUND_ID``).
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.i18n import gettext as _
from workspace.problems import Problem
from workspace.voting import methods
from workspace.voting.electorate import turnout
from workspace.voting.models import GROUPS, OpenBallot, SecretBallot, VoteRound
from workspace.voting.rules import candidates, method_settings

#: Breakdown groups with fewer ballots than this are suppressed in secret rounds.
SUPPRESSION_THRESHOLD = 5

Ballots = list[tuple[str | None, dict[str, Any]]]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def jsonable(value: Any) -> Any:
    """What the value looks like after a round trip through a JSON column."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def stored_ballots(session: Session, vote: VoteRound) -> Ballots:
    """(group, content) of every counted ballot, in a canonical order (sorted by content)."""
    model = SecretBallot if vote.secret else OpenBallot
    rows = session.execute(select(model.org_group, model.content).where(model.round_id == vote.id)).all()
    return sorted(((g, c) for g, c in rows), key=lambda row: (_canonical(row[1]), row[0] or ""))


def _tally(vote: VoteRound, contents: list[dict[str, Any]]) -> methods.Result:
    return methods.tally(vote.method, candidates(vote), contents, method_settings(vote))


def breakdown(vote: VoteRound, ballots: Ballots) -> dict[str, Any] | None:
    """Per organisation type: ballots and tally; in secret rounds small groups are suppressed."""
    if not vote.breakdown:
        return None
    by_group: dict[str, list[dict[str, Any]]] = {g: [] for g in GROUPS}
    for group, content in ballots:
        if group in by_group:
            by_group[group].append(content)
    suppressed: set[str] = set()
    if vote.secret:
        suppressed = {g for g, b in by_group.items() if 0 < len(b) < SUPPRESSION_THRESHOLD}
        shown = [g for g, b in by_group.items() if b and g not in suppressed]
        if len(suppressed) == 1 and shown:
            # The total minus the groups shown would give the suppressed one away.
            suppressed.add(min(shown, key=lambda g: (len(by_group[g]), g)))
    out: dict[str, Any] = {}
    for group in GROUPS:
        contents = by_group[group]
        entry: dict[str, Any] = {"ballots": len(contents), "suppressed": group in suppressed,
                                 "ranking": None, "scores": None}
        if contents and group not in suppressed:
            result = _tally(vote, contents)
            entry["ranking"], entry["scores"] = result.ranking, result.scores
        out[group] = entry
    return out


def compute_result(session: Session, vote: VoteRound) -> dict[str, Any]:
    """The full result from the stored ballots (what closing stores and a recount recomputes)."""
    ballots = stored_ballots(session, vote)
    result = _tally(vote, [content for _g, content in ballots])
    return jsonable({
        "method": result.method,
        "version": result.version,
        "tally": result.to_dict(),
        "ballots": len(ballots),
        "turnout": turnout(session, vote),
        "breakdown": breakdown(vote, ballots),
    })


def partial_tally(session: Session, vote: VoteRound) -> dict[str, Any] | None:
    """The running tally of an open round, when the round shows partial results (never secret)."""
    if vote.status != "open" or not vote.partial_results or vote.secret:
        return None
    return jsonable(_tally(vote, [c for _g, c in stored_ballots(session, vote)]).to_dict())


def stored_result(vote: VoteRound) -> methods.Result:
    """The tally stored at closing, as the methods' result (for the tie-break)."""
    tally = (vote.result or {})["tally"]
    return methods.Result(method=tally["method"], version=tally["version"], ranking=tally["ranking"],
                          scores=tally["scores"], extra=tally.get("extra") or {})


# --- recount ----------------------------------------------------------------------------------------


def _differences(stored: Any, fresh: Any, path: str = "") -> list[dict[str, Any]]:
    if isinstance(stored, dict) and isinstance(fresh, dict):
        out = []
        for key in sorted(set(stored) | set(fresh), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in stored or key not in fresh:
                out.append({"field": where, "stored": stored.get(key), "recomputed": fresh.get(key)})
            else:
                out.extend(_differences(stored[key], fresh[key], where))
        return out
    if stored != fresh:
        return [{"field": path, "stored": stored, "recomputed": fresh}]
    return []


def recount(session: Session, vote: VoteRound) -> dict[str, Any]:
    """Recompute a closed round from its stored ballots and compare with the stored result.

    ``match`` is False when anything differs: tally, ballots counted, turnout, breakdown, the
    tie-break's ranking, the method version, or the number of ballots against participations.
    """
    if vote.status != "closed" or not vote.result:
        raise Problem("not_closed", _("La votazione non è chiusa: non c'è un risultato da ricontare."), 409)
    stored = {k: v for k, v in vote.result.items() if k != "computed_at"}
    fresh = compute_result(session, vote)
    differences = _differences(stored, fresh)
    participations = fresh["turnout"]["voted"]
    if fresh["ballots"] != participations:
        differences.append({"field": "ballots_vs_participation", "stored": participations,
                            "recomputed": fresh["ballots"]})
    if vote.tie_break:
        tally = fresh["tally"]
        again = methods.break_ties(methods.Result(tally["method"], tally["version"], tally["ranking"],
                                                  tally["scores"], tally.get("extra") or {}), vote.tie_break["seed"])
        if jsonable(again.ranking) != vote.tie_break["ranking"]:
            differences.append({"field": "tie_break.ranking", "stored": vote.tie_break["ranking"],
                                "recomputed": jsonable(again.ranking)})
    return {
        "round_id": vote.id,
        "method": vote.method,
        "stored_version": vote.result.get("version"),
        "version": methods.VERSIONS[vote.method],
        "ballots": fresh["ballots"],
        "match": not differences,
        "differences": differences,
    }
