"""End-to-end harness: the real application served over HTTP, driven by Debian's Chromium.

The server is the one the product ships: ``python -m workspace.entry serve`` (``tavoli serve``:
gevent, monkey-patched, Flask-SocketIO in gevent mode) in a process of its own, started once per
session on a free port, on a copy of the migrated reference database (with the demo loaded when
``workspace.demo.loader.load_demo`` exists). Its log is <instance>/server.log; a failed test shows
its end. The same app is also built in the pytest process, on the same SQLite file: tests prepare
data there and commit, and the server sees it. What the pytest process broadcasts reaches no
browser (the browsers are connected to the server process): a change an open page must receive
live is made through the server, as a person would — in a browser, or with ``remote`` (HTTP and
the live channel, logged in as someone).

Fixtures
  live_server   base URL (``http://127.0.0.1:<port>``) of the server process.
  live_app      the same app in this process (to read or prepare data inside ``live_app.app_context()``;
                its configuration is the server's: same database, instance folder and mail folder,
                same SECRET_KEY, BASE_URL and Ambito).
  remote        remote(email) -> a person logged in to the server outside the browser: ``post`` a
                form, ``op`` a live operation (see ``Remote``).
  browser       one Chromium for the session (Debian's binary: never a Playwright download).
  page          a fresh context and page per test (own cookies), ``base_url`` set to the live server,
                watched: any JS error, CSP violation or failed sub-resource fails the test.
  console       the watcher of ``page``; ``console.allow("text")`` ignores an expected problem. Any
                test that uses it is checked after its body; extra pages join with
                ``console.attach(p)`` (give their context ``add_init_script(_CSP_REPORTER)`` too).

Helpers (import them: ``from tests.e2e.conftest import assert_accessible``)
  axe_check(page)          violations of the WCAG 2.0/2.1 A and AA rules, as a list of dicts.
  assert_accessible(page)  asserts there are none, listing rule ids, targets and help.
  shot(page, name)         a screenshot saved as a test artifact: test-artifacts/screens/<name>.png
                           (the folder is ignored by git; CI can keep it).

Every test in this folder is marked ``e2e`` (``pytest -m "not e2e"`` leaves them out).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import SECRET_KEY, SOCKETIO_SERVER, _config, service_missing
from workspace import create_app
from workspace.config import PROJECT_ROOT
from workspace.extensions import socketio

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_JS = PROJECT_ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DEMO_AMBITO = "50008"  # the Pavia demo's Ambito (workspace.demo.loader.AMBITO)
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


# --- the application over HTTP ------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: object
    instance: Path
    log: Path


_LIVE: dict[str, LiveServer] = {}  # the session's server, for the failure reports


def _load_demo(app) -> bool:
    """Load the demo when the loader exists; otherwise the reference data alone is used."""
    try:
        from workspace.demo.loader import load_demo
    except ImportError:
        return False
    from workspace.db import db

    with app.app_context():
        loaded = load_demo(db.session, only_if_empty=True)
        db.session.commit()
    return bool(loaded)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(nessun log)"


#: Set in the developer's shell for a real installation, they would point the server elsewhere:
#: left out (``live_app`` is built with REDIS_URL and MAIL_SERVER None to match).
_NOT_PASSED = ("REDIS_URL", "MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS",
               "MAIL_USE_SSL", "HOST", "PORT")


def _server_env(url: str, db_url: str, instance: Path, ambito: str) -> dict[str, str]:
    """The environment of ``tavoli serve``: the settings ``_config`` gives the in-process app, as
    the variables workspace/config.py reads. The other tunables (TAVOLI_TEXT_LIMIT, ...) come from
    the same environment to both, so the server and ``live_app`` agree on them."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_PASSED}
    env.update({
        "DATABASE_URL": db_url,
        "TAVOLI_INSTANCE": str(instance),  # MAIL_DIR is <instance>/mail, as in _config
        "SECRET_KEY": SECRET_KEY,  # the in-process app's: cookies and CSRF tokens made by either are valid
        "BASE_URL": url,
        "TAVOLI_AMBITO": ambito,
        # The code under test, not whatever an editable install of another checkout points at.
        "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _wait_ready(process: subprocess.Popen, url: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`tavoli serve` è terminato (codice {process.returncode}):\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url + "/accedi", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    pytest.fail(f"`tavoli serve` non risponde su {url} dopo {timeout:.0f} s:\n{_tail(log)}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def _live(sqlite_template, tmp_path_factory) -> Iterator[LiveServer]:
    """``tavoli serve`` (gevent, as shipped) in a process of its own, and the same app in this
    process on the same SQLite file: tests prepare and read data through ``live_app``."""
    instance = tmp_path_factory.mktemp("e2e-instance")
    db_path = instance / "tavoli.db"
    shutil.copyfile(sqlite_template, db_path)
    db_url = f"sqlite:///{db_path}"
    url = f"http://127.0.0.1:{_free_port()}"
    try:
        from workspace.demo.loader import AMBITO as ambito
    except ImportError:
        ambito = DEMO_AMBITO
    app = create_app(_config(db_url, instance, BASE_URL=url, AMBITO_CODE=ambito, TESTING=False,
                             REDIS_URL=None, MAIL_SERVER=None))
    _load_demo(app)  # before the server starts: it sees a complete database
    app.extensions[SOCKETIO_SERVER] = socketio.server

    log = instance / "server.log"
    port = url.rsplit(":", 1)[1]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "workspace.entry", "serve", "--host", "127.0.0.1", "--port", port],
            cwd=PROJECT_ROOT, env=_server_env(url, db_url, instance, ambito), stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,  # its own process group: killpg stops it all
        )
    try:
        _wait_ready(process, url, log)
        live = _LIVE["server"] = LiveServer(url=url, app=app, instance=instance, log=log)
        yield live
        if process.poll() is not None:
            pytest.fail(f"`tavoli serve` è terminato durante i test (codice {process.returncode}):\n{_tail(log)}")
    finally:
        _LIVE.pop("server", None)
        _stop(process)
        app.extensions["tavoli_db"]["engine"].dispose()


