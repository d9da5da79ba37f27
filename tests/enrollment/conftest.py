"""Fixtures for the enrolment tests: seeded calendar, schools, enrolments in any status,
an employee's browser session, a fixed 'today', PDFs and a query counter."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from portal.core import clock
from tests.querycount import logged_queries

TODAY = dt.date(2026, 11, 28)


def valid_raw(**overrides) -> dict[str, str]:
    raw = {
        "employee_name": "Sanne de Vries", "employee_email": "sanne@acme.nl", "job_title": "Engineer",
        "department": "Infra", "language": "en", "role_type": "class", "start": "2026-09", "duration": "full",
        "weekday": "tuesday", "hours_per_week": "8", "funding": "sponsored", "sponsored_hours_per_week": "",
        "hourly_cost": "50,00", "vog_status": "received", "vog_date": "2026-08-01", "under_21": "no",
    }
    raw.update(overrides)
    return raw


@pytest.fixture(autouse=True)
def request_context(app):
    """Service calls mail, and mail rendering needs a request (core.templating reads
    `request.full_path`), as it has in the CLI (`test_request_context`) and in views."""
    with app.test_request_context("/", base_url="http://portal.test"):
        yield


@pytest.fixture(autouse=True)
def seeded(app, request_context):
    """The migration seeds the calendar; PostgreSQL test runs truncate it, so seed again."""
    from portal.enrollment import reference

    reference.seed_reference_data()


@pytest.fixture
def today(monkeypatch):
    """Freeze the enrolment capability's 'today' (Europe/Amsterdam) at 28 November 2026."""

    monkeypatch.setattr(clock, "today", lambda: TODAY)
    return TODAY


@pytest.fixture
def year(app):
    from portal.enrollment.models import SchoolYear

    return SchoolYear.get(SchoolYear.name == "2026-2027")


@pytest.fixture
def school(app, leader):
    from portal.enrollment import schools

    return schools.save_school(leader, {"name": "OBS De Klimop", "brin": "12KL", "street": "Zamenhofdreef 2",
                                        "postcode": "3562 JT", "city": "Utrecht", "coordinator_name": "Ic Klimop",
                                        "coordinator_email": "ic@klimop.nl"})


@pytest.fixture
def enrol(app):
    """Enrol through the service as the company's admin; `status` walks the workflow there."""
    from portal.enrollment import service, validation

    def make(company, *, status="submitted", leader=None, school=None, **overrides):
        overrides.setdefault("employee_email", f"person{make.counter}@{company.legal_name.split()[0].lower()}.nl")
        make.counter += 1
        data, errors = validation.validate_enrolment(valid_raw(**overrides), validation.ValidationContext.load(company))
        assert not errors, errors
        enrolment = service.create_enrolment(company, company.admin, data)
        path = {"submitted": [], "intake": ["intake"], "matched": ["intake", "matched"],
                "active": ["intake", "matched", "active"], "completed": ["intake", "matched", "active", "completed"]}
        for step in path[status]:
            enrolment = service.move(enrolment, step, leader, school=school, group_name="groep 5b",
                                     teacher_name="juf Aylin")
        return enrolment

    make.counter = 1
    return make


@pytest.fixture
def hr(app, make_company, login):
    """Company A with its HR admin logged in on `hr.client`."""
    company = make_company("Acme")
    company.client = login(app.test_client(), company.admin)
    return company


@pytest.fixture
def ambassador_client(app, outbox):
    """Open the employee's mailed link in a fresh browser; returns the client."""

    def open_link(enrolment):
        client = app.test_client()
        invites = [m for m in outbox.to(enrolment.employee_email) if "/ambassador/start/" in m.text]
        assert invites, f"no link mailed to {enrolment.employee_email}"
        path = invites[-1].link()
        assert client.get(path).status_code == 200
        response = client.post(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/ambassador")
        return client

    return open_link


def pdf_bytes(pages: int = 1, *, javascript: str = "", password: str | None = None) -> bytes:
    """A real PDF; javascript="open" adds an /OpenAction script, "names" a document-level one."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if javascript:
        action = writer._add_object(DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                                      NameObject("/JS"): TextStringObject("app.alert('hi');")}))
        if javascript == "open":
            writer._root_object[NameObject("/OpenAction")] = action
        else:
            tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("x"), action])})
            writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): writer._add_object(tree)})
    if password:
        writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def count_queries():
    """Context manager factory: `with count_queries() as counter: ...; len(counter.queries)`."""
    return logged_queries

