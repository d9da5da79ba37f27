"""A statement's data: the snapshot frozen when it is issued, and the totals it shows.

`build_snapshot()` reads a company's contributions and SROI claims of a period now and freezes
them as plain JSON-safe data (lines, claims, totals per kind); `snapshot_of()` reads a stored one
back. `summary_of()` / `totals_from_books()` give a concept's totals from the books' postings
instead (grouped in SQL, no contribution read).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterable

import peewee
from flask import current_app
from flask_babel import force_locale

from portal.accounts.models import Company
from portal.core import ledger
from portal.core.contributions import Contribution, codes_of, contributions
from portal.core.i18n import LANGUAGES
from portal.statements import sroi
from portal.statements.models import Statement
from portal.statements.periods import Period

# Version 1 (until December 2026): each line's words were an English sentence in `description`.
# Version 2: a line keeps codes and facts (what, subject, detail) and is put into words when
# shown (portal.core.contributions.describe), which also reads version 1's sentences back.
# Version 3 (issue 14): an hours line also keeps `person_key` (who the ambassador is, e.g.
# "enrolment:12"), and the totals per ambassador are per person, not per name: two ambassadors
# of one company with the same name are two rows. Older snapshots are shown from their stored
# totals, as issued.
SNAPSHOT_VERSION = 3
# The fields of a contribution that a statement keeps.
LINE_FIELDS = tuple(f.name for f in dataclasses.fields(Contribution) if f.name != "company_id")


def issuer() -> dict:
    """The foundation's details as configured (ISSUER_*): printed on every statement."""
    config = current_app.config
    return {
        "name": config["ISSUER_NAME"],
        "address": config["ISSUER_ADDRESS"],
        "kvk": config["ISSUER_KVK"],
        "rsin": config["ISSUER_RSIN"],
        "anbi": bool(config["ISSUER_ANBI"]),
        "iban": config["ISSUER_IBAN"],
    }


def company_details(company: Company) -> dict:
    return {"id": company.id, "name": company.legal_name, "street": company.street,
            "postcode": company.postcode, "city": company.city, "kvk": company.kvk}


def statement_language(company: Company) -> str:
    return company.language if company.language in LANGUAGES else "nl"


def line_of(contribution: Contribution) -> dict:
    """A contribution as the snapshot keeps it (JSON-safe, every printed field)."""
    line = {name: getattr(contribution, name) for name in LINE_FIELDS}
    line["on"] = contribution.on.isoformat()
    return line


def claim_of(claim: sroi.SroiClaim) -> dict:
    return {"commitment": claim.commitment, "rules": claim.rules, "value_cents": claim.value_cents,
            "lines": [{**dataclasses.asdict(line), "on": line.on.isoformat()} for line in claim.lines]}


def _sum(lines: Iterable[dict], name: str) -> int:
    return sum(int(line[name]) for line in lines)


def _classification(line: dict) -> str:
    return line["classification"] if line["classification"] in ("gift", "sponsoring") else "unclassified"


def _person_order(item: tuple[tuple[str, str, str], list]) -> tuple:
    (person, key, basis), _group = item
    return person.lower(), person, key, basis


def _lines(rows: Iterable[dict]) -> int:
    """How many contribution lines rows stand for: a snapshot's line is one, a row of the books
    (grouped postings) says how many in its `lines`."""
    return sum(int(row.get("lines", 1)) for row in rows)


def _per_person(rows: list[dict], valued: bool) -> list[dict]:
    """Totals per ambassador: per person (her key), not per name, as two may share a name."""
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["person"], row.get("person_key") or "", row["basis"] if valued else "none")].append(row)
    return [{"person": person, "person_key": key, "basis": basis, "lines": _lines(group),
             "minutes": _sum(group, "minutes"), "value_cents": _sum(group, "value_cents") if valued else 0}
            for (person, key, basis), group in sorted(groups.items(), key=_person_order)]


