"""Flask extensions, created unbound so modules can import them without an app."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
# Threading mode pinned: the embedded default runs with no extra async library (see README, design).
socketio = SocketIO(async_mode="threading")
