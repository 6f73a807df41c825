"""Labels of the audit trail's page and export: what each recorded action and object type is called.
Italian here, English through the catalogue. An action or object type with no label here (a new one
from another area) is shown by its code, which is always shown beside the label anyway."""
from __future__ import annotations

from workspace.i18n import lazy_gettext as _l

ACTION_LABELS = {
    # the tavolo's numbered events (workspace.record)
    "tavolo.created": _l("Tavolo istituito"),
    "member.added": _l("Organizzazione aggiunta al tavolo"),
    "member.removed": _l("Organizzazione tolta dal tavolo"),
    "role.set": _l("Ruolo assegnato"),
    "role.removed": _l("Ruolo tolto"),
    "seduta.convened": _l("Seduta convocata"),
    "seduta.started": _l("Seduta avviata"),
    "seduta.closed": _l("Seduta chiusa"),
    "agenda.moved": _l("Punto all'ordine del giorno cambiato"),
    "timer.set": _l("Timer impostato"),
    "spotlight.set": _l("Bisogno in evidenza"),
    "presence.joined": _l("Ingresso in seduta"),
    "presence.left": _l("Uscita dalla seduta"),
    "presence.marked": _l("Presenza segnata dal facilitatore"),
    "bisogno.created": _l("Bisogno inserito"),
    "bisogno.updated": _l("Bisogno modificato"),
    "bisogno.status": _l("Stato del bisogno cambiato"),
    "bisogno.merged": _l("Bisogno accorpato"),
    "annotation.created": _l("Annotazione inserita"),
    "annotation.deleted": _l("Annotazione eliminata"),
    "annotation.supported": _l("Sostegno a un'annotazione"),
    "vote.created": _l("Votazione preparata"),
    "vote.updated": _l("Votazione modificata"),
    "vote.opened": _l("Votazione aperta"),
    "vote.interest_declared": _l("Conflitto d'interesse dichiarato"),
    "vote.closed": _l("Votazione chiusa"),
    "vote.tie_break": _l("Spareggio"),
    # administrative actions (signals.action_recorded)
    "procedure.created": _l("Procedura creata"),
    "procedure.act_updated": _l("Atto di avvio aggiornato"),
    "procedure.rup_set": _l("RUP designato"),
    "procedure.avviso_updated": _l("Avviso aggiornato"),
    "procedure.status_changed": _l("Fase della procedura cambiata"),
    "publication.created": _l("Pubblicazione"),
    "publication.window_changed": _l("Periodo di pubblicazione cambiato"),
    "application.submitted": _l("Candidatura ricevuta"),
    "application.protocol_set": _l("Protocollo della candidatura"),
    "application.admitted": _l("Candidatura ammessa"),
    "application.excluded": _l("Candidatura esclusa"),
    "application.invitation_accepted": _l("Invito del delegato accettato"),
    "login.succeeded": _l("Accesso"),
    "login.failed": _l("Accesso non riuscito"),
    "logout": _l("Uscita"),
    "logout.everywhere": _l("Uscita da tutti i dispositivi"),
    "password.changed": _l("Password cambiata"),
    "password.change_failed": _l("Cambio password non riuscito"),
    "password.reset": _l("Password reimpostata con un link"),
    "user.created": _l("Account creato"),
    "invitation.sent": _l("Invito inviato"),
    "invitation.accepted": _l("Invito accettato"),
    "organisation.created": _l("Organizzazione creata"),
    "membership.added": _l("Delega di un'organizzazione"),
    "admin.granted": _l("Nominato amministratore"),
    "account.deleted": _l("Account eliminato (pseudonimizzato)"),
    "retention.applied": _l("Regole di conservazione applicate"),
    "audit.exported": _l("Registro di audit esportato"),
    "esiti.created": _l("Obiettivo 2021-2023 inserito negli esiti"),
    "esiti.updated": _l("Esiti di un obiettivo 2021-2023 modificati"),
    "esiti.deleted": _l("Obiettivo 2021-2023 eliminato dagli esiti"),
    "esiti.imported": _l("Obiettivi 2021-2023 importati da file"),
    "esiti.exported": _l("Tabella esiti esportata"),
}

OBJECT_LABELS = {
    "tavolo": _l("Tavolo"),
    "seduta": _l("Seduta"),
    "bisogno": _l("Bisogno"),
    "annotation": _l("Annotazione"),
    "vote_round": _l("Votazione"),
    "procedure": _l("Procedura"),
    "publication_item": _l("Pubblicazione"),
    "application": _l("Candidatura"),
    "user": _l("Persona"),
    "organisation": _l("Organizzazione"),
    "audit": _l("Registro di audit"),
    "esiti_objective": _l("Obiettivo 2021-2023 (esiti)"),
}


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def object_label(code: str | None) -> str:
    if not code:
        return ""
    label = OBJECT_LABELS.get(code)
    return str(label) if label is not None else code
