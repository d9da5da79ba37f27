"""The PDF itself, parsed back with pypdf: content, language formats, layout, metadata, safety."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.statements import periods, service, snapshots
from tests.pdfprocesses import render_in_other_processes
from tests.pdftext import (
    assert_in_pdf,
    assert_not_in_pdf,
    count_in_pdf,
    pages_text,
    pdf_contains,
    pdf_text,
)

from .conftest import pdf_reader

D = dt.date
TODAY = D(2027, 1, 15)  # calendar year 2026 has ended: its statements can be issued
YEAR = periods.calendar_year(2026)
A4 = (595, 842)


def fill(ledger, company):
    ledger.hours(company, D(2026, 1, 5), 420, "Anna de Vries")
    ledger.hours(company, D(2026, 1, 12), 450, "Anna de Vries")
    ledger.hours(company, D(2026, 1, 5), 480, "Bram Jansen")
    ledger.hours(company, D(2026, 1, 5), 420, "Eva El Amrani", sponsored=False)
    ledger.money(company, D(2026, 3, 2), 250_000, reference="RF18539007547034")
    ledger.money(company, D(2026, 4, 2), 50_000, fee=1_025, method="stripe", classification="sponsoring", reference="pi_3PqX")
    ledger.money(company, D(2026, 5, 2), -10_000, method="stripe", reference="re_1", description="Refund of donation")
    ledger.material(company, D(2026, 2, 10), 189_900)


def test_dutch_statement_has_every_part_in_dutch_formats(app, ledger, no_sroi, make_company):
    company = make_company("Domstad", language="nl")
    fill(ledger, company)
    statement = service.issue(company, YEAR, today=TODAY)
    text = pdf_text(statement.pdf_bytes)

    def shows(*values: str) -> None:
        for value in values:
            assert_in_pdf(value, text)

    # Number, date of issue, period (Dutch month names come from CLDR, not the catalogue).
    shows("OA-2027-0001")
    shows("15 januari 2027")
    shows("1 januari 2026", "31 december 2026")
    # Issuer and recipient.
    shows(app.config["ISSUER_NAME"], app.config["ISSUER_KVK"], app.config["ISSUER_RSIN"],
          app.config["ISSUER_IBAN"], "Domstad B.V.", company.kvk)
    # Sponsored hours per ambassador with value; volunteered hours as hours only.
    shows("Anna de Vries", "14:30", "€ 725,00")
    shows("Bram Jansen", "€ 400,00")
    shows("€ 1.125,00")                  # total sponsored value
    shows("Eva El Amrani", "7:00")
    # Money gross / fee / net, the refund negative, materials.
    shows("€ 2.900,00", "€ 10,25", "€ 2.889,75")
    shows("€ -100,00")
    shows("€ 1.899,00")
    shows("€ 2.400,00")                  # gifts, apart from...
    shows("€ 500,00")                    # ...sponsoring
    shows("RF18539007547034")
    # Short dates in tables are Dutch too.
    shows("02-03-2026")
    # Verification code and address.
    shows(service.display_code(statement.verification_code))
    shows("/verify/OA-2027-0001")
    # Page numbers "1 / N" on every page, as a whole: "1 / 2" on page 1, not "11 / 12" or "1 / 23".
    pages = pages_text(statement.pdf_bytes)
    assert len(pages) == len(pdf_reader(statement.pdf_bytes).pages)
    for index, page in enumerate(pages, start=1):
        assert re.search(rf"(?<!\d){index}\s*/\s*{len(pages)}(?!\d)", page), (index, page)


def test_english_statement_uses_english_formats(app, ledger, no_sroi, make_company):
    company = make_company("Datadijk", language="en")
    fill(ledger, company)
    statement = service.issue(company, YEAR, today=TODAY)
    text = pdf_text(statement.pdf_bytes)
    for value in ("15 January 2027", "€2,900.00", "€1,125.00", "-€100.00", "Contribution statement",
                  "Sponsored hours per ambassador", "02/03/2026"):
        assert_in_pdf(value, text)


def test_pdf_is_a4_with_metadata_embedded_fonts_and_fixed_dates(app, ledger, no_sroi, make_company):
    company = make_company("Domstad", language="nl")
    fill(ledger, company)
    statement = service.issue(company, YEAR, today=TODAY)
    reader = pdf_reader(statement.pdf_bytes)
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == A4
    meta = reader.metadata
    assert "OA-2027-0001" in meta.title and "Domstad B.V." in meta.title
    assert meta.author == app.config["ISSUER_NAME"]
    assert meta["/CreationDate"].startswith("D:20270115")
    assert meta["/ModDate"].startswith("D:20270115")
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            fonts.append((font["/BaseFont"], any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))))
    assert fonts and all(embedded for _name, embedded in fonts), fonts


def test_same_data_gives_the_same_bytes(app, ledger, no_sroi, make_company):
    company = make_company("Domstad", language="nl")
    fill(ledger, company)
    statement = service.issue(company, YEAR, today=TODAY)
    snapshot = snapshots.snapshot_of(statement)
    again = service.render(snapshot, verification_code=statement.verification_code)
    assert again == statement.pdf_bytes


@pytest.mark.slow
def test_an_issued_statement_renders_to_the_same_bytes_in_two_processes_on_a_busy_machine(
        app, ledger, no_sroi, make_company, tmp_path):
    from portal.statements import document

    company = make_company("Domstad", language="nl")
    fill(ledger, company)
    statement = service.issue(company, YEAR, today=TODAY)
    html = document.statement_html(snapshots.snapshot_of(statement), verification_code=statement.verification_code)
    first, second = render_in_other_processes(html, tmp_path)
    assert first == second == statement.pdf_bytes


def test_concept_is_watermarked_and_has_no_number(app, ledger, no_sroi, make_company):
    company = make_company("Domstad", language="nl")
    fill(ledger, company)
    snapshot, data = service.preview(company, YEAR, today=TODAY)
    text = pdf_text(data)
    assert snapshot["number"] is None
    assert_in_pdf("CONCEPT", text)
    assert_not_in_pdf("OA-2027-", text)
    assert_in_pdf("€ 2.900,00", text)


def test_long_statement_splits_tables_with_repeated_headers(app, ledger, no_sroi, make_company):
    company = make_company("Domstad", language="en")
    start = D(2026, 1, 5)
    for n in range(200):
        ledger.hours(company, start + dt.timedelta(days=n), 420, f"Ambassador {n % 7:02d}")
    statement = service.issue(company, YEAR, today=TODAY)
    reader = pdf_reader(statement.pdf_bytes)
    assert len(reader.pages) >= 4
    texts = pages_text(statement.pdf_bytes)
    assert len(texts) == len(reader.pages)
    # Every line is on the document, and each page of the specification repeats the table header.
    assert sum(count_in_pdf("Lessons in group 6", t) for t in texts) == 200
    pages_with_lines = [t for t in texts if pdf_contains("Lessons in group 6", t)]
    assert len(pages_with_lines) >= 3
    for page in pages_with_lines:
        assert_in_pdf("Hours (h:mm)", page)
        assert_in_pdf("Ambassador", page)
    assert_in_pdf("1,400:00", " ".join(texts))  # 200 x 7:00, with the English thousands separator


def test_hostile_company_name_is_text_and_attaches_nothing(app, ledger, no_sroi, make_company, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-SERVER-FILE")
    hostile = '<link rel=attachment href=file:///etc/passwd><img src="http://127.0.0.1:9/x.png">'
    company = make_company("X", language="en")
    company.legal_name = hostile
    company.save()
    evil = f'<b>bold</b><link rel="attachment" href="file://{secret}"><img src="file://{secret}">'
    ledger.money(company, D(2026, 3, 2), 1000, description=evil)
    for data in (service.issue(company, YEAR, today=TODAY).pdf_bytes, service.preview(company, YEAR, today=TODAY)[1]):
        reader = pdf_reader(data)
        assert not reader.attachments
        assert b"/EmbeddedFile" not in data
        text = pdf_text(data)
        assert_in_pdf("<link rel=attachment href=file:///etc/passwd>", text)
        assert_in_pdf("<b>bold</b>", text)
        assert_not_in_pdf("TOP-SECRET", text)
        assert_not_in_pdf("root:", text)


@pytest.mark.parametrize("anbi", [True, False])
def test_anbi_wording_follows_the_setting(app, ledger, no_sroi, make_company, anbi):
    app.config["ISSUER_ANBI"] = anbi
    company = make_company("Domstad", language="en")
    ledger.money(company, D(2026, 3, 2), 1000)
    text = pdf_text(service.issue(company, YEAR, today=TODAY).pdf_bytes)
    if anbi:
        assert_in_pdf("registered ANBI", text)
        assert_not_in_pdf("does not have ANBI status", text)
    else:
        assert_in_pdf("does not have ANBI status", text)
        assert_not_in_pdf("registered ANBI", text)


def test_core_pdf_attaches_and_fetches_nothing_even_without_escaping(app, tmp_path):
    """Defence in depth: were a template ever to let markup through, core/pdf still refuses."""
    from portal.core import pdf

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-SERVER-FILE")
    raw = (f'<html><body><p>x</p><link rel="attachment" href="file://{secret}">'
           f'<link rel=attachment href=file:///etc/passwd><img src="file://{secret}"></body></html>')
    data = pdf.render_pdf(raw)
    assert not pdf_reader(data).attachments
    assert b"/EmbeddedFile" not in data and b"TOP-SECRET" not in data


def test_a_render_over_the_time_limit_uses_no_number(app, ledger, no_sroi, make_company, monkeypatch):
    from portal.core import pdf
    from portal.statements.models import Statement, StatementCounter

    company = make_company("Slow", language="nl")
    ledger.money(company, D(2026, 3, 2), 1000)
    monkeypatch.setitem(app.config, "PDF_TIMEOUT_SECONDS", 0.0001)
    with pytest.raises(pdf.PdfError):
        service.issue(company, YEAR, today=TODAY)
    assert Statement.select().count() == 0
    assert not StatementCounter.select().where(StatementCounter.last_number > 0).exists()
    monkeypatch.setitem(app.config, "PDF_TIMEOUT_SECONDS", 30)
    assert service.issue(company, YEAR, today=TODAY).number == "OA-2027-0001"
