"""Forms of the votazioni pages: the facilitator's round (create / edit a draft), the ballot of each
method read from a plain form POST, the declaration of interest and the tie-break.

Forms check presence, types and ranges with Italian messages; every rule of a round (items of the
tavolo, times, secrecy and partial results, eligibility) lives in ``rules.py`` and comes back as a
Problem, so pages, live channel and tests refuse the same things with the same words. Date-times
are typed in Europe/Rome (``datetime-local``) and stored in UTC.

Ballot fields (no JavaScript needed; ``ballot.js`` only helps):

- approval: ``approva`` (checkboxes, one value per bisogno id);
- dot: ``punti-<bisogno id>`` (whole numbers, empty = 0);
- score: ``voto-<bisogno id>-<criterion index>`` (radio 1–5, empty = not scored);
- borda / schulze: ``posizione-<bisogno id>`` (select 1..n, empty = not ranked; one item per place).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from workspace.accounts.labels import KIND_LABELS
from workspace.forms import (
    ChoiceField,
    MultiCheckboxField,
    RomeDateTimeField,
    WholeNumberField,
    options,
    to_utc,
)
from workspace.i18n import gettext as _
from workspace.i18n import lazy_gettext as _l
from workspace.problems import Problem
from workspace.voting import methods
from workspace.voting.labels import (
    BREAKDOWN_LABELS,
    METHOD_LABELS,
    PARTIAL_LABELS,
    SECRECY_LABELS,
    TIMING_LABELS,
    UNIT_LABELS,
)
from workspace.voting.models import VoteRound

OP_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_CRITERIA = 5

REQUIRED = _l("Questo campo è obbligatorio.")
BAD_CHOICE = _l("Scegliere una delle opzioni proposte.")


def _max(n: int):
    return Length(max=n, message=_l("Al massimo %(max)d caratteri.", max=n))


class RadioChoiceField(RadioField):
    """Radio buttons whose refusal of an unknown value speaks plain Italian."""

    def pre_validate(self, form):
        if self.data not in {c[0] if isinstance(c, tuple) else c.value for c in self.choices or []}:
            raise ValidationError(str(BAD_CHOICE))


class RoundForm(FlaskForm):
    title = StringField(_l("Titolo della votazione"), validators=[InputRequired(message=REQUIRED), _max(300)])
    description = TextAreaField(_l("Descrizione"), validators=[Optional(), _max(20_000)])
    bisogni = MultiCheckboxField(_l("Bisogni in votazione"), coerce=int, validators=[
        InputRequired(message=_l("Scegliere almeno due bisogni da mettere in votazione."))])
    method = RadioChoiceField(_l("Metodo di voto"), choices=options(METHOD_LABELS.items()), default="dot",
                              validators=[InputRequired(message=REQUIRED)])
    approval_k = WholeNumberField(_l("Approvazione: quante voci si possono approvare al massimo"),
                                  validators=[Optional()])
    dot_points = WholeNumberField(_l("Punti: quanti punti ha ogni votante"), default=10, validators=[Optional()])
    dot_max_per_item = WholeNumberField(_l("Punti: massimo per una sola voce"), validators=[Optional()])
    ballot_unit = RadioChoiceField(_l("Chi vota"), choices=options(UNIT_LABELS.items()), default="person")
    secrecy = RadioChoiceField(_l("Palese o segreto"), choices=options(SECRECY_LABELS.items()), default="palese")
    exclude_observers = BooleanField(_l("Escludi gli osservatori"), default=True)
    include_facilitators = BooleanField(_l("Ammetti al voto i facilitatori"), default=False)
    excluded_kinds = MultiCheckboxField(_l("Escludi questi tipi di organizzazione"),
                                        choices=options(KIND_LABELS.items()))
    partial = RadioChoiceField(_l("Durante la votazione si vedono"), choices=options(PARTIAL_LABELS.items()),
                               default="affluenza")
    breakdown = RadioChoiceField(_l("Risultati per tipo di organizzazione"),
                                 choices=options(BREAKDOWN_LABELS.items()), default="auto")
    conflict_excludes = BooleanField(_l("Chi dichiara un interesse su una voce non può votarla"), default=True)
    timing = RadioChoiceField(_l("Quando si vota"), choices=options(TIMING_LABELS.items()), default="seduta")
    seduta_id = ChoiceField(_l("Seduta"), coerce=int, validators=[Optional()])
    opens_at = RomeDateTimeField(_l("Apertura"), validators=[Optional()])
    closes_at = RomeDateTimeField(_l("Chiusura"), validators=[Optional()])

    def criterion_rows(self) -> list[tuple[Any, Any]]:
        """(name field, weight field) of each of the MAX_CRITERIA criterion rows."""
        return [(self[f"criterion_{i}"], self[f"weight_{i}"]) for i in range(MAX_CRITERIA)]

    def fill_defaults(self) -> None:
        """The three default criteria with weight 1 in an unsubmitted form."""
        for (name, weight), default in zip(self.criterion_rows(), methods.DEFAULT_CRITERIA, strict=False):
            name.data, weight.data = default, "1"

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        method = self.method.data
        if method == "approval" and self.approval_k.raw_data and self.approval_k.raw_data[0].strip():
            if self.approval_k.data is None or self.approval_k.data < 1:
                self.approval_k.errors = [*self.approval_k.errors, _("Indicare un numero intero da 1 in su.")]
                ok = False
        if method == "dot":
            if self.dot_points.data is None or not 1 <= self.dot_points.data <= 1000:
                self.dot_points.errors = [*self.dot_points.errors, _("Indicare un numero intero di punti da 1 a 1000.")]
                ok = False
            raw = self.dot_max_per_item.raw_data
            if raw and raw[0].strip() and (self.dot_max_per_item.data is None or self.dot_max_per_item.data < 1):
                self.dot_max_per_item.errors = [*self.dot_max_per_item.errors,
                                                _("Indicare un numero intero da 1 in su, o lasciare vuoto.")]
                ok = False
        if method == "score":
            rows = self.criterion_rows()
            if not any((name.data or "").strip() for name, _w in rows):
                rows[0][0].errors = [*rows[0][0].errors, _("Indicare almeno un criterio.")]
                ok = False
            for name, weight in rows:
                text = (weight.data or "").strip()
                if text and not (name.data or "").strip():
                    weight.errors = [*weight.errors, _("Un peso senza il suo criterio.")]
                    ok = False
                elif text and _decimal(text) is None:
                    weight.errors = [*weight.errors, _("Il peso è un numero positivo, es. 1 o 1,5.")]
                    ok = False
        if self.timing.data == "seduta" and not self.seduta_id.data:
            self.seduta_id.errors = [*self.seduta_id.errors, _("Scegliere la seduta in cui si vota.")]
            ok = False
        if self.timing.data == "asincrona" and self.closes_at.data is None and not self.closes_at.errors:
            self.closes_at.errors = [*self.closes_at.errors, _("Una votazione asincrona ha una data e ora di chiusura.")]
            ok = False
        return ok

    def settings(self) -> dict[str, Any]:
        method = self.method.data
        if method == "approval":
            return {"k": self.approval_k.data}
        if method == "dot":
            return {"points": self.dot_points.data, "max_per_item": self.dot_max_per_item.data}
        if method == "score":
            rows = [((n.data or "").strip(), (w.data or "").strip()) for n, w in self.criterion_rows()]
            rows = [(name, weight or "1") for name, weight in rows if name]
            return {"criteria": [n for n, _w in rows], "weights": [_decimal(w) or w for _n, w in rows]}
        return {}

    def config(self, seduta_for) -> dict[str, Any]:
        """Keyword arguments of ``rounds.create_round`` (``seduta_for(id)`` gives the Seduta).
        ``update_round`` takes the same keys with ``seduta_id`` instead of ``seduta``."""
        secret = self.secrecy.data == "segreto"
        breakdown = {"auto": None, "si": True, "no": False}[self.breakdown.data]
        live = self.timing.data == "seduta"
        return {
            "title": self.title.data.strip(),
            "description": (self.description.data or "").strip(),
            "method": self.method.data,
            "settings": self.settings(),
            "bisogni": list(self.bisogni.data or []),
            "seduta": seduta_for(self.seduta_id.data) if live and self.seduta_id.data else None,
            "ballot_unit": self.ballot_unit.data,
            "secret": secret,
            "eligibility": {"exclude_observers": bool(self.exclude_observers.data),
                            "include_facilitators": bool(self.include_facilitators.data),
                            "excluded_kinds": list(self.excluded_kinds.data or [])},
            "partial_results": self.partial.data == "parziali",
            "conflict_excludes": bool(self.conflict_excludes.data),
            "breakdown": (not secret) if breakdown is None else breakdown,
            "opens_at": None if live else to_utc(self.opens_at.data),
            "closes_at": to_utc(self.closes_at.data),
        }

    def load(self, vote: VoteRound, local) -> None:
        """Fill the form from a draft (``local`` turns a UTC datetime into naive Rome time)."""
        self.title.data, self.description.data = vote.title, vote.description
        self.bisogni.data = [i.bisogno_id for i in vote.items]
        self.method.data = vote.method
        settings = vote.settings or {}
        self.approval_k.data = settings.get("k")
        self.dot_points.data = settings.get("points", 10)
        self.dot_max_per_item.data = settings.get("max_per_item")
        if vote.method == "score":
            pairs = list(zip(settings.get("criteria", []), settings.get("weights", []), strict=False))
            for (name, weight), (value, w) in zip(self.criterion_rows(), pairs + [("", "")] * MAX_CRITERIA,
                                                  strict=False):
                name.data, weight.data = value, str(w).replace(".", ",") if w else ""
        else:
            self.fill_defaults()
        self.ballot_unit.data = vote.ballot_unit
        self.secrecy.data = "segreto" if vote.secret else "palese"
        rules = vote.eligibility or {}
        self.exclude_observers.data = rules.get("exclude_observers", True)
        self.include_facilitators.data = rules.get("include_facilitators", False)
        self.excluded_kinds.data = list(rules.get("excluded_kinds", []))
        self.partial.data = "parziali" if vote.partial_results else "affluenza"
        self.breakdown.data = "si" if vote.breakdown else "no"
        self.conflict_excludes.data = vote.conflict_excludes
        self.timing.data = "seduta" if vote.seduta_id else "asincrona"
        self.seduta_id.data = vote.seduta_id or 0
        self.opens_at.data = local(vote.opens_at) if vote.opens_at else None
        self.closes_at.data = local(vote.closes_at) if vote.closes_at else None


for _i in range(MAX_CRITERIA):
    setattr(RoundForm, f"criterion_{_i}", StringField(_l("Criterio %(n)s", n=_i + 1), validators=[Optional(), _max(60)]))
    setattr(RoundForm, f"weight_{_i}", StringField(_l("Peso del criterio %(n)s", n=_i + 1),
                                                   validators=[Optional(), _max(12)]))


def _decimal(text: str) -> str | None:
    """A positive decimal typed the Italian or the English way ("1,5", "1.5"), as "1.5"."""
    value = text.strip().replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d+)?", value) or float(value) <= 0:
        return None
    return value


class InterestForm(FlaskForm):
    bisogno_id = ChoiceField(_l("Voce su cui hai un interesse"), coerce=int, validators=[
        InputRequired(message=_l("Scegliere la voce."))])
    note = TextAreaField(_l("Nota (facoltativa)"), validators=[Optional(), _max(2000)])


class TieBreakForm(FlaskForm):
    seed = StringField(_l("Seme dello spareggio (facoltativo)"), validators=[Optional(), _max(100)])


class ActionForm(FlaskForm):
    """Only the CSRF token: open, close."""


# --- the ballot of a plain form POST --------------------------------------------------------------------


def _ballot_problem(message: str) -> Problem:
    return Problem("invalid_ballot", message, 422)


def _whole(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if re.fullmatch(r"\d{1,6}", raw) else None


def ballot_from_form(vote: VoteRound, form: Mapping[str, Any], settings: methods.Settings) -> dict[str, Any]:
    """The ballot content of the round's method (``settings`` tell which) from the form fields, or a
    422 Problem in Italian (with the bisogni named by title). ``ballots.cast_ballot`` validates the
    result again, completely."""
    titles = {str(i.bisogno_id): i.title for i in vote.items}
    ids = list(titles)
    getlist = form.getlist if hasattr(form, "getlist") else (lambda k: form.get(k) or [])
    if isinstance(settings, methods.ApprovalSettings):
        chosen = [str(v).strip() for v in getlist("approva")]
        unknown = [v for v in chosen if v not in titles]
        if unknown:
            raise _ballot_problem(_("Scheda non valida: una delle voci scelte non è in votazione."))
        chosen = list(dict.fromkeys(chosen))
        k = settings.limit(ids)
        if len(chosen) > k:
            raise _ballot_problem(_("Scheda non valida: hai scelto %(n)s voci, al massimo se ne possono approvare "
                                    "%(k)s.", n=len(chosen), k=k))
        return {"approve": chosen}
    if isinstance(settings, methods.DotSettings):
        points: dict[str, int] = {}
        for bid in ids:
            raw = str(form.get(f"punti-{bid}", "") or "")
            if not raw.strip():
                continue
            amount = _whole(raw)
            if amount is None:
                raise _ballot_problem(_("Scheda non valida: i punti di «%(t)s» devono essere un numero intero da 0 "
                                        "a %(m)s.", t=titles[bid], m=settings.per_item))
            if amount > settings.per_item:
                raise _ballot_problem(_("Scheda non valida: %(n)s punti a «%(t)s», al massimo %(m)s per voce.",
                                        n=amount, t=titles[bid], m=settings.per_item))
            if amount:
                points[bid] = amount
        total = sum(points.values())
        if total > settings.points:
            raise _ballot_problem(_("Scheda non valida: hai distribuito %(n)s punti, al massimo %(m)s.",
                                    n=total, m=settings.points))
        return {"points": points}
    if isinstance(settings, methods.ScoreSettings):
        scores: dict[str, dict[str, int]] = {}
        for bid in ids:
            given: dict[str, int] = {}
            for index, criterion in enumerate(settings.criteria):
                raw = str(form.get(f"voto-{bid}-{index}", "") or "")
                if not raw.strip():
                    continue
                value = _whole(raw)
                if value is None or not methods.SCORE_MIN <= value <= methods.SCORE_MAX:
                    raise _ballot_problem(_("Scheda non valida: il punteggio di «%(t)s» per «%(c)s» va da 1 a 5.",
                                            t=titles[bid], c=criterion))
                given[criterion] = value
            if given:
                scores[bid] = given
        return {"scores": scores}
    # borda, schulze: a place for each ranked item, one item per place.
    places: dict[int, list[str]] = {}
    n = len(ids)
    for bid in ids:
        raw = str(form.get(f"posizione-{bid}", "") or "")
        if not raw.strip():
            continue
        place = _whole(raw)
        if place is None or not 1 <= place <= n:
            raise _ballot_problem(_("Scheda non valida: la posizione di «%(t)s» va da 1 a %(n)s.", t=titles[bid], n=n))
        places.setdefault(place, []).append(bid)
    for place in sorted(places):
        if len(places[place]) > 1:
            raise _ballot_problem(_(
                "Scheda non valida: la posizione %(p)s è assegnata a più voci (%(t)s). Ogni posizione va data a una "
                "voce sola.", p=place, t=", ".join(f"«{titles[b]}»" for b in places[place])))
    return {"ranking": [places[p][0] for p in sorted(places)]}


def valid_op_id(value: Any) -> str | None:
    return value if isinstance(value, str) and OP_ID_RE.match(value) else None


def local_naive(moment: datetime | None) -> datetime | None:
    from workspace.forms import ROME

    return moment.astimezone(ROME).replace(tzinfo=None) if moment else None
