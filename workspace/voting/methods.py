"""Counting methods for a tavolo's priority vote: approval, dot (cumulative), score, Borda, Schulze.

Pure functions: no database, no Flask. Each method takes the candidate list and the ballots,
validates every ballot (raising :class:`BallotError`, numbered from 1, on the first bad one) and
returns a :class:`Result` with a *full* ranking in which ties stay ties: candidates with equal
totals share a rank group, groups are ordered best first and each group is sorted alphabetically
(case-insensitive, then by code point) so that the output is stable. Ties are broken only on
request, by the separate :func:`break_ties`, which records itself in ``extra["tie_break"]``.

Every ballot may carry ``"weight": n`` (a positive integer): it counts exactly as n identical
ballots. Arithmetic is exact (integers and :class:`fractions.Fraction`), so the order of the
ballots never changes a result; fractions are turned into floats only in the returned numbers.

Ballot shapes (after validation every ballot is normalised to ``{field: ..., "weight": n}``)::

    approval  {"approve": ["a", "b"]}
    dot       {"points": {"a": 3, "b": 2}}
    score     {"scores": {"a": {"urgenza": 4, "impatto": 2}}}  or, with one criterion, {"scores": {"a": 4}}
    borda     {"ranking": ["b", "a", "c"]}
    schulze   {"ranking": ["b", "a", "c"]}
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, TypeGuard, TypeVar, cast

Number = int | float

METHOD_NAMES: tuple[str, ...] = ("approval", "dot", "score", "borda", "schulze")
VERSIONS: dict[str, str] = {name: f"{name}/1" for name in METHOD_NAMES}

#: The ballot field each method reads.
BALLOT_FIELDS: dict[str, str] = {
    "approval": "approve",
    "dot": "points",
    "score": "scores",
    "borda": "ranking",
    "schulze": "ranking",
}

DEFAULT_CRITERIA: tuple[str, ...] = ("urgenza", "impatto", "fattibilità")
SCORE_MIN = 1
SCORE_MAX = 5

TIE_BREAK_RULE = (
    "sha256(seed+candidato): dentro ogni gruppo di pari merito i candidati sono ordinati per "
    "impronta SHA-256 crescente (esadecimale) del testo UTF-8 formato dal seed seguito dal nome "
    "del candidato"
)


# --------------------------------------------------------------------------------------------
# Errors


class VotingError(ValueError):
    """Bad input to the counting core (candidates, settings or ballots); the message is Italian."""


class SettingsError(VotingError):
    """Invalid candidate list or method settings."""


class BallotError(VotingError):
    """An invalid ballot. ``reason`` names the problem; ``index`` (from 1) is set when known."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.index is None:
            return self.reason
        return f"Scheda n. {self.index} non valida: {self.reason}"

    def at(self, index: int) -> BallotError:
        """The same error, naming the ballot by its number (from 1)."""
        return BallotError(self.reason, index)


# --------------------------------------------------------------------------------------------
# Settings


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ApprovalSettings:
    """``k``: how many candidates a ballot may approve at most (``None``: all of them)."""

    k: int | None = None

    def __post_init__(self) -> None:
        if self.k is not None and (not _is_int(self.k) or self.k < 1):
            raise SettingsError(f"k non valido: {self.k!r} (deve essere un intero positivo)")

    def limit(self, candidates: Sequence[str]) -> int:
        return len(candidates) if self.k is None else self.k


@dataclass(frozen=True)
class DotSettings:
    """``points``: points each ballot may distribute at most; ``max_per_item``: at most per candidate
    (``None``: ``points``)."""

    points: int = 10
    max_per_item: int | None = None

    def __post_init__(self) -> None:
        if not _is_int(self.points) or self.points < 1:
            raise SettingsError(f"numero di punti non valido: {self.points!r} (deve essere un intero positivo)")
        if self.max_per_item is not None and (not _is_int(self.max_per_item) or self.max_per_item < 1):
            raise SettingsError(
                f"massimo per voce non valido: {self.max_per_item!r} (deve essere un intero positivo)"
            )

    @property
    def per_item(self) -> int:
        return self.points if self.max_per_item is None else self.max_per_item


