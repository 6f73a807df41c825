"""Regenerate migrations/versions/0001_initial.py from the models (pre-release only).

Until the first release there is one initial revision; it is rebuilt deterministically from the
models on an empty SQLite database. After a release, add normal revisions with `make migration`.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from workspace.migrate import MIGRATIONS_DIR, alembic_config

target = MIGRATIONS_DIR / "versions" / "0001_initial.py"
target.unlink(missing_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    cfg = alembic_config(f"sqlite:///{Path(tmp) / 'empty.db'}")
    command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
if generated != target:
    generated.rename(target)
print(f"scritto {target}")
