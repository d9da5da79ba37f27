"""The status workflow: submitted, intake, matched, active, completed, withdrawn. Impossible
moves are refused with a clear message; every move is audited and mailed."""

from __future__ import annotations

import json

import pytest


def _audit(action):
    from portal.core.audit import AuditLog

    return [json.loads(row.details) for row in AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id)]


def test_the_leader_walks_an_enrolment_through_every_status(app, hr, enrol, leader, school, outbox, today):
    from portal.enrollment import hours, service
    from portal.enrollment.models import HoursEntry

    enrolment = enrol(hr)
    enrolment = service.move(enrolment, "intake", leader)
    assert "intake" in outbox.last(enrolment.employee_email).text
    enrolment = service.move(enrolment, "matched", leader, school=school, group_name="groep 5b", teacher_name="juf Aylin")
    matched_mail = outbox.last(enrolment.employee_email)
    assert "OBS De Klimop" in matched_mail.text and "groep 5b" in matched_mail.text and "juf Aylin" in matched_mail.text
    assert "OBS De Klimop" in outbox.last(hr.admin.email).text
    planned = hours.register(enrolment)
    assert len(planned) == 41 and all(e.kind == "planned" and e.minutes == 480 for e in planned)  # Tuesdays 2026-2027
    enrolment = service.move(enrolment, "active", leader)
    enrolment = service.move(enrolment, "completed", leader, today=today)
    assert enrolment.status == "completed"
    # Completing removes only the sessions still to come that nobody reported.
    assert HoursEntry.select().where(HoursEntry.enrolment == enrolment.id).count() == len([e for e in planned if e.worked_on <= today])
    moves = [(d["before"], d["after"]) for d in _audit("enrollment.status")]
    assert moves == [("submitted", "intake"), ("intake", "matched"), ("matched", "active"), ("active", "completed")]


@pytest.mark.parametrize(("start", "to", "message"), [
    ("submitted", "active", "cannot become active"),
    ("submitted", "completed", "cannot become completed"),
    ("intake", "completed", "cannot become completed"),
    ("completed", "active", "cannot become active"),
    ("completed", "withdrawn", "cannot become withdrawn"),
])
def test_impossible_moves_are_refused_with_a_clear_message(hr, enrol, leader, school, start, to, message):
    from portal.enrollment import base, service
    from portal.enrollment.models import Enrolment

    enrolment = enrol(hr, status=start, leader=leader, school=school)
    with pytest.raises(base.EnrollmentError, match=message):
        service.move(enrolment, to, leader, reason="x")
    assert Enrolment.get_by_id(enrolment.id).status == start


def test_matching_needs_school_group_and_teacher(hr, enrol, leader, school):
    from portal.enrollment import base, service

    enrolment = enrol(hr, status="intake", leader=leader)
    with pytest.raises(base.EnrollmentError, match="Choose the school"):
        service.move(enrolment, "matched", leader, group_name="5b", teacher_name="juf")
    with pytest.raises(base.EnrollmentError, match="group"):
        service.move(enrolment, "matched", leader, school=school, teacher_name="juf")


def test_no_start_without_a_vog(hr, enrol, leader, school):
    from portal.enrollment import base, service

    enrolment = enrol(hr, status="matched", leader=leader, school=school, vog_status="requested", vog_date="2026-08-01")
    with pytest.raises(base.EnrollmentError, match="only start with a VOG"):
        service.move(enrolment, "active", leader)
    enrolment = service.update_vog(enrolment, hr.admin, "received", enrolment.starts_on)
    assert service.move(enrolment, "active", leader).status == "active"


def test_a_stale_page_cannot_move_what_someone_else_moved(hr, enrol, leader):
    from portal.enrollment import base, service

    enrolment = enrol(hr)
    stale = type(enrolment).get_by_id(enrolment.id)
    service.move(enrolment, "intake", leader)
    with pytest.raises(base.EnrollmentError, match="Someone else changed this enrolment"):
        service.move(stale, "withdrawn", hr.admin, reason="Changed jobs")


def test_hr_only_withdraws_and_must_say_why(hr, enrol, leader, outbox):
    from portal.enrollment import base, service

    enrolment = enrol(hr)
    with pytest.raises(base.EnrollmentError, match="Only the project leader"):
        service.move(enrolment, "intake", hr.admin)
    response = hr.client.post(f"/ambassadors/{enrolment.id}/withdraw", data={"reason": ""})
    assert response.status_code == 422 and b"This field is required" in response.data
    response = hr.client.post(f"/ambassadors/{enrolment.id}/withdraw", data={"reason": "New job abroad"})
    assert response.status_code == 302
    assert type(enrolment).get_by_id(enrolment.id).withdrawn_reason == "New job abroad"
    assert "New job abroad" in outbox.last(enrolment.employee_email).text
    assert "New job abroad" in outbox.last(leader.email).text  # HR withdrew: the leader hears of it


def test_back_to_intake_undoes_the_match_and_its_planned_sessions(hr, enrol, leader, school):
    from portal.enrollment import hours, service

    enrolment = enrol(hr, status="matched", leader=leader, school=school)
    assert hours.register(enrolment)
    enrolment = service.move(enrolment, "intake", leader)
    assert enrolment.school_id is None and hours.register(enrolment) == []


def test_the_leader_moves_through_the_page(hr, enrol, leader, leader_client, school):
    enrolment = enrol(hr)
    assert leader_client.post(f"/leader/ambassadors/{enrolment.id}/move", data={"to": "intake"}).status_code == 302
    response = leader_client.post(f"/leader/ambassadors/{enrolment.id}/move",
                                  data={"to": "matched", "school": "", "group_name": "5b", "teacher_name": "juf"})
    assert response.status_code == 422 and b"Choose the school" in response.data
    response = leader_client.post(f"/leader/ambassadors/{enrolment.id}/move",
                                  data={"to": "matched", "school": str(school.id), "group_name": "5b", "teacher_name": "juf"})
    assert response.status_code == 302
    response = leader_client.post(f"/leader/ambassadors/{enrolment.id}/move", data={"to": "completed"})
    assert response.status_code == 422 and b"cannot become completed" in response.data
    page = leader_client.get(f"/leader/ambassadors/{enrolment.id}")
    assert page.status_code == 200 and b"Mark as started" in page.data
