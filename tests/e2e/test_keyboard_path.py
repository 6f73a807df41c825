"""A delegate's whole path by keyboard alone, on a phone: open the invitation, join, log in,
read the privacy notice, reach the seduta from «I miei tavoli», propose a bisogno, annotate the
bisogno in evidenza, vote. No mouse: only Tab, Shift+Tab, Enter, Space, arrows and typing. At
every stop the focus is visible (an outline or a focus ring drawn by the page's styles)."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import PHONE, assert_accessible, connected, shot
from tests.world import make_person
from workspace.accounts import links
from workspace.accounts.models import Organisation, User
from workspace.db import db, utcnow
from workspace.needs import service as needs_service
from workspace.procedures import lifecycle as procedures
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli_service
from workspace.voting.models import VoteRound

PASSWORD = "Una-password-lunga-2026"

# Is the focused element visibly focused? Its own outline or ring, or (Bootstrap Italia's
# checkboxes and radios, whose input is hidden) the ring of its label.
_FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) { return 'nessun elemento ha il focus'; }
  const ring = (el) => {
    const s = getComputedStyle(el);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1) || (s.boxShadow && s.boxShadow !== 'none');
  };
  if (ring(e)) { return null; }
  const label = e.id && document.querySelector('label[for="' + e.id + '"]');
  if (label && (ring(label) || getComputedStyle(label, '::before').boxShadow !== 'none')) { return null; }
  return e.outerHTML.slice(0, 160);
}"""


@dataclass
class Invited:
    tavolo_id: int
    seduta_id: int
    email: str
    organisation: str
    token: str
    spotlight_title: str
    admin: str
    facilitator: str


@pytest.fixture
def invited(live_app) -> Invited:
    """A live seduta of a tavolo with a bisogno in evidenza, and an invitation for a new delegate
    of an ETS (the e-mail is written to the instance's mail folder)."""
    tag = uuid.uuid4().hex[:8]
    with live_app.app_context():
        s = db.session
        udp = Organisation(name=f"Ufficio di Piano {tag}", kind="ufficio_di_piano", ambito_code="50008")
        ets = Organisation(name=f"Associazione Tastiera {tag}", kind="ets", ambito_code="50008")
        s.add_all([udp, ets])
        s.flush()
        facilitator = make_person(s, "Fabio Facilitatore", f"fac-{tag}@e2e.example.org", udp)
        admin = make_person(s, "Anna Amministratrice", f"adm-{tag}@e2e.example.org", udp, admin=True)
        procedure = procedures.create_procedure(s, admin, "50008", f"Co-programmazione {tag}")
        now = utcnow()
        t = membership.create_tavolo(s, admin, procedure, f"Tavolo da tastiera {tag}", ["E"],
                                     opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10))
        membership.add_member(s, admin, t, ets)
        membership.set_role(s, admin, t, facilitator, "facilitator")
        seduta = tavoli_service.create_seduta(s, facilitator, t, now, "Sala Consiglio", "mista",
                                              ["Apertura", "Bisogni emersi"])
        tavoli_service.start_seduta(s, facilitator, seduta)
        b, _e = needs_service.create_bisogno(s, facilitator, t, {"title": "Trasporto verso i centri diurni",
                                                                  "macroarea": "E"})
        needs_service.spotlight(s, facilitator, seduta, b.id)
        email = f"nuova-{tag}@e2e.example.org"
        token = links.invite_delegate(s, ets, name="Nadia Nuova", email=email, invited_by=admin)
        s.commit()
        return Invited(t.id, seduta.id, email, ets.name, token, b.title, admin.email, facilitator.email)


