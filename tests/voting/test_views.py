"""The votazioni pages on SQLite and PostgreSQL: the facilitator's form (and its refusals), opening and
closing, the ballot of every method through a plain form POST (no JavaScript), refusals that store
nothing, a repeated submission counted once, who may vote, the results page (ranking, turnout,
conflicts, tie-break) and the secrecy of a secret round; plus the live state, the seduta hook and
the closing of due rounds."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from tests.voting.support import footprint, make_round
from tests.world import login_client
from workspace.db import db, utcnow
from workspace.tavoli import service as tavoli
from workspace.voting import ballots, rounds
from workspace.voting.models import (
    ConflictDeclaration,
    OpenBallot,
    Participation,
    PooledBallot,
    SecretBallot,
    VoteRound,
)

# ------------------------------------------------------------------------------------------ helpers


def text_of(response) -> str:
    """The page's main content as plain text (tags dropped, entities decoded, spaces collapsed)."""
    html = response.get_data(as_text=True)
    main = html.split('id="contenuto"', 1)[-1].split('id="pie-di-pagina"', 1)[0]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main))).strip()


def errors_of(response) -> str:
    html = response.get_data(as_text=True)
    found = re.findall(r'id="riepilogo-errori".*?</div>', html, re.S) + \
        re.findall(r'class="tavoli-error-text mb-0">(.*?)</p>', html, re.S) + \
        re.findall(r'class="lead tavoli-error-message">(.*?)</p>', html, re.S)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", " ".join(found))))


def counts(app, vw) -> dict[str, int]:
    with app.app_context():
        return footprint(db.session, vw.w.tavolo.id)


def round_form(vw, **overrides) -> dict:
    data = {
        "title": "Priorità del tavolo anziani",
        "description": "Tre priorità per il Piano di Zona.",
        "bisogni": [str(b) for b in vw.bisogni[:3]],
        "method": "dot", "dot_points": "10", "dot_max_per_item": "",
        "approval_k": "",
        "criterion_0": "urgenza", "weight_0": "1", "criterion_1": "impatto", "weight_1": "1",
        "criterion_2": "fattibilità", "weight_2": "1",
        "ballot_unit": "person", "secrecy": "palese", "exclude_observers": "y", "partial": "affluenza",
        "breakdown": "auto", "conflict_excludes": "y", "timing": "asincrona", "seduta_id": "0",
        "opens_at": "", "closes_at": (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def new_round(app, vw, method="dot", open_it=True, **kw) -> int:
    with app.app_context():
        vote = make_round(db.session, vw, method=method, open_it=open_it, **kw)
        return vote.id


def base(vw) -> str:
    return f"/tavoli/{vw.w.tavolo.id}/votazioni"


def get_round(app, round_id) -> VoteRound:
    with app.app_context():
        vote = db.session.get(VoteRound, round_id)
        db.session.expunge(vote)
        return vote


def stored(app, round_id) -> list[dict]:
    with app.app_context():
        return list(db.session.scalars(select(OpenBallot.content).where(OpenBallot.round_id == round_id)))


def participations(app, round_id) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Participation)
                                 .where(Participation.round_id == round_id))


# ------------------------------------------------------------------------------------ the form


def test_facilitator_creates_a_round_through_the_form(app, vw):
    client, token = login_client(app, vw.w.facilitator)
    page = client.get(f"{base(vw)}/nuova")
    assert page.status_code == 200
    text = text_of(page)
    for fragment in ("Nuova votazione", "Solitudine degli anziani", "Punti da distribuire fra le voci",
                     "nel voto segreto una scheda inviata non si può più cambiare", "Escludi gli osservatori",
                     "Solo l'affluenza", "Asincrona, fra una seduta e l'altra"):
        assert fragment in text, fragment
    response = client.post(f"{base(vw)}/nuova", data=round_form(vw, csrf_token=token, dot_max_per_item="4"))
    assert response.status_code == 302, errors_of(response)
    with app.app_context():
        vote = db.session.scalars(select(VoteRound)).one()
        assert response.headers["Location"].endswith(f"{base(vw)}/{vote.id}")
        assert (vote.status, vote.method, vote.settings) == ("draft", "dot", {"points": 10, "max_per_item": 4})
        assert [i.bisogno_id for i in vote.items] == vw.bisogni[:3]
        assert vote.eligibility == {"exclude_observers": True, "include_facilitators": False, "excluded_kinds": []}
        assert (vote.secret, vote.partial_results, vote.breakdown, vote.conflict_excludes) == (False, False, True, True)
        assert vote.seduta_id is None and vote.closes_at is not None


