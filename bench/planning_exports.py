"""Exports of the planning area on a large procedure: 500 bisogni over five tavoli, a closed dot vote
on each (60 items, the maximum), a disposition on every ranked bisogno and 60 complete schede
obiettivo — then priorities (CSV, XLSX, ODS, JSON), cards (CSV, XLSX, ODS, JSON, ODT, DOCX, PDF/A,
one card per page) and the Documento di Piano's section 6 (ODT, DOCX), as the CLI and the pages
make them (reading the database included).

Each export runs in a fresh process (spawned) on the built SQLite database, after a warm-up on a
one-card export, and reports wall and CPU seconds, the Python peak (tracemalloc, in a second,
untimed run), the process peak (ru_maxrss) and the size. Targets: ≤ 3 s per spreadsheet/text
format, ≤ 10 s for the PDF/A of all the cards.

Run: ``make bench`` or ``python -m bench.planning_exports [--small] [--no-save]``. Figures go to
``bench/results/planning_exports.json`` and, under keys starting with ``planning_exports.``, into
``bench/results.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import shutil
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

from bench.verbale import merge_results

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MACROAREE = ("A", "B", "D", "E", "G")
VOTERS = 12
JOBS = [("priorita", f) for f in ("csv", "xlsx", "ods", "json")] + \
       [("schede", f) for f in ("csv", "xlsx", "ods", "json", "odt", "docx", "pdf")] + \
       [("obiettivi", f) for f in ("odt", "docx")]
TARGETS = {"pdf": 10.0}
DEFAULT_TARGET = 3.0


def _app(workdir: Path, secret: str):
    from workspace import create_app

    return create_app({"DATABASE_URL": f"sqlite:///{workdir / 'planning.db'}", "INSTANCE_PATH": str(workdir),
                       "SECRET_KEY": secret, "MAIL_DIR": str(workdir / "mail"), "CHECK_MIGRATIONS": False})


def build(workdir: Path, secret: str, bisogni: int, cards: int) -> dict:
    """The procedure, through the services. Returns its id and how long building took."""
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from tests.planning.support import complete_values
    from workspace.accounts.models import Membership, Organisation, User
    from workspace.db import db, utcnow
    from workspace.migrate import upgrade
    from workspace.needs import service as needs
    from workspace.planning import service as planning
    from workspace.procedures import lifecycle
    from workspace.reference.loader import load_reference
    from workspace.reference.models import KeyPoint
    from workspace.tavoli import membership
    from workspace.voting import ballots, rounds

    started = time.perf_counter()
    upgrade(f"sqlite:///{workdir / 'planning.db'}")
    app = _app(workdir, secret)
    with app.app_context():
        session = db.session
        load_reference(session)
        password = PasswordHasher().hash(secrets.token_hex(16))
        udp = Organisation(name="Ufficio di Piano (bench)", kind="ufficio_di_piano", ambito_code="50008")
        orgs = [Organisation(name=f"ETS {i:02d} (bench)", kind="ets", ambito_code="50008", runts_section="odv")
                for i in range(VOTERS)]
        admin = User(name="Amministratrice (bench)", email="adm@bench.example.org", password_hash=password,
                     is_admin=True)
        facilitator = User(name="Facilitatore (bench)", email="fac@bench.example.org", password_hash=password)
        people = [User(name=f"Delegata {i:02d}", email=f"del{i:02d}@bench.example.org", password_hash=password)
                  for i in range(VOTERS)]
        session.add_all([udp, *orgs, admin, facilitator, *people])
        session.add_all([Membership(user=admin, organisation=udp), Membership(user=facilitator, organisation=udp)])
        session.add_all([Membership(user=p, organisation=o) for p, o in zip(people, orgs, strict=True)])
        session.flush()
        procedure = lifecycle.create_procedure(session, admin, "50008", "Piano di Zona (bench)", rup=admin)
        now = utcnow()
        per_tavolo = bisogni // len(MACROAREE)
        card_plan: list[tuple[str, list[int]]] = []
        for code in MACROAREE:
            tavolo = membership.create_tavolo(session, admin, procedure, f"Tavolo {code} (bench)", [code],
                                              opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30))
            membership.set_role(session, admin, tavolo, facilitator, "facilitator")
            for person, org in zip(people, orgs, strict=True):
                membership.set_role(session, admin, tavolo, person, "delegate", org)
            ids = []
            for n in range(per_tavolo):
                bisogno, _ev = needs.create_bisogno(session, people[n % VOTERS], tavolo, {
                    "title": f"Bisogno {code}{n + 1}: domiciliarità e reti nel quartiere {n % 12 + 1}",
                    "description": "Descrizione con **dati**.", "macroarea": code,
                    "target_population": "Persone fragili", "evidence_source": "Servizi sociali",
                    "evidence_figure": f"{100 + n} persone", "evidence_year": 2024, "consolidation": "consolidato"})
                ids.append(bisogno.id)
            session.commit()
            items = ids[:60]
            vote, _ev = rounds.create_round(session, facilitator, tavolo, f"Priorità {code}", "dot", items,
                                            closes_at=now + timedelta(days=2))
            rounds.open_round(session, facilitator, vote)
            for v, person in enumerate(people):
                ballots.cast_ballot(session, person, vote, {"points": {str(items[(v * 3) % len(items)]): 6,
                                                                       str(items[(v * 7 + 1) % len(items)]): 4}})
            rounds.close_round(session, facilitator, vote)
            for n, bisogno_id in enumerate(items):
                planning.record_disposition(session, admin, bisogno_id,
                                            ("accolto", "parzialmente_accolto", "non_accolto")[n % 3],
                                            f"Motivazione n. {n + 1}: coerenza con il Piano e risorse disponibili.")
            session.commit()
            card_plan += [(code, [items[2 * k], items[2 * k + 1]]) for k in range(cards // len(MACROAREE))]
        points = {code: list(session.scalars(select(KeyPoint.text).where(KeyPoint.macroarea_code == code)))
                  for code in MACROAREE}
        for n, (code, ids) in enumerate(card_plan):
            card = planning.create_scheda(session, admin, procedure, ids, code)
            values = complete_values(session, code)
            values["title"] = f"Intervento n. {n + 1} della macroarea {code}"
            values["key_points"] = points[code][:3]
            planning.update_scheda(session, admin, card, values=values)
            planning.set_ready(session, admin, card)
            session.commit()
        return {"procedure_id": procedure.id, "build_seconds": round(time.perf_counter() - started, 1)}


def _measure(workdir: str, secret: str, procedure_id: int, what: str, fmt: str) -> dict:
    """Runs in a fresh process: warm up, then export once under measurement."""
    from workspace.db import db
    from workspace.planning import documents
    from workspace.procedures.models import Procedure

    app = _app(Path(workdir), secret)
    with app.app_context():
        session = db.session
        procedure = session.get_one(Procedure, procedure_id)
        export = {"priorita": documents.priorities_bytes, "schede": documents.schede_bytes,
                  "obiettivi": lambda s, p, f, *_a: documents.obiettivi_bytes(s, p, f)}[what]
        # Imports, font caches, the reference data: not measured (one macroarea, a few cards).
        export(session, procedure, fmt, documents.Scope(macroarea="A"))
        session.expire_all()
        wall, cpu = time.perf_counter(), time.process_time()
        data = export(session, procedure, fmt, documents.Scope())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        session.expire_all()
        tracemalloc.start()
        export(session, procedure, fmt, documents.Scope())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    pages = None
    if fmt == "pdf":
        from io import BytesIO

        from pypdf import PdfReader

        pages = len(PdfReader(BytesIO(data)).pages)
    target = TARGETS.get(fmt, DEFAULT_TARGET)
    return {"what": what, "format": fmt, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
            "python_peak_mb": round(peak / 2**20, 1),
            "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "bytes": len(data), "pages": pages, "target_seconds": target, "within_target": wall <= target}


def run(bisogni: int, cards: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="tavoli-bench-planning-"))
    secret = secrets.token_hex(32)
    try:
        built = build(workdir, secret, bisogni, cards)
        print(f"  procedura costruita in {built['build_seconds']} s", flush=True)
        results = []
        for what, fmt in JOBS:
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                r = pool.submit(_measure, str(workdir), secret, built["procedure_id"], what, fmt).result()
            results.append(r)
            print(f"  {what:9} {fmt:5}: {r['seconds']:6.2f} s (CPU {r['cpu_seconds']:.2f} s, obiettivo ≤ "
                  f"{r['target_seconds']:.0f} s{'' if r['within_target'] else ' SUPERATO'}), Python "
                  f"{r['python_peak_mb']:6.1f} MB, processo {r['process_peak_rss_mb']:6.1f} MB, "
                  f"{r['bytes'] / 1024:8.1f} KB" + (f", {r['pages']} pagine" if r["pages"] else ""), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"build_seconds": built["build_seconds"], "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.planning_exports", description=__doc__.splitlines()[0])
    parser.add_argument("--bisogni", type=int, default=500)
    parser.add_argument("--cards", type=int, default=60)
    parser.add_argument("--small", action="store_true", help="50 bisogni, 5 schede; does not save")
    parser.add_argument("--no-save", action="store_true", help="print only, write nothing")
    args = parser.parse_args(argv)
    bisogni, cards = (50, 5) if args.small else (args.bisogni, args.cards)
    if bisogni < 2 * len(MACROAREE) * 2 or cards < len(MACROAREE):
        parser.error("servono almeno 20 bisogni e 5 schede")
    print(f"planning_exports: {bisogni} bisogni, {cards} schede...", flush=True)
    out = run(bisogni, cards)
    report = {"benchmark": "planning_exports", "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "environment": {"cores": os.cpu_count(), "python": platform.python_version(),
                              "platform": platform.platform()},
              "settings": {"bisogni": bisogni, "cards": cards}, **out}
    if not (args.small or args.no_save):
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / "planning_exports.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        figures = {"planning_exports.build_seconds": out["build_seconds"]}
        for r in out["results"]:
            key = f"planning_exports.{r['what']}.{r['format']}"
            figures |= {f"{key}.seconds": r["seconds"], f"{key}.python_peak_mb": r["python_peak_mb"],
                        f"{key}.process_peak_rss_mb": r["process_peak_rss_mb"]}
        merge_results(figures)
    return 0 if all(r["within_target"] for r in out["results"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
