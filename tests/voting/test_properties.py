"""Properties of the counting methods, checked with hypothesis on random valid elections."""
from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from workspace.voting import (
    METHOD_NAMES,
    ApprovalSettings,
    DotSettings,
    RankingSettings,
    ScoreSettings,
    borda,
    break_ties,
    schulze,
    tally,
)

NAMES = st.text(alphabet="aAbBcàé", min_size=1, max_size=3)
CANDIDATES = st.lists(NAMES, min_size=1, max_size=6, unique=True)
WEIGHTS = st.integers(min_value=1, max_value=4)


@st.composite
def ballot_body(draw, method: str, candidates: list[str], config) -> dict:
    """One valid ballot (without weight) for ``method``."""
    if method == "approval":
        k = config.k
        return {"approve": draw(st.lists(st.sampled_from(candidates), unique=True, max_size=k))}
    if method == "dot":
        order = draw(st.permutations(candidates))
        budget = config.points
        points = {}
        for name in order:
            amount = draw(st.integers(min_value=0, max_value=min(budget, config.per_item)))
            if amount or draw(st.booleans()):
                points[name] = amount
            budget -= amount
        return {"points": points}
    if method == "score":
        scored = draw(st.lists(st.sampled_from(candidates), unique=True))
        value = st.one_of(st.none(), st.integers(min_value=1, max_value=5))
        return {
            "scores": {
                name: draw(st.dictionaries(st.sampled_from(config.criteria), value)) for name in scored
            }
        }
    order = draw(st.permutations(candidates))
    return {"ranking": list(order[: draw(st.integers(min_value=0, max_value=len(order)))])}


@st.composite
def method_settings(draw, method: str, candidates: list[str]):
    if method == "approval":
        return ApprovalSettings(k=draw(st.integers(min_value=1, max_value=len(candidates))))
    if method == "dot":
        points = draw(st.integers(min_value=1, max_value=12))
        return DotSettings(points=points, max_per_item=draw(st.integers(min_value=1, max_value=points)))
    if method == "score":
        criteria = draw(st.sampled_from([("urgenza", "impatto", "fattibilità"), ("punteggio",), ("x", "y")]))
        weights = draw(st.lists(st.integers(min_value=1, max_value=3), min_size=len(criteria), max_size=len(criteria)))
        return ScoreSettings(criteria=criteria, weights=tuple(weights))
    return RankingSettings()


@st.composite
def elections(draw, methods=METHOD_NAMES, weighted: bool = True, max_ballots: int = 12):
    """(method, candidates, ballots, settings) with valid ballots, some of them weighted."""
    method = draw(st.sampled_from(methods))
    candidates = draw(CANDIDATES)
    config = draw(method_settings(method, candidates))
    ballots = []
    for _ in range(draw(st.integers(min_value=0, max_value=max_ballots))):
        ballot = draw(ballot_body(method, candidates, config))
        if weighted and draw(st.booleans()):
            ballot["weight"] = draw(WEIGHTS)
        ballots.append(ballot)
    return method, candidates, ballots, config


def expand(ballots: list[dict]) -> list[dict]:
    """Every weighted ballot replaced by that many unweighted copies."""
    out = []
    for ballot in ballots:
        body = {key: value for key, value in ballot.items() if key != "weight"}
        out.extend(dict(body) for _ in range(ballot.get("weight", 1)))
    return out


