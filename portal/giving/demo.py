"""Demo money and materials: paid online and bank donations (one partly refunded), an open payment
request, needs of schools and offers of materials in every state.

The demo never talks to Stripe and sends no mail: online payments are written as settled with
plausible Stripe ids and fees, and receipts count as sent (their PDFs render on first download).
Runs before the SROI step, which allocates these contributions.
"""

from __future__ import annotations

import datetime as dt

from portal.core import audit, clock
from portal.core.db import atomic_write, utcnow
from portal.giving.checks import rf_reference
from portal.giving.models import Donation, MaterialNeed, MaterialPledge, Refund

PURPOSES = ("Leesboeken groep 3", "Schoolreis groep 8", "Muziekinstrumenten", "Techniekkist", "")


def _stripe_fee(cents: int, method: str) -> int:
    """What Stripe typically charges in the Netherlands: iDEAL a fixed EUR 0.29, cards 1.5% + EUR 0.25."""
    return 29 if method == "ideal" else (cents * 15 + 500) // 1000 + 25


def _donation(company, admin, *, method: str, cents: int, classification: str, paid_on: dt.date | None,
              purpose: str, token: str) -> Donation:
    values = dict(company=company.id, created_by=admin.id, via="portal", donor_name=company.legal_name,
                  donor_kvk=company.kvk, donor_contact_name=admin.name, donor_email=admin.email,
                  donor_language=admin.language, method=method, amount_cents=cents, classification=classification,
                  earmark_purpose=purpose, form_token=token, status="pending")
    donation = Donation.create(**values)
    if method == "bank":
        created = paid_on or clock.today()
        donation.reference = rf_reference(donation.id, created.year)
        Donation.update(reference=donation.reference, due_on=created + dt.timedelta(days=30)).where(
            Donation.id == donation.id).execute()
    if paid_on is not None:
        settled = dt.datetime.combine(paid_on, dt.time(11, 0))
        if method == "bank":
            extra = dict(bank_line_ref=f"DEMO-CAMT-{donation.id:06d}", fee_cents=0, net_cents=cents)
        else:
            kind = "ideal" if donation.id % 3 else "card"
            fee = _stripe_fee(cents, kind)
            extra = dict(stripe_payment_intent_id=f"pi_demo_{donation.id:06d}", stripe_charge_id=f"ch_demo_{donation.id:06d}",
                         stripe_checkout_session_id=f"cs_demo_{donation.id:06d}", payment_method_type=kind,
                         fee_cents=fee, net_cents=cents - fee)
        Donation.update(status="paid", paid_on=paid_on, paid_at=settled, receipt_sent_at=utcnow(), **extra).where(
            Donation.id == donation.id).execute()
        audit.record("donation.paid", company=company, obj=donation, via=method, amount_cents=cents, demo=True)
    return donation


def fill(context) -> None:
    today = clock.today()
    rng = context.rng
    with atomic_write():
        needs = [
            MaterialNeed.create(item="Leesboeken groep 3", description="AVI-start tot E3, graag nieuw",
                                quantity=40, needed_by=today + dt.timedelta(days=45), created_by=context.leader.id),
            MaterialNeed.create(item="Laptops voor groep 7-8", description="Refurbished is prima, met lader",
                                quantity=12, needed_by=today + dt.timedelta(days=90), created_by=context.leader.id),
            MaterialNeed.create(item="Techniekkist", description="Voor wetenschap en techniek in de bovenbouw",
                                quantity=3, created_by=context.leader.id),
        ]
        audit.record("material.need_published", actor=context.leader, demo=True, count=len(needs))
        for index, company in enumerate(context.companies):
            admin = context.admins[company.id]
            count = 3 if index < 3 else rng.randrange(0, 3)
            for n in range(count):
                method = "bank" if (index + n) % 3 == 0 else "stripe"
                cents = rng.choice((2_500, 10_000, 25_000, 50_000, 125_000, 250_000))
                paid_on = today - dt.timedelta(days=rng.randrange(5, 300))
                donation = _donation(company, admin, method=method, cents=cents,
                                     classification="sponsoring" if (index + n) % 4 == 3 else "gift",
                                     paid_on=paid_on, purpose=rng.choice(PURPOSES),
                                     token=f"demo-donation-{index:04d}-{n}")
                if index == 1 and n == 0 and method == "stripe":
                    Refund.create(donation=donation.id, stripe_refund_id=f"re_demo_{donation.id:06d}",
                                  amount_cents=cents // 5, status="succeeded", fee_cents=0, net_cents=-(cents // 5),
                                  succeeded_on=min(today, paid_on + dt.timedelta(days=12)))
            if index == 0:
                _donation(company, admin, method="bank", cents=500_000, classification="gift", paid_on=None,
                          purpose="Schoolreis groep 8", token=f"demo-request-{index:04d}")
            if index < 3 or index % 4 == 0:
                _pledges(context, company, admin, needs, index, today)
        if context.scale > 1:
            _history(context, today)


