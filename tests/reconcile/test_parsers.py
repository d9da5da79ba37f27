"""The hand-made ING, Rabobank and ABN AMRO exports read the same story; bad files are refused."""

from __future__ import annotations

import pytest

from portal.reconcile import banks

from .conftest import BANK_FILES, fixture_bytes


@pytest.mark.parametrize("name", BANK_FILES)
def test_every_bank_export_reads_the_same_eight_transactions(app, name):
    statement = banks.parse_statement(fixture_bytes(name))
    amounts = [line.amount_cents for line in statement.lines]
    assert amounts == [25000, 40000, 12000, 7500, 6000, 123456, 3300, -1250]
    assert [line.reference for line in statement.lines[:3]] == ["RF422026000001", "RF152026000002", "RF852026000003"]
    assert statement.lines[3].counterparty_iban == "NL02ABNA0123456789"
    assert "OA-D-0005" in statement.lines[4].description
    assert str(statement.lines[0].booked_on) == "2026-05-04"
    assert len({line.fingerprint for line in statement.lines}) == 8
    if statement.opening_cents is not None:
        assert statement.opening_cents + sum(amounts) == statement.closing_cents


def test_two_identical_transfers_on_one_day_are_two_lines(app):
    text = fixture_bytes("ing.csv").decode()
    header, first = text.splitlines()[:2]
    statement = banks.parse_statement(f"{header}\n{first}\n{first}\n".encode())
    assert len(statement.lines) == 2
    assert statement.lines[0].fingerprint != statement.lines[1].fingerprint


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Ntry><Amt Ccy="EUR">&xxe;</Amt></Ntry></Stmt></BkToCstmrStmt></Document>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol3;</Document>"""


def _bad_mt940() -> bytes:
    text = fixture_bytes("ing_mt940.sta").decode()
    return text.replace(":62F:C260531EUR3160,06", ":62F:C260531EUR3160,07").encode()


def _stray_line_mt940() -> bytes:
    text = fixture_bytes("rabobank_mt940.swi").decode()
    return text.replace(":60F:", "THIS IS NOT MT940\n:60F:").encode()


@pytest.mark.parametrize("data, fmt, encoding, words", [
    (XXE, "auto", "utf-8", "document type or entities"),
    (LAUGHS, "auto", "utf-8", "document type or entities"),
    (b"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'><BkToCstmrStmt>", "auto", "utf-8", "broken"),
    (fixture_bytes("ing_camt053.xml").replace(b'encoding="UTF-8"', b'encoding="UTF-16"'), "auto", "utf-8", "XML"),
    (b"<?xml version='1.0'?><html/>", "auto", "utf-8", "not a CAMT.053"),
    ("Datum;Bedrag\n20260504;\xe9\xe9n\n".encode("cp1252"), "csv", "utf-8", "UTF-8 character encoding"),
    (b"date,description\n2026-05-04,gift\n", "csv", "utf-8", '"amount"'),
    (b"date,amount,description\n2026-05-04,12abc,gift\n", "csv", "utf-8", "not an amount"),
    (b"date,amount,description\n2026-05-04,1.5.5,gift\n", "csv", "utf-8", "not an amount"),
    (_bad_mt940(), "auto", "utf-8", "does not add up"),
    (_stray_line_mt940(), "auto", "utf-8", "Line 5 "),
    (b"", "auto", "utf-8", "empty"),
    (b"date,amount,description\n", "csv", "utf-8", "no transactions"),
])
def test_bad_files_are_refused_with_a_clear_message(request_context, data, fmt, encoding, words):
    with pytest.raises(banks.StatementError) as error:
        banks.parse_statement(data, fmt=fmt, encoding=encoding)
    assert words in str(error.value)


def test_a_file_over_the_limit_is_refused_before_parsing(request_context):
    with pytest.raises(banks.StatementError) as error:
        banks.parse_statement(b"x" * (50 * 1024 * 1024), max_bytes=10 * 1024 * 1024)
    assert "50 MB" in str(error.value)


def test_windows_1252_is_accepted_when_chosen(app):
    data = fixture_bytes("ing.csv").decode().replace("Acme B.V.", "Acmé B.V.").encode("cp1252")
    with pytest.raises(banks.StatementError):
        banks.parse_statement(data, encoding="utf-8")
    statement = banks.parse_statement(data, encoding="cp1252")
    assert statement.lines[0].counterparty_name == "Acmé B.V."
