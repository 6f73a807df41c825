"""Worked examples for each counting method, with expected results computed by hand in the comments;
ties kept as ties; the tie-break only on request; every validation message."""
from __future__ import annotations

import hashlib
import re

import pytest

from workspace.voting import (
    TIE_BREAK_RULE,
    ApprovalSettings,
    BallotError,
    DotSettings,
    ScoreSettings,
    SettingsError,
    VotingError,
    approval,
    borda,
    break_ties,
    dot,
    schulze,
    score,
    tally,
    validate_ballot,
    validate_ballots,
)

# --------------------------------------------------------------------------------------------
# Approval


def test_approval_worked_example():
    candidates = ["casa", "asili", "anziani", "trasporti"]
    ballots = [
        {"approve": ["asili", "anziani"]},
        {"approve": ["anziani"], "weight": 3},
        {"approve": ["trasporti", "asili"]},
        {"approve": []},
    ]
    # anziani 1 + 3 = 4; asili 1 + 1 = 2; trasporti 1; casa 0.
    result = approval(candidates, ballots, ApprovalSettings(k=2))
    assert result.method == "approval"
    assert result.version == "approval/1"
    assert result.scores == {"casa": 0, "asili": 2, "anziani": 4, "trasporti": 1}
    assert result.ranking == [["anziani"], ["asili"], ["trasporti"], ["casa"]]
    assert result.extra == {"k": 2, "ballots": 6}
    assert "tie_break" not in result.extra


def test_approval_ties_stay_ties_and_groups_are_alphabetical():
    candidates = ["Zona", "biblioteca", "Asilo", "centro"]
    ballots = [{"approve": ["Zona", "biblioteca", "Asilo"]}, {"approve": ["centro"]}]
    result = approval(candidates, ballots)  # k defaults to the number of candidates
    assert result.extra["k"] == 4
    # every candidate has one approval: a single group, sorted case-insensitively
    assert result.ranking == [["Asilo", "biblioteca", "centro", "Zona"]]


# --------------------------------------------------------------------------------------------
# Dot


def test_dot_worked_example_with_tie():
    candidates = ["a", "b", "c", "d"]
    ballots = [
        {"points": {"a": 5, "b": 5}},
        {"points": {"b": 3, "c": 3}, "weight": 2},
        {"points": {"c": 5, "a": 4, "d": 0}},
    ]
    # a 5 + 4 = 9; b 5 + 2·3 = 11; c 2·3 + 5 = 11; d 0.
    result = dot(candidates, ballots, DotSettings(points=10, max_per_item=5))
    assert result.version == "dot/1"
    assert result.scores == {"a": 9, "b": 11, "c": 11, "d": 0}
    assert result.ranking == [["b", "c"], ["a"], ["d"]]
    assert result.extra == {"points": 10, "max_per_item": 5, "ballots": 4}


def test_dot_max_per_item_defaults_to_points():
    result = dot(["a", "b"], [{"points": {"a": 10}}])
    assert result.extra["max_per_item"] == 10
    assert result.ranking == [["a"], ["b"]]


# --------------------------------------------------------------------------------------------
# Score


SCORE_BALLOTS = [
    {"scores": {"a": {"urgenza": 5, "impatto": 4, "fattibilità": 3}, "b": {"urgenza": 2}}},
    {"scores": {"a": {"urgenza": 3, "impatto": 4}, "b": {"urgenza": 4, "impatto": 2, "fattibilità": 5}}},
    {"scores": {"a": {"urgenza": 4}}, "weight": 2},
]


def test_score_worked_example_equal_weights():
    # a: urgenza 5,3,4,4 → mean 4, median 4; impatto 4,4 → 4, 4; fattibilità 3 → 3, 3.
    #    score (4 + 4 + 3) / 3 = 11/3.
    # b: urgenza 2,4 → mean 3, median 3; impatto 2; fattibilità 5. score (3 + 2 + 5) / 3 = 10/3.
    # c: nobody scored it → None, ranked last.
    result = score(["a", "b", "c"], SCORE_BALLOTS)
    assert result.version == "score/1"
    assert result.scores == {"a": pytest.approx(11 / 3), "b": pytest.approx(10 / 3), "c": None}
    assert result.ranking == [["a"], ["b"], ["c"]]
    details = result.extra["details"]
    assert details["a"]["urgenza"] == {"mean": 4.0, "median": 4.0, "count": 4}
    assert details["a"]["impatto"] == {"mean": 4.0, "median": 4.0, "count": 2}
    assert details["a"]["fattibilità"] == {"mean": 3.0, "median": 3.0, "count": 1}
    assert details["b"]["urgenza"] == {"mean": 3.0, "median": 3.0, "count": 2}
    assert details["c"]["urgenza"] == {"mean": None, "median": None, "count": 0}
    assert result.extra["criteria"] == ["urgenza", "impatto", "fattibilità"]
    assert result.extra["weights"] == {"urgenza": 1, "impatto": 1, "fattibilità": 1}
    assert result.extra["ballots"] == 4


