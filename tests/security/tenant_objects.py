"""Company A's objects for the generated tenant-isolation test: one factory per capability.

Every capability whose routes take URL parameters registers a factory here. The factory makes
company A's objects through the capability's own service (as a user would) and returns the URL
parameter values of its routes:

    @factory("giving")
    def giving_objects(world: World) -> dict[str, object]:
        donation, _new = service.create_donation(..., user=world.a.admin)
        return {"donation_id": donation.id, "kind": "receipt"}

The values serve the rules whose endpoint starts with "<blueprint>." (a rule takes its values
from its own capability only, so two capabilities can both have a `kind`). A factory may use
another capability's values with `world.values_of("enrollment")`. Put `world.marker` into
names and descriptions: if it shows up in company B's pages, A's data leaked.

test_tenant_isolation.py then logs in as company B and requests every covered rule, for GET
and POST, expecting 404 and A's rows unchanged. A rule whose parameters no factory covers
fails that test, naming the capability that must register one here.

A factory whose blueprint is not registered in the app is skipped, so this file can name
capabilities before they land.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FACTORIES: dict[str, Callable[[World], dict[str, Any]]] = {}


def factory(blueprint: str):
    """Register `fn(world) -> {parameter: value}` for the routes of `blueprint`."""

    def register(fn):
        assert blueprint not in FACTORIES, f"{blueprint} already has a factory"
        FACTORIES[blueprint] = fn
        return fn

    return register


@dataclass
class World:
    app: Any
    a: Any                 # company A (language "en") with .admin and .member
    leader: Any            # the project leader
    monkeypatch: Any
    marker: str = "TENANT-A-7731"
    contributions: list = field(default_factory=list)  # A's contributions, from a registered source
    _values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def values_of(self, blueprint: str) -> dict[str, Any]:
        """The parameter values of one capability's factory (made once)."""
        if blueprint not in self._values:
            self._values[blueprint] = dict(FACTORIES[blueprint](self))
        return self._values[blueprint]

    def build(self) -> None:
        for blueprint in FACTORIES:
            if blueprint in self.app.blueprints:
                self.values_of(blueprint)

    def values_for(self, rule) -> dict[str, Any]:
        blueprint = rule.endpoint.split(".", 1)[0]
        return self._values.get(blueprint, {})


def contribution_source(world: World):
    """A contribution source with A's contributions, as enrolment and giving register theirs."""
    from portal.core.contributions import Contribution, register_source

    world.contributions.append(Contribution(
        kind="money", key="donation:tenant-a", company_id=world.a.id, on=dt.date(2026, 10, 1),
        description=f"Donation {world.marker}", value_cents=250_000, basis="at_cost", classification="gift",
        gross_cents=250_000, net_cents=250_000, method="bank", reference=f"REF-{world.marker}"))

    def source(company_id, start, end):
        return [c for c in world.contributions
                if (company_id is None or c.company_id == company_id)
                and (start is None or c.on >= start) and (end is None or c.on <= end)]

    register_source(world.app, source)
    return world.contributions[0]


# --- accounts (foundation) -------------------------------------------------------------------

@factory("accounts")
def accounts_objects(world: World) -> dict[str, Any]:
    from portal.accounts.models import User

    User.update(name=f"Member {world.marker}").where(User.id == world.a.member.id).execute()
    return {"user_id": world.a.member.id}


# --- enrollment -------------------------------------------------------------------------------

TODAY = dt.date(2026, 11, 28)


@factory("enrollment")
def enrollment_objects(world: World) -> dict[str, Any]:
    from portal.core import clock
    from portal.enrollment import service
    from portal.enrollment.models import Closure, SchoolYear

    world.monkeypatch.setattr(clock, "today", lambda: TODAY)
    service.seed_reference_data()
    school = service.save_school(world.leader, {  # schools are shared: no marker
        "name": "OBS De Klimop", "brin": "12KL", "street": "Zamenhofdreef 2", "postcode": "3562 JT",
        "city": "Utrecht", "coordinator_name": "Ic Klimop", "coordinator_email": "ic@klimop.nl"})
    raw = {
        "employee_name": f"Employee {world.marker}", "employee_email": "employee@tenant-a.nl", "job_title": "Engineer",
        "department": "Infra", "language": "en", "role_type": "class", "start": "2026-09", "duration": "full",
        "weekday": "tuesday", "hours_per_week": "8", "funding": "sponsored", "sponsored_hours_per_week": "",
        "hourly_cost": "50,00", "vog_status": "received", "vog_date": "2026-08-01", "under_21": "no",
    }
    data, errors = service.validate_enrolment(raw, service.ValidationContext.load(world.a))
    assert not errors, errors
    enrolment = service.create_enrolment(world.a, world.a.admin, data)
    year = SchoolYear.get(SchoolYear.name == "2026-2027")
    return {"enrolment_id": enrolment.id, "kind": "cv", "school_id": school.id, "year_id": year.id,
            "closure_id": Closure.select().where(Closure.school_year == year).first().id,
            "batch": "A20261128000000abcd"}


