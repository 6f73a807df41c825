"""WSGI entry point of the scaled deployment: gunicorn with the gevent worker
(``gunicorn -w 1 -k gevent --worker-connections 2000 -b 127.0.0.1:8001 'workspace.wsgi:app'``, one process per
port behind a sticky proxy: README).

gunicorn's gevent worker monkey-patches the process before loading this module; loaded any other
way (a threaded or sync worker) it patches nothing and the app runs in threading mode, where each
WebSocket holds a thread. Refuses to start on an un-migrated database, like `tavoli serve`.
"""
from workspace import create_app
from workspace.serving import tune_gc

app = create_app()
tune_gc()