def test_score_weighted_criteria():
    # weights 2,1,1: a (2·4 + 4 + 3) / 4 = 15/4; b (2·3 + 2 + 5) / 4 = 13/4.
    settings = ScoreSettings(weights=(2, 1, 1))
    result = score(["a", "b", "c"], SCORE_BALLOTS, settings)
    assert result.scores["a"] == 3.75
    assert result.scores["b"] == 3.25
    assert result.extra["weights"] == {"urgenza": 2, "impatto": 1, "fattibilità": 1}


def test_score_missing_is_abstention_not_zero():
    # d is scored only on urgenza (5): its score is 5, not (5 + 0 + 0) / 3.
    # e has an explicit null on impatto, also an abstention.
    ballots = [
        {"scores": {"d": {"urgenza": 5}, "e": {"urgenza": 4, "impatto": None, "fattibilità": 4}}},
    ]
    result = score(["d", "e"], ballots)
    assert result.scores == {"d": 5.0, "e": 4.0}
    assert result.extra["details"]["e"]["impatto"]["count"] == 0
    assert result.ranking == [["d"], ["e"]]


def test_score_even_median_and_single_criterion():
    settings = ScoreSettings(criteria=("punteggio",))
    ballots = [{"scores": {"a": 2, "b": 3}}, {"scores": {"a": 5, "b": 4}}, {"scores": {"a": 1}}, {"scores": {"a": 5}}]
    # a: 1,2,5,5 → mean 13/4, median (2+5)/2 = 3.5; b: 3,4 → mean 3.5, median 3.5.
    result = score(["a", "b"], ballots, settings)
    assert result.extra["details"]["a"]["punteggio"] == {"mean": 3.25, "median": 3.5, "count": 4}
    assert result.extra["details"]["b"]["punteggio"] == {"mean": 3.5, "median": 3.5, "count": 2}
    assert result.ranking == [["b"], ["a"]]


def test_score_tie_and_accent_insensitive_criteria():
    ballots = [{"scores": {"a": {"Fattibilita": 4}, "b": {"fattibilità": 4}}}]
    result = score(["a", "b"], ballots)
    assert result.ranking == [["a", "b"]]
    assert result.extra["details"]["a"]["fattibilità"]["count"] == 1


# --------------------------------------------------------------------------------------------
# Borda


def test_borda_tie():
    # n = 3: a > b > c gives a 2, b 1, c 0; b > a > c gives b 2, a 1. a = b = 3, c = 0.
    result = borda(["a", "b", "c"], [{"ranking": ["a", "b", "c"]}, {"ranking": ["b", "a", "c"]}])
    assert result.version == "borda/1"
    assert result.scores == {"a": 3, "b": 3, "c": 0}
    assert result.ranking == [["a", "b"], ["c"]]


def test_borda_partial_rankings_and_weights():
    # n = 4, points 3, 2, 1, 0.
    # [a, b, c, d]        → a 3, b 2, c 1, d 0
    # [b, a] × 2          → b 3·2 = 6, a 2·2 = 4 (c, d unranked: 0)
    # [d, c, b, a]        → d 3, c 2, b 1, a 0
    # totals: a 7, b 9, c 3, d 3.
    ballots = [
        {"ranking": ["a", "b", "c", "d"]},
        {"ranking": ["b", "a"], "weight": 2},
        {"ranking": ["d", "c", "b", "a"]},
    ]
    result = borda(["a", "b", "c", "d"], ballots)
    assert result.scores == {"a": 7, "b": 9, "c": 3, "d": 3}
    assert result.ranking == [["b"], ["a"], ["c", "d"]]
    assert result.extra == {"ballots": 4}


# --------------------------------------------------------------------------------------------
# Schulze


# The example of Schulze's paper and of the Wikipedia article "Schulze method": 45 voters.
SCHULZE_45 = [
    (5, "ACBED"),
    (5, "ADECB"),
    (8, "BEDAC"),
    (3, "CABED"),
    (7, "CAEBD"),
    (2, "CBADE"),
    (7, "DCEBA"),
    (8, "EBADC"),
]