# --- sroi -------------------------------------------------------------------------------------

@factory("sroi")
def sroi_objects(world: World) -> dict[str, Any]:
    from portal.sroi import service

    donation = world.contributions[0] if world.contributions else contribution_source(world)
    commitment = service.create_commitment(world.a.admin, service.CommitmentInput(
        authority="Gemeente Utrecht", contract_reference=f"REF-{world.marker}", description="Renovation",
        base_type="contract_value_excl_vat", base_cents=100_000_000, percentage_bp=500, cap_cents=None,
        period_start_on=dt.date(2026, 8, 1), period_end_on=dt.date(2027, 7, 31), deadline_on=dt.date(2027, 9, 30),
        buyer_contact_name="S. Adviseur", buyer_contact_email="sroi@utrecht.nl", buyer_contact_phone=""),
        "utrecht-bouwblokken")
    allocation = service.set_allocation(world.a.admin, commitment.id, donation.key, 10_000)
    approval = service.record_approval(world.a.admin, commitment.id, 5_000, dt.date(2026, 10, 1), f"SR-{world.marker}")
    return {"commitment_id": commitment.id, "allocation_id": allocation.id, "approval_id": approval.id}


# --- statements -------------------------------------------------------------------------------

@factory("statements")
def statements_objects(world: World) -> dict[str, Any]:
    from portal.statements import periods, service

    if not world.contributions:
        contribution_source(world)
    statement = service.issue(world.a, periods.school_year(2026), world.a.admin, today=TODAY)
    return {"statement_id": statement.id, "enrolment_id": world.values_of("enrollment")["enrolment_id"],
            "number": statement.number}


# --- giving -----------------------------------------------------------------------------------

@factory("giving")
def giving_objects(world: World) -> dict[str, Any]:
    from portal.core.db import atomic_write
    from portal.giving import service
    from portal.giving.forms import new_token

    donation, _new = service.create_donation(service.DonationInput(
        amount_cents=25_000, classification="gift", method="bank", form_token=new_token(),
        earmark_purpose=f"Books {world.marker}"), user=world.a.admin, today=TODAY)
    need = service.publish_need(world.leader, item="Laptops", description="For group 8", quantity=3, school_id=None,
                                needed_by=None, today=TODAY)
    pledge, _new = service.pledge(world.a.admin, service.PledgeInput(
        description=f"Laptops {world.marker}", quantity=2, declared_value_cents=40_000, classification="gift",
        form_token=new_token(), need_id=need.id))
    with atomic_write():
        service.raise_issue("bank_amount_mismatch", f"line-{world.marker}", donation, amount_cents=1)
    from portal.giving.models import PaymentIssue

    return {"donation_id": donation.id, "kind": "payment-request", "need_id": need.id, "pledge_id": pledge.id,
            "action": "accept", "issue_id": PaymentIssue.get(PaymentIssue.donation == donation.id).id}


# --- reconcile (the project leader's desk: company users get 404 on all of it) ----------------

@factory("reconcile")
def reconcile_objects(world: World) -> dict[str, Any]:
    from portal.reconcile import service

    csv = ("date,amount,counterparty_iban,counterparty_name,description\n"
           f"2026-05-04,250.00,NL02ABNA0123456789,Payer,Gift {world.marker}\n").encode()
    service.import_statement(csv, filename="tenant.csv", actor=world.leader, match=False)
    from portal.reconcile.models import BankLine, PeriodClose

    period = PeriodClose.create(kind="month", starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 4, 30),
                                explanation=world.marker, closed_by=world.leader.id)
    return {"line_id": BankLine.get().id, "period_id": period.id, "company_id": world.a.id,
            "user_id": world.a.member.id}
