"""/.well-known/security.txt follows RFC 9116."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

FIELD = re.compile(r"^([A-Za-z-]+): (.+)$")


def fields(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = FIELD.match(line)
        assert match, f"riga non conforme: {line!r}"
        out.append((match.group(1), match.group(2)))
    return out


def test_security_txt_fields(sqlite_app):
    response = sqlite_app.test_client().get("/.well-known/security.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.mimetype_params.get("charset") == "utf-8"
    text = response.get_data(as_text=True)
    assert text.endswith("\n")
    parsed = fields(text)
    names = [name for name, _ in parsed]
    assert "Contact" in names
    # Fields that may appear once, appear once.
    for once in ("Expires", "Preferred-Languages", "Policy"):
        assert names.count(once) == 1, once
    values = dict(parsed)
    assert values["Contact"] == "mailto:security@127.0.0.1"  # RFC 2142 mailbox at BASE_URL's host
    assert values["Preferred-Languages"] == "it, en"
    assert values["Canonical"] == "http://127.0.0.1:5000/.well-known/security.txt"
    assert values["Policy"].endswith("/SECURITY.md")

    expires = datetime.strptime(values["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    assert now + timedelta(days=30) < expires < now + timedelta(days=365)


def test_security_contacts_from_the_configuration(sqlite_app):
    sqlite_app.config["SECURITY_CONTACT"] = "sicurezza@comune.example.it, https://comune.example.it/segnala"
    sqlite_app.config["BASE_URL"] = "https://tavoli.ambito.example"
    text = sqlite_app.test_client().get("/.well-known/security.txt").get_data(as_text=True)
    contacts = [value for name, value in fields(text) if name == "Contact"]
    assert contacts == ["mailto:sicurezza@comune.example.it", "https://comune.example.it/segnala"]
    assert "Canonical: https://tavoli.ambito.example/.well-known/security.txt" in text


def test_legacy_location_redirects(sqlite_app):
    response = sqlite_app.test_client().get("/security.txt")
    assert response.status_code == 301
    assert response.headers["Location"] == "/.well-known/security.txt"


def test_the_policy_exists_in_the_repository():
    from workspace.config import PROJECT_ROOT

    policy = (PROJECT_ROOT / "SECURITY.md").read_text(encoding="utf-8")
    assert "security.txt" in policy and "TAVOLI_SECURITY_CONTACT" in policy
