"""Contribution keys are read in one place (core.contributions.Key): the statement's hours rows, the
export's grouping of a refund with its donation and the journal's VAT of a bank part all depend on
reading them right, and text that is not a key is never mistaken for one."""

from __future__ import annotations

import pytest

from portal.core.contributions import Key


@pytest.mark.parametrize("text", ["hours:12", "donation:4:refund:2", "donation:4:dispute:3:withdrawn",
                                  "donation:4:bank:9", "material:3"])
def test_a_key_reads_back_as_itself(text):
    assert str(Key.parse(text)) == text


@pytest.mark.parametrize("text", [None, "", "hours", "hours:", ":12", "hours:x", "hours:١٢", "payout:po_123"])
def test_text_that_is_not_a_key_is_none(text):
    assert Key.parse(text) is None


def test_the_parts_of_a_key():
    refund = Key.parse("donation:4:refund:2")
    assert (refund.source, refund.id, refund.whole) == ("donation", 4, False)
    assert str(refund.before("refund", "dispute")) == "donation:4"
    assert str(Key.parse("donation:4:dispute:3:withdrawn").before("refund", "dispute")) == "donation:4"
    assert str(Key.parse("donation:4:bank:9").before("refund", "dispute")) == "donation:4:bank:9"
    assert Key.parse("donation:4:bank:9").number_of("bank") == 9
    assert Key.parse("donation:4:refund:2").number_of("bank") is None
    assert Key.parse("hours:12").whole and Key.parse("hours:12").number_of("bank") is None