SCHULZE_45_D = {  # d[row][column], from the literature
    "A": {"B": 20, "C": 26, "D": 30, "E": 22},
    "B": {"A": 25, "C": 16, "D": 33, "E": 18},
    "C": {"A": 19, "B": 29, "D": 17, "E": 24},
    "D": {"A": 15, "B": 12, "C": 28, "E": 14},
    "E": {"A": 23, "B": 27, "C": 21, "D": 31},
}

SCHULZE_45_P = {  # p[row][column], from the literature
    "A": {"B": 28, "C": 28, "D": 30, "E": 24},
    "B": {"A": 25, "C": 28, "D": 33, "E": 24},
    "C": {"A": 25, "B": 29, "D": 29, "E": 24},
    "D": {"A": 25, "B": 28, "C": 28, "E": 24},
    "E": {"A": 25, "B": 28, "C": 28, "D": 31},
}


def schulze_45_ballots(weighted: bool = True) -> list[dict]:
    if weighted:
        return [{"ranking": list(order), "weight": n} for n, order in SCHULZE_45]
    return [{"ranking": list(order)} for n, order in SCHULZE_45 for _ in range(n)]


def test_schulze_classic_45_voters():
    result = schulze(list("ABCDE"), schulze_45_ballots())
    assert result.version == "schulze/1"
    assert result.ranking == [["E"], ["A"], ["C"], ["B"], ["D"]]
    assert result.winners == ["E"]
    assert result.extra["pairwise"] == SCHULZE_45_D
    assert result.extra["strongest_paths"] == SCHULZE_45_P
    assert result.extra["ballots"] == 45
    # scores: how many candidates each one beats
    assert result.scores == {"E": 4, "A": 3, "C": 2, "B": 1, "D": 0}


def test_schulze_classic_45_voters_as_copies():
    assert schulze(list("ABCDE"), schulze_45_ballots(weighted=False)).to_dict() == schulze(
        list("ABCDE"), schulze_45_ballots()
    ).to_dict()


def test_schulze_cycle_is_a_tie():
    # Condorcet paradox: every pairwise contest is 2–1 and every strongest path is 2.
    ballots = [{"ranking": ["a", "b", "c"]}, {"ranking": ["b", "c", "a"]}, {"ranking": ["c", "a", "b"]}]
    result = schulze(["c", "b", "a"], ballots)
    assert result.ranking == [["a", "b", "c"]]
    assert result.scores == {"a": 0, "b": 0, "c": 0}


def test_schulze_unranked_tied_below_ranked():
    # ballot 1 ranks only b: b beats a and c there, a and c tie (neither gets a point).
    ballots = [{"ranking": ["b"]}, {"ranking": ["a", "c"]}, {"ranking": ["b", "a"]}]
    result = schulze(["a", "b", "c"], ballots)
    assert result.extra["pairwise"] == {
        "a": {"b": 1, "c": 2},
        "b": {"a": 2, "c": 2},
        "c": {"a": 0, "b": 1},
    }
    assert result.ranking == [["b"], ["a"], ["c"]]


def test_schulze_two_way_tie():
    result = schulze(["b", "a", "c"], [{"ranking": ["a", "b", "c"]}, {"ranking": ["b", "a", "c"]}])
    assert result.ranking == [["a", "b"], ["c"]]


def test_tally_dispatches_by_name():
    assert tally("borda", ["a", "b"], [{"ranking": ["b"]}]).ranking == [["b"], ["a"]]
    with pytest.raises(SettingsError, match="metodo sconosciuto «range»"):
        tally("range", ["a"], [])
    with pytest.raises(SettingsError, match="non adatte al metodo «approval»"):
        tally("approval", ["a"], [], DotSettings())


def test_no_ballots():
    for method in ("approval", "dot", "score", "borda", "schulze"):
        result = tally(method, ["b", "a"], [])
        assert result.ranking == [["a", "b"]], method


# --------------------------------------------------------------------------------------------
# Tie-break


