"""Fixtures for the SROI tests: contributions posted to the books (core.ledger) as the capabilities
post them, and a commitment factory."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, replace

import pytest

from portal.core import ledger as books
from portal.core.db import atomic_write
from portal.sroi import service


@dataclass(frozen=True)
class Contribution:
    """What a test posts: one contribution's facts, as a capability would post them."""

    kind: str
    key: str
    company_id: int
    on: dt.date
    value_cents: int
    basis: str
    minutes: int = 0
    person: str = ""
    classification: str = ""
    gross_cents: int = 0
    fee_cents: int = 0
    net_cents: int = 0
    method: str = ""
    reference: str = ""
    description: str = ""   # for the test's reader only: the books keep no words


SOURCES = {"hours_sponsored": "hours.confirmed", "hours_volunteered": "hours.confirmed", "money": "donation.paid",
           "material": "material.confirmed"}


class Ledger:
    """Contributions as another capability posts them to the books, changeable during a test."""

    def __init__(self) -> None:
        self.items: list[Contribution] = []
        self._ids = itertools.count(1)

    def add(self, contribution: Contribution, *, source: str | None = None, lines: int = 1,
            subject_id: int | None = None) -> Contribution:
        """Post a contribution in its own transaction, as a capability does with its change."""
        if source is None:
            negative = contribution.minutes < 0 or contribution.value_cents < 0
            source = {"hours_sponsored": "hours.reversal", "hours_volunteered": "hours.reversal",
                      "money": "refund.succeeded"}.get(contribution.kind) if negative else None
            source = source or SOURCES[contribution.kind]
        with atomic_write():
            books.post(company_id=contribution.company_id, dated_on=contribution.on, kind=contribution.kind,
                       key=contribution.key, source=source, basis=contribution.basis,
                       classification=contribution.classification, method=contribution.method, lines=lines,
                       minutes=contribution.minutes, value_cents=contribution.value_cents,
                       gross_cents=contribution.gross_cents, fee_cents=contribution.fee_cents,
                       net_cents=contribution.net_cents, person=contribution.person, subject_id=subject_id,
                       reference=contribution.reference)
        if lines > 0:
            self.items.append(contribution)
        return contribution

    def hours(self, company, minutes: int, *, person: str = "Anna de Vries", on=dt.date(2026, 10, 1),
              value_cents: int | None = None, kind: str = "hours_sponsored", key: str | None = None) -> Contribution:
        if value_cents is None:
            value_cents = 0 if kind == "hours_volunteered" else minutes * 5000 // 60
        return self.add(Contribution(kind=kind, key=key or f"hours:{next(self._ids)}", company_id=company.id, on=on,
                                     description=f"Hours of {person}", value_cents=value_cents,
                                     basis="employer_cost" if kind == "hours_sponsored" else "none",
                                     minutes=minutes, person=person))

    def money(self, company, cents: int, *, on=dt.date(2026, 10, 1), key: str | None = None) -> Contribution:
        return self.add(Contribution(kind="money", key=key or f"donation:{next(self._ids)}", company_id=company.id,
                                     on=on, description="Donation", value_cents=cents, basis="at_cost",
                                     classification="gift", gross_cents=cents, net_cents=cents, method="bank"))

    def material(self, company, cents: int, *, on=dt.date(2026, 10, 1), key: str | None = None) -> Contribution:
        return self.add(Contribution(kind="material", key=key or f"material:{next(self._ids)}", company_id=company.id,
                                     on=on, description="Laptops for the class", value_cents=cents,
                                     basis="market_value", classification="gift", method="in_kind"))

    def remove(self, key: str) -> None:
        """The source withdraws the contribution: its postings are undone (a line of minus one)."""
        for contribution in [c for c in self.items if c.key == key]:
            self.add(replace(contribution, minutes=-contribution.minutes, value_cents=-contribution.value_cents,
                             gross_cents=-contribution.gross_cents, fee_cents=-contribution.fee_cents,
                             net_cents=-contribution.net_cents), source="withdrawn", lines=-1)
        self.items = [c for c in self.items if c.key != key]


@pytest.fixture
def ledger(app) -> Ledger:
    return Ledger()


def commitment_input(**overrides) -> service.CommitmentInput:
    values = dict(
        authority="Gemeente Utrecht", contract_reference="UTR-2026-001", description="Renovation of schools",
        base_type="contract_value_excl_vat", base_cents=100_000_000, percentage_bp=500, cap_cents=None,
        period_start_on=dt.date(2026, 8, 1), period_end_on=dt.date(2027, 7, 31), deadline_on=dt.date(2027, 9, 30),
        buyer_contact_name="S. Adviseur", buyer_contact_email="sroi@utrecht.nl", buyer_contact_phone="",
    )
    values.update(overrides)
    return service.CommitmentInput(**values)


@pytest.fixture
def make_commitment(app):
    def factory(user, template: str = "utrecht-bouwblokken", rules: dict | None = None, **overrides):
        commitment = service.create_commitment(user, commitment_input(**overrides), template)
        if rules:
            current = service.rules_of(commitment).__dict__ | rules
            commitment = service.update_rules(user, commitment.id, service.RulesInput(**current))
        return commitment

    return factory


@pytest.fixture
def company_client(app, make_company, login):
    """A logged-in client for a fresh company: returns (company, client)."""

    def factory(name: str = "Bouwbedrijf", member: bool = False):
        company = make_company(name, member=member)
        client = app.test_client()
        login(client, company.admin)
        return company, client

    return factory


@pytest.fixture
def request_context(app):
    """Service calls outside a request still need one for translated messages (as the CLI has)."""
    with app.test_request_context():
        yield


def pdf_bytes(pages: int = 1) -> bytes:
    """A plain PDF, as a buyer's letter saved as PDF would be (pypdf writes it; no fonts needed)."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def letter(app):
    """The buyer's letter, checked as an upload is: what service.record_approval takes as evidence."""
    from portal.sroi import evidence

    return evidence.check(pdf_bytes(), "akkoord-gemeente-utrecht.pdf")