def alpha(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


@settings(max_examples=300, deadline=None)
@given(elections())
def test_ranking_is_a_partition_of_the_candidates(election):
    method, candidates, ballots, config = election
    result = tally(method, candidates, ballots, config)
    flat = [name for group in result.ranking for name in group]
    assert sorted(flat) == sorted(candidates)
    assert len(flat) == len(set(flat))
    assert all(group for group in result.ranking)
    assert all(group == sorted(group, key=alpha) for group in result.ranking)
    assert set(result.scores) == set(candidates)


@settings(max_examples=200, deadline=None)
@given(elections(), st.randoms(use_true_random=False))
def test_shuffling_ballots_never_changes_the_result(election, rnd):
    method, candidates, ballots, config = election
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    assert tally(method, candidates, shuffled, config).to_dict() == tally(method, candidates, ballots, config).to_dict()


@settings(max_examples=200, deadline=None)
@given(elections())
def test_weight_n_equals_n_copies(election):
    method, candidates, ballots, config = election
    assert tally(method, candidates, expand(ballots), config).to_dict() == tally(
        method, candidates, ballots, config
    ).to_dict()


@settings(max_examples=100, deadline=None)
@given(elections(), WEIGHTS, st.data())
def test_one_ballot_with_weight_n_equals_n_copies_of_it(election, n, data):
    method, candidates, ballots, config = election
    body = data.draw(ballot_body(method, candidates, config))
    weighted = [*ballots, {**body, "weight": n}]
    copies = [*ballots, *(dict(body) for _ in range(n))]
    assert tally(method, candidates, weighted, config).to_dict() == tally(method, candidates, copies, config).to_dict()


def preferences(candidates: list[str], ballots: list[dict]) -> dict[tuple[str, str], int]:
    """Independent pairwise count: ballots placing a strictly above b (unranked = below all ranked)."""
    count = {}
    for a, b in itertools.permutations(candidates, 2):
        total = 0
        for ballot in ballots:
            ranking = ballot["ranking"]
            position = {name: i for i, name in enumerate(ranking)}
            pa, pb = position.get(a, len(ranking)), position.get(b, len(ranking))
            if pa < pb:
                total += ballot.get("weight", 1)
        count[(a, b)] = total
    return count


@settings(max_examples=400, deadline=None)
@given(elections(methods=("schulze",), max_ballots=15))
def test_schulze_elects_the_condorcet_winner(election):
    _, candidates, ballots, _ = election
    pref = preferences(candidates, ballots)
    result = schulze(candidates, ballots)
    assert result.extra["pairwise"] == {
        a: {b: pref[(a, b)] for b in candidates if b != a} for a in candidates
    }
    winners = [
        w for w in candidates if all(pref[(w, x)] > pref[(x, w)] for x in candidates if x != w)
    ]
    if winners:
        assert result.ranking[0] == winners


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_schulze_elects_a_planted_condorcet_winner(data):
    """The same property with elections built to have a Condorcet winner: ``w`` first on most ballots."""
    candidates = data.draw(CANDIDATES.filter(lambda c: len(c) >= 2))
    w = data.draw(st.sampled_from(candidates))
    others = [c for c in candidates if c != w]
    majority = [
        {"ranking": [w, *data.draw(st.permutations(others))], "weight": data.draw(WEIGHTS)}
        for _ in range(data.draw(st.integers(min_value=1, max_value=5)))
    ]
    minority_weight = sum(b["weight"] for b in majority) - 1
    minority = []
    if minority_weight:
        minority.append({"ranking": list(data.draw(st.permutations(candidates))), "weight": minority_weight})
    result = schulze(candidates, data.draw(st.permutations(majority + minority)))
    assert result.ranking[0] == [w]


@settings(max_examples=300, deadline=None)
@given(CANDIDATES, st.data())
def test_borda_totals_for_complete_rankings(candidates, data):
    ballots = [
        {"ranking": list(data.draw(st.permutations(candidates))), "weight": data.draw(WEIGHTS)}
        for _ in range(data.draw(st.integers(min_value=0, max_value=10)))
    ]
    n = len(candidates)
    weighted = sum(ballot["weight"] for ballot in ballots)
    result = borda(candidates, ballots)
    assert sum(result.scores.values()) == weighted * n * (n - 1) // 2


@settings(max_examples=200, deadline=None)
@given(elections(), st.text(max_size=8))
def test_tie_break_orders_within_groups_only(election, seed):
    method, candidates, ballots, config = election
    result = tally(method, candidates, ballots, config)
    broken = break_ties(result, seed)
    assert all(len(group) == 1 for group in broken.ranking)
    order = [group[0] for group in broken.ranking]
    start = 0
    for group in result.ranking:  # each tie group becomes a run of single places, in place
        assert sorted(order[start : start + len(group)]) == sorted(group)
        start += len(group)
    assert broken.scores == result.scores
    assert broken.extra["tie_break"]["seed"] == seed
    assert broken.extra["tie_break"]["groups"] == [g for g in result.ranking if len(g) > 1]
    assert break_ties(result, seed).to_dict() == broken.to_dict()
