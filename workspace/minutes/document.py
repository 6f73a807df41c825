"""A verbale's content laid out as an Italian public office files it, as one ``exports.Document``
that every renderer reads (page preview, PDF/A, ODT, DOCX, HTML), and its presence register as a
sheet (CSV, ODS).

The document speaks Italian whatever the reader's interface language (``italian()``): it is the
official record. Everything is read from the content alone — never from the database — so an
approved verbale renders the same text forever.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask_babel import force_locale

from workspace import exports
from workspace.accounts.labels import KIND_LABELS
from workspace.exports import BulletList, Fields, Heading, Markdown, Paragraph, Run, Table
from workspace.i18n import gettext as _
from workspace.minutes.content import section_titles
from workspace.minutes.labels import (
    BISOGNO_ACTIONS,
    CLOSING,
    OPENING,
    REMARK_STATUS_LABELS,
    ROLE_LABELS,
    SECTION_LABELS,
    WHOLE_VERBALE,
    clock,
    day,
    when,
)
from workspace.needs.labels import KIND_LABELS as ANNOTATION_KIND_LABELS
from workspace.tavoli.labels import PRESENCE_MODE_LABELS, SEDUTA_MODE_LABELS
from workspace.voting.labels import METHOD_SHORT, VALUE_LABELS


@contextmanager
def italian() -> Iterator[None]:
    """The official documents are Italian, whoever downloads them."""
    with force_locale("it"):
        yield


def _who(entry: dict[str, Any] | None) -> str:
    """"Nome Cognome (Organizzazione, Ruolo)", or without the name in the edition for publication."""
    if not entry:
        return "—"
    role = _label(ROLE_LABELS, entry.get("role"), "")
    details = ", ".join(str(x) for x in (entry.get("organisation"), role) if x)
    person = entry.get("person")
    if person:
        return f"{person} ({details})" if details else person
    return details or _("Persona non indicata")


def _label(labels: Mapping[str, object], key: Any, default: str = "—") -> str:
    """A code's label, the code itself when unknown, ``default`` when missing."""
    if key in labels:
        return str(labels[key])
    return str(key) if key else default


def _number(value: Any) -> str:
    if value is None:
        return "—"
    return exports.format_value(value)


def _turnout(turnout: dict[str, Any] | None) -> str:
    if not turnout:
        return "—"
    return _("%(voted)s su %(eligible)s aventi diritto (%(percent)s%%)", voted=turnout.get("voted"),
             eligible=turnout.get("eligible"), percent=_number(turnout.get("percent")))


def title_of(content: dict[str, Any]) -> str:
    header = content.get("header") or {}
    number = (header.get("seduta") or {}).get("number")
    tavolo = (header.get("tavolo") or {}).get("title", "")
    if content.get("schema", "").startswith("tavoli.verbale-errata"):
        return _("Errata corrige del verbale della seduta n. %(n)s – %(t)s", n=number, t=tavolo)
    return _("Verbale della seduta n. %(n)s – %(t)s", n=number, t=tavolo)


def _front(content: dict[str, Any]) -> dict[str, Any]:
    header = content.get("header") or {}
    ambito = (header.get("ambito") or {}).get("name")
    procedure = header.get("procedure") or {}
    return {
        "title": title_of(content),
        "subtitle": _("%(p)s · triennio %(t)s", p=procedure.get("title", ""), t=procedure.get("triennium", "")),
        "organisation": (_("Ambito territoriale di %(a)s – Ufficio di Piano", a=ambito) if ambito
                         else _("Ufficio di Piano")),
    }


def _header_fields(header: dict[str, Any]) -> Fields:
    seduta = header.get("seduta") or {}
    tavolo = header.get("tavolo") or {}
    procedure = header.get("procedure") or {}
    macroaree = "; ".join(f"{m['code']} – {m['name']}" for m in tavolo.get("macroaree", []))
    return Fields([
        (_("Procedura"), procedure.get("title", "")),
        (_("Tavolo tematico"), tavolo.get("title", "")),
        (_("Macroaree"), macroaree or "—"),
        (_("Seduta"), _("n. %(n)s", n=seduta.get("number"))),
        (_("Data"), day(seduta.get("started_at") or seduta.get("convened_for"))),
        (_("Convocata per"), when(seduta.get("convened_for"))),
        (_("Inizio dei lavori"), clock(seduta.get("started_at")) or "—"),
        (_("Chiusura dei lavori"), clock(seduta.get("closed_at")) or "—"),
        (_("Luogo"), seduta.get("place") or "—"),
        (_("Modalità"), _label(SEDUTA_MODE_LABELS, seduta.get("mode"))),
        (_("Facilitazione"), "; ".join(_who(f) for f in header.get("facilitators", [])) or "—"),
        (_("Responsabile del procedimento"), _who(header.get("rup")) if header.get("rup") else "—"),
    ], caption=_("Dati della seduta"))


