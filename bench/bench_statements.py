"""Statements: render time against WeasyPrint's minimal page, and issuing for every demo company.

Everything renders through core/pdf.py in one process and one run: a minimal page (one
paragraph, no stylesheet) is the baseline, and a one-page and a 200-line statement are
reported as multiples of it, so the figures compare across machines. Then the demo data is
made at `--scale` (environment BENCH_SCALE, default 10) in a fresh SQLite file, and one
calendar-year statement is issued for every company that contributed (numbered, rendered,
stored, audited: the real path). When no capability registers contributions yet, the bench
adds a deterministic source of its own for the demo companies and says so in the note.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time

REPEAT = 5
# Issue 19's goals: a one-page statement within 3x WeasyPrint's minimal page, a 200-line one within
# 10x, and issuing at scale 10 within half a second per statement.
ONE_PAGE_GOAL, TWO_HUNDRED_GOAL, ISSUE_GOAL_SECONDS = 3.0, 10.0, 0.5
MINIMAL_PAGE = "<!doctype html><html><head><title>x</title></head><body><p>Minimal page.</p></body></html>"


def _median_seconds(fn, repeat: int = REPEAT) -> float:
    fn()  # warm up: fonts, templates, imports
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _snapshot(hours: int, extras: int = 4, language: str = "nl") -> dict:
    """A statement's data: `hours` hour lines (one in six volunteered) and up to 4 money/material lines."""
    from portal.core.contributions import Contribution
    from portal.statements import periods, snapshots

    company = {"id": 1, "name": "Bouwgroep Domstad B.V.", "street": "Vredenburg 40", "postcode": "3511 BD",
               "city": "Utrecht", "kvk": "30000000"}
    people = ("Anna de Vries", "Bram Jansen", "Carlijn Bakker", "Daan Visser", "Eva Smit", "Fleur Meijer")
    found = []
    start = dt.date(2026, 1, 5)
    for n in range(hours):
        minutes = 420 + 30 * (n % 3)
        found.append(Contribution(kind="hours_sponsored" if n % 6 != 5 else "hours_volunteered", key=f"hours:{n}",
                                  company_id=1, on=start + dt.timedelta(days=n), description="Lessons in group 6",
                                  value_cents=minutes * 6100 // 60 if n % 6 != 5 else 0,
                                  basis="employer_cost" if n % 6 != 5 else "none", minutes=minutes, person=people[n % 6]))
    extras = [
        Contribution(kind="money", key="donation:1", company_id=1, on=dt.date(2026, 3, 2), description="Donation",
                     value_cents=250_000, basis="at_cost", classification="gift", gross_cents=250_000,
                     net_cents=250_000, method="bank", reference="RF18539007547034"),
        Contribution(kind="money", key="donation:2", company_id=1, on=dt.date(2026, 4, 2), description="Sponsoring",
                     value_cents=50_000, basis="at_cost", classification="sponsoring", gross_cents=50_000,
                     fee_cents=1_025, net_cents=48_975, method="stripe", reference="pi_3PqX"),
        Contribution(kind="money", key="donation:3", company_id=1, on=dt.date(2026, 5, 2), description="Refund",
                     value_cents=-10_000, basis="at_cost", classification="gift", gross_cents=-10_000,
                     net_cents=-10_000, method="stripe", reference="re_1"),
        Contribution(kind="material", key="material:1", company_id=1, on=dt.date(2026, 2, 10),
                     description="Laptops for group 8", value_cents=189_900, basis="market_value",
                     classification="gift", method="in_kind"),
    ][:extras]
    rows = [snapshots.line_of(c) for c in sorted(found + extras, key=lambda c: (c.on, c.kind, c.key))]
    return {"version": snapshots.SNAPSHOT_VERSION, "number": "OA-2026-0001", "issued_on": "2026-11-28",
            "language": language, "period": periods.calendar_year(2026).as_dict(), "issuer": snapshots.issuer(),
            "company": company, "replaces": None, "lines": rows, "sroi": [], "totals": snapshots.totals_of(rows, [])}


def _synthetic_source(company_ids: list[int]):
    """Contributions for demo companies when no capability provides them yet (weekly hours, gifts)."""
    from portal.core.contributions import Contribution

    def source(company_id, start, end):
        wanted = company_ids if company_id is None else [company_id]
        for cid in wanted:
            if cid not in company_ids:
                continue
            for week in range(38):
                on = dt.date(2026, 1, 5) + dt.timedelta(days=7 * week)
                if (start and on < start) or (end and on > end):
                    continue
                yield Contribution(kind="hours_sponsored", key=f"bench-hours:{cid}:{week}", company_id=cid, on=on,
                                   description="Lessons", value_cents=420 * 5200 // 60, basis="employer_cost",
                                   minutes=420, person=f"Ambassador {cid}-{week % 2}")
            on = dt.date(2026, 6, 1)
            if not ((start and on < start) or (end and on > end)):
                yield Contribution(kind="money", key=f"bench-donation:{cid}", company_id=cid, on=on,
                                   description="Donation", value_cents=100_000, basis="at_cost",
                                   classification="gift", gross_cents=100_000, net_cents=100_000, method="bank")

    return source


