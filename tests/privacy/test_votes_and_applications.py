"""The personal data that voting and procedures keep reach the export and the pseudonymisation
through the privacy signals: the person's ballots, participations, declarations of interest and
the applications that name them; never anything of a secret round beyond "took part", never
somebody else's data (a namesake's application included)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.world import add_bisogno, login_client
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.privacy import service as privacy
from workspace.procedures.models import Application, ApplicationRevision
from workspace.voting.models import (
    ConflictDeclaration,
    OpenBallot,
    Participation,
    SecretBallot,
    VoteRound,
    VoteRoundItem,
)

NAME, EMAIL = "Delia Delegata", "del@prova.example.org"


def _round(s, world, title: str, *, secret: bool, description: str = "") -> VoteRound:
    now = utcnow()
    vote = VoteRound(tavolo_id=world.tavolo.id, title=title, description=description, method="approval",
                     settings={}, secret=secret, breakdown=not secret, status="closed",
                     opened_at=now - timedelta(hours=2), closed_at=now - timedelta(hours=1),
                     created_by_id=world.facilitator.id)
    s.add(vote)
    s.flush()
    return vote


def _application(s, world, *, org, delegate: tuple[str, str], legal_rep: str, cf: str) -> Application:
    fields = dict(
        codice_fiscale=cf, organisation_name=org.name if org else "Fondazione Omonima (prova)",
        organisation_kind="ets", organisation_email=f"pec-{cf}@prova.example.org",
        legal_rep_name=legal_rep, legal_rep_role="Presidente", delegate_name=delegate[0],
        delegate_email=delegate[1], coi_details=f"Nessun conflitto; referente {delegate[0]} ({delegate[1]}).",
    )
    application = Application(procedure_id=world.tavolo.procedure_id, status="admitted",
                              organisation_id=org.id if org else None, declarations=[], **fields)
    s.add(application)
    s.flush()
    s.add(ApplicationRevision(application_id=application.id, number=1, data=dict(fields)))
    s.flush()
    return application


@pytest.fixture
def votes_and_applications(in_app, world) -> dict:
    """Delia votes in an open and in a secret round, declares an interest and is the delegate named
    in her ETS's application; Dario votes too and mentions her; a namesake signs another application."""
    with in_app() as s:
        delia, dario = s.get(User, world.delegate.id), s.get(User, world.delegate2.id)
        bisogno = add_bisogno(s, world, dario, title="Povertà educativa nei quartieri")
        open_round = _round(s, world, "Priorità del tavolo", secret=False,
                            description=f"Proposta da {NAME} nella seduta di marzo.")
        secret_round = _round(s, world, "Priorità (voto segreto)", secret=True)
        for vote in (open_round, secret_round):
            s.add(VoteRoundItem(round_id=vote.id, bisogno_id=bisogno.id, position=1, title=bisogno.title))
        voted_at = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1, minutes=30)
        for who, org in ((delia, world.ets), (dario, world.ets2)):
            key = f"u:{who.id}"
            s.add(OpenBallot(round_id=open_round.id, voter_key=key, user_id=who.id, organisation_id=org.id,
                             org_group="ets", content={"approve": [bisogno.id]}))
            for vote in (open_round, secret_round):
                s.add(Participation(round_id=vote.id, voter_key=key, user_id=who.id, organisation_id=org.id,
                                    voted_at=voted_at))
            s.add(SecretBallot(round_id=secret_round.id, content={"approve": [bisogno.id]}))
        s.add(ConflictDeclaration(round_id=open_round.id, bisogno_id=bisogno.id, user_id=delia.id,
                                  organisation_id=world.ets.id, voter_key=f"u:{delia.id}",
                                  note="Sono nel direttivo di un ente che gestisce il servizio."))
        s.add(ConflictDeclaration(round_id=open_round.id, bisogno_id=bisogno.id, user_id=dario.id,
                                  organisation_id=world.ets2.id, voter_key=f"u:{dario.id}",
                                  note=f"Collaboro con l'ente di {NAME} ({EMAIL})."))
        mine = _application(s, world, org=world.ets, delegate=(NAME, EMAIL), legal_rep="Lucia Legale",
                            cf="96000001010")
        namesake = _application(s, world, org=None, delegate=("Nino Nessuno", "nino@prova.example.org"),
                                legal_rep=NAME, cf="96000003012")
        s.commit()
        return {"open": open_round.id, "secret": secret_round.id, "mine": mine.id, "namesake": namesake.id,
                "bisogno": bisogno.id}