def _attendance(attendance: dict[str, Any]) -> list:
    rows = attendance.get("rows", [])
    named = any(r.get("person") for r in rows)
    columns = ([_("Persona")] if named else []) + [_("Organizzazione"), _("Ruolo"), _("Modalità"), _("Orario"),
                                                   _("Note")]
    table_rows = []
    for r in rows:
        note = ""
        if r.get("manual"):
            marker = (r.get("marked_by") or {}).get("person")
            note = _("segnata dal facilitatore %(who)s", who=marker) if marker else _("segnata dal facilitatore")
        kind = KIND_LABELS.get(r.get("organisation_kind"))
        organisation = f"{r['organisation']} – {kind}" if r.get("organisation") and kind else (
            r.get("organisation") or "—")
        cells = [organisation, _label(ROLE_LABELS, r.get("role")), _label(PRESENCE_MODE_LABELS, r.get("mode")),
                 f"{clock(r.get('joined_at'))} – {clock(r.get('left_at'))}", note]
        table_rows.append(([r.get("person") or "—"] if named else []) + cells)
    blocks: list = [Heading(_("Registro delle presenze"), 1)]
    if table_rows:
        blocks.append(Table(columns, table_rows, caption=_("Presenze (%(n)s)", n=len(table_rows)),
                            widths=((3.2,) if named else ()) + (4.5, 2.6, 2.2, 2.4, 3)))
    else:
        blocks.append(Paragraph(_("Nessuna presenza registrata.")))
    quorum = attendance.get("quorum") or {}
    summary = _("Persone presenti: %(p)s; organizzazioni presenti: %(o)s.", p=attendance.get("people", 0),
                o=attendance.get("organisations", 0))
    if quorum.get("reached"):
        text = _("Quorum raggiunto alle %(t)s (soglia del %(s)s%% delle %(n)s organizzazioni membro).",
                 t=clock(quorum.get("first_reached_at")), s=quorum.get("threshold_percent"),
                 n=quorum.get("organisations_total"))
    else:
        text = _("Quorum non raggiunto (soglia del %(s)s%% delle organizzazioni membro; al massimo %(m)s "
                 "presenti).", s=quorum.get("threshold_percent"), m=quorum.get("max_organisations_present", 0))
    blocks.append(Paragraph(f"{summary} {text}"))
    return blocks


def _bisogno_line(entry: dict[str, Any]) -> str:
    actions = ", ".join(str(BISOGNO_ACTIONS.get(a, a)) for a in entry.get("actions", []))
    line = f"«{entry.get('title', '')}»"
    if entry.get("organisation"):
        line += f" ({entry['organisation']})"
    if actions:
        line += f": {actions}"
    into = entry.get("into")
    if into:
        line += " " + _("in «%(t)s»", t=into.get("title") or _("bisogno n. %(n)s", n=into.get("bisogno_id")))
    return line


def _vote_blocks(vote: dict[str, Any]) -> list:
    method = vote.get("method") or ""
    blocks: list = [Heading(_("Votazione «%(t)s»", t=vote.get("title", "")), 2)]
    facts = [_("Metodo: %(m)s (versione %(v)s).", m=METHOD_SHORT.get(method, method), v=vote.get("method_version")),
             _("Scrutinio segreto.") if vote.get("secret") else _("Scrutinio palese."),
             _("Una scheda per organizzazione.") if vote.get("ballot_unit") == "organisation"
             else _("Una scheda per persona.")]
    if vote.get("status") != "closed":
        facts.append(_("La votazione non risultava chiusa alla stesura del verbale."))
        blocks.append(Paragraph(" ".join(facts)))
        return blocks
    facts.append(_("Affluenza: %(t)s; schede contate: %(b)s.", t=_turnout(vote.get("turnout")),
                   b=_number(vote.get("ballots"))))
    blocks.append(Paragraph(" ".join(facts)))
    ranking = vote.get("ranking") or []
    if ranking:
        value = str(VALUE_LABELS.get(method, _("Valore")))
        blocks.append(Table([_("Posizione"), _("Voce"), value, _("Note")],
                            [[f"{r['place']}º", r["title"], _number(r.get("score")),
                              _("pari merito") if r.get("tie") else ""] for r in ranking],
                            caption=_("Esito della votazione «%(t)s»", t=vote.get("title", "")), widths=(1.9, 6, 2, 1.7)))
    if vote.get("tie_break"):
        blocks.append(Paragraph(_("Pari merito risolti per sorteggio deterministico (seme «%(s)s») il %(d)s: la "
                                  "graduatoria qui sopra è quella dopo lo spareggio.",
                                  s=vote["tie_break"].get("seed"), d=when(vote["tie_break"].get("at")))))
    return blocks


