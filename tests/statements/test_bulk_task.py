"""The leader issues a period's statements for every company on the task queue (issue 20).

The web request only stores a run and queues it; the task issues (service.issue_bulk) and
stores the outcome, which the leader's page shows: queued, then issued n, skipped m, failed with
the reason. Running it twice issues nothing twice. Tests run tasks at once (immediate mode),
except where a test holds the queued task back to look at the page in between.
"""

from __future__ import annotations

import datetime as dt
import html

import pytest

from portal.core import clock, tasks
from portal.core.db import utcnow
from portal.statements import bulk, periods, service
from portal.statements.models import Statement, StatementRun

D = dt.date
TODAY = D(2026, 12, 2)           # 2025 has ended; 2026 runs
YEAR = periods.calendar_year(2025)
FORM = {"kind": "calendar_year", "year": "2025"}


@pytest.fixture
def companies(monkeypatch, make_company, ledger, no_sroi):
    """Four companies with 2025 contributions: one already has its statement, one cannot be rendered."""
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    alpha, beta, done, broken = (make_company(name) for name in ("Alpha", "Beta", "Gamma", "Delta"))
    ledger.money(alpha, D(2025, 3, 2), 250_000)                 # EUR 2,500.00
    ledger.hours(beta, D(2025, 10, 7), 480, "Bo de Graaf")       # 8:00 at EUR 50
    ledger.money(done, D(2025, 6, 1), 10_000)
    ledger.material(broken, D(2025, 5, 5), 45_000)
    make_company("Stil")                                         # nothing in 2025: not part of the run
    existing = service.issue(done, YEAR, today=TODAY)
    render = service.render

    def render_or_fail(snapshot, **kwargs):
        if snapshot["company"]["id"] == broken.id:
            raise RuntimeError("the PDF renderer ran out of memory")
        return render(snapshot, **kwargs)

    monkeypatch.setattr(service, "render", render_or_fail)
    return {"alpha": alpha, "beta": beta, "done": done, "broken": broken, "existing": existing}


def page_text(client, url="/leader/statements/runs") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


def test_the_leader_queues_a_run_and_sees_its_outcome(app, leader_client, companies):
    response = leader_client.post("/leader/statements/runs", data=FORM)
    assert response.status_code == 302 and response.headers["Location"].endswith("/leader/statements/runs")

    run = StatementRun.get()
    assert (run.status, run.issued, run.skipped, run.failed) == ("done", 2, 1, 1)
    issued = {s.company_id: s.number for s in Statement.select().where(Statement.id != companies["existing"].id)}
    assert set(issued) == {companies["alpha"].id, companies["beta"].id}
    text = page_text(leader_client)
    assert "The statements of Calendar year 2025 are queued" in text
    assert "done" in text and "2 statements issued" in text
    assert all(number in text for number in issued.values())
    assert "1 company skipped: 1 already had a statement of this period" in text
    assert "1 company failed" in text and "Delta B.V.: RuntimeError: the PDF renderer ran out of memory" in text
    assert "Issue statements for every company" in page_text(leader_client, "/leader/statements")

    # Run again: nothing is issued twice; the one that failed is tried again (and fails again).
    leader_client.post("/leader/statements/runs", data=FORM)
    second = StatementRun.select().order_by(StatementRun.id.desc()).first()
    assert (second.status, second.issued, second.skipped, second.failed) == ("done", 0, 3, 1)
    assert Statement.select().count() == 3
    assert "0 statements issued" in page_text(leader_client)


def test_the_page_shows_the_run_queued_until_the_worker_has_done_it(app, leader_client, companies, monkeypatch):
    held = []
    monkeypatch.setattr(tasks, "enqueue", lambda fn, *args: held.append((fn, args)))
    leader_client.post("/leader/statements/runs", data=FORM)
    assert [(fn, args) for fn, args in held] == [(bulk.issue_all, (StatementRun.get().id,))]
    assert StatementRun.get().status == "queued"
    assert Statement.select().count() == 1                       # the request issued nothing itself
    text = page_text(leader_client)
    assert "queued" in text and "Waiting for the background worker" in text

    # Asking again while it waits is refused: one run of a period at a time, what was chosen stays.
    again = leader_client.post("/leader/statements/runs", data=FORM)
    assert again.status_code == 422
    refused = " ".join(html.unescape(again.get_data(as_text=True)).split())
    assert "already queued or being issued" in refused
    assert '<option selected value="2025">2025</option>' in again.get_data(as_text=True)
    assert StatementRun.select().count() == 1 and len(held) == 1

    fn, args = held[0]
    fn(*args)                                                    # the worker takes it
    assert StatementRun.get().status == "done"
    assert "2 statements issued" in page_text(leader_client)
    fn(*args)                                                    # delivered twice: nothing happens
    run = StatementRun.get()
    assert (run.status, run.issued) == ("done", 2) and Statement.select().count() == 3


def test_a_running_year_is_refused_before_anything_is_queued(app, leader_client, companies):
    response = leader_client.post("/leader/statements/runs", data={"kind": "calendar_year", "year": "2026"})
    assert response.status_code == 422
    text = " ".join(html.unescape(response.get_data(as_text=True)).split())
    assert "This period has not ended yet" in text and "January 1, 2027" in text
    assert StatementRun.select().count() == 0 and Statement.select().count() == 1


def test_a_run_whose_worker_died_is_given_up_when_asked_again(app, leader, companies):
    stuck = StatementRun.create(period_kind=YEAR.kind, period_start=YEAR.start, period_end=YEAR.end,
                                status="running", requested_at=utcnow() - dt.timedelta(hours=3))
    with pytest.raises(bulk.RunAlreadyActive):
        StatementRun.update(requested_at=utcnow()).where(StatementRun.id == stuck.id).execute()
        bulk.request_run(YEAR, leader)          # a run asked for just now is still going
    StatementRun.update(requested_at=utcnow() - dt.timedelta(hours=3)).where(StatementRun.id == stuck.id).execute()
    fresh = bulk.request_run(YEAR, leader)
    assert StatementRun.get_by_id(stuck.id).status == "failed"
    assert StatementRun.get_by_id(fresh.id).status == "done" and StatementRun.get_by_id(fresh.id).issued == 2


def test_company_users_never_see_the_runs(app, client, login, companies):
    login(client, companies["alpha"].admin)
    assert client.get("/leader/statements/runs").status_code == 404
    assert client.post("/leader/statements/runs", data=FORM).status_code == 404
    assert StatementRun.select().count() == 0
