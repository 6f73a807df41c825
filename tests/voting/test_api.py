"""/api/v1/votazioni: results of closed rounds and their anonymised ballots — who may read them, what
they contain, that the OpenAPI document describes them truly, and that the published ballots
re-tally (``tavoli votes tally``) to the published result."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.voting.test_service import cast, footprint, make_round, pts, voting_world
from tests.world import login_client
from workspace.db import db, utcnow
from workspace.voting import rounds
from workspace.voting.cli import votes
from workspace.voting.models import VoteRound

RESULTS = "/api/v1/votazioni/{}/risultati"
BALLOTS = "/api/v1/votazioni/{}/schede"


@pytest.fixture
def vw(app):
    with app.app_context():
        return voting_world(db.session)


def closed_round(app, vw, **kw) -> int:
    from workspace.accounts.models import User

    with app.app_context():
        session = db.session
        vote = make_round(session, vw, **kw)
        people = [session.get(User, u.id) for u in (vw.delegate, vw.colleague, vw.delegate2)]
        for person, ballot in zip(people, (pts(vw, 6, 4), pts(vw, 0, 10), pts(vw, 3, 3, 4)), strict=True):
            cast(session, person, vote, ballot)
        rounds.close_round(session, session.get(User, vw.facilitator.id), vote)
        session.commit()
        return vote.id


def member(app, user):
    client, _token = login_client(app, user)
    return client


def schema_for(document: dict, path: str, status: str = "200") -> Draft202012Validator:
    schema = document["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


def publish(app, vw) -> None:
    from workspace.tavoli.models import Tavolo

    with app.app_context():
        db.session.get(Tavolo, vw.tavolo.id).procedure.published = True
        db.session.commit()


# --------------------------------------------------------------------------------------- access


def test_who_may_read(app, vw):
    round_id = closed_round(app, vw)
    anonymous = app.test_client()
    for path in (RESULTS, BALLOTS):
        response = anonymous.get(path.format(round_id))
        assert response.status_code == 401 and "occorre accedere" in response.get_json()["message"]
        assert anonymous.get(path.format(999_999)).status_code == 401  # existence not revealed
        outsider = member(app, vw.outsider)
        assert outsider.get(path.format(round_id)).status_code == 403
        assert outsider.get(path.format(999_999)).status_code == 404
        assert member(app, vw.observer).get(path.format(round_id)).status_code == 200
    publish(app, vw)
    assert anonymous.get(RESULTS.format(round_id)).status_code == 200
    assert anonymous.get(BALLOTS.format(round_id)).status_code == 200


def test_open_rounds_have_no_results_yet_and_overdue_ones_wait_for_the_sweep(app, vw):
    from workspace.voting.live import close_due_once

    with app.app_context():
        vote = make_round(db.session, vw)
        round_id = vote.id
    client = member(app, vw.delegate)
    response = client.get(RESULTS.format(round_id))
    assert response.status_code == 409 and "non è ancora chiusa" in response.get_json()["message"]
    assert client.get(BALLOTS.format(round_id)).status_code == 409
    with app.app_context():
        db.session.get(VoteRound, round_id).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        before = footprint(db.session, vw.tavolo.id)
    # Reading writes nothing: the round stays open, no vote.closed is recorded, until the sweep.
    for path in (RESULTS, BALLOTS):
        response = client.get(path.format(round_id))
        assert response.status_code == 409
        assert "lo scrutinio è in corso, i risultati saranno disponibili a breve" in response.get_json()["message"]
    with app.app_context():
        assert footprint(db.session, vw.tavolo.id) == before
        assert db.session.get(VoteRound, round_id).status == "open"
    assert close_due_once(app) == 1
    response = client.get(RESULTS.format(round_id))
    assert response.status_code == 200 and response.get_json()["final"] is True


def test_results_content_for_members_and_for_the_public(app, vw):
    round_id = closed_round(app, vw)
    data = member(app, vw.delegate2).get(RESULTS.format(round_id)).get_json()
    b = [str(x) for x in vw.bisogni]
    assert data["round"]["method"] == "dot" and data["round"]["method_version"] == "dot/1"
    assert data["tally"]["version"] == "dot/1"
    assert data["turnout"] == {"voted": 3, "eligible": 3, "percent": 100.0}
    assert data["tally"]["scores"] == {b[0]: 9, b[1]: 17, b[2]: 4, b[3]: 0}
    assert [r["bisogno_id"] for r in data["ranking"]] == [vw.bisogni[i] for i in (1, 0, 2, 3)]
    assert data["breakdown"]["ets"]["ballots"] == 3
    assert {x["person"] for x in data["ballots"]} == {vw.delegate.name, vw.colleague.name, vw.delegate2.name}
    publish(app, vw)
    public = app.test_client().get(RESULTS.format(round_id)).get_json()
    assert {x["person"] for x in public["ballots"]} == {None}
    assert {x["organisation"] for x in public["ballots"]} == {vw.ets.name, vw.ets2.name}
    assert public["tally"] == data["tally"]


def test_published_ballots_re_tally_to_the_published_result(app, vw):
    from click.testing import CliRunner

    round_id = closed_round(app, vw, secret=True)
    client = member(app, vw.delegate)
    response = client.get(BALLOTS.format(round_id))
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    document = response.get_json()
    assert document["ballots"] == sorted(document["ballots"], key=lambda x: json.dumps(x, sort_keys=True))
    assert set(document) == {"round_id", "method", "version", "settings", "candidates", "ballots", "titles"}
    result = client.get(RESULTS.format(round_id)).get_json()
    assert result["ballots"] is None  # secret: no attributed ballots
    runner = CliRunner()
    out = runner.invoke(votes, ["tally", "--method", document["method"], "--points",
                                str(document["settings"]["points"]), "-"], input=json.dumps(document))
    assert out.exit_code == 0, out.output
    recount = json.loads(out.output)
    assert recount["scores"] == result["tally"]["scores"] and recount["ranking"] == result["tally"]["ranking"]
    assert recount["version"] == result["tally"]["version"]


# --------------------------------------------------------------------------------------- OpenAPI


def test_the_openapi_document_describes_the_endpoints_truly(app, vw):
    round_id = closed_round(app, vw)
    secret_id = closed_round(app, vw, secret=True, breakdown=True)
    client = member(app, vw.delegate)
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    for path in ("/votazioni/{round_id}/risultati", "/votazioni/{round_id}/schede"):
        operation = document["paths"][path]["get"]
        assert operation["summary"] and operation["description"] and {"200", "401", "403", "404", "409"} <= set(
            operation["responses"])
    results_schema = schema_for(document, "/votazioni/{round_id}/risultati")
    ballots_schema = schema_for(document, "/votazioni/{round_id}/schede")
    for rid in (round_id, secret_id):
        results_schema.validate(client.get(RESULTS.format(rid)).get_json())
        ballots_schema.validate(client.get(BALLOTS.format(rid)).get_json())
    publish(app, vw)
    results_schema.validate(app.test_client().get(RESULTS.format(round_id)).get_json())
    for name in ("VoteRound", "VoteResults", "VoteBallots", "VoteTurnout", "VoteRankingRow"):
        schema = document["components"]["schemas"][name]
        assert schema["additionalProperties"] is False and set(schema["required"]) == set(schema["properties"])
