"""Summarise the last run of tests/e2e/test_accessibility_pages.py into the data file that
/accessibilita reads (workspace/core/accessibility_check.json).

    .venv/bin/python -m pytest tests/e2e/test_accessibility_pages.py   # writes test-artifacts/accessibility/
    .venv/bin/python scripts/accessibility_summary.py                  # updates the data file, then commit it

It refuses to write when a report is missing (all roles, languages and sizes must have run) or
when any page had a violation: the statement only ever states a check that passed.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "test-artifacts" / "accessibility"
TARGET = ROOT / "workspace" / "core" / "accessibility_check.json"
ROLES = ("facilitatore", "delegato", "ufficio-di-piano", "anonimo")
AXE = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"


def main() -> int:
    reports = []
    for role in ROLES:
        for lang in ("it", "en"):
            for size in ("desktop", "telefono"):
                path = REPORTS / f"{role}-{lang}-{size}.json"
                if not path.exists():
                    print(f"manca {path.relative_to(ROOT)}: eseguire prima tutta la verifica", file=sys.stderr)
                    return 1
                reports.append(json.loads(path.read_text(encoding="utf-8")))
    failed = [(r["role"], p["path"]) for r in reports for p in r["pages"] if p["violations"]]
    if failed:
        print(f"pagine con violazioni: {failed}", file=sys.stderr)
        return 1
    head = AXE.read_text(encoding="utf-8")[:200] if AXE.exists() else ""
    version = re.search(r"axe v([\d.]+)", head)
    summary = {
        "date": max(r["checked_at"] for r in reports)[:10],
        "tool": f"axe-core {version.group(1)}" if version else "axe-core",
        "rules": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"],
        "pages": len({p["endpoint"] for r in reports for p in r["pages"]}),
        "checks": sum(len(r["pages"]) for r in reports),
        "violations": 0,
        "roles": list(ROLES),
        "languages": ["it", "en"],
        "viewports": sorted({f"{r['viewport']['width']}×{r['viewport']['height']}" for r in reports}),
    }
    TARGET.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