def run(report) -> None:
    scale = int(os.environ.get("BENCH_SCALE", "10"))
    with tempfile.TemporaryDirectory(prefix="bench-statements-") as folder:
        os.environ.setdefault("PORTAL_INSTANCE_DIR", folder)
        from playhouse.migrations import Runner

        from portal import create_app
        from portal.cli import MIGRATIONS_DIR
        from portal.core import pdf
        from portal.core.db import database
        from portal.statements import document

        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.db", "ENV": "testing", "TESTING": True,
                          "OUTBOX_DIR": f"{folder}/outbox", "PASSWORD_HASH_MEMORY_KIB": 1024})
        with app.app_context(), app.test_request_context():
            Runner(database.obj, MIGRATIONS_DIR).up()
            # One page: two ambassadors and a donation. 200 lines: 196 hour lines and 4 others.
            small, large = _snapshot(2, extras=1), _snapshot(196)
            minimal = _median_seconds(lambda: pdf.render_pdf(MINIMAL_PAGE))
            one_page = _median_seconds(lambda: document.statement_pdf(small, verification_code="ABCDE23456"))
            two_hundred = _median_seconds(lambda: document.statement_pdf(large, verification_code="ABCDE23456"))
            pages_small = _pages(document.statement_pdf(small, verification_code="ABCDE23456"))
            pages_large = _pages(document.statement_pdf(large, verification_code="ABCDE23456"))
            # The longest statement that prints every line (SPECIFICATION_LIMIT): one render after a
            # warm-up, to compare with the render time limit (core/pdf.py DEFAULT_SECONDS).
            longest = _snapshot(document.SPECIFICATION_LIMIT - 4)
            thousand = _median_seconds(lambda: document.statement_pdf(longest, verification_code="ABCDE23456"),
                                       repeat=1)
            pages_longest = _pages(document.statement_pdf(longest, verification_code="ABCDE23456"))
            report.table(
                "Statements: render time relative to WeasyPrint's minimal page",
                ["document", "pages", "median ms", "ratio to minimal page", "goal", "verdict"],
                [["minimal page (baseline)", 1, f"{minimal * 1000:.0f}", "1.0", "", ""],
                 ["one-page statement (3 lines)", pages_small, f"{one_page * 1000:.0f}", f"{one_page / minimal:.1f}",
                  *_at_most(one_page / minimal, ONE_PAGE_GOAL, "x")],
                 ["200-line statement", pages_large, f"{two_hundred * 1000:.0f}", f"{two_hundred / minimal:.1f}",
                  *_at_most(two_hundred / minimal, TWO_HUNDRED_GOAL, "x")],
                 [f"{document.SPECIFICATION_LIMIT:,}-line statement (one render)", pages_longest,
                  f"{thousand * 1000:.0f}", f"{thousand / minimal:.1f}", "", ""]],
                f"Median of {REPEAT} renders after one warm-up (the longest statement: one render after one), all "
                f"through core/pdf.py in the same process; the render time limit is {pdf.DEFAULT_SECONDS:g} s.")

            issued, seconds, synthetic, companies = _issue_everything(app, scale)
            report.table(
                "Statements: issue for every demo company",
                ["scale", "companies", "statements issued", "total s", "ms per statement", "goal", "verdict"],
                [[scale, companies, issued, f"{seconds:.1f}", f"{seconds * 1000 / max(issued, 1):.0f}",
                  *_at_most(seconds / max(issued, 1), ISSUE_GOAL_SECONDS, " s")]],
                "Calendar year 2026, through service.issue_bulk (number, render, store, audit; SQLite file)."
                + (" No capability registered contributions yet: a synthetic source (38 weekly hour lines and "
                   "one donation per company) stands in." if synthetic else ""))


def _at_most(value: float, goal: float, unit: str) -> list[str]:
    return [f"<= {goal:g}{unit}", "met" if value <= goal else "BELOW"]


def _pages(data: bytes) -> int:
    import io

    import pypdf

    return len(pypdf.PdfReader(io.BytesIO(data)).pages)


def _issue_everything(app, scale: int) -> tuple[int, float, bool, int]:
    from portal import demo
    from portal.accounts.models import Company
    from portal.core import hooks
    from portal.core.contributions import contributions
    from portal.statements import periods, service

    steps = demo.DEMO_STEPS
    demo.DEMO_STEPS = tuple(s for s in steps if s != "portal.statements.demo")  # issuing is what we time
    try:
        demo.fill(scale=scale)
    finally:
        demo.DEMO_STEPS = steps
    period = periods.calendar_year(2026)
    synthetic = not contributions(None, period.start, period.end)
    if synthetic:
        hooks.connect(app, hooks.CONTRIBUTIONS, _synthetic_source([c.id for c in Company.select(Company.id)]))
    companies = Company.select().count()
    start = time.perf_counter()
    result = service.issue_bulk(period, today=dt.date(2027, 1, 4))
    seconds = time.perf_counter() - start
    return len(result.issued), seconds, synthetic, companies
