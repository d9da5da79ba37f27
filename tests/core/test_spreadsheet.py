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