def _person(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


class Keyboard:
    """Tab through a page, checking that every stop shows its focus."""

    def __init__(self, page):
        self.page = page
        self.unseen: list[str] = []

    def focused(self) -> dict:
        return self.page.evaluate("""() => { const e = document.activeElement;
            return {id: e.id, tag: e.tagName, text: (e.innerText || e.value || '').trim().slice(0, 80),
                    name: e.getAttribute('aria-label') || ''}; }""")

    def tab_to(self, matches, *, back: bool = False, limit: int = 120) -> dict:
        for _ in range(limit):
            self.page.keyboard.press("Shift+Tab" if back else "Tab")
            problem = self.page.evaluate(_FOCUS)
            if problem:
                self.unseen.append(f"{self.page.url}: {problem}")
            now = self.focused()
            if matches(now):
                return now
        pytest.fail(f"non raggiunto con il tasto Tab su {self.page.url}")

    def tab_to_id(self, element_id: str, **kw) -> dict:
        return self.tab_to(lambda f: f["id"] == element_id, **kw)

    def tab_to_text(self, text: str, **kw) -> dict:
        return self.tab_to(lambda f: f["text"] == text or f["text"].startswith(text), **kw)


def test_the_delegates_whole_path_by_keyboard(browser, live_server, live_app, console, remote, invited):
    context = browser.new_context(base_url=live_server, locale="it-IT", timezone_id="Europe/Rome", viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    console.attach(page)
    keys = Keyboard(page)
    try:
        # 1. The invitation: the link of the e-mail, then the form by keyboard.
        page.goto(f"/invito/{invited.token}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Invito ai tavoli di co-programmazione")
        assert_accessible(page)
        keys.tab_to_id("password")
        page.keyboard.type(PASSWORD)
        keys.tab_to_id("password_confirm")
        page.keyboard.type(PASSWORD)
        keys.tab_to_text("Aderisci e imposta la password")
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/invito/" not in url)
        with live_app.app_context():  # the Ufficio di Piano makes the new delegate a delegate of the tavolo
            t = tavoli_service.get_tavolo(db.session, invited.tavolo_id)
            ets = db.session.scalar(select(Organisation).where(Organisation.name == invited.organisation))
            membership.set_role(db.session, _person(invited.admin), t, _person(invited.email), "delegate", ets)
            db.session.commit()
        context.clear_cookies()

        # 2. Log in.
        page.goto("/accedi")
        keys.tab_to_id("email")
        page.keyboard.type(invited.email)
        keys.tab_to_id("password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/accedi" not in url)
        if "/privacy" in page.url:  # the information notice, read once
            keys.tab_to_text("Ho letto l'informativa")
            page.keyboard.press("Enter")
            page.wait_for_url(lambda url: "/privacy" not in url)

        # 3. To the seduta: the menu, «I miei tavoli», the tavolo, «Partecipa».
        page.goto("/tavoli")
        keys.tab_to(lambda f: f["tag"] == "A" and f["text"].startswith("Tavolo da tastiera"))
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"/tavoli/{invited.tavolo_id}$"))
        keys.tab_to_text("Partecipa e contribuisci")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/partecipa$"))
        connected(page)
        expect(page.locator("[data-spotlight]")).to_have_text(invited.spotlight_title)

        # 4. Propose a bisogno: one key on «Proponi un bisogno», type, Enter.
        keys.tab_to(lambda f: f["text"] == "Proponi un bisogno" and f["tag"] == "BUTTON")
        page.keyboard.press("Enter")
        assert keys.focused()["id"] == "b-title"
        page.keyboard.type("Sportello digitale nei quartieri")
        keys.tab_to_id("b-description")
        page.keyboard.type("Molti anziani non sanno usare i servizi online.")
        expect(page.locator("#b-description-conta")).to_have_text(re.compile(r"^47 di 20\.000 caratteri$"))
        keys.tab_to_id("b-target")
        page.keyboard.type("Over 75")
        page.keyboard.press("Enter")
        expect(page.locator("[data-status-for='form-bisogno']")).to_have_text("Inviato.")
        expect(page.locator("[data-bisogni-list] article h3", has_text="Sportello digitale nei quartieri")).to_be_visible()

        # 5. Annotate the bisogno in evidenza.
        keys.tab_to_text("Annota il bisogno in evidenza", back=True)
        page.keyboard.press("Enter")
        kind = keys.focused()
        assert kind["tag"] == "SELECT"
        page.keyboard.type("Esp")  # type-ahead: «Esperienza sul campo»
        page.keyboard.press("Tab")
        assert keys.focused()["tag"] == "TEXTAREA"
        page.keyboard.type("Offriamo due volontari il martedì.")
        keys.tab_to(lambda f: f["text"].startswith("Invia l'annotazione"))
        page.keyboard.press("Enter")
        spotlight_card = page.locator("[data-bisogni-list] article", has=page.get_by_role(
            "heading", name=invited.spotlight_title))
        expect(spotlight_card.locator(".tavoli-annotation")).to_contain_text("Offriamo due volontari il martedì.")
        expect(spotlight_card.locator(".tavoli-annotation .tavoli-kind")).to_have_text("Esperienza sul campo")

        # 6. A vote opens: the banner, one key to the ballot, the ballot by keyboard.
        #    The facilitator, on their own device (through the server: what it sends is live),
        #    prepares the vote with the form and opens it on the live channel.
        with live_app.app_context():
            bisogni = [b.id for b in needs_service.bisogni_of(db.session, invited.tavolo_id)]
        facilitator = remote(invited.facilitator)
        form = f"/tavoli/{invited.tavolo_id}/votazioni/nuova"
        facilitator.post(form, {"title": "Priorità", "method": "approval", "approval_k": 1, "bisogni": bisogni,
                                "timing": "seduta", "seduta_id": invited.seduta_id})
        with live_app.app_context():
            round_id = db.session.scalar(select(VoteRound.id).where(VoteRound.tavolo_id == invited.tavolo_id))
        facilitator.op(invited.tavolo_id, "vote.open", round_id=round_id)
        expect(page.locator("[data-vote-banner]")).to_be_visible()
        keys.tab_to(lambda f: f["text"].startswith("Votazione aperta — vota ora"), back=True)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/votazioni/\d+$"))
        connected(page)
        keys.tab_to(lambda f: f["tag"] == "INPUT" and f["id"].startswith("approva-"))
        page.keyboard.press("Space")
        keys.tab_to_text("Invia la scheda")
        page.keyboard.press("Enter")
        expect(page.locator("[data-voted-text]")).to_have_text("Hai votato.")
        shot(page, "keyboard-path-voted", full_page=True)
        keys.tab_to_text("Torna alla seduta")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/partecipa$"))
        expect(page.locator("[data-vote-banner]")).to_contain_text("Hai votato.")

        assert not keys.unseen, "focus non visibile su:\n" + "\n".join(keys.unseen)
    finally:
        context.close()
