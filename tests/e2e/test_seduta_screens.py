"""The seduta as people live it, in three browser contexts at once: the facilitator on a laptop
(1280×900), a delegate on a phone (390×844) and the hall's big screen (1920×1080).

- the phone is a remote control: agenda item, bisogno in evidenza, timer, quorum and the way to
  contribute in the first screen; a vote opening shows "Votazione aperta — vota ora" within a
  second, one tap reaches the ballot, and back on the page it says "Hai votato";
- the big screen has no site chrome, shows the bisogno in evidenza whole at 1080p (long texts
  scroll by themselves), a wall of the latest contributions when nothing is in evidenza, the
  turnout as a bar, a QR code with the participation link; full screen refused is said, not
  thrown;
- it is legible at 1280×720, 1920×1080 and 3840×2160: computed font sizes measured, contrast
  computed on the computed colours (at least 7:1).

Screenshots of every screen are saved under test-artifacts/screens/.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import PHONE, assert_accessible, connected, shot
from tests.e2e.conftest import login as e2e_login
from tests.world import PASSWORD, make_person
from workspace.accounts.models import Organisation, User
from workspace.db import db, utcnow
from workspace.needs import service as needs_service
from workspace.procedures import lifecycle as procedures
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli_service
from workspace.voting.models import VoteRound

BIG = {"width": 1920, "height": 1080}
SIZES = [{"width": 1280, "height": 720}, BIG, {"width": 3840, "height": 2160}]
TITLES = ["Anziani soli nei quartieri periferici", "Trasporto sociale verso gli ospedali",
          "Sostegno ai caregiver familiari"]
DESCRIPTION = ("Molti anziani **vivono soli** senza rete familiare.\n\n"
               "| Quartiere | Over 75 soli |\n|---|---|\n| Centro | 420 |\n| Borgo Ticino | 310 |\n")


@dataclass
class Hall:
    tavolo_id: int
    seduta_id: int
    facilitator: str
    delegate: str
    delegate2: str
    observer: str
    bisogni: list[int]


def _person(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


@pytest.fixture
def hall(live_app) -> Hall:
    """A tavolo on macroarea E with three bisogni (the first with a Markdown table and two
    annotations), a convened seduta, a facilitator, two ETS delegates and an observer."""
    tag = uuid.uuid4().hex[:8]
    with live_app.app_context():
        session = db.session

        def org(name, kind):
            o = Organisation(name=f"{name} {tag}", kind=kind, ambito_code="50008")
            session.add(o)
            return o

        udp = org("Ufficio di Piano", "ufficio_di_piano")
        ets, ets2 = org("Associazione Alfa", "ets"), org("Cooperativa Beta", "ets")
        union = org("Sindacato Gamma", "sindacato")
        session.flush()
        facilitator = make_person(session, "Fabio Facilitatore", f"fac-{tag}@e2e.example.org", udp)
        delegate = make_person(session, "Delia Delegata", f"del-{tag}@e2e.example.org", ets)
        delegate2 = make_person(session, "Dario Delegato", f"del2-{tag}@e2e.example.org", ets2)
        observer = make_person(session, "Olga Osservatrice", f"oss-{tag}@e2e.example.org", union)
        admin = make_person(session, "Anna Amministratrice", f"adm-{tag}@e2e.example.org", udp, admin=True)
        procedure = procedures.create_procedure(session, admin, "50008", f"Co-programmazione {tag}")
        now = utcnow()
        t = membership.create_tavolo(session, admin, procedure, f"Tavolo anziani {tag}", ["E"],
                                     opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10))
        membership.set_role(session, admin, t, facilitator, "facilitator")
        membership.set_role(session, admin, t, delegate, "delegate", ets)
        membership.set_role(session, admin, t, delegate2, "delegate", ets2)
        membership.set_role(session, admin, t, observer, "observer")
        seduta = tavoli_service.create_seduta(session, facilitator, t, now + timedelta(minutes=5), "Sala Consiglio",
                                              "mista", ["Apertura", "Bisogni emersi", "Priorità"])
        ids = []
        for i, title in enumerate(TITLES):
            fields = {"title": title, "macroarea": "E", "description": DESCRIPTION if i == 0 else ""}
            ids.append(needs_service.create_bisogno(session, delegate if i != 1 else delegate2, t, fields)[0].id)
        session.commit()
        return Hall(t.id, seduta.id, facilitator.email, delegate.email, delegate2.email, observer.email, ids)


def login(page, email: str) -> None:
    e2e_login(page, email, PASSWORD)


def annotate(live_app, hall: Hall, index: int, body: str, kind: str = "dato", email: str | None = None) -> None:
    with live_app.app_context():
        b = needs_service.get_bisogno(db.session, hall.bisogni[index], hall.tavolo_id)
        needs_service.add_annotation(db.session, _person(email or hall.delegate2), b, kind, body)
        db.session.commit()


def inside(page, locator) -> bool:
    """The element's whole box is inside the window."""
    box = locator.bounding_box()
    size = page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= size["width"] + 0.5 and box["y"] + box["height"] <= size["height"] + 0.5)


