"""Run the benchmarks: ``python -m bench`` runs all of them, ``python -m bench NAME`` one.

Options of a single benchmark: ``python -m bench.live_broadcast --help``, ``python -m bench.votes_burst --help``,
``python -m bench.exports_render --help``, ``python -m bench.audit --help``, ``python -m bench.verbale --help``,
``python -m bench.esiti --help``, ``python -m bench.faults --help``, ``python -m bench.plenary --help``
(``BENCH_QUICK=1``: short runs for development).
"""
from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "live_broadcast": "bench.live_broadcast",
    "votes_burst": "bench.votes_burst",
    "exports_render": "bench.exports_render",
    "audit": "bench.audit",
    "verbale": "bench.verbale",
    "planning_exports": "bench.planning_exports",
    "esiti": "bench.esiti",
    "login_timing": "bench.login_timing",
    "faults": "bench.faults",
    "plenary": "bench.plenary",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"Benchmark sconosciuto: {', '.join(unknown)}. Disponibili: {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    status = 0
    for name in names:
        print(f"== {name} ==", flush=True)
        status |= importlib.import_module(BENCHMARKS[name]).main([])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
