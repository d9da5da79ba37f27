"""PDFs look the same on every machine: the project's own fonts, never the machine's. (The same
bytes in other processes on a busy machine: tests/statements/test_pdf.py renders an issued
statement that way.)"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pypdf

from portal.core import pdf

DOCUMENT = ('<!doctype html><html lang="nl"><head><meta name="dcterms.created" content="2026-01-01T00:00:00Z">'
            '<link rel="stylesheet" href="statement.css"></head><body>'
            '<h1>Bijdrageoverzicht</h1><p>Gewone tekst, <b>vet</b>, <i>cursief</i> en € 1.234,56.</p>'
            '<p class="verification"><span class="code">ABCD-EFGH-JKLM</span></p>'
            '<p>Tekens die geen van beide lettertypen kent: ☃ ∰ 漢字</p></body></html>')


def embedded_fonts(data: bytes) -> set[str]:
    """The base names of the fonts in a PDF, without the subset tag ("ABCDEF+Lato" -> "Lato")."""
    names = set()
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).lstrip("/").split("+", 1)[-1])
    return names


def test_the_fonts_come_from_the_project_and_the_machines_are_never_used():
    fonts = embedded_fonts(pdf.render_pdf(DOCUMENT))
    # Regular, bold, italic and the monospace face for codes; no fallback for the CJK text, even on
    # a machine that has a font for it (DejaVu, Noto...): the renderer does not see the machine's.
    assert fonts == {"Lato", "Lato-Bold", "Lato-Italic", "IBM-Plex-Mono-Bold"}, fonts
    for path in pdf.font_files().values():
        assert Path(path).is_file() and "site-packages" in path  # installed by pyproject.toml


def test_the_fetcher_serves_the_fonts_but_no_other_file_outside_invoices():
    font = next(iter(pdf.font_files().values()))
    assert pdf.invoice_path(f"file://{font}") == font
    assert pdf.invoice_path(f"file://{os.path.dirname(font)}/../__init__.py") is None
    assert pdf.invoice_path("file:///etc/passwd") is None
