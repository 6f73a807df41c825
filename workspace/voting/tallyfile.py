"""The JSON tally file: ``{"candidates": [...], "ballots": [...]}``, read, counted and reported.

Ballot shapes: ``{"approve": [...]}``, ``{"points": {"a": 3}}``, ``{"scores": {"a": 4}}`` (one
criterion, named "punteggio") or ``{"scores": {"a": {"urgenza": 4}}}`` (per criterion), and
``{"ranking": ["b", "a", "c"]}``; each may carry ``"weight": n``. Other top-level keys of the file
are ignored. Every problem raises :class:`InputError` (or a :class:`VotingError`) with an Italian
message; a bad ballot is named by its number, counted from 1.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from workspace.voting.methods import (
    DEFAULT_CRITERIA,
    ApprovalSettings,
    DotSettings,
    RankingSettings,
    Result,
    ScoreSettings,
    Settings,
    VotingError,
    break_ties,
    tally,
)

#: The criterion of a single-criterion score vote (ballots like ``{"scores": {"a": 4}}``).
SINGLE_CRITERION = "punteggio"
DEFAULT_POINTS = 10


class InputError(VotingError):
    """An unreadable or malformed tally file, or bad options; the message is Italian."""


@dataclass(frozen=True)
class TallyFile:
    candidates: list[str]
    ballots: list[Any]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InputError(f"JSON non valido: chiave «{key}» ripetuta nello stesso oggetto")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise InputError(f"JSON non valido: valore «{name}» non ammesso")


def read_text(path: str, stdin: IO[str] | None = None) -> str:
    """The file's text; ``"-"`` reads standard input."""
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin
        try:
            return stream.read()
        except UnicodeDecodeError:
            raise InputError("l'ingresso standard non è testo UTF-8") from None
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError(f"file non trovato: «{path}»") from None
    except IsADirectoryError:
        raise InputError(f"«{path}» è una cartella, non un file") from None
    except UnicodeDecodeError:
        raise InputError(f"il file «{path}» non è testo UTF-8") from None
    except OSError as exc:
        raise InputError(f"impossibile leggere «{path}»: {exc.strerror or exc}") from None


def parse(text: str) -> TallyFile:
    """Parse the JSON document and check its shape (not the ballots: the method does that)."""
    text = text.lstrip("\ufeff")
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"JSON non valido alla riga {exc.lineno}, colonna {exc.colno}: {exc.msg}") from None
    if not isinstance(document, Mapping):
        raise InputError("il file deve contenere un oggetto JSON con le chiavi «candidates» e «ballots»")
    for key in ("candidates", "ballots"):
        if key not in document:
            raise InputError(f"manca la chiave «{key}»")
    candidates, ballots = document["candidates"], document["ballots"]
    if not isinstance(candidates, list):
        raise InputError("«candidates» deve essere un elenco di nomi")
    if not isinstance(ballots, list):
        raise InputError("«ballots» deve essere un elenco di schede")
    return TallyFile(candidates=candidates, ballots=ballots)


def split_list(text: str, what: str) -> list[str]:
    """A comma-separated option value, items stripped; empty items are an error."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise InputError(f"{what} non validi: «{text}» (elenco separato da virgole, senza voci vuote)")
    return items


def infer_criteria(ballots: Sequence[Any]) -> tuple[str, ...]:
    """Criteria when none are given: "punteggio" if any ballot scores a candidate with a bare
    number, otherwise the default criteria (urgenza, impatto, fattibilità)."""
    for ballot in ballots:
        scores = ballot.get("scores") if isinstance(ballot, Mapping) else None
        if isinstance(scores, Mapping) and any(v is not None and not isinstance(v, Mapping) for v in scores.values()):
            return (SINGLE_CRITERION,)
    return DEFAULT_CRITERIA


_OPTION_METHODS = {
    "k": ("--k", ("approval",)),
    "points": ("--points", ("dot",)),
    "max_per_item": ("--max-per-item", ("dot",)),
    "criteria": ("--criteria", ("score",)),
    "weights": ("--weights", ("score",)),
}


def build_settings(
    method: str,
    ballots: Sequence[Any],
    *,
    k: int | None = None,
    points: int | None = None,
    max_per_item: int | None = None,
    criteria: str | None = None,
    weights: str | None = None,
) -> Settings:
    """Method settings from command-line values; an option that does not apply to the method is an error.

    Defaults: k = number of candidates, points = 10, max per item = points, criteria inferred
    (see :func:`infer_criteria`), weights equal.
    """
    given = {"k": k, "points": points, "max_per_item": max_per_item, "criteria": criteria, "weights": weights}
    for name, value in given.items():
        option, methods = _OPTION_METHODS[name]
        if value is not None and method not in methods:
            raise InputError(f"l'opzione {option} vale solo con --method {' o '.join(methods)}")
    if method == "approval":
        return ApprovalSettings(k=k)
    if method == "dot":
        return DotSettings(points=DEFAULT_POINTS if points is None else points, max_per_item=max_per_item)
    if method == "score":
        names = tuple(split_list(criteria, "criteri")) if criteria is not None else infer_criteria(ballots)
        parsed_weights = tuple(split_list(weights, "pesi")) if weights is not None else None
        return ScoreSettings(criteria=names, weights=parsed_weights)
    return RankingSettings()


def report(result: Result) -> dict[str, Any]:
    """The JSON output: method, version, ranking, scores, then the method's details at top level
    (``pairwise`` and ``strongest_paths`` for Schulze; ``criteria``, ``weights``, ``details`` for
    score; ``tie_break`` when requested)."""
    out: dict[str, Any] = {
        "method": result.method,
        "version": result.version,
        "ranking": [list(group) for group in result.ranking],
        "scores": dict(result.scores),
    }
    for key, value in result.extra.items():
        out.setdefault(key, value)
    return out


def count(document: TallyFile, method: str, seed: str | None = None, **options: Any) -> dict[str, Any]:
    """Count a parsed tally file and return the report; ``seed`` applies :func:`break_ties`."""
    settings = build_settings(method, document.ballots, **options)
    result = tally(method, document.candidates, document.ballots, settings)
    if seed is not None:
        result = break_ties(result, seed)
    return report(result)