def criterion_key(name: str) -> str:
    """How criterion names are matched: case- and accent-insensitive ("fattibilita" = "Fattibilità")."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def _fraction(value: object) -> Fraction:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(value)
        return Fraction(str(value))
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, str):
        return Fraction(value.strip())
    raise ValueError(value)


@dataclass(frozen=True)
class ScoreSettings:
    """Named criteria scored 1–5, with positive weights (``None``: all equal).

    Weights may be ints, floats, Fractions or decimal strings; they are kept as exact fractions.
    """

    criteria: tuple[str, ...] = DEFAULT_CRITERIA
    # Given as ints, floats, Fractions or decimal strings (None: all 1); kept as Fractions.
    weights: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.criteria, str) or not isinstance(self.criteria, Sequence):
            raise SettingsError("i criteri devono essere un elenco di nomi")
        criteria = tuple(self.criteria)
        if not criteria:
            raise SettingsError("serve almeno un criterio")
        seen: dict[str, str] = {}
        for name in criteria:
            if not isinstance(name, str) or not criterion_key(name):
                raise SettingsError(f"nome di criterio non valido: {name!r}")
            key = criterion_key(name)
            if key in seen:
                raise SettingsError(f"criterio «{name}» ripetuto")
            seen[key] = name
        object.__setattr__(self, "criteria", criteria)
        if self.weights is None:
            weights = tuple(Fraction(1) for _ in criteria)
        else:
            if isinstance(self.weights, str) or not isinstance(self.weights, Sequence):
                raise SettingsError("i pesi devono essere un elenco di numeri")
            if len(self.weights) != len(criteria):
                raise SettingsError(
                    f"i pesi sono {len(self.weights)} ma i criteri sono {len(criteria)} "
                    f"({', '.join(criteria)})"
                )
            converted = []
            for raw in self.weights:
                try:
                    weight = _fraction(raw)
                except (ValueError, ZeroDivisionError):
                    raise SettingsError(f"peso non valido: {_show(raw)} (deve essere un numero positivo)") from None
                if weight <= 0:
                    raise SettingsError(f"peso non valido: {_show(raw)} (deve essere un numero positivo)")
                converted.append(weight)
            weights = tuple(converted)
        object.__setattr__(self, "weights", weights)

    def canonical(self, name: str) -> str | None:
        """The configured criterion a ballot's key refers to, or ``None``."""
        key = criterion_key(name)
        for criterion in self.criteria:
            if criterion_key(criterion) == key:
                return criterion
        return None


@dataclass(frozen=True)
class RankingSettings:
    """Borda and Schulze have no settings; the class exists for a uniform interface."""


Settings = ApprovalSettings | DotSettings | ScoreSettings | RankingSettings

SETTINGS_CLASSES: dict[str, type] = {
    "approval": ApprovalSettings,
    "dot": DotSettings,
    "score": ScoreSettings,
    "borda": RankingSettings,
    "schulze": RankingSettings,
}


# --------------------------------------------------------------------------------------------
# Result


@dataclass
class Result:
    """The outcome of a count.

    ``ranking``: every candidate exactly once, in rank groups, best first; a group with more
    than one candidate is a tie. ``scores``: the number the method ranks by (``None`` for a
    score-vote candidate nobody scored). ``extra``: method details (JSON-friendly).
    """

    method: str
    version: str
    ranking: list[list[str]]
    scores: Mapping[str, Number | None]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def winners(self) -> list[str]:
        return list(self.ranking[0]) if self.ranking else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "version": self.version,
            "ranking": [list(group) for group in self.ranking],
            "scores": dict(self.scores),
            "extra": copy.deepcopy(self.extra),
        }