# --- the three screens together -----------------------------------------------------------------


def test_three_screens_through_a_vote(page, open_page, live_app, remote, hall):
    facilitator = page
    login(facilitator, hall.facilitator)
    facilitator.goto(f"/tavoli/{hall.tavolo_id}/sedute/{hall.seduta_id}/console")
    connected(facilitator)
    facilitator.get_by_role("button", name="Avvia la seduta").click()
    expect(facilitator.locator("[data-status-badge]")).to_have_text("In corso")

    phone = open_page(PHONE)
    login(phone, hall.delegate)
    phone.goto(f"/tavoli/{hall.tavolo_id}/partecipa")
    connected(phone)

    screen = open_page(BIG)
    login(screen, hall.observer)
    screen.goto(f"/tavoli/{hall.tavolo_id}/schermo")
    connected(screen)
    # Its own layout: none of the site's header, menu, breadcrumb or footer.
    for chrome in ("header.it-header-wrapper", "footer", ".breadcrumb", "#navigazione", ".skiplinks"):
        expect(screen.locator(chrome)).to_have_count(0)
    assert screen.evaluate("() => document.documentElement.scrollHeight") <= BIG["height"]

    # Nothing in evidenza: the wall of the latest contributions, and a bisogno raised now joins it.
    expect(screen.locator("[data-wall]")).to_be_visible()
    expect(screen.locator("[data-wall-list]")).to_contain_text(TITLES[2])
    phone.get_by_role("button", name="Proponi un bisogno").click()
    expect(phone.get_by_label("Titolo")).to_be_focused()
    phone.get_by_label("Titolo").fill("Solitudine digitale")
    phone.get_by_role("button", name="Invia il bisogno").click()
    expect(phone.locator("[data-status-for='form-bisogno']")).to_have_text("Inviato.")
    expect(screen.locator("[data-wall-item]").first).to_contain_text("Solitudine digitale")
    expect(screen.locator("[data-wall-item]").first).to_contain_text("Nuovo bisogno")
    phone.get_by_role("button", name="Chiudi il modulo").click()
    expect(phone.locator("#proponi")).to_be_hidden()
    # Someone else annotates (their own device, through the server): the wall shows it at once.
    remote(hall.delegate2).op(hall.tavolo_id, "annotation.create", bisogno_id=hall.bisogni[0], kind="dato",
                              body="Il servizio di custodia sociale ha seguito 300 persone nel 2024.")
    expect(screen.locator("[data-wall-item]").first).to_contain_text("Il servizio di custodia sociale")
    shot(screen, "bigscreen-wall-1080p")

    # The facilitator moves the agenda, puts the first bisogno in evidenza and starts the timer.
    facilitator.get_by_role("button", name=re.compile(r"^Passa a questo punto\W+Bisogni emersi$")).click()
    card = facilitator.locator("[data-bisogni-list] article", has=facilitator.get_by_role("heading", name=TITLES[0]))
    card.get_by_role("button", name=re.compile("^Metti sul grande schermo")).click()
    facilitator.get_by_label("Minuti").fill("4")
    facilitator.get_by_label("Per che cosa").fill("interventi")
    facilitator.get_by_role("button", name="Avvia il timer").click()

    # The big screen shows the bisogno whole at 1080p, with its Markdown table styled.
    spot = screen.locator("[data-spotlight]")
    expect(spot.locator("h3")).to_have_text(TITLES[0])
    expect(screen.locator("[data-wall]")).to_be_hidden()
    expect(spot).to_contain_text("Il servizio di custodia sociale")
    expect(screen.locator("#live")).not_to_have_attribute("data-fit", "scroll")
    assert inside(screen, spot), "il bisogno in evidenza esce dallo schermo a 1080p"
    cell = spot.locator("table td").first
    expect(cell).to_have_text("Centro")
    assert cell.evaluate("(td) => getComputedStyle(td).borderTopStyle") == "solid"
    expect(screen.locator("[data-timer]")).to_have_text(re.compile(r"^0[34]:[0-5]\d$"))
    expect(screen.locator("[data-quorum]")).to_contain_text("su 2 organizzazioni")
    expect(screen.locator(".bs-join svg")).to_be_visible()
    expect(screen.locator(".bs-join-url")).to_have_text(re.compile(rf"/tavoli/{hall.tavolo_id}/partecipa$"))

    # The phone's first screen (390×844): what is discussed, the bisogno in evidenza, the timer,
    # the quorum and the way to contribute, without scrolling.
    phone.evaluate("() => window.scrollTo(0, 0)")
    expect(phone.locator("[data-current-item]")).to_have_text("Bisogni emersi")
    expect(phone.locator("[data-spotlight] a")).to_have_text(TITLES[0])
    expect(phone.locator("[data-timer]")).to_have_text(re.compile(r"^0[34]:[0-5]\d$"))
    expect(phone.locator("[data-quorum]")).to_contain_text("1 su 2 organizzazioni")
    for what in ("[data-current-item]", "[data-spotlight]", "[data-timer]", "[data-quorum]",
                 "[data-action='propose']", "[data-action='annotate-spotlight']"):
        assert inside(phone, phone.locator(what)), f"{what} non è nella prima schermata del telefono"
    shot(phone, "phone-remote")

    # One tap annotates the bisogno in evidenza.
    phone.get_by_role("button", name="Annota il bisogno in evidenza").click()
    phone_card = phone.locator(f"#bisogno-{hall.bisogni[0]}")
    expect(phone_card.locator("details.tavoli-annotate")).to_have_attribute("open", "")
    expect(phone_card.get_by_label("Tipo")).to_be_focused()

    # A vote opens: the phone shows the banner within a second, announced assertively.
    # The facilitator prepares it (the form of «Nuova votazione», from another device).
    form = f"/tavoli/{hall.tavolo_id}/votazioni/nuova"
    remote(hall.facilitator).post(form, {"title": "Priorità del tavolo", "method": "approval", "approval_k": 2,
                                         "bisogni": list(hall.bisogni), "timing": "seduta",
                                         "seduta_id": hall.seduta_id})
    with live_app.app_context():
        round_id = db.session.scalar(select(VoteRound.id).where(VoteRound.tavolo_id == hall.tavolo_id))
    facilitator.reload()
    connected(facilitator)
    box = facilitator.locator("[data-votes-list] li", has_text="Priorità del tavolo")
    expect(phone.locator("[data-vote-banner]")).to_be_hidden()
    box.get_by_role("button", name=re.compile("^Apri la votazione")).click()
    banner = phone.locator("[data-vote-banner]")
    expect(banner).to_be_visible(timeout=1000)
    expect(banner).to_contain_text("Votazione aperta — vota ora")
    expect(banner).to_contain_text("Priorità del tavolo")
    expect(phone.locator("[data-vote-announcer]")).to_have_attribute("aria-live", "assertive")
    expect(phone.locator("[data-vote-announcer]")).to_contain_text("Votazione aperta: Priorità del tavolo")
    assert phone.evaluate("() => document.activeElement.tagName") != "A"  # the focus stayed where it was
    expect(screen.locator("[data-vote-title]")).to_have_text("Priorità del tavolo")
    expect(screen.locator("[data-vote-turnout]")).to_have_text(re.compile(r"^Hanno votato 0 aventi diritto su 2"))
    phone.evaluate("() => window.scrollTo(0, 0)")
    assert inside(phone, banner)
    shot(phone, "phone-vote-open")
    shot(screen, "bigscreen-spotlight-vote-1080p")
    assert_accessible(phone)
    assert_accessible(screen)

    # One tap reaches the ballot; back on the seduta the banner says the vote is cast.
    phone.locator("[data-vote-link]").click()
    expect(phone).to_have_url(re.compile(rf"/tavoli/{hall.tavolo_id}/votazioni/{round_id}$"))
    connected(phone)
    phone.locator("label", has_text=TITLES[0]).first.click()
    phone.get_by_role("button", name="Invia la scheda").click()
    expect(phone.locator("[data-voted-text]")).to_have_text("Hai votato.")
    phone.get_by_role("link", name="Torna alla seduta").click()
    connected(phone)
    expect(banner).to_have_attribute("data-voted", "true")
    expect(banner).to_contain_text("Hai votato.")
    expect(screen.locator("[data-vote-turnout]")).to_have_text(re.compile(r"^Hanno votato 1 aventi diritto su 2"))
    expect(screen.locator("[data-vote-bar]")).to_have_class(re.compile(r"vt-w-50"))
    shot(phone, "phone-voted")
    shot(facilitator, "console", full_page=True)
    assert_accessible(facilitator)


