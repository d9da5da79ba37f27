"""Export cells never run as spreadsheet formulas."""

import pytest

from portal.core.spreadsheet import csv_bytes, safe_cell


@pytest.mark.parametrize("typed", ["=HYPERLINK(\"http://evil.example\",\"x\")", "+31 6 1234", "-2+3", "@SUM(A1)",
                                   "\t=1+1", "\r=1+1"])
def test_a_cell_that_would_be_a_formula_is_shown_as_text(typed):
    assert safe_cell(typed) == "'" + typed


@pytest.mark.parametrize(("value", "cell"), [("Anna de Vries", "Anna de Vries"), (None, ""), (1250, "1250"),
                                              ("a=b", "a=b"), ("", "")])
def test_other_cells_are_left_alone(value, cell):
    assert safe_cell(value) == cell


def test_csv_bytes_open_right_in_a_spreadsheet():
    data = csv_bytes([("naam", "bedrag"), ("Zoë", "€ 1.250,00")], delimiter=";")
    assert data.startswith("\ufeff".encode())                     # UTF-8 with BOM: accents and € survive
    assert data.decode("utf-8-sig") == "naam;bedrag\r\nZoë;€ 1.250,00\r\n"


@pytest.mark.parametrize("control", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f"])
def test_control_characters_xml_cannot_hold_are_replaced_so_an_xlsx_still_saves(control):
    """Issue 15 item 5: openpyxl refuses these characters and the whole export answered 500."""
    import io

    from openpyxl import Workbook, load_workbook

    cell = safe_cell(f"Lees{control}boeken")
    assert cell == "Lees\ufffdboeken"
    assert safe_cell(f"{control}=1+1") == "\ufffd=1+1"          # not a formula once replaced
    book = Workbook(write_only=True)
    sheet = book.create_sheet("s")
    sheet.append([cell])
    out = io.BytesIO()
    book.save(out)
    assert load_workbook(io.BytesIO(out.getvalue())).active["A1"].value == "Lees\ufffdboeken"


def test_tabs_and_line_breaks_are_kept():
    assert safe_cell("regel 1\r\nregel 2\tx") == "regel 1\r\nregel 2\tx"
