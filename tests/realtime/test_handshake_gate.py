"""The handshake gate (workspace/serving.py ``HandshakeGate``): new WebSocket connections are set up
a few dozen at a time, so that the messages of the people already connected (the facilitator
writing) do not queue behind hundreds of handshakes when a seduta starts.

The adversary here is a client that opens WebSockets and says nothing (a broken client, or someone
trying to lock others out): each of its connections holds a slot for ``hold`` seconds at most, and
nobody is ever refused. Run with greenlets (the gate exists only in the gevent-served process),
against a stand-in application that plays a WebSocket connection's lifetime."""
from __future__ import annotations

import gevent
import gevent.event
import pytest

from workspace.extensions import LiveSessionInterface
from workspace.serving import HANDSHAKE_DONE, HandshakeGate


class Connections:
    """A WSGI app whose WebSocket requests stay open until told to close; ``entered`` lists the
    connections the gate let through, in order."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.closing: dict[str, gevent.event.Event] = {}
        self.environs: dict[str, dict] = {}

    def __call__(self, environ, start_response):
        name = environ["name"]
        self.entered.append(name)
        self.environs[name] = environ
        self.closing.setdefault(name, gevent.event.Event()).wait()
        return [b""]

    def answered(self, name: str) -> None:
        """The live connect handler answered this connection (accepted or refused)."""
        self.environs[name][HANDSHAKE_DONE]()

    def close(self, name: str) -> None:
        self.closing.setdefault(name, gevent.event.Event()).set()


def websocket(name: str, query: str = "EIO=4&transport=websocket") -> dict:
    return {"name": name, "HTTP_UPGRADE": "websocket", "QUERY_STRING": query}


def connect(gate: HandshakeGate, environ: dict) -> gevent.Greenlet:
    return gevent.spawn(gate, environ, lambda *a: None)


@pytest.fixture
def app():
    connections = Connections()
    yield connections
    for event in connections.closing.values():
        event.set()


def test_new_websockets_wait_for_a_slot_and_enter_in_order(app):
    gate = HandshakeGate(app, slots=2)
    greenlets = [connect(gate, websocket(f"c{i}")) for i in range(4)]
    gevent.sleep(0.05)
    assert app.entered == ["c0", "c1"]  # the other two wait, before anything of theirs is read
    app.answered("c0")
    gevent.sleep(0.05)
    assert app.entered == ["c0", "c1", "c2"]
    app.close("c1")  # a connection that ends before its answer frees its slot too
    gevent.sleep(0.05)
    assert app.entered == ["c0", "c1", "c2", "c3"]
    # A second answer, or the close after the answer, frees nothing more: c0 still counts once.
    app.answered("c0")
    app.close("c0")
    for name in ("c2", "c3"):
        app.close(name)
    gevent.joinall(greenlets, timeout=2)
    assert all(g.dead for g in greenlets)
    assert gate.slots.counter == 2


def test_a_silent_websocket_holds_its_slot_for_hold_seconds_at_most(app):
    gate = HandshakeGate(app, slots=1, hold=0.2)
    connect(gate, websocket("silent"))  # opens, then never sends its Socket.IO connect
    waiting = connect(gate, websocket("next"))
    gevent.sleep(0.1)
    assert app.entered == ["silent"]
    gevent.sleep(0.25)
    assert app.entered == ["silent", "next"]
    assert not waiting.dead  # let through, not refused: its connection is open


def test_other_requests_pass_while_every_slot_is_taken(app):
    gate = HandshakeGate(app, slots=1)
    connect(gate, websocket("holder"))
    gevent.sleep(0.02)
    # Long-polling, the upgrade of a session opened by long-polling, and pages never wait.
    connect(gate, {"name": "polling", "QUERY_STRING": "EIO=4&transport=polling"})
    connect(gate, websocket("upgrade", "EIO=4&transport=websocket&sid=abc123"))
    connect(gate, {"name": "page", "QUERY_STRING": ""})
    gevent.sleep(0.05)
    assert app.entered == ["holder", "polling", "upgrade", "page"]


def test_a_live_connection_reads_its_session_cookie_once(app):
    """Later Socket.IO messages of a connection get the session Flask-SocketIO keeps for it, not a
    new decoding of the cookie; an ordinary request still reads its cookie."""
    from flask import Flask

    flask_app = Flask("s")
    flask_app.secret_key = "k"
    interface = LiveSessionInterface()
    kept = {"_user_id": "kept"}
    with flask_app.test_request_context(environ_base={"saved_session": kept}) as ctx:
        assert interface.open_session(flask_app, ctx.request) is kept
    cookie = interface.get_signing_serializer(flask_app).dumps({"_user_id": "from-cookie"})
    with flask_app.test_request_context(headers={"Cookie": f"session={cookie}"}) as ctx:
        assert interface.open_session(flask_app, ctx.request)["_user_id"] == "from-cookie"