# --- the big screen on its own --------------------------------------------------------------------


_LEGIBILITY = """() => {
  const lum = (rgb) => {
    const c = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const parse = (s) => {
    const p = s.match(/rgba?\\(([^)]+)\\)/)[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { rgb: p.slice(0, 3), a: p.length > 3 ? p[3] : 1 };
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.a > 0.99) { return c.rgb; }
    }
    return [255, 255, 255];
  };
  const out = [];
  const root = document.getElementById('live');
  for (const el of root.querySelectorAll('*')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('svg')) { continue; }
    const rect = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (rect.width <= 1 || rect.height <= 1 || style.visibility === 'hidden' || !el.checkVisibility()) { continue; }
    const fg = parse(style.color).rgb;
    const bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    out.push({ text: el.textContent.trim().slice(0, 40), size: parseFloat(style.fontSize),
               contrast: (hi + 0.05) / (lo + 0.05) });
  }
  return out;
}"""


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s['width']}x{s['height']}")
def test_big_screen_legible_from_the_back_of_the_room(open_page, live_app, hall, size):
    """Every text on the big screen is at least 2% of the window's height (22 px at 1080p), the
    titles far more, and every text keeps 7:1 against its background (computed colours)."""
    annotate(live_app, hall, 0, "Offriamo 10 volontari per le visite a domicilio.", kind="risorsa")
    with live_app.app_context():
        seduta = tavoli_service.get_seduta(db.session, hall.seduta_id)
        facilitator = _person(hall.facilitator)
        tavoli_service.start_seduta(db.session, facilitator, seduta)
        needs_service.spotlight(db.session, facilitator, seduta, hall.bisogni[0])
        tavoli_service.set_timer(db.session, facilitator, seduta, 300, "interventi")
        db.session.commit()
    screen = open_page(size)
    login(screen, hall.observer)
    screen.goto(f"/tavoli/{hall.tavolo_id}/schermo")
    connected(screen)
    expect(screen.locator("[data-spotlight] h3")).to_have_text(TITLES[0])
    screen.evaluate("() => document.fonts.ready")
    texts = screen.evaluate(_LEGIBILITY)
    assert len(texts) > 15, texts
    floor = 0.02 * size["height"] - 0.5
    small = [t for t in texts if t["size"] < floor]
    assert not small, f"testi sotto {floor:.1f}px a {size}: {small}"
    low = [t for t in texts if t["contrast"] < 7]
    assert not low, f"contrasto sotto 7:1 a {size}: {low}"
    title = screen.locator("[data-spotlight] h3").evaluate("(h) => parseFloat(getComputedStyle(h).fontSize)")
    assert title >= 0.045 * size["height"]
    if size == BIG:
        assert inside(screen, screen.locator("[data-spotlight]"))
    shot(screen, f"bigscreen-{size['width']}x{size['height']}")
    if size == SIZES[0]:
        assert_accessible(screen)


