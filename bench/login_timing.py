"""Login timing: does the answer to a wrong password tell whether the address has an account?

Posts the real login form (CSRF token, production argon2 parameters, SQLite in a temporary folder)
with a wrong password for four kinds of address — an existing account, an unknown address, a
malformed one, an account with no password (it logs in by link) — each attempt from a fresh IP
(as a patient attacker would, so the throttle does not interfere). Prints the median and the 10th
and 90th percentile in milliseconds, writes ``bench/results/login_timing.{json,md}`` and merges the
headline into ``bench/results.json`` (key ``login_timing``).

    python -m bench.login_timing [--attempts 30] [--no-save]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
RESULTS_FILE = ROOT / "bench" / "results.json"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(attempts: int) -> dict:
    from workspace import create_app
    from workspace.accounts import service
    from workspace.db import db
    from workspace.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="tavoli-bench-login-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'login.db'}"
        upgrade(url)
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench", "TESTING": True,
                          "MAIL_DIR": str(Path(tmp) / "mail"), "LOGIN_MAX_FAILURES_PER_IP": 10_000})
        with app.app_context():
            service.create_user(db.session, email="esiste@example.it", name="Esiste Davvero",
                                password="una-password-lunga-1")
            service.create_user(db.session, email="senza.password@example.it", name="Senza Password")
            db.session.commit()
        kinds = {"account esistente": "esiste@example.it", "indirizzo inesistente": "nessuno@example.it",
                 "indirizzo malformato": "non-un-indirizzo", "account senza password": "senza.password@example.it"}
        timings: dict[str, list[float]] = {k: [] for k in kinds}
        ip = 0
        for round_ in range(attempts + 2):  # two warm-up rounds, not counted
            for kind, email in kinds.items():
                ip += 1
                client = app.test_client()
                client.environ_base["REMOTE_ADDR"] = f"10.{ip // 65536 % 256}.{ip // 256 % 256}.{ip % 256}"
                token = CSRF.search(client.get("/accedi").get_data(as_text=True)).group(1)
                start = time.perf_counter()
                response = client.post("/accedi", data={"csrf_token": token, "email": email,
                                                        "password": "password-sbagliata"})
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 401, (kind, response.status_code)
                if round_ >= 2:
                    timings[kind].append(elapsed)
    figures = {kind: {"median_ms": round(statistics.median(v), 1), "p10_ms": round(_percentile(v, 0.1), 1),
                      "p90_ms": round(_percentile(v, 0.9), 1)} for kind, v in timings.items()}
    medians = [f["median_ms"] for f in figures.values()]
    return {"attempts": attempts, "by_kind": figures,
            "max_over_min_median": round(max(medians) / min(medians), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.login_timing", description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=30, help="tentativi misurati per tipo di indirizzo (30)")
    parser.add_argument("--no-save", action="store_true", help="stampa soltanto")
    args = parser.parse_args(argv)
    results = run(max(3, args.attempts))
    for kind, f in results["by_kind"].items():
        print(f"  {kind}: mediana {f['median_ms']} ms (p10 {f['p10_ms']}, p90 {f['p90_ms']})")
    print(f"  rapporto fra la mediana più lenta e la più veloce: {results['max_over_min_median']}")
    if not args.no_save:
        report = {"benchmark": "login_timing", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                  "environment": {"cores": os.cpu_count(), "python": platform.python_version(),
                                  "platform": platform.platform()},
                  "results": results}
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / "login_timing.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        lines = ["# Login timing", "", f"{results['attempts']} tentativi per tipo, password sbagliata, IP nuovo "
                 "a ogni tentativo, argon2 con i parametri di produzione.", "",
                 "| indirizzo | mediana ms | p10 ms | p90 ms |", "|---|---|---|---|"]
        lines += [f"| {k} | {f['median_ms']} | {f['p10_ms']} | {f['p90_ms']} |" for k, f in results["by_kind"].items()]
        (RESULTS_DIR / "login_timing.md").write_text("\n".join(lines) + "\n")
        current = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else {}
        current["login_timing"] = results
        RESULTS_FILE.write_text(json.dumps(current, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
