"""The esiti of the Pavia demo: three objectives of the (fictional) 2021-2023 Piano di Zona, entered
by the RUP through the same service the pages use, showing three different bands."""
from __future__ import annotations

from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.esiti import service
from workspace.procedures.models import Procedure

OBJECTIVES = (
    {
        "obiettivo": "Potenziare l'assistenza domiciliare per gli anziani fragili",
        "macroarea": "Domiciliarità",
        "azioni_programmate": 8, "azioni_realizzate": 6,
        "valutazione_utenti": "Questionario a 140 famiglie: 81% soddisfatte dei tempi di attivazione.",
        "adeguatezza_risorse": "Sufficientemente adeguato",
        "risorse_preventivate": "240.000,00", "risorse_pagate": "228.500,00",
        "criticita": "Turn-over degli operatori socio-sanitari; piano di miglioramento: accordo quadro con le "
                     "cooperative per la continuità del personale.",
        "risposta_bisogno": "SI", "risposta_bisogno_motivazione": "Tempi medi di attivazione scesi da 21 a 9 giorni.",
        "continuita_2018_2020": "SI",
        "riproposto_2025_2027": "SI", "riproposto_motivazione": "La popolazione over 75 dell'Ambito continua a "
                                                                "crescere.",
    },
    {
        "obiettivo": "Sportello unico per l'inclusione lavorativa delle persone fragili",
        "macroarea": "Interventi connessi alle politiche per il lavoro",
        "azioni_programmate": 5, "azioni_realizzate": 5,
        "valutazione_utenti": "Colloqui di restituzione con 35 persone accolte.",
        "adeguatezza_risorse": "Adeguato",
        "risorse_preventivate": "80.000,00", "risorse_pagate": "80.000,00",
        "criticita": "Nessuna criticità rilevante.",
        "risposta_bisogno": "SI", "risposta_bisogno_motivazione": "22 tirocini attivati, 9 trasformati in contratti.",
        "continuita_2018_2020": "NO",
        "riproposto_2025_2027": "SI", "riproposto_motivazione": "Confluisce nella macroarea A (contrasto alla povertà).",
    },
    {
        "obiettivo": "Rete di custodi sociali nei quartieri popolari",
        "macroarea": "Politiche abitative",
        "azioni_programmate": 6, "azioni_realizzate": 2,
        "valutazione_utenti": "",
        "adeguatezza_risorse": "Inadeguato",
        "risorse_preventivate": "60.000,00", "risorse_pagate": "71.250,00",
        "criticita": "Costi di coordinamento sottostimati; il servizio è partito solo in due quartieri.",
        "risposta_bisogno": "NO", "risposta_bisogno_motivazione": "Copertura troppo ridotta per misurare un cambiamento.",
        "continuita_2018_2020": "NO",
        "riproposto_2025_2027": "NO", "riproposto_motivazione": "Le sue azioni entrano nell'obiettivo sulla "
                                                                "domiciliarità.",
    },
)


def load_esiti(session: Session, rup: User, procedure: Procedure) -> None:
    for row in OBJECTIVES:
        service.create(session, rup, procedure, dict(row))
