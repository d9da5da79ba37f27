"""What /give and giving's forms take in (issue 15, items 5 and 15): control characters are refused
(multi-line fields keep their line breaks), exports survive any that are stored anyway, and the
redirect from /give passes on only the query keys it knows."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from portal.giving import base, materials, service
from portal.giving.models import Donation, MaterialNeed, MaterialPledge

from .conftest import donate_form, public_form

CONTROLS = ["\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85"]


# --- item 15: /give passes on only the keys it knows -----------------------------------------------

@pytest.mark.parametrize("query", ["_external=1&_scheme=https", "_external=1&_scheme=javascript",
                                   "_anchor=x&_method=POST", "from=7&key=abc&_external=1"])
def test_give_sends_a_logged_in_company_to_its_page_without_building_an_external_address(company_client, query):
    _company, client = company_client()
    response = client.get(f"/give?{query}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/giving/donate"), location
    assert "_scheme" not in location and "_external" not in location and "#" not in location
    if "from=7" in query:
        assert "from=7" in location and "key=abc" in location


# --- item 5: control characters are refused at giving's text inputs --------------------------------

@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("field", ["earmark_purpose", "company_name", "contact_name"])
def test_the_public_page_refuses_control_characters(app, field, control):
    response = app.test_client().post("/give", data=public_form(method="bank", **{field: f"Lees{control}boeken"}))
    assert response.status_code == 422
    assert b"control characters" in response.data
    assert Donation.select().count() == 0


@pytest.mark.parametrize("control", ["\x01", "\x1f"])
def test_the_donate_and_pledge_forms_refuse_control_characters(app, company_client, control):
    _company, client = company_client()
    response = client.post("/giving/donate", data=donate_form(method="bank", earmark_purpose=f"a{control}b"))
    assert response.status_code == 422 and Donation.select().count() == 0
    response = client.post("/giving/materials/pledge", data={
        "need": "", "description": f"Laptops{control}", "quantity": "2", "declared_value": "100",
        "classification": "gift", "form_token": "pledge-token-0123456789"})
    assert response.status_code == 422 and MaterialPledge.select().count() == 0


def test_a_need_keeps_its_line_breaks_but_not_other_control_characters(leader_client):
    form = {"item": "Leesboeken", "description": "Groep 3\r\nGroep 4", "quantity": "3", "school": "",
            "needed_by": ""}
    response = leader_client.post("/giving/leader/needs", data=form)
    assert response.status_code == 302
    assert MaterialNeed.get().description == "Groep 3\r\nGroep 4"
    response = leader_client.post("/giving/leader/needs", data=form | {"description": "Groep\x0b3"})
    assert response.status_code == 422 and MaterialNeed.select().count() == 1
    response = leader_client.post("/giving/leader/needs", data=form | {"item": "Lees\nboeken"})
    assert response.status_code == 422 and MaterialNeed.select().count() == 1


def test_the_service_refuses_control_characters_too(app, leader, request_context):
    with pytest.raises(base.GivingError, match="control characters"):
        service.create_donation(service.DonationInput(amount_cents=500, classification="gift", method="bank",
                                                      form_token="token-0123456789abcdef", earmark_purpose="a\x02b"),
                                donor=service.PublicDonor("Naam B.V.", "12345678", "", "a@example.org"))
    with pytest.raises(base.GivingError, match="control characters"):
        materials.publish_need(leader, item="Boeken", description="a\x02b", quantity=1, school_id=None, needed_by=None)


def test_the_leaders_xlsx_export_survives_control_characters_already_stored(app, company_client, leader,
                                                                            sign_in_leader, request_context):
    _company, client = company_client()
    client.post("/giving/donate", data=donate_form(method="bank", earmark_purpose="Leesboeken"))
    donation = Donation.get()
    assert service.mark_paid_by_bank(donation.reference, donation.amount_cents, dt.date(2026, 11, 20), leader,
                                     "line 1").applied
    # Stored before forms refused them (or by an import): the export must still open.
    Donation.update(earmark_purpose="Lees\x01boeken\x1b[31m").where(Donation.id == donation.id).execute()
    response = sign_in_leader().get("/leader/reconcile/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = next(sheet.iter_rows(values_only=True))
    column = header.index("Description")
    descriptions = [row[column] for row in sheet.iter_rows(values_only=True)]
    assert any("Lees\ufffdboeken\ufffd[31m" in (text or "") for text in descriptions), descriptions


def test_quantities_typed_with_other_scripts_digits_are_refused_by_the_service(app, leader, request_context):
    """'١٢' is twelve in Arabic-Indic digits; int() would read it, the portal must not."""
    for typed in ("١٢", "１２", "٣"):
        with pytest.raises(base.GivingError) as refused:
            materials.publish_need(leader, item="Scharen", description="", quantity=typed, school_id=None,
                                 needed_by=None)
        assert refused.value.field == "quantity"
    assert materials.publish_need(leader, item="Scharen", description="", quantity="12", school_id=None,
                                needed_by=None).quantity == 12
