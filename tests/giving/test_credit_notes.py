"""Credit notes (issue 14): money that goes back after a receipt was issued (a Stripe refund, a lost
chargeback, a bank refund) gets a numbered credit note naming the receipt, mailed to the company;
the receipt is shown as corrected everywhere, and a reversed chargeback takes its credit note back."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.core import clock, ledger
from portal.giving import bank, base, contributions, overview, receipts, service
from portal.giving.models import CreditNote, Donation
from tests.pdftext import assert_in_pdf, assert_not_in_pdf, pdf_text

from .conftest import attachments_of, donate_form
from .test_webhooks import dispute

D = dt.date


@pytest.fixture
def paid_online(stripe_env, company_client):
    """A company paid a gift online (Checkout completed); returns (company, client, donation, intent)."""

    def pay(amount: str = "1.250,00", **form):
        company, client = company_client(f"Giver{Donation.select().count()}", **form.pop("company", {}))
        response = client.post("/giving/donate", data=donate_form(amount=amount, **form))
        assert response.status_code == 303, response.data[:400]
        donation = Donation.select().order_by(Donation.id.desc()).get()
        session = stripe_env.transport.session_for(donation.id)
        intent = stripe_env.pay(session)
        assert stripe_env.send("checkout.session.completed", session).status_code == 200
        return company, client, Donation.get_by_id(donation.id), intent

    return pay


def credit_mails(outbox, company) -> list:
    return [m for m in outbox.to(company.admin.email) if m.subject.startswith("Credit note")]


def number_of(year: int, sequence: int) -> str:
    return f"CN-{year}-{sequence:04d}"


def test_a_partial_then_full_refund_credits_the_receipt_twice(stripe_env, paid_online, outbox, make_company, login,
                                                              app):
    company, client, donation, intent = paid_online("1.250,00")
    year = clock.today().year
    receipt = client.get(f"/giving/donations/{donation.id}/receipt.pdf").data
    assert_in_pdf("€1,250.00", receipt)
    assert_not_in_pdf("Corrected", receipt)

    stripe_env.refund(intent, 25_000)
    assert stripe_env.send("charge.refunded", stripe_env.charge_of(intent)).get_json()["outcome"] == "applied"
    first = CreditNote.get()
    assert (first.number, first.kind, first.amount_cents) == (number_of(year, 1), "refund", 25_000)

    # Mailed to the company, as the receipt was, with the credit note attached.
    [mail] = credit_mails(outbox, company)
    assert first.number in mail.subject and donation.number in mail.subject
    assert "€250.00" in mail.text
    pdf = attachments_of(mail)[f"credit-note-{first.number}.pdf"]
    text = pdf_text(pdf)
    for value in ("Credit note", first.number, f"receipt {donation.number} of", donation.paid_on.strftime("%-d %B %Y"),
                  "€250.00", "€1,250.00", company.legal_name, "Amount credited"):
        assert_in_pdf(value, text)

    # The receipt downloaded again: as issued, with a stamp naming the credit note.
    corrected = client.get(f"/giving/donations/{donation.id}/receipt.pdf").data
    assert_in_pdf(f"corrected by credit note {first.number} (€250.00)", corrected)
    assert_in_pdf("Counts as received after correction: €1,000.00", corrected)
    assert_in_pdf("€1,250.00", corrected)                   # the original amount stays as issued
    assert_in_pdf("We received the following contribution with thanks", corrected)

    # The giving page lists the credit note beside the corrected receipt; still paid, partly refunded.
    page = client.get("/giving").get_data(as_text=True)
    assert f"Credit note {first.number}" in page and "(corrected)" in page and "partly refunded" in page
    download = client.get(f"/giving/donations/{donation.id}/credit-notes/{first.id}.pdf")
    assert download.status_code == 200 and download.data == pdf

    # The rest refunded: a second credit note, and the gift no longer shows as received anywhere.
    stripe_env.refund(intent, 100_000)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    second = CreditNote.select().order_by(CreditNote.id.desc()).get()
    assert (second.number, second.amount_cents) == (number_of(year, 2), 100_000)
    assert len(credit_mails(outbox, company)) == 2
    final = client.get(f"/giving/donations/{donation.id}/receipt.pdf").data
    assert_in_pdf(f"corrected by credit note {first.number} (€250.00); corrected by credit note "
                  f"{second.number} (€1,000.00)", final)
    assert_in_pdf("Counts as received after correction: €0.00", final)
    page = client.get("/giving").get_data(as_text=True)
    row = re.search(rf"<tr>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>{donation.number}</td>.*?</tr>", page, re.S).group(0)
    assert ">refunded<" in row and ">paid<" not in row
    assert donation.number not in client.get("/giving?state=completed").get_data(as_text=True)
    assert donation.number in client.get("/giving?state=stopped").get_data(as_text=True)
    status = client.get(f"/give/donations/{donation.id}").get_data(as_text=True)
    assert "refunded in full" in status and "has been received" not in status
    csv = client.get("/giving/export.csv").get_data(as_text=True)
    assert "refunded" in csv.splitlines()[1]

    # The same refunds reported again make no further credit note and no further mail.
    assert stripe_env.send("charge.refunded", stripe_env.charge_of(intent)).get_json()["outcome"] == "no_change"
    assert CreditNote.select().count() == 2 and len(credit_mails(outbox, company)) == 2

    # Another company gets 404 for the credit note, and for it under its own donation.
    other = make_company("Elders")
    other_client = login(app.test_client(), other.admin)
    assert other_client.get(f"/giving/donations/{donation.id}/credit-notes/{first.id}.pdf").status_code == 404
    assert other_client.get(f"/give/donations/{donation.id}/credit-notes/{first.id}.pdf").status_code == 404


def test_a_dutch_credit_note_has_dutch_amounts_and_dates(stripe_env, paid_online, outbox):
    company, client, donation, intent = paid_online("1.250,00", company={"language": "nl"})
    stripe_env.refund(intent, 25_000)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    note = CreditNote.get()
    assert note.language == "nl"
    text = pdf_text(client.get(f"/giving/donations/{donation.id}/credit-notes/{note.id}.pdf").data)
    months = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
              "november", "december")
    assert_in_pdf("€ 250,00", text)
    assert_in_pdf("€ 1.250,00", text)
    assert_in_pdf(f"{donation.paid_on.day} {months[donation.paid_on.month - 1]} {donation.paid_on.year}", text)
    assert_not_in_pdf("€250.00", text)


def test_a_lost_chargeback_is_credited_and_its_reversal_takes_the_credit_note_back(stripe_env, paid_online, outbox,
                                                                                  client, leader_client):
    company, company_client_, donation, intent = paid_online("1.250,00")
    charge = stripe_env.charge_of(intent)["id"]
    disputes = stripe_env.transport.disputes
    # Opened, money withdrawn: no credit note while the bank still decides.
    disputes["dp_test_1"] = dispute(intent, charge, "needs_response", [(-125_000, 1_500)])
    stripe_env.send("charge.dispute.created", disputes["dp_test_1"])
    assert not CreditNote.select().exists()
    # Lost: the receipt is credited for what was withdrawn.
    disputes["dp_test_1"] = dispute(intent, charge, "lost", [(-125_000, 1_500)])
    stripe_env.send("charge.dispute.closed", disputes["dp_test_1"])
    note = CreditNote.get()
    assert (note.kind, note.amount_cents) == ("chargeback", 125_000)
    assert_in_pdf("chargeback", bytes(receipts.credit_note(donation, note.id).pdf))
    page = company_client_.get("/giving").get_data(as_text=True)
    assert ">refunded<" in page
    # The funds come back after all: a reversal names the credit note it takes back.
    disputes["dp_test_1"] = dispute(intent, charge, "lost", [(-125_000, 1_500), (125_000, -1_500)])
    stripe_env.send("charge.dispute.funds_reinstated", disputes["dp_test_1"])
    reversal = CreditNote.select().order_by(CreditNote.id.desc()).get()
    assert (reversal.kind, reversal.reverses_id, reversal.amount_cents) == ("reversal", note.id, 125_000)
    text = pdf_text(bytes(receipts.credit_note(donation, reversal.id).pdf))
    for value in ("Reversal of a credit note", reversal.number, f"credit note {note.number} of", "€1,250.00",
                  "Counts as received again"):
        assert_in_pdf(value, text)
    mails = credit_mails(outbox, company)
    assert len(mails) == 2 and "counts again" in mails[-1].subject
    receipt = company_client_.get(f"/giving/donations/{donation.id}/receipt.pdf").data
    assert_in_pdf(f"restored by credit note reversal {reversal.number}", receipt)
    assert_in_pdf("Counts as received after correction: €1,250.00", receipt)
    # The project leader sees both on the donation's page.
    leader_page = leader_client.get(f"/giving/leader/donations/{donation.id}").get_data(as_text=True)
    assert note.number in leader_page and reversal.number in leader_page
    assert leader_client.get(f"/giving/leader/donations/{donation.id}/credit-notes/{note.id}.pdf").status_code == 200


def test_a_chargeback_won_leaves_no_credit_note(stripe_env, paid_online, outbox):
    company, client, donation, intent = paid_online("1.250,00")
    charge = stripe_env.charge_of(intent)["id"]
    disputes = stripe_env.transport.disputes
    disputes["dp_test_1"] = dispute(intent, charge, "needs_response", [(-125_000, 1_500)])
    stripe_env.send("charge.dispute.created", disputes["dp_test_1"])
    disputes["dp_test_1"] = dispute(intent, charge, "won", [(-125_000, 1_500), (125_000, -1_500)])
    stripe_env.send("charge.dispute.closed", disputes["dp_test_1"])
    assert not CreditNote.select().exists() and not credit_mails(outbox, company)
    assert_not_in_pdf("Corrected", client.get(f"/giving/donations/{donation.id}/receipt.pdf").data)
    assert ">paid<" in client.get("/giving").get_data(as_text=True)


# --- bank ---------------------------------------------------------------------------------------------

@pytest.fixture
def paid_by_bank(stripe_env, company_client, leader, request_context):
    def pay(amount: str = "1.250,00", cents: int = 125_000, line: str = "CAMT 2026-11-20 line 7"):
        company, client = company_client(f"Bank{Donation.select().count()}")
        assert client.post("/giving/donate", data=donate_form(amount=amount, method="bank")).status_code == 302
        donation = Donation.select().order_by(Donation.id.desc()).get()
        assert service.record_bank_payment(donation.reference, cents, D(2026, 11, 20), leader, line).status in (
            "paid", "paid_with_surplus")
        return company, client, Donation.get_by_id(donation.id)

    return pay


def test_a_bank_refund_of_a_paid_gift_is_credited(paid_by_bank, leader, outbox, leader_client):
    company, client, donation = paid_by_bank()
    result = bank.record_bank_refund(donation.reference, 25_000, D(2026, 11, 25), leader, "CAMT 2026-11-25 line 2")
    assert result.status == "refund_recorded"
    note = CreditNote.get()
    assert (note.kind, note.amount_cents, note.happened_on) == ("refund", 25_000, D(2026, 11, 25))
    text = pdf_text(attachments_of(credit_mails(outbox, company)[0])[f"credit-note-{note.number}.pdf"])
    assert_in_pdf(f"receipt {donation.number} of 20 November 2026", text)
    assert_in_pdf("refunded to you on 25 November 2026", text)
    # The refund counts everywhere a refund counts: the company's money after refunds.
    assert sum(c.gross_cents for c in contributions.contributions(company.id, None, None)) == 100_000
    assert overview.company_totals(company.id, 2026).money_cents == 100_000
    # The same bank line again: nothing new.
    again = bank.record_bank_refund(donation.reference, 25_000, D(2026, 11, 25), leader, "CAMT 2026-11-25 line 2")
    assert again.status == "already_recorded" and CreditNote.select().count() == 1
    # More than is left of the gift: an issue for the leader, no credit note.
    too_much = bank.record_bank_refund(donation.reference, 100_001, D(2026, 11, 26), leader, "CAMT line 9")
    assert too_much.status == "refund_exceeds_surplus" and CreditNote.select().count() == 1
    # The rest: the gift is refunded in full.
    bank.record_bank_refund(donation.reference, 100_000, D(2026, 11, 27), leader, "CAMT 2026-11-27 line 1")
    assert [n.amount_cents for n in CreditNote.select().order_by(CreditNote.id)] == [25_000, 100_000]
    assert receipts.shown_status(donation) == "refunded"
    assert ledger.check() == []          # the books hold exactly what the refunds say
    assert ">refunded<" in client.get("/giving?year=2026").get_data(as_text=True)
    desk = leader_client.get("/giving/leader").get_data(as_text=True)
    assert re.search(rf"{donation.number}</a><br><span class=\"badge badge-danger\">refunded</span>", desk)


def test_refunding_a_surplus_makes_no_credit_note(paid_by_bank, leader, outbox):
    """A surplus was never on the receipt: sending it back corrects nothing."""
    company, _client, donation = paid_by_bank("1.250,00", 130_000, "CAMT over")
    assert bank.bank_balance(donation).surplus_cents == 5_000
    assert bank.record_bank_refund(donation.reference, 5_000, D(2026, 11, 25), leader,
                                      "CAMT back").status == "refund_recorded"
    assert not CreditNote.select().exists() and not credit_mails(outbox, company)


def test_credit_note_numbers_are_gapless_per_year_across_donations(paid_by_bank, leader):
    numbers = []
    for n in range(3):
        _company, _client, donation = paid_by_bank(line=f"CAMT pay {n}")
        bank.record_bank_refund(donation.reference, 10_000, D(2026, 11, 25), leader, f"CAMT back {n}")
        numbers.append(CreditNote.select().order_by(CreditNote.id.desc()).get().sequence)
    assert numbers == [1, 2, 3]
    assert {n.year for n in CreditNote.select()} == {clock.today().year}


def test_a_bank_refund_matched_by_mistake_is_undone_with_a_reversal(paid_by_bank, leader, outbox):
    company, client, donation = paid_by_bank()
    bank.record_bank_refund(donation.reference, 25_000, D(2026, 11, 25), leader, "CAMT 2026-11-25 line 2")
    # The payment cannot be taken back while a refund of it stands.
    with pytest.raises(base.GivingError):
        bank.undo_bank_line("CAMT 2026-11-20 line 7", leader, "wrong request")
    assert bank.undo_bank_line("CAMT 2026-11-25 line 2", leader, "not our refund").status == "undone"
    note, reversal = CreditNote.select().order_by(CreditNote.id)
    assert (reversal.kind, reversal.reverses_id, reversal.amount_cents) == ("reversal", note.id, 25_000)
    assert sum(c.gross_cents for c in contributions.contributions(company.id, None, None)) == 125_000
    assert overview.company_totals(company.id, 2026).money_cents == 125_000
    assert_in_pdf(f"restored by credit note reversal {reversal.number}",
                  client.get(f"/giving/donations/{donation.id}/receipt.pdf").data)
    assert len(credit_mails(outbox, company)) == 2
    assert ledger.check() == []
    # Now the payment itself can be taken back.
    assert bank.undo_bank_line("CAMT 2026-11-20 line 7", leader, "wrong request").status == "undone"
    assert ledger.check() == []


def test_a_credit_note_is_mailed_once_even_when_a_worker_died_after_mailing(paid_by_bank, leader, outbox):
    company, _client, donation = paid_by_bank()
    bank.record_bank_refund(donation.reference, 25_000, D(2026, 11, 25), leader, "CAMT back")
    note = CreditNote.get()
    assert note.sent_at is not None and len(credit_mails(outbox, company)) == 1
    assert receipts.send_credit_note(note.id) is False                  # already sent: nothing happens
    # A worker killed between the mail and marking it sent: the sweep sends it again under the same key.
    CreditNote.update(sent_at=None, claimed_at=None).where(CreditNote.id == note.id).execute()
    assert receipts.send_due_credit_notes() == 1
    assert len(credit_mails(outbox, company)) == 1
    assert CreditNote.get_by_id(note.id).pdf == note.pdf                # stored once, never rendered again


def test_a_gift_taken_back_by_a_refund_and_a_lost_chargeback_together_shows_as_refunded(stripe_env, paid_online,
                                                                                         outbox):
    """EUR 600 refunded and the other EUR 400 lost to a chargeback: the whole gift went back, so it is
    no longer "received" (the two sums are added in SQL, on either database)."""
    company, client, donation, intent = paid_online("1.000,00")
    stripe_env.refund(intent, 60_000)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    charge = stripe_env.charge_of(intent)["id"]
    disputes = stripe_env.transport.disputes
    disputes["dp_test_1"] = dispute(intent, charge, "needs_response", [(-40_000, 1_500)])
    stripe_env.send("charge.dispute.created", disputes["dp_test_1"])
    disputes["dp_test_1"] = dispute(intent, charge, "lost", [(-40_000, 1_500)])
    stripe_env.send("charge.dispute.closed", disputes["dp_test_1"])
    assert sum(n.amount_cents for n in CreditNote.select()) == 100_000
    stopped = client.get("/giving?state=stopped").get_data(as_text=True)
    completed = client.get("/giving?state=completed").get_data(as_text=True)
    assert donation.number in stopped and donation.number not in completed
