"""A live seduta in real browsers: the facilitator's console, a delegate's phone, the big screen.

Each test builds its own tavolo (fresh people with their own e-mail addresses) on the live
server's database through the services, so tests do not depend on one another or on the demo.
Every page opened here is watched like the harness's ``page``: a JS error, a CSP violation or a
failed sub-resource fails the test.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import DESKTOP, PHONE, assert_accessible, connected, shot
from tests.e2e.conftest import login as e2e_login
from tests.world import PASSWORD, make_person
from workspace.accounts.models import Organisation, User
from workspace.db import db, utcnow
from workspace.needs import service as needs_service
from workspace.needs.service import bisogni_of
from workspace.procedures import lifecycle as procedures
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli_service

BIG = {"width": 1600, "height": 900}


@dataclass
class LiveTavolo:
    tavolo_id: int
    seduta_id: int
    facilitator: str
    delegate: str
    delegate2: str
    observer: str
    admin: str
    ets: str


@pytest.fixture
def tavolo(live_app) -> LiveTavolo:
    """A tavolo on macroarea E with an open contribution window, a convened seduta with an agenda,
    a facilitator, two ETS delegates and an observer."""
    tag = uuid.uuid4().hex[:8]
    with live_app.app_context():
        session = db.session

        def org(name, kind):
            o = Organisation(name=f"{name} {tag}", kind=kind, ambito_code="50008")
            session.add(o)
            return o

        udp = org("Ufficio di Piano", "ufficio_di_piano")
        ets = org("Associazione Alfa", "ets")
        ets2 = org("Cooperativa Beta", "ets")
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
                                              "mista", ["Apertura", "Bisogni emersi", "Varie ed eventuali"])
        session.commit()
        result = LiveTavolo(t.id, seduta.id, facilitator.email, delegate.email, delegate2.email, observer.email,
                            admin.email, ets.name)
    return result


def login(page, email: str) -> None:
    e2e_login(page, email, PASSWORD)


def open_console(page, t: LiveTavolo, start: bool = True) -> None:
    login(page, t.facilitator)
    page.goto(f"/tavoli/{t.tavolo_id}/sedute/{t.seduta_id}/console")
    connected(page)
    if start:
        page.get_by_role("button", name="Avvia la seduta").click()
        expect(page.locator("[data-status-badge]")).to_have_text("In corso")


def open_form(page) -> None:
    """One tap on the remote control's «Proponi un bisogno» opens the form and puts the cursor in it."""
    page.get_by_role("button", name="Proponi un bisogno").click()
    expect(page.get_by_label("Titolo")).to_be_focused()


def fill_bisogno(page, title: str) -> None:
    open_form(page)
    page.get_by_label("Titolo").fill(title)
    page.get_by_label("Descrizione").fill("Molti anziani **vivono soli** senza rete familiare.")
    page.get_by_label("Popolazione destinataria").fill("Over 75 soli")
    page.get_by_label("Fonte del dato").fill("Anagrafe comunale")
    page.get_by_label("Dato", exact=True).fill("2.340 persone")
    page.get_by_label("Anno").fill("2024")
    page.locator("label[for='b-consolidato']").click()  # Bootstrap Italia draws the radio on the label
    expect(page.get_by_label("Consolidato")).to_be_checked()


def named(label: str, title: str) -> re.Pattern:
    """A control's accessible name: its visible label, then the (visually hidden) object it acts on."""
    return re.compile(rf"^{re.escape(label)}\W+{re.escape(title)}$")


def bisogno_card(page, title: str):
    return page.locator("[data-bisogni-list] article", has=page.get_by_role("heading", name=title, exact=True))


