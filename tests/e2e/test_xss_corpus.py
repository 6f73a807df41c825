"""XSS in a real browser (issue 12): a corpus of 109 hostile payloads (tests/hardening/xss_payloads.py)
is written as bisogni (titles and descriptions), annotations, verbale section text and remarks
through the services, then every page that shows them is opened in Chromium: the bisogni list, each
bisogno, its history, the novità, the console, the phone view and the big screen of a live seduta,
the verbale page, its history, the public verbale and the verbale exported as HTML.

Zero script executions — no dialog (every payload calls ``alert``), no console error, no CSP
violation (the page watcher of tests/e2e/conftest.py fails the test on both) — and the text is still
readable: each payload's marker ``Pnnn`` is in the page's visible text."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.e2e.conftest import PHONE
from tests.e2e.conftest import login as e2e_login
from tests.hardening.xss_payloads import PAYLOADS
from tests.minutes.support import publish
from tests.world import PASSWORD, make_person
from workspace.accounts.models import Organisation
from workspace.db import db, utcnow
from workspace.minutes import review, service
from workspace.minutes.generation import section_keys
from workspace.needs import service as needs_service
from workspace.procedures import lifecycle as procedures
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli_service

BISOGNI = 22  # each: one payload as title, five in its description, five annotations
counts = {"pages": 0, "payload_renderings": 0}


def chunks(items: list, n: int) -> list[list]:
    size = -(-len(items) // n)
    return [items[i:i + size] for i in range(0, len(items), size)]


def marker(payload: str) -> str:
    return payload[:4]


@pytest.fixture
def hostile(live_app) -> dict:
    tag = uuid.uuid4().hex[:8]
    with live_app.app_context():
        s = db.session
        udp = Organisation(name=f"Ufficio di Piano {tag}", kind="ufficio_di_piano", ambito_code="50008")
        ets = Organisation(name=f"Associazione {tag}", kind="ets", ambito_code="50008")
        s.add_all([udp, ets])
        s.flush()
        facilitator = make_person(s, "Fabio Facilitatore", f"xss-fac-{tag}@e2e.example.org", udp)
        delegate = make_person(s, "Delia Delegata", f"xss-del-{tag}@e2e.example.org", ets)
        admin = make_person(s, "Anna Amministratrice", f"xss-adm-{tag}@e2e.example.org", udp, admin=True)
        procedure = procedures.create_procedure(s, admin, "50008", f"Procedura XSS {tag}", rup=admin)
        now = utcnow()
        tavolo = membership.create_tavolo(s, admin, procedure, f"Tavolo XSS {tag}", ["E"],
                                          opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10))
        membership.set_role(s, admin, tavolo, facilitator, "facilitator")
        membership.set_role(s, admin, tavolo, delegate, "delegate", ets)
        first = tavoli_service.create_seduta(s, facilitator, tavolo, now - timedelta(hours=2), "Sala", "mista",
                                             ["Apertura", "Bisogni emersi", "Varie"])
        tavoli_service.start_seduta(s, facilitator, first)
        tavoli_service.mark_presence(s, facilitator, first, delegate.id, True, "presenza")
        s.commit()

        descriptions = chunks(PAYLOADS, BISOGNI)
        notes = chunks(list(reversed(PAYLOADS)), BISOGNI)
        bisogni = []
        for i in range(BISOGNI):
            bisogno, _ev = needs_service.create_bisogno(s, delegate, tavolo, {
                "title": PAYLOADS[i * 5 % len(PAYLOADS)], "macroarea": "E",
                "description": "\n\n".join(descriptions[i]), "evidence_source": PAYLOADS[(i * 7) % len(PAYLOADS)]})
            for note in notes[i]:
                needs_service.add_annotation(s, delegate, bisogno, "dato", note)
            bisogni.append({"id": bisogno.id, "title": bisogno.title, "description": descriptions[i],
                            "notes": notes[i]})
        s.commit()
        tavoli_service.close_seduta(s, facilitator, first)
        s.commit()

        verbale = service.verbale_of(s, first.id)
        keys = section_keys(verbale.generated)
        sections = dict(zip(keys, chunks(PAYLOADS, len(keys)), strict=False))
        for key, texts in sections.items():
            service.save_section(s, facilitator, verbale, key, "\n\n".join(texts),
                                 service.section_version(s, verbale, key))
            s.commit()
        review.send_for_review(s, facilitator, verbale, 7)
        s.commit()
        remarks = chunks(PAYLOADS, 10)
        for texts in remarks:
            remark = review.file_remark(s, delegate, service.verbale_of(s, first.id), None, "\n\n".join(texts))
            review.decide_remark(s, facilitator, service.verbale_of(s, first.id), remark, True, texts[0])
        s.commit()
        service.approve(s, facilitator, service.verbale_of(s, first.id))
        s.commit()
        publish(s, procedure.id, admin.id)

        second = tavoli_service.create_seduta(s, facilitator, tavolo, utcnow(), "Sala", "mista", ["Unico punto"])
        tavoli_service.start_seduta(s, facilitator, second)
        needs_service.spotlight(s, facilitator, second, bisogni[0]["id"])
        s.commit()
        return {"tavolo": tavolo.id, "procedure": procedure.id, "first": first.id, "second": second.id,
                "verbale": verbale.id, "bisogni": bisogni, "sections": sections, "remarks": remarks,
                "facilitator": facilitator.email, "delegate": delegate.email}


def test_no_payload_runs_and_every_one_stays_readable(open_page, hostile, live_server):
    dialogs: list[str] = []
    missing: dict[str, list[str]] = {}

    def watch(page):
        page.on("dialog", lambda dialog: (dialogs.append(f"{page.url}: {dialog.message}"), dialog.dismiss()))
        return page

    def visit(page, url: str, expected: list[str], *, live: bool = False) -> None:
        page.goto(url)
        page.wait_for_load_state("networkidle" if live else "load")
        if live:
            page.wait_for_timeout(300)  # the live client renders the snapshot
        text = page.locator("body").inner_text()
        absent = [m for m in dict.fromkeys(marker(p) for p in expected) if m not in text]
        if absent:
            missing[url] = absent
        counts["pages"] += 1
        counts["payload_renderings"] += len(expected)

    t, h = hostile["tavolo"], hostile
    all_titles = [b["title"] for b in h["bisogni"]]

    facilitator = watch(open_page())
    e2e_login(facilitator, h["facilitator"], PASSWORD)
    visit(facilitator, f"/tavoli/{t}/bisogni", all_titles)
    for b in h["bisogni"]:
        visit(facilitator, f"/tavoli/{t}/bisogni/{b['id']}", [b["title"], *b["description"], *b["notes"]])
    for b in h["bisogni"][:3]:
        visit(facilitator, f"/tavoli/{t}/bisogni/{b['id']}/storia", [b["title"], *b["description"]])
    visit(facilitator, f"/tavoli/{t}/novita", all_titles[:1])
    spot = h["bisogni"][0]
    visit(facilitator, f"/tavoli/{t}/sedute/{h['second']}/console", [spot["title"]], live=True)
    visit(facilitator, f"/tavoli/{t}/schermo", [spot["title"], *spot["description"]], live=True)
    sections = [p for texts in h["sections"].values() for p in texts]
    remarks = [p for texts in h["remarks"] for p in texts]
    visit(facilitator, f"/tavoli/{t}/verbali/{h['verbale']}", [*sections, *remarks])
    visit(facilitator, f"/tavoli/{t}/verbali/{h['verbale']}/storia", sections[:1])

    # The verbale exported as HTML, opened as a file would be: without the site's CSP to help.
    export = facilitator.request.get(f"{live_server}/tavoli/{t}/verbali/{h['verbale']}/documento.html")
    assert export.ok, export.status
    blank = watch(open_page())
    blank.set_content(export.text())
    text = blank.locator("body").inner_text()
    absent = [marker(p) for p in sections if marker(p) not in text]
    if absent:
        missing["documento.html"] = absent
    counts["pages"] += 1
    counts["payload_renderings"] += len(sections)

    phone = watch(open_page(PHONE))
    e2e_login(phone, h["delegate"], PASSWORD)
    visit(phone, f"/tavoli/{t}/partecipa", [spot["title"]], live=True)
    visit(phone, f"/tavoli/{t}/bisogni/{spot['id']}", [spot["title"], *spot["description"], *spot["notes"]])

    public = watch(open_page())
    visit(public, f"/procedure/{h['procedure']}/verbali/{h['verbale']}", sections)
    visit(public, f"/procedure/{h['procedure']}", [])

    assert dialogs == [], dialogs
    assert missing == {}, missing
    assert len(PAYLOADS) >= 100
    print(f"\nXSS: {len(PAYLOADS)} payload, {counts['pages']} pagine, {counts['payload_renderings']} rese")
