"""HR enrols one employee through the form; bad input gets a clear message and saves nothing."""

from __future__ import annotations

import pytest

from tests.enrollment.conftest import valid_raw


def _count():
    from portal.enrollment.models import Enrolment

    return Enrolment.select().count()


def test_hr_enrols_an_employee_who_gets_a_personal_link(hr, outbox, leader):
    response = hr.client.post("/ambassadors/new", data=valid_raw())
    assert response.status_code == 302
    from portal.enrollment.models import Enrolment, EnrolmentSlot

    enrolment = Enrolment.get()
    assert enrolment.company_id == hr.id
    assert (enrolment.status, enrolment.minutes_per_week, enrolment.sponsored_minutes_per_week) == ("submitted", 480, 480)
    assert enrolment.hourly_cost_cents == 5000
    assert str(enrolment.starts_on) == "2026-08-31" and str(enrolment.ends_on) == "2027-07-16"
    assert EnrolmentSlot.select().where(EnrolmentSlot.enrolment == enrolment.id).count() == 2
    invite = outbox.last("sanne@acme.nl")
    assert "/ambassador/start/" in invite.link()
    assert "Acme B.V." in invite.text
    assert "New enrolments from Acme B.V." in outbox.last(leader.email).subject
    page = hr.client.get(f"/ambassadors/{enrolment.id}")
    assert page.status_code == 200 and b"Sanne de Vries" in page.data


