"""CSV import: validate every row first, errors per line and field, all or nothing, the rows
come back for fixing, and wrong files get a message that says what to do."""

from __future__ import annotations

import io

import pytest

HEADER = "employee_name,employee_email,job_title,type,start,duration,weekday,hours_per_week,funding,sponsored_hours_per_week,hourly_cost,vog_status,vog_date"


def _csv(*rows: str, header: str = HEADER, delimiter: str = ",") -> bytes:
    lines = [header.replace(",", delimiter)] + [r.replace(",", delimiter) if delimiter != "," else r for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


GOOD = (
    "Anna Bakker,anna@acme.nl,Planner,class,2026-09,full,tuesday,8,sponsored,,,received,2026-08-01",
    "Bram Visser,bram@acme.nl,Engineer,class,2027-02,half,donderdag,\"7,5\",mixed,4,\"52,50\",requested,2026-11-01",
    "Carlijn Smit,carlijn@acme.nl,Analyst,thematic,2026-09,half,wednesday,6,volunteer,,,not_requested,",
)


def _upload(client, data: bytes, name: str = "ambassadors.csv"):
    return client.post("/ambassadors/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _count():
    from portal.enrollment.models import Enrolment

    return Enrolment.select().count()


def test_the_template_downloads_and_imports_as_it_is(hr):
    response = hr.client.get("/ambassadors/import/template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("employee_name,employee_email,job_title")
    assert ",52.50," in text.splitlines()[1]   # a decimal point for an English spreadsheet
    response = _upload(hr.client, response.data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _count() == 2
    from portal.enrollment.models import Enrolment

    assert Enrolment.get(Enrolment.employee_email == "sanne.devries@example.nl").hourly_cost_cents == 5250


def test_a_valid_file_enrols_everyone_and_mails_each_employee(hr, outbox, leader):
    response = _upload(hr.client, _csv(*GOOD))
    assert response.status_code == 302
    from portal.enrollment.models import Enrolment

    rows = {e.employee_email: e for e in Enrolment.select()}
    assert set(rows) == {"anna@acme.nl", "bram@acme.nl", "carlijn@acme.nl"}
    assert (rows["bram@acme.nl"].weekday, rows["bram@acme.nl"].minutes_per_week,
            rows["bram@acme.nl"].sponsored_minutes_per_week, rows["bram@acme.nl"].hourly_cost_cents) == (3, 450, 240, 5250)
    assert rows["carlijn@acme.nl"].role_type == "thematic" and rows["carlijn@acme.nl"].hourly_cost_cents is None
    for address in rows:
        assert "/ambassador/start/" in outbox.last(address).link()
    assert "3 new ambassadors" in outbox.last(leader.email).text
    from portal.core.audit import AuditLog

    assert AuditLog.select().where(AuditLog.action == "enrollment.imported").count() == 1


def test_one_bad_row_imports_nothing_and_names_line_and_field(hr):
    bad = "Daan de Boer,daan@acme.nl,Planner,class,2026-10,full,saturday,9,sponsored,,,received,2026-08-01"
    response = _upload(hr.client, _csv(GOOD[0], bad, GOOD[2]))
    assert response.status_code == 422
    assert _count() == 0
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "Line 3</a>" not in page  # line numbers are followed by the column
    for column, message in (("start", "September or in February"), ("weekday", "closed at the weekend"),
                            ("hours_per_week", "6 to 8 hours")):
        assert f"Line 3, {column}</a>: " in page and message in page
    # Every row comes back in the grid, as typed, so nothing has to be typed again.
    assert 'value="Anna Bakker"' in page and 'value="saturday"' in page and 'value="Carlijn Smit"' in page


def test_fixing_the_rows_on_the_page_then_imports_them_all(hr):
    bad = "Daan de Boer,daan@acme.nl,Planner,class,2026-10,full,saturday,8,sponsored,,,received,2026-08-01"
    _upload(hr.client, _csv(GOOD[0], bad))
    columns = ("employee_name", "employee_email", "job_title", "department", "language", "type", "start", "duration",
               "weekday", "hours_per_week", "funding", "sponsored_hours_per_week", "hourly_cost", "vog_status",
               "vog_date", "under_21")
    values = [
        dict(zip(columns, ["Anna Bakker", "anna@acme.nl", "Planner", "", "", "class", "2026-09", "full", "tuesday", "8",
                           "sponsored", "", "", "received", "2026-08-01", ""], strict=True)),
        dict(zip(columns, ["Daan de Boer", "daan@acme.nl", "Planner", "", "", "class", "2026-09", "full", "friday", "8",
                           "sponsored", "", "", "received", "2026-08-01", ""], strict=True)),
    ]
    form = {"row_count": "2"}
    for index, row in enumerate(values):
        form[f"r{index}-_line"] = str(index + 2)
        form.update({f"r{index}-{k}": v for k, v in row.items()})
    response = hr.client.post("/ambassadors/import", data=form)
    assert response.status_code == 302
    assert _count() == 2


def test_a_row_can_be_left_out_on_the_page(hr):
    form = {"row_count": "2", "r0-_line": "2", "r0-employee_name": "X", "r1-_line": "3", "r1-_remove": "1"}
    response = hr.client.post("/ambassadors/import", data=form)
    assert response.status_code == 422 and _count() == 0


def test_the_same_person_twice_in_one_file_for_overlapping_periods(hr):
    response = _upload(hr.client, _csv(GOOD[0], GOOD[0].replace("Planner", "Other")))
    assert response.status_code == 422
    assert "already on line 2 for an overlapping period" in response.get_data(as_text=True)
    assert _count() == 0


def test_semicolons_and_a_byte_order_mark_are_fine(hr):
    rows = [r.replace('"7,5"', "7,5").replace('"52,50"', "52,50") for r in GOOD]
    data = "\ufeff" + HEADER.replace(",", ";") + "\n" + "\n".join(
        r.replace(",", ";").replace("7;5", "7,5").replace("52;50", "52,50") for r in rows) + "\n"
    response = _upload(hr.client, data.encode("utf-8"))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert _count() == 3


@pytest.mark.parametrize(("data", "message"), [
    (_csv(*GOOD).decode().replace("Bakker", "Bäkker").encode("latin-1"), "not UTF-8"),
    (_csv(*GOOD).decode().encode("utf-16"), "UTF-16"),
    (b"PK\x03\x04" + b"\x00" * 100, "Excel workbook"),
    (_csv(*GOOD, delimiter="\t"), "tabs"),
    (b"just one column\nand nothing else\n", "could not find separate columns"),
    (_csv(*GOOD, header=HEADER.replace("employee_email", "email")), "Missing columns: employee_email"),
    (_csv("Anna,anna@acme.nl,Planner,class,2026-09,full,tuesday,8,sponsored,,,received,2026-08-01,extra",
          header=HEADER + ",shoe_size"), "Unknown columns: shoe_size"),
    (b"", "empty"),
    (HEADER.encode() + b"\n", "no rows"),
    (_csv('Anna,"anna@acme.nl,Planner'), "cannot be read as CSV"),
])
def test_wrong_files_get_a_clear_message_and_change_nothing(hr, data, message):
    response = _upload(hr.client, data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count() == 0


def test_a_line_with_too_many_fields_is_reported(hr):
    response = _upload(hr.client, _csv(GOOD[0] + ",surplus"))
    assert response.status_code == 422
    assert "This line has 14 fields; the header has 13" in response.get_data(as_text=True)
    assert _count() == 0


def test_a_50_mb_upload_gets_a_friendly_413(hr):
    response = _upload(hr.client, b"a" * (50 * 1024 * 1024))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "That file is too large" in page and "nothing was saved" in page
    assert _count() == 0


def test_a_file_above_two_megabytes_is_refused_before_parsing(hr):
    response = _upload(hr.client, _csv(*GOOD) + b"#" * (2 * 1024 * 1024))
    assert response.status_code == 422 and "larger than 2 MB" in response.get_data(as_text=True)


def test_a_dutch_reader_gets_the_template_in_dutch_and_it_imports_as_it_is(hr):
    hr.admin.language = "nl"
    hr.admin.save()
    response = hr.client.get("/ambassadors/import/template.csv")
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("naam;e_mailadres;functie;afdeling;taal;soort;start;duur;weekdag;uren_per_week")
    assert "dinsdag" in lines[1] and "gesponsord;;52,50;" in lines[1] and "gemengd" in lines[2]
    assert _upload(hr.client, response.data).status_code == 302
    from portal.enrollment.models import Enrolment

    sanne = Enrolment.get(Enrolment.employee_email == "sanne.devries@example.nl")
    assert (sanne.weekday, sanne.funding, sanne.duration, sanne.vog_status) == (1, "sponsored", "full", "requested")


def test_a_file_may_name_its_columns_in_either_language_and_the_page_names_them_in_the_readers(hr):
    dutch = ("naam,E-mailadres,functie,soort,start,duur,weekdag,uren per week,financiering,"
             "gesponsorde_uren_per_week,uurkosten,vog_status,vog_datum")
    response = _upload(hr.client, _csv(*GOOD, header=dutch))      # an English reader, a Dutch file
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _count() == 3
    hr.admin.language = "nl"
    hr.admin.save()
    response = _upload(hr.client, _csv(GOOD[0].replace("anna@", "anne@"),
                                       header=HEADER.replace("employee_email", "email")))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "e_mailadres" in page and "employee_email" not in page
    assert _count() == 3


def test_a_column_without_a_name_is_named_so_in_the_readers_language(hr):
    hr.admin.language = "nl"
    hr.admin.save()
    response = _upload(hr.client, _csv(GOOD[0] + ",x", header=HEADER + ","))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Onbekende kolommen: (zonder naam)." in page
    assert _count() == 0


def test_the_dutch_template_as_excel_saves_it_again_imports(hr):
    """Dutch Excel opens the template, shows 2026-09 as a date and saves it as one ('sep-26' or
    '1-9-2026'), and the VOG date day first."""
    data = ("naam;e_mailadres;functie;soort;start;duur;weekdag;uren_per_week;financiering;uurkosten;vog_status;vog_datum\r\n"
            "Sanne de Vries;sanne@acme.nl;Planner;klas;sep-26;heel;dinsdag;8;gesponsord;52,50;ontvangen;15-6-2026\r\n"
            "Bram Visser;bram@acme.nl;Planner;klas;1-2-2027;half;donderdag;7,5;vrijwilliger;;aangevraagd;1-11-2026\r\n")
    response = _upload(hr.client, ("\ufeff" + data).encode("utf-8"))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    from portal.enrollment.models import Enrolment
    from portal.enrollment.validation import raw_from_enrolment

    sanne = Enrolment.get(Enrolment.employee_email == "sanne@acme.nl")
    assert (raw_from_enrolment(sanne)["start"], sanne.hourly_cost_cents, str(sanne.vog_received_on)) == (
        "2026-09", 5250, "2026-06-15")
    bram = Enrolment.get(Enrolment.employee_email == "bram@acme.nl")
    assert (raw_from_enrolment(bram)["start"], bram.minutes_per_week) == ("2027-02", 450)
