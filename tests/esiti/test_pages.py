"""The esiti pages: the Ufficio di Piano enters, edits, deletes and imports (forms refused with the
service's Italian messages, on their fields, status 422, nothing written); the tavoli's people read
and download; outsiders get 403, anonymous visitors the login; the public page, its downloads and
the API exist only once the procedure is published, and the API matches its OpenAPI description."""
from __future__ import annotations

import io

import pytest
from jsonschema import Draft202012Validator

from tests.esiti.support import procedure_of, row
from tests.exports.readback import csv_rows, pdf_xmp
from tests.minutes.support import publish
from tests.world import login_client
from workspace.esiti import service
from workspace.esiti.models import PreviousObjective


def _objectives(in_app, procedure_id: int) -> list[tuple[str, int]]:
    from sqlalchemy import select

    with in_app() as db:
        return [(o.title, o.position) for o in db.scalars(
            select(PreviousObjective).where(PreviousObjective.procedure_id == procedure_id)
            .order_by(PreviousObjective.position))]


@pytest.fixture
def filled(world, in_app):
    with in_app() as db:
        procedure = procedure_of(db, world)
        o = service.create(db, world.admin, procedure, row())
        db.commit()
        return procedure.id, o.id


def test_the_ufficio_di_piano_enters_an_objective(app, world, in_app):
    pid = world.tavolo.procedure_id
    client, token = login_client(app, world.admin)
    page = client.get(f"/amministrazione/procedure/{pid}")
    assert f"/amministrazione/procedure/{pid}/esiti" in page.get_data(as_text=True)
    assert client.get(f"/amministrazione/procedure/{pid}/esiti").status_code == 200
    form = client.get(f"/amministrazione/procedure/{pid}/esiti/nuovo").get_data(as_text=True)
    assert "GRADO DI RAGGIUNGIMENTO DELL&#39;OBIETTIVO" in form and "(n. azioni realizzate*100)" in form
    bad = client.post(f"/amministrazione/procedure/{pid}/esiti/nuovo",
                      data={**row(azioni_programmate="0", risposta_bisogno_motivazione=""), "csrf_token": token})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "dev&#39;essere un numero intero da 1 in su" in text and "Motivare la risposta «SI»" in text
    assert 'aria-invalid="true"' in text
    assert _objectives(in_app, pid) == []
    good = client.post(f"/amministrazione/procedure/{pid}/esiti/nuovo", data={**row(), "csrf_token": token})
    assert good.status_code == 303
    assert _objectives(in_app, pid) == [("Potenziare l'assistenza domiciliare", 1)]
    table = client.get(good.headers["Location"]).get_data(as_text=True)
    assert "75 %" in table and "50-79% (sufficiente)" in table and "95,21 %" in table
    # No CSRF token: refused, nothing written.
    assert client.post(f"/amministrazione/procedure/{pid}/esiti/nuovo", data=row(obiettivo="Senza")).status_code == 400
    assert len(_objectives(in_app, pid)) == 1


def test_edit_and_delete(app, world, filled, in_app):
    pid, oid = filled
    client, token = login_client(app, world.admin)
    page = client.get(f"/amministrazione/procedure/{pid}/esiti/{oid}").get_data(as_text=True)
    assert 'value="240000,00"' in page
    saved = client.post(f"/amministrazione/procedure/{pid}/esiti/{oid}",
                        data={**row(obiettivo="Rinominato", azioni_realizzate="8"), "csrf_token": token})
    assert saved.status_code == 303
    assert "100% (ottimo)" in client.get(f"/amministrazione/procedure/{pid}/esiti").get_data(as_text=True)
    assert client.post(f"/amministrazione/procedure/{pid}/esiti/{oid}/elimina").status_code == 400
    assert _objectives(in_app, pid) == [("Rinominato", 1)]
    gone = client.post(f"/amministrazione/procedure/{pid}/esiti/{oid}/elimina", data={"csrf_token": token})
    assert gone.status_code == 303 and _objectives(in_app, pid) == []
    assert client.get(f"/amministrazione/procedure/{pid}/esiti/{oid}").status_code == 404


