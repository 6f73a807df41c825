"""Copy the official reference data from shared/domain into the package (``make refdata``).

The package keeps its own copy so an installed Tavoli needs no checkout of the shared folder;
the loader reads only from here.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
FILES = ("macroaree.json", "leps.json", "ambiti.csv", "scheda_obiettivo.json", "esiti.json",
         "documento_di_piano.json")


def build(source: Path) -> list[Path]:
    DATA_DIR.mkdir(exist_ok=True)
    copied = []
    for name in FILES:
        shutil.copyfile(source / name, DATA_DIR / name)
        copied.append(DATA_DIR / name)
    return copied


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/domain")
    for path in build(src):
        print(f"copiato {path.name}")