def test_score_round_with_criteria_and_a_live_seduta(app, vw):
    client, token = login_client(app, vw.w.facilitator)
    data = round_form(vw, csrf_token=token, method="score", criterion_2="costo", weight_2="1,5", criterion_3="",
                      weight_3="", secrecy="segreto", timing="seduta", seduta_id=str(vw.w.seduta.id), closes_at="",
                      include_facilitators="y", excluded_kinds=["sindacato"])
    data.pop("exclude_observers")
    response = client.post(f"{base(vw)}/nuova", data=data)
    assert response.status_code == 302, errors_of(response)
    with app.app_context():
        vote = db.session.scalars(select(VoteRound)).one()
        assert vote.settings == {"criteria": ["urgenza", "impatto", "costo"], "weights": ["1", "1", "3/2"]}
        assert (vote.secret, vote.breakdown, vote.seduta_id) == (True, False, vw.w.seduta.id)
        assert vote.eligibility == {"exclude_observers": False, "include_facilitators": True,
                                    "excluded_kinds": ["sindacato"]}


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"title": ""}, "Questo campo è obbligatorio."),
    ({"bisogni": None}, "Scegliere almeno due bisogni"),
    ({"bisogni": ["1"]}, "Le voci in votazione devono essere da 2 a 60."),
    ({"closes_at": ""}, "Una votazione asincrona ha una data e ora di chiusura."),
    ({"closes_at": "domani"}, "Data e ora non valide"),
    ({"secrecy": "segreto", "partial": "parziali"}, "Con il voto segreto i risultati parziali non si mostrano"),
    ({"method": "score", "weight_1": "molto"}, "Il peso è un numero positivo"),
    ({"method": "dot", "dot_points": "0"}, "da 1 a 1000"),
    ({"method": "condorcet"}, "Scegliere una delle opzioni proposte."),
    ({"timing": "seduta", "seduta_id": "0"}, "Scegliere la seduta in cui si vota."),
    ({"opens_at": "2031-01-02T10:00", "closes_at": "2031-01-01T10:00"}, "La votazione deve chiudersi dopo l'apertura."),
])
def test_round_form_refusals_are_422_in_italian_and_store_nothing(app, vw, overrides, fragment):
    client, token = login_client(app, vw.w.facilitator)
    if overrides.get("bisogni") == ["1"]:
        overrides = {**overrides, "bisogni": [str(vw.bisogni[0])]}
    before = counts(app, vw)
    response = client.post(f"{base(vw)}/nuova", data=round_form(vw, csrf_token=token, **overrides))
    assert response.status_code == 422
    assert fragment in errors_of(response), errors_of(response)
    assert counts(app, vw) == before


def test_only_facilitators_prepare_open_and_close(app, vw):
    round_id = new_round(app, vw, open_it=False)
    client, token = login_client(app, vw.w.delegate)
    assert client.get(f"{base(vw)}/nuova").status_code == 403
    response = client.post(f"{base(vw)}/nuova", data=round_form(vw, csrf_token=token))
    assert response.status_code == 403
    assert "Solo i facilitatori del tavolo possono farlo." in errors_of(response)
    assert client.post(f"{base(vw)}/{round_id}/apri", data={"csrf_token": token}).status_code == 403
    outsider, token2 = login_client(app, vw.w.outsider)
    assert outsider.get(base(vw)).status_code == 403
    assert outsider.get(f"{base(vw)}/{round_id}").status_code == 403
    assert get_round(app, round_id).status == "draft"


