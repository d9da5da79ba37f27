"""The SROI pages over HTTP: recording, refusing bad input with the form filled in, allocating, approving."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re

import pytest
import time_machine

from portal.core import audit, clock
from portal.sroi import service
from portal.sroi.models import Allocation, Approval, Commitment
from tests.sroi.conftest import pdf_bytes

GOOD = {
    "template": "utrecht-bouwblokken",
    "authority": "Gemeente Utrecht",
    "contract_reference": "UTR-2026-17",
    "description": "Maintenance of school buildings",
    "base_type": "contract_value_excl_vat",
    "base_amount": "1.250.000,00",
    "percentage": "5",
    "cap_amount": "",
    "period_start_on": "2026-08-01",
    "period_end_on": "2027-07-31",
    "deadline_on": "2027-09-30",
    "buyer_contact_name": "Sanne Adviseur",
    "buyer_contact_email": "sroi@utrecht.nl",
    "buyer_contact_phone": "030 286 00 00",
}


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def test_record_a_commitment_and_see_its_obligation(company_client):
    company, client = company_client()
    response = client.post("/sroi/new", data=GOOD)
    assert response.status_code == 302
    commitment = Commitment.get()
    assert commitment.company_id == company.id
    assert (commitment.base_cents, commitment.percentage_bp, commitment.cap_cents) == (125_000_000, 500, None)
    assert (commitment.hours_basis, commitment.hourly_rate_cents) == ("rate", 10_000)
    page = text_of(client.get(response.headers["Location"]))
    assert "€62,500.00" in page                        # 5 % of EUR 1,250,000
    assert "5% of €1,250,000.00 (Contract value excluding VAT)" in page
    assert "€100.00 per hour" in page
    assert "decided by Gemeente Utrecht" in page
    assert audit.AuditLog.get(audit.AuditLog.action == "sroi.commitment.created").company_id == company.id


@pytest.mark.parametrize(("field", "value", "message"), [
    ("percentage", "150", "more than 0 and at most 100"),
    ("percentage", "-5", "more than 0 and at most 100"),
    ("percentage", "0", "more than 0 and at most 100"),
    ("base_amount", "-1000", "cannot be negative"),
    ("base_amount", "0", "must be more than zero"),
    ("base_amount", "99.999.999.999,00", "cannot be more than"),
    ("base_amount", "lots", "such as 250"),
    ("cap_amount", "-1", "cannot be negative"),
    ("period_end_on", "2026-07-31", "cannot end before it starts"),
    ("deadline_on", "2026-01-01", "deadline cannot be before the period starts"),
    ("period_start_on", "31-31-2026", "valid date"),
    ("authority", "", "required"),
    ("buyer_contact_email", "not-an-address", "valid e-mail address"),
])
def test_bad_input_is_refused_with_the_form_filled_in(company_client, field, value, message):
    _company, client = company_client()
    data = dict(GOOD, **{field: value})
    data["contract_reference"] = "KEEP-THIS-REF"
    response = client.post("/sroi/new", data=data)
    assert response.status_code == 422
    page = text_of(response)
    assert message in page
    assert 'value="KEEP-THIS-REF"' in page              # nothing typed is lost
    if value:
        assert f'value="{value}"' in page
    assert Commitment.select().count() == 0
    assert not audit.AuditLog.select().where(audit.AuditLog.action.startswith("sroi.")).exists()


def test_list_and_detail_show_three_amounts_with_their_basis(company_client, ledger, make_commitment):
    company, client = company_client()
    commitment = make_commitment(company.admin, base_cents=10_000_000)           # obligation 5,000.00
    hours = ledger.hours(company, 600, person="Anna de Vries")
    service.set_allocation(company.admin, commitment.id, hours.key, 600)         # 10 h x 100 = 1,000.00
    page = text_of(client.get("/sroi/"))
    assert "€5,000.00" in page and "€1,000.00" in page and "€0.00" in page
    detail = text_of(client.get(f"/sroi/{commitment.id}"))
    assert "Claimed (by this commitment's rules, subject to the buyer's approval)" in detail
    assert "10:00 h" in detail and "Anna de Vries" in detail
    assert "Claimed: 20% of the obligation" in detail and 'width="20%"' in detail   # the claimed progress bar
    assert "Remaining gap" in detail


def test_allocate_over_http_and_refuse_too_much_with_the_value_kept(company_client, ledger, make_commitment):
    company, client = company_client()
    commitment = make_commitment(company.admin)
    donation = ledger.money(company, 100_000)
    response = client.post(f"/sroi/{commitment.id}/allocate", data={"key": donation.key, "kind": "money", "amount": "1.000,01"})
    assert response.status_code == 422
    page = text_of(response)
    assert "Only €1,000.00 of this contribution is still free" in page
    assert 'value="1.000,01"' in page
    assert Allocation.select().count() == 0
    response = client.post(f"/sroi/{commitment.id}/allocate", data={"key": donation.key, "kind": "money", "amount": "600"})
    assert response.status_code == 302
    assert Allocation.get().cents == 60_000
    allocation = Allocation.get()
    response = client.post(f"/sroi/{commitment.id}/allocations/{allocation.id}/remove", data={"fingerprint": "remove"})
    assert response.status_code == 302
    assert Allocation.select().count() == 0


def test_allocating_hours_over_http(company_client, ledger, make_commitment):
    company, client = company_client()
    commitment = make_commitment(company.admin)
    hours = ledger.hours(company, 450)
    assert client.post(f"/sroi/{commitment.id}/allocate", data={"key": hours.key, "kind": "hours_sponsored", "amount": "7,33"}).status_code == 422
    assert client.post(f"/sroi/{commitment.id}/allocate", data={"key": hours.key, "kind": "hours_sponsored", "amount": "7:31"}).status_code == 422
    assert client.post(f"/sroi/{commitment.id}/allocate", data={"key": hours.key, "kind": "hours_sponsored", "amount": "7:30"}).status_code == 302
    assert Allocation.get().minutes == 450


def test_another_companys_contribution_cannot_be_allocated_over_http(company_client, make_company, ledger,
                                                                    make_commitment):
    company, client = company_client()
    other = make_company("Other")
    theirs = ledger.money(other, 100_000)
    commitment = make_commitment(company.admin)
    response = client.post(f"/sroi/{commitment.id}/allocate", data={"key": theirs.key, "kind": "money", "amount": "10"})
    assert response.status_code == 422
    assert "not among your company's confirmed contributions" in text_of(response)
    assert Allocation.select().count() == 0


def letter_file(name: str = "akkoord.pdf"):
    return (io.BytesIO(pdf_bytes()), name)


def test_approval_and_correction(company_client, make_commitment, leader):
    company, client = company_client()
    commitment = make_commitment(company.admin, base_cents=10_000_000)
    response = client.post(f"/sroi/{commitment.id}/approvals/new",
                           data={"amount": "1.500,00", "approved_on": "2026-10-15", "reference": "SR-2026-88",
                                 "evidence": letter_file(), "exceeds_reason": "Adviser counts the pilot project too"})
    assert response.status_code == 302
    approval = Approval.get()
    # A correction without a reason is refused and keeps what was typed.
    response = client.post(f"/sroi/{commitment.id}/approvals/{approval.id}/correct",
                           data={"amount": "1.400,00", "approved_on": "2026-10-15", "reference": "SR-2026-88b"})
    assert response.status_code == 422
    assert 'value="SR-2026-88b"' in text_of(response)
    assert Approval.select().count() == 1
    response = client.post(f"/sroi/{commitment.id}/approvals/{approval.id}/correct",
                           data={"amount": "1.400,00", "approved_on": "2026-10-15", "reference": "SR-2026-88b",
                                 "reason": "Adviser's letter of 20 October lowered the amount",
                                 "exceeds_reason": "Adviser counts the pilot project too"})
    assert response.status_code == 302
    assert service.summary(commitment).approved_cents == 0        # not until the project leader confirms it
    with client.application.test_request_context():
        service.confirm_approval(leader, Approval.get(Approval.corrects == approval.id).id)
    summary = service.summary(commitment)
    assert summary.approved_cents == 140_000
    assert summary.gap_cents == 500_000 - 140_000
    page = text_of(client.get(f"/sroi/{commitment.id}"))
    assert "corrected" in page and "Adviser's letter of 20 October" in page
    # The original stays, and cannot be corrected twice.
    assert Approval.select().count() == 2
    response = client.post(f"/sroi/{commitment.id}/approvals/{approval.id}/correct",
                           data={"amount": "1", "approved_on": "2026-10-15", "reference": "x", "reason": "again",
                                 "exceeds_reason": "x"},
                           follow_redirects=True)
    assert "corrected already" in text_of(response)
    assert Approval.select().count() == 2
    with pytest.raises(service.SroiError):
        with client.application.test_request_context():
            service.correct_approval(company.admin, commitment.id, approval.id, 1, dt.date(2026, 10, 15), "x", "",
                                     "again", exceeds_reason="x")
    assert Approval.select().count() == 2
    corrected = audit.AuditLog.get(audit.AuditLog.action == "sroi.approval.corrected")
    details = json.loads(corrected.details)
    assert details["before"]["amount_cents"] == 150_000 and details["after"]["amount_cents"] == 140_000
    assert audit.verify().ok


def test_approval_in_the_future_or_negative_is_refused(company_client, make_commitment):
    company, client = company_client()
    commitment = make_commitment(company.admin)
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    for data, message in (
        ({"amount": "100", "approved_on": tomorrow, "reference": "R"}, "cannot be in the future"),
        ({"amount": "-100", "approved_on": "2026-10-01", "reference": "R"}, "cannot be negative"),
        ({"amount": "100", "approved_on": "2026-10-01", "reference": ""}, "required"),
    ):
        response = client.post(f"/sroi/{commitment.id}/approvals/new",
                               data={**data, "evidence": letter_file(), "exceeds_reason": "Pilot"})
        assert response.status_code == 422
        assert message in text_of(response)
    assert Approval.select().count() == 0


def test_edits_after_approval_are_corrections_with_a_reason(company_client, make_commitment, letter):
    company, client = company_client()
    commitment = make_commitment(company.admin, base_cents=10_000_000)
    edit = {**GOOD, "base_amount": "100.000,00", "percentage": "5"}
    edit.pop("template")
    # Before any approval a change is a plain update.
    assert client.post(f"/sroi/{commitment.id}/edit", data=edit).status_code == 302
    assert audit.AuditLog.select().where(audit.AuditLog.action == "sroi.commitment.updated").count() == 1
    service.record_approval(company.admin, commitment.id, 100_000, dt.date(2026, 10, 1), "SR-1", evidence=letter,
                            exceeds_reason="The adviser approved the plan in advance")
    edit["percentage"] = "7"
    response = client.post(f"/sroi/{commitment.id}/edit", data=edit)
    assert response.status_code == 422
    assert "recorded as a correction" in text_of(response)
    assert 'value="7"' in text_of(response)
    assert Commitment.get_by_id(commitment.id).percentage_bp == 500
    edit["reason"] = "Contract amended on 1 November"
    assert client.post(f"/sroi/{commitment.id}/edit", data=edit).status_code == 302
    assert Commitment.get_by_id(commitment.id).percentage_bp == 700
    row = audit.AuditLog.get(audit.AuditLog.action == "sroi.commitment.corrected")
    details = json.loads(row.details)
    assert details["changes"] == {"percentage_bp": [500, 700]}
    assert details["reason"] == "Contract amended on 1 November"
    # Valuation rules too.
    rules = {"counts_hours_sponsored": "y", "counts_money": "y", "counts_materials": "y", "hours_basis": "rate",
             "hourly_rate": "50", "max_hours_per_person": ""}
    assert client.post(f"/sroi/{commitment.id}/rules", data=rules).status_code == 422
    rules["reason"] = "Adviser accepts EUR 50 per hour only"
    assert client.post(f"/sroi/{commitment.id}/rules", data=rules).status_code == 302
    assert Commitment.get_by_id(commitment.id).hourly_rate_cents == 5_000
    assert audit.AuditLog.select().where(audit.AuditLog.action == "sroi.rules.corrected").count() == 1
    page = text_of(client.get(f"/sroi/{commitment.id}"))
    assert "Obligation corrected after approval" in page and "Contract amended on 1 November" in page


def test_rules_refusals(company_client, make_commitment):
    company, client = company_client()
    commitment = make_commitment(company.admin)
    base = {"counts_hours_sponsored": "y", "hours_basis": "rate", "hourly_rate": "100", "max_hours_per_person": ""}
    for data, message in (
        ({**base, "hourly_rate": ""}, "Please enter an amount"),
        ({**base, "hourly_rate": "-5"}, "cannot be negative"),
        ({**base, "max_hours_per_person": "0"}, "more than zero"),
        ({"hours_basis": "rate", "hourly_rate": "100"}, "at least one kind"),
        ({**base, "hours_basis": "employer_cost", "counts_hours_volunteered": "y"}, "only at a rate per hour"),
    ):
        response = client.post(f"/sroi/{commitment.id}/rules", data=data)
        assert response.status_code == 422, data
        assert message in text_of(response), data
    assert service.rules_of(Commitment.get_by_id(commitment.id)) == service.rules_of(commitment)


def test_delete_a_commitment_recorded_by_mistake(company_client, ledger, make_commitment, letter):
    company, client = company_client()
    commitment = make_commitment(company.admin)
    donation = ledger.money(company, 1_000)
    service.set_allocation(company.admin, commitment.id, donation.key, 1_000)
    assert client.post(f"/sroi/{commitment.id}/delete", data={"fingerprint": "delete"}).status_code == 302
    assert Commitment.select().count() == 0 and Allocation.select().count() == 0
    kept = make_commitment(company.admin)
    service.record_approval(company.admin, kept.id, 1_000, dt.date(2026, 10, 1), "SR-1", evidence=letter,
                            exceeds_reason="Approved in advance")
    response = client.post(f"/sroi/{kept.id}/delete", data={"fingerprint": "delete"}, follow_redirects=True)
    assert "stays on record" in text_of(response)
    assert Commitment.select().count() == 1


def test_suggestion_over_http(company_client, ledger, make_commitment):
    company, client = company_client()
    make_commitment(company.admin, base_cents=1_000_000, deadline_on=clock.today() + dt.timedelta(days=30),
                    period_start_on=clock.today() - dt.timedelta(days=300),
                    period_end_on=clock.today() + dt.timedelta(days=10))
    ledger.money(company, 80_000, on=clock.today() - dt.timedelta(days=10))
    page = client.get("/sroi/suggest")
    text = text_of(page)
    assert "€500.00" in text                                # what the obligation needs, not the whole donation
    fingerprint = re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', text).group(1)
    assert client.post("/sroi/suggest", data={"fingerprint": fingerprint}).status_code == 302
    assert Allocation.get().cents == 50_000
    response = client.post("/sroi/suggest", data={"fingerprint": fingerprint}, follow_redirects=True)
    assert "changed since the suggestion" in text_of(response)
    assert Allocation.select().count() == 1


def test_dashboard_warns_when_a_deadline_is_near_and_a_gap_remains(company_client, make_commitment, letter, leader):
    company, client = company_client()
    today = clock.today()
    near = make_commitment(company.admin, contract_reference="NEAR", period_start_on=today - dt.timedelta(days=300),
                           period_end_on=today, deadline_on=today + dt.timedelta(days=20))
    make_commitment(company.admin, contract_reference="FAR", period_start_on=today - dt.timedelta(days=10),
                    period_end_on=today + dt.timedelta(days=300), deadline_on=today + dt.timedelta(days=400))
    page = text_of(client.get("/dashboard"))
    assert "SROI deadlines" in page
    assert "NEAR" in page and "in 20 days" in page and "FAR" not in page
    approval = service.record_approval(company.admin, near.id, service.summary(near).obligation_cents, today, "SR-OK",
                                       evidence=letter, exceeds_reason="Approved on the plan")
    assert "SROI deadlines" in text_of(client.get("/dashboard"))       # recorded, not yet confirmed
    service.confirm_approval(leader, approval.id)
    assert "SROI deadlines" not in text_of(client.get("/dashboard"))


def test_leader_panel_counts_warnings_and_approvals_waiting_for_her(company_client, make_commitment, letter,
                                                                    leader, leader_client):
    """Counted from the sums of the current approvals: a confirmed one ends a warning, a pending
    one waits for her, a rejected one and one replaced by its correction do neither."""
    company, _client = company_client()
    today = clock.today()
    near = dict(period_start_on=today - dt.timedelta(days=300), period_end_on=today,
                deadline_on=today + dt.timedelta(days=20))
    first = make_commitment(company.admin, contract_reference="FIRST", **near)
    second = make_commitment(company.admin, contract_reference="SECOND", **near)
    obligation = service.summary(first).obligation_cents

    def panel() -> str:
        return re.search(r'<section class="card sroi-panel".*?</section>', text_of(leader_client.get("/leader"))).group(0)

    assert "2 commitments of 1 company; 2 with a deadline near or past" in panel()
    assert "wait for your confirmation" not in panel() and "waits for your confirmation" not in panel()
    approve = dict(evidence=letter, exceeds_reason="Approved on the plan")
    confirmed = service.record_approval(company.admin, first.id, obligation, today, "SR-1", **approve)
    service.confirm_approval(leader, confirmed.id)
    rejected = service.record_approval(company.admin, second.id, obligation, today, "SR-2", **approve)
    service.reject_approval(leader, rejected.id, "Not the buyer's letter")
    replaced = service.record_approval(company.admin, second.id, obligation // 2, today, "SR-3", **approve)
    service.correct_approval(company.admin, second.id, replaced.id, obligation // 4, today, "SR-3", "",
                             "The letter says a quarter", **approve)
    text = panel()
    assert "1 with a deadline near or past" in text          # the confirmed approval covers FIRST
    assert "1 approval by a buyer waits for your confirmation." in text   # the correction, not what it replaced


def test_leader_sees_every_commitment(leader_client, make_company, ledger, make_commitment):
    first, second = make_company("Alpha"), make_company("Beta")
    a = make_commitment(first.admin, contract_reference="ALPHA-1")
    make_commitment(second.admin, contract_reference="BETA-1", template="at-cost")
    hours = ledger.hours(first, 120)
    service.set_allocation(first.admin, a.id, hours.key, 120)
    page = text_of(leader_client.get("/sroi/leader"))
    assert "ALPHA-1" in page and "BETA-1" in page and "Alpha B.V." in page
    assert "2:00 h" in page and "€200.00" in page                # in the leader's language
    assert "are not added up" in page
    detail = text_of(leader_client.get(f"/sroi/leader/{a.id}"))
    assert "ALPHA-1" in detail and "Allocate contributions" not in detail
    desk = text_of(leader_client.get("/leader"))
    assert "2 commitments of 2 companies" in desk


def test_company_users_cannot_open_the_leader_view(company_client, make_commitment):
    company, client = company_client()
    commitment = make_commitment(company.admin)
    assert client.get("/sroi/leader").status_code == 404
    assert client.get(f"/sroi/leader/{commitment.id}").status_code == 404


def test_members_may_work_on_commitments_too(app, make_company, login, make_commitment):
    company = make_company("Bouw", member=True)
    client = login(app.test_client(), company.member)
    assert client.post("/sroi/new", data=GOOD).status_code == 302
    assert Commitment.get().created_by_id == company.member.id


def test_every_page_renders_for_its_owner(app, company_client, ledger, make_commitment, letter):
    company, client = company_client()
    commitment = make_commitment(company.admin)
    hours = ledger.hours(company, 120)
    allocation = service.set_allocation(company.admin, commitment.id, hours.key, 60)
    approval = service.record_approval(company.admin, commitment.id, 1_000, dt.date(2026, 10, 1), "SR-1",
                                       evidence=letter)
    ids = {"commitment_id": commitment.id, "allocation_id": allocation.id, "approval_id": approval.id}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("sroi.") or rule.endpoint.startswith("sroi.leader") or "GET" not in rule.methods:
            continue
        if rule.endpoint in ("sroi.report_pdf", "sroi.download_letter"):
            continue                                   # downloads: covered by the report and evidence tests
        url = rule.build({name: ids[name] for name in rule.arguments})[1]
        response = client.get(url)
        assert response.status_code == 200, url
        page = text_of(response)
        assert "<h1>" in page, url
    rules_page = text_of(client.get(f"/sroi/{commitment.id}/rules"))
    assert 'value="100"' in rules_page and 'checked' in rules_page
    edit_page = text_of(client.get(f"/sroi/{commitment.id}/edit"))
    assert 'value="1000000"' in edit_page and 'value="5"' in edit_page
    assert "Reason for the correction" in edit_page               # approved: changes become corrections


def test_an_approval_dated_today_in_utrecht_is_accepted_after_midnight_utrecht_time(company_client, make_commitment):
    # 23:57 UTC on 28 November is 00:57 on the 29th in Utrecht. The approval check once used the
    # server's date (the 28th on a UTC server) and refused Utrecht's today as "in the future".
    with time_machine.travel(dt.datetime(2026, 11, 28, 23, 57, tzinfo=dt.UTC), tick=True):
        company, client = company_client()
        commitment = make_commitment(company.admin)
        form = client.get(f"/sroi/{commitment.id}/approvals/new")
        assert 'value="2026-11-29"' in form.get_data(as_text=True)   # the form proposes Utrecht's today
        response = client.post(f"/sroi/{commitment.id}/approvals/new",
                               data={"amount": "100", "approved_on": "2026-11-29", "reference": "UTR-1",
                                     "evidence": letter_file(), "exceeds_reason": "Approved on the plan"})
        assert response.status_code == 302, text_of(response)
    assert Approval.get().approved_on == dt.date(2026, 11, 29)