def test_tie_break_only_on_request_and_recorded():
    ballots = [{"ranking": ["a", "b", "c", "d"]}, {"ranking": ["b", "a", "d", "c"]}]
    result = borda(["a", "b", "c", "d"], ballots)
    assert result.ranking == [["a", "b"], ["c", "d"]]
    assert "tie_break" not in result.extra

    broken = break_ties(result, "seduta-2025-03-12")
    digest = {name: hashlib.sha256(f"seduta-2025-03-12{name}".encode()).hexdigest() for name in "abcd"}
    expected = sorted("ab", key=digest.get) + sorted("cd", key=digest.get)
    assert broken.ranking == [[name] for name in expected]
    assert broken.scores == result.scores
    assert broken.extra["tie_break"] == {
        "seed": "seduta-2025-03-12",
        "rule": TIE_BREAK_RULE,
        "groups": [["a", "b"], ["c", "d"]],
    }
    # the original result is untouched, and the draw is reproducible
    assert result.ranking == [["a", "b"], ["c", "d"]]
    assert "tie_break" not in result.extra
    assert break_ties(result, "seduta-2025-03-12").to_dict() == broken.to_dict()


def test_tie_break_depends_on_seed_and_keeps_group_order():
    result = approval(["a", "b", "c", "d", "e"], [{"approve": ["a", "b", "c", "d", "e"]}])
    orders = {tuple(g[0] for g in break_ties(result, f"seme-{i}").ranking) for i in range(20)}
    assert len(orders) > 1
    ranked = borda(["a", "b", "c"], [{"ranking": ["c"]}])  # [[c], [a, b]]
    for i in range(10):
        assert break_ties(ranked, str(i)).ranking[0] == ["c"]


def test_tie_break_refuses_twice():
    once = break_ties(borda(["a", "b"], []), "x")
    with pytest.raises(VotingError, match="già stato applicato"):
        break_ties(once, "y")


# --------------------------------------------------------------------------------------------
# Validation


def reason(method, candidates, ballot, settings=None) -> str:
    with pytest.raises(BallotError) as info:
        validate_ballot(method, candidates, ballot, settings)
    assert info.value.index is None
    assert str(info.value) == info.value.reason
    return info.value.reason


CANDIDATES = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("method", "ballot", "settings", "message"),
    [
        ("approval", {"approve": ["a", "b", "c"]}, ApprovalSettings(k=2), "troppe approvazioni: 3 (al massimo 2)"),
        ("approval", {"approve": ["a", "x"]}, None, "candidato sconosciuto «x»"),
        ("approval", {"approve": [1]}, None, "candidato sconosciuto «1»"),
        ("approval", {"approve": ["a", "a"]}, None, "candidato «a» approvato più volte"),
        ("approval", {"approve": "a"}, None, "«approve» deve essere un elenco di candidati"),
        ("dot", {"points": {"a": 5, "b": 6}}, None, "troppi punti: 11 in totale (al massimo 10)"),
        (
            "dot",
            {"points": {"a": 4}},
            DotSettings(points=10, max_per_item=3),
            "troppi punti per «a»: 4 (al massimo 3 per voce)",
        ),
        ("dot", {"points": {"a": -1}}, None, "punti negativi per «a»: -1"),
        ("dot", {"points": {"a": 1.5}}, None, "punti non validi per «a»: 1.5 (servono numeri interi)"),
        ("dot", {"points": {"a": "3"}}, None, 'punti non validi per «a»: "3" (servono numeri interi)'),
        ("dot", {"points": {"x": 1}}, None, "candidato sconosciuto «x»"),
        ("dot", {"points": ["a"]}, None, "«points» deve essere un oggetto candidato → punti"),
        ("borda", {"ranking": ["a", "b", "a"]}, None, "candidato «a» ripetuto nella classifica"),
        ("schulze", {"ranking": ["z"]}, None, "candidato sconosciuto «z»"),
        ("schulze", {"ranking": ["a", "a"]}, None, "candidato «a» ripetuto nella classifica"),
        (
            "score",
            {"scores": {"a": {"urgenza": 6}}},
            None,
            "punteggio fuori scala per «a», criterio «urgenza»: 6 (ammessi da 1 a 5)",
        ),
        (
            "score",
            {"scores": {"a": {"impatto": 0}}},
            None,
            "punteggio fuori scala per «a», criterio «impatto»: 0 (ammessi da 1 a 5)",
        ),
        (
            "score",
            {"scores": {"a": {"impatto": 2.5}}},
            None,
            "punteggio non valido per «a», criterio «impatto»: 2.5 (ammessi gli interi da 1 a 5)",
        ),
        (
            "score",
            {"scores": {"a": {"costo": 3}}},
            None,
            "criterio sconosciuto «costo» per «a» (criteri ammessi: urgenza, impatto, fattibilità)",
        ),
        (
            "score",
            {"scores": {"a": {"fattibilita": 3, "fattibilità": 4}}},
            None,
            "criterio «fattibilità» ripetuto per «a»",
        ),
        (
            "score",
            {"scores": {"a": 3}},
            None,
            "il punteggio per «a» non indica il criterio (criteri: urgenza, impatto, fattibilità)",
        ),
        (
            "score",
            {"scores": {"a": 7}},
            ScoreSettings(criteria=("punteggio",)),
            "punteggio fuori scala per «a», criterio «punteggio»: 7 (ammessi da 1 a 5)",
        ),
        ("score", {"scores": {"q": {"urgenza": 3}}}, None, "candidato sconosciuto «q»"),
        ("approval", {"approve": [], "weight": 0}, None, "peso non valido: 0 (deve essere un intero positivo)"),
        ("approval", {"approve": [], "weight": -2}, None, "peso non valido: -2 (deve essere un intero positivo)"),
        ("borda", {"ranking": [], "weight": 1.5}, None, "peso non valido: 1.5 (deve essere un intero positivo)"),
        ("borda", {"ranking": [], "weight": "2"}, None, "peso non valido: \"2\" (deve essere un intero positivo)"),
        ("borda", {"ranking": [], "weight": True}, None, "peso non valido: true (deve essere un intero positivo)"),
        ("borda", {"approve": ["a"]}, None, "manca il campo «ranking»"),
        (
            "borda",
            {"ranking": [], "wieght": 2},
            None,
            "campo sconosciuto «wieght» (ammessi: «ranking», «weight»)",
        ),
        ("dot", ["a"], None, "la scheda deve essere un oggetto con il campo «points»"),
    ],
)
def test_validation_messages(method, ballot, settings, message):
    assert reason(method, CANDIDATES, ballot, settings) == message