def test_open_edit_and_close_through_the_pages(app, vw):
    round_id = new_round(app, vw, open_it=False)
    client, token = login_client(app, vw.w.facilitator)
    edit = client.get(f"{base(vw)}/{round_id}/modifica")
    assert edit.status_code == 200 and "Modifica la votazione" in text_of(edit)
    response = client.post(f"{base(vw)}/{round_id}/modifica",
                           data=round_form(vw, csrf_token=token, title="Priorità riviste", method="approval",
                                           approval_k="2"))
    assert response.status_code == 302, errors_of(response)
    assert (get_round(app, round_id).title, get_round(app, round_id).settings) == ("Priorità riviste", {"k": 2})
    response = client.post(f"{base(vw)}/{round_id}/apri", data={"csrf_token": token})
    assert response.status_code == 302
    assert get_round(app, round_id).status == "open"
    again = client.post(f"{base(vw)}/{round_id}/apri", data={"csrf_token": token})
    assert again.status_code == 409 and "La votazione è già aperta." in errors_of(again)
    assert client.get(f"{base(vw)}/{round_id}/modifica").status_code == 409
    listing = text_of(client.get(base(vw)))
    assert "Priorità riviste" in listing and "Aperta" in listing
    response = client.post(f"{base(vw)}/{round_id}/chiudi", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{round_id}/risultati")
    assert get_round(app, round_id).status == "closed"
    missing_csrf = client.post(f"{base(vw)}/{round_id}/chiudi")
    assert missing_csrf.status_code == 400


# ------------------------------------------------------------------------------------ ballots


def _fields(vw, method: str) -> tuple[dict, dict]:
    """Form fields of a valid ballot of ``method`` and the content the service stores."""
    a, b, c, d = (str(x) for x in vw.bisogni)
    if method == "approval":
        return {"approva": [b, d]}, {"approve": [b, d]}
    if method == "dot":
        return {f"punti-{a}": "3", f"punti-{b}": "", f"punti-{c}": "2", f"punti-{d}": "0"}, {"points": {a: 3, c: 2}}
    if method == "score":
        return ({f"voto-{a}-0": "5", f"voto-{a}-1": "4", f"voto-{a}-2": "", f"voto-{c}-2": "1"},
                {"scores": {a: {"urgenza": 5, "impatto": 4}, c: {"fattibilità": 1}}})
    return {f"posizione-{a}": "2", f"posizione-{b}": "", f"posizione-{c}": "1", f"posizione-{d}": "4"}, \
        {"ranking": [c, a, d]}


SETTINGS = {"approval": {"k": 2}, "dot": {"points": 5, "max_per_item": 3}, "score": None, "borda": None,
            "schulze": None}


@pytest.mark.parametrize("method", ["approval", "dot", "score", "borda", "schulze"])
def test_each_method_is_cast_through_the_form(app, vw, method):
    round_id = new_round(app, vw, method=method, settings=SETTINGS[method])
    client, token = login_client(app, vw.w.delegate)
    page = client.get(f"{base(vw)}/{round_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Invia la scheda" in html and "Voto palese." in html
    fields, content = _fields(vw, method)
    response = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token, "op_id": "opform0001",
                                                                 **fields})
    assert response.status_code == 302, errors_of(response)
    assert stored(app, round_id) == [content]
    after = client.get(response.headers["Location"])
    assert "Scheda registrata." in text_of(after)
    assert "Hai votato." in text_of(after)
    assert "Sostituisci la scheda" in after.get_data(as_text=True)  # an open ballot can be changed
    assert "Hanno votato 1 aventi diritto su 3" in text_of(after)


