"""The documento di sintesi laid out once for every format (PDF/A, ODT, DOCX and the page's
preview), from its content: the same blocks, the same charts (server-side SVG, PNG in ODT/DOCX),
each chart followed by its data table for who cannot see it. Always Italian (``italian()``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from workspace import exports
from workspace.exports import BulletList, Fields, Figure, Heading, Markdown, Paragraph, Table
from workspace.i18n import gettext as _
from workspace.minutes.document import italian
from workspace.sintesi.labels import day, disposition_label, kind_label, when
from workspace.voting.labels import METHOD_SHORT

__all__ = ["build", "charts", "footer_for", "italian", "render"]


def title_of(content: dict[str, Any]) -> str:
    procedure = (content.get("header") or {}).get("procedure") or {}
    return _("Documento di sintesi – %(p)s", p=procedure.get("title", ""))


def charts(content: dict[str, Any]) -> dict[str, exports.BarChart]:
    """The three charts, by key: priorities per macroarea, participation per organisation type and
    per tavolo (each may be missing when there is nothing to draw)."""
    found: dict[str, exports.BarChart] = {}
    per_macro = (content.get("priorities") or {}).get("by_macroarea") or []
    if per_macro:
        found["priorita"] = exports.bar_chart(
            _("Priorità per macroarea"), [f"{m['code']} – {m['name']}" for m in per_macro],
            [m["count"] for m in per_macro], name=_("Bisogni prioritari"), category=_("Macroarea"),
            description=_("Numero di bisogni prioritari per macroarea."))
    participation = content.get("participation") or {}
    by_kind = participation.get("by_kind") or []
    if by_kind:
        found["tipo"] = exports.BarChart(
            _("Partecipazione per tipo di organizzazione"), [kind_label(k["kind"]) for k in by_kind],
            (exports.Series(_("Presenze"), [k["presences"] for k in by_kind]),),
            category=_("Tipo di organizzazione"),
            description=_("Presenze registrate alle sedute chiuse, per tipo di organizzazione."))
    by_tavolo = participation.get("by_tavolo") or []
    if by_tavolo:
        found["tavolo"] = exports.BarChart(
            _("Partecipazione per tavolo"), [t["title"] for t in by_tavolo],
            (exports.Series(_("Presenze"), [t["presences"] for t in by_tavolo]),),
            category=_("Tavolo"), description=_("Presenze registrate alle sedute chiuse, per tavolo."))
    return found


def _front(content: dict[str, Any]) -> dict[str, str]:
    header = content.get("header") or {}
    procedure = header.get("procedure") or {}
    ambito = (header.get("ambito") or {}).get("name")
    return {"title": title_of(content),
            "subtitle": _("Co-programmazione (art. 55 d.lgs. 117/2017, DM 72/2021) · triennio %(t)s",
                          t=procedure.get("triennium", "")),
            "organisation": (_("Ambito territoriale di %(a)s – Ufficio di Piano", a=ambito) if ambito
                             else _("Ufficio di Piano"))}


def _header_fields(header: dict[str, Any]) -> Fields:
    procedure = header.get("procedure") or {}
    act = "—"
    if procedure.get("act_number"):
        act = _("n. %(n)s del %(d)s", n=procedure["act_number"], d=day(procedure.get("act_date")))
    return Fields([
        (_("Procedura"), procedure.get("title", "")),
        (_("Triennio"), procedure.get("triennium", "")),
        (_("Atto di avvio"), act),
        (_("Avviso pubblicato il"), day(procedure.get("avviso_published_at")) or "—"),
        (_("Responsabile del procedimento"), header.get("rup") or "—"),
        (_("Tavoli tematici"), "; ".join(t["title"] for t in header.get("tavoli", [])) or "—"),
    ], caption=_("Dati della procedura"))


def _contributions(data: dict[str, Any]) -> list:
    totals = data.get("totals") or {}
    blocks: list = [Heading(_("Contributi ricevuti"), 1),
                    Paragraph(_("Bisogni presentati: %(b)s; annotazioni: %(a)s; organizzazioni che hanno "
                                "contribuito: %(o)s.", b=totals.get("bisogni", 0), a=totals.get("annotations", 0),
                                o=totals.get("organisations", 0)))]
    blocks.append(Table([_("Tavolo"), _("Bisogni"), _("Annotazioni"), _("Organizzazioni")],
                        [[t["title"], t["bisogni"], t["annotations"], t["organisations"]]
                         for t in data.get("by_tavolo", [])],
                        caption=_("Contributi per tavolo"), widths=(5, 1.5, 1.5, 1.5)))
    rows = [[f"{m['code']} – {m['name']}", m["bisogni"], m["annotations"]] for m in data.get("by_macroarea", [])]
    if rows:
        blocks.append(Table([_("Macroarea"), _("Bisogni"), _("Annotazioni")], rows,
                            caption=_("Contributi per macroarea"), widths=(5, 1.5, 1.5)))
    rows = [[kind_label(k["kind"]), k["organisations"], k["bisogni"], k["annotations"]]
            for k in data.get("by_kind", [])]
    if rows:
        blocks.append(Table([_("Tipo di organizzazione"), _("Organizzazioni"), _("Bisogni"), _("Annotazioni")],
                            rows, caption=_("Contributi per tipo di organizzazione"), widths=(4, 1.5, 1.5, 1.5)))
    return blocks


def _priorities(data: dict[str, Any], found: dict[str, exports.BarChart]) -> list:
    blocks: list = [Heading(_("Priorità e disposizioni dell'amministrazione"), 1)]
    items = data.get("items") or []
    if data.get("source") != "planning":
        blocks.append(Paragraph(_("Le priorità sono gli esiti delle votazioni chiuse dei tavoli; l'amministrazione "
                                  "non ha ancora espresso le sue disposizioni.")))
    if not items:
        blocks.append(Paragraph(_("Nessuna priorità espressa dai tavoli.")))
        return blocks
    if "priorita" in found:
        blocks.append(Figure(found["priorita"], _("Figura 1 – Priorità per macroarea")))
    rows = []
    for p in items:
        decided = ""
        if p.get("decided_at"):
            decided = _("%(who)s, %(d)s", who=p.get("decided_by") or "—", d=when(p["decided_at"]))
        rows.append([f"{p['place']}º", p["title"], p.get("macroarea") or "—", p["tavolo"],
                     disposition_label(p.get("disposition")), p.get("reason") or "—", decided or "—"])
    blocks.append(Table([_("Posizione"), _("Bisogno"), _("Macroarea"), _("Tavolo"), _("Disposizione"),
                         _("Motivazione"), _("Decisa da")], rows,
                        caption=_("Priorità con le disposizioni dell'amministrazione"),
                        widths=(1.2, 4, 1.3, 3, 2, 4, 2.5)))
    methods = sorted({p["method"] for p in items if p.get("method")})
    if methods:
        blocks.append(Paragraph(_("Metodi di voto: %(m)s.", m=", ".join(str(METHOD_SHORT.get(m, m))
                                                                          for m in methods))))
    return blocks


def _cards(data: dict[str, Any]) -> list:
    blocks: list = [Heading(_("Schede obiettivo"), 1)]
    items = data.get("items") or []
    if not items:
        blocks.append(Paragraph(_("Nessuna scheda obiettivo è stata redatta a partire dalle priorità.")))
        return blocks
    blocks.append(Table([_("Scheda"), _("Macroarea"), _("Stato"), _("Bisogni a cui risponde")],
                        [[c["title"], c.get("macroarea") or "—", _("pronta") if c.get("ready") else _("incompleta"),
                          "; ".join(c.get("bisogni") or []) or "—"] for c in items],
                        caption=_("Schede obiettivo risultanti"), widths=(4, 1.3, 1.5, 5)))
    return blocks


def _participation(data: dict[str, Any], found: dict[str, exports.BarChart]) -> list:
    totals = data.get("totals") or {}
    blocks: list = [Heading(_("Partecipazione"), 1),
                    Paragraph(_("Sedute tenute: %(s)s; presenze registrate: %(p)s; persone: %(n)s; "
                                "organizzazioni presenti: %(o)s.", s=totals.get("sedute", 0),
                                p=totals.get("presences", 0), n=totals.get("people", 0),
                                o=totals.get("organisations", 0)))]
    if "tipo" in found:
        blocks.append(Figure(found["tipo"], _("Figura 2 – Partecipazione per tipo di organizzazione")))
    if "tavolo" in found:
        blocks.append(Figure(found["tavolo"], _("Figura 3 – Partecipazione per tavolo")))
    blocks.append(Table([_("Tavolo"), _("Sedute"), _("Presenze"), _("Persone"), _("Organizzazioni")],
                        [[t["title"], t["sedute"], t["presences"], t["people"], t["organisations"]]
                         for t in data.get("by_tavolo", [])],
                        caption=_("Partecipazione per tavolo"), widths=(5, 1.3, 1.3, 1.3, 1.5)))
    rows = [[kind_label(k["kind"]), k["organisations"], k["presences"]] for k in data.get("by_kind", [])]
    if rows:
        blocks.append(Table([_("Tipo di organizzazione"), _("Organizzazioni presenti"), _("Presenze")], rows,
                            caption=_("Partecipazione per tipo di organizzazione"), widths=(4, 2, 1.5)))
    return blocks


def _approval(approval: dict[str, Any] | None) -> list:
    blocks: list = [Heading(_("Approvazione"), 1)]
    if approval:
        blocks.append(Paragraph(_("Documento di sintesi approvato il %(d)s da %(who)s, responsabile del "
                                  "procedimento. Con l'approvazione la procedura è conclusa.",
                                  d=when(approval.get("at")), who=approval.get("person") or "—")))
    else:
        blocks.append(Paragraph(_("Bozza: il documento di sintesi non è ancora approvato.")))
    return blocks


def blocks_of(content: dict[str, Any]) -> list:
    found = charts(content)
    blocks: list = [_header_fields(content.get("header") or {}), Heading(_("Introduzione"), 1)]
    intro = content.get("introduction") or ""
    blocks.append(Markdown(intro) if intro.strip() else Paragraph(_("Introduzione non ancora scritta.")))
    blocks += _contributions(content.get("contributions") or {})
    blocks += _priorities(content.get("priorities") or {}, found)
    blocks += _cards(content.get("cards") or {})
    blocks += _participation(content.get("participation") or {}, found)
    if content.get("verbali"):
        blocks += [Heading(_("Verbali approvati"), 1),
                   BulletList([_("%(t)s, seduta n. %(n)s – SHA-256 %(h)s", t=v["tavolo"], n=v["seduta"], h=v["sha256"])
                               for v in content["verbali"]])]
    blocks += _approval(content.get("approval"))
    return blocks


def footer_for(content_sha256: str | None, version: int | None = None) -> str:
    if content_sha256 is None:
        return _("BOZZA non approvata · versione %(v)s", v=version or 0)
    return _("SHA-256 del documento di sintesi: %(h)s", h=content_sha256)


def build(content: dict[str, Any], footer: str) -> exports.Document:
    """The document, in Italian (call inside ``italian()``)."""
    front = _front(content)
    created = (content.get("approval") or {}).get("at")
    return exports.Document(title=front["title"], subtitle=front["subtitle"], organisation=front["organisation"],
                            created=datetime.fromisoformat(created) if created else None, footer=footer,
                            blocks=blocks_of(content), lang="it")


def render(content: dict[str, Any], fmt: str, footer: str) -> bytes:
    with italian():
        return exports.render(build(content, footer), fmt, allowed=("pdf", "odt", "docx", "html"))