def test_bisogno_appears_live_and_spotlight_reaches_big_screen(page, open_page, tavolo):
    facilitator = page
    open_console(facilitator, tavolo)

    delegate = open_page(PHONE)
    login(delegate, tavolo.delegate)
    delegate.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
    connected(delegate)
    expect(delegate.locator("[data-seduta-title]")).to_have_text("Seduta n. 1 in corso")
    expect(delegate.locator("[data-current-item]")).to_have_text("Apertura")

    screen = open_page(BIG)
    login(screen, tavolo.observer)
    screen.goto(f"/tavoli/{tavolo.tavolo_id}/schermo")
    connected(screen)
    expect(screen.locator("[data-current-item]")).to_have_text("Apertura")

    # The delegate's presence reaches the console's register by itself.
    row = facilitator.locator("tr", has=facilitator.get_by_role("rowheader", name=re.compile("Delia Delegata")))
    expect(row.locator("[data-presence-cell]")).to_contain_text("Presente dalle")

    # A bisogno raised on the phone appears on the console without a reload.
    title = "Solitudine degli anziani nei quartieri periferici"
    fill_bisogno(delegate, title)
    delegate.get_by_role("button", name="Invia il bisogno").click()
    expect(delegate.locator("[data-status-for='form-bisogno']")).to_have_text("Inviato.")
    expect(delegate.get_by_label("Titolo")).to_have_value("")
    card = bisogno_card(facilitator, title)
    expect(card).to_be_visible()
    expect(card).to_contain_text(tavolo.ets)
    expect(card.locator(".tavoli-bisogno-description strong")).to_have_text("vivono soli")
    expect(facilitator.locator("[data-live-announcer]")).to_contain_text(f"Nuovo bisogno: {title}")

    # An annotation from the phone, too.
    phone_card = bisogno_card(delegate, title)
    phone_card.locator("summary").click()
    phone_card.get_by_label("Tipo").select_option("risorsa")
    phone_card.get_by_label("Testo").fill("Offriamo 10 volontari per le visite a domicilio.")
    phone_card.get_by_role("button", name=re.compile("Invia l'annotazione")).click()
    expect(card.locator(".tavoli-annotation")).to_contain_text("Offriamo 10 volontari")
    expect(card.locator(".tavoli-annotation .tavoli-kind")).to_have_text("Risorsa offerta")

    # The facilitator moves the agenda and spotlights the bisogno: the big screen follows.
    facilitator.get_by_role("button", name=named("Passa a questo punto", "Bisogni emersi")).click()
    expect(screen.locator("[data-current-item]")).to_have_text("Bisogni emersi")
    expect(delegate.locator("[data-current-item]")).to_have_text("Bisogni emersi")
    spotlight = card.get_by_role("button", name=named("Metti sul grande schermo", title))
    spotlight.click()
    expect(spotlight).to_have_attribute("aria-pressed", "true")
    expect(screen.locator("[data-spotlight] h3")).to_have_text(title)
    expect(screen.locator("[data-spotlight]")).to_contain_text("Offriamo 10 volontari")
    expect(screen.locator("[data-live-announcer]")).to_contain_text(f"In evidenza: {title}")
    expect(delegate.locator("[data-spotlight] a")).to_have_text(title)

    # Timer: started on the console, counting down on the big screen.
    facilitator.get_by_label("Minuti").fill("3")
    facilitator.get_by_label("Per che cosa").fill("interventi")
    facilitator.get_by_role("button", name="Avvia il timer").click()
    expect(screen.locator("[data-timer]")).to_have_text(re.compile(r"^0[23]:[0-5]\d$"))
    expect(screen.locator("[data-people]")).to_contain_text("persone presenti")

    # The support button of the other delegate's organisation.
    other = open_page(PHONE)
    login(other, tavolo.delegate2)
    other.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
    connected(other)
    # Three present (the facilitator, two delegates; the screen is not a participant): the console
    # counts its register, the big screen — which does not ask for the register — the quorum's number.
    expect(facilitator.locator("[data-people-count]")).to_have_text("3")
    expect(screen.locator("[data-people]")).to_contain_text("3 persone presenti")
    support = bisogno_card(other, title).get_by_role("button", name=re.compile("Sostieni"))
    support.click()
    expect(support).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".tavoli-supports")).to_contain_text("Cooperativa Beta")

    shot(facilitator, "console", full_page=True)
    shot(delegate, "participant-phone", full_page=True)
    shot(screen, "bigscreen", full_page=True)

    # Every live page passes axe with content in it.
    assert_accessible(facilitator)
    assert_accessible(delegate)
    assert_accessible(screen)

    # Closing the seduta (after a confirmation) reaches every page.
    facilitator.once("dialog", lambda dialog: dialog.accept())
    facilitator.get_by_role("button", name="Chiudi la seduta").click()
    expect(facilitator.locator("[data-status-badge]")).to_have_text("Chiusa")
    expect(screen.locator("[data-seduta-title]")).to_have_text("Nessuna seduta in corso.")
    expect(delegate.locator("[data-seduta-title]")).to_have_text("Nessuna seduta in corso.")
    expect(screen.locator("[data-spotlight]")).to_have_text("Nessun bisogno in evidenza.")
    facilitator.goto(f"/tavoli/{tavolo.tavolo_id}/sedute/{tavolo.seduta_id}/presenze")
    register = facilitator.locator("table.tavoli-register tbody tr")
    for name in ("Fabio Facilitatore", "Delia Delegata", "Dario Delegato"):
        expect(register.filter(has_text=name).first).to_be_visible()
    expect(register.filter(has_text="Delia Delegata").first).to_contain_text("Associazione Alfa")
    expect(register.filter(has_text="Olga Osservatrice")).to_have_count(0)  # the big screen is no one
    assert_accessible(facilitator)