def test_import_through_the_page(app, world, in_app):
    from tests.esiti.test_import import BAD, GOOD, file_of

    pid = world.tavolo.procedure_id
    client, token = login_client(app, world.admin)
    page = client.get(f"/amministrazione/procedure/{pid}/esiti/importa").get_data(as_text=True)
    assert f"/amministrazione/procedure/{pid}/esiti/modello.xlsx" in page
    refused = client.post(f"/amministrazione/procedure/{pid}/esiti/importa", content_type="multipart/form-data",
                          data={"csrf_token": token, "file": (io.BytesIO(file_of(BAD, "ods")), "esiti.ods")})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "nulla è stato importato" in text and "Riga 3:" in text and "Riga 6:" in text
    assert _objectives(in_app, pid) == []
    missing = client.post(f"/amministrazione/procedure/{pid}/esiti/importa", data={"csrf_token": token})
    assert missing.status_code == 422 and "Scegliere il file" in missing.get_data(as_text=True)
    done = client.post(f"/amministrazione/procedure/{pid}/esiti/importa", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(file_of(GOOD, "xlsx")), "esiti.xlsx")})
    assert done.status_code == 303
    assert _objectives(in_app, pid) == [("Primo obiettivo", 1), ("Secondo obiettivo", 2)]
    template = client.get(f"/amministrazione/procedure/{pid}/esiti/modello.csv")
    assert template.status_code == 200 and "attachment" in template.headers["Content-Disposition"]
    assert csv_rows(template.data)[0][0] == "Obiettivo 2021-2023"
    assert client.get(f"/amministrazione/procedure/{pid}/esiti/modello.pdf").status_code == 422


def test_who_sees_what(app, world, filled):
    pid, oid = filled
    admin_pages = [f"/amministrazione/procedure/{pid}/esiti", f"/amministrazione/procedure/{pid}/esiti/nuovo",
                   f"/amministrazione/procedure/{pid}/esiti/{oid}", f"/amministrazione/procedure/{pid}/esiti/importa",
                   f"/amministrazione/procedure/{pid}/esiti/modello.xlsx"]
    for who in (world.facilitator, world.delegate, world.observer):
        client, token = login_client(app, who)
        page = client.get(f"/procedure/{pid}/esiti/tavoli")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "Potenziare l&#39;assistenza domiciliare" in text and "esiti/nuovo" not in text
        assert "Modifica" not in text
        download = client.get(f"/procedure/{pid}/esiti/tavoli/esporta/csv")
        assert download.status_code == 200 and csv_rows(download.data)[1][1] == "Potenziare l'assistenza domiciliare"
        for path in admin_pages:
            assert client.get(path).status_code == 403, path
        assert client.post(f"/amministrazione/procedure/{pid}/esiti/nuovo",
                           data={**row(obiettivo="X"), "csrf_token": token}).status_code == 403
        assert client.post(f"/amministrazione/procedure/{pid}/esiti/{oid}/elimina",
                           data={"csrf_token": token}).status_code == 403
        # The tavolo's home page links to the table.
        assert f"/procedure/{pid}/esiti/tavoli" in client.get(f"/tavoli/{world.tavolo.id}").get_data(as_text=True)
    outsider, _token = login_client(app, world.outsider)
    assert outsider.get(f"/procedure/{pid}/esiti/tavoli").status_code == 403
    assert outsider.get(f"/procedure/{pid}/esiti/tavoli/esporta/pdf").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(f"/procedure/{pid}/esiti/tavoli").status_code in (302, 401)
    assert anonymous.get(f"/amministrazione/procedure/{pid}/esiti").status_code in (302, 401)
    # Not published: no public page, download or API, and nothing says it exists.
    for path in (f"/procedure/{pid}/esiti", f"/procedure/{pid}/esiti/esporta/csv", f"/api/v1/procedure/{pid}/esiti"):
        assert anonymous.get(path).status_code == 404, path