def _by_classification(rows: list[dict], names: tuple[str, ...]) -> dict:
    """Totals per classification (gift, sponsoring, unclassified), those that have rows."""
    out = {}
    for classification in ("gift", "sponsoring", "unclassified"):
        group = [row for row in rows if _classification(row) == classification]
        if group:
            out[classification] = {name: _sum(group, name) for name in names} | {"lines": _lines(group)}
    return out


HOUR_KINDS = ("hours_sponsored", "hours_volunteered")
_DISPUTE_KEY = re.compile(r"^(?P<dispute>.+:dispute:[^:]+):(?:withdrawn|reinstated)$")


def refunds_of(money: list[dict]) -> int:
    """What went back to the company (negative cents): refunds, and chargebacks that stand.

    A chargeback that was reversed (the dispute was won and the money came back) is no refund: its
    reversal on the same statement cancels it, dispute by dispute. A reversal whose chargeback lies
    in an earlier period lowers no other refund of this one."""
    refunds = sum(int(row["gross_cents"]) for row in money if int(row["gross_cents"]) < 0)
    withdrawn: dict[str, int] = defaultdict(int)
    reinstated: dict[str, int] = defaultdict(int)
    for row in money:
        what = codes_of(row)[0]
        found = _DISPUTE_KEY.match(row.get("key") or "")
        dispute = found.group("dispute") if found else None
        if dispute is None or what not in ("chargeback", "chargeback_reversed"):
            continue
        if what == "chargeback" and int(row["gross_cents"]) < 0:
            withdrawn[dispute] += -int(row["gross_cents"])
        elif what == "chargeback_reversed" and int(row["gross_cents"]) > 0:
            reinstated[dispute] += int(row["gross_cents"])
    return refunds + sum(min(cents, withdrawn[dispute]) for dispute, cents in reinstated.items())


def totals_of(lines: list[dict], claims: list[dict]) -> dict:
    """Totals per kind. Figures of different valuation bases are kept apart, never added."""
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_kind[line["kind"]].append(line)
    sponsored = by_kind["hours_sponsored"]
    volunteered = by_kind["hours_volunteered"]
    materials = by_kind["material"]
    money = by_kind["money"]

    sponsored_by_basis: dict[str, int] = defaultdict(int)
    for row in sponsored:
        sponsored_by_basis[row["basis"]] += int(row["value_cents"])
    return {
        "hours_sponsored": {
            "lines": len(sponsored), "minutes": _sum(sponsored, "minutes"),
            "value_by_basis": dict(sorted(sponsored_by_basis.items())),
            "people": _per_person(sponsored, valued=True),
        },
        "hours_volunteered": {
            "lines": len(volunteered), "minutes": _sum(volunteered, "minutes"),
            "people": _per_person(volunteered, valued=False),
        },
        "material": {
            "lines": len(materials), "value_cents": _sum(materials, "value_cents"),
            "by_classification": _by_classification(materials, ("value_cents",)),
        },
        "money": {
            "lines": len(money), "gross_cents": _sum(money, "gross_cents"), "fee_cents": _sum(money, "fee_cents"),
            "net_cents": _sum(money, "net_cents"),
            "refunds_cents": refunds_of(money),
            "by_classification": _by_classification(money, ("gross_cents", "fee_cents", "net_cents")),
        },
        "sroi": {"claims": len(claims), "lines": sum(len(c["lines"]) for c in claims)},
    }


def build_snapshot(company: Company, period: Period, *, issued_on: dt.date, language: str | None = None,
                   number: str | None = None, replaces: Statement | None = None) -> dict:
    """Everything a statement shows, read now and frozen as plain JSON-safe data."""
    language = language or statement_language(company)
    found = contributions(company.id, period.start, period.end)
    # Sources are asked for one company; a line of another company would be a source's bug,
    # and must never reach this company's document.
    lines = [line_of(c) for c in found if c.company_id == company.id]
    with force_locale(language):
        claims = [claim_of(claim) for claim in sroi.claims(company.id, period.start, period.end)]
    return {
        "version": SNAPSHOT_VERSION,
        "number": number,
        "issued_on": issued_on.isoformat(),
        "language": language,
        "period": period.as_dict(),
        "issuer": issuer(),
        "company": company_details(company),
        "replaces": {"number": replaces.number, "issued_on": replaces.issued_on.isoformat()} if replaces else None,
        "lines": lines,
        "sroi": claims,
        "totals": totals_of(lines, claims),
    }