def _item_blocks(item: dict[str, Any], title: str, narrative: str | None) -> list:
    blocks: list = [Heading(_("Punto %(t)s", t=title), 1)]
    if narrative:
        blocks.append(Markdown(narrative))
    if item.get("bisogni"):
        blocks.append(Heading(_("Bisogni"), 2))
        blocks.append(BulletList([_bisogno_line(b) for b in item["bisogni"]]))
    if item.get("annotations"):
        blocks.append(Heading(_("Annotazioni"), 2))
        rows = [[a.get("title") or _("bisogno n. %(n)s", n=a.get("bisogno_id")),
                 str(ANNOTATION_KIND_LABELS.get(k["kind"], k["kind"])), k["count"], ", ".join(k["organisations"]) or "—"]
                for a in item["annotations"] for k in a.get("kinds", [])]
        blocks.append(Table([_("Bisogno"), _("Tipo"), _("Numero"), _("Organizzazioni")], rows,
                            caption=_("Annotazioni per tipo"), widths=(4, 2.4, 1.2, 4)))
    for vote in item.get("votes", []):
        blocks.extend(_vote_blocks(vote))
    if not (narrative or item.get("bisogni") or item.get("annotations") or item.get("votes")):
        blocks.append(Paragraph(_("Nessun contributo registrato sotto questo punto.")))
    return blocks


def _conflicts(conflicts: list[dict[str, Any]]) -> list:
    blocks: list = [Heading(_("Dichiarazioni di conflitto di interessi"), 1)]
    if not conflicts:
        blocks.append(Paragraph(_("Nessuna dichiarazione di conflitto di interessi.")))
        return blocks
    rows = [[c.get("round_title", ""), c.get("bisogno_title", ""), _who({**c, "role": None}), c.get("note") or "—",
             _("esclude il voto sulla voce") if c.get("excludes") else _("solo dichiarata")] for c in conflicts]
    blocks.append(Table([_("Votazione"), _("Voce"), _("Dichiarante"), _("Nota"), _("Effetto")], rows,
                        caption=_("Interessi dichiarati prima del voto"), widths=(3, 3, 3, 3, 2)))
    return blocks


def _annexes(annexes: dict[str, Any]) -> list:
    items: list = []
    for b in annexes.get("bisogni", []):
        label = _("Bisogno n. %(n)s: «%(t)s»", n=b["id"], t=b["title"])
        items.append([Run(label, href=b["url"])] if b.get("url") else label)
    for v in annexes.get("votes", []):
        label = _("Risultati della votazione «%(t)s»", t=v["title"])
        items.append([Run(label, href=v["url"])] if v.get("url") else label)
    blocks: list = [Heading(_("Allegati"), 1)]
    blocks.append(BulletList(items) if items else Paragraph(_("Nessun allegato.")))
    return blocks


def _review(review: dict[str, Any], titles: dict[str, str]) -> list:
    blocks: list = [Heading(_("Osservazioni dei partecipanti"), 1)]
    if review.get("opened_at"):
        blocks.append(Paragraph(_("La bozza è stata inviata ai partecipanti il %(a)s; osservazioni ammesse fino al "
                                  "%(b)s.", a=when(review["opened_at"]), b=when(review.get("closes_at")))))
    remarks = review.get("remarks") or []
    if not remarks:
        blocks.append(Paragraph(_("Nessuna osservazione presentata.")))
        return blocks
    for n, r in enumerate(remarks, start=1):
        section = titles.get(r.get("section") or "") or str(WHOLE_VERBALE)
        decision = str(REMARK_STATUS_LABELS.get(r.get("status"), r.get("status")))
        if r.get("decided_at"):
            decision += " – " + _("%(who)s, %(d)s", who=_who(r.get("decided_by")), d=when(r["decided_at"]))
        blocks.append(Fields([
            (_("Presentata da"), _who(r)),
            (_("Data"), when(r.get("filed_at"))),
            (_("Sezione"), section),
            (_("Osservazione"), Markdown(r.get("text") or "")),
            (_("Esito"), decision),
            (_("Motivazione"), r.get("reason") or "—"),
        ], caption=_("Osservazione n. %(n)s", n=n)))
    return blocks