def test_validation_normalises():
    assert validate_ballot("dot", CANDIDATES, {"points": {"a": 0, "b": 2}}) == {"points": {"b": 2}, "weight": 1}
    assert validate_ballot(
        "score", CANDIDATES, {"scores": {"a": 4}, "weight": 3}, ScoreSettings(criteria=("punteggio",))
    ) == {"scores": {"a": {"punteggio": 4}}, "weight": 3}
    assert validate_ballot("score", CANDIDATES, {"scores": {"a": {"Urgenza": 4, "impatto": None}}}) == {
        "scores": {"a": {"urgenza": 4}},
        "weight": 1,
    }


def test_bad_ballot_named_by_number_from_one():
    ballots = [{"ranking": ["a"]}, {"ranking": ["b"]}, {"ranking": ["x"]}]
    with pytest.raises(BallotError) as info:
        validate_ballots("borda", CANDIDATES, ballots)
    assert info.value.index == 3
    assert str(info.value) == "Scheda n. 3 non valida: candidato sconosciuto «x»"
    with pytest.raises(BallotError, match=re.escape("Scheda n. 3 non valida: candidato sconosciuto «x»")):
        borda(CANDIDATES, ballots)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ApprovalSettings(k=0), "k non valido: 0 (deve essere un intero positivo)"),
        (lambda: DotSettings(points=0), "numero di punti non valido: 0 (deve essere un intero positivo)"),
        (lambda: DotSettings(max_per_item=-1), "massimo per voce non valido: -1 (deve essere un intero positivo)"),
        (lambda: ScoreSettings(criteria=()), "serve almeno un criterio"),
        (lambda: ScoreSettings(criteria=("a", "A")), "criterio «A» ripetuto"),
        (lambda: ScoreSettings(weights=(1, 1)), "i pesi sono 2 ma i criteri sono 3 (urgenza, impatto, fattibilità)"),
        (lambda: ScoreSettings(weights=(1, 0, 1)), "peso non valido: 0 (deve essere un numero positivo)"),
        (lambda: ScoreSettings(weights=(1, "x", 1)), "peso non valido: x (deve essere un numero positivo)"),
        (lambda: approval([], []), "l'elenco dei candidati è vuoto"),
        (lambda: approval(["a", "a"], []), "candidato «a» ripetuto nell'elenco dei candidati"),
        (lambda: approval(["a", ""], []), "candidato non valido: '' (serve un nome non vuoto)"),
    ],
)
def test_settings_and_candidate_messages(make, message):
    with pytest.raises(SettingsError) as info:
        make()
    assert str(info.value) == message


def test_weights_are_exact():
    settings = ScoreSettings(criteria=("x", "y"), weights=(0.1, "0.2"))
    result = score(["a"], [{"scores": {"a": {"x": 1, "y": 4}}}], settings)
    # (0.1·1 + 0.2·4) / 0.3 = 3 exactly
    assert result.scores == {"a": 3.0}
