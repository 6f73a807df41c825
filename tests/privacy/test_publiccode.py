"""publiccode.yml is valid against the publiccode.yml 0.4 standard (and its Italian extension 1.0),
and agrees with the project: repository URL, licence, languages. LICENSE is the EUPL-1.2 text.

No validator of the standard is published for Python, so the rules are written out here from the
standard's schema (docs/standard/schema.core.rst and schema.it.rst of publiccodeyml/publiccode.yml)
and the reference parser's checks (italia/publiccode-parser-go): mandatory keys and their types,
closed vocabularies, length limits, and no keys the standard does not define.
"""
from __future__ import annotations

import re
import tomllib
from datetime import date

import pytest
import yaml

from workspace.config import PROJECT_ROOT, load_config

VERSIONS = {"0.4", "0.4.0"}
TOP_LEVEL = {
    "publiccodeYmlVersion", "name", "applicationSuite", "url", "landingURL", "isBasedOn", "softwareVersion",
    "releaseDate", "logo", "monochromeLogo", "inputTypes", "outputTypes", "platforms", "categories", "usedBy",
    "roadmap", "developmentStatus", "softwareType", "intendedAudience", "description", "legal", "maintenance",
    "localisation", "dependsOn", "IT", "it",
}
MANDATORY = {"publiccodeYmlVersion", "name", "url", "platforms", "developmentStatus", "softwareType",
             "description", "legal", "maintenance", "localisation"}
DEVELOPMENT_STATUSES = {"concept", "development", "beta", "stable", "obsolete"}
SOFTWARE_TYPES = {"standalone/mobile", "standalone/iot", "standalone/desktop", "standalone/web",
                  "standalone/backend", "standalone/other", "addon", "library", "configurationFiles"}
MAINTENANCE_TYPES = {"internal", "contract", "community", "none"}
CATEGORIES = {
    "accounting", "agile-project-management", "applicant-tracking", "application-development",
    "appointment-scheduling", "backup", "billing-and-invoicing", "blog", "budgeting", "business-intelligence",
    "business-process-management", "cad", "call-center-management", "cloud-management", "collaboration",
    "communications", "compliance-management", "contact-management", "content-management", "crm",
    "customer-service-and-support", "data-analytics", "data-collection", "data-visualization",
    "digital-asset-management", "digital-citizenship", "document-management", "donor-management",
    "e-commerce", "e-signature", "email-management", "email-marketing", "employee-management",
    "enterprise-project-management", "enterprise-social-networking", "erp", "event-management",
    "facility-management", "feedback-and-reviews-management", "financial-reporting", "fleet-management",
    "fundraising", "gamification", "geographic-information-systems", "grant-management", "graphic-design",
    "help-desk", "hr", "ide", "identity-management", "instant-messaging", "inventory-management",
    "it-asset-management", "it-development", "it-management", "it-security", "it-service-management",
    "knowledge-management", "learning-management-system", "marketing", "mind-mapping", "mobile-marketing",
    "mobile-payment", "network-management", "office", "online-booking", "online-community",
    "payment-gateway", "payroll", "predictive-analysis", "procurement", "productivity-suite",
    "project-collaboration", "project-management", "property-management", "real-estate-management",
    "remote-support", "resource-management", "sales-management", "seo", "service-desk",
    "social-media-management", "survey", "talent-management", "task-management", "taxes-management",
    "test-management", "time-management", "time-tracking", "translation", "video-conferencing",
    "video-editing", "visitor-management", "voip", "warehouse-management", "web-collaboration",
    "web-conferencing", "website-builder", "workflow-management",
}
SCOPES = {
    "agriculture", "culture", "defence", "education", "emergency-services", "employment", "energy",
    "environment", "finance-and-economic-development", "foreign-affairs", "healthcare", "infrastructures",
    "justice", "local-authorities", "manufacturing", "research", "science-and-technology", "security",
    "society", "sport", "tourism", "transportation", "welfare",
}
DESCRIPTION_KEYS = {"localisedName", "genericName", "shortDescription", "longDescription", "documentation",
                    "apiDocumentation", "features", "screenshots", "videos", "awards"}
