"""``votes tally`` as an operator runs it: ``python -m workspace.voting.cli tally ...`` in a subprocess,
JSON on stdout, exit status 2 and an Italian message on stderr for bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from workspace.voting.cli import votes

from .test_methods import SCHULZE_45, SCHULZE_45_D, SCHULZE_45_P

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "workspace.voting.cli", "tally", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def write(tmp_path: Path, document: object, name: str = "voti.json") -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return str(path)


def ok(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def invalid(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    return proc.stderr.strip()


def test_schulze_classic_example(tmp_path):
    document = {
        "candidates": list("ABCDE"),
        "ballots": [{"ranking": list(order), "weight": n} for n, order in SCHULZE_45],
    }
    out = ok(run("--method", "schulze", write(tmp_path, document)))
    assert out["method"] == "schulze"
    assert out["version"] == "schulze/1"
    assert out["ranking"] == [["E"], ["A"], ["C"], ["B"], ["D"]]
    assert out["pairwise"] == SCHULZE_45_D
    assert out["strongest_paths"] == SCHULZE_45_P
    assert out["scores"] == {"A": 3, "B": 1, "C": 2, "D": 0, "E": 4}


def test_approval_from_stdin_with_k():
    document = {
        "candidates": ["asili", "anziani", "casa"],
        "ballots": [{"approve": ["asili", "anziani"]}, {"approve": ["anziani"], "weight": 2}, {"approve": ["casa"]}],
    }
    out = ok(run("--method", "approval", "--k", "2", "-", stdin=json.dumps(document)))
    assert out["ranking"] == [["anziani"], ["asili", "casa"]]
    assert out["scores"] == {"asili": 1, "anziani": 3, "casa": 1}
    assert out["k"] == 2
    assert "tie_break" not in out


def test_approval_k_defaults_to_number_of_candidates():
    document = {"candidates": ["a", "b", "c"], "ballots": [{"approve": ["a", "b", "c"]}]}
    out = ok(run("--method", "approval", "-", stdin=json.dumps(document)))
    assert out["k"] == 3
    assert out["ranking"] == [["a", "b", "c"]]


def test_dot_defaults_and_options(tmp_path):
    document = {"candidates": ["a", "b", "c"], "ballots": [{"points": {"a": 10}}, {"points": {"b": 6, "c": 4}}]}
    path = write(tmp_path, document)
    out = ok(run("--method", "dot", path))
    assert (out["points"], out["max_per_item"]) == (10, 10)
    assert out["ranking"] == [["a"], ["b"], ["c"]]
    message = invalid(run("--method", "dot", "--points", "10", "--max-per-item", "5", path))
    assert message == "Scheda n. 1 non valida: troppi punti per «a»: 10 (al massimo 5 per voce)"
    out = ok(run("--method", "dot", "--points", "12", "--max-per-item", "10", path))
    assert out["scores"] == {"a": 10, "b": 6, "c": 4}


def test_score_single_criterion_named_punteggio(tmp_path):
    document = {"candidates": ["a", "b"], "ballots": [{"scores": {"a": 4, "b": 2}}, {"scores": {"a": 3}, "weight": 3}]}
    out = ok(run("--method", "score", write(tmp_path, document)))
    # a: 4, 3, 3, 3 → mean 13/4, median 3; b: 2.
    assert out["criteria"] == ["punteggio"]
    assert out["scores"] == {"a": 3.25, "b": 2.0}
    assert out["details"]["a"]["punteggio"] == {"mean": 3.25, "median": 3.0, "count": 4}
    assert out["ranking"] == [["a"], ["b"]]


def test_score_per_criterion_with_weights(tmp_path):
    document = {
        "candidates": ["a", "b"],
        "ballots": [
            {"scores": {"a": {"urgenza": 5, "impatto": 1, "fattibilita": 3}, "b": {"urgenza": 1, "impatto": 5}}},
        ],
    }
    path = write(tmp_path, document)
    out = ok(run("--method", "score", path))
    assert out["criteria"] == ["urgenza", "impatto", "fattibilità"]
    # equal weights: a (5 + 1 + 3) / 3 = 3; b (1 + 5) / 2 = 3 — fattibilità is an abstention for b
    assert out["scores"] == {"a": 3.0, "b": 3.0}
    assert out["ranking"] == [["a", "b"]]
    out = ok(run("--method", "score", "--criteria", "urgenza,impatto,fattibilita", "--weights", "3,1,1", path))
    # a (15 + 1 + 3) / 5 = 3.8; b (3 + 5) / 4 = 2
    assert out["criteria"] == ["urgenza", "impatto", "fattibilita"]
    assert out["weights"] == {"urgenza": 3, "impatto": 1, "fattibilita": 1}
    assert out["scores"] == {"a": 3.8, "b": 2.0}
    assert out["ranking"] == [["a"], ["b"]]


def test_borda_tie_and_tie_break_on_request(tmp_path):
    document = {"candidates": ["a", "b", "c"], "ballots": [{"ranking": ["a", "b", "c"]}, {"ranking": ["b", "a", "c"]}]}
    path = write(tmp_path, document)
    out = ok(run("--method", "borda", path))
    assert out["ranking"] == [["a", "b"], ["c"]]
    assert out["scores"] == {"a": 3, "b": 3, "c": 0}
    assert "tie_break" not in out
    broken = ok(run("--method", "borda", "--tie-break", "seduta-1", path))
    assert sorted(broken["ranking"][:2]) == [["a"], ["b"]]
    assert broken["ranking"][2] == ["c"]
    assert broken["tie_break"]["seed"] == "seduta-1"
    assert broken["tie_break"]["groups"] == [["a", "b"]]
    assert ok(run("--method", "borda", "--tie-break", "seduta-1", path)) == broken


@pytest.mark.parametrize(
    ("document", "args", "message"),
    [
        ('{"candidates": ["a"], "ballots": [', (), "JSON non valido alla riga 1, colonna"),
        ("[1, 2]", (), "il file deve contenere un oggetto JSON con le chiavi «candidates» e «ballots»"),
        ({"ballots": []}, (), "manca la chiave «candidates»"),
        ({"candidates": ["a"]}, (), "manca la chiave «ballots»"),
        ({"candidates": ["a"], "ballots": {}}, (), "«ballots» deve essere un elenco di schede"),
        ({"candidates": [], "ballots": []}, (), "l'elenco dei candidati è vuoto"),
        (
            {"candidates": ["a", "b"], "ballots": [{"ranking": ["a"]}, {"ranking": ["b"]}, {"ranking": ["x"]}]},
            (),
            "Scheda n. 3 non valida: candidato sconosciuto «x»",
        ),
        (
            {"candidates": ["a", "b"], "ballots": [{"ranking": ["a", "a"]}]},
            (),
            "Scheda n. 1 non valida: candidato «a» ripetuto nella classifica",
        ),
        (
            {"candidates": ["a", "b"], "ballots": [{"approve": ["a"]}]},
            (),
            "Scheda n. 1 non valida: manca il campo «ranking»",
        ),
        (
            {"candidates": ["a", "b"], "ballots": [{"ranking": ["a"], "weight": 0}]},
            (),
            "Scheda n. 1 non valida: peso non valido: 0 (deve essere un intero positivo)",
        ),
        ({"candidates": ["a"], "ballots": []}, ("--k", "2"), "l'opzione --k vale solo con --method approval"),
        (
            '{"candidates": ["a"], "ballots": [{"ranking": ["a"], "ranking": []}]}',
            (),
            "JSON non valido: chiave «ranking» ripetuta nello stesso oggetto",
        ),
    ],
)
def test_invalid_input_exits_2(tmp_path, document, args, message):
    stderr = invalid(run("--method", "schulze", *args, write(tmp_path, document)))
    assert message in stderr


@pytest.mark.parametrize(
    ("method", "ballots", "args", "message"),
    [
        ("approval", [{"approve": ["a", "b"]}], ("--k", "1"), "Scheda n. 1 non valida: troppe approvazioni: 2 (al massimo 1)"),
        ("dot", [{"points": {"a": 8, "b": 3}}], (), "Scheda n. 1 non valida: troppi punti: 11 in totale (al massimo 10)"),
        ("dot", [{"points": {"a": -1}}], (), "Scheda n. 1 non valida: punti negativi per «a»: -1"),
        (
            "score",
            [{"scores": {"a": 3}}, {"scores": {"b": 9}}],
            (),
            "Scheda n. 2 non valida: punteggio fuori scala per «b», criterio «punteggio»: 9 (ammessi da 1 a 5)",
        ),
        (
            "score",
            [{"scores": {"a": {"costo": 2}}}],
            (),
            "Scheda n. 1 non valida: criterio sconosciuto «costo» per «a» "
            "(criteri ammessi: urgenza, impatto, fattibilità)",
        ),
        ("score", [], ("--weights", "1,1"), "i pesi sono 2 ma i criteri sono 3 (urgenza, impatto, fattibilità)"),
        (
            "score",
            [],
            ("--criteria", "urgenza,,impatto"),
            "criteri non validi: «urgenza,,impatto» (elenco separato da virgole, senza voci vuote)",
        ),
        ("score", [], ("--weights", "1,x,1"), "peso non valido: x (deve essere un numero positivo)"),
        ("approval", [], ("--k", "0"), "k non valido: 0 (deve essere un intero positivo)"),
        ("dot", [], ("--points", "0"), "numero di punti non valido: 0 (deve essere un intero positivo)"),
    ],
)
def test_invalid_ballots_and_options_per_method(method, ballots, args, message):
    document = json.dumps({"candidates": ["a", "b"], "ballots": ballots})
    assert invalid(run("--method", method, *args, "-", stdin=document)) == message


def test_missing_file_exits_2(tmp_path):
    missing = str(tmp_path / "nessuno.json")
    assert invalid(run("--method", "borda", missing)) == f"file non trovato: «{missing}»"


def test_unknown_method_is_a_usage_error(tmp_path):
    proc = run("--method", "range", write(tmp_path, {"candidates": ["a"], "ballots": []}))
    assert proc.returncode == 2
    assert "range" in proc.stderr


def test_votes_group_is_importable_for_the_main_command():
    assert isinstance(votes, click.Group)
    assert votes.name == "votes"
    assert "tally" in votes.commands
    result = CliRunner().invoke(
        votes,
        ["tally", "--method", "borda", "-"],
        input=json.dumps({"candidates": ["a", "b"], "ballots": [{"ranking": ["b"]}]}),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ranking"] == [["b"], ["a"]]
