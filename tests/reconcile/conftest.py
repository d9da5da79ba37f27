"""Reconcile fixtures: open items shaped like the hand-made bank files, a recording settler,
and helpers to read the fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.core import hooks
from portal.reconcile.matching import OpenItem

FIXTURES = Path(__file__).parent / "fixtures"
BANK_FILES = sorted(p.name for p in FIXTURES.iterdir() if p.is_file())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class Items:
    """Open items for the fixtures' story, and the settlements the engine asked for."""

    def __init__(self) -> None:
        self.items: list[OpenItem] = []
        self.settled: list[tuple[str, int, int]] = []

    def add(self, **kwargs) -> OpenItem:
        kwargs.setdefault("kind", "request")
        item = OpenItem(**kwargs)
        self.items.append(item)
        return item

    def source(self):
        # A fresh copy every time, as a real source reads the database each time.
        settled_keys = {key for key, _line, _amount in self.settled}
        return [OpenItem(**{**vars(i), "matched_cents": 0}) for i in self.items if i.key not in settled_keys]

    def settle(self, item, line, actor):
        self.settled.append((item.key, line.id, line.amount_cents))
        return "recorded"


@pytest.fixture
def items(app):
    recorder = Items()
    hooks.connect(app, hooks.OPEN_ITEMS, recorder.source)
    hooks.connect(app, hooks.SETTLERS, lambda: {"test": recorder.settle})
    return recorder


@pytest.fixture
def story(items, make_company):
    """The open items the fixture files pay: see tests/reconcile/fixtures/*."""
    acme, brug, cijfer, delta = (make_company(n) for n in ("Acme", "Brug", "Cijfer", "Delta"))
    items.add(key="test:1", amount_cents=25000, reference="RF422026000001", company_id=acme.id, label="Acme 1")
    items.add(key="test:2", amount_cents=100000, reference="RF152026000002", company_id=brug.id, label="Brug 2")
    items.add(key="test:3", amount_cents=10000, reference="RF852026000003", company_id=cijfer.id, label="Cijfer 3")
    items.add(key="test:4", amount_cents=7500, reference="RF582026000004", company_id=acme.id, label="Acme 4")
    items.add(key="test:5", amount_cents=6000, reference="RF312026000005", company_id=delta.id, label="Delta 5",
              aliases=("OA-D-0005",))
    items.add(key="test:6", amount_cents=3300, reference="", company_id=brug.id, label="Brug 6")
    from portal.reconcile.models import StripePayout

    StripePayout.create(payout_id="po_1TestPayoutA", amount_cents=123456, status="paid")
    return {"acme": acme, "brug": brug, "cijfer": cijfer, "delta": delta}


@pytest.fixture
def request_context(app):
    """Messages are lazy translations: reading them needs a request (for the locale)."""
    with app.test_request_context():
        yield


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>7</Id>
<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>{entries}</Stmt></BkToCstmrStmt></Document>"""
ENTRY = """<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>{on}</Dt></BookgDt>
<AcctSvcrRef>{ref}</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Payer</Nm></Dbtr><DbtrAcct><Id><IBAN>{iban}</IBAN>
</Id></DbtrAcct></RltdPties><RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls></Ntry>"""


def camt(*entries) -> bytes:
    """A camt.053 bank statement of credit lines (each a dict: amount, on, ref, iban, remittance)."""
    return CAMT.format(entries="".join(ENTRY.format(**e) for e in entries)).encode()
