"""Configuration from environment variables, with safe defaults for the embedded mode."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    return Path(os.environ.get("TAVOLI_INSTANCE", PROJECT_ROOT / "instance")).resolve()


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/ (never in the repo)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance / "secret_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        except FileExistsError:
            pass
    return key_file.read_text().strip()


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "si", "sì"}


def default_base_url() -> str:
    """``BASE_URL`` when set; else the address ``tavoli serve`` listens on (``HOST``/``PORT``), so
    e-mail links and security.txt point where the server actually is (``make run PORT=5101``)."""
    explicit = (os.environ.get("BASE_URL") or "").strip()
    if explicit:
        return explicit.rstrip("/")
    host = (os.environ.get("HOST") or "127.0.0.1").strip()
    if host in ("0.0.0.0", "::", ""):  # listening everywhere: links name this machine's loopback
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = (os.environ.get("PORT") or "5000").strip()
    return f"http://{host}:{port}"


def load_config(overrides: dict | None = None) -> dict:
    overrides = dict(overrides or {})
    instance = Path(overrides.pop("INSTANCE_PATH", None) or instance_path())
    base_url = default_base_url()
    https = base_url.startswith("https://")
    cfg = {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(instance),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'tavoli.db'}",
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "BASE_URL": base_url,
        # Redis pub/sub channel for Socket.IO: installations sharing one Redis must not share it.
        "SOCKETIO_CHANNEL": os.environ.get("TAVOLI_SOCKETIO_CHANNEL", "tavoli"),
        # The Ambito this installation serves (ISTAT-like code from Allegato C); shown in the header.
        "AMBITO_CODE": os.environ.get("TAVOLI_AMBITO") or None,
        "ACCESSIBILITY_CONTACT": os.environ.get("TAVOLI_ACCESSIBILITY_CONTACT") or None,
        "SOURCE_CODE_URL": os.environ.get("TAVOLI_SOURCE_URL", "https://github.com/tavoli-pa/tavoli"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL"),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "Tavoli <noreply@localhost>"),
        "MAIL_DIR": str(instance / "mail"),
        # Longest text accepted in a bisogno or an annotation (characters).
        "TEXT_LIMIT": int(os.environ.get("TAVOLI_TEXT_LIMIT", "20000")),
        # New WebSocket connections set up at a time in a served process (workspace/serving.py
        # HandshakeGate); 0: no limit.
        "HANDSHAKES_AT_ONCE": int(os.environ.get("TAVOLI_HANDSHAKES_AT_ONCE", "60")),
        "INVITATION_DAYS": int(os.environ.get("TAVOLI_INVITATION_DAYS", "14")),
        "RESET_HOURS": int(os.environ.get("TAVOLI_RESET_HOURS", "2")),
        # Requests of links by e-mail per address and window (workspace/ratelimit.py).
        "LOGIN_MAX_FAILURES": int(os.environ.get("TAVOLI_LOGIN_MAX_FAILURES", "5")),
        # Wrong passwords: free failures per (address, IP) pair, then waits of 1, 2, 4 ... seconds up
        # to the maximum; the pair's count lasts LOGIN_PAIR_WINDOW_SECONDS from its first failure.
        "LOGIN_FREE_FAILURES": int(os.environ.get("TAVOLI_LOGIN_FREE_FAILURES", "3")),
        "LOGIN_MAX_DELAY_SECONDS": int(os.environ.get("TAVOLI_LOGIN_MAX_DELAY_SECONDS", "900")),
        "LOGIN_PAIR_WINDOW_SECONDS": int(os.environ.get("TAVOLI_LOGIN_PAIR_WINDOW_SECONDS", "86400")),
        # Per address: an office behind one NAT must not lock itself out after five typos.
        "LOGIN_MAX_FAILURES_PER_IP": int(os.environ.get("TAVOLI_LOGIN_MAX_FAILURES_PER_IP", "50")),
        "LOGIN_WINDOW_SECONDS": int(os.environ.get("TAVOLI_LOGIN_WINDOW_SECONDS", "900")),
        # Operations on the live channel per person and window (all processes together with Redis).
        "LIVE_WRITES_MAX": int(os.environ.get("TAVOLI_LIVE_WRITES_MAX", "150")),
        "LIVE_WRITES_WINDOW_SECONDS": int(os.environ.get("TAVOLI_LIVE_WRITES_WINDOW_SECONDS", "10")),
        "LANGUAGES": ("it", "en"),
        "BABEL_DEFAULT_LOCALE": "it",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Rome",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        # Flask-Login sets no SameSite on its cookie unless told: the same rule as the session's.
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session; a long seduta must not expire forms
        "MAX_CONTENT_LENGTH": int(os.environ.get("TAVOLI_MAX_UPLOAD_MB", "20")) * 1024 * 1024,
        "BEHIND_PROXY": _flag("TAVOLI_BEHIND_PROXY"),
        "CHECK_MIGRATIONS": True,
        "TESTING": False,
        # Privacy (workspace/privacy): the data controller named in the information notice (art. 13
        # GDPR), its contact and the DPO's; the notice's version (raise it when the text changes:
        # everyone is shown it again at the next login); whether logins lead to the notice.
        "PRIVACY_CONTROLLER": os.environ.get("TAVOLI_PRIVACY_CONTROLLER") or None,
        "PRIVACY_CONTACT": os.environ.get("TAVOLI_PRIVACY_CONTACT") or None,
        "PRIVACY_DPO_CONTACT": os.environ.get("TAVOLI_PRIVACY_DPO_CONTACT") or None,
        "PRIVACY_VERSION": (os.environ.get("TAVOLI_PRIVACY_VERSION") or "1").strip()[:32],
        "PRIVACY_NOTICE_AT_LOGIN": _flag("TAVOLI_PRIVACY_NOTICE_AT_LOGIN", True),
        # Retention, applied by `tavoli privacy purge` (0 turns a rule off): e-mails written to
        # MAIL_DIR; used or expired single-use links; presences, whose person is then unlinked.
        "RETENTION_MAIL_DAYS": int(os.environ.get("TAVOLI_RETENTION_MAIL_DAYS", "30")),
        "RETENTION_TOKENS_DAYS": int(os.environ.get("TAVOLI_RETENTION_TOKENS_DAYS", "90")),
        "RETENTION_PRESENCE_YEARS": int(os.environ.get("TAVOLI_RETENTION_PRESENCE_YEARS", "5")),
        # /.well-known/security.txt (RFC 9116): where to report vulnerabilities of this installation.
        "SECURITY_CONTACT": os.environ.get("TAVOLI_SECURITY_CONTACT") or None,
    }
    cfg.update(overrides)
    if cfg["TESTING"] and "PRIVACY_NOTICE_AT_LOGIN" not in overrides \
            and os.environ.get("TAVOLI_PRIVACY_NOTICE_AT_LOGIN") is None:
        # Unit tests log in to reach other pages; the privacy tests switch the notice on themselves.
        cfg["PRIVACY_NOTICE_AT_LOGIN"] = False
    return cfg
