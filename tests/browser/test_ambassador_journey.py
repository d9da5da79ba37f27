"""An employee opens the personal link HR's enrolment mailed, uploads a CV and a motivation letter,
and reports the sessions of the past weeks, which then await the project leader, in a real browser."""

import re
from pathlib import Path

from portal.accounts import service as accounts
from portal.core import clock
from portal.enrollment import hours, reference, schools, validation
from portal.enrollment import service as enrollment
from portal.enrollment.models import Document, HoursEntry
from tests.conftest import PASSWORD, Outbox
from tests.enrollment.conftest import pdf_bytes, valid_raw


def test_an_employee_uploads_documents_and_reports_hours(live_server, journey, make_company, tmp_path):
    leader = accounts.create_leader("projectleider@onderwijsambassadeurs.example", PASSWORD, "Pim Projectleider")
    company = make_company("Drukkerij Lek", language="nl")
    with live_server.app.test_request_context():
        reference.seed_reference_data()  # the migration seeds it; PostgreSQL test runs truncate it
        school = schools.save_school(leader, {"name": "OBS De Klimop", "brin": "12KL", "street": "Zamenhofdreef 2",
                                                 "postcode": "3562 JT", "city": "Utrecht"})
        data, errors = validation.validate_enrolment(valid_raw(employee_name="Noor Bakker", employee_email="noor@lek.example",
                                                               language="nl"),
                                                     validation.ValidationContext.load(company))
        assert not errors
        enrolment = enrollment.create_enrolment(company, company.admin, data)
        for step in ("intake", "matched", "active"):
            enrolment = enrollment.move(enrolment, step, leader, school=school, group_name="groep 5b",
                                        teacher_name="juf Aylin")
    past = [e for e in hours.register(enrolment) if e.worked_on <= clock.today()]
    assert len(past) >= 2
    page = journey.page

    link = [m for m in Outbox(Path(live_server.app.config["OUTBOX_DIR"])).to("noor@lek.example")
            if "/ambassador/start/" in m.text][-1].link()
    journey.visit(live_server.url + link, "personal link")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/ambassador$"))
    journey.check_accessibility()
    journey.snap("the ambassador's page")

    for kind, name in (("cv", "cv-noor.pdf"), ("motivation", "motivatie-noor.pdf")):
        upload = tmp_path / name
        upload.write_bytes(pdf_bytes())
        page.select_option("#kind", kind)
        page.set_input_files("input[type=file]", str(upload))
        page.click("main form[enctype] button[type=submit]")
        page.wait_for_selector(".flash")
        assert name in page.content()
    journey.check_accessibility()
    journey.snap("both documents uploaded")
    assert Document.select().where(Document.enrolment == enrolment.id).count() == 2

    first, second = past[0], past[1]
    page.check(f"input[name=status-{first.id}][value=attended]")
    page.fill(f"#hours-{first.id}", "7,5")
    page.check(f"input[name=status-{second.id}][value=absent]")
    page.click("form:has(input[name^=status-]) button[type=submit]")
    page.wait_for_selector(".flash")
    journey.check_accessibility()
    journey.snap("sessions reported")
    assert "Wacht op bevestiging" in page.inner_text(f"#entry-{first.id}")
    reported = HoursEntry.get_by_id(first.id)
    assert (reported.status, reported.minutes, HoursEntry.get_by_id(second.id).status) == ("reported", 450, "absent")
