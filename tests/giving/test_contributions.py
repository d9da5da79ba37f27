"""The contribution source giving registers: money (refunds negative, under the payment's reference)
and confirmed materials, by company and date, read by SROI and statements through core."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3

import pytest

from portal.core.contributions import contributions
from portal.giving import contributions as giving_contributions
from portal.giving import service
from portal.giving.models import Donation

from .conftest import donate_form

D = dt.date


def test_lines_by_company_and_date(app, stripe_env, company_client, leader, request_context):
    first, client = company_client("Eerste")
    client.post("/giving/donate", data=donate_form(amount="200", method="bank"))
    request = Donation.get()
    service.mark_paid_by_bank(request.reference, 20_000, D(2026, 3, 2), leader, "line 1")
    client.post("/giving/donate", data=donate_form(amount="50"))
    online = Donation.select().order_by(Donation.id.desc()).get()
    session = stripe_env.transport.session_for(online.id)
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    stripe_env.refund(intent, 1_000)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    second, other = company_client("Tweede")
    other.post("/giving/donate", data=donate_form(amount="70", method="bank"))
    service.mark_paid_by_bank(Donation.select().order_by(Donation.id.desc()).get().reference, 7_000,
                              D(2026, 5, 1), leader, "line 2")
    # A pending request, a cancelled one: no lines.
    client.post("/giving/donate", data=donate_form(amount="999", method="bank"))

    mine = contributions(first.id)
    assert {(c.key, c.gross_cents) for c in mine} == {
        (f"donation:{request.id}", 20_000), (f"donation:{online.id}", 5_000),
        (f"donation:{online.id}:refund:1", -1_000)}
    assert all(c.kind == "money" and c.basis == "at_cost" and c.company_id == first.id for c in mine)
    refund = [c for c in mine if ":refund:" in c.key][0]
    assert refund.reference == intent and refund.value_cents == -1_000 and refund.net_cents == -1_000
    assert [c.key for c in contributions(first.id, D(2026, 1, 1), D(2026, 3, 2))] == [f"donation:{request.id}"]
    assert contributions(first.id, D(2026, 3, 3), D(2026, 3, 31)) == []
    assert {c.company_id for c in contributions(None)} == {first.id, second.id}
    assert sum(c.gross_cents for c in contributions(None)) == 20_000 + 5_000 - 1_000 + 7_000


def test_sroi_nets_a_refund_with_its_payment(app, stripe_env, company_client):
    from portal.sroi.pool import group_of, make_pool

    company, client = company_client("Netto")
    client.post("/giving/donate", data=donate_form(amount="100"))
    donation = Donation.get()
    session = stripe_env.transport.session_for(donation.id)
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    stripe_env.refund(intent, 4_000)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    found = contributions(company.id)
    pool = make_pool(found)
    assert len({group_of(c) for c in found}) == 1
    assert pool.group_net[group_of(found[0])] == 6_000


# --- many donations: dates compared in SQL, refunds and disputes joined (no IN list of ids) ------

SQLITE_DEFAULT_MAX_VARIABLES = 32_766


def _bulk_paid(company, count: int, *, first: dt.date, prefix: str) -> None:
    """`count` paid donations, one a day from `first` round the year; every third online (with a fee)."""
    from portal.core.db import utcnow

    now = utcnow()
    rows = [{"company": company.id, "via": "portal", "donor_name": company.legal_name, "donor_kvk": company.kvk,
             "donor_email": company.admin.email, "method": "stripe" if n % 3 == 0 else "bank",
             "amount_cents": 1_000 + n % 5_000, "classification": ("gift", "sponsoring")[n % 2], "status": "paid",
             "form_token": f"{prefix}-{n}", "stripe_payment_intent_id": f"pi_{prefix}_{n}" if n % 3 == 0 else None,
             "fee_cents": 30 if n % 3 == 0 else None, "net_cents": 970 + n % 5_000 if n % 3 == 0 else None,
             "paid_on": first + dt.timedelta(days=n % 365), "paid_at": now, "created_at": now, "updated_at": now}
            for n in range(count)]
    _insert(Donation, rows)


def _insert(model, rows: list[dict]) -> None:
    """Rows in one transaction by the driver's executemany: peewee's insert_many spends seconds
    building the SQL of 33,000 rows, the driver a fraction of one."""
    from portal.core.db import database

    defaults = {name: field.default() if callable(field.default) else field.default
                for name, field in model._meta.fields.items() if field.default is not None and name not in rows[0]}
    rows = [{**defaults, **row} for row in rows]
    names = list(rows[0])
    columns = ", ".join(f'"{model._meta.fields[name].column_name}"' for name in names)
    marks = ", ".join([database.param] * len(names))
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'  # noqa: S608 - our own names
    with database.atomic():
        database.cursor().executemany(sql, [tuple(row[name] for name in names) for row in rows])


def _corrections(donations) -> None:
    """A refund of every fifth online donation, a chargeback (and every other one won back) of every seventh."""
    from portal.giving.models import Dispute, Refund

    online = [(d.id, d.paid_on) for d in donations if d.method == "stripe"]
    Refund.insert_many([{"donation": i, "stripe_refund_id": f"re_{i}", "amount_cents": 500, "status": "succeeded",
                         "succeeded_on": on + dt.timedelta(days=20)} for i, on in online[::5]]).execute()
    Refund.insert_many([{"donation": i, "stripe_refund_id": f"re_failed_{i}", "amount_cents": 100, "status": "failed"}
                        for i, _on in online[1::5]]).execute()
    Dispute.insert_many([{"donation": i, "stripe_dispute_id": f"dp_{i}", "amount_cents": 800, "status": "won",
                          "withdrawn_cents": 800, "withdrawn_fee_cents": 1_500, "withdrawn_on": on + dt.timedelta(days=9),
                          "reinstated_cents": 800 if n % 2 else None, "reinstated_fee_cents": -1_500 if n % 2 else None,
                          "reinstated_on": on + dt.timedelta(days=40) if n % 2 else None}
                         for n, (i, on) in enumerate(online[3::7])]).execute()


def _reference(company_id, start, end) -> list[tuple]:
    """What contributions() returned before it filtered in SQL: every paid donation read, refunds
    and disputes looked up by id, dates compared in Python."""
    from portal.giving.models import Dispute, MaterialPledge, Refund

    def within(day):
        return day is not None and (start is None or day >= start) and (end is None or day <= end)

    paid = {d.id: d for d in Donation.select().where(Donation.status == "paid")
            if company_id is None or d.company_id == company_id}
    found = [(f"donation:{d.id}", d.paid_on, d.amount_cents, d.fee_cents or 0,
              d.net_cents if d.net_cents is not None else d.amount_cents - (d.fee_cents or 0), d.method,
              d.classification, giving_contributions.reference_of(d),
              " · ".join(part for part in (d.classification.capitalize(), d.number, giving_contributions._earmark(d)) if part))
             for d in paid.values() if within(d.paid_on)]
    for r in Refund.select().where(Refund.status == "succeeded"):
        d = paid.get(r.donation_id)
        if d and within(r.succeeded_on):
            found.append((f"donation:{d.id}:refund:{r.id}", r.succeeded_on, -r.amount_cents, r.fee_cents or 0,
                          r.net_cents if r.net_cents is not None else -r.amount_cents - (r.fee_cents or 0), d.method,
                          d.classification, giving_contributions.reference_of(d), f"Refund · {d.number}"))
    for x in Dispute.select():
        d = paid.get(x.donation_id)
        if d and x.withdrawn_cents is not None and within(x.withdrawn_on):
            found.append((f"donation:{d.id}:dispute:{x.id}:withdrawn", x.withdrawn_on, -x.withdrawn_cents,
                          x.withdrawn_fee_cents, -x.withdrawn_cents - x.withdrawn_fee_cents, d.method,
                          d.classification, giving_contributions.reference_of(d), f"Chargeback · {d.number}"))
        if d and x.reinstated_cents is not None and within(x.reinstated_on):
            found.append((f"donation:{d.id}:dispute:{x.id}:reinstated", x.reinstated_on, x.reinstated_cents,
                          x.reinstated_fee_cents, x.reinstated_cents - x.reinstated_fee_cents, d.method,
                          d.classification, giving_contributions.reference_of(d), f"Chargeback reversed · {d.number}"))
    for p in MaterialPledge.select().where(MaterialPledge.status == "confirmed"):
        if (company_id is None or p.company_id == company_id) and within(p.confirmed_on):
            found.append((f"material:{p.id}", p.confirmed_on, 0, 0, 0, "in_kind", p.classification, "",
                          f"{p.quantity} × {p.description}"))
    return sorted(found)


def _lines(found) -> list[tuple]:
    # A contribution keeps codes and facts; its words are made when shown (here in English).
    from flask_babel import force_locale

    from portal.core.contributions import describe

    with force_locale("en"):
        return sorted((c.key, c.on, c.gross_cents, c.fee_cents, c.net_cents, c.method, c.classification,
                       c.reference, describe(c)) for c in found)


def test_the_same_lines_as_reading_every_donation(app, make_company, leader, request_context):
    from portal.giving.models import MaterialPledge

    first, second = make_company("Eerste"), make_company("Tweede")
    _bulk_paid(first, 300, first=D(2025, 6, 1), prefix="a")
    _bulk_paid(second, 100, first=D(2025, 11, 1), prefix="b")
    _corrections(list(Donation.select()))
    Donation.create(company=first.id, via="portal", donor_name="x", donor_kvk="12345678", donor_email="a@b.nl",
                    method="bank", amount_cents=5_000, classification="gift", status="pending", form_token="open-one")
    for n, status in enumerate(("confirmed", "delivered", "confirmed")):
        MaterialPledge.create(company=first.id, description=f"Books {n}", quantity=2, declared_value_cents=9_000,
                              classification="gift", status=status, delivered_on=D(2026, 1, 10 + n),
                              confirmed_value_cents=8_000 if status == "confirmed" else None,
                              confirmed_on=D(2026, 1, 12 + n) if status == "confirmed" else None,
                              form_token=f"pledge-{n}")
    windows = [(None, None), (D(2026, 1, 1), D(2026, 3, 31)), (D(2025, 6, 1), None), (None, D(2025, 12, 31)),
               (D(2026, 1, 12), D(2026, 1, 12))]
    for company_id in (None, first.id, second.id):
        for start, end in windows:
            assert _lines(giving_contributions.contributions(company_id, start, end)) == _reference(company_id, start, end), (
                company_id, start, end)
    assert any(":reinstated" in c.key for c in giving_contributions.contributions(None, None, None))


@pytest.mark.slow
@pytest.mark.slow
def test_more_paid_donations_than_sqlite_binds_parameters(app, make_company, request_context):
    """33,000 paid donations (scale 100 has 50,299): one bound parameter per donation, as an IN list
    of them had, is past SQLite's default limit of 32,766 (PostgreSQL's is 65,535)."""
    from portal.core.db import database, is_sqlite

    count = SQLITE_DEFAULT_MAX_VARIABLES + 234
    company = make_company("Veel")
    _bulk_paid(company, count, first=D(2026, 1, 1), prefix="bulk")
    _corrections(list(Donation.select(Donation.id, Donation.method, Donation.paid_on).order_by(Donation.id)
                      .limit(700)))
    handler = _Statements()
    logger = logging.getLogger("peewee")
    level = logger.level
    connection = database.connection()
    limit = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if is_sqlite() else None
    if limit is not None:  # as a default SQLite build; Debian's allows 250,000
        connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, SQLITE_DEFAULT_MAX_VARIABLES)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        found = giving_contributions.contributions(None, D(2026, 1, 1), D(2026, 12, 31))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        if limit is not None:
            connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    paid = [c for c in found if c.key.count(":") == 1]
    assert len(paid) == count
    assert any(":refund:" in c.key for c in found) and any(":withdrawn" in c.key for c in found)
    assert max(len(params) for params in handler.params) < 10  # none grows with the number of donations


class _Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.params: list[list] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            self.params.append(list(record.msg[1] or ()))
