"""Flask extensions, created unbound so modules can import them without an app."""
import json
import secrets
from typing import Any

from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect
from socketio.packet import Packet

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
# The async mode is chosen in create_app (workspace.serving.async_mode): gevent in the served process.
socketio = SocketIO()


class Encoded:
    """A value already encoded as JSON text, sent as it is inside a larger message. A first-join
    snapshot is the same for every client joining at the same point: encoded once, not once per
    client (in a join storm of 300 that encoding was a seventh of the server's time)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


class _SplicingJSON:
    """The JSON module of ``LivePacket``: ``Encoded`` values are spliced into the output unchanged.
    Each one is first written as a placeholder string carrying a per-process random marker, which
    no client text can produce (it would have to guess 128 random bits), then replaced by its text."""

    _marker = "\x00enc" + secrets.token_hex(16) + ":"

    @staticmethod
    def loads(s: Any, **kwargs: Any) -> Any:
        return json.loads(s, **kwargs)

    @classmethod
    def dumps(cls, obj: Any, **kwargs: Any) -> str:
        pieces: list[str] = []

        def default(value: Any) -> str:
            if isinstance(value, Encoded):
                pieces.append(value.text)
                return f"{cls._marker}{len(pieces) - 1}"
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

        text = json.dumps(obj, default=default, **kwargs)
        for i, piece in enumerate(pieces):
            text = text.replace(json.dumps(f"{cls._marker}{i}"), piece, 1)
        return text


class LivePacket(Packet):
    """Socket.IO packets of the live protocol (``docs/live-protocol.md``): JSON only. The default
    packet walks every value of every outgoing message looking for bytes to send as binary
    attachments, with two list comprehensions per dict and list: for a first-join snapshot of
    thousands of items, once per joining client, that walk cost more than building the snapshot.
    Only the top level is looked at here: bytes there still go out as attachments, bytes nested
    deeper are a programming error that JSON encoding reports (``TypeError``). ``Encoded`` values
    go out as the JSON text they hold."""

    json = _SplicingJSON

    @classmethod
    def data_is_binary(cls, data):
        if isinstance(data, (bytes, bytearray)):
            return True
        if isinstance(data, list):
            return any(isinstance(item, (bytes, bytearray)) for item in data)
        if isinstance(data, dict):
            return any(isinstance(item, (bytes, bytearray)) for item in data.values())
        return False


class LiveSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, read once per live connection. Flask-SocketIO runs each
    Socket.IO message in a request context built from the connection's handshake, and Flask opens
    the session of every request context it pushes: the cookie was verified and decoded again for
    every message (a join, a write, the disconnect), only for Flask-SocketIO to replace it with the
    copy it keeps for the connection (``saved_session``, made from the first). That copy is used
    from the start instead. Ordinary HTTP requests are unchanged."""

    def open_session(self, app, request):
        kept = request.environ.get("saved_session")
        if kept is not None:
            return kept
        return super().open_session(app, request)
