"""HR enrols one employee through the form and two more from a CSV file, in a real browser (Dutch)."""

from portal.enrollment import reference
from portal.enrollment.csv_import import template_csv
from tests.conftest import PASSWORD, Outbox


def test_hr_enrols_an_employee_by_form_and_more_by_csv(live_server, journey, make_company, tmp_path):
    reference.seed_reference_data()  # the school calendar: the migration seeds it, PostgreSQL runs truncate it
    company = make_company("Bouwbedrijf Vecht", language="nl")
    page = journey.page
    outbox = Outbox(__import__("pathlib").Path(live_server.app.config["OUTBOX_DIR"]))

    journey.log_in(live_server.url, company.admin.email, PASSWORD)

    journey.visit(live_server.url + "/ambassadors/new", "enrolment form")
    page.fill("#employee_name", "Femke Visser")
    page.fill("#employee_email", "femke.visser@vecht.example")
    page.fill("#job_title", "Werkvoorbereider")
    page.fill("#hours_per_week", "12")  # more than a day: refused, and nothing typed is lost
    page.click("main form button[type=submit]")
    assert page.input_value("#employee_name") == "Femke Visser"
    assert "6 tot 8 uur per week" in page.content()
    journey.check_accessibility()
    journey.snap("too many hours refused")
    page.fill("#hours_per_week", "7,5")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".flash")
    assert "Femke Visser is aangemeld" in page.content()
    journey.check_accessibility()
    journey.snap("enrolled by form")
    assert "femke.visser@vecht.example" in [m.to for m in outbox.messages]

    journey.visit(live_server.url + "/ambassadors/import", "csv upload")
    upload = tmp_path / "ambassadeurs.csv"
    upload.write_bytes(template_csv("nl"))  # the Dutch template a Dutch HR user downloads
    page.set_input_files("input[type=file]", str(upload))
    page.click("main form[enctype] button[type=submit]")
    page.wait_for_selector(".flash")
    assert "2 ambassadeurs zijn aangemeld" in page.content()
    journey.check_accessibility()
    journey.snap("enrolled by csv")

    journey.visit(live_server.url + "/ambassadors", "ambassadors list")
    listing = page.content()
    for name in ("Femke Visser", "Sanne de Vries", "Youssef El Amrani"):
        assert name in listing
