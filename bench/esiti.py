"""Esiti of the previous programming at a large size: the table of N objectives (default 500, the
import's limit) exported as CSV, XLSX, ODS and JSON and checked for import (parsed and validated,
all or nothing) from CSV, XLSX and ODS; the document of D objectives (default 60, one per page, as
the 60 cards of the exports benchmark) in PDF/A, ODT and DOCX.

Figures: wall seconds of each export and each import check (best of ``--repeat``, after a warm-up
render of one objective), peak Python
memory of one traced run (tracemalloc) and output size. No database is needed: the objectives are
built in memory (the service's checks and the exports read them as they read stored rows).

Run: ``python -m bench.esiti [--objectives N] [--documents D] [--repeat R] [--small] [--no-save]``. Results go to
``bench/results/esiti.json`` and, under keys starting with ``esiti.``, into ``bench/results.json``.
``--small`` (20 objectives, 5 in documents) only checks that it runs and writes nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from bench.verbale import merge_results

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def objectives(n: int) -> list:
    from decimal import Decimal

    from workspace.esiti.models import PreviousObjective

    adequacy = ("Gravemente inadeguato", "Inadeguato", "Sufficientemente adeguato", "Adeguato", "Perfettamente adeguato")
    return [PreviousObjective(
        id=i, procedure_id=1, position=i, title=f"Obiettivo n. {i}: ridurre l'isolamento degli anziani soli nel quartiere {i}",
        macroarea="Domiciliarità", actions_programmed=4 + i % 7, actions_done=i % 12,
        user_evaluation="Questionario di soddisfazione: 81% soddisfatti", resource_adequacy=adequacy[i % 5],
        budget_planned=Decimal(f"{10000 + 37 * i}.00"), budget_paid=Decimal(f"{9000 + 41 * i}.50"),
        critical_issues="Turn-over degli operatori; piano di miglioramento con le cooperative", need_addressed="SI",
        need_addressed_reason="Tempi di attivazione dimezzati", continuity="NO", reproposed="SI" if i % 3 else "NO",
        reproposed_reason="Il bisogno resta") for i in range(1, n + 1)]


def _timed(fn, repeat: int) -> tuple[float, float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return round(best, 3), round(peak / 2**20, 1), result


def run(n: int, pages: int, repeat: int) -> dict:
    from workspace import create_app
    from workspace.esiti import document, importing
    from workspace.procedures.models import Procedure

    app = create_app({"DATABASE_URL": "sqlite://", "CHECK_MIGRATIONS": False})
    figures: dict = {"objectives": n, "document_objectives": pages}
    with app.app_context():
        procedure = Procedure(id=1, ambito_code="50008", title="Co-programmazione PdZ 2025-2027 (benchmark)")
        table = objectives(n)
        files = {}
        for fmt in document.FORMATS:
            document.render(procedure, table[:1], fmt)  # imports, fonts and caches: not measured
            rows = table if fmt in document.TABLE_FORMATS else table[:pages]
            seconds, peak, data = _timed(lambda fmt=fmt, rows=rows: document.render(procedure, rows, fmt), repeat)
            assert isinstance(data, bytes)
            figures[f"export_{fmt}_seconds"], figures[f"export_{fmt}_python_peak_mb"] = seconds, peak
            figures[f"export_{fmt}_kb"] = round(len(data) / 1024, 1)
            files[fmt] = data
            print(f"  esporta {fmt:4} ({len(rows)} obiettivi): {seconds:6.2f} s, Python {peak:6.1f} MB, "
                  f"{len(data) / 1024:8.1f} KB", flush=True)
        for fmt in importing.IMPORT_FORMATS:
            seconds, peak, rows = _timed(lambda fmt=fmt: importing.parse(files[fmt], fmt), repeat)
            assert isinstance(rows, list) and len(rows) == n
            figures[f"import_{fmt}_seconds"], figures[f"import_{fmt}_python_peak_mb"] = seconds, peak
            print(f"  importa {fmt:4}: {seconds:6.2f} s, Python {peak:6.1f} MB ({n} righe controllate)", flush=True)
    return {f"esiti.{key}": value for key, value in figures.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.esiti", description=__doc__.splitlines()[0])
    parser.add_argument("--objectives", type=int, default=500)
    parser.add_argument("--documents", type=int, default=60, help="objectives in the PDF/A, ODT, DOCX document")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="20 objectives, only to check that it runs")
    parser.add_argument("--no-save", action="store_true", help="print only, write nothing")
    args = parser.parse_args(argv)
    n, pages = (20, 5) if args.small else (args.objectives, args.documents)
    if not 1 <= pages <= n <= 500:
        parser.error("da 1 a 500 obiettivi (il limite dell'importazione), nel documento non più che nella tabella")
    print(f"esiti: {n} obiettivi in tabella, {pages} nel documento", flush=True)
    figures = run(n, pages, 1 if args.small else max(args.repeat, 1))
    if not (args.small or args.no_save):
        report = {"benchmark": "esiti", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                  "environment": {"cores": os.cpu_count(), "python": platform.python_version(),
                                  "platform": platform.platform(),
                                  "load_average_1min": round(os.getloadavg()[0], 2)},
                  "settings": {"objectives": n, "documents": pages, "repeat": args.repeat}, "results": figures}
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / "esiti.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        merge_results(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
