"""Issue 19: what keeps statements fast, asserted as structure (never as time).

The statement links its stylesheet and the renderer answers the link with a copy parsed once per
process; WeasyPrint's user-agent stylesheet loses its universal footnote/note rules without the
PDF changing by one byte; the fork server parses every stylesheet and freezes its heap before
forking; issuing builds the snapshot once and renders once.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import weasyprint
from weasyprint import html as weasyprint_html

from portal.core import pdf
from portal.statements import document, periods, service, snapshots

from .test_pdf import fill

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2027, 1, 15)
YEAR = periods.calendar_year(2026)


def issued_html(make_company, ledger, language="nl"):
    company = make_company("Domstad", language=language)
    fill(ledger, company)
    statement = service.issue(company, YEAR, today=TODAY)
    return statement, document.statement_html(snapshots.snapshot_of(statement),
                                              verification_code=statement.verification_code)


def test_the_statement_links_its_stylesheet_and_it_is_parsed_once_per_process(
        app, ledger, no_sroi, make_company, monkeypatch):
    _statement, html = issued_html(make_company, ledger)
    assert '<link rel="stylesheet" href="statement.css">' in html
    assert "<style>" not in html  # 100-odd rules are not sent along and parsed again with every document

    parsed = []

    class CountingCSS(weasyprint.CSS):
        def __init__(self, *args, **kwargs):
            parsed.append(kwargs.get("string", "")[:40])
            super().__init__(*args, **kwargs)

    pdf._fonts()  # the @font-face rules: parsed once per process too, not what is counted here
    monkeypatch.setattr(pdf.weasyprint, "CSS", CountingCSS)
    pdf._parsed.cache_clear()
    first_html, first = pdf.linked_stylesheets(html)
    second_html, second = pdf.linked_stylesheets(html)
    assert len(parsed) == 1  # parsed for the first document only
    assert len(first) == len(second) == 1 and first[0] is second[0]
    assert "statement.css" not in first_html and first_html == second_html
    # A link to anything but a plain file in invoices/ is left for WeasyPrint (whose fetcher refuses it).
    for foreign in ('<link rel="stylesheet" href="../portal/static/site.css">',
                    '<link rel="stylesheet" href="missing.css">'):
        assert pdf.linked_stylesheets(foreign) == (foreign, [])
    pdf._parsed.cache_clear()


def test_the_trimmed_user_agent_stylesheet_gives_the_same_bytes(app, ledger, no_sroi, make_company):
    assert pdf.user_agent_stylesheet() is not weasyprint_html.UA_STYLESHEET  # really trimmed
    statement, html = issued_html(make_company, ledger, language="en")
    config, fonts = pdf._fonts()
    body, sheets = pdf.linked_stylesheets(html)

    def render(html_class) -> bytes:
        source = html_class(string=body, base_url=pdf._base_url(), url_fetcher=pdf.LocalOnlyFetcher())
        return source.render(stylesheets=[fonts, *sheets], font_config=config).write_pdf()

    # The notes are a bulleted list: its markers still come from the user-agent rules.
    assert "<ul>" in html
    assert render(pdf.PortalHTML) == render(weasyprint.HTML)


def test_the_fork_server_parses_every_stylesheet_and_freezes_its_heap_before_forking():
    code = ("import gc, os\n"
            "import portal.core.pdf_server\n"
            "from portal.core import pdf\n"
            "names = [n for n in os.listdir(pdf.INVOICES_DIR) if n.endswith('.css')]\n"
            "warm = pdf._parsed.cache_info().misses\n"
            "found = [pdf.parsed_stylesheet(n) is not None for n in names]\n"
            "print(warm == len(names) > 0, all(found), pdf._parsed.cache_info().misses == warm, gc.get_freeze_count() > 0)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.split() == ["True"] * 4, out.stdout + out.stderr


def test_issuing_builds_the_snapshot_once_and_renders_once(app, ledger, no_sroi, make_company, monkeypatch):
    company = make_company("Domstad", language="nl")
    fill(ledger, company)
    built, rendered = [], []
    build = snapshots.build_snapshot

    def counting_build(*args, **kwargs):
        built.append(1)
        return build(*args, **kwargs)

    def counting_render(snapshot, **kwargs):
        rendered.append(snapshot["number"])
        return service.render(snapshot, **kwargs)

    monkeypatch.setattr(snapshots, "build_snapshot", counting_build)
    statement = service.issue(company, YEAR, today=TODAY, renderer=counting_render)
    assert built == [1] and rendered == [statement.number]
    assert json.loads(statement.snapshot)["number"] == statement.number
    assert statement.pdf_bytes.startswith(b"%PDF-")
