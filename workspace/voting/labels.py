"""The words of the votazioni, in one place: names of methods and of what they rank by, ballot units,
secrecy, visibility, timing, statuses and breakdown groups; the strings the voting pages'
JavaScript shows; a ballot in words; a date as the messages write it. Italian first, English
through the catalogue: forms, pages, live messages and the services' refusals all read them here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from workspace.forms import ROME
from workspace.i18n import gettext as _
from workspace.i18n import lazy_gettext as _l
from workspace.i18n import per_locale

METHOD_LABELS = {
    "approval": _l("Approvazione: si scelgono le voci da sostenere"),
    "dot": _l("Punti da distribuire fra le voci"),
    "score": _l("Punteggio da 1 a 5 per criterio"),
    "borda": _l("Classifica, conteggio di Borda"),
    "schulze": _l("Classifica, metodo Schulze (confronti a coppie)"),
}
METHOD_SHORT = {
    "approval": _l("Approvazione"),
    "dot": _l("Punti"),
    "score": _l("Punteggio per criteri"),
    "borda": _l("Classifica (Borda)"),
    "schulze": _l("Classifica (Schulze)"),
}
METHOD_HELP = {
    "approval": _l("Ogni votante approva fino a k voci; vince chi raccoglie più approvazioni."),
    "dot": _l("Ogni votante distribuisce i suoi punti, con un massimo per voce; vince chi somma più punti."),
    "score": _l("Ogni votante dà da 1 a 5 su ogni criterio; conta la media ponderata dei criteri. "
                "Una voce non valutata non vale zero: semplicemente non entra nella media."),
    "borda": _l("Ogni votante ordina le voci: con n voci la prima prende n−1 punti, la seconda n−2 e così via."),
    "schulze": _l("Ogni votante ordina le voci; si confrontano tutte le coppie e vince chi batte ogni altra "
                  "(il metodo più robusto quando le preferenze sono vicine)."),
}
#: What the number a method ranks by is called, in the results.
VALUE_LABELS = {
    "approval": _l("Approvazioni"),
    "dot": _l("Punti"),
    "score": _l("Punteggio medio ponderato (1–5)"),
    "borda": _l("Punti Borda"),
    "schulze": _l("Confronti vinti"),
}
UNIT_LABELS = {
    "person": _l("Una scheda per persona"),
    "organisation": _l("Una scheda per organizzazione (vota uno dei suoi delegati; l'ultima scheda palese "
                       "sostituisce la precedente)"),
}
SECRECY_LABELS = {
    "palese": _l("Palese: la scheda è attribuita e si può modificare fino alla chiusura"),
    "segreto": _l("Segreto: la scheda è anonima e, una volta inviata, non si può più cambiare"),
}
PARTIAL_LABELS = {
    "affluenza": _l("Solo l'affluenza"),
    "parziali": _l("Affluenza e risultati parziali (solo con voto palese)"),
}
BREAKDOWN_LABELS = {
    "auto": _l("Predefinito: sì con il voto palese, no con il voto segreto"),
    "si": _l("Sì"),
    "no": _l("No"),
}
TIMING_LABELS = {
    "seduta": _l("Dal vivo, durante una seduta"),
    "asincrona": _l("Asincrona, fra una seduta e l'altra"),
}
#: The stored statuses, and "closing": open but past its closing time, not yet counted (see phase()).
STATUS_LABELS = {"draft": _l("Bozza"), "open": _l("Aperta"), "closing": _l("Chiusura in corso"),
                 "closed": _l("Chiusa")}
GROUP_LABELS = {"ets": _l("Enti del Terzo settore"), "pubblico": _l("Enti pubblici"), "altri": _l("Altri")}

_DATE = "%d/%m/%Y %H:%M"


def when(moment: datetime) -> str:
    """A date and time as the messages write it: Rome time, ``dd/mm/yyyy hh:mm``."""
    return moment.astimezone(ROME).strftime(_DATE)


def page_labels() -> dict[str, Any]:
    """The label tables the voting templates read (``labels.methods[...]``...)."""
    return {
        "methods": METHOD_LABELS, "methods_short": METHOD_SHORT, "method_help": METHOD_HELP,
        "values": VALUE_LABELS, "units": UNIT_LABELS, "secrecy": SECRECY_LABELS, "partial": PARTIAL_LABELS,
        "breakdown": BREAKDOWN_LABELS, "timing": TIMING_LABELS, "status": STATUS_LABELS, "groups": GROUP_LABELS,
    }


def _plain(labels: dict[str, Any]) -> dict[str, str]:
    """Lazy labels as plain strings in the current language (for JSON)."""
    return {k: str(v) for k, v in labels.items()}


def script_messages() -> dict[str, Any]:
    """Every string the votazioni's JavaScript shows (console, big screen, ballot, results). Built once
    per language."""
    return per_locale("voting.script_messages", _script_messages)


def _script_messages() -> dict[str, Any]:
    return {
        "turnout": _("Hanno votato %(voted)s aventi diritto su %(eligible)s (%(percent)s%%)"),
        "turnout_short": _("%(voted)s su %(eligible)s"),
        "status": _plain(STATUS_LABELS),
        "methods": _plain(METHOD_SHORT),
        "values": _plain(VALUE_LABELS),
        "open": _("Apri la votazione"),
        "close": _("Chiudi la votazione"),
        "ballot": _("Scheda"),
        "results": _("Risultati"),
        "all_rounds": _("Tutte le votazioni"),
        "ask_close": _("Chiudere la votazione «%(title)s»? Da quel momento le schede non sono più accettate."),
        "no_rounds": _("Nessuna votazione in preparazione o aperta."),
        "vote_opened": _("Votazione aperta: %(title)s"),
        "vote_closed": _("Votazione chiusa: %(title)s"),
        "partial": _("Risultati parziali"),
        "final": _("Risultati"),
        "turnout_only": _("Durante la votazione si vede solo l'affluenza: i risultati alla chiusura."),
        "tie": _("pari merito"),
        "place": _("%(place)sº"),
        "live_round": _("Dal vivo in seduta"),
        "async_round": _("Asincrona, chiude il %(date)s"),
        "secret": _("Voto segreto"),
        "open_ballot": _("Voto palese"),
        "chart": _("Grafico: %(title)s"),
        "approval_count": _("%(n)s di %(k)s voci scelte"),
        "approval_over": _("Hai scelto %(n)s voci: al massimo %(k)s. Togline %(extra)s."),
        "dot_left": _("Punti rimasti: %(left)s di %(total)s"),
        "dot_over": _("Hai distribuito %(used)s punti: al massimo %(total)s."),
        "rank_duplicate": _("La posizione %(p)s è data a più voci: %(titles)s. Ogni posizione va a una voce sola."),
        "rank_preview": _("La tua classifica: %(list)s"),
        "rank_empty": _("Nessuna voce ancora classificata."),
        "voted": _("Hai votato."),
        "voted_org": _("La tua organizzazione ha votato."),
        "replaced": _("Scheda sostituita: conta l'ultima."),
        "closed_go": _("La votazione è chiusa: ecco i risultati."),
        "fix_ballot": _("Correggi la scheda prima di inviarla."),
    }


def describe_ballot(method: str, content: dict[str, Any], titles: dict[str, str]) -> str:
    """A ballot in words, for the list of open ballots."""
    def title(b: Any) -> str:
        return titles.get(str(b), str(b))

    if method == "approval":
        chosen = content.get("approve", [])
        return _("approva: %(l)s", l="; ".join(title(b) for b in chosen)) if chosen else _("scheda bianca")
    if method == "dot":
        points = content.get("points", {})
        return "; ".join(f"{title(b)}: {n}" for b, n in points.items()) if points else _("scheda bianca")
    if method == "score":
        scores = content.get("scores", {})
        parts = []
        for b, given in scores.items():
            detail = ", ".join(f"{c} {v}" for c, v in given.items()) if isinstance(given, dict) else str(given)
            parts.append(f"{title(b)} ({detail})")
        return "; ".join(parts) if parts else _("scheda bianca")
    ranking = content.get("ranking", [])
    return " › ".join(f"{n}. {title(b)}" for n, b in enumerate(ranking, start=1)) if ranking else _("scheda bianca")