def test_public_page_downloads_and_api(app, world, filled, in_app):
    pid, _oid = filled
    with in_app() as db:
        publish(db, pid, world.admin.id)
    client = app.test_client()
    assert f"/procedure/{pid}/esiti" in client.get(f"/procedure/{pid}").get_data(as_text=True)
    page = client.get(f"/procedure/{pid}/esiti")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "50-79% (sufficiente)" in text and "LIVELLO DI COINCIDENZA TRA RISORSE STANZIATE" in text
    pdf = client.get(f"/procedure/{pid}/esiti/esporta/pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf_xmp(pdf.data)["part"] in ("1", "2", "3")
    assert client.get(f"/procedure/{pid}/esiti/esporta/exe").status_code == 422
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/procedure/{procedure_id}/esiti"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    body = client.get(f"/api/v1/procedure/{pid}/esiti").get_json()
    Draft202012Validator({**schema, "components": document["components"]}).validate(body)
    [one] = body["objectives"]
    assert (one["grado_raggiungimento_pct"], one["fascia_raggiungimento"], one["oltre_il_programmato"]) == \
        (75, "sufficiente", False)
    assert one["coincidenza_risorse_pct"] == 95.21 and one["fascia_coincidenza"] == "<100%"
    assert one["risorse_pagate"] == 228500.5 and one["dimensioni_mancanti"] == []
    assert client.get("/api/v1/procedure/999999/esiti").status_code == 404


def test_a_members_download_goes_on_the_audit_trail(app, world, filled):
    from workspace import signals

    pid, _oid = filled
    seen = []

    def receiver(_session, *, action, actor, details, **_):
        seen.append((action, actor.id if actor else None, details.get("format"), details.get("channel")))

    signals.action_recorded.connect(receiver)
    try:
        client, _token = login_client(app, world.delegate)
        assert client.get(f"/procedure/{pid}/esiti/tavoli/esporta/ods").status_code == 200
        assert client.get(f"/procedure/{pid}/esiti/tavoli/esporta/rtf").status_code == 422
    finally:
        signals.action_recorded.disconnect(receiver)
    assert [s for s in seen if s[0] == "esiti.exported"] == [("esiti.exported", world.delegate.id, "ods", "web")]


def test_a_concluded_procedure_is_read_only_on_every_route(app, world, filled, in_app):
    from workspace.procedures.models import Procedure

    pid, oid = filled
    with in_app() as db:
        db.get(Procedure, pid).status = "conclusa"
        db.commit()
    client, token = login_client(app, world.admin)
    page = client.get(f"/amministrazione/procedure/{pid}/esiti")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "La procedura è conclusa" in text and "esiti/nuovo" not in text and "Elimina" not in text
    for path in (f"/amministrazione/procedure/{pid}/esiti/nuovo", f"/amministrazione/procedure/{pid}/esiti/{oid}",
                 f"/amministrazione/procedure/{pid}/esiti/importa"):
        assert client.get(path).status_code == 409, path
        assert client.post(path, data={**row(obiettivo="Nuovo"), "csrf_token": token}).status_code == 409, path
    assert client.post(f"/amministrazione/procedure/{pid}/esiti/{oid}/elimina",
                       data={"csrf_token": token}).status_code == 409
    assert _objectives(in_app, pid) == [("Potenziare l'assistenza domiciliare", 1)]
    assert client.get(f"/procedure/{pid}/esiti/tavoli/esporta/csv").status_code == 200


def test_the_pages_in_english(app, world, filled):
    from workspace.i18n import LANG_COOKIE

    pid, oid = filled
    client, _token = login_client(app, world.admin)
    client.set_cookie(LANG_COOKIE, "en")
    table = client.get(f"/amministrazione/procedure/{pid}/esiti").get_data(as_text=True)
    assert "Outcomes of the previous 2021-2023 programming" in table
    assert "(49.5 % is " in table and "%%" not in table  # the literal percent sign survives translation
    assert "50-79% (sufficiente)" in table  # official bands stay as printed
    form = client.get(f"/amministrazione/procedure/{pid}/esiti/{oid}").get_data(as_text=True)
    assert "Number of planned actions" in form and "GRADO DI RAGGIUNGIMENTO" in form
    bad = client.post(f"/amministrazione/procedure/{pid}/esiti/{oid}",
                      data={**row(azioni_programmate="x"), "csrf_token": _token})
    assert bad.status_code == 422 and "must be a whole number from 1 up" in bad.get_data(as_text=True)
