"""Queries per request do not grow with a company's data: the same count with 10 rows as with 1,000.

(The enrolment pages have their own test in tests/enrollment/test_dashboard.py.)"""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest

from portal.accounts.models import User
from portal.accounts.service import hash_password
from portal.core.db import utcnow
from portal.giving.models import Donation

# each page, and what shows that the large company's rows are really on it (None: a summary page)
PAGES = {"/dashboard": None, "/giving": "RF", "/giving/export.csv": "RF", "/team": "Colleague 999",
         "/statements": None, "/sroi/": None}


class Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if re.match(r"\(['\"]?\s*(SELECT|INSERT|UPDATE|DELETE|WITH)", record.getMessage(), re.I):
            self.queries.append(record.getMessage())


def count(client, path: str):
    client.get(path)  # warm up (the session's last-seen touch, caches)
    logger, handler = logging.getLogger("peewee"), Counter()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        response = client.get(path)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert response.status_code == 200, path
    return len(handler.queries), response.get_data(as_text=True)


def fill(company, rows: int) -> None:
    """`rows` donations (paid and pending, online and by bank) and `rows` colleagues."""
    now, day = utcnow(), dt.date(2026, 10, 1)
    donations = [{"company": company.id, "created_by": company.admin.id, "via": "portal", "donor_name": company.legal_name,
                  "donor_kvk": company.kvk, "donor_email": company.admin.email, "method": "bank" if n % 2 else "stripe",
                  "amount_cents": 1000 + n, "classification": "gift", "status": "paid" if n % 3 else "pending",
                  "form_token": f"{company.id}-{n}", "reference": f"RF{company.id:04d}{n:06d}" if n % 2 else None,
                  "paid_on": day if n % 3 else None, "paid_at": now if n % 3 else None,
                  "created_at": now, "updated_at": now} for n in range(rows)]
    password = hash_password("zeilboot-kaasmarkt-regen-42")
    users = [{"company": company.id, "email": f"user{n}@{company.id}.example.nl", "name": f"Colleague {n}",
              "role": "member", "language": "en", "password_hash": password, "password_changed_at": now,
              "email_confirmed_at": now} for n in range(rows)]
    for start in range(0, rows, 500):
        Donation.insert_many(donations[start:start + 500]).execute()
        User.insert_many(users[start:start + 500]).execute()


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(PAGES))
def test_the_same_number_of_queries_for_10_and_1000_rows(app, make_company, login, path):
    small, large = make_company("Small"), make_company("Large")
    fill(small, 10)
    fill(large, 1000)
    few, _ = count(login(app.test_client(), small.admin), path)
    many, page = count(login(app.test_client(), large.admin), path)
    assert few == many, (path, few, many)
    if PAGES[path]:
        assert PAGES[path] in page
