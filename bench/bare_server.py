"""The floor: a bare python-socketio server speaking the same ``/live`` subset the benchmark uses.

``python -m bench.bare_server --mode threading|gevent --port N``. No database, no Flask: the handshake
wants an ``auth`` object with a ``csrf_token``; ``join`` enters the tavolo's room and answers like a
snapshot; any operation (``bisogno.create``, ``annotation.create``, ...) takes the next ``seq``,
emits ``event`` to the room and then acknowledges — the order the product follows (push in the
commit hook, then the ack). Threading mode runs on Werkzeug as Flask-SocketIO's threading mode does;
gevent mode on gevent's WSGI server with simple-websocket (python-engineio's gevent driver).
"""
from __future__ import annotations

import argparse
import sys


def build(mode: str):
    import socketio

    sio = socketio.Server(async_mode=mode, cors_allowed_origins=None)
    state = {"seq": {}}

    @sio.on("connect", namespace="/live")
    def connect(sid, environ, auth=None):
        if not (isinstance(auth, dict) and auth.get("csrf_token")):
            raise socketio.exceptions.ConnectionRefusedError("Accesso richiesto.", {"error": "csrf"})

    @sio.on("join", namespace="/live")
    def join(sid, data):
        tavolo_id = int(data["tavolo_id"])
        sio.enter_room(sid, f"tavolo-{tavolo_id}", namespace="/live")
        return {"ok": True, "mode": "snapshot", "last_seq": state["seq"].get(tavolo_id, 0), "snapshot": {}}

    def operation(sid, data):
        tavolo_id = int(data["tavolo_id"])
        seq = state["seq"][tavolo_id] = state["seq"].get(tavolo_id, 0) + 1
        sio.emit("event", {"tavolo_id": tavolo_id, "seq": seq, "kind": "bisogno.created",
                           "payload": {"id": seq, "title": data.get("title") or data.get("body")},
                           "actor_id": 1, "at": "2026-01-01T00:00:00+00:00"},
                 room=f"tavolo-{tavolo_id}", namespace="/live")
        return {"ok": True, "seq": seq, "result": {"id": seq}}

    for name in ("bisogno.create", "annotation.create"):
        sio.on(name, operation, namespace="/live")
    return sio


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_server")
    parser.add_argument("--mode", choices=("threading", "gevent"), default="threading")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
        import socketio
        from gevent.pywsgi import WSGIServer

        app = socketio.WSGIApp(build("gevent"))
        print(f"bare gevent server on {args.port}", flush=True)
        WSGIServer(("127.0.0.1", args.port), app, log=None, backlog=2048).serve_forever()
    else:
        import socketio
        from werkzeug.serving import run_simple

        app = socketio.WSGIApp(build("threading"))
        print(f"bare threading server on {args.port}", flush=True)
        run_simple("127.0.0.1", args.port, app, threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
