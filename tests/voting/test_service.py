"""The voting service on SQLite and PostgreSQL: drafts and their validation, opening (frozen rules and
electorate), ballots (validation, replacement, secrecy's one-ballot rule, time window), conflicts of
interest, closing with stored results, tie-breaks, partial results and who may read them.

The helpers (``voting_world``, ``make_round``, ``cast``...) are in tests/voting/support.py."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import refused
from tests.voting.support import add_delegates, cast, count, make_round, pts
from tests.world import make_person
from workspace import record
from workspace.db import utcnow
from workspace.needs import service as needs
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli
from workspace.voting import ballots, electorate, methods, payloads, rounds
from workspace.voting.models import (
    OpenBallot,
    Participation,
    PooledBallot,
    SecretBallot,
    VoteRound,
)

# --------------------------------------------------------------------------------------- drafts


def test_create_draft_records_an_event_and_keeps_the_items_in_order(session, vw):
    before = record.last_seq(session, vw.tavolo.id)
    vote, ev = rounds.create_round(session, vw.facilitator, vw.tavolo, "Priorità", "approval",
                                    list(reversed(vw.bisogni)), settings={"k": 2},
                                    closes_at=utcnow() + timedelta(days=2))
    session.commit()
    assert (ev.seq, ev.kind, ev.actor_id) == (before + 1, "vote.created", vw.facilitator.id)
    assert vote.status == "draft" and vote.settings == {"k": 2}
    assert [i.bisogno_id for i in vote.items] == list(reversed(vw.bisogni))
    assert ev.payload["method_version"] == "approval/1" and ev.payload["replaceable"] is True
    assert vote.breakdown is True  # open ballots: breakdown on by default
    secret, _ = rounds.create_round(session, vw.facilitator, vw.tavolo, "Segreta", "borda", vw.bisogni,
                                     secret=True, closes_at=utcnow() + timedelta(days=2))
    assert secret.breakdown is False  # secret ballots: off unless asked


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"title": "  "}, "titolo della votazione è obbligatorio"),
    ({"method": "plurality"}, "Metodo di voto sconosciuto"),
    ({"settings": {"points": 0}}, "Impostazioni del metodo non valide"),
    ({"settings": {"k": 2}}, "Impostazione non prevista per il metodo «dot»: k"),
    ({"secret": True, "partial_results": True}, "risultati parziali non si mostrano"),
    ({"closes_at": None}, "asincrona"),
    ({"bisogni": "1,2"}, "elenco di bisogni"),
    ({"bisogni": [1]}, "da 2 a"),
    ({"bisogni": [999_999, 999_998]}, "bisogni di questo tavolo"),
    ({"ballot_unit": "famiglia"}, "Unità di voto non valida"),
    ({"eligibility": {"excluded_kinds": ["marziani"]}}, "Tipo di organizzazione"),
    ({"eligibility": {"everyone": True}}, "non prevista"),
])
def test_invalid_drafts_are_refused_and_write_nothing(session, vw, changes, fragment):
    kw = {"closes_at": utcnow() + timedelta(days=1), **changes}
    title, method, bisogni = kw.pop("title", "Priorità"), kw.pop("method", "dot"), kw.pop("bisogni", vw.bisogni)
    refused(session, lambda: rounds.create_round(session, vw.facilitator, vw.tavolo, title, method,
                                                       bisogni, **kw), "invalid", 422, fragment)


def test_merged_or_withdrawn_bisogni_cannot_be_put_to_the_vote(session, vw):
    withdrawn = needs.get_bisogno(session, vw.bisogni[0])
    needs.set_status(session, vw.facilitator, withdrawn, "ritirato")
    session.commit()
    refused(session, lambda: make_round(session, vw, open_it=False), "invalid", 422, "ritirato")


def test_only_facilitators_prepare_open_and_close(session, vw):
    for who in (vw.delegate, vw.observer, vw.outsider):
        refused(session, lambda who=who: rounds.create_round(session, who, vw.tavolo, "X", "dot", vw.bisogni,
                                                                   closes_at=utcnow() + timedelta(days=1)),
                "forbidden", 403)
    vote = make_round(session, vw, open_it=False)
    refused(session, lambda: rounds.open_round(session, vw.delegate, vote), "forbidden", 403,
            "Solo i facilitatori")
    rounds.open_round(session, vw.admin, vote)  # administrators act as facilitators
    session.commit()
    refused(session, lambda: rounds.close_round(session, vw.delegate2, vote), "forbidden", 403)


def test_update_changes_a_draft_but_not_an_open_round(session, vw):
    vote = make_round(session, vw, open_it=False)
    ev = rounds.update_round(session, vw.facilitator, vote, {"method": "borda", "settings": {},
                                                              "bisogni": vw.bisogni[:3]})
    session.commit()
    assert ev.kind == "vote.updated" and vote.method == "borda"
    assert [i.bisogno_id for i in session.get(VoteRound, vote.id).items] == vw.bisogni[:3]
    refused(session, lambda: rounds.update_round(session, vw.facilitator, vote, {"colour": "red"}),
            "invalid", 422, "Campo non previsto")
    rounds.open_round(session, vw.facilitator, vote)
    session.commit()
    refused(session, lambda: rounds.update_round(session, vw.facilitator, vote, {"title": "Altro"}),
            "conflict", 409, "non si modificano più")


# --------------------------------------------------------------------------------------- opening


def test_opening_freezes_rules_titles_and_electorate(session, vw):
    vote = make_round(session, vw, open_it=False)
    ev = rounds.open_round(session, vw.facilitator, vote)
    session.commit()
    assert ev.kind == "vote.opened" and vote.status == "open" and vote.opened_at is not None
    assert vote.electorate == {"voters": {f"u:{vw.delegate.id}": "ets", f"u:{vw.colleague.id}": "ets",
                                          f"u:{vw.delegate2.id}": "ets"}}
    assert ev.payload["turnout"] == {"voted": 0, "eligible": 3, "percent": 0.0}
    # A bisogno renamed afterwards keeps the title it was voted under.
    needs.update_bisogno(session, vw.delegate, needs.get_bisogno(session, vw.bisogni[0]), {"title": "Nuovo titolo"})
    session.commit()
    assert vote.items[0].title == "Solitudine degli anziani"
    # Someone given a role after opening is not in the electorate.
    late = make_person(session, "Ultima Arrivata", "late@prova.example.org", vw.ets2)
    membership.set_role(session, vw.admin, vw.tavolo, late, "delegate", vw.ets2)
    session.commit()
    refused(session, lambda: ballots.cast_ballot(session, late, vote, pts(vw, 1)), "forbidden", 403,
            "aventi diritto")
    refused(session, lambda: rounds.open_round(session, vw.facilitator, vote), "conflict", 409, "già aperta")


def test_eligibility_rules(session, vw):
    with_observers = make_round(session, vw, eligibility={"exclude_observers": False})
    assert f"u:{vw.observer.id}" in with_observers.electorate["voters"]
    assert with_observers.electorate["voters"][f"u:{vw.observer.id}"] == "altri"  # a union
    with_facilitators = make_round(session, vw, eligibility={"include_facilitators": True})
    assert with_facilitators.electorate["voters"][f"u:{vw.facilitator.id}"] == "pubblico"  # the UdP
    by_org = make_round(session, vw, ballot_unit="organisation")
    assert by_org.electorate["voters"] == {f"o:{vw.ets.id}": "ets", f"o:{vw.ets2.id}": "ets"}
    nobody = make_round(session, vw, open_it=False, eligibility={"excluded_kinds": ["ets"]})
    refused(session, lambda: rounds.open_round(session, vw.facilitator, nobody), "conflict", 409,
            "nessuno ha diritto di voto")


def test_a_live_round_opens_only_during_its_seduta(session, vw):
    vote = make_round(session, vw, open_it=False, seduta=vw.seduta)
    refused(session, lambda: rounds.open_round(session, vw.facilitator, vote), "conflict", 409,
            "non è in corso")
    tavoli.start_seduta(session, vw.facilitator, vw.seduta)
    session.commit()
    rounds.open_round(session, vw.facilitator, vote)
    session.commit()
    assert vote.status == "open" and vote.closes_at is None


# --------------------------------------------------------------------------------------- ballots


def test_a_valid_ballot_is_stored_normalised_and_counted(session, vw):
    vote = make_round(session, vw)
    receipt = cast(session, vw.delegate, vote, {"points": {str(vw.bisogni[0]): 6, str(vw.bisogni[1]): 0,
                                                            vw.bisogni[2]: 4}})
    assert receipt == {"round_id": vote.id, "voter": "person", "secret": False, "replaced": False,
                       "duplicate": False, "turnout": {"voted": 1, "eligible": 3, "percent": 33.3}}
    ballot = session.scalar(select(OpenBallot))
    assert ballot.content == {"points": {str(vw.bisogni[0]): 6, str(vw.bisogni[2]): 4}}
    assert (ballot.user_id, ballot.organisation_id, ballot.org_group) == (vw.delegate.id, vw.ets.id, "ets")
    participation = session.scalar(select(Participation))
    assert participation.voted_at.second == 0 and participation.voted_at.microsecond == 0


@pytest.mark.parametrize(("method", "settings", "ballot", "fragment"), [
    ("dot", {"points": 10}, lambda b: {"points": {b[0]: 8, b[1]: 5}}, "troppi punti: 13 in totale"),
    ("dot", {"points": 10, "max_per_item": 4}, lambda b: {"points": {b[0]: 5}}, "al massimo 4 per voce"),
    ("dot", {}, lambda b: {"points": {"999999": 1}}, "candidato sconosciuto «999999»"),
    ("dot", {}, lambda b: {"points": {b[0]: -1}}, "punti negativi"),
    ("dot", {}, lambda b: {"points": {b[0]: 1}, "weight": 50}, "«weight» non è ammesso"),
    ("dot", {}, lambda b: {"approve": [b[0]]}, "manca il campo «points»"),
    ("approval", {"k": 1}, lambda b: {"approve": [b[0], b[1]]}, "troppe approvazioni"),
    ("borda", {}, lambda b: {"ranking": [b[0], b[1], b[0]]}, "ripetuto nella classifica"),
    ("schulze", {}, lambda b: {"ranking": [b[0], "x"]}, "candidato sconosciuto «x»"),
    ("score", {"criteria": ["urgenza"]}, lambda b: {"scores": {b[0]: 9}}, "fuori scala"),
    ("score", {}, lambda b: {"scores": {b[0]: {"bellezza": 3}}}, "criterio sconosciuto"),
])
def test_invalid_ballots_are_refused_and_never_partly_stored(session, vw, method, settings, ballot, fragment):
    vote = make_round(session, vw, method=method, settings=settings)
    names = [str(b) for b in vw.bisogni]
    refused(session, lambda: ballots.cast_ballot(session, vw.delegate, vote, ballot(names), op_id="op-invalid-1"),
            "invalid_ballot", 422, "Scheda non valida", fragment)
    assert session.get(VoteRound, vote.id).revision == 0


def test_a_ballot_that_is_not_an_object_is_refused(session, vw):
    vote = make_round(session, vw)
    refused(session, lambda: ballots.cast_ballot(session, vw.delegate, vote, [1, 2]), "invalid_ballot", 422,
            "deve essere un oggetto con il campo «points»")


def test_non_voters_are_refused(session, vw):
    vote = make_round(session, vw)
    refused(session, lambda: ballots.cast_ballot(session, vw.outsider, vote, pts(vw, 1)), "forbidden", 403,
            "Non fai parte di questo tavolo")
    for who in (vw.observer, vw.facilitator, vw.admin):
        refused(session, lambda who=who: ballots.cast_ballot(session, who, vote, pts(vw, 1)), "forbidden", 403,
                "Non sei fra gli aventi diritto")


def test_an_open_ballot_is_replaced_by_the_same_voters_next_one(session, vw):
    vote = make_round(session, vw)
    cast(session, vw.delegate, vote, pts(vw, 10))
    receipt = cast(session, vw.delegate, vote, pts(vw, 0, 3, 7))
    assert receipt["replaced"] is True and receipt["turnout"]["voted"] == 1
    assert count(session, OpenBallot) == 1 and count(session, Participation) == 1
    assert session.scalar(select(OpenBallot.content)) == pts(vw, 0, 3, 7)


def test_an_organisations_ballot_is_replaced_by_any_of_its_delegates(session, vw):
    vote = make_round(session, vw, ballot_unit="organisation")
    assert cast(session, vw.delegate, vote, pts(vw, 10))["voter"] == "organisation"
    cast(session, vw.colleague, vote, pts(vw, 0, 10))
    ballot = session.scalar(select(OpenBallot))
    assert count(session, OpenBallot) == 1
    assert (ballot.voter_key, ballot.user_id, ballot.content) == (f"o:{vw.ets.id}", vw.colleague.id, pts(vw, 0, 10))
    assert electorate.turnout(session, vote) == {"voted": 1, "eligible": 2, "percent": 50.0}


def test_a_secret_ballot_is_never_replaced(session, vw):
    vote = make_round(session, vw, secret=True)
    assert cast(session, vw.delegate, vote, pts(vw, 10))["secret"] is True
    refused(session, lambda: ballots.cast_ballot(session, vw.delegate, vote, pts(vw, 0, 10)), "already_voted",
            409, "Hai già votato", "non si può sostituire")
    by_org = make_round(session, vw, secret=True, ballot_unit="organisation")
    cast(session, vw.delegate, by_org, pts(vw, 10))
    refused(session, lambda: ballots.cast_ballot(session, vw.colleague, by_org, pts(vw, 0, 10)),
            "already_voted", 409, "La tua organizzazione ha già votato")
    # In the pools until their rounds close.
    assert count(session, PooledBallot) == 2 and count(session, SecretBallot) == count(session, OpenBallot) == 0


def test_a_retried_operation_is_applied_once(session, vw):
    vote = make_round(session, vw)
    cast(session, vw.delegate, vote, pts(vw, 10), op_id="op-first-ballot")
    cast(session, vw.delegate, vote, pts(vw, 0, 10), op_id="op-second-ballot")
    late = cast(session, vw.delegate, vote, pts(vw, 10), op_id="op-first-ballot")  # a late retry of the first
    assert late["duplicate"] is True
    assert session.scalar(select(OpenBallot.content)) == pts(vw, 0, 10)
    refused(session, lambda: ballots.cast_ballot(session, vw.delegate2, vote, pts(vw, 1), op_id="op-first-ballot"),
            "conflict", 409, "già usato")
    secret = make_round(session, vw, secret=True)
    cast(session, vw.delegate, secret, pts(vw, 10), op_id="op-secret-ballot")
    assert cast(session, vw.delegate, secret, pts(vw, 10), op_id="op-secret-ballot")["duplicate"] is True
    assert count(session, PooledBallot) == 1


def test_ballots_outside_the_window_are_refused_with_a_clear_message(session, vw):
    later = make_round(session, vw, opens_at=utcnow() + timedelta(hours=2), closes_at=utcnow() + timedelta(days=1))
    refused(session, lambda: ballots.cast_ballot(session, vw.delegate, later, pts(vw, 1)), "vote_not_open", 409,
            "La votazione apre il")
    vote = make_round(session, vw)
    refused(session, lambda: ballots.cast_ballot(session, vw.delegate, vote, pts(vw, 1),
                                                     now=utcnow() + timedelta(days=2)),
            "vote_closed", 409, "La votazione è chiusa dal", "la scheda non è stata registrata")
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    refused(session, lambda: ballots.cast_ballot(session, vw.delegate, vote, pts(vw, 1)), "vote_closed", 409,
            "La votazione è chiusa dal")
    draft = make_round(session, vw, open_it=False)
    refused(session, lambda: ballots.cast_ballot(session, vw.delegate, draft, pts(vw, 1)), "conflict", 409,
            "non è ancora aperta")


def test_rounds_past_their_closing_time_are_closed_by_the_periodic_sweep(session, vw):
    vote = make_round(session, vw)
    cast(session, vw.delegate, vote, pts(vw, 10))
    assert rounds.close_due_rounds(session) == []
    events = rounds.close_due_rounds(session, now=utcnow() + timedelta(days=2))
    session.commit()
    assert [e.kind for e in events] == ["vote.closed"] and events[0].actor_id is None
    assert vote.status == "closed" and vote.result["ballots"] == 1


# --------------------------------------------------------------------------------------- conflicts


def test_a_declared_interest_excludes_the_voter_from_that_item(session, vw):
    vote = make_round(session, vw)
    declaration, ev = rounds.declare_interest(session, vw.delegate, vote, vw.bisogni[1], "Gestiamo il servizio")
    session.commit()
    assert ev.kind == "vote.interest_declared" and ev.payload["organisation"] == vw.ets.name
    refused(session, lambda: ballots.cast_ballot(session, vw.delegate, vote, pts(vw, 2, 3)),
            "conflict_of_interest", 422, "Trasporto sociale")
    cast(session, vw.delegate, vote, pts(vw, 5, 0, 5))
    cast(session, vw.delegate2, vote, pts(vw, 0, 10))
    refused(session, lambda: rounds.declare_interest(session, vw.delegate, vote, vw.bisogni[2]), "conflict", 409,
            "prima del voto")
    refused(session, lambda: rounds.declare_interest(session, vw.colleague, vote, 999_999), "invalid", 422,
            "non è fra quelle in votazione")
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    conflicts = payloads.results(session, vote, vw.delegate2)["conflicts"]
    assert conflicts == [{"bisogno_id": vw.bisogni[1], "person": vw.delegate.name, "organisation": vw.ets.name,
                          "note": "Gestiamo il servizio", "declared_at": declaration.declared_at.isoformat(),
                          "excludes": True}]


def test_an_organisations_declaration_binds_all_its_delegates(session, vw):
    vote = make_round(session, vw, ballot_unit="organisation")
    rounds.declare_interest(session, vw.delegate, vote, vw.bisogni[0])
    session.commit()
    refused(session, lambda: ballots.cast_ballot(session, vw.colleague, vote, pts(vw, 1)),
            "conflict_of_interest", 422)
    refused(session, lambda: rounds.declare_interest(session, vw.delegate, vote, vw.bisogni[0]), "conflict", 409,
            "Hai già dichiarato")


def test_a_declaration_without_exclusion_is_only_recorded(session, vw):
    vote = make_round(session, vw, conflict_excludes=False, method="borda", settings={})
    rounds.declare_interest(session, vw.delegate, vote, vw.bisogni[0])
    session.commit()
    cast(session, vw.delegate, vote, {"ranking": [str(vw.bisogni[0])]})
    assert count(session, OpenBallot) == 1


# --------------------------------------------------------------------------------------- results


def test_closing_stores_the_result_with_method_version_turnout_and_breakdown(session, vw):
    add_delegates(session, vw, "comune", 1, "Comune prova")
    vote = make_round(session, vw)
    comune_person = vw.extra["Comune prova"][0]
    cast(session, vw.delegate, vote, pts(vw, 6, 4))
    cast(session, vw.delegate2, vote, pts(vw, 0, 5, 5))
    cast(session, comune_person, vote, pts(vw, 0, 0, 0, 10))
    ev = rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    b = [str(x) for x in vw.bisogni]
    assert vote.result["method"] == "dot" and vote.result["version"] == methods.VERSIONS["dot"]
    assert vote.result["tally"]["scores"] == {b[0]: 6, b[1]: 9, b[2]: 5, b[3]: 10}
    assert vote.result["tally"]["ranking"] == [[b[3]], [b[1]], [b[0]], [b[2]]]
    assert vote.result["turnout"] == {"voted": 3, "eligible": 4, "percent": 75.0}
    assert vote.result["breakdown"]["pubblico"] == {"ballots": 1, "suppressed": False, "ranking": [[b[3]], b[:3]],
                                                    "scores": {b[0]: 0, b[1]: 0, b[2]: 0, b[3]: 10}}
    assert vote.result["breakdown"]["altri"]["ballots"] == 0
    assert ev.kind == "vote.closed" and ev.payload["ranking"][0] == {
        "place": 1, "bisogno_id": vw.bisogni[3], "title": "Demenze e Alzheimer", "score": 10, "tie": False}
    # Attributed ballots for the minutes, by organisation: Associazione Alfa, Comune prova 0, Cooperativa Beta.
    assert [p["person"] for p in ev.payload["ballots"]] == [vw.delegate.name, comune_person.name, vw.delegate2.name]

    out = payloads.results(session, vote, vw.delegate)
    assert out["final"] is True and out["ballots_counted"] == 3
    assert [r["bisogno_id"] for r in out["ranking"]] == [vw.bisogni[i] for i in (3, 1, 0, 2)]
    assert {b["person"] for b in out["ballots"]} == {vw.delegate.name, vw.delegate2.name, comune_person.name}
    refused(session, lambda: rounds.close_round(session, vw.facilitator, vote), "conflict", 409, "già chiusa")


def test_ties_share_a_place_until_the_facilitator_asks_for_a_tie_break(session, vw):
    vote = make_round(session, vw, method="approval", settings={})
    b = [str(x) for x in vw.bisogni]
    cast(session, vw.delegate, vote, {"approve": [b[0], b[1]]})
    cast(session, vw.delegate2, vote, {"approve": [b[0], b[1], b[2]]})
    refused(session, lambda: rounds.tie_break(session, vw.facilitator, vote, "x"), "conflict", 409,
            "dopo la chiusura")
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    places = [(r["place"], r["tie"]) for r in payloads.results(session, vote, vw.delegate)["ranking"]]
    assert places == [(1, True), (1, True), (3, False), (4, False)]
    refused(session, lambda: rounds.tie_break(session, vw.delegate, vote, "x"), "forbidden", 403)
    ev = rounds.tie_break(session, vw.facilitator, vote, "estrazione-42")
    session.commit()
    expected = methods.break_ties(methods.Result("approval", "approval/1", vote.result["tally"]["ranking"],
                                                 vote.result["tally"]["scores"]), "estrazione-42")
    assert ev.kind == "vote.tie_break" and vote.tie_break["ranking"] == expected.ranking
    assert vote.tie_break["seed"] == "estrazione-42" and vote.tie_break["groups"] == [sorted(b[:2])]
    assert [r["place"] for r in payloads.results(session, vote, vw.delegate)["ranking"]] == [1, 2, 3, 4]
    refused(session, lambda: rounds.tie_break(session, vw.facilitator, vote, "ancora"), "conflict", 409,
            "già stato fatto")


def test_a_tie_break_needs_ties(session, vw):
    vote = make_round(session, vw)
    cast(session, vw.delegate, vote, pts(vw, 4, 3, 2, 1))
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    refused(session, lambda: rounds.tie_break(session, vw.facilitator, vote), "conflict", 409,
            "Non ci sono pari merito")


def test_while_open_only_turnout_unless_partial_results_are_enabled(session, vw):
    hidden = make_round(session, vw)
    shown = make_round(session, vw, partial_results=True)
    for vote in (hidden, shown):
        cast(session, vw.delegate, vote, pts(vw, 10))
    hidden_view = payloads.results(session, hidden, vw.delegate2)
    assert hidden_view["tally"] is None and hidden_view["ranking"] == [] and hidden_view["final"] is False
    assert hidden_view["turnout"]["voted"] == 1 and hidden_view["ballots"] is None
    shown_view = payloads.results(session, shown, vw.delegate2)
    assert shown_view["tally"]["scores"][str(vw.bisogni[0])] == 10 and shown_view["final"] is False
    assert payloads.live_payload(session, hidden).keys() == {"tavolo_id", "round_id", "revision", "status", "turnout"}
    assert "tally" in payloads.live_payload(session, shown)


def test_who_may_read_results(session, vw):
    vote = make_round(session, vw)
    cast(session, vw.delegate, vote, pts(vw, 10))
    rounds.declare_interest(session, vw.delegate2, vote, vw.bisogni[0])
    session.commit()
    refused(session, lambda: payloads.results(session, vote, None), "forbidden", 403)
    rounds.close_round(session, vw.facilitator, vote)
    session.commit()
    refused(session, lambda: payloads.results(session, vote, vw.outsider), "forbidden", 403)
    assert payloads.results(session, vote, vw.observer)["ballots"][0]["person"] == vw.delegate.name
    vw.tavolo.procedure.published = True
    session.commit()
    public = payloads.results(session, vote, None)
    assert public["ballots"][0] | {"content": None} == {**public["ballots"][0], "person": None, "content": None}
    assert public["ballots"][0]["organisation"] == vw.ets.name
    assert public["conflicts"][0]["person"] is None and public["conflicts"][0]["organisation"] == vw.ets2.name


def test_the_snapshot_lists_open_rounds_with_turnout(session, vw):
    vote = make_round(session, vw, partial_results=True)
    cast(session, vw.delegate, vote, pts(vw, 10))
    draft = make_round(session, vw, open_it=False, title="Bozza")
    snap = payloads.votes_snapshot(session, vw.tavolo)["votazioni"]
    assert [(r["id"], r["status"]) for r in snap] == [(vote.id, "open"), (draft.id, "draft")]
    assert snap[0]["turnout"]["voted"] == 1 and snap[0]["tally"]["scores"][str(vw.bisogni[0])] == 10
    assert snap[1]["turnout"] == {"voted": 0, "eligible": 3, "percent": 0.0}


def test_my_status_never_shows_a_secret_ballot(session, vw):
    vote = make_round(session, vw, secret=True)
    assert ballots.my_status(session, vote, vw.delegate)["voted"] is False
    cast(session, vw.delegate, vote, pts(vw, 10))
    mine = ballots.my_status(session, vote, vw.delegate)
    assert mine["voted"] is True and mine["ballot"] is None and mine["eligible"] is True
    assert ballots.my_status(session, vote, vw.observer)["eligible"] is False
    open_vote = make_round(session, vw)
    cast(session, vw.delegate, open_vote, pts(vw, 10))
    assert ballots.my_status(session, open_vote, vw.delegate)["ballot"] == pts(vw, 10)