@pytest.mark.parametrize(("method", "fields", "fragment"), [
    ("approval", {"approva": ["A", "B", "C"]}, "al massimo se ne possono approvare 2"),
    ("approval", {"approva": ["999999"]}, "una delle voci scelte non è in votazione"),
    ("dot", {"punti-A": "3", "punti-B": "3"}, "hai distribuito 6 punti, al massimo 5"),
    ("dot", {"punti-A": "4"}, "4 punti a «Solitudine degli anziani», al massimo 3 per voce"),
    ("dot", {"punti-A": "-1"}, "devono essere un numero intero da 0 a 3"),
    ("dot", {"punti-A": "due"}, "devono essere un numero intero da 0 a 3"),
    ("score", {"voto-A-0": "6"}, "il punteggio di «Solitudine degli anziani» per «urgenza» va da 1 a 5"),
    ("borda", {"posizione-A": "1", "posizione-B": "1"}, "la posizione 1 è assegnata a più voci"),
    ("schulze", {"posizione-A": "1", "posizione-C": "2", "posizione-D": "2"}, "la posizione 2 è assegnata a più voci"),
    ("schulze", {"posizione-A": "9"}, "la posizione di «Solitudine degli anziani» va da 1 a 4"),
])
def test_invalid_ballots_are_refused_in_italian_and_store_nothing(app, vw, method, fields, fragment):
    round_id = new_round(app, vw, method=method, settings=SETTINGS[method])
    letters = dict(zip("ABCD", (str(b) for b in vw.bisogni), strict=True))

    def real(value):
        return letters.get(value, value)

    data = {}
    for key, value in fields.items():
        name = re.sub(r"-([ABCD])(?=-|$)", lambda m: "-" + letters[m.group(1)], key)
        data[name] = [real(v) for v in value] if isinstance(value, list) else value
    client, token = login_client(app, vw.w.delegate)
    before = counts(app, vw)
    response = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token, **data})
    assert response.status_code == 422
    assert "Scheda non valida" in errors_of(response) and fragment in errors_of(response), errors_of(response)
    assert "Invia la scheda" in response.get_data(as_text=True)  # the ballot is shown again
    assert counts(app, vw) == before


def test_a_repeated_submission_counts_once(app, vw):
    round_id = new_round(app, vw, method="approval")
    client, token = login_client(app, vw.w.delegate)
    a, b = str(vw.bisogni[0]), str(vw.bisogni[1])
    data = {"csrf_token": token, "op_id": "doppioinvio01", "approva": [a]}
    first = client.post(f"{base(vw)}/{round_id}/scheda", data=data)
    second = client.post(f"{base(vw)}/{round_id}/scheda", data=data)
    assert first.status_code == second.status_code == 302
    assert "l'invio ripetuto non è contato una seconda volta" in text_of(client.get(second.headers["Location"]))
    assert participations(app, round_id) == 1 and stored(app, round_id) == [{"approve": [a]}]
    # A new ballot of the same voter (another op_id) replaces the first one in an open round.
    third = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token, "op_id": "doppioinvio02",
                                                                "approva": [b]})
    assert third.status_code == 302
    assert "Scheda sostituita" in text_of(client.get(third.headers["Location"]))
    assert participations(app, round_id) == 1 and stored(app, round_id) == [{"approve": [b]}]


def test_secret_ballot_cannot_be_replaced(app, vw):
    round_id = new_round(app, vw, method="borda", secret=True)
    client, token = login_client(app, vw.w.delegate)
    page = text_of(client.get(f"{base(vw)}/{round_id}"))
    assert "Voto segreto." in page and "una volta inviata, non si può più cambiare" in page
    a, b = str(vw.bisogni[0]), str(vw.bisogni[1])
    ok = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token, "op_id": "segreto00001",
                                                             f"posizione-{a}": "1"})
    assert ok.status_code == 302
    repeat = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token, "op_id": "segreto00001",
                                                                 f"posizione-{a}": "1"})
    assert repeat.status_code == 302  # the same operation again: acknowledged, not counted twice
    other = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token, "op_id": "segreto00002",
                                                                f"posizione-{b}": "1"})
    assert other.status_code == 409
    assert "Hai già votato: nel voto segreto la scheda non si può sostituire." in errors_of(other)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PooledBallot)) == 1  # until closing
        assert db.session.scalar(select(func.count()).select_from(SecretBallot)) == 0
    after = client.get(f"{base(vw)}/{round_id}")
    assert "Nel voto segreto la scheda non si può cambiare." in text_of(after)
    assert "data-ballot-form" not in after.get_data(as_text=True)


def test_a_round_not_yet_open_shows_no_ballot(app, vw):
    round_id = new_round(app, vw, method="approval", opens_at=utcnow() + timedelta(hours=2),
                         closes_at=utcnow() + timedelta(days=1))
    client, token = login_client(app, vw.w.delegate)
    page = client.get(f"{base(vw)}/{round_id}")
    assert "Apertura prevista:" in text_of(page)
    assert "data-ballot-form" not in page.get_data(as_text=True)
    response = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token,
                                                                   "approva": [str(vw.bisogni[0])]})
    assert response.status_code == 409 and "La votazione apre il" in errors_of(response)