@pytest.mark.parametrize(("field", "value", "message"), [
    ("hours_per_week", "5", "6 to 8 hours"),
    ("hours_per_week", "8,5", "6 to 8 hours"),
    ("hours_per_week", "seven", "such as 7, 7,5 or 7:30"),
    ("weekday", "saturday", "closed at the weekend"),
    ("weekday", "zondag", "closed at the weekend"),
    ("start", "2026-10", "September or in February"),
    ("start", "2031-09", "no school calendar"),
    ("employee_email", "not-an-address", "valid e-mail address"),
    ("employee_name", "", "This field is required"),
    ("funding", "bartering", "sponsored, volunteer or mixed"),
    ("hourly_cost", "-4", "cannot be negative"),
    ("vog_date", "", "date of the VOG"),
])
def test_bad_input_gets_a_clear_message_and_saves_nothing(hr, field, value, message):
    response = hr.client.post("/ambassadors/new", data=valid_raw(**{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count() == 0
    # Nothing the user typed is lost.
    assert b'value="Sanne de Vries"' in response.data or field == "employee_name"


def test_a_half_year_from_february_is_fine_but_a_whole_year_would_cross_school_years(hr):
    response = hr.client.post("/ambassadors/new", data=valid_raw(start="2027-02", duration="full"))
    assert response.status_code == 422
    assert "cross into the next school year" in response.get_data(as_text=True)
    assert _count() == 0
    response = hr.client.post("/ambassadors/new", data=valid_raw(start="2027-02", duration="half"))
    assert response.status_code == 302
    from portal.enrollment.models import Enrolment

    enrolment = Enrolment.get()
    assert (str(enrolment.starts_on), str(enrolment.ends_on), enrolment.start_half) == ("2027-02-01", "2027-07-16", "second")


def test_mixed_funding_needs_the_sponsored_share(hr):
    response = hr.client.post("/ambassadors/new", data=valid_raw(funding="mixed", sponsored_hours_per_week=""))
    assert response.status_code == 422 and b"how many of the weekly hours" in response.data
    response = hr.client.post("/ambassadors/new", data=valid_raw(funding="mixed", sponsored_hours_per_week="8"))
    assert response.status_code == 422 and b"fewer than the hours per week" in response.data
    response = hr.client.post("/ambassadors/new", data=valid_raw(funding="mixed", hours_per_week="7:30",
                                                                 sponsored_hours_per_week="4,5"))
    assert response.status_code == 302
    from portal.enrollment.models import Enrolment

    assert (Enrolment.get().minutes_per_week, Enrolment.get().sponsored_minutes_per_week) == (450, 270)


def test_duplicate_enrolment_for_an_overlapping_period_is_refused(hr):
    assert hr.client.post("/ambassadors/new", data=valid_raw(start="2026-09", duration="half")).status_code == 302
    # The second half does not overlap the first half: fine.
    assert hr.client.post("/ambassadors/new", data=valid_raw(start="2027-02", duration="half")).status_code == 302
    # A whole year overlaps both.
    response = hr.client.post("/ambassadors/new", data=valid_raw(employee_email="SANNE@acme.nl"))
    assert response.status_code == 422
    assert "already enrolled for an overlapping period" in response.get_data(as_text=True)
    assert _count() == 2


def test_the_unique_slot_catches_a_race_the_lookup_missed(hr, app):
    """Two requests that both validated before either saved: the database refuses the second."""
    from portal.enrollment import base, service, validation

    context = validation.ValidationContext.load(hr)
    first, _ = validation.validate_enrolment(valid_raw(), context)
    second, _ = validation.validate_enrolment(valid_raw(job_title="Other"), context)
    service.create_enrolment(hr, hr.admin, first)
    with pytest.raises(base.EnrollmentError, match="overlapping period"):
        service.create_enrolment(hr, hr.admin, second)
    assert _count() == 1


def test_withdrawn_enrolment_frees_the_period(hr, enrol):
    from portal.enrollment import service

    enrolment = enrol(hr, employee_email="sanne@acme.nl")
    service.move(enrolment, "withdrawn", hr.admin, reason="Changed jobs")
    assert hr.client.post("/ambassadors/new", data=valid_raw()).status_code == 302


def test_hr_edits_details_until_the_match(hr, enrol, leader, school):
    enrolment = enrol(hr)
    response = hr.client.post(f"/ambassadors/{enrolment.id}/edit",
                              data=valid_raw(employee_email=enrolment.employee_email, weekday="thursday", hours_per_week="7"))
    assert response.status_code == 302
    from portal.enrollment.models import Enrolment

    assert (Enrolment.get_by_id(enrolment.id).weekday, Enrolment.get_by_id(enrolment.id).minutes_per_week) == (3, 420)
    page = hr.client.get(f"/ambassadors/{enrolment.id}/edit")
    assert b'value="7"' in page.data

    matched = enrol(hr, status="matched", leader=leader, school=school)
    response = hr.client.post(f"/ambassadors/{matched.id}/edit", data=valid_raw(employee_email=matched.employee_email))
    assert response.status_code == 302
    assert "can no longer change" in hr.client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_company_default_hourly_cost_fills_an_empty_field(hr):
    assert hr.client.post("/ambassadors/new", data=valid_raw(hourly_cost="")).status_code == 302
    from portal.enrollment.models import Enrolment

    assert Enrolment.get().hourly_cost_cents == hr.hourly_cost_cents == 5000


def test_the_form_offers_september_and_february_starts(hr, today):
    # On 28 November 2026: September 2026 has passed, so only placements already started keep it
    # (test_desk_details.py); the form offers the next starts.
    page = hr.client.get("/ambassadors/new").get_data(as_text=True)
    assert 'value="2026-09"' not in page and 'value="2027-02"' in page
    assert "February 2027 (school year 2026-2027)" in page


def test_parsing_what_people_type():
    from portal.enrollment import base, validation

    assert validation.parse_minutes("7,5") == 450
    assert validation.parse_minutes("7.25") == 435
    assert validation.parse_minutes("6:45") == 405
    assert validation.parse_minutes(" 8 uur ") == 480
    with pytest.raises(base.EnrollmentError):
        validation.parse_minutes("7,333")
    assert validation.parse_weekday("Dinsdag") == 1
    assert validation.parse_weekday("5") == 4
    assert validation.parse_start("september 2026") == (2026, 9)
    assert validation.parse_start("02-2027") == (2027, 2)
    assert validation.parse_start("2026-09-01") == (2026, 9)
    # What Excel makes of "2026-09" when it opens the template and saves it again.
    assert validation.parse_start("1-9-2026") == (2026, 9)
    assert validation.parse_start("01/02/2027") == (2027, 2)
    assert validation.parse_start("sep-26") == (2026, 9)
    assert validation.parse_start("Feb-27") == (2027, 2)
    assert validation.parse_start("sept. 2026") == (2026, 9)
    for typed in ("sep", "26", "sep-2", "1-2-3-2026", "smurf-26", "9/2/2026", "15-9-2026",
                  "sep 27", "sep26"):
        with pytest.raises(base.EnrollmentError):
            validation.parse_start(typed)
    # Digits of other scripts are not read as numbers (a CSV with "٨" hours is refused, not guessed).
    for typed in ("٨", "７:３０", "٥"):
        with pytest.raises(base.EnrollmentError):
            validation.parse_minutes(typed)
    with pytest.raises(base.EnrollmentError):
        validation.parse_weekday("٣")
    with pytest.raises(base.EnrollmentError):
        validation.parse_start("٠٩-٢٠٢٦")
