"""One shape for every contribution, whichever capability records it.

Enrollment (hours) and giving (money, materials) answer `hooks.CONTRIBUTIONS`; SROI, statements
and reconciliation read contributions through `contributions()` without importing them.
Amounts are integer cents, durations integer minutes: never floats.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.core import hooks
from portal.core.db import request_cache

KINDS = ("hours_sponsored", "hours_volunteered", "money", "material")

# Valuation bases: a figure always names one, and figures of different bases are never added.
BASES = {
    "employer_cost": "the employer's declared hourly cost",
    "at_cost": "the amount paid",
    "market_value": "market value confirmed at receipt",
    "none": "not valued (hours only)",
}


@dataclass(frozen=True, kw_only=True)
class Contribution:
    """A contribution holds codes and facts, never sentences: `describe()` makes its words when
    it is shown, in the reader's language (or a document's)."""

    kind: str               # one of KINDS
    key: str                # stable id across capabilities, e.g. "hours:12", "donation:7", "material:3"
    company_id: int
    on: dt.date             # business date (Europe/Amsterdam)
    value_cents: int        # what it is worth on `basis` (0 for volunteered hours)
    basis: str              # one of BASES
    minutes: int = 0        # for hours
    person: str = ""        # the ambassador, for hours
    person_key: str = ""    # who she is, for hours ("enrolment:12"): two ambassadors may share a name
    classification: str = ""  # "gift" or "sponsoring" for money and materials
    gross_cents: int = 0    # money: what the company paid (refunds negative)
    fee_cents: int = 0      # money: Stripe's fee
    net_cents: int = 0      # money: what reached the foundation
    method: str = ""        # money: "stripe", "bank"; materials: "in_kind"
    reference: str = ""     # Stripe id or RF reference
    what: str = ""          # what happened, one of WHATS ("" for a source that gives its own words)
    subject: str = ""       # the fact that names it: the school (hours), the donation's number
                            # (money), the offer's text (materials)
    detail: str = ""        # a second fact: a gift's earmark, an offer's quantity
    description: str = ""   # words of a source without a code (shown as given); sources here give none


# What a contribution records, as codes; the words are made by describe().
WHATS = ("hours", "hours_reversal", "hours_correction", "donation", "refund", "chargeback",
         "chargeback_reversed", "material")
# The fields that carry value: two lines that agree on these are the same for a statement.
# The words fields (what, subject, detail, description) only name the line.
WORD_FIELDS = ("what", "subject", "detail", "description")

# Words are labels joined with " · " (as SROI's pages name contributions), never sentences put
# together from parts: the kind is shown beside them (a column, a heading or a prefix).
_WHAT_WORDS = {
    "hours_reversal": _l("Reversal"),
    "hours_correction": _l("Correction"),
    "refund": _l("Refund"),
    "chargeback": _l("Chargeback"),
    "chargeback_reversed": _l("Chargeback reversed"),
}
_GIFT_WORDS = {"gift": _l("Gift"), "sponsoring": _l("Sponsoring")}
_DONATION = _l("Donation")
_KIND_WORDS = {"hours_sponsored": _l("Sponsored hours"), "hours_volunteered": _l("Volunteered hours"),
               "money": _l("Money"), "material": _l("Materials")}

# Statements issued before contributions kept codes hold English sentences made by the sources
# of the time; these read them back into codes and facts so that they, too, are shown in the
# reader's language. A sentence that matches none is shown as it was stored.
_OLD_HOURS = re.compile(r"^(Sponsored|Volunteered) (hours|reversal of hours|corrected hours) of (?P<rest>.*)$", re.S)
_OLD_HOURS_WHAT = {"hours": "hours", "reversal of hours": "hours_reversal", "corrected hours": "hours_correction"}
_OLD_MONEY = (("chargeback_reversed", re.compile(r"^Chargeback of (.+) reversed$", re.S)),
              ("chargeback", re.compile(r"^Chargeback of (.+)$", re.S)),
              ("refund", re.compile(r"^Refund of (.+)$", re.S)))
_OLD_GIFT = re.compile(r"^(Gift|Sponsoring)(?:: (.*))?$", re.S)


def what_words(what: str) -> str:
    """The words of what a line records, in the reader's language ("" where its kind says it all)."""
    return str(_DONATION if what == "donation" else _WHAT_WORDS.get(what, ""))


def _facts(line: Contribution | Mapping[str, Any]) -> Mapping[str, Any]:
    return line if isinstance(line, Mapping) else line.__dict__


def codes_of(line: Contribution | Mapping[str, Any]) -> tuple[str, str, str]:
    """(what, subject, detail) of a line, also of one stored as an English sentence before codes."""
    facts = _facts(line)
    what = facts.get("what") or ""
    if what:
        return what, facts.get("subject") or "", str(facts.get("detail") or "")
    words = facts.get("description") or ""
    kind = facts.get("kind") or ""
    if kind in ("hours_sponsored", "hours_volunteered"):
        found = _OLD_HOURS.match(words)
        person = facts.get("person") or ""
        if found and found.group("rest").startswith(person):
            school = found.group("rest")[len(person):]
            if not school:
                return _OLD_HOURS_WHAT[found.group(2)], "", ""
            if school.startswith(" at "):
                return _OLD_HOURS_WHAT[found.group(2)], school[len(" at "):], ""
    elif kind == "money":
        for code, pattern in _OLD_MONEY:
            found = pattern.match(words)
            if found:
                return code, found.group(1), ""
        found = _OLD_GIFT.match(words)
        if found:
            return "donation", "", found.group(2) or ""
    return "", "", ""