def test_observers_and_outsiders_may_not_vote(app, vw):
    round_id = new_round(app, vw, method="approval")
    client, token = login_client(app, vw.w.observer)
    page = client.get(f"{base(vw)}/{round_id}")
    assert page.status_code == 200
    assert "Non sei fra gli aventi diritto al voto" in text_of(page)
    assert "data-ballot-form" not in page.get_data(as_text=True)
    before = counts(app, vw)
    response = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token,
                                                                   "approva": [str(vw.bisogni[0])]})
    assert response.status_code == 403
    assert "Non sei fra gli aventi diritto al voto in questa votazione." in errors_of(response)
    outsider, token2 = login_client(app, vw.w.outsider)
    response = outsider.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token2,
                                                                     "approva": [str(vw.bisogni[0])]})
    assert response.status_code == 403
    assert counts(app, vw) == before


def test_ballot_after_closing_is_refused(app, vw):
    round_id = new_round(app, vw, method="approval")
    with app.app_context():
        vote = db.session.get(VoteRound, round_id)
        rounds.close_round(db.session, vw.w.facilitator, vote)
        db.session.commit()
    client, token = login_client(app, vw.w.delegate)
    before = counts(app, vw)
    response = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token,
                                                                   "approva": [str(vw.bisogni[0])]})
    assert response.status_code == 409
    assert "La votazione è chiusa dal" in errors_of(response)
    assert counts(app, vw) == before
    assert "Vedi i risultati della votazione" in text_of(client.get(f"{base(vw)}/{round_id}"))


def test_declared_interest_excludes_the_item(app, vw):
    round_id = new_round(app, vw, method="dot")
    client, token = login_client(app, vw.w.delegate)
    a, b = str(vw.bisogni[0]), str(vw.bisogni[1])
    response = client.post(f"{base(vw)}/{round_id}/interesse", data={"csrf_token": token, "bisogno_id": a,
                                                                      "note": "Gestiamo il servizio."})
    assert response.status_code == 302
    page = client.get(f"{base(vw)}/{round_id}")
    assert "Hai dichiarato un interesse su «Solitudine degli anziani»." in text_of(page)
    assert re.search(rf'name="punti-{a}"[^>]*disabled', page.get_data(as_text=True))
    before = counts(app, vw)
    refused = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token, f"punti-{a}": "2"})
    assert refused.status_code == 422
    assert "È stato dichiarato un interesse su «Solitudine degli anziani»" in errors_of(refused)
    assert counts(app, vw) == before
    twice = client.post(f"{base(vw)}/{round_id}/interesse", data={"csrf_token": token, "bisogno_id": a})
    assert twice.status_code == 409 and "Hai già dichiarato un interesse su questa voce." in errors_of(twice)
    ok = client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": token, f"punti-{b}": "2"})
    assert ok.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ConflictDeclaration)) == 1


# ------------------------------------------------------------------------------------ results


