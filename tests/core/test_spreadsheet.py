"""Export cells never run as spreadsheet formulas."""

import pytest

from portal.core.spreadsheet import safe_cell


@pytest.mark.parametrize("typed", ["=HYPERLINK(\"http://evil.example\",\"x\")", "+31 6 1234", "-2+3", "@SUM(A1)",
                                   "\t=1+1", "\r=1+1"])
def test_a_cell_that_would_be_a_formula_is_shown_as_text(typed):
    assert safe_cell(typed) == "'" + typed


@pytest.mark.parametrize(("value", "cell"), [("Anna de Vries", "Anna de Vries"), (None, ""), (1250, "1250"),
                                              ("a=b", "a=b"), ("", "")])
def test_other_cells_are_left_alone(value, cell):
    assert safe_cell(value) == cell
