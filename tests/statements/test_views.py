"""The pages: preview, issue, download, correct; the leader's register; verification; isolation."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest

from portal.statements import periods, service, snapshots
from portal.statements.models import Statement
from tests.pdftext import assert_in_pdf, pdf_text

D = dt.date
YEAR = periods.calendar_year(2026)
AFTER_THE_YEAR = D(2027, 1, 15)  # calendar year 2026 has ended: its statement can be issued


@pytest.fixture(autouse=True)
def after_the_year(monkeypatch):
    from portal.core import clock

    monkeypatch.setattr(clock, "today", lambda: AFTER_THE_YEAR)


@pytest.fixture
def acme(make_company, ledger, no_sroi):
    company = make_company("Acme", member=True)
    ledger.hours(company, D(2026, 1, 5), 420, "Anna de Vries")
    ledger.money(company, D(2026, 3, 2), 250_000)
    return company


@pytest.fixture
def issued(acme):
    return service.issue(acme, YEAR, acme.admin, today=AFTER_THE_YEAR)


def assert_pdf_download(response, filename: str):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert filename in response.headers["Content-Disposition"]
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.data.startswith(b"%PDF-")


def test_company_previews_then_issues_then_downloads(client, login, acme):
    login(client, acme.member)
    page = client.get("/statements")
    assert page.status_code == 200 and b"Check the concept" in page.data

    preview = client.get("/statements/preview?kind=calendar_year&year=2026")
    assert preview.status_code == 200
    assert b"Issue this statement" in preview.data and b"Anna" not in preview.data  # totals, not names
    assert "€2,500.00".encode() in preview.data

    concept = client.get("/statements/preview.pdf?kind=calendar_year&year=2026")
    assert_pdf_download(concept, "concept-2026.pdf")
    assert_in_pdf("CONCEPT", concept.data)
    assert Statement.select().count() == 0  # a preview stores nothing

    response = client.post("/statements/issue", data={"kind": "calendar_year", "year": "2026"})
    assert response.status_code == 302
    statement = Statement.get()
    assert response.headers["Location"].endswith(f"/statements/{statement.id}")
    detail = client.get(f"/statements/{statement.id}")
    assert statement.number.encode() in detail.data
    assert statement.pdf_sha256.encode() in detail.data

    download = client.get(f"/statements/{statement.id}/pdf")
    assert_pdf_download(download, f"{statement.number}.pdf")
    assert hashlib.sha256(download.data).hexdigest() == statement.pdf_sha256
    assert download.headers["Repr-Digest"].startswith("sha-256=:")

    # Asking again for the same period leads to the existing statement, not a second number.
    again = client.post("/statements/issue", data={"kind": "calendar_year", "year": "2026"})
    assert again.headers["Location"].endswith(f"/statements/{statement.id}")
    assert Statement.select().count() == 1


def test_custom_period_and_bad_input(client, login, acme):
    login(client, acme.admin)
    bad = client.get("/statements/preview?kind=custom&start=2026-05-01&end=2026-03-01")
    assert bad.status_code == 422
    assert b"The last day cannot be before the first day." in bad.data
    assert b'value="2026-05-01"' in bad.data  # what the user typed comes back
    good = client.get("/statements/preview?kind=custom&start=2026-01-01&end=2026-01-31")
    assert good.status_code == 200 and b"Issue this statement" in good.data
    response = client.post("/statements/issue", data={"kind": "custom", "start": "2026-01-01", "end": "2026-01-31"})
    statement = Statement.get()
    assert (statement.period_kind, statement.period_start, statement.period_end) == ("custom", D(2026, 1, 1), D(2026, 1, 31))
    assert response.status_code == 302


def test_school_year_statement(client, login, acme):
    login(client, acme.admin)
    client.post("/statements/issue", data={"kind": "school_year", "school_year": "2025"})
    statement = Statement.get()
    assert (statement.period_start, statement.period_end) == (D(2025, 8, 1), D(2026, 7, 31))


def test_change_after_issue_is_flagged_and_corrected(client, login, acme, issued, ledger):
    login(client, acme.admin)
    ledger.money(acme, D(2026, 4, 1), -50_000, description="Refund")
    page = client.get("/statements")
    assert b"needs correction" in page.data
    detail = client.get(f"/statements/{issued.id}")
    assert b"Issue a correction" in detail.data and b"Refund" in detail.data
    response = client.post(f"/statements/{issued.id}/correct")
    correction = Statement.get(Statement.replaces == issued.id)
    assert response.headers["Location"].endswith(f"/statements/{correction.id}")
    assert Statement.get_by_id(issued.id).status == "superseded"
    # The old statement is still served, byte for byte.
    old = client.get(f"/statements/{issued.id}/pdf")
    assert hashlib.sha256(old.data).hexdigest() == issued.pdf_sha256


def test_leader_register_void_and_correct(leader_client, acme, issued, ledger):
    register = leader_client.get("/leader/statements")
    assert register.status_code == 200
    assert issued.number.encode() in register.data and b"no gaps" in register.data
    detail = leader_client.get(f"/leader/statements/{issued.id}")
    assert b"Acme B.V." in detail.data and b"Withdraw" in detail.data
    download = leader_client.get(f"/leader/statements/{issued.id}/pdf")
    assert hashlib.sha256(download.data).hexdigest() == issued.pdf_sha256

    empty = leader_client.post(f"/leader/statements/{issued.id}/void", data={"reason": ""})
    assert empty.status_code == 422
    assert Statement.get_by_id(issued.id).status == "issued"
    leader_client.post(f"/leader/statements/{issued.id}/void", data={"reason": "Wrong company"})
    assert Statement.get_by_id(issued.id).status == "void"
    register = leader_client.get("/leader/statements?year=2027")
    assert b"Wrong company" in register.data

    second = service.issue(acme, YEAR, today=D(2027, 1, 16))
    ledger.money(acme, D(2026, 5, 1), 100)
    response = leader_client.post(f"/leader/statements/{second.id}/correct")
    assert response.status_code == 302
    assert Statement.get(Statement.replaces == second.id).number == "OA-2027-0003"


def test_the_leaders_panel_counts_the_years_numbers_and_names_a_gap(leader_client, acme):
    from portal.core import clock
    from portal.statements.models import StatementCounter

    today = clock.today()   # the panel counts the numbers of the current year
    first = service.issue(acme, YEAR, today=today)
    second = service.issue(acme, YEAR, today=today, replaces=first)
    service.void(second, acme.admin, "Wrong period")
    panel = " ".join(leader_client.get("/leader").get_data(as_text=True).split())
    assert f"Statements {today.year}" in panel and "2 numbers used: 0 current, 1 withdrawn." in panel
    assert "Missing numbers" not in panel
    StatementCounter.update(last_number=StatementCounter.last_number + 1).where(
        StatementCounter.year == today.year).execute()   # a number handed out with no statement
    panel = " ".join(leader_client.get("/leader").get_data(as_text=True).split())
    assert f"Missing numbers: OA-{today.year}-0003" in panel


def test_verification_needs_the_code_and_reveals_nothing_without_it(client, acme, issued):
    code = issued.verification_code
    without = client.get(f"/verify/{issued.number}")
    assert without.status_code == 200
    assert b"Acme" not in without.data and issued.pdf_sha256.encode() not in without.data

    wrong = client.get(f"/verify/{issued.number}?code=AAAAA-BBBBB")
    unknown = client.get(f"/verify/OA-2026-0999?code={code}")
    garbage = client.get(f"/verify/not-a-number?code={code}")
    for response in (wrong, unknown, garbage):
        assert response.status_code == 404
        assert b"Acme" not in response.data and b"cannot confirm" in response.data
    # Wrong code and unknown number give the same page (apart from the number asked about).
    def neutral(response, number, typed):
        return response.data.replace(number.encode(), b"N").replace(typed.encode(), b"C")

    assert neutral(wrong, issued.number, "AAAAA-BBBBB") == neutral(unknown, "OA-2026-0999", code)

    right = client.get(f"/verify/{issued.number}?code={service.display_code(code).lower()}")
    assert right.status_code == 200
    assert b"Genuine" in right.data and b"Acme B.V." in right.data
    assert issued.pdf_sha256.encode() in right.data

    same = client.post(f"/verify/{issued.number}", data={"code": code, "document": (io.BytesIO(issued.pdf_bytes), "s.pdf")},
                       content_type="multipart/form-data")
    assert b"exactly the document that was issued" in same.data
    forged = client.post(f"/verify/{issued.number}", data={"code": code, "document": (io.BytesIO(issued.pdf_bytes + b"\n"), "s.pdf")},
                         content_type="multipart/form-data")
    assert b"is not the document that was issued" in forged.data

    start = client.get(f"/verify?number={issued.number.lower()}&code={code}")
    assert start.status_code == 302 and f"/verify/{issued.number}" in start.headers["Location"]


def test_qr_code_on_the_pdf_leads_to_verification(app, client, acme, issued):
    from portal.statements import document

    # The printed text names the address; the QR (an SVG data: URI) encodes it with the code.
    assert_in_pdf(f"{app.config['BASE_URL']}/verify/{issued.number}", issued.pdf_bytes)
    target = f"{app.config['BASE_URL']}/verify/{issued.number}?code={issued.verification_code}"
    html = document.statement_html(snapshots.snapshot_of(issued), verification_code=issued.verification_code)
    assert f'src="{document.qr_data_uri(target)}"' in html
    response = client.get(target.removeprefix(app.config["BASE_URL"]))
    assert b"Genuine" in response.data


def test_superseded_statement_verifies_with_a_warning(client, acme, issued, ledger):
    ledger.money(acme, D(2026, 6, 1), 100)
    correction = service.issue_correction(issued, today=D(2027, 1, 18))
    response = client.get(f"/verify/{issued.number}?code={issued.verification_code}")
    assert b"Genuine" in response.data and correction.number.encode() in response.data


# --- who may see what (the generated isolation tests are in test_isolation.py) -----------------

def test_leader_is_not_a_company(leader_client, issued):
    assert leader_client.get("/statements").status_code == 404
    assert leader_client.get(f"/statements/{issued.id}").status_code == 404


def test_dashboards_show_statements_and_corrections(app, login, leader_client, acme, issued, ledger):
    client = app.test_client()
    login(client, acme.admin)
    panel = client.get("/dashboard")
    assert issued.number.encode() in panel.data and b"needs a correction" not in panel.data
    ledger.money(acme, D(2026, 4, 1), -1000, description="Refund")
    assert b"1 statement needs a correction" in client.get("/dashboard").data
    desk = leader_client.get("/leader")
    assert b"1 statement needs a correction" in desk.data


def test_guessing_verification_codes_is_rate_limited(app_config):
    from portal import create_app

    limited = create_app(dict(app_config, RATELIMIT_ENABLED=True))
    with limited.app_context():
        client = limited.test_client()
        statuses = [client.get(f"/verify/OA-2026-0001?code=GUESS{n:05d}").status_code for n in range(21)]
    assert statuses[:20] == [404] * 20
    assert statuses[20] == 429


def test_a_statement_with_more_sessions_than_fit_on_paper_comes_with_its_specification_as_csv(
        client, login, make_company, ledger, no_sroi, monkeypatch):
    from portal.statements import document

    monkeypatch.setattr(document, "SPECIFICATION_LIMIT", 3)
    company = make_company("Groot", member=True)
    for day in range(5):
        ledger.hours(company, D(2026, 3, 2 + day), 420, "=HYPERLINK(\"http://x\")" if day == 0 else "Bram Bakker")
    statement = service.issue(company, YEAR, company.admin, today=AFTER_THE_YEAR)
    text = pdf_text(statement.pdf)
    assert_in_pdf("covers 5 sessions", text)
    assert_in_pdf("spreadsheet (CSV)", text)
    # Thousands are grouped as the reader writes them.
    assert document.helpers("nl")["number"](43267) == "43.267" and document.helpers("en")["number"](43267) == "43,267"

    login(client, company.member)
    assert b"Specification (CSV)" in client.get(f"/statements/{statement.id}").data
    response = client.get(f"/statements/{statement.id}/specification.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"{statement.number}-specification.csv" in response.headers["Content-Disposition"]
    rows = response.data.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("Statement,Date,Kind,Ambassador")   # words in the statement's language
    assert "hours_sponsored" not in response.data.decode("utf-8-sig")
    assert len(rows) == 1 + 5 and all(row.startswith(statement.number + ",2026-03-0") for row in rows[1:])
    assert "'=HYPERLINK" in rows[1]                       # a spreadsheet shows it, does not run it
    assert ",420,350.00," in rows[2]                      # 7 hours at EUR 50
    # The specification is the statement's, frozen: a later change to the hours does not alter it.
    ledger.remove(ledger.items[-1])
    assert client.get(f"/statements/{statement.id}/specification.csv").data == response.data
    # Another company's user gets nothing.
    other = login(client.application.test_client(), make_company("Ander").admin)
    assert other.get(f"/statements/{statement.id}/specification.csv").status_code == 404