def _approval(approval: dict[str, Any] | None) -> list:
    blocks: list = [Heading(_("Approvazione"), 1)]
    if approval:
        blocks.append(Paragraph(_("Verbale approvato il %(d)s da %(who)s.", d=when(approval.get("at")),
                                  who=_who(approval))))
    else:
        blocks.append(Paragraph(_("Bozza: il verbale non è ancora approvato.")))
    return blocks


def verbale_blocks(content: dict[str, Any]) -> list:
    header = content.get("header") or {}
    narrative = content.get("narrative") or {}
    titles = section_titles(content)
    blocks: list = [_header_fields(header)]
    agenda = content.get("agenda") or []
    blocks.append(Heading(_("Ordine del giorno"), 1))
    blocks.append(BulletList([item["title"] or titles[item["key"]] for item in agenda], ordered=True))
    if narrative.get(OPENING):
        blocks += [Heading(str(SECTION_LABELS[OPENING]), 1), Markdown(narrative[OPENING])]
    blocks += _attendance(content.get("attendance") or {})
    for item in agenda:
        blocks += _item_blocks(item, titles[item["key"]], narrative.get(item["key"]))
    if narrative.get(CLOSING):
        blocks += [Heading(str(SECTION_LABELS[CLOSING]), 1), Markdown(narrative[CLOSING])]
    blocks += _conflicts(content.get("conflicts") or [])
    blocks += _annexes(content.get("annexes") or {})
    blocks += _review(content.get("review") or {}, titles)
    blocks += _approval(content.get("approval"))
    return blocks


def errata_blocks(content: dict[str, Any]) -> list:
    corrects = content.get("corrects") or {}
    blocks: list = [_header_fields(content.get("header") or {})]
    blocks.append(Heading(_("Verbale corretto"), 1))
    blocks.append(Paragraph(_("Questa errata corrige corregge il verbale n. %(id)s, approvato il %(d)s, la cui "
                              "impronta SHA-256 è %(h)s. Il verbale originale resta agli atti invariato.",
                              id=corrects.get("id"), d=when(corrects.get("approved_at")), h=corrects.get("sha256"))))
    blocks += [Heading(_("Correzioni"), 1), Markdown(content.get("corrections") or "")]
    blocks += [Heading(_("Motivazione"), 1), Paragraph(content.get("reason") or "—")]
    blocks += _approval(content.get("approval"))
    return blocks


def footer_for(content_sha256: str | None, version: int | None = None, public: bool = False) -> str:
    if content_sha256 is None:
        return _("BOZZA non approvata · versione %(v)s", v=version or 0)
    if public:
        return _("SHA-256 del verbale: %(h)s · edizione per la pubblicazione", h=content_sha256)
    return _("SHA-256 del verbale: %(h)s", h=content_sha256)


def build(content: dict[str, Any], footer: str) -> exports.Document:
    """The document of a verbale or of an errata, in Italian (call inside ``italian()``)."""
    front = _front(content)
    approval = content.get("approval") or {}
    blocks = (errata_blocks(content) if content.get("schema", "").startswith("tavoli.verbale-errata")
              else verbale_blocks(content))
    created = approval.get("at")
    from datetime import datetime

    return exports.Document(title=front["title"], subtitle=front["subtitle"], organisation=front["organisation"],
                            created=datetime.fromisoformat(created) if created else None, footer=footer,
                            blocks=blocks, lang="it")


def render(content: dict[str, Any], fmt: str, footer: str) -> bytes:
    with italian():
        return exports.render(build(content, footer), fmt, allowed=("pdf", "odt", "docx", "html"))


def register_sheet(content: dict[str, Any]) -> exports.Sheet:
    """The presence register alone (CSV, ODS)."""
    with italian():
        columns = [exports.Column("person", _("Persona")), exports.Column("organisation", _("Organizzazione")),
                   exports.Column("kind", _("Tipo di organizzazione")), exports.Column("role", _("Ruolo")),
                   exports.Column("mode", _("Modalità")), exports.Column("joined", _("Entrata")),
                   exports.Column("left", _("Uscita")), exports.Column("manual", _("Segnata dal facilitatore"))]
        rows = [{
            "person": r.get("person") or "", "organisation": r.get("organisation") or "",
            "kind": str(KIND_LABELS.get(r.get("organisation_kind"), "")),
            "role": _label(ROLE_LABELS, r.get("role"), ""),
            "mode": _label(PRESENCE_MODE_LABELS, r.get("mode"), ""),
            "joined": when(r.get("joined_at")), "left": when(r.get("left_at")), "manual": bool(r.get("manual")),
        } for r in (content.get("attendance") or {}).get("rows", [])]
        return exports.Sheet(_("Registro presenze"), columns, rows)
