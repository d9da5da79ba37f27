"""Demo SROI commitments: runs after the enrolment and giving steps, so it can allocate their contributions."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfWriter

from portal.core import clock
from portal.sroi import evidence, service


def _commitment(admin, template: str, today: dt.date, *, authority: str, reference: str, description: str,
                base_type: str, base_cents: int, percentage_bp: int, cap_cents: int | None = None,
                started_days_ago: int, runs_days: int, deadline_in_days: int, rules: dict | None = None):
    data = service.CommitmentInput(
        authority=authority, contract_reference=reference, description=description, base_type=base_type,
        base_cents=base_cents, percentage_bp=percentage_bp, cap_cents=cap_cents,
        period_start_on=today - dt.timedelta(days=started_days_ago),
        period_end_on=today - dt.timedelta(days=started_days_ago) + dt.timedelta(days=runs_days),
        deadline_on=today + dt.timedelta(days=deadline_in_days),
        buyer_contact_name="Adviseur social return", buyer_contact_email="socialreturn@example.nl")
    commitment = service.create_commitment(admin, data, template)
    if rules:
        values = service.rules_of(commitment).__dict__ | rules
        commitment = service.update_rules(admin, commitment.id, service.RulesInput(**values))
    return commitment


def demo_letter():
    """A one-page PDF standing in for the buyer's letter (waiting for the project leader's confirmation)."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return evidence.check(buffer.getvalue(), "akkoord-social-return.pdf")


def fill(context) -> None:
    """One or two commitments per company, allocated by the suggestion, one partly approved."""
    today = clock.today()
    named = {
        0: [dict(template="utrecht-bouwblokken", authority="Gemeente Utrecht", reference="UTR-2026-0412",
                 description="Renovatie brede school Overvecht", base_type="contract_value_excl_vat",
                 base_cents=240_000_000, percentage_bp=500, started_days_ago=120, runs_days=365,
                 deadline_in_days=45),
            dict(template="at-cost", authority="Woningcorporatie Domstad Wonen", reference="DW-ONDH-2026-07",
                 description="Planned maintenance 2026-2028", base_type="labour_cost", base_cents=80_000_000,
                 percentage_bp=200, cap_cents=1_500_000, started_days_ago=60, runs_days=730,
                 deadline_in_days=700)],
        1: [dict(template="utrecht-bouwblokken", authority="Gemeente Utrecht", reference="UTR-ZORG-2026-03",
                 description="Wijkverpleging Utrecht-West", base_type="turnover", base_cents=150_000_000,
                 percentage_bp=500, cap_cents=5_000_000, started_days_ago=200, runs_days=540,
                 deadline_in_days=340, rules={"max_minutes_per_person": 10 * 60})],
        2: [dict(template="utrecht-bouwblokken", authority="Gemeente Nieuwegein", reference="NWG-ICT-2026-11",
                 description="Cloud migration of the municipal archive", base_type="contract_value_excl_vat",
                 base_cents=60_000_000, percentage_bp=500, started_days_ago=90, runs_days=300,
                 deadline_in_days=250)],
    }
    for index, company in enumerate(context.companies):
        admin = context.admins[company.id]
        specs = named.get(index)
        if specs is None:
            if index % 3:
                continue
            specs = [dict(template=context.rng.choice(("utrecht-bouwblokken", "at-cost")),
                          authority=context.rng.choice(("Gemeente Utrecht", "Provincie Utrecht", "Gemeente Zeist")),
                          reference=f"SR-{2026}-{index:04d}", description="Demo contract",
                          base_type="contract_value_excl_vat",
                          base_cents=context.rng.randrange(20_000_000, 500_000_000, 100),
                          percentage_bp=context.rng.choice((200, 500, 700)), started_days_ago=100,
                          runs_days=400, deadline_in_days=context.rng.randrange(10, 500))]
        commitments = [_commitment(admin, today=today, **spec) for spec in specs]
        plan = service.suggest(company.id, today)
        if plan:
            service.apply_suggestion(admin, service.plan_fingerprint(plan), today)
        if index == 1:
            claimed = service.summary(commitments[0], today).claimed_cents
            if claimed:
                service.record_approval(admin, commitments[0].id, claimed // 2, today - dt.timedelta(days=10),
                                        "SR-UTR-2026-118", "First half-year report accepted by the adviser.",
                                        evidence=demo_letter())
