"""Fixtures for statements: a contribution source of the test's own, with real Contribution objects.

`ledger` is a mutable list the registered source reads from on every call, so a test can
add, change or withdraw a contribution after a statement was issued, as enrolment and
giving do when an hour is corrected or a payment refunded. Like them, it posts every change
of value to the books (portal.core.ledger) in its own transaction: a new contribution as it
is, a change as the reversal of the old one and the new one, a withdrawal as a reversal. The
statement's lines come from the source, its correction flags from the postings; both agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pypdf
import pytest

from portal.core import clock, hooks
from portal.core import ledger as books
from portal.core.contributions import Contribution
from portal.core.db import atomic_write, forget_reads
from tests.pdftext import pdf_text  # noqa: F401 - re-exported: test_isolation.py imports it from here


class Ledger:
    def __init__(self) -> None:
        self.items: list[Contribution] = []
        self._n = 0

    def __call__(self, company_id, start, end):
        return [c for c in self.items
                if (company_id is None or c.company_id == company_id)
                and (start is None or c.on >= start) and (end is None or c.on <= end)]

    def _key(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}:{self._n}"

    @staticmethod
    def post(contribution: Contribution, sign: int = 1) -> None:
        """Post a contribution (or, with sign -1, its reversal) as the capabilities do."""
        with atomic_write():  # forgets what a request read, as a real source's write transaction does
            c = contribution
            # Enrolment posts the ambassador's enrolment as the subject of an hours line (her person key).
            enrolment = int(c.person_key.split(":", 1)[1]) if c.person_key.startswith("enrolment:") else None
            books.post(company_id=c.company_id, dated_on=c.on, kind=c.kind, key=c.key, source="test",
                       subject_id=enrolment,
                       basis=c.basis, classification=c.classification, method=c.method, lines=sign,
                       minutes=sign * c.minutes, value_cents=sign * c.value_cents, gross_cents=sign * c.gross_cents,
                       fee_cents=sign * c.fee_cents, net_cents=sign * c.net_cents, person=c.person,
                       reference=c.reference)

    def add(self, contribution: Contribution) -> Contribution:
        self.items.append(contribution)
        self.post(contribution)
        forget_reads()
        return contribution

    def hours(self, company, on, minutes, person, *, sponsored=True, rate_cents=5000, description="Lessons in group 6",
              person_key=""):
        value = minutes * rate_cents // 60 if sponsored else 0
        return self.add(Contribution(
            kind="hours_sponsored" if sponsored else "hours_volunteered", key=self._key("hours"),
            company_id=company.id, on=on, description=description, value_cents=value,
            basis="employer_cost" if sponsored else "none", minutes=minutes, person=person, person_key=person_key))

    def money(self, company, on, gross, *, fee=0, method="bank", classification="gift", reference="",
              description="Donation"):
        return self.add(Contribution(
            kind="money", key=self._key("donation"), company_id=company.id, on=on, description=description,
            value_cents=gross, basis="at_cost", classification=classification, gross_cents=gross,
            fee_cents=fee, net_cents=gross - fee, method=method, reference=reference))

    def material(self, company, on, value, *, classification="gift", description="Laptops for group 8"):
        return self.add(Contribution(
            kind="material", key=self._key("material"), company_id=company.id, on=on, description=description,
            value_cents=value, basis="market_value", classification=classification, method="in_kind"))

    def replace(self, contribution: Contribution, **changes) -> Contribution:
        index = self.items.index(contribution)
        self.items[index] = dataclasses.replace(contribution, **changes)
        self.post(contribution, -1)
        self.post(self.items[index])
        forget_reads()
        return self.items[index]

    def remove(self, contribution: Contribution) -> None:
        self.items.remove(contribution)
        self.post(contribution, -1)
        forget_reads()


@pytest.fixture
def ledger(app):
    source = Ledger()
    hooks.connect(app, hooks.CONTRIBUTIONS, source)
    return source


@pytest.fixture
def many_companies(app):
    """n companies with distinct KvK numbers (make_company's numbers can collide for many names)."""
    from portal.accounts.models import Company

    def make(n: int, prefix: str = "Company") -> list:
        return [Company.create(legal_name=f"{prefix} {i} B.V.", kvk=f"{70000000 + i:08d}", street="Oudegracht 1",
                               postcode="3511 AB", city="Utrecht", billing_email=f"finance{i}@example.nl",
                               language="nl" if i % 2 else "en") for i in range(n)]

    return make


@pytest.fixture
def no_sroi(app):
    """Statements without SROI claims (a source that answers none, in place of the SROI adapter)."""
    hooks.connect(app, hooks.STATEMENT_CLAIMS, lambda company_id, start, end: [])


def pdf_reader(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


D = dt.date
TODAY = dt.date(2026, 11, 28)


# --- a real placement through the enrolment capability's service ----------------------------

def raw(**overrides) -> dict[str, str]:
    values = {
        "employee_name": "Sanne de Vries", "employee_email": "sanne@acme.nl", "job_title": "Engineer",
        "department": "Infra", "language": "nl", "role_type": "class", "start": "2026-09", "duration": "full",
        "weekday": "tuesday", "hours_per_week": "8", "funding": "mixed", "sponsored_hours_per_week": "6",
        "hourly_cost": "50,00", "vog_status": "received", "vog_date": "2026-08-01", "under_21": "no",
    }
    values.update(overrides)
    return values


@pytest.fixture
def request_context(app):
    """Enrolment's service sends mail, whose templates want a request (as the CLI has one)."""
    with app.test_request_context():
        yield


@pytest.fixture
def placement(app, request_context, make_company, leader, monkeypatch, no_sroi):
    from portal.enrollment import hours, reference, schools, validation
    from portal.enrollment import service as enrollment

    monkeypatch.setattr(clock, "today", lambda: TODAY)
    reference.seed_reference_data()
    school = schools.save_school(leader, {"name": "OBS De Klimop", "brin": "12KL", "street": "Zamenhofdreef 2",
                                             "postcode": "3562 JT", "city": "Utrecht", "coordinator_name": "Ic",
                                             "coordinator_email": "ic@klimop.nl"})
    company = make_company("Acme", language="nl")
    data, errors = validation.validate_enrolment(raw(), validation.ValidationContext.load(company))
    assert not errors, errors
    enrolment = enrollment.create_enrolment(company, company.admin, data)
    for step in ("intake", "matched", "active"):
        enrolment = enrollment.move(enrolment, step, leader, school=school, group_name="groep 5b", teacher_name="juf Aylin")
    planned = [e for e in hours.register(enrolment) if e.worked_on <= TODAY][:3]
    assert len(planned) == 3
    hours.report_sessions(enrolment, [hours.SessionReport(e.id, True, 480) for e in planned],
                          actor=company.admin, via="hr", today=TODAY)
    hours.decide_entries([e.id for e in planned], leader, approve=True)
    return company, enrolment, planned