def test_bisogno_with_the_keyboard_alone(page, tavolo):
    page.set_viewport_size(PHONE)
    login(page, tavolo.delegate)
    page.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
    connected(page)
    # No mouse from here on: Tab to the "Proponi un bisogno" button, press it, fill in, press Enter.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == "Proponi un bisogno":
            break
    else:
        pytest.fail("il pulsante «Proponi un bisogno» non si raggiunge con il tasto Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "b-title"
    title = "Trasporto sociale per le visite mediche"
    page.keyboard.type(title)
    page.keyboard.press("Tab")  # macroarea (only E here)
    assert page.evaluate("() => document.activeElement.id") == "b-macroarea"
    page.keyboard.press("Tab")
    page.keyboard.type("Mancano mezzi attrezzati nei Comuni piccoli.")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "b-target"
    page.keyboard.type("Anziani non autosufficienti")
    page.keyboard.press("Enter")  # submits the form
    expect(page.locator("[data-status-for='form-bisogno']")).to_have_text("Inviato.")
    card = bisogno_card(page, title)
    expect(card).to_be_visible()
    expect(card).to_contain_text("Popolazione destinataria: Anziani non autosufficienti")
    assert page.evaluate("() => document.getElementById('b-title').value") == ""
    # After a reload the list comes back (state kept in sessionStorage, then replayed), once.
    page.reload()
    connected(page)
    expect(bisogno_card(page, title)).to_have_count(1)


def test_refusal_is_shown_in_italian_and_text_is_given_back(page, live_app, tavolo):
    """Outside the contribution window, with no seduta in progress, the server refuses: the
    message appears next to the form and what was typed comes back."""
    with live_app.app_context():
        t = tavoli_service.get_tavolo(db.session, tavolo.tavolo_id)
        t.contribution_closes_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    login(page, tavolo.delegate)
    page.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
    connected(page)
    expect(page.locator("[data-seduta-title]")).to_have_text("Nessuna seduta in corso.")
    expect(page.locator("[data-window]")).to_contain_text("La raccolta dei contributi è chiusa dal")
    open_form(page)
    page.get_by_label("Titolo").fill("Un bisogno fuori tempo")
    page.get_by_role("button", name="Invia il bisogno").click()
    error = page.locator("[data-error-for='form-bisogno']")
    expect(error).to_contain_text("Non registrato: La raccolta dei contributi è chiusa dal")
    expect(page.get_by_label("Titolo")).to_have_value("Un bisogno fuori tempo")
    expect(page.locator("[data-outbox-count]")).to_be_hidden()


def test_text_typed_offline_is_sent_once_back_online(page, open_page, console, live_app, tavolo):
    """The network drops: the page says so, keeps the bisogno in its outbox, and sends it once
    the connection is back; the facilitator sees it appear."""
    console.allow("/socket.io/?EIO=4")  # the polling requests that fail while offline
    facilitator = open_page(DESKTOP)
    open_console(facilitator, tavolo, start=False)
    login(page, tavolo.delegate)
    page.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
    connected(page)
    page.context.set_offline(True)
    status = page.locator("[data-live-status]")
    expect(status).to_have_text("Non in linea: i contributi saranno inviati appena possibile", timeout=60_000)
    title = "Scritto mentre la rete era assente"
    open_form(page)
    page.get_by_label("Titolo").fill(title)
    page.get_by_role("button", name="Invia il bisogno").click()
    expect(page.locator("[data-status-for='form-bisogno']")).to_have_text(
        "Salvato sul dispositivo: sarà inviato appena possibile.")
    expect(page.locator("[data-outbox-count]")).to_have_text("1 contributo in attesa di invio")
    expect(page.get_by_label("Titolo")).to_have_value("")
    page.context.set_offline(False)
    expect(status).to_have_text("Connesso", timeout=30_000)
    expect(bisogno_card(facilitator, title)).to_be_visible(timeout=20_000)
    expect(page.locator("[data-outbox-count]")).to_be_hidden()
    expect(bisogno_card(page, title)).to_have_count(1)
    with live_app.app_context():
        titles = [b.title for b in bisogni_of(db.session, tavolo.tavolo_id)]
    assert titles.count(title) == 1


def test_the_page_connects_by_websocket_first(page, tavolo):
    """One WebSocket, no long-polling handshake before it: a seduta starting is hundreds of people
    connecting at once, and each long-polling handshake costs the server a request, a POST and an
    upgrade more."""
    polling, sockets = [], []
    page.on("request", lambda r: polling.append(r.url) if "transport=polling" in r.url else None)
    page.on("websocket", lambda ws: sockets.append(ws.url))
    login(page, tavolo.delegate)
    page.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
    connected(page)
    assert [url for url in sockets if "transport=websocket" in url]
    assert polling == []


def test_the_page_falls_back_to_long_polling_where_websocket_is_blocked(page, console, tavolo):
    """A proxy that lets no WebSocket through (some administrations' networks): the page connects
    by long-polling and stays live."""
    console.allow("/blocked/?EIO=4")  # the refused WebSocket attempts
    polling = []
    page.on("request", lambda r: polling.append(r.url) if "transport=polling" in r.url else None)
    # As a proxy that refuses upgrades: every WebSocket goes to an address that answers 404.
    page.add_init_script("""(() => {
      const Real = window.WebSocket;
      window.WebSocket = function (url, protocols) { return new Real(url.replace('/socket.io/', '/blocked/'), protocols); };
      Object.assign(window.WebSocket, Real);
      window.WebSocket.prototype = Real.prototype;
    })();""")
    login(page, tavolo.delegate)
    page.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
    connected(page)
    assert polling
    # Live over long-polling: a bisogno proposed here is acknowledged and shown.
    title = "Proposto senza WebSocket"
    open_form(page)
    page.get_by_label("Titolo").fill(title)
    page.get_by_label("Descrizione").fill("Inviato con il long-polling.")
    page.get_by_role("button", name="Invia il bisogno").click()
    expect(bisogno_card(page, title)).to_be_visible(timeout=20_000)


def test_a_missed_event_is_fetched_again(page, live_app, remote, tavolo):
    """A gap in the sequence numbers makes the client ask for a resync: the event it missed is
    replayed and the list is complete again, in order, without duplicates."""
    with live_app.app_context():
        t = tavoli_service.get_tavolo(db.session, tavolo.tavolo_id)
        delegate = db.session.scalar(select(User).where(User.email == tavolo.delegate))
        needs_service.create_bisogno(db.session, delegate, t, {"title": "Primo bisogno", "macroarea": "E"})
        db.session.commit()
    login(page, tavolo.delegate)
    page.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
    connected(page)
    expect(bisogno_card(page, "Primo bisogno")).to_have_count(1)
    # Forget the last event, as if its message had been lost on the way.
    page.evaluate("""() => {
        const live = window.TavoliLive.instances[0];
        const id = Math.max(...Object.keys(live.state.bisogni).map(Number));
        delete live.state.bisogni[id];
        live.lastSeq -= 1;
        document.querySelector('[data-bisogno-id="' + id + '"]').remove();
    }""")
    expect(bisogno_card(page, "Primo bisogno")).to_have_count(0)
    # The next one comes from the same person's other device, through the server: its event is live.
    remote(tavolo.delegate).op(tavolo.tavolo_id, "bisogno.create", title="Secondo bisogno", macroarea="E")
    expect(bisogno_card(page, "Secondo bisogno")).to_have_count(1)
    expect(bisogno_card(page, "Primo bisogno")).to_have_count(1)
    titles = page.locator("[data-bisogni-list] article h3").all_inner_texts()
    assert titles == ["Secondo bisogno", "Primo bisogno"]


def test_outbox_sends_an_operation_exactly_once(page, live_app, tavolo):
    """A write left in the outbox (typed offline, or whose acknowledgement was lost) is sent when
    the page connects, and sending it again does not record it twice."""
    with live_app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == tavolo.delegate))
    login(page, tavolo.delegate)
    page.goto(f"/tavoli/{tavolo.tavolo_id}")
    key = f"tavoli.outbox.{user_id}.{tavolo.tavolo_id}"
    entry = {
        "op_id": "offline" + uuid.uuid4().hex[:16], "name": "bisogno.create", "target": "form-bisogno",
        "restore": None, "at": 0,
        "data": {"title": "Scritto senza rete", "macroarea": "E", "op_id": None, "tavolo_id": tavolo.tavolo_id},
    }
    entry["data"]["op_id"] = entry["op_id"]
    for _attempt in range(2):
        page.evaluate("([k, e]) => localStorage.setItem(k, JSON.stringify([e]))", [key, entry])
        page.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
        connected(page)
        expect(bisogno_card(page, "Scritto senza rete")).to_have_count(1)
        page.wait_for_function("(k) => localStorage.getItem(k) === null", arg=key)
    with live_app.app_context():
        titles = [b.title for b in bisogni_of(db.session, tavolo.tavolo_id)]
    assert titles.count("Scritto senza rete") == 1


