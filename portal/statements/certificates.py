"""Certificates of participation for ambassadors who completed a placement.

Rendered by the same machinery as statements (invoices/certificate.html through core/pdf),
in the ambassador's language, from the enrolment and its confirmed hours. The document date
is the last day of the placement, so the same placement always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from flask import current_app
from peewee import fn

from portal.accounts.models import Company
from portal.core.i18n import LANGUAGES
from portal.enrollment.models import Enrolment, HoursEntry, School, SchoolYear
from portal.statements import document


@dataclass(frozen=True)
class Certificate:
    enrolment_id: int
    company_id: int
    person: str
    company: str
    school: str
    group: str
    school_year: str
    starts_on: dt.date
    ends_on: dt.date
    minutes: int
    language: str

    def data(self) -> dict:
        """The template's data (JSON-like), with the issuer as configured."""
        config = current_app.config
        found = asdict(self) | {
            "starts_on": self.starts_on.isoformat(), "ends_on": self.ends_on.isoformat(),
            "issued_on": self.ends_on.isoformat(),
            "issuer": {"name": config["ISSUER_NAME"], "address": config["ISSUER_ADDRESS"]},
        }
        return found

    @property
    def filename(self) -> str:
        slug = "".join(ch if ch.isalnum() else "-" for ch in self.person).strip("-").lower() or "ambassador"
        return f"certificate-{slug}-{self.school_year.replace('/', '-')}.pdf"


def completed(company_id: int) -> list[Certificate]:
    """Every completed placement of a company, with its confirmed hours (newest first)."""
    return _query(company_id)


def for_enrolment(company_id: int, enrolment_id: int) -> Certificate | None:
    """One company's completed placement, or None (another company's, or not completed)."""
    found = _query(company_id, enrolment_id)
    return found[0] if found else None


def _query(company_id: int, enrolment_id: int | None = None) -> list[Certificate]:
    query = (Enrolment.select(Enrolment, School.name.alias("school_name"), SchoolYear.name.alias("year_name"),
                              Company.legal_name.alias("company_name"))
             .join(SchoolYear, on=(Enrolment.school_year == SchoolYear.id))
             .switch(Enrolment).join(School, on=(Enrolment.school == School.id))
             .switch(Enrolment).join(Company, on=(Enrolment.company == Company.id))
             .where((Enrolment.company == company_id) & (Enrolment.status == "completed"))
             .order_by(Enrolment.ends_on.desc(), Enrolment.employee_name))
    if enrolment_id is not None:
        query = query.where(Enrolment.id == enrolment_id)
    enrolments = list(query.objects())
    if not enrolments:
        return []
    minutes = dict(HoursEntry.select(HoursEntry.enrolment, fn.SUM(HoursEntry.minutes))
                   .where(HoursEntry.enrolment.in_([e.id for e in enrolments]) & (HoursEntry.status == "confirmed"))
                   .group_by(HoursEntry.enrolment).tuples())
    return [Certificate(
        enrolment_id=e.id, company_id=e.company_id, person=e.employee_name, company=e.company_name,
        school=e.school_name, group=e.group_name, school_year=e.year_name, starts_on=e.starts_on,
        ends_on=e.ends_on, minutes=int(minutes.get(e.id) or 0),
        language=e.language if e.language in LANGUAGES else "nl") for e in enrolments]


def render(certificate: Certificate) -> bytes:
    return document.certificate_pdf(certificate.data())