def _alpha(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


def _group_by_value(candidates: Sequence[str], value: Mapping[str, Any]) -> list[list[str]]:
    """Rank groups by descending value; candidates with value ``None`` form the last group."""
    buckets: dict[Any, list[str]] = {}
    missing: list[str] = []
    for candidate in candidates:
        v = value[candidate]
        if v is None:
            missing.append(candidate)
        else:
            buckets.setdefault(v, []).append(candidate)
    ranking = [sorted(buckets[v], key=_alpha) for v in sorted(buckets, reverse=True)]
    if missing:
        ranking.append(sorted(missing, key=_alpha))
    return ranking


def _number(value: Fraction | None) -> Number | None:
    """An exact fraction as an int when whole, else as a float."""
    if value is None:
        return None
    if value.denominator == 1:
        return int(value)
    return float(value)


# --------------------------------------------------------------------------------------------
# Validation


def check_candidates(candidates: object) -> list[str]:
    """The candidate list: non-empty, distinct, non-blank strings."""
    if isinstance(candidates, str | bytes) or not isinstance(candidates, Sequence):
        raise SettingsError("i candidati devono essere un elenco di nomi")
    if not candidates:
        raise SettingsError("l'elenco dei candidati è vuoto")
    seen: set[str] = set()
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip():
            raise SettingsError(f"candidato non valido: {candidate!r} (serve un nome non vuoto)")
        if candidate in seen:
            raise SettingsError(f"candidato «{candidate}» ripetuto nell'elenco dei candidati")
        seen.add(candidate)
    return list(candidates)


def _settings_for(method: str, settings: Settings | None) -> Settings:
    if method not in SETTINGS_CLASSES:
        raise SettingsError(f"metodo sconosciuto «{method}» (ammessi: {', '.join(METHOD_NAMES)})")
    cls = SETTINGS_CLASSES[method]
    if settings is None:
        return cls()
    if not isinstance(settings, cls):
        raise SettingsError(f"impostazioni di tipo {type(settings).__name__} non adatte al metodo «{method}»")
    return settings


S = TypeVar("S", ApprovalSettings, DotSettings, ScoreSettings, RankingSettings)


def _own_settings(cls: type[S], method: str, settings: Settings | None) -> S:
    """``_settings_for`` of a method whose settings class is ``cls``."""
    return cast(S, _settings_for(method, settings))


def _show(value: object) -> str:
    """A name as written; anything else as JSON (how the tally file spells it)."""
    return value if isinstance(value, str) else _json(value)


def _json(value: object) -> str:
    """A value as JSON, so that the string "2" and the number 2 read differently."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _check_weight(ballot: Mapping[str, Any]) -> int:
    if "weight" not in ballot:
        return 1
    weight = ballot["weight"]
    if not _is_int(weight) or weight < 1:
        raise BallotError(f"peso non valido: {_json(weight)} (deve essere un intero positivo)")
    return weight


def _check_candidate(name: object, known: frozenset[str]) -> str:
    if not isinstance(name, str) or name not in known:
        raise BallotError(f"candidato sconosciuto «{_show(name)}»")
    return name


def _check_list(value: object, what: str) -> list:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise BallotError(f"«{what}» deve essere un elenco di candidati")
    return list(value)


def _check_mapping(value: object, what: str, of: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise BallotError(f"«{what}» deve essere un oggetto candidato → {of}")
    return value


def _validate_approval(value: object, known: frozenset[str], settings: ApprovalSettings, n: int) -> list[str]:
    approved: list[str] = []
    for name in _check_list(value, "approve"):
        name = _check_candidate(name, known)
        if name in approved:
            raise BallotError(f"candidato «{name}» approvato più volte")
        approved.append(name)
    k = settings.k if settings.k is not None else n
    if len(approved) > k:
        raise BallotError(f"troppe approvazioni: {len(approved)} (al massimo {k})")
    return approved


def _validate_dot(value: object, known: frozenset[str], settings: DotSettings) -> dict[str, int]:
    points: dict[str, int] = {}
    for name, amount in _check_mapping(value, "points", "punti").items():
        name = _check_candidate(name, known)
        if not _is_int(amount):
            raise BallotError(f"punti non validi per «{name}»: {_json(amount)} (servono numeri interi)")
        if amount < 0:
            raise BallotError(f"punti negativi per «{name}»: {amount}")
        if amount > settings.per_item:
            raise BallotError(
                f"troppi punti per «{name}»: {amount} (al massimo {settings.per_item} per voce)"
            )
        if amount:
            points[name] = amount
    total = sum(points.values())
    if total > settings.points:
        raise BallotError(f"troppi punti: {total} in totale (al massimo {settings.points})")
    return points


def _check_score(name: str, criterion: str, value: object) -> int | None:
    if value is None:
        return None  # explicit abstention
    if not _is_int(value):
        raise BallotError(
            f"punteggio non valido per «{name}», criterio «{criterion}»: {_json(value)} "
            f"(ammessi gli interi da {SCORE_MIN} a {SCORE_MAX})"
        )
    if not SCORE_MIN <= value <= SCORE_MAX:
        raise BallotError(
            f"punteggio fuori scala per «{name}», criterio «{criterion}»: {value} "
            f"(ammessi da {SCORE_MIN} a {SCORE_MAX})"
        )
    return value


def _validate_score(value: object, known: frozenset[str], settings: ScoreSettings) -> dict[str, dict[str, int]]:
    scores: dict[str, dict[str, int]] = {}
    allowed = ", ".join(settings.criteria)
    for name, given in _check_mapping(value, "scores", "punteggi").items():
        name = _check_candidate(name, known)
        per_criterion: dict[str, int] = {}
        if isinstance(given, Mapping):
            seen: set[str] = set()
            for raw_criterion, raw_value in given.items():
                criterion = settings.canonical(raw_criterion) if isinstance(raw_criterion, str) else None
                if criterion is None:
                    raise BallotError(
                        f"criterio sconosciuto «{_show(raw_criterion)}» per «{name}» (criteri ammessi: {allowed})"
                    )
                if criterion in seen:
                    raise BallotError(f"criterio «{criterion}» ripetuto per «{name}»")
                seen.add(criterion)
                checked = _check_score(name, criterion, raw_value)
                if checked is not None:
                    per_criterion[criterion] = checked
        elif len(settings.criteria) == 1:
            criterion = settings.criteria[0]
            checked = _check_score(name, criterion, given)
            if checked is not None:
                per_criterion[criterion] = checked
        else:
            raise BallotError(
                f"il punteggio per «{name}» non indica il criterio (criteri: {allowed})"
            )
        if per_criterion:
            scores[name] = per_criterion
    return scores


def _validate_ranking(value: object, known: frozenset[str]) -> list[str]:
    ranking: list[str] = []
    for name in _check_list(value, "ranking"):
        name = _check_candidate(name, known)
        if name in ranking:
            raise BallotError(f"candidato «{name}» ripetuto nella classifica")
        ranking.append(name)
    return ranking


def _validator(method: str, candidates: Sequence[str], settings: Settings | None) -> Callable[[object], dict]:
    settings = _settings_for(method, settings)
    candidates = check_candidates(candidates)
    known = frozenset(candidates)
    key = BALLOT_FIELDS[method]

    def validate(ballot: object) -> dict:
        if not isinstance(ballot, Mapping):
            raise BallotError(f"la scheda deve essere un oggetto con il campo «{key}»")
        if key not in ballot:
            raise BallotError(f"manca il campo «{key}»")
        for name in ballot:
            if name not in (key, "weight"):
                raise BallotError(f"campo sconosciuto «{_show(name)}» (ammessi: «{key}», «weight»)")
        weight = _check_weight(ballot)
        value = ballot[key]
        if isinstance(settings, ApprovalSettings):
            normalised: object = _validate_approval(value, known, settings, len(candidates))
        elif isinstance(settings, DotSettings):
            normalised = _validate_dot(value, known, settings)
        elif isinstance(settings, ScoreSettings):
            normalised = _validate_score(value, known, settings)
        else:
            normalised = _validate_ranking(value, known)
        return {key: normalised, "weight": weight}

    return validate


def validate_ballot(method: str, candidates: Sequence[str], ballot: object, settings: Settings | None = None) -> dict:
    """Check one ballot; return it normalised (``{field: ..., "weight": n}``) or raise :class:`BallotError`.

    The Italian message names the problem: too many approvals, too many points (in total or for
    one candidate), negative points, unknown candidate, duplicate in a ranking or approval, score
    out of 1–5, unknown criterion, weight not a positive integer, missing or unknown field.
    """
    return _validator(method, candidates, settings)(ballot)


def validate_ballots(
    method: str, candidates: Sequence[str], ballots: object, settings: Settings | None = None
) -> list[dict]:
    """Check every ballot; the first bad one raises :class:`BallotError` naming it by number (from 1)."""
    if isinstance(ballots, str | bytes | Mapping) or not isinstance(ballots, Sequence):
        raise SettingsError("le schede devono essere un elenco")
    validate = _validator(method, candidates, settings)
    normalised = []
    for index, ballot in enumerate(ballots, start=1):
        try:
            normalised.append(validate(ballot))
        except BallotError as exc:
            raise exc.at(index) from None
    return normalised


# --------------------------------------------------------------------------------------------
# Methods


def approval(candidates: Sequence[str], ballots: Sequence[Mapping], settings: ApprovalSettings | None = None) -> Result:
    """Approval voting: each ballot approves up to ``k`` candidates; score = number of approvals.

    Tie rule: candidates with the same number of (weighted) approvals share a rank group.
    """
    settings = _own_settings(ApprovalSettings, "approval", settings)
    valid = validate_ballots("approval", candidates, ballots, settings)
    totals = dict.fromkeys(candidates, 0)
    for ballot in valid:
        for name in ballot["approve"]:
            totals[name] += ballot["weight"]
    return Result(
        method="approval",
        version=VERSIONS["approval"],
        ranking=_group_by_value(candidates, totals),
        scores=totals,
        extra={"k": settings.limit(candidates), "ballots": _weighted_count(valid)},
    )


def dot(candidates: Sequence[str], ballots: Sequence[Mapping], settings: DotSettings | None = None) -> Result:
    """Dot (cumulative) voting: each ballot distributes up to ``points`` points, at most
    ``max_per_item`` to one candidate; score = total points.

    Tie rule: candidates with the same (weighted) total share a rank group.
    """
    settings = _own_settings(DotSettings, "dot", settings)
    valid = validate_ballots("dot", candidates, ballots, settings)
    totals = dict.fromkeys(candidates, 0)
    for ballot in valid:
        for name, amount in ballot["points"].items():
            totals[name] += amount * ballot["weight"]
    return Result(
        method="dot",
        version=VERSIONS["dot"],
        ranking=_group_by_value(candidates, totals),
        scores=totals,
        extra={"points": settings.points, "max_per_item": settings.per_item, "ballots": _weighted_count(valid)},
    )


def _weighted_median(values: list[tuple[int, int]]) -> Fraction | None:
    """Median of the multiset where each ``(value, weight)`` stands for ``weight`` copies of ``value``;
    with an even total the mean of the two middle values."""
    total = sum(weight for _, weight in values)
    if total == 0:
        return None
    lower_pos, upper_pos = (total - 1) // 2, total // 2
    lower = upper = None
    seen = 0
    for value, weight in sorted(values):
        if lower is None and seen + weight > lower_pos:
            lower = value
        if seen + weight > upper_pos:
            upper = value
            break
        seen += weight
    assert lower is not None and upper is not None  # total > 0: both middle values were reached
    return Fraction(lower + upper, 2)


def score(candidates: Sequence[str], ballots: Sequence[Mapping], settings: ScoreSettings | None = None) -> Result:
    """Score voting: 1–5 on one or more named criteria (default urgenza, impatto, fattibilità).

    For each candidate and criterion the mean and the median of the scores received are reported
    (``extra["details"]``, with the weighted ``count`` of scores). A missing score — a candidate
    absent from a ballot, a criterion absent for a candidate, or ``null`` — is an *abstention* for
    that criterion: it is left out of the mean and the median, it is **not** a zero. The
    candidate's score is the weighted mean of its criterion means, over the criteria that received
    at least one score (weights renormalised over those); a candidate nobody scored has score
    ``None`` and is ranked last.

    Tie rule: candidates with exactly equal scores (compared as exact fractions) share a rank
    group; unscored candidates share the last group.
    """
    settings = _own_settings(ScoreSettings, "score", settings)
    valid = validate_ballots("score", candidates, ballots, settings)
    received: dict[str, dict[str, list[tuple[int, int]]]] = {
        name: {criterion: [] for criterion in settings.criteria} for name in candidates
    }
    for ballot in valid:
        for name, per_criterion in ballot["scores"].items():
            for criterion, value in per_criterion.items():
                received[name][criterion].append((value, ballot["weight"]))
    weights: dict[str, Fraction] = dict(zip(settings.criteria, settings.weights or (), strict=True))
    exact: dict[str, Fraction | None] = {}
    details: dict[str, dict[str, dict[str, Number | None]]] = {}
    for name in candidates:
        details[name] = {}
        weighted_sum = Fraction(0)
        weight_total = Fraction(0)
        for criterion in settings.criteria:
            values = received[name][criterion]
            count = sum(weight for _, weight in values)
            mean = Fraction(sum(value * weight for value, weight in values), count) if count else None
            details[name][criterion] = {
                "mean": None if mean is None else float(mean),
                "median": None if count == 0 else float(cast(Fraction, _weighted_median(values))),
                "count": count,
            }
            if mean is not None:
                weighted_sum += weights[criterion] * mean
                weight_total += weights[criterion]
        exact[name] = weighted_sum / weight_total if weight_total else None
    return Result(
        method="score",
        version=VERSIONS["score"],
        ranking=_group_by_value(candidates, exact),
        scores={name: None if (value := exact[name]) is None else float(value) for name in candidates},
        extra={
            "criteria": list(settings.criteria),
            "weights": {criterion: _number(weight) for criterion, weight in weights.items()},
            "details": details,
            "scale": [SCORE_MIN, SCORE_MAX],
            "ballots": _weighted_count(valid),
        },
    )


def borda(candidates: Sequence[str], ballots: Sequence[Mapping], settings: RankingSettings | None = None) -> Result:
    """Borda count: with n candidates, first place gets n−1 points, second n−2, … last 0.

    A partial ranking scores the ranked candidates as if the ballot were of length n (first n−1,
    second n−2, …) and gives every unranked candidate 0 points. Tie rule: candidates with the same
    (weighted) total share a rank group.
    """
    _settings_for("borda", settings)
    valid = validate_ballots("borda", candidates, ballots, settings)
    n = len(candidates)
    totals = dict.fromkeys(candidates, 0)
    for ballot in valid:
        for position, name in enumerate(ballot["ranking"]):
            totals[name] += (n - 1 - position) * ballot["weight"]
    return Result(
        method="borda",
        version=VERSIONS["borda"],
        ranking=_group_by_value(candidates, totals),
        scores=totals,
        extra={"ballots": _weighted_count(valid)},
    )


def pairwise_matrix(candidates: Sequence[str], valid: Sequence[Mapping]) -> dict[str, dict[str, int]]:
    """d[a][b]: (weighted) ballots ranking a above b; unranked candidates are tied below the ranked."""
    d = {a: {b: 0 for b in candidates if b != a} for a in candidates}
    for ballot in valid:
        ranking = ballot["ranking"]
        weight = ballot["weight"]
        below = set(candidates)
        for name in ranking:
            below.discard(name)
            row = d[name]
            for other in below:
                row[other] += weight
    return d


def strongest_paths(candidates: Sequence[str], d: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """p[a][b]: strength of the strongest (widest) path from a to b — Floyd–Warshall variant.

    A direct link a→b has strength d[a][b] when d[a][b] > d[b][a], otherwise 0; a path is as strong
    as its weakest link.
    """
    p = {a: {b: (d[a][b] if d[a][b] > d[b][a] else 0) for b in candidates if b != a} for a in candidates}
    for i in candidates:
        for j in candidates:
            if j == i:
                continue
            for k in candidates:
                if k in (i, j):
                    continue
                p[j][k] = max(p[j][k], min(p[j][i], p[i][k]))
    return p


def schulze(candidates: Sequence[str], ballots: Sequence[Mapping], settings: RankingSettings | None = None) -> Result:
    """Schulze method on ranked ballots (unranked candidates tied below all ranked ones).

    Builds the pairwise matrix d and the strongest-path matrix p (both in ``extra``). a beats b
    when p[a][b] > p[b][a]; this relation is transitive. The ranking is built by repeatedly taking
    the remaining candidates beaten by no remaining candidate. Tie rule: candidates taken in the
    same round share a rank group (neither beats the other). ``scores[a]`` is the number of
    candidates a beats.
    """
    _settings_for("schulze", settings)
    valid = validate_ballots("schulze", candidates, ballots, settings)
    d = pairwise_matrix(candidates, valid)
    p = strongest_paths(candidates, d)

    def beats(a: str, b: str) -> bool:
        return p[a][b] > p[b][a]

    remaining = list(candidates)
    ranking: list[list[str]] = []
    while remaining:
        group = [a for a in remaining if not any(beats(b, a) for b in remaining if b != a)]
        if not group:  # impossible: the Schulze relation is acyclic
            raise AssertionError("relazione di Schulze ciclica")
        ranking.append(sorted(group, key=_alpha))
        remaining = [a for a in remaining if a not in group]
    wins = {a: sum(1 for b in candidates if b != a and beats(a, b)) for a in candidates}
    return Result(
        method="schulze",
        version=VERSIONS["schulze"],
        ranking=ranking,
        scores=wins,
        extra={"pairwise": d, "strongest_paths": p, "ballots": _weighted_count(valid)},
    )


def _weighted_count(valid: Sequence[Mapping]) -> int:
    return sum(ballot["weight"] for ballot in valid)


METHODS: dict[str, Callable[..., Result]] = {
    "approval": approval,
    "dot": dot,
    "score": score,
    "borda": borda,
    "schulze": schulze,
}


def tally(method: str, candidates: Sequence[str], ballots: Sequence[Mapping], settings: Settings | None = None) -> Result:
    """Count ``ballots`` with the named method."""
    settings = _settings_for(method, settings)
    return METHODS[method](candidates, ballots, settings)


# --------------------------------------------------------------------------------------------
# Tie-break


def _tie_key(seed: str, candidate: str) -> str:
    return hashlib.sha256((seed + candidate).encode("utf-8")).hexdigest()


def break_ties(result: Result, seed: str) -> Result:
    """A new result whose tie groups are split, by a deterministic draw, into single places.

    Inside each group candidates are ordered by the SHA-256 (hex, ascending) of ``seed`` followed
    by the candidate's name, UTF-8 encoded. Applied only on request; the original result is not
    changed. The new result records ``extra["tie_break"] = {"seed", "rule", "groups"}`` — the tie
    groups that were split. A result already tie-broken is refused.
    """
    if not isinstance(seed, str):
        raise TypeError("il seed dello spareggio deve essere un testo")
    if "tie_break" in result.extra:
        raise VotingError("lo spareggio è già stato applicato a questo risultato")
    ranking: list[list[str]] = []
    for group in result.ranking:
        ranking.extend([name] for name in sorted(group, key=lambda name: (_tie_key(seed, name), name)))
    extra = copy.deepcopy(result.extra)
    extra["tie_break"] = {
        "seed": seed,
        "rule": TIE_BREAK_RULE,
        "groups": [list(group) for group in result.ranking if len(group) > 1],
    }
    return Result(
        method=result.method,
        version=result.version,
        ranking=ranking,
        scores=dict(result.scores),
        extra=extra,
    )