@pytest.fixture(autouse=True)
def _live_socketio_server(request):
    """``socketio`` is one object per process: broadcasts go to the server of the last app built
    (tests elsewhere build their own). Before each test here, it is ``live_app``'s again (its
    broadcasts reach no browser: those are connected to the server process)."""
    if "_live" in request.fixturenames:
        socketio.server = request.getfixturevalue("_live").app.extensions[SOCKETIO_SERVER]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows the end of the server's log (what the server process said)."""
    report = yield
    live = _LIVE.get("server") if "_live" in getattr(item, "fixturenames", ()) else None
    if report.failed and call.when == "call" and live is not None:
        report.sections.append(("tavoli serve (fine del log)", _tail(live.log, 40)))
    return report


@pytest.fixture(scope="session")
def live_server(_live) -> str:
    return _live.url


@pytest.fixture(scope="session")
def live_app(_live):
    return _live.app


# --- a person using the server outside the browser ----------------------------------------------

_CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|data-csrf="([^"]+)"')


class _Forms(HTMLParser):
    """The forms of a page as a browser would submit them untouched: action -> [(name, value)]
    (hidden and text inputs, checked boxes and radios, selected options, textareas)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._fields: list[tuple[str, str]] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._fields = self.forms.setdefault(a.get("action", ""), [])
        elif self._fields is None or "disabled" in a:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file", "image", "reset"):
                self._fields.append((a["name"], a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self._fields.append((self._select, a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._fields.append((self._textarea, ""))

    def handle_data(self, data):
        if self._textarea and self._fields:
            name, value = self._fields[-1]
            self._fields[-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


class Remote:
    """A person logged in to the live server with an HTTP session (``requests``) and, once asked
    for, a Socket.IO client on ``/live``: for changes made by someone else while a browser page is
    open, which must reach it through the server (the pytest process's broadcasts reach no one)."""

    def __init__(self, base_url: str) -> None:
        import requests

        self.base_url = base_url
        self.http = requests.Session()
        self._sio = None

    def get(self, path: str) -> str:
        response = self.http.get(self.base_url + path, timeout=10)
        response.raise_for_status()
        return response.text

    def csrf(self, path: str) -> str:
        """The CSRF token of a page of this session (a form's hidden field, or the live root's)."""
        match = _CSRF_INPUT.search(self.get(path))
        assert match, f"nessun token CSRF in {path}"
        return match.group(1) or match.group(2)

    def login(self, email: str, password: str) -> Remote:
        response = self.post("/accedi", {"email": email, "password": password})
        assert "/accedi" not in response.url, f"{email} non riesce ad accedere ({response.status_code})"
        return self

    def post(self, path: str, data: dict, *, form_page: str | None = None):
        """Submit the form of ``form_page`` (``path`` itself by default) whose action is ``path``,
        as a browser would: its fields as the page gives them (CSRF token, submission key,
        defaults), with ``data`` in place of the ones named there (a list: a multiple choice).
        Returns the response after redirects, which must not be an error."""
        parser = _Forms()
        parser.feed(self.get(form_page or path))
        fields = parser.forms.get(path) or parser.forms.get("")
        assert fields is not None, f"nessun modulo per {path} in {form_page or path}: {list(parser.forms)}"
        sent = [(k, v) for k, v in fields if k not in data]
        for key, value in data.items():
            sent += [(key, str(v)) for v in (value if isinstance(value, list) else [value])]
        response = self.http.post(self.base_url + path, data=sent, timeout=30)
        assert response.status_code < 400, f"POST {path}: {response.status_code}\n{response.text[:3000]}"
        return response

    def op(self, tavolo_id: int, name: str, **data) -> dict:
        """Send the live operation ``name`` on the tavolo (a fresh op_id) and return its
        acknowledgement, which must be ``ok``."""
        import uuid

        from workspace.realtime import NAMESPACE

        if self._sio is None:
            import socketio as socketio_client

            token = self.csrf(f"/tavoli/{tavolo_id}/partecipa")
            cookies = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
            self._sio = socketio_client.Client(reconnection=False)
            self._sio.connect(self.base_url, namespaces=[NAMESPACE], auth={"csrf_token": token},
                              headers={"Cookie": cookies}, transports=["websocket"], wait_timeout=10)
        ack = self._sio.call(name, {"op_id": "remote" + uuid.uuid4().hex[:16], "tavolo_id": tavolo_id, **data},
                             namespace=NAMESPACE, timeout=15)
        assert isinstance(ack, dict) and ack.get("ok"), f"{name}: {ack}"
        return ack

    def close(self) -> None:
        if self._sio is not None:
            self._sio.disconnect()
            self._sio = None
        self.http.close()


@pytest.fixture
def remote(live_server):
    """remote(email, password=tests.world.PASSWORD) -> a ``Remote`` logged in as that person;
    closed after the test."""
    from tests.world import PASSWORD

    opened: list[Remote] = []

    def _remote(email: str, password: str = PASSWORD) -> Remote:
        person = Remote(live_server)
        opened.append(person)
        return person.login(email, password)

    yield _remote
    for person in opened:
        person.close()


# --- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="session")
def browser(_playwright):
    executable = shutil.which("chromium")
    if not executable:
        service_missing("Chromium", "nessun eseguibile 'chromium' nel PATH (apt-get install chromium)")
    try:
        browser = _playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:  # noqa: BLE001 — a browser that cannot start is a missing service
        service_missing("Chromium", exc)
    yield browser
    browser.close()


# Reports CSP violations to the console even if the browser ever stops logging them itself.
# Init scripts run outside the page's CSP, so this is allowed where an inline <script> is not.
_CSP_REPORTER = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
                + ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""


@dataclass
class ConsoleWatcher:
    """Collects what must fail a test: JS errors, CSP violations, failed sub-resources."""

    problems: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, text: str) -> None:
        """Ignore problems containing ``text`` (an expected 403 from fetch, say)."""
        self.allowed.append(text)

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    def unexpected(self) -> list[str]:
        return [
            p for p in self.problems
            if not any(a in p for a in self.allowed)
        ]

    def attach(self, page) -> None:
        def on_console(msg):
            if msg.type != "error":
                return
            # A failed load is reported by on_response with its URL; a document's own 4xx is
            # what error-page tests ask for.
            if msg.text.startswith("Failed to load resource"):
                return
            loc = msg.location or {}
            self.add(f"console.error: {msg.text} ({loc.get('url', '')}:{loc.get('lineNumber', '')})")

        def on_response(response):
            request = response.request
            if response.status >= 400 and request.resource_type != "document":
                self.add(f"HTTP {response.status} for {request.resource_type} {response.url}")

        def on_request_failed(request):
            failure = request.failure or ""
            if "ERR_ABORTED" in failure:  # navigation away while loading: not a fault
                return
            self.add(f"request failed: {request.resource_type} {request.url} ({failure})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.add(f"JavaScript error: {exc}"))
        page.on("response", on_response)
        page.on("requestfailed", on_request_failed)


@pytest.fixture
def console() -> ConsoleWatcher:
    return ConsoleWatcher()


@pytest.fixture
def page(request, browser, live_server, console):
    context = browser.new_context(
        base_url=live_server,
        locale="it-IT",
        timezone_id="Europe/Rome",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(10_000)
    context.add_init_script(_CSP_REPORTER)
    new_page = context.new_page()
    console.attach(new_page)
    request.node._console_watcher = console
    yield new_page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After a test body passed, fail it if its page saw a JS error or a CSP violation."""
    result = yield
    # Any test that uses the watcher (through ``page`` or its own pages attached to ``console``).
    watcher = getattr(item, "funcargs", {}).get("console") or getattr(item, "_console_watcher", None)
    if watcher is not None:
        problems = watcher.unexpected()
        if problems:
            raise AssertionError(
                "Il browser ha segnalato problemi (errori JS, violazioni CSP, risorse mancanti):\n  - "
                + "\n  - ".join(problems)
            )
    return result


# --- accessibility ------------------------------------------------------------------------------


def _axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} manca: eseguire `make setup` (copia axe-core in static/vendor)")
    return AXE_JS.read_text(encoding="utf-8")


def axe_check(page, *, context: str | None = None) -> list[dict]:
    """Run axe-core on the page (or a CSS selector ``context``) with the WCAG 2.x A/AA rules.

    axe is evaluated as page code by Playwright, not added as a <script>: our CSP would refuse an
    inline script, and a ``/static/vendor`` URL would make the check depend on the page's own links.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate("() => {\n" + _axe_source() + "\n}")
    return page.evaluate(
        """async ([selector, tags]) => {
            const result = await axe.run(selector ? document.querySelector(selector) : document,
                                         {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({target: n.target, html: n.html, summary: n.failureSummary})),
            }));
        }""",
        [context, AXE_TAGS],
    )


def format_violations(violations: list[dict], url: str = "") -> str:
    lines = [f"axe: {len(violations)} violazioni WCAG A/AA su {url}"]
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}]: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            target = " ".join(str(t) for t in node["target"])
            summary = re.sub(r"\s+", " ", node.get("summary") or "").strip()
            lines.append(f"    {target}: {summary}")
        if len(v["nodes"]) > 10:
            lines.append(f"    ... e altri {len(v['nodes']) - 10} elementi")
    return "\n".join(lines)