def test_results_page_after_closing(app, vw):
    round_id = new_round(app, vw, method="borda")
    a, b, c, d = (str(x) for x in vw.bisogni)
    delegate, token = login_client(app, vw.w.delegate)
    delegate.post(f"{base(vw)}/{round_id}/interesse", data={"csrf_token": token, "bisogno_id": d,
                                                             "note": "Siamo gestori del centro diurno."})
    for user, positions in ((vw.w.delegate, {a: "1", b: "2"}), (vw.w.delegate2, {b: "1", a: "2"})):
        client, tok = login_client(app, user)
        response = client.post(f"{base(vw)}/{round_id}/scheda",
                               data={"csrf_token": tok, **{f"posizione-{k}": v for k, v in positions.items()}})
        assert response.status_code == 302, errors_of(response)
    facilitator, ftoken = login_client(app, vw.w.facilitator)
    while_open = text_of(facilitator.get(f"{base(vw)}/{round_id}/risultati"))
    assert "Hanno votato 2 aventi diritto su 3 (66,7%)" in while_open
    assert "Durante la votazione si vede solo l'affluenza" in while_open
    assert "Graduatoria" not in while_open
    facilitator.post(f"{base(vw)}/{round_id}/chiudi", data={"csrf_token": ftoken})
    page = facilitator.get(f"{base(vw)}/{round_id}/risultati")
    assert page.status_code == 200
    text = text_of(page)
    html = page.get_data(as_text=True)
    assert "Risultati: Priorità del tavolo" in text
    assert "Classifica, conteggio di Borda (versione borda/1)" in text
    assert "Hanno votato 2 aventi diritto su 3 (66,7%)" in text and "Schede contate: 2." in text
    # A tie at the top (3 + 2 points each), then the others: places 1, 1, 3, 3.
    assert re.search(r"1º Solitudine degli anziani \(pari merito\) Punti Borda: 5", text)
    assert re.search(r"1º Trasporto sociale \(pari merito\) Punti Borda: 5", text)
    assert "3º Caregiver familiari (pari merito) Punti Borda: 0" in text
    assert 'class="vt-bar vt-w-100"' in html and 'class="vt-bar vt-w-0"' in html
    assert "<table" in html and "Graduatoria: posizione, voce e punti borda" in text
    assert "Demenze e Alzheimer: Delia Delegata, Associazione Alfa (prova) — Siamo gestori del centro diurno." in text
    assert "Delia Delegata" in text and "1. Solitudine degli anziani › 2. Trasporto sociale" in text
    assert "Enti del Terzo settore 2" in text  # breakdown of an open ballot
    assert "Ci sono voci a pari merito" in text and "Esegui lo spareggio" in text
    response = facilitator.post(f"{base(vw)}/{round_id}/spareggio", data={"csrf_token": ftoken, "seed": "42"})
    assert response.status_code == 302
    after = text_of(facilitator.get(f"{base(vw)}/{round_id}/risultati"))
    assert "Spareggio eseguito il" in after and "da Fabio Facilitatore" in after and "con il seme «42»." in after
    assert "sha256(seed+candidato)" in after
    assert "1º Solitudine" in after or "1º Trasporto" in after
    assert "(pari merito) Punti Borda: 5" not in after
    again = facilitator.post(f"{base(vw)}/{round_id}/spareggio", data={"csrf_token": ftoken, "seed": "43"})
    assert again.status_code == 409 and "già stato fatto" in errors_of(again)
    # Delegates read the results too; they cannot tie-break.
    assert delegate.post(f"{base(vw)}/{round_id}/spareggio", data={"csrf_token": token}).status_code == 403


def test_secret_round_results_show_no_names(app, vw):
    round_id = new_round(app, vw, method="approval", secret=True, breakdown=True)
    a, b = str(vw.bisogni[0]), str(vw.bisogni[1])
    for user, chosen in ((vw.w.delegate, [a]), (vw.w.colleague, [a, b]), (vw.w.delegate2, [b])):
        client, tok = login_client(app, user)
        assert client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": tok, "approva": chosen}
                           ).status_code == 302
    facilitator, ftoken = login_client(app, vw.w.facilitator)
    facilitator.post(f"{base(vw)}/{round_id}/chiudi", data={"csrf_token": ftoken})
    page = facilitator.get(f"{base(vw)}/{round_id}/risultati")
    assert page.status_code == 200
    text = text_of(page)
    for name in ("Delia Delegata", "Carlo Collega", "Dario Delegato", "Associazione Alfa", "Cooperativa Beta"):
        assert name not in text, name
    assert "Schede (voto palese)" not in text
    assert "Segreto" in text and "Hanno votato 3 aventi diritto su 3" in text
    assert "non mostrata (gruppo troppo piccolo)" in text  # 3 ETS ballots < 5
    assert f"/api/v1/votazioni/{round_id}/schede" in page.get_data(as_text=True)
    assert "Scarica le schede anonime (JSON)" in text


def test_public_results_of_a_published_procedure(app, vw):
    round_id = new_round(app, vw, method="approval")
    client, tok = login_client(app, vw.w.delegate)
    client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": tok, "approva": [str(vw.bisogni[0])]})
    anonymous = app.test_client()
    assert anonymous.get(f"{base(vw)}/{round_id}/risultati").status_code == 401
    with app.app_context():
        vote = db.session.get(VoteRound, round_id)
        rounds.close_round(db.session, vw.w.facilitator, vote)
        tavolo = tavoli.get_tavolo(db.session, vw.w.tavolo.id)
        tavolo.procedure.published = True
        db.session.commit()
    page = anonymous.get(f"{base(vw)}/{round_id}/risultati")
    assert page.status_code == 200
    text = text_of(page)
    assert "Associazione Alfa (prova)" in text and "Delia Delegata" not in text


