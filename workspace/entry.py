"""The ``tavoli`` command. ``tavoli serve`` runs on gevent: the standard library is monkey-patched
here, before the command-line module (and with it Flask, SQLAlchemy, the drivers) is imported.
The other commands (migrations, scripts, cron jobs) run unpatched."""
from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        from workspace.serving import patch

        patch()
    from workspace.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
