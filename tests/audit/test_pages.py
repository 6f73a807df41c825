"""The administrators' page of the audit trail and its CSV export: who may see them, filters,
pagination, bad input, and the CSV read back as a spreadsheet would (BOM, ``;``, no formulas)."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.audit.support import entries
from tests.world import login_client
from workspace import signals
from workspace.accounts.models import User
from workspace.db import utcnow

PAGE, CSV = "/amministrazione/audit", "/amministrazione/audit.csv"


def _numbers(html: str) -> list[int]:
    """The entry numbers of the table's rows, in order."""
    return [int(n) for n in re.findall(r'<th scope="row">(\d+)</th>', html)]


@pytest.mark.parametrize("who", ["delegate", "facilitator", "observer", "outsider"])
def test_only_administrators_see_the_trail(app, world, in_app, who):
    client, _ = login_client(app, getattr(world, who))
    for path in (PAGE, CSV):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "riservato agli amministratori" in response.get_data(as_text=True)
    with in_app() as s:
        assert [e.action for e in entries(s)][-1] == "seduta.convened"  # the refused export left nothing


def test_anonymous_visitors_are_sent_to_the_login(client, world):
    for path in (PAGE, CSV):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/accedi"), path


def test_the_page_lists_entries_newest_first_with_labels(app, world):
    client, _ = login_client(app, world.admin)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _numbers(html) == list(range(10, 0, -1))
    assert "<caption" in html and "voci da 1 a 10 di 10" in html
    assert "Seduta convocata" in html and "<code>seduta.convened</code>" in html
    assert "Fabio Facilitatore (Ufficio di Piano di prova)" in html
    assert "Procedura n. " in html
    assert 'href="/amministrazione/audit.csv"' in html
    # Times in Italian time, with the UTC instant in the markup.
    utc, shown = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', html).groups()
    instant = datetime.strptime(utc, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert shown == instant.astimezone(ZoneInfo("Europe/Rome")).strftime("%d/%m/%Y %H:%M:%S")


def test_filters(app, world, in_app):
    client, _ = login_client(app, world.admin)
    assert _numbers(client.get(PAGE + "?azione=role.set").get_data(as_text=True)) == [9, 8, 6, 5, 3]
    assert _numbers(client.get(PAGE + f"?chi={world.facilitator.id}").get_data(as_text=True)) == [10]
    assert _numbers(client.get(PAGE + "?chi=facilitatore").get_data(as_text=True)) == [10]
    assert _numbers(client.get(PAGE + "?chi=%25").get_data(as_text=True)) == []  # LIKE characters are text
    assert _numbers(client.get(PAGE + f"?oggetto=seduta&numero={world.seduta.id}").get_data(as_text=True)) == [10]
    assert _numbers(client.get(PAGE + "?oggetto=procedure").get_data(as_text=True)) == [1]
    today = utcnow().date()
    both = f"?dal={(today - timedelta(days=1)).isoformat()}&al={(today + timedelta(days=1)).isoformat()}"
    assert len(_numbers(client.get(PAGE + both).get_data(as_text=True))) == 10
    future = f"?dal={(today + timedelta(days=2)).isoformat()}"
    page = client.get(PAGE + future).get_data(as_text=True)
    assert _numbers(page) == [] and "Nessuna voce corrisponde ai filtri." in page


@pytest.mark.parametrize("query, message", [
    ("?dal=31-02-2026", "Data non valida"),
    ("?dal=2026-03-10&al=2026-03-01", "La data iniziale è successiva a quella finale."),
    ("?numero=dodici", "Un numero intero da 1 in su."),
    ("?numero=0", "Un numero intero da 1 in su."),
    ("?azione=nessuna.azione", "Scegliere una delle opzioni proposte."),
    ("?chi=" + "x" * 201, "Al massimo 200 caratteri."),
])
def test_bad_filters_are_422_with_a_message(app, world, query, message):
    client, _ = login_client(app, world.admin)
    response = client.get(PAGE + query)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'role="alert"' in html
    assert client.get(CSV + query).status_code == 422


def test_pagination_keeps_the_filters(app, world, in_app):
    with in_app() as s:
        for n in range(60):
            signals.action_recorded.send(s, actor=s.get(User, world.admin.id), action="test.bulk",
                                         object_type="procedure", object_id=n + 1, details={"n": n})
        s.commit()
    client, _ = login_client(app, world.admin)
    first = client.get(PAGE + "?azione=test.bulk").get_data(as_text=True)
    assert _numbers(first) == list(range(70, 20, -1))
    assert "pagina 1 di 2" in first
    assert 'href="/amministrazione/audit?pagina=2&amp;azione=test.bulk"' in first
    second = client.get(PAGE + "?pagina=2&azione=test.bulk").get_data(as_text=True)
    assert _numbers(second) == list(range(20, 10, -1))
    assert 'aria-current="page"' in second
    # Past the end: the last page; nonsense: the first.
    assert _numbers(client.get(PAGE + "?pagina=9&azione=test.bulk").get_data(as_text=True)) == _numbers(second)
    assert _numbers(client.get(PAGE + "?pagina=due&azione=test.bulk").get_data(as_text=True)) == _numbers(first)


def test_csv_export_reads_back_and_is_itself_recorded(app, world, in_app, person):
    # A person whose name a spreadsheet would run as a formula.
    with in_app() as s:
        signals.action_recorded.send(s, actor=s.get(User, person("f@example.it", name="=SOMMA(A1:A9)").id),
                                     action="logout", object_type="user", object_id=None, details={})
        s.commit()
    client, _ = login_client(app, world.admin)
    response = client.get(CSV + "?chi=somma")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "registro-audit.csv" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:6] == ["N.", "Data e ora (UTC)", "Id persona", "Chi", "Azione", "Descrizione"]
    assert len(rows) == 2
    assert rows[1][3] == "'=SOMMA(A1:A9)" and rows[1][4] == "logout" and rows[1][5] == "Uscita"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", rows[1][1])
    with in_app() as s:
        mine = entries(s)
        assert rows[1][-1] == mine[-2].hash and rows[1][-2] == mine[-2].prev_hash
        export = mine[-1]
        assert (export.action, export.actor_id, export.object_type) == ("audit.exported", world.admin.id, "audit")
        assert export.details == {"format": "csv", "rows": 1, "filters": {"chi": "(testo)"}}

    everything = client.get(CSV)
    lines = list(csv.reader(io.StringIO(everything.get_data().decode("utf-8-sig")), delimiter=";"))
    # Oldest first: the world (10), the account (11), its logout (12), the first export (13).
    assert [int(r[0]) for r in lines[1:]] == list(range(1, 14))
