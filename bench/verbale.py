"""The verbale of a big seduta: generating the draft, rendering its PDF/A, and its page under load.

What it does, on loopback, in a temporary directory it removes afterwards:

1. builds a SQLite database (migrations, reference data) with one tavolo and a seduta held through
   the real services: ``--attendees`` delegates marked present (spread over 30 ETS), ``--bisogni``
   bisogni presented while the agenda moves on, ``--annotations`` annotations of every kind, and
   ``--rounds`` live dot votes on five bisogni each, every attendee voting; then the seduta is
   closed, which generates the draft;
2. times the draft's generation from the record (``minutes.generation.generate``, median of 3 runs)
   and the PDF/A of its document (``minutes.document.render``), each also once more under
   ``tracemalloc`` for the peak of Python memory (WeasyPrint's C libraries allocate outside it; the
   process's peak resident memory is reported too);
3. starts the real server (``python -m workspace.entry serve``, as ``tavoli serve``) and requests the verbale's page as the
   facilitator from ``--concurrency`` connections at once (``--requests`` in all): p50, p95, max.

Targets from issue #9: draft ≤ 1 s and PDF/A ≤ 10 s for 80 attendees, 60 bisogni, 400 annotations
and 3 vote rounds on this machine. ``--small`` (8 attendees, 6 bisogni, 20 annotations, 1 round,
40 requests) only checks that it runs and never writes results. Otherwise the figures are written
to ``bench/results/verbale.json`` and merged, under keys starting with ``verbale.``, into
``bench/results.json`` (other benchmarks' keys are kept).

Run: ``make bench`` (all benchmarks) or ``python -m bench.verbale [--small]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.live_broadcast import RESULTS_DIR, Server, percentile, populate_tavolo, session_cookie

RESULTS_FILE = RESULTS_DIR.parent / "results.json"
AGENDA = ("Apertura e comunicazioni", "Dati di contesto", "Raccolta dei bisogni", "Priorità", "Varie ed eventuali")
KINDS = ("dato", "esperienza", "risorsa", "criticita", "proposta")


@dataclass
class Size:
    attendees: int = 80
    bisogni: int = 60
    annotations: int = 400
    rounds: int = 3
    requests: int = 400
    concurrency: int = 20


SMALL = Size(attendees=8, bisogni=6, annotations=20, rounds=1, requests=40, concurrency=20)


@dataclass
class Built:
    url: str
    seduta_id: int
    tavolo_id: int
    verbale_id: int
    facilitator_login: str
    events: int
    seconds: float


def build(workdir: Path, secret: str, size: Size) -> Built:
    """The database and the seduta, through the services (the verbale is drafted at closing)."""
    from workspace import create_app, record
    from workspace.db import db
    from workspace.migrate import upgrade
    from workspace.minutes import service as minutes
    from workspace.needs import service as needs
    from workspace.reference.loader import load_reference
    from workspace.tavoli import service as tavoli
    from workspace.voting import ballots, rounds

    started = time.perf_counter()
    url = f"sqlite:///{workdir / 'verbale.db'}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "SECRET_KEY": secret,
                      "MAIL_DIR": str(workdir / "mail"), "CHECK_MIGRATIONS": False})
    with app.app_context():
        session = db.session
        load_reference(session)
        facilitator, tavolo, delegates = populate_tavolo(session, size.attendees, "Delegata", "delegata",
                                                         "Tavolo E — Anziani (bench verbale)")
        seduta = tavoli.create_seduta(session, facilitator, tavolo, tavolo.created_at, "Sala del Consiglio",
                                      "mista", list(AGENDA))
        tavoli.start_seduta(session, facilitator, seduta)
        for n, (user, _org) in enumerate(delegates):
            tavoli.mark_presence(session, facilitator, seduta, user.id, True, "remoto" if n % 4 == 0 else "presenza")
        session.commit()
        bisogni = []
        per_item = max(1, size.bisogni // 2)
        for n in range(size.bisogni):
            if n % per_item == 0:  # the bisogni come under items 3 and 4
                tavoli.move_agenda(session, facilitator, seduta, seduta.agenda[min(2 + n // per_item, 3)].id)
            user, _org = delegates[n % len(delegates)]
            bisogno, _ev = needs.create_bisogno(session, user, tavolo, {
                "title": f"Bisogno n. {n + 1}: assistenza domiciliare nel quartiere {n % 12 + 1}",
                "description": "Descrizione del bisogno con **dati** e proposte.", "macroarea": "E"})
            bisogni.append(bisogno)
        session.commit()
        for n in range(size.annotations):
            user, _org = delegates[(n * 7) % len(delegates)]
            needs.add_annotation(session, user, bisogni[n % len(bisogni)], KINDS[n % len(KINDS)],
                                 f"Annotazione n. {n + 1}: esperienza sul campo e dati del servizio.")
            if n % 100 == 99:
                session.commit()
        session.commit()
        for r in range(size.rounds):
            items = [b.id for b in bisogni[r * 5 % len(bisogni):][:5]] or [b.id for b in bisogni[:5]]
            vote, _ev = rounds.create_round(session, facilitator, tavolo, f"Priorità, turno {r + 1}", "dot", items,
                                            seduta=seduta)
            rounds.open_round(session, facilitator, vote)
            for n, (user, _org) in enumerate(delegates):
                ballots.cast_ballot(session, user, vote, {"points": {str(items[n % len(items)]): 6,
                                                                     str(items[(n + 1) % len(items)]): 4}})
            rounds.close_round(session, facilitator, vote)
            session.commit()
        tavoli.close_seduta(session, facilitator, seduta)
        session.commit()
        verbale = minutes.verbale_of(session, seduta.id)
        if verbale is None:
            raise RuntimeError("la bozza del verbale non è stata generata alla chiusura della seduta")
        from workspace.accounts.service import open_login  # the login the facilitator's cookie names

        built = Built(url, seduta.id, tavolo.id, verbale.id, open_login(session, facilitator),
                      record.last_seq(session, tavolo.id), round(time.perf_counter() - started, 1))
        session.commit()
    app.extensions["tavoli_db"]["engine"].dispose()
    return built


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(median wall seconds over ``repeat`` runs, peak traced MB of one more run)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    try:
        fn()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def measure_documents(workdir: Path, secret: str, built: Built, repeat: int) -> dict:
    from workspace import create_app
    from workspace.db import db
    from workspace.minutes import content, document, generation
    from workspace.minutes.models import Verbale
    from workspace.tavoli.models import Seduta

    app = create_app({"DATABASE_URL": built.url, "INSTANCE_PATH": str(workdir), "SECRET_KEY": secret,
                      "MAIL_DIR": str(workdir / "mail"), "CHECK_MIGRATIONS": False})
    with app.test_request_context():
        session = db.session
        seduta = session.get(Seduta, built.seduta_id)
        verbale = session.get(Verbale, built.verbale_id)
        draft_seconds, draft_mb = _timed(lambda: generation.generate(session, seduta), repeat)
        body = content.assemble(verbale)
        footer = document.footer_for(None, verbale.version)
        pdf = document.render(body, "pdf", footer)  # warm-up: fonts, WeasyPrint imports
        pdf_seconds, pdf_mb = _timed(lambda: document.render(body, "pdf", footer), 1)
        generated = verbale.generated
    app.extensions["tavoli_db"]["engine"].dispose()
    return {
        "draft_seconds": round(draft_seconds, 3), "draft_peak_python_mb": round(draft_mb, 1),
        "pdf_seconds": round(pdf_seconds, 2), "pdf_peak_python_mb": round(pdf_mb, 1),
        "pdf_bytes": len(pdf), "content_bytes": len(content.canonical_bytes(body)),
        "attendance_rows": len(generated["attendance"]["rows"]),
        "annotations_counted": sum(a["count"] for i in generated["agenda"] for a in i["annotations"]),
        "votes": sum(len(i["votes"]) for i in generated["agenda"]),
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def measure_page(workdir: Path, secret: str, built: Built, size: Size) -> dict:
    import requests

    server = Server(workdir, built.url, secret)
    try:
        server.wait_ready()
        cookie = session_cookie(secret, built.facilitator_login)
        url = f"{server.base}/tavoli/{built.tavolo_id}/verbali/{built.verbale_id}"
        local = threading.local()

        def get(_n: int) -> tuple[float, int]:
            http = getattr(local, "http", None)
            if http is None:
                http = local.http = requests.Session()
                http.cookies.set("session", cookie, domain="127.0.0.1", path="/")
            start = time.perf_counter()
            response = http.get(url, timeout=120)
            return time.perf_counter() - start, response.status_code

        warm = get(0)
        if warm[1] != 200:
            raise RuntimeError(f"la pagina del verbale risponde {warm[1]}:\n{server.log_tail()}")
        with ThreadPoolExecutor(max_workers=size.concurrency) as pool:
            start = time.perf_counter()
            results = list(pool.map(get, range(size.requests)))
            wall = time.perf_counter() - start
    finally:
        server.stop()
    latencies = sorted(t for t, status in results if status == 200)
    errors = sum(status != 200 for _t, status in results)
    return {
        "page_requests": size.requests, "page_concurrency": size.concurrency, "page_errors": errors,
        "page_p50_ms": round(1000 * (percentile(latencies, 50) or 0), 1),
        "page_p95_ms": round(1000 * (percentile(latencies, 95) or 0), 1),
        "page_max_ms": round(1000 * (latencies[-1] if latencies else 0), 1),
        "page_per_second": round(len(latencies) / wall, 1) if wall else None,
    }


def run(size: Size) -> dict:
    """Every figure of the benchmark, keyed for ``bench/results.json``."""
    workdir = Path(tempfile.mkdtemp(prefix="tavoli-bench-verbale-"))
    secret = secrets.token_hex(32)
    try:
        built = build(workdir, secret, size)
        print(f"  seduta costruita in {built.seconds} s ({built.events} eventi nel registro del tavolo)", flush=True)
        figures = {"build_seconds": built.seconds, "events": built.events}
        figures |= measure_documents(workdir, secret, built, repeat=3)
        print(f"  bozza: {figures['draft_seconds']} s · PDF/A: {figures['pdf_seconds']} s", flush=True)
        figures |= measure_page(workdir, secret, built, size)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {f"verbale.{key}": value for key, value in figures.items()}


def merge_results(figures: dict, path: Path = RESULTS_FILE) -> None:
    """Merge our keys into the shared results file, keeping every other benchmark's."""
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    current.update(figures)
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(current, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verbale", description=__doc__.splitlines()[0])
    defaults = Size()
    for name in ("attendees", "bisogni", "annotations", "rounds", "requests", "concurrency"):
        parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
    parser.add_argument("--small", action="store_true", help="a small seduta, only to check that it runs")
    parser.add_argument("--no-save", action="store_true", help="print only, write nothing")
    args = parser.parse_args(argv)
    size = SMALL if args.small else Size(args.attendees, args.bisogni, args.annotations, args.rounds, args.requests,
                                         args.concurrency)
    if min(size.attendees, size.bisogni, size.rounds, size.requests, size.concurrency) < 1 or size.annotations < 0:
        parser.error("servono almeno un partecipante, un bisogno, una votazione e una richiesta")
    print(f"verbale: {asdict(size)}", flush=True)
    figures = run(size)
    report = {"benchmark": "verbale", "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "environment": {"cores": os.cpu_count(), "python": platform.python_version(),
                              "platform": platform.platform()},
              "settings": asdict(size), "results": figures}
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if not (args.small or args.no_save):
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / "verbale.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        merge_results(figures)
    return 0 if figures["verbale.page_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
