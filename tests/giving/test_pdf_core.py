"""core/pdf.py: HTML in, PDF bytes out, nothing fetched from outside invoices/, a time limit."""

from __future__ import annotations

import io

import pypdf
import pytest

from portal.core import pdf
from tests.pdftext import assert_in_pdf, assert_not_in_pdf


def test_html_becomes_a_pdf_with_the_text_and_fixed_dates():
    html = ('<!doctype html><html lang="en"><head><title>Receipt 7</title>'
            '<meta name="dcterms.created" content="2026-03-02T00:00:00Z"></head>'
            '<body><h1>Receipt</h1><p>€ 1.234,56</p></body></html>')
    data = pdf.render_pdf(html)
    assert data.startswith(b"%PDF-")
    assert_in_pdf("€ 1.234,56", data)
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Receipt 7"
    assert reader.metadata["/CreationDate"].startswith("D:20260302")
    assert pdf.render_pdf(html) == data  # the same HTML gives the same bytes


def test_files_outside_invoices_and_the_network_are_never_fetched(tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text("h1::after { content: 'TOP-SECRET' }")
    outside_link = tmp_path / "link.css"
    try:
        outside_link.symlink_to("/etc/hostname")
    except OSError:
        pass
    html = (f'<!doctype html><html><head><link rel="stylesheet" href="file://{secret}">'
            '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
            '<link rel="attachment" href="file:///etc/passwd"></head>'
            f'<body><h1>Title</h1><img src="file:///etc/passwd"><img src="https://example.org/x.png">'
            f'<a rel="attachment" href="file:///etc/hostname">a</a>'
            f'<a rel="attachment" href="statement.css">b</a></body></html>')
    data = pdf.render_pdf(html)
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert not reader.attachments
    assert b"/EmbeddedFile" not in data and b"/FileAttachment" not in data
    assert_not_in_pdf("TOP-SECRET", data)
    assert_not_in_pdf("root:", data)


def test_the_fetcher_serves_invoices_and_data_uris_only(tmp_path):
    fetcher = pdf.LocalOnlyFetcher()
    assert fetcher.fetch(f"file://{pdf.INVOICES_DIR}/statement.css").read()
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    for url in ("file:///etc/passwd", f"file://{pdf.INVOICES_DIR}/../pyproject.toml",
                "http://127.0.0.1/", "https://example.org/a.css", "ftp://example.org/x",
                f"file://evil.example{pdf.INVOICES_DIR}/statement.css"):
        with pytest.raises(pdf.RefusedUrl):
            fetcher.fetch(url)


def test_a_stylesheet_in_invoices_is_used():
    html = '<!doctype html><html><head><link rel="stylesheet" href="statement.css"></head><body><p>x</p></body></html>'
    assert pdf.render_pdf(html).startswith(b"%PDF-")


def test_a_document_that_takes_too_long_is_stopped():
    huge = "<table>" + "<tr><td>cell</td><td>cell</td></tr>" * 40_000 + "</table>"
    with pytest.raises(pdf.PdfTimeout):
        pdf.render_pdf(huge, timeout=0.5)
    assert pdf.render_pdf("<p>still works</p>").startswith(b"%PDF-")


def test_the_time_limit_is_a_setting(app, monkeypatch):
    huge = "<table>" + "<tr><td>cell</td><td>cell</td></tr>" * 40_000 + "</table>"
    monkeypatch.setitem(app.config, "PDF_TIMEOUT_SECONDS", 0.5)
    with app.app_context(), pytest.raises(pdf.PdfTimeout, match="longer than 0.5 s"):
        pdf.render_pdf(huge)


def test_a_renderer_failure_is_a_pdf_error():
    with pytest.raises(pdf.PdfError):
        pdf.render_pdf(None)  # type: ignore[arg-type]