def test_export_holds_the_persons_votes_and_applications(app, world, votes_and_applications):
    ids = votes_and_applications
    client, _token = login_client(app, world.delegate)
    response = client.get("/privacy/dati")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    data = json.loads(body)

    # The open ballot, as cast: Delia's only.
    assert [(b["round_id"], b["for"], b["content"]) for b in data["vote_ballots"]] == [
        (ids["open"], "person", {"approve": [ids["bisogno"]]})]
    assert data["vote_ballots"][0]["organisation"]["name"] == "Associazione Alfa (prova)"
    assert data["vote_ballots"][0]["tavolo"] == "Tavolo anziani e fragilità"

    # Both rounds she took part in; of the secret one, nothing but that.
    by_round = {p["round_id"]: p for p in data["vote_participations"]}
    assert set(by_round) == {ids["open"], ids["secret"]}
    assert by_round[ids["open"]]["took_part"] is True and by_round[ids["open"]]["voted_at"]
    assert by_round[ids["secret"]] == {"round_id": ids["secret"], "round": "Priorità (voto segreto)",
                                       "tavolo_id": world.tavolo.id, "tavolo": "Tavolo anziani e fragilità",
                                       "secret": True, "took_part": True}

    assert [(c["round_id"], c["note"]) for c in data["vote_conflicts"]] == [
        (ids["open"], "Sono nel direttivo di un ente che gestisce il servizio.")]

    # The application of her ETS names her as delegate; the namesake's is not hers.
    assert [a["id"] for a in data["applications"]] == [ids["mine"]]
    mine = data["applications"][0]
    assert mine["named_as"] == ["delegate"] and mine["delegate"] == {"name": NAME, "email": EMAIL}
    assert mine["organisation"] == "Associazione Alfa (prova)" and mine["status"] == "admitted"
    assert "legal_representative" not in mine

    # Nobody else: not Dario's ballot or note, not the legal representative, not the namesake's application.
    for other in ("Lucia Legale", "Collaboro con", "Nino Nessuno", "Fondazione Omonima", "del2@prova.example.org"):
        assert other not in body, other


def test_pseudonymisation_reaches_votes_and_applications(in_app, world, votes_and_applications):
    ids = votes_and_applications
    uid = world.delegate.id
    pseudonym, placeholder = f"Persona eliminata #{uid}", f"persona-eliminata-{uid}@eliminata.invalid"
    with in_app() as s:
        ballots_before = s.scalar(select(func.count()).select_from(SecretBallot))
        report = privacy.delete_account(s, s.get(User, uid), EMAIL)
        s.commit()
    assert report.details["workspace.voting.privacy"] == 2  # the round's description, Dario's note
    assert report.details["workspace.procedures.privacy"] == 2  # her application and its revision

    with in_app() as s:
        # The vote's record stays whole and attributed as before.
        ballot = s.scalar(select(OpenBallot).where(OpenBallot.round_id == ids["open"], OpenBallot.user_id == uid))
        assert ballot is not None and ballot.content == {"approve": [ids["bisogno"]]}
        assert s.scalar(select(func.count()).select_from(Participation).where(Participation.user_id == uid)) == 2
        assert s.scalar(select(func.count()).select_from(SecretBallot)) == ballots_before
        # ... without her name or address in the free text.
        assert s.get(VoteRound, ids["open"]).description == f"Proposta da {pseudonym} nella seduta di marzo."
        notes = set(s.scalars(select(ConflictDeclaration.note)))
        assert notes == {"Sono nel direttivo di un ente che gestisce il servizio.",
                         f"Collaboro con l'ente di {pseudonym} ({placeholder})."}

        # Her application and its revision: her name and address replaced, the rest as declared.
        mine = s.get(Application, ids["mine"])
        assert (mine.delegate_name, mine.delegate_email) == (pseudonym, placeholder)
        assert mine.legal_rep_name == "Lucia Legale" and mine.organisation_name == "Associazione Alfa (prova)"
        assert mine.coi_details == f"Nessun conflitto; referente {pseudonym} ({placeholder})."
        revision = s.scalar(select(ApplicationRevision).where(ApplicationRevision.application_id == mine.id))
        assert (revision.data["delegate_name"], revision.data["delegate_email"]) == (pseudonym, placeholder)
        assert revision.data["legal_rep_name"] == "Lucia Legale"

        # A namesake's application keeps its signatory: a name alone is not the person.
        namesake = s.get(Application, ids["namesake"])
        assert namesake.legal_rep_name == NAME
        assert s.scalar(select(ApplicationRevision.data).where(
            ApplicationRevision.application_id == namesake.id))["legal_rep_name"] == NAME