def assert_accessible(page, *, context: str | None = None) -> None:
    violations = axe_check(page, context=context)
    assert violations == [], format_violations(violations, page.url)


def shot(page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot of ``page`` as test-artifacts/screens/<name>.png and return its path."""
    path = ARTIFACTS / "screens" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    return path


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def open_page(browser, live_server, console):
    """open_page(viewport) -> a new page in its own context (own cookies), watched like ``page``:
    several people at one seduta, each in their own browser."""
    contexts = []

    def _open(viewport=DESKTOP):
        context = browser.new_context(base_url=live_server, locale="it-IT", timezone_id="Europe/Rome",
                                      viewport=viewport)
        context.set_default_timeout(10_000)
        context.add_init_script(_CSP_REPORTER)
        contexts.append(context)
        new_page = context.new_page()
        console.attach(new_page)
        return new_page

    yield _open
    for context in contexts:
        context.close()


def login(page, email: str, password: str) -> None:
    page.goto("/accedi")
    page.get_by_label("Indirizzo e-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Accedi").click()
    page.wait_for_url(lambda url: "/accedi" not in url)


def connected(page) -> None:
    """The live client says it is connected."""
    from playwright.sync_api import expect

    expect(page.locator("[data-live-status]")).to_have_text("Connesso")
