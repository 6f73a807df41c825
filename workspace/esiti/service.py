"""The esiti of the previous programming: the columns of the table (shared by the form, the import,
the exports and the API), the checking of a row, and the writes (create, update, delete, import).

Every write checks the permission inside (``permissions.require_edit``), goes in the caller's
transaction and is announced to the audit trail (``signals.action_recorded``). A row that breaks a
rule is refused whole, with one Italian message per field (``Problem.errors``); the import refuses a
whole file that has any bad row (``importing``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workspace import signals
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.esiti import permissions, scale
from workspace.esiti.models import TEXT_MAX, TITLE_MAX, YES_NO, PreviousObjective
from workspace.exports.tables import FORMULA_STARTS
from workspace.i18n import gettext as _
from workspace.problems import Problem, invalid_fields, not_found
from workspace.procedures.models import Procedure

MAX_OBJECTIVES = 500
MONEY_MAX = Decimal("999999999999.99")


@dataclass(frozen=True)
class Column:
    """A column of the table as files carry it: ``key`` (JSON key, import header), ``header`` (the
    Italian header of CSV/XLSX/ODS, also accepted on import), ``attr`` (the model's attribute),
    ``kind`` (text, count, money, yes_no, option, computed) and the official dimension it belongs to."""
    key: str
    header: str
    attr: str | None
    kind: str
    dimension: str | None = None
    max_length: int = TEXT_MAX

    @property
    def computed(self) -> bool:
        return self.kind == "computed"


# File headers are Italian whatever the reader's language: the table is an official document.
COLUMNS: tuple[Column, ...] = (
    Column("numero", "N.", "position", "computed"),
    Column("obiettivo", "Obiettivo 2021-2023", "title", "text", max_length=TITLE_MAX),
    Column("macroarea", "Macroarea o area di policy 2021-2023", "macroarea", "text", max_length=200),
    Column("azioni_programmate", "N. azioni programmate", "actions_programmed", "count", "achievement_rate"),
    Column("azioni_realizzate", "N. azioni realizzate", "actions_done", "count", "achievement_rate"),
    Column("grado_raggiungimento_pct", "Grado di raggiungimento (%)", None, "computed", "achievement_rate"),
    Column("fascia_raggiungimento", "Fascia di raggiungimento", None, "computed", "achievement_rate"),
    Column("valutazione_utenti", "Valutazione da parte degli utenti", "user_evaluation", "text", "user_evaluation"),
    Column("adeguatezza_risorse", "Adeguatezza delle risorse umane e strumentali", "resource_adequacy", "option",
           "resource_adequacy"),
    Column("risorse_preventivate", "Risorse preventivate (euro)", "budget_planned", "money", "budget_execution_rate"),
    Column("risorse_pagate", "Risorse impegnate/liquidate (euro)", "budget_paid", "money", "budget_execution_rate"),
    Column("coincidenza_risorse_pct", "Coincidenza risorse (%)", None, "computed", "budget_execution_rate"),
    Column("fascia_coincidenza", "Fascia di coincidenza delle risorse", None, "computed", "budget_execution_rate"),
    Column("criticita", "Criticità rilevate e piano di miglioramento", "critical_issues", "text", "critical_issues"),
    Column("risposta_bisogno", "Ha risposto al bisogno con un cambiamento positivo (SI/NO)", "need_addressed",
           "yes_no", "need_addressed_positive_change"),
    Column("risposta_bisogno_motivazione", "Motivazione della risposta al bisogno", "need_addressed_reason", "text",
           "need_addressed_positive_change"),
    Column("continuita_2018_2020", "In continuità con la programmazione 2018-2020 (SI/NO)", "continuity", "yes_no",
           "continuity_with_2018_2020"),
    Column("riproposto_2025_2027", "Riproposto nella programmazione 2025-2027 (SI/NO)", "reproposed", "yes_no",
           "to_be_reproposed_2025_2027"),
    Column("riproposto_motivazione", "Motivazione della scelta di riproporlo", "reproposed_reason", "text",
           "to_be_reproposed_2025_2027"),
)
INPUT_COLUMNS = tuple(c for c in COLUMNS if not c.computed)
BY_KEY = {c.key: c for c in COLUMNS}
# (answer, its reason): the official model asks to motivate either answer ("SI/NO (motivare la risposta)").
REASONED = (("risposta_bisogno", "risposta_bisogno_motivazione"), ("riproposto_2025_2027", "riproposto_motivazione"))


def row_values(objective: PreviousObjective) -> dict[str, Any]:
    """One objective as a row of the table (the keys of ``COLUMNS``), computed columns included:
    percentages rounded to two decimals, bands as printed in the official scale."""
    achieved, spent = objective.achievement, objective.budget
    row: dict[str, Any] = {c.key: getattr(objective, c.attr) for c in COLUMNS if c.attr}
    row["grado_raggiungimento_pct"] = achieved.shown if achieved else None
    row["fascia_raggiungimento"] = band_text(achieved)
    row["coincidenza_risorse_pct"] = spent.shown if spent else None
    row["fascia_coincidenza"] = band_text(spent)
    return row


def band_text(rate: scale.Rate | None) -> str | None:
    """The band as printed in the official scale, «oltre il programmato» added above 100 %."""
    if rate is None:
        return None
    return rate.band.label_it + (" – oltre il programmato" if rate.band.over else "")


# --------------------------------------------------------------------------- checking a row


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    # A cell neutralised by our own export ("'=…") comes back as it was written.
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]
    return text


def _count(value: Any, minimum: int) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        if value != int(value):
            raise ValueError
        number = int(value)
    else:
        text = _text(value)
        if not re.fullmatch(r"\d{1,9}", text):
            raise ValueError
        number = int(text)
    if number < minimum:
        raise ValueError
    return number


def parse_money(value: Any) -> Decimal:
    """Euro with at most two decimals, as an Italian writes them (1.234,50 · 1234,5 · 1234.50 · € 80)."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    else:
        text = _text(value).replace("€", "").replace("\u00a0", "").replace(" ", "")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        elif re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
            text = text.replace(".", "")
        if not re.fullmatch(r"\d+(\.\d+)?", text):
            raise ValueError
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError from None
    if not amount.is_finite() or amount < 0 or amount > MONEY_MAX or amount != amount.quantize(Decimal("0.01")):
        raise ValueError
    return amount.quantize(Decimal("0.01"))


def _yes_no(value: Any) -> str:
    if isinstance(value, bool):
        return "SI" if value else "NO"
    text = _text(value).upper().replace("Ì", "I").replace("Í", "I")
    if text not in YES_NO:
        raise ValueError
    return text


def _option(value: Any, choices: list[str]) -> str:
    text = _text(value)
    for choice in choices:
        if choice.lower() == re.sub(r"\s+", " ", text).lower():
            return choice
    raise ValueError


def _messages(column: Column) -> str:
    name = column.header
    if column.kind == "count":
        if column.key == "azioni_programmate":
            return _("«%(c)s» dev'essere un numero intero da 1 in su (la formula ufficiale divide per questo "
                     "numero).", c=name)
        return _("«%(c)s» dev'essere un numero intero da 0 in su.", c=name)
    if column.kind == "money":
        return _("«%(c)s» dev'essere un importo in euro non negativo, con al massimo due decimali "
                 "(per esempio 12.500,50).", c=name)
    if column.kind == "yes_no":
        return _("«%(c)s» accetta solo SI o NO.", c=name)
    if column.kind == "option":
        return _("«%(c)s» accetta solo uno dei livelli ufficiali: %(o)s.", c=name,
                 o=", ".join(scale.options("resource_adequacy")))
    return _("«%(c)s»: al massimo %(n)d caratteri.", c=name, n=column.max_length)


def clean(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A row (by column key; computed columns and unknown keys ignored) as model values, and the
    errors by column key (Italian). Empty cells are allowed except the objective's title: an esiti
    report can be filled in over time; what is written must be right."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for column in INPUT_COLUMNS:
        value = raw.get(column.key)
        empty = value is None or (isinstance(value, str) and not _text(value))
        assert column.attr is not None
        try:
            if column.kind == "text":
                text = _text(value)
                if len(text) > column.max_length:
                    raise ValueError
                values[column.attr] = text
            elif empty:
                values[column.attr] = None
            elif column.kind == "count":
                values[column.attr] = _count(value, 1 if column.key == "azioni_programmate" else 0)
            elif column.kind == "money":
                values[column.attr] = parse_money(value)
            elif column.kind == "yes_no":
                values[column.attr] = _yes_no(value)
            elif column.kind == "option":
                values[column.attr] = _option(value, scale.options("resource_adequacy"))
        except (ValueError, TypeError):
            errors[column.key] = _messages(column)
    if "obiettivo" not in errors and not values.get("title"):
        errors["obiettivo"] = _("Indicare l'obiettivo della programmazione 2021-2023.")
    if not errors.keys() & {"azioni_programmate", "azioni_realizzate"}:
        if values["actions_done"] is not None and values["actions_programmed"] is None:
            errors["azioni_programmate"] = _("Indicare anche il numero di azioni programmate: il grado di "
                                             "raggiungimento è (azioni realizzate × 100) / azioni programmate.")
    if not errors.keys() & {"risorse_preventivate", "risorse_pagate"}:
        planned, paid = values["budget_planned"], values["budget_paid"]
        if paid is not None and not planned:
            errors["risorse_preventivate"] = _("Indicare anche le risorse preventivate (più di zero): la coincidenza "
                                               "è (pagato × 100) / preventivato.")
    for answer, reason in REASONED:
        if answer in errors or reason in errors:
            continue
        a, r = values[BY_KEY[answer].attr or ""], values[BY_KEY[reason].attr or ""]
        if a and not r:
            errors[reason] = _("Motivare la risposta «%(a)s», come chiede il modello ufficiale.", a=a)
        elif r and not a:
            errors[answer] = _("Rispondere SI o NO prima di motivare.")
    return values, errors


# --------------------------------------------------------------------------- reading


def objectives(session: Session, procedure: Procedure) -> list[PreviousObjective]:
    return list(session.scalars(select(PreviousObjective).where(PreviousObjective.procedure_id == procedure.id)
                                .order_by(PreviousObjective.position, PreviousObjective.id)))


def list_for(session: Session, actor: User | None, procedure: Procedure) -> list[PreviousObjective]:
    permissions.require_read(session, actor, procedure)
    return objectives(session, procedure)


def get_objective(session: Session, procedure: Procedure, objective_id: int) -> PreviousObjective:
    found = session.get(PreviousObjective, objective_id)
    if found is None or found.procedure_id != procedure.id:
        raise not_found(_("Obiettivo inesistente in questa procedura."))
    return found


# --------------------------------------------------------------------------- writing


def announce(session: Session, actor: User | None, action: str, procedure: Procedure, object_id: int | None = None,
             **details: Any) -> None:
    signals.action_recorded.send(session, actor=actor, action=f"esiti.{action}", object_type="esiti_objective"
                                 if object_id else "procedure", object_id=object_id or procedure.id,
                                 details={"procedure_id": procedure.id, **details})


def _refuse(errors: dict[str, str]) -> Problem:
    return invalid_fields(errors)


def _duplicate(session: Session, procedure: Procedure, title: str, except_id: int | None = None) -> bool:
    query = select(PreviousObjective.id).where(PreviousObjective.procedure_id == procedure.id,
                                               func.lower(PreviousObjective.title) == title.lower())
    if except_id is not None:
        query = query.where(PreviousObjective.id != except_id)
    return session.scalar(query.limit(1)) is not None


def _count_of(session: Session, procedure: Procedure) -> int:
    return session.scalar(select(func.count()).select_from(PreviousObjective)
                          .where(PreviousObjective.procedure_id == procedure.id)) or 0


def create(session: Session, actor: User, procedure: Procedure, raw: dict[str, Any]) -> PreviousObjective:
    permissions.require_edit(actor, procedure)
    values, errors = clean(raw)
    if not errors and _duplicate(session, procedure, values["title"]):
        errors["obiettivo"] = _("Un obiettivo con questo titolo è già nella tabella.")
    if errors:
        raise _refuse(errors)
    if _count_of(session, procedure) >= MAX_OBJECTIVES:
        raise Problem("too_many", _("Una procedura ha al massimo %(n)d obiettivi precedenti.", n=MAX_OBJECTIVES), 422)
    position = (session.scalar(select(func.max(PreviousObjective.position))
                               .where(PreviousObjective.procedure_id == procedure.id)) or 0) + 1
    objective = PreviousObjective(procedure_id=procedure.id, position=position, updated_by_id=actor.id, **values)
    session.add(objective)
    session.flush()
    announce(session, actor, "created", procedure, objective.id)
    return objective


def update(session: Session, actor: User, objective: PreviousObjective, raw: dict[str, Any]) -> PreviousObjective:
    procedure = objective.procedure
    permissions.require_edit(actor, procedure)
    values, errors = clean(raw)
    if not errors and _duplicate(session, procedure, values["title"], objective.id):
        errors["obiettivo"] = _("Un obiettivo con questo titolo è già nella tabella.")
    if errors:
        raise _refuse(errors)
    changed = sorted(attr for attr, value in values.items() if getattr(objective, attr) != value)
    for attr, value in values.items():
        setattr(objective, attr, value)
    if changed:
        objective.updated_at, objective.updated_by_id = utcnow(), actor.id
        session.flush()
        announce(session, actor, "updated", procedure, objective.id, fields=changed)
    return objective


def delete(session: Session, actor: User, objective: PreviousObjective) -> None:
    procedure = objective.procedure
    permissions.require_edit(actor, procedure)
    session.delete(objective)
    session.flush()
    for position, other in enumerate(objectives(session, procedure), start=1):
        other.position = position
    announce(session, actor, "deleted", procedure, None, objective_id=objective.id)


def add_rows(session: Session, actor: User, procedure: Procedure, rows: list[dict[str, Any]]) -> list[PreviousObjective]:
    """Rows already checked (``importing``): appended after the existing objectives, in file order."""
    permissions.require_edit(actor, procedure)
    start = session.scalar(select(func.max(PreviousObjective.position))
                           .where(PreviousObjective.procedure_id == procedure.id)) or 0
    added = [PreviousObjective(procedure_id=procedure.id, position=start + n, updated_by_id=actor.id, **values)
             for n, values in enumerate(rows, start=1)]
    session.add_all(added)
    session.flush()
    return added
