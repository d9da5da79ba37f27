"""What every part of the SROI capability shares: its refusal (`SroiError`), the labels of the
base types and contribution kinds, and the checks of a typed text and a date.

The capability's other modules import this one; it imports none of them.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from portal.core import ledger
from portal.core.errors import UserError

EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)

BASE_TYPE_LABELS = {
    "contract_value_excl_vat": _l("Contract value excluding VAT"),
    "labour_cost": _l("Labour cost (wage bill)"),
    "turnover": _l("Invoiced turnover"),
}
KIND_LABELS = {kind: ledger.KIND_LABELS[kind] for kind in ledger.CONTRIBUTION_KINDS}


class SroiError(UserError):
    """A refusal to show the user: str() is the translated message; `field` names the form field."""


def _language() -> str:
    """The language of the current request, Dutch outside one."""
    try:
        return str(get_locale() or "nl")
    except RuntimeError:
        return "nl"


def _text(value: str | None, limit: int, field_name: str, label, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise SroiError(_l("Please fill in %(field)s.", field=label), field_name)
    if len(value) > limit:
        raise SroiError(_l("Use at most %(count)d characters.", count=limit), field_name)
    return value


def _date(value, field_name: str) -> dt.date:
    if not isinstance(value, dt.date):
        raise SroiError(_l("Please enter a date."), field_name)
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise SroiError(_l("Please enter a date between 2000 and 2100."), field_name)
    return value
