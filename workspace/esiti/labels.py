"""The words of the esiti pages (in the reader's language) and small display helpers. The official
labels of the 8 dimensions and of the bands are not here: they are the model's (``scale``), Italian
as printed, in every language."""
from __future__ import annotations

from decimal import Decimal

from workspace import exports
from workspace.esiti import scale
from workspace.i18n import gettext as _


def for_pages() -> dict[str, str]:
    return {
        "title": _("Esiti della precedente programmazione 2021-2023"),
        "not_computable": _("non calcolabile"),
        "over": _("oltre il programmato"),
    }


def pct(rate: scale.Rate | None) -> str:
    """«75 %», «49,5 %» in the page's language; an en dash when not computable."""
    if rate is None:
        return "—"
    text = format(rate.shown, "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return exports.format_value(Decimal(text)) + " %"


BAND_CLASSES = {"nullo": "bg-danger", "insufficiente": "bg-danger", "sufficiente": "bg-warning text-dark",
                "buono": "bg-success", "ottimo": "bg-success", "<100%": "bg-warning text-dark", "100%": "bg-success",
                ">100%": "bg-warning text-dark"}


def band_class(rate: scale.Rate | None) -> str:
    return BAND_CLASSES.get(rate.band.key, "bg-secondary") if rate else "bg-secondary"


def download_formats() -> list[tuple[str, str]]:
    """(format, label) of the downloads, open formats first."""
    from workspace.esiti.document import FORMATS

    order = ("pdf", "odt", "docx", "ods", "xlsx", "csv", "json")
    return [(f, exports.FORMATS[f].label) for f in order if f in FORMATS]


def euro(amount: Decimal | None) -> str:
    return exports.format_value(amount) if amount is not None else "—"
