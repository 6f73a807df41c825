"""Priority votes in real browsers: a facilitator prepares and opens a live vote from the console,
three delegates vote from their phones (one with the keyboard alone), the big screen follows the
turnout, the facilitator closes the vote and everybody sees the results without reloading.

Each test builds its own tavolo on the live server's database through the services (fresh people,
fresh e-mail addresses). Every page is watched: a JS error, a CSP violation or a failed sub-resource
fails the test; ballot and results pages pass axe-core (WCAG 2.1 A/AA).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.e2e.conftest import PHONE, assert_accessible, connected, shot
from tests.e2e.conftest import login as e2e_login
from tests.world import PASSWORD, make_person
from workspace.accounts.models import Organisation, User
from workspace.db import db, utcnow
from workspace.needs import service as needs_service
from workspace.procedures import lifecycle as procedures
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli_service
from workspace.voting import rounds as voting_rounds
from workspace.voting.electorate import turnout
from workspace.voting.models import OpenBallot, Participation, VoteOperation, VoteRound

BIG = {"width": 1600, "height": 900}
TITLES = ["Solitudine degli anziani soli", "Trasporto sociale verso gli ospedali", "Sostegno ai caregiver familiari"]


@dataclass
class VoteTavolo:
    tavolo_id: int
    seduta_id: int
    facilitator: str
    delegates: list[str]
    observer: str
    bisogni: list[int] = field(default_factory=list)


@pytest.fixture
def tavolo(live_app) -> VoteTavolo:
    """A tavolo with three bisogni, a convened seduta, a facilitator, three delegates of three ETS
    and an observer."""
    tag = uuid.uuid4().hex[:8]
    with live_app.app_context():
        session = db.session

        def org(name, kind):
            o = Organisation(name=f"{name} {tag}", kind=kind, ambito_code="50008")
            session.add(o)
            return o

        udp = org("Ufficio di Piano", "ufficio_di_piano")
        orgs = [org("Associazione Alfa", "ets"), org("Cooperativa Beta", "ets"), org("Fondazione Gamma", "ets")]
        union = org("Sindacato Delta", "sindacato")
        session.flush()
        facilitator = make_person(session, "Fabio Facilitatore", f"fac-{tag}@e2e.example.org", udp)
        names = ["Delia Delegata", "Dario Delegato", "Gemma Delegata"]
        delegates = [make_person(session, n, f"del{i}-{tag}@e2e.example.org", o)
                     for i, (n, o) in enumerate(zip(names, orgs, strict=True))]
        observer = make_person(session, "Olga Osservatrice", f"oss-{tag}@e2e.example.org", union)
        admin = make_person(session, "Anna Amministratrice", f"adm-{tag}@e2e.example.org", udp, admin=True)
        procedure = procedures.create_procedure(session, admin, "50008", f"Co-programmazione {tag}")
        now = utcnow()
        t = membership.create_tavolo(session, admin, procedure, f"Tavolo anziani {tag}", ["E"],
                                     opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10))
        membership.set_role(session, admin, t, facilitator, "facilitator")
        for person, o in zip(delegates, orgs, strict=True):
            membership.set_role(session, admin, t, person, "delegate", o)
        membership.set_role(session, admin, t, observer, "observer")
        seduta = tavoli_service.create_seduta(session, facilitator, t, now + timedelta(minutes=5), "Sala Consiglio",
                                              "mista", ["Apertura", "Priorità", "Varie"])
        bisogni = [needs_service.create_bisogno(session, delegates[0], t, {"title": title, "macroarea": "E"})[0].id
                   for title in TITLES]
        session.commit()
        return VoteTavolo(t.id, seduta.id, facilitator.email, [d.email for d in delegates], observer.email, bisogni)


def login(page, email: str) -> None:
    e2e_login(page, email, PASSWORD)


def check(page, label: str) -> None:
    """Tick a checkbox or radio of Bootstrap Italia (drawn on its label)."""
    page.locator("label", has_text=label).first.click()


def focused(page) -> str:
    return page.evaluate("() => document.activeElement.id || document.activeElement.textContent.trim()")


def tab_to(page, element_id: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} non si raggiunge con il tasto Tab")


def test_three_delegates_vote_live_and_see_the_results(page, open_page, live_app, tavolo):
    t = tavolo
    facilitator = page
    login(facilitator, t.facilitator)
    facilitator.goto(f"/tavoli/{t.tavolo_id}/sedute/{t.seduta_id}/console")
    connected(facilitator)
    facilitator.get_by_role("button", name="Avvia la seduta").click()
    expect(facilitator.locator("[data-status-badge]")).to_have_text("In corso")
    expect(facilitator.locator("[data-votes-list]")).to_contain_text("Nessuna votazione in preparazione o aperta.")

    # The facilitator prepares a live Schulze vote on the three bisogni.
    facilitator.get_by_role("link", name="Nuova votazione").click()
    expect(facilitator.get_by_role("heading", name="Nuova votazione", level=1)).to_be_visible()
    facilitator.get_by_label("Titolo della votazione").fill("Priorità del tavolo")
    for title in TITLES:
        check(facilitator, title)
    check(facilitator, "Classifica, metodo Schulze")
    expect(facilitator.get_by_label("Dal vivo, durante una seduta")).to_be_checked()
    assert_accessible(facilitator)
    shot(facilitator, "vote-form", full_page=True)
    facilitator.get_by_role("button", name="Prepara la votazione").click()
    expect(facilitator.locator("main")).to_contain_text("Votazione «Priorità del tavolo» preparata")
    facilitator.get_by_role("link", name="Console della seduta n. 1").click()
    connected(facilitator)
    box = facilitator.locator("[data-votes-list] li", has_text="Priorità del tavolo")
    expect(box).to_contain_text("Bozza")

    # The big screen (the observer's laptop on the projector).
    screen = open_page(BIG)
    login(screen, t.observer)
    screen.goto(f"/tavoli/{t.tavolo_id}/schermo")
    connected(screen)
    expect(screen.locator("[data-vote-screen]")).to_be_hidden()

    box.get_by_role("button", name=re.compile("^Apri la votazione")).click()
    expect(box).to_contain_text("Aperta")
    expect(box).to_contain_text("Hanno votato 0 aventi diritto su 3 (0%)")
    expect(screen.locator("[data-vote-screen]")).to_be_visible()
    expect(screen.locator("[data-vote-title]")).to_have_text("Priorità del tavolo")
    expect(screen.locator("[data-vote-turnout]")).to_have_text("Hanno votato 0 aventi diritto su 3 (0%)")
    expect(screen.locator("[data-live-announcer]")).to_contain_text("Votazione aperta: Priorità del tavolo")
    with live_app.app_context():
        round_id = db.session.scalar(select(VoteRound.id).where(VoteRound.tavolo_id == t.tavolo_id))
    ballot_url = f"/tavoli/{t.tavolo_id}/votazioni/{round_id}"

    voters = []
    for email in t.delegates:
        phone = open_page(PHONE)
        login(phone, email)
        phone.goto(ballot_url)
        connected(phone)
        voters.append(phone)
    first, second, third = voters
    expect(first.locator("h1")).to_have_text("Priorità del tavolo")
    expect(first.locator(".vt-notice")).to_contain_text("Voto palese.")
    expect(first.locator(".vt-notice")).to_contain_text("La votazione si chiude in seduta")
    assert_accessible(first)

    # The first delegate ranks by keyboard alone: Tab to each select, type the place, Tab, Enter.
    ids = [f"posizione-{b}" for b in t.bisogni]
    first.locator("h1").click()  # start from the top of the content
    tab_to(first, ids[0])
    first.keyboard.press("2")
    first.keyboard.press("Tab")
    assert focused(first) == ids[1]
    first.keyboard.press("1")
    first.keyboard.press("Tab")
    assert focused(first) == ids[2]
    first.keyboard.press("3")
    expect(first.locator("[data-rank-preview]")).to_have_text(
        f"La tua classifica: 1. {TITLES[1]}; 2. {TITLES[0]}; 3. {TITLES[2]}")
    first.keyboard.press("Tab")
    assert focused(first) == "Invia la scheda"
    form_op_id = first.locator("input[name='op_id']").input_value()
    first.keyboard.press("Enter")
    expect(first.locator("[data-voted-box]")).to_be_visible()
    expect(first.locator("[data-voted-text]")).to_have_text("Hai votato.")
    assert first.evaluate("() => document.activeElement.id") == "esito"
    # Sent as the vote.cast operation of the live outbox (not the form's fallback POST), and settled.
    assert first.evaluate("() => window.TavoliLive.instances[0].outbox().length") == 0
    with live_app.app_context():
        op_ids = set(db.session.scalars(select(VoteOperation.op_id).where(VoteOperation.round_id == round_id)))
    assert len(op_ids) == 1 and form_op_id not in op_ids

    # The second one first gives the same place twice: refused on the page, nothing sent.
    second.get_by_label(TITLES[0]).select_option("1")
    second.get_by_label(TITLES[1]).select_option("1")
    expect(second.locator("[data-rank-preview]")).to_contain_text("La posizione 1 è data a più voci")
    second.get_by_role("button", name="Invia la scheda").click()
    expect(second.locator("[data-error-for='ballot']")).to_contain_text(
        f"La posizione 1 è data a più voci: «{TITLES[0]}», «{TITLES[1]}»")
    expect(second.get_by_label(TITLES[1])).to_have_attribute("aria-invalid", "true")
    assert_accessible(second)
    shot(second, "vote-ranked-phone", full_page=True)
    second.get_by_label(TITLES[1]).select_option("2")
    expect(second.locator("[data-error-for='ballot']")).to_be_empty()
    second.get_by_role("button", name="Invia la scheda").click()
    expect(second.locator("[data-voted-text]")).to_have_text("Hai votato.")

    third.get_by_label(TITLES[1]).select_option("1")
    third.get_by_label(TITLES[2]).select_option("2")
    third.get_by_role("button", name="Invia la scheda").click()
    expect(third.locator("[data-voted-text]")).to_have_text("Hai votato.")

    # Turnout on the console, on the big screen and on the voters' pages, without reloading.
    expect(screen.locator("[data-vote-turnout]")).to_have_text("Hanno votato 3 aventi diritto su 3 (100%)")
    expect(box).to_contain_text("Hanno votato 3 aventi diritto su 3 (100%)")
    shot(facilitator, "vote-console", full_page=True)
    expect(first.locator("[data-turnout]")).to_have_text("Hanno votato 3 aventi diritto su 3 (100%)")
    expect(screen.locator("[data-vote-chart]")).to_contain_text(
        "Durante la votazione si vede solo l'affluenza")
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participation)
                                 .where(Participation.round_id == round_id)) == 3
        ballots = sorted(db.session.scalars(select(OpenBallot.content).where(OpenBallot.round_id == round_id)),
                         key=str)
    b = [str(x) for x in t.bisogni]
    assert ballots == sorted([{"ranking": [b[1], b[0], b[2]]}, {"ranking": [b[0], b[1]]},
                              {"ranking": [b[1], b[2]]}], key=str)
    assert_accessible(first)

    # The facilitator closes the vote from the console: everybody sees the results by themselves.
    facilitator.once("dialog", lambda dialog: dialog.accept())
    box.get_by_role("button", name=re.compile("^Chiudi la votazione")).click()
    expect(box).to_contain_text("Chiusa")
    for phone in voters:
        expect(phone).to_have_url(re.compile(rf"{ballot_url}/risultati$"))
        expect(phone.get_by_role("heading", level=1)).to_have_text("Risultati: Priorità del tavolo")
        expect(phone.locator("[data-chart] li").first).to_contain_text(f"1º {TITLES[1]}")
    expect(screen.locator("[data-vote-label]")).to_have_text("Risultati")
    expect(screen.locator("[data-vote-chart] li").first).to_contain_text(f"1º {TITLES[1]}")
    expect(screen.locator("[data-vote-chart] li")).to_have_count(3)
    expect(screen.locator("[data-live-announcer]")).to_contain_text("Votazione chiusa: Priorità del tavolo")
    results = voters[0]
    expect(results.locator("table.vt-ranking-table tbody tr").first).to_contain_text(TITLES[1])
    expect(results.locator("main")).to_contain_text("versione schulze/1")
    expect(results.locator("main")).to_contain_text("Confronti a coppie")
    expect(results.locator("main")).to_contain_text("Delia Delegata")  # open ballots are attributed
    assert_accessible(results)
    shot(screen, "vote-bigscreen", full_page=True)
    shot(results, "vote-results-phone", full_page=True)


def test_each_ballot_works_without_a_mouse_and_passes_axe(page, live_app, tavolo):
    """Approval, dot and score ballots (asynchronous rounds): filled with the keyboard, counters
    announced, sent through the live channel; their pages pass axe before and after."""
    t = tavolo
    with live_app.app_context():
        session = db.session
        facilitator = session.scalar(select(User).where(User.email == t.facilitator))
        tavolo_obj = tavoli_service.get_tavolo(session, t.tavolo_id)
        rounds = {}
        for method, settings in (("approval", {"k": 2}), ("dot", {"points": 5, "max_per_item": 3}),
                                 ("score", {"criteria": ["urgenza", "impatto"]})):
            vote, _ = voting_rounds.create_round(session, facilitator, tavolo_obj, f"Voto {method}", method,
                                                  list(t.bisogni), settings=settings, secret=method == "score",
                                                  closes_at=utcnow() + timedelta(days=2))
            session.commit()
            voting_rounds.open_round(session, facilitator, vote)
            session.commit()
            rounds[method] = vote.id
    login(page, t.delegates[0])
    base = f"/tavoli/{t.tavolo_id}/votazioni"

    # Approval: Space ticks a box, the counter follows.
    page.goto(f"{base}/{rounds['approval']}")
    connected(page)
    assert_accessible(page)
    page.locator("h1").click()
    tab_to(page, f"approva-{t.bisogni[0]}")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.locator("[data-approval-count]")).to_have_text("2 di 2 voci scelte")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.locator("[data-approval-count]")).to_have_text("3 di 2 voci scelte")
    page.get_by_role("button", name="Invia la scheda").press("Enter")
    expect(page.locator("[data-error-for='ballot']")).to_contain_text("Hai scelto 3 voci: al massimo 2.")
    page.get_by_label(TITLES[2]).press("Space")
    expect(page.locator("[data-approval-count]")).to_have_text("2 di 2 voci scelte")
    page.get_by_role("button", name="Invia la scheda").press("Enter")
    expect(page.locator("[data-voted-text]")).to_have_text("Hai votato.")
    assert_accessible(page)

    # Dot: typed numbers, the remaining points follow.
    page.goto(f"{base}/{rounds['dot']}")
    connected(page)
    page.get_by_label(TITLES[0]).press_sequentially("3")
    page.get_by_label(TITLES[1]).press_sequentially("2")
    expect(page.locator("[data-dot-left]")).to_have_text("Punti rimasti: 0 di 5")
    page.get_by_label(TITLES[2]).press_sequentially("1")
    expect(page.locator("[data-dot-left]")).to_have_text("Punti rimasti: -1 di 5")
    page.get_by_role("button", name="Invia la scheda").press("Enter")
    expect(page.locator("[data-error-for='ballot']")).to_contain_text("Hai distribuito 6 punti: al massimo 5.")
    page.get_by_label(TITLES[2]).fill("")
    assert_accessible(page)
    shot(page, "vote-dot-phone", full_page=True)
    page.get_by_role("button", name="Invia la scheda").press("Enter")
    expect(page.locator("[data-voted-text]")).to_have_text("Hai votato.")

    # Score (secret): arrow keys move within a criterion's radio group.
    page.goto(f"{base}/{rounds['score']}")
    connected(page)
    expect(page.locator(".vt-notice")).to_contain_text("Voto segreto.")
    assert_accessible(page)
    first = page.locator(f"#voto-{t.bisogni[0]}-0-0")
    first.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    expect(page.locator(f"#voto-{t.bisogni[0]}-0-4")).to_be_checked()
    page.locator(f"#voto-{t.bisogni[1]}-1-0").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator(f"#voto-{t.bisogni[1]}-1-1")).to_be_checked()
    shot(page, "vote-score", full_page=True)
    page.get_by_role("button", name="Invia la scheda").press("Enter")
    expect(page.locator("[data-voted-text]")).to_have_text("Hai votato.")
    expect(page.locator("[data-ballot-form]")).to_have_count(0)  # a secret ballot cannot be changed
    assert_accessible(page)

    with live_app.app_context():
        for method, round_id in rounds.items():
            vote = db.session.get(VoteRound, round_id)
            assert turnout(db.session, vote)["voted"] == 1, method
        approval = db.session.scalar(select(OpenBallot.content).where(OpenBallot.round_id == rounds["approval"]))
        dot = db.session.scalar(select(OpenBallot.content).where(OpenBallot.round_id == rounds["dot"]))
    assert approval == {"approve": [str(t.bisogni[0]), str(t.bisogni[1])]}
    assert dot == {"points": {str(t.bisogni[0]): 3, str(t.bisogni[1]): 2}}
