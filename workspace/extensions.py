"""Flask extensions, created unbound so modules can import them without an app."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
# The async mode is chosen in create_app (workspace.serving.async_mode): gevent in the served process.
socketio = SocketIO()