def snapshot_of(statement: Statement) -> dict:
    return json.loads(statement.snapshot)


def is_empty(snapshot: dict) -> bool:
    return not snapshot["lines"] and not snapshot["sroi"]

def summary_of(company: Company, period: Period) -> dict:
    """What a concept's summary shows (its totals and SROI claims), from the books' postings
    dated in the period, grouped in SQL: no contribution is read. The same figures as
    build_snapshot()'s totals, except the per-line `refunds_cents`, which postings do not keep
    apart; `lines` is the number of lines, not the lines."""
    language = statement_language(company)
    totals = totals_from_books(company.id, period.start, period.end)
    with force_locale(language):
        claims = [claim_of(claim) for claim in sroi.claims(company.id, period.start, period.end)]
    totals["sroi"] = {"claims": len(claims), "lines": sum(len(c["lines"]) for c in claims)}
    lines = sum(totals[kind]["lines"] for kind in ledger.CONTRIBUTION_KINDS)
    return {"language": language, "period": period.as_dict(), "company": company_details(company),
            "lines": lines, "sroi": claims, "totals": totals}


def totals_from_books(company_id: int, start: dt.date, end: dt.date) -> dict:
    """totals_of()'s figures (but `refunds_cents`) from the postings dated from `start` to `end`."""
    posting = ledger.Posting
    names = ("lines", "minutes", "value_cents", "gross_cents", "fee_cents", "net_cents")
    # An hours posting names the ambassador's enrolment in subject_id: her person key (other kinds'
    # subjects, a donation each, are not grouped on).
    # Grouped on by its output name: PostgreSQL takes the CASE in GROUP BY, with parameters of its
    # own, for another expression than the one selected.
    enrolment = peewee.Case(None, [(posting.kind.in_(HOUR_KINDS), posting.subject_id)], None)
    groups = (posting.kind, posting.basis, posting.classification, posting.person)
    rows = [row for row in (posting.select(*groups, enrolment.alias("hours_enrolment"),
                                           *[peewee.fn.SUM(getattr(posting, n)).alias(n) for n in names])
                            .where((posting.company_id == company_id) & posting.dated_on.between(start, end)
                                   & posting.kind.in_(ledger.CONTRIBUTION_KINDS))
                            .group_by(*groups, peewee.SQL('"hours_enrolment"')).dicts())
            if any(row[n] for n in names)]  # a group whose every line was withdrawn shows nothing
    for row in rows:
        for name in names:
            row[name] = int(row[name] or 0)
        enrolment_id = row.pop("hours_enrolment")
        row["person_key"] = f"enrolment:{enrolment_id}" if enrolment_id is not None else ""

    def of(kind: str) -> list[dict]:
        return [row for row in rows if row["kind"] == kind]

    def add(rows_: list[dict], keys: tuple[str, ...]) -> dict:
        return {name: sum(row[name] for row in rows_) for name in keys}

    sponsored, volunteered, materials, money = of("hours_sponsored"), of("hours_volunteered"), of("material"), of("money")
    by_basis: dict[str, int] = defaultdict(int)
    for row in sponsored:
        by_basis[row["basis"]] += row["value_cents"]
    return {
        "hours_sponsored": {**add(sponsored, ("lines", "minutes")), "value_by_basis": dict(sorted(by_basis.items())),
                            "people": _per_person(sponsored, valued=True)},
        "hours_volunteered": {**add(volunteered, ("lines", "minutes")), "people": _per_person(volunteered, valued=False)},
        "material": {**add(materials, ("lines", "value_cents")),
                     "by_classification": _by_classification(materials, ("value_cents",))},
        "money": {**add(money, ("lines", "gross_cents", "fee_cents", "net_cents")),
                  "by_classification": _by_classification(money, ("gross_cents", "fee_cents", "net_cents"))},
    }