# ------------------------------------------------------------------------------------ live state, hooks


def test_live_state_for_members_only(app, vw):
    round_id = new_round(app, vw, method="dot", settings={"points": 5}, partial_results=True)
    client, tok = login_client(app, vw.w.delegate)
    a = str(vw.bisogni[0])
    client.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": tok, f"punti-{a}": "4"})
    data = client.get(f"{base(vw)}/stato").get_json()
    entry = next(r for r in data["votazioni"] if r["id"] == round_id)
    assert entry["status"] == "open" and entry["turnout"]["voted"] == 1
    assert entry["ranking"][0] == {"place": 1, "bisogno_id": int(a), "title": "Solitudine degli anziani",
                                   "score": 4, "tie": False}
    assert entry["ballot_url"].endswith(f"/votazioni/{round_id}")
    outsider, _tok = login_client(app, vw.w.outsider)
    assert outsider.get(f"{base(vw)}/stato").status_code == 403


def test_closing_the_seduta_closes_its_live_rounds(app, vw):
    with app.app_context():
        session = db.session
        seduta = tavoli.get_seduta(session, vw.w.seduta.id)
        tavoli.start_seduta(session, vw.w.facilitator, seduta)
        session.commit()
        live = make_round(session, vw, method="approval", seduta=seduta)
        draft = make_round(session, vw, method="approval", seduta=seduta, open_it=False)
        other = make_round(session, vw, method="approval")
        ballots.cast_ballot(session, vw.w.delegate, live, {"approve": [str(vw.bisogni[0])]})
        session.commit()
        tavoli.close_seduta(session, vw.w.facilitator, tavoli.get_seduta(session, vw.w.seduta.id))
        session.commit()
        statuses = {v.id: v.status for v in session.scalars(select(VoteRound))}
        assert statuses == {live.id: "closed", draft.id: "draft", other.id: "open"}
        assert session.get(VoteRound, live.id).result["turnout"]["voted"] == 1


def test_due_rounds_close_by_themselves(app, vw):
    from click.testing import CliRunner

    from workspace.voting.cli import votes
    from workspace.voting.live import close_due_once

    first = new_round(app, vw, method="approval")
    second = new_round(app, vw, method="approval")
    with app.app_context():
        for round_id in (first, second):
            db.session.get(VoteRound, round_id).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    with app.app_context():
        db.session.get(VoteRound, second).closes_at = utcnow() + timedelta(days=1)
        db.session.commit()
    assert close_due_once(app) == 1
    assert get_round(app, first).status == "closed" and get_round(app, second).status == "open"
    with app.app_context():
        db.session.get(VoteRound, second).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        result = CliRunner().invoke(votes, ["close-due"])
    assert result.exit_code == 0, result.output
    assert f"Votazioni chiuse: 1 ({second})." in result.output
    assert get_round(app, second).status == "closed"


# ------------------------------------------------------------------------- past the closing time


def overdue_round(app, vw, **kw) -> int:
    """An open round with one ballot, whose closing time passed a minute ago; not closed yet."""
    round_id = new_round(app, vw, method="approval", **kw)
    client, tok = login_client(app, vw.w.delegate)
    assert client.post(f"{base(vw)}/{round_id}/scheda",
                       data={"csrf_token": tok, "approva": [str(vw.bisogni[0])]}).status_code == 302
    with app.app_context():
        db.session.get(VoteRound, round_id).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    return round_id


def stored_state(app, vw, round_id) -> dict:
    """What the database holds of the tavolo's votes: row counts, the tavolo's last seq, the round."""
    with app.app_context():
        vote = db.session.get(VoteRound, round_id)
        return footprint(db.session, vw.w.tavolo.id) | {
            "status": vote.status, "closed_at": vote.closed_at, "result": vote.result, "revision": vote.revision}