def _person(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_role_changes_reach_the_open_pages(page, open_page, console, live_app, remote, tavolo):
    """The Ufficio di Piano changes a role while the person is on the tavolo's page: they are told
    and reload into what the new role allows; a person whose role is removed is refused at once."""
    console.allow("/socket.io/?EIO=4")  # the connection dropped on purpose when the role is removed
    login(page, tavolo.delegate)
    page.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
    connected(page)
    expect(page.get_by_role("button", name="Proponi un bisogno")).to_be_visible()
    other = open_page(PHONE)
    login(other, tavolo.delegate2)
    other.goto(f"/tavoli/{tavolo.tavolo_id}/partecipa")
    connected(other)

    with live_app.app_context():
        delegate_id, delegate2_id = _person(tavolo.delegate).id, _person(tavolo.delegate2).id
    # The Ufficio di Piano's members page, through the server: what it changes reaches the open pages.
    admin = remote(tavolo.admin)
    members = f"/tavoli/{tavolo.tavolo_id}/membri"
    admin.post(f"{members}/ruoli", {"ruolo-user_id": delegate_id, "ruolo-role": "observer"}, form_page=members)
    notice = page.locator("[data-live-errors]")
    expect(notice).to_contain_text("Il tuo ruolo a questo tavolo è cambiato: ora sei «Osservatore».")
    assert_accessible(page)
    expect(other.locator("[data-live-errors]")).to_be_empty()  # someone else's role: no notice
    page.get_by_role("button", name="Ricarica la pagina").click()
    expect(page.locator(".tavoli-participant .tavoli-role")).to_have_text("Osservatore")
    expect(page.get_by_role("button", name="Proponi un bisogno")).to_have_count(0)
    expect(page.locator("#proponi")).to_have_count(0)

    admin.post(f"{members}/ruoli/{delegate2_id}/rimuovi", {}, form_page=members)
    expect(other.locator("[data-live-errors]")).to_contain_text("Non fai più parte di questo tavolo")
    expect(other.locator("h1")).to_have_text("Accesso non consentito", timeout=15_000)
    expect(other.locator("main")).to_contain_text("Non fai parte di questo tavolo.")


def test_pages_accessible_before_the_seduta(page, tavolo):
    login(page, tavolo.facilitator)
    for path in (f"/tavoli/{tavolo.tavolo_id}/sedute/{tavolo.seduta_id}/console",
                 f"/tavoli/{tavolo.tavolo_id}/partecipa", f"/tavoli/{tavolo.tavolo_id}/schermo"):
        page.goto(path)
        connected(page)
        assert_accessible(page)
    for path in ("/tavoli", f"/tavoli/{tavolo.tavolo_id}",
                 f"/tavoli/{tavolo.tavolo_id}/sedute/{tavolo.seduta_id}/presenze"):
        page.goto(path)
        assert_accessible(page)


def test_ufficio_di_piano_sets_up_a_tavolo(page, tavolo):
    """Procedure, tavolo, members and roles, a convened seduta: through the administration pages,
    with Italian messages for what is refused and nothing written until the form is right."""
    login(page, tavolo.admin)
    page.goto("/tavoli/amministrazione")
    assert_accessible(page)
    page.get_by_label("Titolo della procedura").fill("Co-programmazione area minori")
    page.get_by_label("Oggetto").fill("Bisogni e risorse per minori e famiglie.")
    page.get_by_role("button", name="Crea la procedura").click()
    expect(page.get_by_role("heading", name="Istituisci un tavolo", level=1)).to_be_visible()

    page.get_by_label("Titolo del tavolo").fill("Tavolo minori e famiglie")
    page.locator("label", has_text="Famiglia").first.click()
    page.get_by_label("Apertura della raccolta dei contributi").fill("2026-03-10T09:00")
    page.get_by_label("Chiusura della raccolta dei contributi").fill("2026-03-01T18:00")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.get_by_role("button", name="Istituisci il tavolo").click()
    assert refused.value.status == 422
    expect(page.locator("#riepilogo-errori")).to_contain_text(
        "La finestra dei contributi deve chiudersi dopo l'apertura.")
    assert_accessible(page)
    page.get_by_label("Chiusura della raccolta dei contributi").fill("2026-04-30T18:00")
    page.get_by_role("button", name="Istituisci il tavolo").click()
    expect(page.get_by_role("heading", name="Membri e ruoli", level=1)).to_be_visible()

    page.get_by_role("combobox", name=re.compile(r"^Organizzazione\W*$")).select_option(label=tavolo.ets)
    page.get_by_role("button", name="Aggiungi al tavolo").click()
    expect(page.locator("main")).to_contain_text(f"{tavolo.ets} è membro del tavolo.")
    page.get_by_role("combobox", name=re.compile("^Persona")).select_option(label=f"Delia Delegata <{tavolo.delegate}>")
    page.get_by_role("combobox", name=re.compile("^Ruolo")).select_option("delegate")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.get_by_role("button", name="Assegna il ruolo").click()
    assert refused.value.status == 422
    expect(page.locator("#riepilogo-errori")).to_contain_text("Un delegato rappresenta un'organizzazione")
    page.get_by_role("combobox", name=re.compile("^Organizzazione rappresentata")).select_option(label=tavolo.ets)
    page.get_by_role("button", name="Assegna il ruolo").click()
    expect(page.locator("main")).to_contain_text("Delia Delegata: ruolo «Delegato» assegnato.")
    assert_accessible(page)

    tavolo_url = page.url.rsplit("/membri", 1)[0]
    page.goto(tavolo_url + "/sedute/nuova")
    page.get_by_label("Data e ora di inizio").fill("2026-03-12T17:30")
    page.get_by_label("Luogo o collegamento").fill("Sala Giunta, via Roma 1")
    page.get_by_role("combobox", name=re.compile("^Modalità")).select_option("mista")
    page.get_by_label("Ordine del giorno (un punto per riga)").fill("Apertura\nBisogni emersi\nVarie")
    page.get_by_role("button", name="Convoca la seduta").click()
    expect(page.locator("main")).to_contain_text("Seduta n. 1 convocata.")
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("12/03/2026 17:30")
    expect(row).to_contain_text("Sala Giunta, via Roma 1")
    expect(row).to_contain_text("Convocata")
    assert_accessible(page)