IT_CONFORME = {"lineeGuidaDesign", "modelloInteroperabilita", "misureMinimeSicurezza", "gdpr"}
IT_PIATTAFORME = {"spid", "pagopa", "cie", "anpr", "io"}
# BCP 47: a primary language subtag, then optional subtags (script, region, variants).
BCP47 = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?(-[a-zA-Z0-9]{5,8})*$")
ISO_3166_ALPHA2 = re.compile(r"^[a-zA-Z]{2}$")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
# The SPDX identifiers of the OSI licences a public administration is likely to choose.
SPDX = {"EUPL-1.2", "EUPL-1.1", "AGPL-3.0-or-later", "AGPL-3.0-only", "GPL-3.0-or-later", "GPL-3.0-only",
        "LGPL-3.0-or-later", "MPL-2.0", "Apache-2.0", "MIT", "BSD-3-Clause"}


def is_date(value) -> bool:
    if isinstance(value, date):
        return True
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)))


def validate(doc) -> list[str]:
    """Every violation of the publiccode.yml 0.4 rules in ``doc`` (empty when valid)."""
    errors: list[str] = []

    def need(condition: bool, message: str) -> None:
        if not condition:
            errors.append(message)

    if not isinstance(doc, dict):
        return ["il documento non è una mappa YAML"]
    need(set(doc) <= TOP_LEVEL, f"chiavi sconosciute: {sorted(set(doc) - TOP_LEVEL)}")
    need(MANDATORY <= set(doc), f"chiavi obbligatorie mancanti: {sorted(MANDATORY - set(doc))}")
    need(isinstance(doc.get("publiccodeYmlVersion"), str) and doc.get("publiccodeYmlVersion") in VERSIONS,
         "publiccodeYmlVersion deve essere la stringa \"0.4\"")
    need(isinstance(doc.get("name"), str) and doc["name"].strip() != "", "name obbligatorio")
    need(isinstance(doc.get("url"), str) and bool(URL.match(doc.get("url", ""))), "url non valido")
    for key in ("landingURL", "roadmap"):
        if key in doc:
            need(isinstance(doc[key], str) and bool(URL.match(doc[key])), f"{key} non è un URL")
    if "releaseDate" in doc:
        need(is_date(doc["releaseDate"]), "releaseDate deve essere AAAA-MM-GG")
    platforms = doc.get("platforms")
    need(isinstance(platforms, list) and len(platforms) > 0 and all(isinstance(p, str) for p in platforms),
         "platforms: almeno una piattaforma")
    if "categories" in doc:
        categories = doc["categories"]
        need(isinstance(categories, list) and all(c in CATEGORIES for c in categories),
             f"categorie non ammesse: {[c for c in categories or [] if c not in CATEGORIES]}")
    need(doc.get("developmentStatus") in DEVELOPMENT_STATUSES, "developmentStatus non ammesso")
    need(doc.get("softwareType") in SOFTWARE_TYPES, "softwareType non ammesso")

    audience = doc.get("intendedAudience")
    if audience is not None:
        need(isinstance(audience, dict) and set(audience) <= {"scope", "countries", "unsupportedCountries"},
             "intendedAudience: chiavi sconosciute")
        for scope in audience.get("scope", []):
            need(scope in SCOPES, f"intendedAudience/scope non ammesso: {scope}")
        for key in ("countries", "unsupportedCountries"):
            for country in audience.get(key, []):
                need(bool(ISO_3166_ALPHA2.match(str(country))), f"intendedAudience/{key}: {country}")

    description = doc.get("description")
    need(isinstance(description, dict) and len(description) > 0, "description: almeno una lingua")
    for lang, desc in (description or {}).items():
        where = f"description/{lang}"
        need(bool(BCP47.match(str(lang))), f"{where}: lingua non BCP 47")
        if not isinstance(desc, dict):
            errors.append(f"{where} non è una mappa")
            continue
        need(set(desc) <= DESCRIPTION_KEYS, f"{where}: chiavi sconosciute {sorted(set(desc) - DESCRIPTION_KEYS)}")
        short = desc.get("shortDescription")
        need(isinstance(short, str) and 0 < len(short) <= 150, f"{where}/shortDescription: da 1 a 150 caratteri")
        long = desc.get("longDescription")
        need(isinstance(long, str) and 150 <= len(long) <= 10000,
             f"{where}/longDescription: da 150 a 10000 caratteri")
        if "genericName" in desc:
            need(len(str(desc["genericName"])) <= 35, f"{where}/genericName: al massimo 35 caratteri")
        features = desc.get("features")
        need(isinstance(features, list) and len(features) > 0 and all(isinstance(f, str) and f for f in features),
             f"{where}/features: almeno una funzionalità")
        for key in ("documentation", "apiDocumentation"):
            if key in desc:
                need(bool(URL.match(str(desc[key]))), f"{where}/{key} non è un URL")

    legal = doc.get("legal")
    need(isinstance(legal, dict) and set(legal) <= {"license", "mainCopyrightOwner", "repoOwner", "authorsFile"},
         "legal: mappa con chiavi note")
    need(isinstance(legal, dict) and legal.get("license") in SPDX, "legal/license: identificativo SPDX")

    maintenance = doc.get("maintenance") or {}
    kind = maintenance.get("type")
    need(kind in MAINTENANCE_TYPES, "maintenance/type non ammesso")
    need(set(maintenance) <= {"type", "contractors", "contacts"}, "maintenance: chiavi sconosciute")
    if kind in ("internal", "community"):
        contacts = maintenance.get("contacts")
        need(isinstance(contacts, list) and len(contacts) > 0, "maintenance/contacts obbligatori")
        for contact in contacts or []:
            need(isinstance(contact, dict) and isinstance(contact.get("name"), str) and contact["name"].strip(),
                 "maintenance/contacts: name obbligatorio")
            need(set(contact) <= {"name", "email", "affiliation", "phone"}, "contatto: chiavi sconosciute")
    if kind == "contract":
        contractors = maintenance.get("contractors")
        need(isinstance(contractors, list) and len(contractors) > 0, "maintenance/contractors obbligatori")
        for contractor in contractors or []:
            need(bool(contractor.get("name")) and is_date(contractor.get("until", "")), "contractor: name e until")
    else:
        need("contractors" not in maintenance, "contractors solo con maintenance/type: contract")

    localisation = doc.get("localisation") or {}
    need(isinstance(localisation.get("localisationReady"), bool), "localisation/localisationReady: booleano")
    languages = localisation.get("availableLanguages")
    need(isinstance(languages, list) and len(languages) > 0 and all(BCP47.match(str(x)) for x in languages),
         "localisation/availableLanguages: lingue BCP 47")

    depends = doc.get("dependsOn")
    if depends is not None:
        need(set(depends) <= {"open", "proprietary", "hardware"}, "dependsOn: chiavi sconosciute")
        for group in depends.values():
            for dependency in group:
                need(isinstance(dependency.get("name"), str) and dependency["name"], "dipendenza senza name")
                need(set(dependency) <= {"name", "versionMin", "versionMax", "version", "optional"},
                     "dipendenza: chiavi sconosciute")
                if "optional" in dependency:
                    need(isinstance(dependency["optional"], bool), "dipendenza: optional booleano")
                for key in ("versionMin", "versionMax", "version"):
                    if key in dependency:
                        need(isinstance(dependency[key], str), f"dipendenza: {key} deve essere una stringa")

    for key in ("IT", "it"):
        section = doc.get(key)
        if section is None:
            continue
        need(set(section) <= {"countryExtensionVersion", "conforme", "piattaforme", "riuso"},
             f"{key}: chiavi sconosciute")
        need(section.get("countryExtensionVersion") in ("0.2", "1.0"), f"{key}/countryExtensionVersion: \"1.0\"")
        conforme = section.get("conforme") or {}
        need(set(conforme) <= IT_CONFORME and all(isinstance(v, bool) for v in conforme.values()),
             f"{key}/conforme: chiavi note e booleane")
        piattaforme = section.get("piattaforme") or {}
        need(set(piattaforme) <= IT_PIATTAFORME and all(isinstance(v, bool) for v in piattaforme.values()),
             f"{key}/piattaforme: chiavi note e booleane")
        riuso = section.get("riuso") or {}
        need(set(riuso) <= {"codiceIPA"}, f"{key}/riuso: chiavi sconosciute")
        if "codiceIPA" in riuso:
            need(bool(re.fullmatch(r"[a-z0-9_]+", str(riuso["codiceIPA"]))), f"{key}/riuso/codiceIPA non valido")
    return errors


