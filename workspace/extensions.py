"""Flask extensions, created unbound so modules can import them without an app."""
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


class LivePacket(Packet):
    """Socket.IO packets of the live protocol (``docs/live-protocol.md``): JSON only. The default
    packet walks every value of every outgoing message looking for bytes to send as binary
    attachments, with two list comprehensions per dict and list: for a first-join snapshot of
    thousands of items, once per joining client, that walk cost more than building the snapshot.
    Only the top level is looked at here: bytes there still go out as attachments, bytes nested
    deeper are a programming error that JSON encoding reports (``TypeError``)."""

    @classmethod
    def data_is_binary(cls, data):
        if isinstance(data, (bytes, bytearray)):
            return True
        if isinstance(data, list):
            return any(isinstance(item, (bytes, bytearray)) for item in data)
        if isinstance(data, dict):
            return any(isinstance(item, (bytes, bytearray)) for item in data.values())
        return False
