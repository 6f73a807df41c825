"""Rendering cost of official documents: a 60-card document (one scheda obiettivo per page, each a
key-value table with Markdown text and an indicator table) in PDF/A, ODT, DOCX and HTML, and a
500-row sheet in ODS, XLSX, CSV and JSON.

Each render runs in a fresh process (spawned, so nothing is shared with the others), after the
renderer is imported and warmed up on a one-page document, and reports:

- wall and CPU seconds of the render alone;
- peak Python memory during a second, traced render (tracemalloc, which would slow the timed one;
  Pango, HarfBuzz and libxml2 allocate outside it);
- peak resident memory of the whole process (``ru_maxrss``: interpreter, libraries and render);
- output size (and pages, for the PDF).

Run: ``make bench`` (all benchmarks) or ``python -m bench.exports_render [--small] [--no-save]``.
``--small`` (10 cards, 100 rows) only checks that it runs; it never writes ``bench/results/``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MACROAREE = ("A – Contrasto alla povertà", "B – Politiche abitative", "C – Promozione dell'inclusione",
             "D – Domiciliarità", "E – Anziani", "F – Digitalizzazione")


def card_document(cards: int):  # noqa: ANN201 - an exports.Document
    from workspace.exports import (
        Document,
        Fields,
        Figure,
        Heading,
        Markdown,
        PageBreak,
        Table,
        bar_chart,
    )

    blocks: list = []
    for n in range(1, cards + 1):
        if n > 1:
            blocks.append(PageBreak())
        blocks += [
            Heading(f"Scheda obiettivo n. {n}", 1),
            Fields([
                ("Macroarea", MACROAREE[n % len(MACROAREE)]),
                ("Obiettivo", f"Ridurre l'isolamento delle persone anziane sole nel distretto {n % 7 + 1}"),
                ("Descrizione", Markdown(
                    "Il bisogno è emerso in **tre sedute** del tavolo e nelle annotazioni degli ETS.\n\n"
                    "- visite a domicilio settimanali\n- trasporto *sociale* verso i servizi\n"
                    "- sportello di prossimità nei Comuni sotto i 5.000 abitanti\n\n"
                    "Vedi il [verbale](https://ambito.example.org/verbali/3).")),
                ("Destinatari", "Persone con più di 75 anni che vivono sole; caregiver familiari"),
                ("Risorse (€)", Decimal(f"{15000 + n * 250}.00")),
                ("Avvio", date(2026, 1 + n % 12, 1)),
                ("Cofinanziamento", n % 2 == 0),
                ("Responsabile", "Ufficio di Piano – Ambito territoriale"),
                ("Enti coinvolti", "ODV «Insieme», APS Il Ponte, Cooperativa sociale Aurora, Comune capofila"),
                ("Note", "—"),
            ], caption=f"Scheda n. {n}"),
            Table(["Indicatore", "Valore atteso", "Fonte"],
                  [["Persone raggiunte", 120 + n, "Registro degli accessi"],
                   ["Visite effettuate", 1500 + 10 * n, "Diario delle visite"],
                   ["Soddisfazione (1-5)", 4.2, "Questionario"]],
                  caption="Indicatori", widths=(3, 1.5, 2.5)),
        ]
    blocks.append(Figure(bar_chart("Risorse per macroarea", list(MACROAREE), [120, 95.5, 80, 140, 210, 35],
                                   category="Macroarea", unit="k€"), "Figura 1 – Risorse per macroarea"))
    return Document("Piano di Zona 2025-2027 – Schede obiettivo", blocks=blocks,
                    subtitle="Documento di programmazione", organisation="Ambito territoriale di Pavia",
                    author="Ufficio di Piano", created=date(2026, 3, 2),
                    footer="SHA-256: 3f9a0c1be47d2a55e0c6d1f2b8a9e7c4d3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8")


def sheet(rows: int):  # noqa: ANN201 - an exports.Sheet
    from workspace.exports import Column, Sheet

    columns = [Column("rank", "Posizione"), Column("bisogno", "Bisogno"), Column("macroarea", "Macroarea"),
               Column("voti", "Voti"), Column("quota", "Quota"), Column("risorse", "Risorse (€)"),
               Column("data", "Data"), Column("prioritario", "Prioritario")]
    start = datetime(2026, 3, 2, 17, 0)
    return Sheet("Priorità", columns, [
        {"rank": i, "bisogno": f"Bisogno n. {i}: «solitudine» degli anziani è più frequente",
         "macroarea": MACROAREE[i % len(MACROAREE)], "voti": 500 - i, "quota": round((500 - i) / 1250, 4),
         "risorse": Decimal(f"{1000 + i * 7}.50"), "data": start + timedelta(minutes=i), "prioritario": i <= 20}
        for i in range(1, rows + 1)])


def _measure(kind: str, fmt: str, size: int) -> dict:
    """Runs in a fresh process: warm up, then render once under measurement."""
    from workspace import exports

    if kind == "document":
        exports.render(card_document(1), fmt)  # imports and font caches, not measured
        work = card_document(size)
        render = exports.render
    else:
        exports.render_table(sheet(2), fmt)
        work = sheet(size)
        render = exports.render_table
    wall, cpu = time.perf_counter(), time.process_time()
    data = render(work, fmt)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # Memory in a second render: tracing slows Python code several times, so it is not timed.
    tracemalloc.start()
    render(work, fmt)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    pages = None
    if fmt == "pdf":
        from io import BytesIO

        from pypdf import PdfReader  # a dev dependency, as benchmarks are

        pages = len(PdfReader(BytesIO(data)).pages)
    return {"kind": kind, "format": fmt, "size": size, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
            "python_peak_mb": round(peak / 2**20, 1),
            "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "bytes": len(data), "pages": pages or None}


def run(cards: int, rows: int) -> list[dict]:
    from workspace import exports

    jobs = [("document", f, cards) for f in exports.DOCUMENT_FORMATS] + \
           [("sheet", f, rows) for f in exports.TABLE_FORMATS]
    results = []
    for kind, fmt, size in jobs:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            result = pool.submit(_measure, kind, fmt, size).result()
        results.append(result)
        what = f"{size} schede" if kind == "document" else f"{size} righe"
        print(f"  {fmt:5} {what:>11}: {result['seconds']:7.2f} s (CPU {result['cpu_seconds']:.2f} s), "
              f"Python {result['python_peak_mb']:6.1f} MB, processo {result['process_peak_rss_mb']:6.1f} MB, "
              f"{result['bytes'] / 1024:8.1f} KB" + (f", {result['pages']} pagine" if result["pages"] else ""),
              flush=True)
    return results


def markdown(report: dict) -> str:
    env = report["environment"]
    lines = [
        "# Exports rendering benchmark",
        "",
        f"Run {report['date']} on {env['cores']} cores, Python {env['python']}, {env['platform']}; "
        + ", ".join(f"{k} {v}" for k, v in env["packages"].items())
        + ". Generated by `make bench` (`bench/exports_render.py`); all figures in `exports_render.json`.",
        "",
        f"A document of {report['settings']['cards']} schede obiettivo (one per page: a key-value table with "
        "Markdown text, an indicator table) plus a chart, and a sheet of "
        f"{report['settings']['rows']} rows × 8 typed columns. Each render in a fresh process after a warm-up; "
        "Python peak from tracemalloc in a second, untimed render (native libraries allocate outside it), "
        "process peak from ru_maxrss.",
        "",
        "| what | format | seconds | CPU s | Python peak MB | process peak MB | KB | pages |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        lines.append(f"| {r['kind']} ({r['size']}) | {r['format']} | {r['seconds']} | {r['cpu_seconds']} | "
                     f"{r['python_peak_mb']} | {r['process_peak_rss_mb']} | {r['bytes'] / 1024:.1f} | "
                     f"{r['pages'] or ''} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exports_render", description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=60)
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--small", action="store_true", help="10 cards, 100 rows; does not save")
    parser.add_argument("--no-save", action="store_true", help="print only, do not write bench/results/")
    args = parser.parse_args(argv)
    cards, rows = (10, 100) if args.small else (args.cards, args.rows)
    if cards < 1 or rows < 1:
        parser.error("servono almeno una scheda e una riga")
    print(f"exports_render: {cards} schede, {rows} righe...", flush=True)
    results = run(cards, rows)
    report = {
        "benchmark": "exports_render",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": {
            "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "packages": {p: metadata.version(p) for p in ("weasyprint", "odfdo", "python-docx", "openpyxl",
                                                          "cairosvg")},
        },
        "settings": {"cards": cards, "rows": rows},
        "results": results,
    }
    if not (args.small or args.no_save):
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / "exports_render.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        (RESULTS_DIR / "exports_render.md").write_text(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