@pytest.fixture(scope="module")
def publiccode() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "publiccode.yml").read_text(encoding="utf-8"))


def test_publiccode_is_valid(publiccode):
    assert validate(publiccode) == []


def test_publiccode_agrees_with_the_project(publiccode, tmp_path, monkeypatch):
    monkeypatch.delenv("TAVOLI_SOURCE_URL", raising=False)
    config = load_config({"SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    assert publiccode["name"] == "Tavoli"
    assert publiccode["url"] == config["SOURCE_CODE_URL"]
    assert publiccode["platforms"] == ["web"] and publiccode["softwareType"] == "standalone/web"
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert publiccode["legal"]["license"] == pyproject["project"]["license"] == "EUPL-1.2"
    assert set(publiccode["description"]) == {"it", "en"}
    assert publiccode["localisation"]["availableLanguages"] == list(config["LANGUAGES"])
    assert publiccode["localisation"]["localisationReady"] is True
    assert publiccode["IT"]["countryExtensionVersion"] == "1.0"


@pytest.mark.parametrize("breakage, expected", [
    (lambda d: d.pop("url"), "chiavi obbligatorie mancanti"),
    (lambda d: d.update(publiccodeYmlVersion=0.4), "publiccodeYmlVersion"),
    (lambda d: d.update(categories=["participation"]), "categorie non ammesse"),
    (lambda d: d.update(developmentStatus="alpha"), "developmentStatus"),
    (lambda d: d["description"]["it"].update(shortDescription="x" * 151), "shortDescription"),
    (lambda d: d["description"]["en"].update(longDescription="troppo corta"), "longDescription"),
    (lambda d: d["description"]["en"].update(features=[]), "features"),
    (lambda d: d["maintenance"].pop("contacts"), "maintenance/contacts"),
    (lambda d: d["localisation"].update(localisationReady="yes"), "localisationReady"),
    (lambda d: d["IT"]["conforme"].update(accessibile=True), "conforme"),
    (lambda d: d.update(tags=["x"]), "chiavi sconosciute"),
])
def test_the_validator_catches_violations(publiccode, breakage, expected):
    import copy

    broken = copy.deepcopy(publiccode)
    breakage(broken)
    errors = validate(broken)
    assert any(expected in e for e in errors), errors


def test_license_is_the_eupl_1_2_text():
    text = (PROJECT_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("EUROPEAN UNION PUBLIC LICENCE v. 1.2")
    assert "EUPL © the European Union 2007, 2016" in text
    for heading in ("1. Definitions", "5. Obligations of the Licensee", "15. Applicable Law", "Appendix"):
        assert heading in text
    assert "European Union Public Licence (EUPL) v. 1.1, v. 1.2" in text
