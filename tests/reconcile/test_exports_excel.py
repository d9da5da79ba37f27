"""The accounting export for Dutch Excel (issue 21): decimal commas in a `;` CSV, real dates and euro
numbers in XLSX, one id per line, the bank statement and the contribution statement (OA-number)
of each line, headers and filters in the reader's words, and a preview in pages of 50 rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets

import pytest
from openpyxl import load_workbook

from portal.core import hooks, ledger
from portal.core.contributions import Contribution
from portal.core.db import atomic_write

from .conftest import camt


def read_csv(data: bytes, delimiter: str) -> list[dict]:
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


@pytest.fixture
def dutch_leader(sign_in_leader, leader):
    leader.language = "nl"
    leader.save()
    return sign_in_leader()


# --- a bank gift paid through an imported statement, on an issued contribution statement ------------

@pytest.fixture
def paid_through_the_bank(app, make_company, leader):
    """A payment request of EUR 1,234.56 paid on 4 May 2026 by a transfer on bank statement 7,
    matched on import; then a contribution statement issued for May."""
    from portal.giving import service as giving
    from portal.reconcile import bank_import
    from portal.statements import periods
    from portal.statements import service as statements

    company = make_company("Bouwgroep")
    with app.test_request_context():
        donation, _new = giving.create_donation(
            giving.DonationInput(123_456, "gift", "bank", secrets.token_urlsafe(24)), user=company.admin)
        statement = camt({"amount": "1234.56", "on": "2026-05-04", "ref": "BANK-1", "iban": "NL02ABNA0123456789",
                          "remittance": f"<Strd><CdtrRefInf><Ref>{donation.reference}</Ref></CdtrRefInf></Strd>"})
        assert bank_import.import_statement(statement, actor=leader).matched == 1
        issued = statements.issue(company, periods.custom(dt.date(2026, 5, 1), dt.date(2026, 5, 31)), leader)
    return company, donation, issued


def test_the_dutch_csv_has_decimal_commas_words_and_both_statement_numbers(dutch_leader, paid_through_the_bank):
    _company, donation, issued = paid_through_the_bank
    response = dutch_leader.get("/leader/reconcile/export.csv?start=2026-05-01&end=2026-05-31")
    rows = read_csv(response.data, ";")
    assert len(rows) == 1
    row = rows[0]
    assert {"Regel", "Bedrijf", "Datum", "Bruto", "Kosten", "Netto", "Bankafschrift", "Bijdrageoverzicht",
            "Grootboekrekening", "Omschrijving"} <= set(row)
    header = response.data.decode("utf-8-sig").split("\r\n", 1)[0].split(";")
    assert len(header) == len(set(header)) == 16          # no two columns read the same
    assert not any("_" in name for name in header)
    assert row["Gift of sponsoring"] == "Gift"
    assert row["Bruto"] == "1234,56" and row["Netto"] == "1234,56" and row["Kosten"] == "0,00"
    assert row["Datum"] == "2026-05-04" and row["Regel"] == f"donation:{donation.id}"
    assert row["Bankafschrift"] == "7"                      # the bank's statement, not the portal's
    assert row["Bijdrageoverzicht"] == issued.number and issued.number.startswith("OA-")
    assert row["Betaalwijze"] == "Bankoverschrijving"


def test_the_english_csv_has_commas_and_decimal_points(leader_client, paid_through_the_bank):
    rows = read_csv(leader_client.get("/leader/reconcile/export.csv?start=2026-05-01&end=2026-05-31").data, ",")
    assert rows[0]["Gross"] == "1234.56" and rows[0]["Bank statement"] == "7"
    # The reader may ask for the other spreadsheet's CSV.
    rows = read_csv(leader_client.get("/leader/reconcile/export.csv?start=2026-05-01&csv=nl").data, ";")
    assert rows[0]["Gross"] == "1234,56"


def test_the_xlsx_export_holds_dates_and_euro_numbers(dutch_leader, paid_through_the_bank):
    response = dutch_leader.get("/leader/reconcile/export.xlsx?start=2026-05-01&end=2026-05-31")
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [cell.value for cell in sheet[1]]
    cells = dict(zip(header, sheet[2], strict=True))
    assert cells["Datum"].is_date and cells["Datum"].value.date() == dt.date(2026, 5, 4)
    assert cells["Bruto"].data_type == "n" and float(cells["Bruto"].value) == 1234.56
    assert "€" in cells["Bruto"].number_format and "0.00" in cells["Bruto"].number_format
    assert cells["Bijdrageoverzicht"].value.startswith("OA-")


# --- one id per line -----------------------------------------------------------------------------

def test_a_mixed_hours_entry_gives_two_lines_with_their_own_ids(app, leader, make_company, leader_client):
    """An entry of a mixed placement (sponsored and volunteered) is one key, "hours:N", for two
    contributions: the export named both "hours:N"; each line now has an id of its own."""
    from portal.core import clock
    from portal.enrollment import hours, reference, schools, validation
    from portal.enrollment import service as enrollment

    company = make_company("Gemengd")
    with app.test_request_context():
        reference.seed_reference_data()
        year = reference.current_school_year()
        school = schools.save_school(leader, {"name": "OBS De Klimop", "brin": "12KL", "street": "Zamenhofdreef 2",
                                                 "postcode": "3562 JT", "city": "Utrecht", "coordinator_name": "Ic",
                                                 "coordinator_email": "ic@klimop.nl"})
        raw = {"employee_name": "Iris Brouwer", "employee_email": "iris@gemengd.nl", "job_title": "Engineer",
               "department": "", "language": "en", "role_type": "class", "start": f"{year.starts_on.year}-09",
               "duration": "full", "weekday": "tuesday", "hours_per_week": "8", "funding": "mixed",
               "sponsored_hours_per_week": "6", "hourly_cost": "50,00", "vog_status": "received",
               "vog_date": (year.starts_on - dt.timedelta(days=10)).isoformat(), "under_21": "no"}
        data, errors = validation.validate_enrolment(raw, validation.ValidationContext.load(company))
        assert not errors, errors
        enrolment = enrollment.create_enrolment(company, company.admin, data)
        for step in ("intake", "matched", "active"):
            enrolment = enrollment.move(enrolment, step, leader, school=school, group_name="groep 5b",
                                        teacher_name="juf Aylin")
        entry = [e for e in hours.register(enrolment) if e.worked_on < clock.today()][-1]
        hours.report_sessions(enrolment, [hours.SessionReport(entry.id, True, 480)], actor=company.admin, via="hr")
        hours.decide_entries([entry.id], leader, approve=True)
    rows = read_csv(leader_client.get(f"/leader/reconcile/export.csv?company={company.id}").data, ",")
    assert sorted(r["Line"] for r in rows) == [f"hours:{entry.id}:sponsored", f"hours:{entry.id}:volunteered"]
    assert {r["Kind"] for r in rows} == {"Sponsored hours", "Volunteered hours"}


# --- the screen ---------------------------------------------------------------------------------

@pytest.fixture
def many_gifts(app, make_company):
    """120 bank gifts of one company in May 2026, as a source and in the books."""
    company = make_company("Veel")
    items = [Contribution(kind="money", key=f"donation:{n}", company_id=company.id,
                          on=dt.date(2026, 5, 1) + dt.timedelta(days=n % 28), what="donation", subject=f"G-{n:06d}",
                          value_cents=1_000 * n, basis="at_cost", classification="gift", gross_cents=1_000 * n,
                          net_cents=1_000 * n, method="bank") for n in range(1, 121)]
    hooks.connect(app, hooks.CONTRIBUTIONS, lambda company_id, start, end: [c for c in items if (start is None or c.on >= start)
                                                        and (end is None or c.on <= end)])
    with atomic_write():
        for c in items:
            ledger.post(company_id=c.company_id, dated_on=c.on, kind=c.kind, key=c.key, source="donation.paid",
                        basis=c.basis, classification=c.classification, method=c.method, value_cents=c.value_cents,
                        gross_cents=c.gross_cents, net_cents=c.net_cents)
    return items


def _table_rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_the_preview_has_pages_of_50_rows_and_says_how_many_there_are(leader_client, many_gifts):
    first = leader_client.get("/leader/reconcile/export?kind=money").get_data(as_text=True)
    assert len(_table_rows(first)) == 50
    assert "120 rows." in first and "Page 1 of 3" in first
    assert 'href="/leader/reconcile/export?kind=money&amp;page=2"' in first
    last = leader_client.get("/leader/reconcile/export?kind=money&page=3").get_data(as_text=True)
    assert len(_table_rows(last)) == 20 and "Rows 101 to 120 are shown" in last
    assert "Previous" in last and "Next" not in last
    # The downloads hold all rows, whatever page the screen shows.
    rows = read_csv(leader_client.get("/leader/reconcile/export.csv?kind=money&page=3").data, ",")
    assert len(rows) == 120 and len({r["Line"] for r in rows}) == 120
    region = re.search(r'<div class="table-scroll"([^>]*)>', first).group(1)
    assert 'tabindex="0"' in region and 'role="region"' in region and 'aria-label="Contributions to export"' in region


def test_a_page_beyond_the_last_shows_the_last(leader_client, many_gifts):
    page = leader_client.get("/leader/reconcile/export?page=99").get_data(as_text=True)
    assert "Page 3 of 3" in page and len(_table_rows(page)) == 20


def test_the_dutch_page_shows_kinds_methods_and_headers_in_words(dutch_leader, paid_through_the_bank):
    page = dutch_leader.get("/leader/reconcile/export").get_data(as_text=True)
    options = " ".join(re.findall(r"<option[^>]*>([^<]*)</option>", page))
    for code in ("hours_sponsored", "hours_volunteered", "in_kind", "stripe", "money"):
        assert code not in options, code
    assert "Bankoverschrijving" in options and "In natura" in options
    headers = re.findall(r'<th scope="col">([^<]*)</th>', page)
    assert "Bankafschrift" in headers and "Bijdrageoverzicht" in headers
    assert not any("_" in header for header in headers), headers
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert "1234,56" in cells and "Bankoverschrijving" in cells


def test_company_users_get_404_for_the_export(app, make_company, login, paid_through_the_bank):
    company, _donation, _issued = paid_through_the_bank
    client = login(app.test_client(), company.admin)
    for path in ("/leader/reconcile/export", "/leader/reconcile/export.csv", "/leader/reconcile/export.xlsx"):
        assert client.get(path).status_code == 404


# --- a closed month's export stays as it was closed --------------------------------------------------

def test_a_late_refund_of_a_closed_month_is_listed_on_its_booking_date_with_its_own_date(
        dutch_leader, paid_through_the_bank, leader, app):
    """May is closed; a refund of EUR 234.56 dated 28 May is recorded afterwards. May's file stays as
    it was; June's file lists the refund on 1 June, with 28 May in its own column."""
    from portal.giving import service as giving

    _company, donation, _issued = paid_through_the_bank
    may = "/leader/reconcile/export.csv?start=2026-05-01&end=2026-05-31"
    before = dutch_leader.get(may).data
    ledger.ClosedMonth.create(month=dt.date(2026, 5, 1))
    with app.test_request_context():
        assert giving.record_bank_refund(donation.reference, 23_456, dt.date(2026, 5, 28), leader,
                                         "CAMT terug").status == "refund_recorded"
    assert dutch_leader.get(may).data == before
    rows = read_csv(dutch_leader.get("/leader/reconcile/export.csv?start=2026-06-01&end=2026-06-30").data, ";")
    assert [(r["Datum"], r["Bruto"], r["Oorspronkelijke datum"]) for r in rows] == [
        ("2026-06-01", "-234,56", "2026-05-28")]
    everything = read_csv(dutch_leader.get("/leader/reconcile/export.csv").data, ";")
    assert sorted(r["Bruto"] for r in everything) == ["-234,56", "1234,56"]