def describe(line: Contribution | Mapping[str, Any], *, person: bool = True) -> str:
    """A contribution (or a statement's stored line) in words, in the language of the moment:
    'Correction · Iris Brouwer · OBS De Klimop', 'Gift · G-000004 · reading books', '3 × laptops'.
    The kind is not in them: it is shown beside them; nor, with person=False, the ambassador
    (a table with a column of its own for her)."""
    facts = _facts(line)
    kind = facts.get("kind") or ""
    what, subject, detail = codes_of(line)
    if kind in ("hours_sponsored", "hours_volunteered") and what.startswith("hours"):
        parts = [_WHAT_WORDS.get(what), facts.get("person") if person else "", subject]
    elif kind == "money" and what in _WHAT_WORDS:
        parts = [_WHAT_WORDS[what], subject]
    elif kind == "money" and what == "donation":
        parts = [_GIFT_WORDS.get(facts.get("classification") or "", _DONATION), subject, detail]
    elif kind == "material" and what == "material":
        return f"{detail} × {subject}" if detail else subject
    else:
        return facts.get("description") or str(_KIND_WORDS.get(kind, kind))
    return " · ".join(str(part) for part in parts if part)


def contributions(company_id: int | None, start: dt.date | None = None, end: dt.date | None = None) -> list[Contribution]:
    """Every confirmed contribution of one company (or all), with start <= on <= end.

    A dashboard asks several times in one request (SROI panels, statement flags); the answer is
    kept for the rest of the request, and a period of a company whose whole history was already
    read is cut from that. A write transaction forgets it (core.db.atomic_write); a request that
    is not a GET or HEAD never keeps it."""
    cache = request_cache()
    whole = cache.get((company_id, None, None)) if cache is not None else None
    if whole is not None:
        return [c for c in whole if (start is None or c.on >= start) and (end is None or c.on <= end)]
    if cache is not None and (company_id, start, end) in cache:
        return list(cache[(company_id, start, end)])
    found: list[Contribution] = []
    for part in hooks.collect(hooks.CONTRIBUTIONS, company_id, start, end):
        found.extend(part)
    found.sort(key=lambda c: (c.on, c.kind, c.key))
    if cache is not None:
        cache[(company_id, start, end)] = tuple(found)
    return found


# A contribution's key ("donation:4:refund:2") named for people: its source and number, and what
# the part is. Keys stay codes in the books; pages show these words.
_KEY_SOURCES = {"hours": _l("hours session %(id)s"), "donation": _l("donation %(id)s"),
                "material": _l("materials %(id)s"), "allowance": _l("allowance %(id)s")}
_KEY_PARTS = {"refund": _l("refund"), "withdrawn": _l("chargeback"), "reinstated": _l("chargeback reversed"),
              "bank": _l("bank transfer"), "kept": _l("over-payment kept"), "sponsored": _l("sponsored"),
              "volunteered": _l("volunteered")}


@dataclass(frozen=True)
class Key:
    """A contribution's key read as what it names: "donation:4:refund:2" is the source "donation",
    its row 4, and the parts ("refund", "2") of what happened to it. Capabilities write keys as
    text (they are stored in the books); whoever reads one parses it here, never by hand."""

    source: str
    id: int
    parts: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> Key | None:
        """The key's parts, or None for text that is not a key (no source and row number)."""
        pieces = (text or "").split(":")
        if len(pieces) < 2 or not pieces[0] or not (pieces[1].isascii() and pieces[1].isdigit()):
            return None
        return cls(pieces[0], int(pieces[1]), tuple(pieces[2:]))

    def __str__(self) -> str:
        return ":".join((self.source, str(self.id), *self.parts))

    @property
    def whole(self) -> bool:
        """The row itself ("hours:12"), not a later part of it ("donation:4:refund:2")."""
        return not self.parts

    def number_of(self, part: str) -> int | None:
        """The number after `part` ("donation:4:bank:9" -> 9 for "bank"), or None."""
        for name, value in zip(self.parts, self.parts[1:], strict=False):
            if name == part and value.isascii() and value.isdigit():
                return int(value)
        return None

    def before(self, *parts: str) -> Key:
        """The key up to the first of `parts` ("donation:4:refund:2" before "refund" is "donation:4")."""
        for index, name in enumerate(self.parts):
            if name in parts:
                return Key(self.source, self.id, self.parts[:index])
        return self


def key_label(key: str | None) -> str:
    """'donation:4:refund:2' -> 'donation 4 · refund'; a key of an unknown shape as it is."""
    parsed = Key.parse(key)
    if parsed is None or parsed.source not in _KEY_SOURCES:
        return key or ""
    words = [str(_KEY_SOURCES[parsed.source] % {"id": parsed.id})]
    words += [str(_KEY_PARTS[part]) for part in parsed.parts if part in _KEY_PARTS]
    return " · ".join(words)