def test_reading_a_round_past_its_closing_time_writes_nothing_and_shows_the_count_under_way(app, vw):
    round_id = overdue_round(app, vw, partial_results=True)
    before = stored_state(app, vw, round_id)
    assert before["status"] == "open" and before["revision"] == 1
    delegate, _tok = login_client(app, vw.w.delegate)
    facilitator, _ftok = login_client(app, vw.w.facilitator)
    for client in (delegate, facilitator):
        index = client.get(base(vw))
        assert index.status_code == 200 and "Chiusura in corso" in text_of(index)
        assert f'href="{base(vw)}/{round_id}">Vota' not in index.get_data(as_text=True)
        page = client.get(f"{base(vw)}/{round_id}")
        assert page.status_code == 200
        assert "Chiusura in corso" in text_of(page) and "lo scrutinio è in corso" in text_of(page)
        assert 'id="scheda"' not in page.get_data(as_text=True)  # no ballot to fill in
        results = client.get(f"{base(vw)}/{round_id}/risultati")
        assert results.status_code == 200 and "I risultati saranno disponibili a breve." in text_of(results)
        state = client.get(f"{base(vw)}/stato").get_json()
        assert [r["status"] for r in state["votazioni"] if r["id"] == round_id] == ["open"]
        for path in ("risultati", "schede"):
            api = client.get(f"/api/v1/votazioni/{round_id}/{path}")
            assert api.status_code == 409 and "lo scrutinio è in corso" in api.get_json()["message"]
    assert stored_state(app, vw, round_id) == before


def test_writes_after_the_closing_time_are_refused_and_store_nothing(app, vw):
    round_id = overdue_round(app, vw)
    before = stored_state(app, vw, round_id)
    colleague, tok = login_client(app, vw.w.colleague)
    late = colleague.post(f"{base(vw)}/{round_id}/scheda", data={"csrf_token": tok, "approva": [str(vw.bisogni[1])]})
    assert late.status_code == 409
    assert "La votazione è chiusa dal" in errors_of(late) and "la scheda non è stata registrata" in errors_of(late)
    interest = colleague.post(f"{base(vw)}/{round_id}/interesse",
                              data={"csrf_token": tok, "bisogno_id": str(vw.bisogni[2]), "note": ""})
    assert interest.status_code == 409 and "La votazione è chiusa." in errors_of(interest)
    assert stored_state(app, vw, round_id) == before


def test_the_facilitators_close_closes_an_overdue_round_at_once(app, vw):
    round_id = overdue_round(app, vw)
    seq = stored_state(app, vw, round_id)["seq"]
    facilitator, tok = login_client(app, vw.w.facilitator)
    response = facilitator.post(f"{base(vw)}/{round_id}/chiudi", data={"csrf_token": tok})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/{round_id}/risultati")
    after = stored_state(app, vw, round_id)
    assert after["status"] == "closed" and after["seq"] == seq + 1 and after["result"]["ballots"] == 1
    with app.app_context():
        from workspace import record

        (event,) = record.replay(db.session, vw.w.tavolo.id, seq).events
    assert event["kind"] == "vote.closed" and event["actor_id"] == vw.w.facilitator.id


def test_the_sweep_closes_an_overdue_round_and_then_its_results_are_read(app, vw):
    from workspace.voting.live import close_due_once

    round_id = overdue_round(app, vw)
    seq = stored_state(app, vw, round_id)["seq"]
    delegate, _tok = login_client(app, vw.w.delegate)
    assert delegate.get(f"/api/v1/votazioni/{round_id}/risultati").status_code == 409
    assert close_due_once(app) == 1
    after = stored_state(app, vw, round_id)
    assert after["status"] == "closed" and after["seq"] == seq + 1
    with app.app_context():
        from workspace import record

        (event,) = record.replay(db.session, vw.w.tavolo.id, seq).events
    assert event["kind"] == "vote.closed" and event["actor_id"] is None
    data = delegate.get(f"/api/v1/votazioni/{round_id}/risultati").get_json()
    assert data["final"] is True and data["ballots_counted"] == 1
    page = delegate.get(f"{base(vw)}/{round_id}/risultati")
    assert "Chiusura in corso" not in text_of(page) and "Schede contate: 1." in text_of(page)
