"""The fixed texts of the procedure: what an applicant declares, the licence of the open data and
the public register an RUP consults.

The declarations are legal texts (DPR 445/2000): stored with each application exactly as declared,
in Italian, the language of the procedure — never translated.
"""
from __future__ import annotations

DECLARATIONS: tuple[tuple[str, str], ...] = (
    ("veridicita", "Consapevole delle sanzioni penali previste dall'art. 76 del DPR 445/2000 per le "
                   "dichiarazioni mendaci, dichiaro ai sensi degli artt. 46 e 47 del medesimo DPR che i dati "
                   "indicati in questa candidatura sono veritieri."),
    ("poteri", "Dichiaro di essere il legale rappresentante dell'organizzazione oppure di agire in base a "
               "una procura valida, allegata alla candidatura."),
    ("requisiti", "Dichiaro che l'organizzazione possiede i requisiti di partecipazione indicati "
                  "nell'avviso e, se ente del Terzo settore, che è iscritta al RUNTS nella sezione indicata "
                  "o si trova nella condizione transitoria dichiarata."),
    ("territorio", "Dichiaro che l'organizzazione opera nel territorio dell'Ambito e nelle aree di "
                   "intervento dei tavoli scelti."),
    ("avviso", "Dichiaro di aver letto l'avviso e di accettarne le condizioni, comprese le modalità di "
               "svolgimento dei tavoli e la pubblicazione degli esiti."),
    ("gratuita", "Dichiaro di essere consapevole che la partecipazione è gratuita e non attribuisce "
                 "vantaggi nelle successive procedure di co-progettazione o di affidamento."),
    ("privacy", "Dichiaro di aver letto l'informativa sul trattamento dei dati personali (art. 13 del "
                "Regolamento UE 2016/679)."),
)
COI_NONE = ("Dichiaro che non sussistono situazioni, anche potenziali, di conflitto di interessi "
            "dell'organizzazione, del legale rappresentante o della persona delegata rispetto "
            "all'oggetto della procedura.")
COI_DECLARED = ("Dichiaro le seguenti situazioni, anche potenziali, di conflitto di interessi rispetto "
                "all'oggetto della procedura: ")

LICENSE_NAME = "CC BY 4.0"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
RUNTS_SEARCH_URL = "https://servizi.lavoro.gov.it/runts/it-it/Lista-enti"
