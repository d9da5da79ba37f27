"""tests/pdftext.py: PDF text assertions hold wherever a line breaks, and still fail when they should."""

from __future__ import annotations

import io

import pypdf
import pytest

from portal.core import pdf
from tests.pdftext import (
    assert_in_pdf,
    assert_not_in_pdf,
    collapse,
    count_in_pdf,
    pages_text,
    pdf_contains,
    pdf_text,
    squeeze,
)

URL = "https://portal.example/verify/OA-2026-0001?code=ABCD-EFGH-JKLM-NPQR"
NUMBER = "31415926535897932384626433832795028841971"
IBAN = "NL91 ABNA 0417 1643 00"


def narrow(*tokens: str, width: str = "30mm") -> str:
    """A document whose boxes are too narrow for any of the tokens: each must wrap inside itself."""
    boxes = "".join(f'<div class="box">{token}</div>' for token in tokens)
    return ('<!doctype html><html lang="en"><head><style>'
            f'.box {{ width: {width}; overflow-wrap: anywhere; margin-bottom: 5mm; font-size: 11pt; }}'
            f'</style></head><body><p>Before</p>{boxes}<p>After</p></body></html>')


def raw_extract(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_a_token_broken_inside_a_narrow_box_is_still_found():
    data = pdf.render_pdf(narrow(URL, NUMBER, IBAN))
    raw = raw_extract(data)
    # The layout really did break the tokens: a plain search in the extract misses them, and so
    # does a search in the text with whitespace collapsed (a break inside a word became a space).
    for token in (URL, NUMBER, IBAN):
        assert token not in raw, f"{token!r} was not wrapped at 30 mm; the test proves nothing: {raw!r}"
    assert URL not in pdf_text(data) and NUMBER not in pdf_text(data)
    assert raw.count("\n") >= 7, raw
    # The helpers find them anyway, in the bytes, in the collapsed text and in the raw extract.
    for haystack in (data, pdf_text(data), raw):
        for token in (URL, NUMBER, IBAN):
            assert_in_pdf(token, haystack)
            assert pdf_contains(token, haystack)
    assert count_in_pdf(NUMBER, data) == 1
    # Order is kept: the text reads Before, the tokens, After.
    text = pdf_text(data)
    assert text.startswith("Before") and text.endswith("After")


def test_an_absent_needle_still_fails_and_a_wrapped_leak_is_still_caught():
    data = pdf.render_pdf(narrow("TOP-SECRET-SERVER-FILE-TOP-SECRET-SERVER-FILE"))
    assert "TOP-SECRET-SERVER-FILE-TOP-SECRET" not in raw_extract(data)      # wrapped somewhere inside
    with pytest.raises(AssertionError):
        assert_not_in_pdf("TOP-SECRET-SERVER-FILE-TOP-SECRET", data)      # the break does not hide it
    with pytest.raises(AssertionError):
        assert_in_pdf("root:x:0:0", data)
    assert_not_in_pdf("root:x:0:0", data)
    assert not pdf_contains("TOP-SECRET-SERVER-FILE-TOP-SECRET-SERVER-FILE-TOP", data)


def test_pages_are_read_one_by_one():
    html = ('<!doctype html><html><head><style>@page { size: A6 } .page { break-after: page }</style></head>'
            '<body><p class="page">First page</p><p class="page">Second page</p><p>Third page</p></body></html>')
    assert pages_text(pdf.render_pdf(html)) == ["First page", "Second page", "Third page"]


def test_whitespace_rules_on_plain_text():
    extracted = "€\u00a01.234,56\nfile:///etc/\npass\nwd  Speci\ufb01cation\u00adsheet"
    assert collapse(extracted) == "€ 1.234,56 file:///etc/ pass wd Specificationsheet"
    assert squeeze(extracted) == "€1.234,56file:///etc/passwdSpecificationsheet"
    assert_in_pdf("€ 1.234,56", extracted)
    assert_in_pdf("file:///etc/passwd", extracted)
    assert_in_pdf("Specification", extracted)
    with pytest.raises(AssertionError):
        assert_in_pdf("€ 1.234,57", extracted)
    with pytest.raises(AssertionError):                                  # a needle keeps its spaces...
        assert_in_pdf("€ 1.234,56", "€1.234,56")
    assert not pdf_contains("NL91 ABNA 0417 1643 00", "NL91ABNA0417164300")
    assert pdf_contains("NL91 ABNA 0417 1643 00", "NL91 AB\nNA 0417\n1643 00")  # ...but may break anywhere
    with pytest.raises(AssertionError):                                  # absence is checked without spaces
        assert_not_in_pdf("NL91 ABNA", "NL91ABNA")
    assert count_in_pdf("Lessons in group 6", "Lessons in\ngroup 6 x Lessons in gro\nup 6 Lessons in group 7") == 2
    with pytest.raises(AssertionError):
        assert_not_in_pdf("etc/passwd", extracted)
    with pytest.raises(ValueError):
        assert_in_pdf(" \n", extracted)                                  # an empty needle is in everything
    with pytest.raises(TypeError):
        assert_in_pdf("x", None)