def _pledges(context, company, admin, needs, index: int, today: dt.date) -> None:
    plans = (
        (needs[1], "Laptops, refurbished, met lader", 6, 180_000, "confirmed"),
        (None, "Beamer en projectiescherm", 1, 85_000, "accepted"),
        (needs[0], "Leesboeken groep 3", 20, 24_000, "pledged"),
        (None, "Kantoorstoelen", 30, 60_000, "declined"),
    )
    for n, (need, description, quantity, value, state) in enumerate(plans[index % 2::2] if index > 2 else plans):
        pledge = MaterialPledge.create(company=company.id, need=need.id if need else None, created_by=admin.id,
                                       description=description, quantity=quantity, declared_value_cents=value,
                                       classification="gift", form_token=f"demo-pledge-{index:04d}-{n}")
        changes: dict = {"decided_by": context.leader.id, "status": state}
        if state in ("delivered", "confirmed"):
            changes["delivered_on"] = today - dt.timedelta(days=20 + n)
        if state == "confirmed":
            changes.update(confirmed_value_cents=value * 9 // 10, confirmed_on=today - dt.timedelta(days=18 + n))
        if state == "declined":
            changes["decline_reason"] = "De scholen hebben hier nu geen ruimte voor."
        if state != "pledged":
            MaterialPledge.update(**changes).where(MaterialPledge.id == pledge.id).execute()
        audit.record(f"material.{state}", actor=context.leader, company=company, obj=pledge, demo=True)


HISTORY_DAYS = 4 * 365
CHUNK = 500


def _history(context, today: dt.date) -> None:
    """Benchmark volume (--scale above 1): 500 x scale settled donations over the past four years,
    spread over the companies, inserted in bulk (no mail, one audit entry)."""
    rng = context.rng
    total = 500 * context.scale
    rows = []
    for n in range(total):
        company = context.companies[n % len(context.companies)]
        admin = context.admins[company.id]
        method = "bank" if n % 3 == 0 else "stripe"
        cents = rng.choice((2_500, 5_000, 10_000, 25_000, 50_000, 125_000))
        paid_on = today - dt.timedelta(days=rng.randrange(1, HISTORY_DAYS))
        settled = dt.datetime.combine(paid_on, dt.time(rng.randrange(8, 18), rng.randrange(60)))
        row = dict(company=company.id, created_by=admin.id, via="portal", donor_name=company.legal_name,
                   donor_kvk=company.kvk, donor_contact_name=admin.name, donor_email=admin.email,
                   donor_language=admin.language, method=method, amount_cents=cents,
                   classification="sponsoring" if n % 5 == 4 else "gift", earmark_purpose=rng.choice(PURPOSES),
                   form_token=f"demo-history-{n:07d}", status="paid", paid_on=paid_on, paid_at=settled,
                   receipt_sent_at=settled, created_at=settled, updated_at=settled)
        if method == "bank":
            row.update(reference=rf_reference(900_000 + n, paid_on.year), due_on=paid_on,
                       bank_line_ref=f"DEMO-HIST-{n:07d}", fee_cents=0, net_cents=cents)
        else:
            kind = "ideal" if n % 2 else "card"
            fee = _stripe_fee(cents, kind)
            row.update(stripe_payment_intent_id=f"pi_hist_{n:07d}", stripe_charge_id=f"ch_hist_{n:07d}",
                       stripe_checkout_session_id=f"cs_hist_{n:07d}", payment_method_type=kind,
                       fee_cents=fee, net_cents=cents - fee)
        rows.append(row)
    for start in range(0, len(rows), CHUNK):
        Donation.insert_many(rows[start:start + CHUNK]).execute()
    audit.record("donation.demo_history", actor=context.leader, donations=total, demo=True)