def test_a_long_bisogno_scrolls_by_itself_and_full_screen_refused_is_said(open_page, live_app, hall):
    long_text = "\n\n".join(f"Paragrafo {n}: " + "le persone anziane che vivono sole chiedono ascolto, " * 12
                            for n in range(1, 9))
    with live_app.app_context():
        t = tavoli_service.get_tavolo(db.session, hall.tavolo_id)
        facilitator = _person(hall.facilitator)
        b, _event = needs_service.create_bisogno(db.session, _person(hall.delegate), t,
                                                 {"title": "Un bisogno descritto a lungo", "macroarea": "E",
                                                  "description": long_text})
        seduta = tavoli_service.get_seduta(db.session, hall.seduta_id)
        tavoli_service.start_seduta(db.session, facilitator, seduta)
        needs_service.spotlight(db.session, facilitator, seduta, b.id)
        db.session.commit()
    screen = open_page(BIG)
    # This browser refuses full screen, as a kiosk or a policy may.
    screen.context.add_init_script(
        "Element.prototype.requestFullscreen = function () { return Promise.reject(new TypeError('refused')); };")
    login(screen, hall.observer)
    screen.goto(f"/tavoli/{hall.tavolo_id}/schermo")
    connected(screen)
    expect(screen.locator("[data-spotlight] h3")).to_have_text("Un bisogno descritto a lungo")
    expect(screen.locator("#live")).to_have_attribute("data-fit", "scroll")
    # The smallest step first, then a slow scroll down (after a pause at the top): nothing cut for good.
    expect(screen.locator("[data-spotlight]")).to_have_class(re.compile("bs-fit-4"))
    screen.wait_for_function("() => document.querySelector('[data-fit-viewport]').scrollTop > 20", timeout=15_000)
    last = screen.locator("[data-spotlight] .tavoli-bisogno-description p").last
    expect(last).to_contain_text("Paragrafo 8")
    shot(screen, "bigscreen-long-text-scrolling")

    screen.get_by_role("button", name="Schermo intero").click()
    expect(screen.locator("[data-screen-message]")).to_have_text(
        re.compile("Il browser non ha concesso lo schermo intero"))
    expect(screen.locator("[data-screen-message]")).to_have_attribute("aria-live", "polite")
    # No uncaught rejection: the harness fails the test on any page error after its body.


def test_text_counter_shows_the_servers_limit_and_says_it_politely(page, live_app, hall):
    """The limit comes from the configuration (TAVOLI_TEXT_LIMIT); the counter follows the typing,
    marks the field invalid past the limit and says it in a polite live region."""
    limit = live_app.config["TEXT_LIMIT"]
    login(page, hall.delegate)
    page.goto(f"/tavoli/{hall.tavolo_id}/bisogni/nuovo")
    counter = page.locator("#description-conta")
    expect(counter).to_have_text(f"0 di {limit:,} caratteri".replace(",", "."))
    field = page.locator("#description")
    assert "description-conta" in field.get_attribute("aria-describedby")
    field.fill("x" * (limit + 1))
    field.press("End")
    field.type("y")
    expect(counter).to_have_text(f"{limit + 2:,} caratteri: 2 oltre il limite di {limit:,}".replace(",", "."))
    expect(field).to_have_attribute("aria-invalid", "true")
    announcer = page.locator("#description-conta + [aria-live='polite']")
    expect(announcer).to_have_text(re.compile("oltre il limite"))
    field.fill("Breve.")
    field.type("!")
    expect(counter).to_have_text(f"7 di {limit:,} caratteri".replace(",", "."))
    expect(field).not_to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
