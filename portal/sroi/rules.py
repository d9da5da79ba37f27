"""A commitment's valuation rules (what counts, how hours are valued, a cap per person) and the
buyers' valuation tables a new commitment copies them from.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.core.db import database
from portal.core.money import format_eur
from portal.sroi.base import SroiError, _language
from portal.sroi.models import (
    HOURS_BASES,
    MAX_MINUTES_PER_PERSON,
    MAX_RATE_CENTS,
    ValuationTemplate,
)

# The valuation tables every installation starts with (the migration seeds the same rows).
SEED_TEMPLATES = (
    {
        "code": "utrecht-bouwblokken", "sort_order": 1,
        "name": "Gemeente Utrecht: building blocks (supporting a social project)",
        "note": ("Utrecht's building-block table values supporting a social project, and schooling, "
                 "knowledge or means, at the costs incurred or EUR 100 per employee per hour. Whether "
                 "ambassador hours in a primary school count is for the municipality's social-return "
                 "adviser to approve."),
        "counts_hours_sponsored": True, "counts_hours_volunteered": False, "counts_money": True,
        "counts_materials": True, "hours_basis": "rate", "hourly_rate_cents": 10000,
        "max_minutes_per_person": None,
    },
    {
        "code": "at-cost", "sort_order": 2,
        "name": "Generic: at cost",
        "note": ("Every contribution at what it cost the company: sponsored hours at the employer's own "
                 "hourly cost, money at the amount paid, materials at their confirmed value."),
        "counts_hours_sponsored": True, "counts_hours_volunteered": False, "counts_money": True,
        "counts_materials": True, "hours_basis": "employer_cost", "hourly_rate_cents": None,
        "max_minutes_per_person": None,
    },
)
TEMPLATE_LABELS = {
    "utrecht-bouwblokken": _l("Gemeente Utrecht: building blocks (supporting a social project)"),
    "at-cost": _l("Generic: at cost"),
}
TEMPLATE_NOTES = {
    "utrecht-bouwblokken": _l("Utrecht's building-block table values supporting a social project, and schooling, "
                              "knowledge or means, at the costs incurred or EUR 100 per employee per hour. Whether "
                              "ambassador hours in a primary school count is for the municipality's social-return "
                              "adviser to approve."),
    "at-cost": _l("Every contribution at what it cost the company: sponsored hours at the employer's own hourly "
                  "cost, money at the amount paid, materials at their confirmed value."),
}
RULE_FIELDS = ("counts_hours_sponsored", "counts_hours_volunteered", "counts_money", "counts_materials",
               "hours_basis", "hourly_rate_cents", "max_minutes_per_person")


@dataclass
class RulesInput:
    counts_hours_sponsored: bool
    counts_hours_volunteered: bool
    counts_money: bool
    counts_materials: bool
    hours_basis: str
    hourly_rate_cents: int | None
    max_minutes_per_person: int | None


def ensure_templates() -> None:
    """Seed the standard valuation tables if they are missing (idempotent)."""
    with database.atomic():
        ValuationTemplate.insert_many(SEED_TEMPLATES).on_conflict_ignore().execute()


def valuation_templates() -> list[ValuationTemplate]:
    """The valuation tables a new commitment can copy its rules from."""
    if not ValuationTemplate.select().exists():
        ensure_templates()
    return list(ValuationTemplate.select().order_by(ValuationTemplate.sort_order, ValuationTemplate.id))


def template_label(code: str, fallback: str = "") -> str:
    """A valuation table's name in the reader's language (seeded tables are translated)."""
    label = TEMPLATE_LABELS.get(code)
    return str(label) if label is not None else fallback


def template_note(code: str, fallback: str = "") -> str:
    note = TEMPLATE_NOTES.get(code)
    return str(note) if note is not None else fallback


def validate_rules(rules: RulesInput) -> RulesInput:
    """Check a commitment's valuation rules, or raise SroiError naming the field."""
    if rules.hours_basis not in HOURS_BASES:
        raise SroiError(_l("Choose how hours are valued."), "hours_basis")
    rate = rules.hourly_rate_cents
    if rules.hours_basis == "rate":
        if rate is None:
            raise SroiError(_l("Enter the rate per hour from the buyer's valuation table."), "hourly_rate")
        if rate <= 0 or rate > MAX_RATE_CENTS:
            raise SroiError(_l("The rate per hour must be more than zero and at most %(maximum)s.",
                               maximum=format_eur(MAX_RATE_CENTS, _language())), "hourly_rate")
    else:
        rate = None
    cap = rules.max_minutes_per_person
    if cap is not None and not 0 < cap <= MAX_MINUTES_PER_PERSON:
        raise SroiError(_l("The cap per person must be more than zero and at most %(hours)d hours.",
                           hours=MAX_MINUTES_PER_PERSON // 60), "max_hours_per_person")
    if rules.counts_hours_volunteered and rules.hours_basis != "rate":
        raise SroiError(_l("Volunteered hours cost the employer nothing: count them only at a rate per hour."),
                        "counts_hours_volunteered")
    if not (rules.counts_hours_sponsored or rules.counts_hours_volunteered or rules.counts_money
            or rules.counts_materials):
        raise SroiError(_l("Choose at least one kind of contribution that counts."), "counts_hours_sponsored")
    return RulesInput(bool(rules.counts_hours_sponsored), bool(rules.counts_hours_volunteered),
                      bool(rules.counts_money), bool(rules.counts_materials), rules.hours_basis, rate, cap)


def rules_of(source) -> RulesInput:
    """The valuation rules of a commitment or template."""
    return RulesInput(**{name: getattr(source, name) for name in RULE_FIELDS})


def counts_kind(commitment, kind: str) -> bool:
    return {
        "hours_sponsored": commitment.counts_hours_sponsored,
        "hours_volunteered": commitment.counts_hours_volunteered,
        "money": commitment.counts_money,
        "material": commitment.counts_materials,
    }.get(kind, False)
