"""WSGI entry point for production servers (gunicorn 'workspace.wsgi:app').

Refuses to start on an un-migrated database, like `tavoli serve`.
"""
from workspace import create_app

app = create_app()
