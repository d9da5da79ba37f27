"""Races the database settles: two HR tabs enrolling the same person, two leader tabs
confirming the same sessions, two moves of one enrolment. Real threads, real connections."""

from __future__ import annotations

import threading

from tests.enrollment.conftest import valid_raw


def _race(app, fn, workers: int = 2) -> list:
    """Run fn(index) in `workers` threads released at once; returns results or exceptions."""
    from portal.core.db import database

    barrier = threading.Barrier(workers)
    results: list = [None] * workers

    def run(index):
        with app.app_context(), app.test_request_context("/"):
            try:
                barrier.wait(timeout=10)
                results[index] = fn(index)
            except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
                results[index] = error
            finally:
                if not database.is_closed():
                    database.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_tabs_enrol_the_same_person_once(app, hr):
    from portal.enrollment import base, service, validation
    from portal.enrollment.models import Enrolment

    context = validation.ValidationContext.load(hr)
    items = [validation.validate_enrolment(valid_raw(job_title=f"Tab {n}"), context)[0] for n in range(2)]
    results = _race(app, lambda i: service.create_enrolment(hr, hr.admin, items[i]))
    assert sum(isinstance(r, Enrolment) for r in results) == 1
    assert sum(isinstance(r, base.EnrollmentError) for r in results) == 1, results
    assert Enrolment.select().count() == 1


def test_two_leader_tabs_confirm_each_session_once(app, hr, enrol, leader, school, today):
    from portal.enrollment import hours

    enrolment = enrol(hr, status="active", leader=leader, school=school)
    past = [e for e in hours.register(enrolment) if e.worked_on <= today]
    hours.report_sessions(enrolment, [hours.SessionReport(e.id, True, 480) for e in past], actor=hr.admin, via="hr")
    ids = [e.id for e in past]
    results = _race(app, lambda i: hours.decide_entries(ids, leader, approve=i == 0, reason="" if i == 0 else "No"))
    assert all(isinstance(r, tuple) for r in results), results
    assert sum(decided for decided, _skipped in results) == len(ids)


def test_two_moves_of_one_enrolment_one_wins(app, hr, enrol, leader):
    from portal.enrollment import service
    from portal.enrollment.models import Enrolment

    enrolment = enrol(hr)
    results = _race(app, lambda i: service.move(enrolment, ("intake", "withdrawn")[i], leader if i == 0 else hr.admin,
                                                reason="Changed jobs"))
    winners = [r for r in results if isinstance(r, Enrolment)]
    assert len(winners) == 1, results
    assert Enrolment.get_by_id(enrolment.id).status == winners[0].status
