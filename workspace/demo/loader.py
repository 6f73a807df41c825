"""The Pavia demo (Ambito 50008 in Allegato C): real public bodies of the territory, plainly
fictional third-sector bodies, one person for every role, and a co-programming procedure with four
tavoli under way. Loaded once by ``make run``.

Every ETS name ends in "(demo)" and its codice fiscale is made up (valid check digit, no real
body behind it); the public bodies are named as they are, with no personal data of anyone real.
The people are invented. Every figure in the bisogni is marked "dato di esempio": none of them is
an official statistic.

The tavoli, sedute, bisogni and annotations are written through the same services the application
uses (permission checks, contribution window, one numbered event per change), so the demo has a
complete event record: the first seduta of the Anziani tavolo is started, filled with contributions
while it is live, and closed; its timestamps are therefore those of the moment the demo is loaded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workspace.accounts.models import Membership, Organisation, User
from workspace.db import utcnow
from workspace.reference.models import KeyPoint, Macroarea

AMBITO = "50008"
DOMAIN = "pavia.example.org"
DEMO_PASSWORD = "demo-tavoli-pavia"


@dataclass(frozen=True)
class DemoOrg:
    key: str
    name: str
    kind: str
    codice_fiscale: str | None = None
    runts_section: str | None = None
    runts_repertorio: str | None = None


@dataclass(frozen=True)
class DemoUser:
    email_local: str
    name: str
    org_key: str
    role: str  # what the demo login is for, shown by `make run`
    admin: bool = False


def _cf_body_check_digit(body10: str) -> str:
    """Check digit of an 11-digit numeric codice fiscale (same rule as the partita IVA)."""
    total = 0
    for i, ch in enumerate(body10):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def fictional_cf(body10: str) -> str:
    return body10 + _cf_body_check_digit(body10)


ORGS = (
    DemoOrg("udp", "Ufficio di Piano dell'Ambito di Pavia", "ufficio_di_piano"),
    DemoOrg("comune", "Comune di Pavia", "comune"),
    DemoOrg("asst", "ASST di Pavia", "asst"),
    DemoOrg("ats", "ATS di Pavia", "ats"),
    DemoOrg("odv", "Volontari del Ponte Coperto ODV (demo)", "ets", fictional_cf("9600000101"), "odv", "900101"),
    DemoOrg("aps", "APS Cortili Aperti (demo)", "ets", fictional_cf("9600000202"), "aps", "900202"),
    DemoOrg("fondazione", "Fondazione Comunitaria del Ticino Immaginario (demo)", "ets",
            fictional_cf("9600000303"), "enti_filantropici", "900303"),
    DemoOrg("coop", "Cooperativa Sociale Il Telaio (demo)", "ets", fictional_cf("0200000404"),
            "imprese_sociali", "900404"),
    DemoOrg("rete", "Rete Pavia Solidale (demo)", "ets", fictional_cf("9600000505"), "reti_associative", "900505"),
    DemoOrg("soms", "Società di Mutuo Soccorso Borgo Basso (demo)", "ets", fictional_cf("9600000606"),
            "soms", "900606"),
    DemoOrg("altri", "Centro Studi Navigli (demo)", "ets", fictional_cf("9600000707"), "altri_ets", "900707"),
    DemoOrg("sindacato", "Sindacato Pensionati Lomellina (demo)", "sindacato"),
)

USERS = (
    DemoUser("rup", "Giulia Ferri", "udp", "Ufficio di Piano, amministratrice e RUP", admin=True),
    DemoUser("facilitatore", "Marco Bellini", "udp", "facilitatore dei tavoli"),
    DemoUser("odv", "Anna Rossetti", "odv", "delegata ETS (ODV)"),
    DemoUser("aps", "Luca Moretti", "aps", "delegato ETS (APS)"),
    DemoUser("fondazione", "Chiara Galli", "fondazione", "delegata ETS (ente filantropico)"),
    DemoUser("coop", "Davide Conti", "coop", "delegato ETS (impresa sociale)"),
    DemoUser("rete", "Elena Sala", "rete", "delegata ETS (rete associativa)"),
    DemoUser("soms", "Paolo Riva", "soms", "delegato ETS (mutuo soccorso)"),
    DemoUser("centrostudi", "Sara Fontana", "altri", "delegata ETS (altri enti)"),
    DemoUser("comune", "Roberto Villa", "comune", "Comune di Pavia, servizi sociali"),
    DemoUser("asst", "Francesca Negri", "asst", "ASST di Pavia, Distretto"),
    DemoUser("ats", "Giorgio Testa", "ats", "ATS di Pavia"),
    DemoUser("osservatore", "Laura Bruni", "sindacato", "osservatrice (sindacato)"),
)


# --- the co-programming procedure ---------------------------------------------------------------

PROCEDURE_TITLE = "Co-programmazione del Piano di Zona 2025-2027 — Ambito di Pavia"
PROCEDURE_OBJECT = (
    "Individuazione condivisa, con gli enti del Terzo Settore e i soggetti pubblici del territorio, dei "
    "bisogni della comunità, degli interventi possibili e delle risorse disponibili per il Piano di Zona "
    "2025-2027 (art. 55 d.lgs. 117/2017). Procedura dimostrativa: contenuti di fantasia."
)
TAVOLI = ("E", "A", "G", "J")  # creation order: the Anziani tavolo first, it is the richest
TAVOLO_DESCRIPTIONS = {
    "A": "Povertà, emarginazione e inclusione attiva: vecchie e nuove fragilità economiche, reti di "
         "sostegno e accesso alle opportunità.",
    "E": "Anziani: domiciliarità, sostegno ai caregiver, contrasto all'isolamento e accesso ai servizi.",
    "G": "Giovani e minori: povertà educativa, dispersione scolastica e disagio degli adolescenti.",
    "J": "Persone con disabilità: progetto di vita, famiglie e caregiver, filiera fino al Dopo di Noi.",
}
# Which tavoli each demo person sits at (the facilitator sits at all, the RUP acts as administrator).
DELEGATIONS: dict[str, tuple[str, ...]] = {
    "odv": ("A", "E", "J"),
    "aps": ("A", "G"),
    "fondazione": ("A", "E", "G"),
    "coop": ("E", "G", "J"),
    "rete": ("A", "E"),
    "soms": ("E", "J"),
    "centrostudi": ("G", "J"),
    "comune": ("A", "E", "G", "J"),
    "asst": ("A", "E", "G", "J"),
    "ats": ("E", "J"),
}
FACILITATOR = "facilitatore"
OBSERVER = "osservatore"
EXAMPLE = "dato di esempio"


@dataclass(frozen=True)
class DemoBisogno:
    key: str
    author: str  # email_local of the person who raises it
    title: str
    description: str
    target_population: str
    key_points: tuple[str, ...]  # official texts, as in the reference data
    evidence_source: str
    evidence_figure: str
    evidence_year: int
    consolidation: str
    transversal: tuple[str, ...] = ()
    comune_di_pavia: bool = False
    whole_ambito: bool = False


@dataclass(frozen=True)
class DemoAnnotation:
    key: str
    bisogno: str
    author: str
    kind: str
    body: str
    reply_to: str | None = None
    supported_by: tuple[str, ...] = field(default_factory=tuple)


# Raised during the first seduta of the Anziani tavolo.
E_SEDUTA_1 = (
    DemoBisogno(
        "e-soli", "comune",
        "Anziani che vivono soli e senza rete familiare",
        "Cresce il numero di persone anziane che vivono sole, spesso con figli lontani, e che si "
        "rivolgono ai servizi solo quando la situazione è già critica (cadute, ricoveri, sfratti). "
        "Serve intercettarle **prima**, con presenze di prossimità nei quartieri.",
        "Persone di 75 anni e più che vivono sole, in particolare nei quartieri periferici",
        ("Contrasto all'isolamento", "Rafforzamento delle reti sociali"),
        f"Anagrafe comunale, elaborazione dell'Ufficio di Piano ({EXAMPLE})",
        "circa 4.000 persone over 75 sole", 2024, "consolidato", comune_di_pavia=True,
    ),
    DemoBisogno(
        "e-caregiver", "coop",
        "Sostegno ai caregiver familiari di anziani non autosufficienti",
        "Chi assiste un familiare non autosufficiente non sa a chi rivolgersi per orientamento, "
        "sollievo e pratiche. Le informazioni sono sparse fra Comune, ASST, patronati e "
        "associazioni; molti caregiver sono a loro volta anziani.",
        "Caregiver familiari di persone anziane non autosufficienti",
        ("Ruolo delle famiglie e del caregiver", "Personalizzazione dei servizi"),
        f"Rilevazione presso i servizi sociali dei Comuni dell'Ambito ({EXAMPLE})",
        "620 caregiver conosciuti dai servizi", 2024, "consolidato", whole_ambito=True,
    ),
    DemoBisogno(
        "e-domiciliarita", "asst",
        "Tempi di attivazione dell'assistenza domiciliare dopo le dimissioni ospedaliere",
        "Fra la dimissione e l'avvio dell'assistenza domiciliare passano settimane; nel frattempo "
        "la famiglia si organizza da sola o ricorre a un ricovero in struttura.",
        "Persone anziane dimesse dall'ospedale con bisogno di assistenza a domicilio",
        ("Autonomia e domiciliarità", "Rafforzamento degli strumenti di long term care", "Accesso ai servizi"),
        f"Dati di attività dei servizi domiciliari di ASST e Comuni ({EXAMPLE})",
        "attivazione media in 38 giorni", 2023, "consolidato", whole_ambito=True,
    ),
    DemoBisogno(
        "e-digitale", "rete",
        "Accesso ai servizi digitali e agli sportelli per le persone anziane",
        "Prenotazioni, domande di contributo e referti passano sempre più da portali e app. Molte "
        "persone anziane non hanno strumenti o competenze e dipendono da parenti o vicini.",
        "Persone anziane senza competenze digitali o senza familiari vicini",
        ("Accesso ai servizi", "Nuova utenza rispetto al passato"),
        f"Questionario delle associazioni del tavolo a 250 persone anziane ({EXAMPLE})",
        "3 intervistati su 5 non usano da soli l'identità digitale", 2024, "nuovo", comune_di_pavia=True,
    ),
)
# Raised between sedute, after the first one was closed.
E_BETWEEN = (
    DemoBisogno(
        "e-energia", "soms",
        "Anziani soli in difficoltà con bollette e spese per la casa",
        "Agli sportelli arrivano pensionati con redditi bassi che non riescono a pagare utenze e spese "
        "condominiali: una fragilità economica nuova per persone che non si erano mai rivolte ai servizi.",
        "Pensionati soli con reddito basso, spesso proprietari della casa in cui vivono",
        ("Nuova utenza rispetto al passato", "Vulnerabilità multidimensionale"),
        f"Richieste agli sportelli di mutuo soccorso ({EXAMPLE})",
        "140 richieste di aiuto per le utenze", 2024, "nuovo", transversal=("A",), comune_di_pavia=True,
    ),
)
E_ANNOTATIONS = (
    DemoAnnotation("a-dato-soli", "e-soli", "comune", "dato",
                   f"Il servizio di custodia sociale ha seguito nel 2024 circa 300 persone ({EXAMPLE}): "
                   "meno di una su dieci fra quelle che vivono sole."),
    DemoAnnotation("a-esperienza-soli", "e-soli", "odv", "esperienza",
                   "Con le telefonate di compagnia dei nostri volontari vediamo che il contatto regolare "
                   "fa emergere bisogni (spesa, farmaci, visite) che nessuno aveva segnalato.",
                   supported_by=("coop", "rete")),
    DemoAnnotation("a-proposta-soli", "e-soli", "fondazione", "proposta",
                   "Proponiamo di mappare insieme, quartiere per quartiere, chi già fa compagnia e "
                   "consegne, per non sovrapporsi e coprire le zone scoperte.",
                   reply_to="a-esperienza-soli"),
    DemoAnnotation("a-risorsa-soli", "e-soli", "rete", "risorsa",
                   "La rete può mettere a disposizione due sale di quartiere per incontri settimanali e "
                   "un gruppo di volontari per l'accompagnamento."),
    DemoAnnotation("a-criticita-caregiver", "e-caregiver", "coop", "criticita",
                   "Le misure per i caregiver cambiano spesso requisiti e scadenze: le famiglie le "
                   "scoprono tardi e perdono il contributo."),
    DemoAnnotation("a-proposta-caregiver", "e-caregiver", "asst", "proposta",
                   "Uno sportello unico per i caregiver nella Casa di Comunità, con orari serali e "
                   "operatori di Comune, ASST e associazioni a turno.",
                   supported_by=("comune",)),
    DemoAnnotation("a-dato-caregiver", "e-caregiver", "ats", "dato",
                   f"Nelle indagini sul territorio circa un caregiver su tre dichiara di non avere mai "
                   f"avuto un giorno di sollievo nell'ultimo anno ({EXAMPLE})."),
    DemoAnnotation("a-criticita-domicilio", "e-domiciliarita", "odv", "criticita",
                   "Le dimissioni del venerdì pomeriggio sono le più difficili: fino al lunedì nessun "
                   "servizio può attivarsi."),
    DemoAnnotation("a-risorsa-domicilio", "e-domiciliarita", "coop", "risorsa",
                   "La cooperativa può garantire un pronto intervento domiciliare nel fine settimana "
                   "per le prime 72 ore dopo la dimissione, da definire in co-progettazione."),
    DemoAnnotation("a-proposta-digitale", "e-digitale", "rete", "proposta",
                   "Punti di facilitazione digitale nelle biblioteche e nei centri anziani, con giovani "
                   "del servizio civile affiancati da volontari."),
    DemoAnnotation("a-esperienza-energia", "e-energia", "soms", "esperienza",
                   "Molti chiedono aiuto solo dopo il distacco di una utenza: un contatto precoce con "
                   "gli amministratori di condominio aiuterebbe a intercettarli."),
)
OTHER_BISOGNI = {
    "A": (
        DemoBisogno(
            "a-monoreddito", "fondazione",
            "Famiglie monoreddito con figli in difficoltà con affitto e utenze",
            "Famiglie con un solo reddito, spesso da lavoro, che non rientrano nelle misure di sostegno "
            "ma non riescono a coprire affitto e utenze: chiedono aiuto al fondo di comunità.",
            "Famiglie monoreddito con figli minori",
            ("Famiglie monoreddito", "Vulnerabilità multidimensionale"),
            f"Domande al fondo di comunità della fondazione ({EXAMPLE})",
            "310 domande di contributo", 2024, "consolidato", comune_di_pavia=True,
        ),
        DemoBisogno(
            "a-working-poor", "rete",
            "Lavoratori poveri che non si rivolgono ai servizi sociali",
            "Persone con un lavoro precario o a tempo parziale che non si considerano utenti dei servizi "
            "e arrivano agli sportelli solo in emergenza.",
            "Lavoratrici e lavoratori con contratti brevi o a tempo parziale involontario",
            ("Working poors e lavoratori precari", "Presenza di nuovi soggetti a rischio/nuova utenza rispetto "
             "al passato"),
            f"Colloqui agli sportelli della rete ({EXAMPLE})",
            "un accesso su quattro da persone occupate", 2024, "nuovo", whole_ambito=True,
        ),
    ),
    "G": (
        DemoBisogno(
            "g-dispersione", "aps",
            "Abbandoni nel passaggio dalla scuola media alle superiori",
            "Ragazze e ragazzi che si perdono nel primo anno delle superiori, soprattutto nei percorsi "
            "professionali, senza che scuola e servizi se ne accorgano in tempo.",
            "Studenti dai 14 ai 16 anni",
            ("Contrasto e prevenzione della dispersione scolastica",
             "Contrasto e prevenzione della povertà educativa"),
            f"Segnalazioni dei doposcuola dell'associazione ({EXAMPLE})",
            "45 ragazzi seguiti che hanno lasciato la scuola", 2024, "consolidato", comune_di_pavia=True,
        ),
    ),
}
OTHER_ANNOTATIONS = (
    DemoAnnotation("a-esperienza-working-poor", "a-working-poor", "odv", "esperienza",
                   "Al nostro sportello serale vengono soprattutto persone che di giorno lavorano: gli "
                   "orari degli uffici sono già una barriera."),
)
E_SEDUTA_1_AGENDA = (
    "Apertura dei lavori e presentazione dei partecipanti",
    "Dati di contesto sulla popolazione anziana dell'Ambito",
    "Raccolta e discussione dei bisogni",
    "Varie ed eventuali",
)
E_SEDUTA_2_AGENDA = (
    "Approvazione del verbale della seduta n. 1",
    "Approfondimento: il sostegno ai caregiver familiari",
    "Sintesi dei bisogni emersi e criteri per le priorità",
    "Varie ed eventuali",
)
SEDUTA_PLACE = "Sala riunioni dell'Ufficio di Piano, Pavia"
E_SEDUTA_1_PRESENT = ("odv", "fondazione", "coop", "rete", "comune", "asst", "ats")


def _tavoli_of(email_local: str) -> tuple[str, ...]:
    if email_local in (FACILITATOR, OBSERVER):
        return tuple(sorted(TAVOLI))
    return tuple(sorted(DELEGATIONS.get(email_local, ())))


def demo_logins() -> list[tuple[str, str]]:
    """(e-mail, what the login is for), with the demo tavoli each person sits at."""
    logins = []
    for u in USERS:
        codes = _tavoli_of(u.email_local)
        if u.email_local == "rup":
            where = "RUP della procedura demo, vede tutti i tavoli"
        elif u.email_local == FACILITATOR:
            where = "facilita i tavoli " + ", ".join(codes)
        elif u.email_local == OBSERVER:
            where = "osserva i tavoli " + ", ".join(codes)
        else:
            where = "partecipa ai tavoli " + ", ".join(codes)
        logins.append((f"{u.email_local}@{DOMAIN}", f"{u.role} · {where}"))
    return logins


def load_demo(session: Session, only_if_empty: bool = False) -> bool:
    """Create the demo organisations, people and the co-programming procedure with its tavoli.
    Returns False when nothing was done.

    With ``only_if_empty`` the demo goes only into a database with no accounts yet, so it can
    never mix with a real installation's data. Needs the reference data (Ambito, macroaree). The
    caller commits.
    """
    if only_if_empty and session.scalar(select(func.count()).select_from(User)):
        return False
    if session.scalar(select(User).where(User.email == f"rup@{DOMAIN}")):
        return False
    missing = {*TAVOLI} - set(session.scalars(select(Macroarea.code).where(Macroarea.code.in_(TAVOLI))))
    if missing:
        raise RuntimeError("Mancano i dati di riferimento (macroaree): eseguire prima `tavoli reference load`.")

    orgs: dict[str, Organisation] = {}
    for spec in ORGS:
        org = Organisation(
            name=spec.name,
            kind=spec.kind,
            ambito_code=AMBITO,
            codice_fiscale=spec.codice_fiscale,
            runts_section=spec.runts_section,
            runts_repertorio=spec.runts_repertorio,
        )
        session.add(org)
        orgs[spec.key] = org

    # One argon2 hash for the shared demo password: hashing costs ~150 ms each.
    password_hash = PasswordHasher().hash(DEMO_PASSWORD)
    people: dict[str, tuple[User, Organisation]] = {}
    for spec in USERS:
        user = User(
            name=spec.name,
            email=f"{spec.email_local}@{DOMAIN}",
            password_hash=password_hash,
            is_admin=spec.admin,
        )
        session.add(user)
        session.add(Membership(user=user, organisation=orgs[spec.org_key]))
        people[spec.email_local] = (user, orgs[spec.org_key])
    session.flush()
    _load_procedure(session, people)
    # A second procedure, already concluded with its approved documento di sintesi.
    from workspace.sintesi.demo import load_concluded

    users, orgs_of = {k: u for k, (u, _o) in people.items()}, {k: o for k, (_u, o) in people.items()}

    def concluded_steps(procedure, tavoli: dict, now: datetime) -> None:
        art55_steps(session, procedure, tavoli, users, orgs_of, now, applicants=CONCLUDED_APPLICANTS,
                    exclude_one=False, earlier_days=10)

    load_concluded(session, users, orgs_of, AMBITO, concluded_steps)
    return True


# --- the procedure, written through the services -----------------------------------------------------


def _at_local(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """A time of day in Pavia, ``day_offset`` days from today, as an aware datetime."""
    rome = ZoneInfo("Europe/Rome")
    day = utcnow().astimezone(rome).date() + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=rome)


def _load_procedure(session: Session, people: dict[str, tuple[User, Organisation]]) -> None:
    # Imported here: the demo module is also imported by code that needs only the logins.
    from workspace.needs import service as needs
    from workspace.procedures import lifecycle
    from workspace.tavoli import membership
    from workspace.tavoli import service as tavoli

    user = {key: u for key, (u, _org) in people.items()}
    org_of = {key: o for key, (_u, o) in people.items()}
    macroaree = {m.code: m for m in session.scalars(select(Macroarea).where(Macroarea.code.in_(TAVOLI)))}
    key_points = {(k.macroarea_code, k.text): k.id for k in session.scalars(select(KeyPoint))}
    facilitator = user[FACILITATOR]
    admin = user["rup"]  # the Ufficio di Piano's administrator, who institutes the tavoli

    procedure = lifecycle.create_procedure(session, admin, AMBITO, PROCEDURE_TITLE, rup=admin,
                                           object_=PROCEDURE_OBJECT, published=True)
    now = utcnow()
    tavolo = {}
    for code in TAVOLI:
        t = membership.create_tavolo(
            session, admin, procedure, f"Tavolo {code} — {macroaree[code].name}", [code],
            description=TAVOLO_DESCRIPTIONS[code],
            opens_at=now - timedelta(days=7), closes_at=now + timedelta(days=35),
        )
        membership.set_role(session, admin, t, facilitator, "facilitator")
        for person, codes in DELEGATIONS.items():
            # The public bodies sit by right; the ETS' delegates join through the admission below.
            if code in codes and org_of[person].kind != "ets":
                membership.set_role(session, admin, t, user[person], "delegate", org_of[person])
        membership.set_role(session, admin, t, user[OBSERVER], "observer", org_of[OBSERVER])
        tavolo[code] = t
    art55_steps(session, procedure, tavolo, user, org_of, now)

    def bisogno_data(spec: DemoBisogno, code: str) -> dict:
        areas = (code, *spec.transversal)
        ids = []
        for text in spec.key_points:
            found = [key_points[(a, text)] for a in areas if (a, text) in key_points]
            if not found:
                raise RuntimeError(f"Punto chiave non ufficiale nella demo: {text!r} ({', '.join(areas)})")
            ids.append(found[0])
        return {
            "title": spec.title, "description": spec.description, "macroarea": code,
            "transversal": list(spec.transversal), "key_points": ids,
            "target_population": spec.target_population, "evidence_source": spec.evidence_source,
            "evidence_figure": spec.evidence_figure, "evidence_year": spec.evidence_year,
            "consolidation": spec.consolidation, "whole_ambito": spec.whole_ambito,
            "comuni": [org_of["comune"].id] if spec.comune_di_pavia else [],
        }

    bisogni: dict = {}
    annotations: dict = {}

    def raise_bisogni(specs, code: str) -> None:
        for spec in specs:
            bisogni[spec.key], _ev = needs.create_bisogno(session, user[spec.author], tavolo[code],
                                                          bisogno_data(spec, code))

    def annotate(specs) -> None:
        for spec in specs:
            parent = annotations[spec.reply_to].id if spec.reply_to else None
            annotations[spec.key], _ev = needs.add_annotation(session, user[spec.author], bisogni[spec.bisogno],
                                                              spec.kind, spec.body, parent)
            for supporter in spec.supported_by:
                needs.toggle_support(session, user[supporter], annotations[spec.key], True)

    # Tavolo E, seduta n. 1: convened, held (contributions while it is live), closed.
    e = tavolo["E"]
    first = tavoli.create_seduta(session, facilitator, e, now.replace(second=0, microsecond=0), SEDUTA_PLACE,
                                 "mista", list(E_SEDUTA_1_AGENDA))
    tavoli.start_seduta(session, facilitator, first)
    for person in E_SEDUTA_1_PRESENT:
        tavoli.mark_presence(session, facilitator, first, user[person].id, True,
                             "remoto" if person == "ats" else "presenza")
    tavoli.move_agenda(session, facilitator, first, first.agenda[1].id)
    tavoli.move_agenda(session, facilitator, first, first.agenda[2].id)
    raise_bisogni(E_SEDUTA_1, "E")
    annotate(a for a in E_ANNOTATIONS if a.bisogno != "e-energia")
    needs.set_status(session, facilitator, bisogni["e-caregiver"], "in_discussione")
    needs.spotlight(session, facilitator, first, bisogni["e-caregiver"].id)
    tavoli.move_agenda(session, facilitator, first, first.agenda[3].id)
    tavoli.close_seduta(session, facilitator, first)

    # Between sedute: one more bisogno with its annotation, inside the contribution window.
    raise_bisogni(E_BETWEEN, "E")
    annotate(a for a in E_ANNOTATIONS if a.bisogno == "e-energia")

    # Seduta n. 2: convened a few days ahead, ready to be started.
    tavoli.create_seduta(session, facilitator, e, _at_local(5, 15), SEDUTA_PLACE, "mista",
                         list(E_SEDUTA_2_AGENDA))

    for code, specs in OTHER_BISOGNI.items():
        raise_bisogni(specs, code)
    annotate(OTHER_ANNOTATIONS)
    session.flush()
    from workspace.minutes.demo import load_minutes  # the verbali: one reviewed and approved, one draft

    load_minutes(session, user, tavolo)
    from workspace.planning.demo import load_planning  # closed votes, dispositions, four complete cards

    load_planning(session, user, tavolo)
    from workspace.planning.service import publish as publish_planning  # priorities, dispositions, cards

    publish_planning(session, admin, procedure)
    from workspace.esiti.demo import load_esiti  # three objectives of 2021-2023 with their esiti

    load_esiti(session, admin, procedure)


# --- the art. 55 procedure before the tavoli: act, avviso, applications, admissions ------------------

ACT_NUMBER = "DEMO-118/2025"
AVVISO = {
    "avviso_eligibility": (
        "Possono partecipare gli enti del Terzo Settore iscritti al RUNTS (o in una delle condizioni transitorie "
        "previste dalla legge) che operano nell'Ambito territoriale di Pavia nelle aree dei tavoli."),
    "avviso_application": (
        "La manifestazione di interesse si presenta con il modulo online, indicando i tavoli a cui si vuole "
        "partecipare, la persona delegata e le dichiarazioni richieste (veridicità dei dati, conflitto di "
        "interessi)."),
    "avviso_conduct": (
        "I tavoli tematici si riuniscono in presenza e a distanza nei mesi successivi all'ammissione; i "
        "contributi si raccolgono anche fra una seduta e l'altra."),
    "avviso_closure": (
        "Il procedimento si conclude con il documento di sintesi approvato dall'Ufficio di Piano, che raccoglie "
        "le priorità emerse e le disposizioni dell'amministrazione."),
    "avviso_transparency": (
        "Avviso, elenco degli enti ammessi, verbali approvati e priorità sono pubblicati nella pagina pubblica "
        "della procedura per cinque anni."),
}
# Whose organisation applied, in the order received; the coop declares a conflict of interest.
APPLICANTS = ("odv", "fondazione", "coop", "aps", "rete", "soms", "centrostudi")
CONCLUDED_APPLICANTS = ("odv", "coop", "soms")  # the second procedure's tavolo J
COOP_COI = ("La cooperativa gestisce in convenzione con il Comune di Pavia il servizio di assistenza domiciliare "
            "(SAD) discusso al tavolo Anziani.")
ADMITTED = "Requisiti verificati: ente iscritto al RUNTS, dichiarazioni complete, opera nell'Ambito di Pavia."
# One more application, from outside the Ambito: not admitted, with the reason.
EXCLUDED_ORG = DemoOrg("lungoticino", "Associazione Amici del Lungoticino (demo)", "ets", fictional_cf("9600000808"),
                       "odv", "900808")
EXCLUDED_REASON = ("L'associazione ha sede e opera soltanto nella provincia di Novara, fuori dall'Ambito di Pavia: "
                   "non ha il requisito territoriale della sezione «Chi può partecipare» dell'avviso.")


def _act_pdf(title: str) -> bytes:
    """The initiation act as a PDF: a short determinazione, marked as demo content."""
    from workspace.exports import Document, Paragraph, render

    return render(Document(
        title=f"Determinazione n. {ACT_NUMBER}", subtitle=title, organisation="Ufficio di Piano dell'Ambito di Pavia",
        blocks=(Paragraph("Avvio del procedimento di co-programmazione ai sensi dell'art. 55 del d.lgs. 117/2017 "
                          "e approvazione dell'avviso pubblico di manifestazione di interesse."),
                Paragraph("Documento dimostrativo: contenuti di fantasia, nessun valore amministrativo."))), "pdf")


def art55_steps(session: Session, procedure, tavolo: dict, user: dict[str, User], org_of: dict[str, Organisation],
                now: datetime, *, applicants: tuple[str, ...] = APPLICANTS, exclude_one: bool = True,
                earlier_days: int = 0) -> None:
    """Act, avviso, applications and admissions, through the procedures area's services: the ETS of
    ``applicants`` (their delegates' e-mail local parts) apply for their tavoli among ``tavolo`` (by
    macroarea letter) and are admitted, so their delegates join those tavoli; with ``exclude_one``
    an organisation from outside the Ambito applies too and is not admitted. Each step is dated in
    the past with the services' own clock (``now=``): the avviso was published 50 days ago (plus
    ``earlier_days``), the window for applications closed 30 days ago and the tavoli have been in
    progress for 25 days; the steps' audit entries and the tavoli's record carry the moment the demo
    loads."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from workspace.procedures import admissions, applications, files, lifecycle
    from workspace.procedures.texts import DECLARATIONS

    admin = procedure.rup
    day = timedelta(days=1)
    now = now - earlier_days * day
    stored = files.save_upload(FileStorage(BytesIO(_act_pdf(procedure.title)), filename="determina-avvio-demo.pdf"),
                               "l'atto di avvio")
    lifecycle.update_act(session, admin, procedure, number=ACT_NUMBER, act_date=(now - 55 * day).date(),
                         stored=stored)
    lifecycle.update_avviso(session, admin, procedure, sections={"object": procedure.object, **AVVISO}, published_at=now - 50 * day,
                            deadline=now - 30 * day, allowed_kinds=["ets"])
    lifecycle.transition(session, admin, procedure, "avviso_pubblicato", now=now - 51 * day)
    lifecycle.transition(session, admin, procedure, "candidature", now=now - 50 * day)

    def form(org: DemoOrg, person_name: str, email: str, codes: tuple[str, ...], coi: str = "") -> dict:
        return {
            "organisation_name": org.name, "organisation_kind": "ets", "codice_fiscale": org.codice_fiscale,
            "registration": "runts", "runts_section": org.runts_section, "runts_repertorio": org.runts_repertorio,
            "organisation_email": f"segreteria.{org.key}@{DOMAIN}", "legal_rep_name": person_name,
            "legal_rep_role": "Presidente", "delegate_name": person_name, "delegate_email": email,
            "declarations": {key: True for key, _text in DECLARATIONS},
            "coi": "declared" if coi else "none", "coi_details": coi,
            "tavoli": [str(tavolo[c].id) for c in codes if c in tavolo],
        }

    by_org = {spec.key: spec for spec in ORGS}
    org_key = {u.email_local: u.org_key for u in USERS}
    received = []
    for n, person in enumerate(applicants):
        spec = by_org[org_key[person]]
        data = form(spec, user[person].name, user[person].email, DELEGATIONS[person],
                    COOP_COI if person == "coop" else "")
        application, _created = applications.submit_application(session, procedure, data,
                                                                 now=now - (45 - 2 * n) * day)
        received.append(application)
    late = None
    if exclude_one:
        late, _created = applications.submit_application(
            session, procedure, form(EXCLUDED_ORG, "Carlo Bassi", f"presidenza.lungoticino@{DOMAIN}",
                                     tuple(tavolo)[:1]), now=now - 31 * day)
    for number, application in enumerate([*received, *([late] if late else [])], start=1):
        applications.set_protocol(session, admin, application, f"DEMO-{procedure.id}.{number:03d}/2025")

    lifecycle.transition(session, admin, procedure, "ammissioni", now=now - 29 * day)
    for application in received:
        admissions.decide(session, admin, application, "admitted", ADMITTED, now=now - 27 * day)
    if late is not None:
        admissions.decide(session, admin, late, "excluded", EXCLUDED_REASON, now=now - 27 * day)
    lifecycle.transition(session, admin, procedure, "tavoli_in_corso", now=now - 25 * day)
