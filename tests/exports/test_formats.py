"""The format registry and the download response the views share."""
from __future__ import annotations

from urllib.parse import unquote

import pytest
from flask import Flask

from workspace import exports
from workspace.exports.formats import ascii_filename


def test_registry_names_types_and_extensions():
    assert exports.FORMATS["pdf"].mime == "application/pdf"
    assert exports.FORMATS["csv"].mime == "text/csv; charset=utf-8"
    assert exports.FORMATS["odt"].mime == "application/vnd.oasis.opendocument.text"
    assert exports.FORMATS["xlsx"].extension == ".xlsx"
    assert set(exports.DOCUMENT_FORMATS) | set(exports.TABLE_FORMATS) == set(exports.FORMATS)
    assert exports.filename("verbale-3", "ods") == "verbale-3.ods"


@pytest.mark.parametrize("stem, ascii_name", [
    ("Verbale seduta n. 3 – più «bello»", "Verbale-seduta-n.-3-piu-bello"),
    ('a"b\\c/d\r\nSet-Cookie: x=1', "a-b-c-d-Set-Cookie-x-1"),
    ("€€€", "documento"),
])
def test_download_response_headers(stem, ascii_name):
    app = Flask(__name__)
    with app.test_request_context():
        response = exports.download_response(b"%PDF-1.7 ...", stem, "pdf")
    assert response.status_code == 200
    assert response.get_data() == b"%PDF-1.7 ..."
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    plain, extended = disposition.split("; filename*=UTF-8''")
    assert plain == f'attachment; filename="{ascii_name}.pdf"'
    assert ascii_filename(stem) == ascii_name
    decoded = unquote(extended)
    assert decoded.endswith(".pdf") and "\n" not in decoded and "/" not in decoded
    if stem.startswith("Verbale"):
        assert decoded == "Verbale seduta n. 3 – più «bello».pdf"


def test_csv_download_says_its_charset():
    app = Flask(__name__)
    with app.test_request_context():
        data = exports.render_table(exports.Sheet("s", ["a"], [["è"]]), "csv")
        response = exports.download_response(data, "priorità", "csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="priorita.csv"; ')
