"""Administration pages: organisations and invitations; permissions."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from tests.helpers import csrf_post, login, make_org, make_user, valid_numeric_cf
from workspace.accounts.models import Organisation
from workspace.accounts.permissions import is_admin, is_delegate_of

CF = valid_numeric_cf(9801234567)


@pytest.fixture
def people(in_app):
    with in_app() as s:
        org = make_org(s, name="Comune di Pavia")
        other = make_org(s, name="Comune di Vigevano")
        admin = make_user(s, "admin@example.it", admin=True)
        delegate = make_user(s, "delegato@example.it", org=org)
        assert is_admin(admin) and not is_admin(delegate)
        assert is_delegate_of(delegate, org) and is_delegate_of(delegate, org.id)
        assert not is_delegate_of(delegate, other) and not is_delegate_of(admin, org)
        return {"org_id": org.id}


def orgs(in_app) -> int:
    with in_app() as s:
        return s.scalar(select(func.count()).select_from(Organisation))


@pytest.mark.parametrize("path", ["/amministrazione/organizzazioni", "/amministrazione/organizzazioni/{org_id}"])
def test_admin_pages_forbidden_for_delegates(client, people, path):
    login(client, "delegato@example.it")
    response = client.get(path.format(**people))
    assert response.status_code == 403
    assert "riservata agli amministratori" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/amministrazione/organizzazioni", "/amministrazione/organizzazioni/{org_id}"])
def test_admin_pages_redirect_anonymous_to_login(client, people, path):
    target = path.format(**people)
    response = client.get(target)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accedi?next=")


def test_delegate_post_is_forbidden_and_writes_nothing(client, people, in_app):
    login(client, "delegato@example.it")
    token_page = client.get("/profilo")
    from tests.helpers import csrf_token_from

    csrf = csrf_token_from(token_page.get_data(as_text=True))
    before = orgs(in_app)
    response = client.post("/amministrazione/organizzazioni",
                           data={"csrf_token": csrf, "name": "Intrusa", "kind": "comune"})
    assert response.status_code == 403
    assert orgs(in_app) == before


def test_unknown_organisation_is_404(client, people):
    login(client, "admin@example.it")
    assert client.get("/amministrazione/organizzazioni/999999").status_code == 404


def test_create_ets_through_the_form(client, people, in_app):
    login(client, "admin@example.it")
    response = csrf_post(client, "/amministrazione/organizzazioni", {
        "name": "ODV Amici", "kind": "ets", "ambito_code": "50008", "codice_fiscale": CF,
        "runts_section": "odv", "runts_repertorio": "321", "email": "info@amici.example.it",
    })
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "ODV Amici" in html and CF in html and "Organizzazioni di volontariato" in html
    with in_app() as s:
        org = s.scalar(select(Organisation).where(Organisation.name == "ODV Amici"))
        assert (org.kind, org.ambito_code, org.runts_repertorio) == ("ets", "50008", "321")


def test_invalid_codice_fiscale_is_422_and_no_row(client, people, in_app):
    login(client, "admin@example.it")
    before = orgs(in_app)
    bad = CF[:-1] + str((int(CF[-1]) + 3) % 10)
    response = csrf_post(client, "/amministrazione/organizzazioni", {
        "name": "ODV Sbagliata", "kind": "ets", "codice_fiscale": bad, "runts_section": "odv",
        "runts_repertorio": "1",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "cifra di controllo" in html
    assert 'role="alert"' in html and 'href="#codice_fiscale"' in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="codice_fiscale-aiuto codice_fiscale-errore"' in html
    assert 'value="ODV Sbagliata"' in html  # the form keeps what was typed
    assert orgs(in_app) == before


def test_duplicate_codice_fiscale_is_409(client, people, in_app):
    login(client, "admin@example.it")
    data = {"name": "APS Uno", "kind": "ets", "codice_fiscale": CF, "runts_section": "aps",
            "runts_repertorio": "5"}
    assert csrf_post(client, "/amministrazione/organizzazioni", data).status_code == 302
    before = orgs(in_app)
    response = csrf_post(client, "/amministrazione/organizzazioni", {**data, "name": "APS Due"})
    assert response.status_code == 409
    assert "già registrata" in response.get_data(as_text=True)
    assert orgs(in_app) == before


def test_missing_name_is_422(client, people, in_app):
    login(client, "admin@example.it")
    before = orgs(in_app)
    response = csrf_post(client, "/amministrazione/organizzazioni", {"name": "", "kind": "comune"})
    assert response.status_code == 422
    assert "Questo campo è obbligatorio." in response.get_data(as_text=True)
    assert orgs(in_app) == before


def test_organisation_page_lists_members(client, people):
    login(client, "admin@example.it")
    html = client.get(f"/amministrazione/organizzazioni/{people['org_id']}").get_data(as_text=True)
    assert "delegato@example.it" in html and "Invita un delegato" in html


# --------------------------------------------------------------------------- accessible markup


class FormAudit(HTMLParser):
    """Collects inputs, labels, inline scripts and styles of a page's <main>."""

    def __init__(self):
        super().__init__()
        self.in_main = False
        self.inputs: list[dict] = []
        self.labels: set[str] = set()
        self.inline_scripts = 0
        self.style_attrs = 0
        self._script_open = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "main":
            self.in_main = True
        if "style" in a:
            self.style_attrs += 1
        if tag == "script" and "src" not in a:
            self.inline_scripts += 1
        if tag == "style":
            self.style_attrs += 1
        if not self.in_main:
            return
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag in ("input", "select", "textarea"):
            self.inputs.append({"tag": tag, **a})

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main = False


def audit(html: str) -> FormAudit:
    parser = FormAudit()
    parser.feed(html)
    return parser


PAGES = ["/accedi", "/password-dimenticata", "/accesso-con-link", "/profilo",
         "/amministrazione/organizzazioni", "/amministrazione/organizzazioni/{org_id}"]


@pytest.mark.parametrize("path", PAGES)
def test_forms_are_accessible(client, people, path):
    if path != "/accedi" and "dimenticata" not in path and "link" not in path:
        login(client, "admin@example.it")
    html = client.get(path.format(**people)).get_data(as_text=True)
    page = audit(html)
    assert page.inline_scripts == 0 and page.style_attrs == 0
    visible = [i for i in page.inputs if i.get("type") not in ("hidden", "submit") and "hidden" not in i]
    assert visible, "no inputs found"
    for field in visible:
        assert field.get("id") in page.labels, f"input without label: {field}"
        if field.get("type") == "email" or field.get("type") == "password":
            assert field.get("autocomplete"), f"no autocomplete on {field}"
    passwords = [i for i in visible if i.get("type") == "password"]
    assert all(i["autocomplete"] in ("current-password", "new-password") for i in passwords)


def test_form_shows_every_error_at_once(client, people, in_app):
    login(client, "admin@example.it")
    response = csrf_post(client, "/amministrazione/organizzazioni", {
        "name": "", "kind": "ets", "codice_fiscale": "123", "runts_section": "", "runts_repertorio": "",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("name", "codice_fiscale", "runts_section", "runts_repertorio"):
        assert f'href="#{field}"' in html and f'id="{field}-errore"' in html
    assert orgs(in_app) == 2


def test_ambito_defaults_to_the_installation(client, people, app):
    app.config["AMBITO_CODE"] = "50008"
    login(client, "admin@example.it")
    html = client.get("/amministrazione/organizzazioni").get_data(as_text=True)
    assert '<option selected value="50008">Pavia (50008)</option>' in html
