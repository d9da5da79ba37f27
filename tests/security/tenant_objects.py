"""Company A's objects for the generated tenant-isolation suite: one factory per capability.

Every capability whose routes take URL parameters registers a factory here. The factory makes
company A's objects through the capability's own service (as a user would) and returns the URL
parameter values of its routes:

    @factory("giving")
    def giving_objects(world: World) -> dict[str, object]:
        paid = ...; pending = ...
        return {"donation_id": [paid.id, pending.id], "need_id": need.id}

The values serve the rules whose endpoint starts with "<blueprint>." (a rule takes its values
from its own capability only, so two capabilities can both have a `kind`). A value may be a list
of objects in different states: company B must get 404 for each of them; the first is the
complete one (its documents exist), which A itself and the project leader must reach. A
parameter with a fixed set of values (`<any(receipt, 'payment-request'):kind>`) is tried with
each of them without being named here. A factory may use another capability's values with
`world.values_of("enrollment")`.

Put `world.marker` into names and descriptions, and add other telling strings (numbers,
references, e-mail addresses) to `world.secrets`: if one shows up where company B looks, A's
data leaked. A factory also records, where its capability has them:

- `world.keys[parameter]`: the key of each object's link, for the key-guarded public pages;
- `world.crossed[parameter]`: another parent object of A's own (a second commitment): A's
  child objects (an approval) must be 404 under it;
- `world.employee_client`: A's employee, logged in by the link she was mailed.

QUERIES and FORMS below add what a page or a form needs to show or do anything.

test_tenant_isolation.py then walks app.url_map with the classification of every endpoint in
routes.py. A rule whose parameters no factory covers fails there, naming the capability that
must register one here.

A factory whose blueprint is not registered in the app is skipped, so this file can name
capabilities before they land.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

FACTORIES: dict[str, Callable[[World], dict[str, Any]]] = {}

TODAY = dt.date(2026, 11, 28)

# Query strings for pages that show something only when asked (default: the page as it is).
# Company B's pages and the leader's pages are requested with each of them.
QUERIES: dict[str, list[str]] = {
    "giving.index": ["", "kind=money", "kind=material"],
    "giving.export_csv": ["", "kind=money", "kind=material"],
    "statements.preview": ["kind=school_year&school_year=2026"],
    "statements.preview_pdf": ["kind=school_year&school_year=2026"],
}

# Form fields for POSTs that need them to do anything (beyond the hostile form of the test).
FORMS: dict[str, dict[str, str]] = {
    "sroi.delete": {"fingerprint": "delete"},
    "sroi.remove_allocation": {"fingerprint": "remove"},
    # A period that has ended (one that runs is refused; the world's clock says TODAY).
    "statements.issue": {"kind": "custom", "start": "2026-01-01", "end": (TODAY - dt.timedelta(days=1)).isoformat()},
}


def factory(blueprint: str):
    """Register `fn(world) -> {parameter: value or [values]}` for the routes of `blueprint`."""

    def register(fn):
        assert blueprint not in FACTORIES, f"{blueprint} already has a factory"
        FACTORIES[blueprint] = fn
        return fn

    return register


def _first(value):
    return value[0] if isinstance(value, list) else value


def _all(value) -> list:
    return list(value) if isinstance(value, list) else [value]


@dataclass
class World:
    app: Any
    a: Any                 # company A (language "en") with .admin and .member
    leader: Any            # the project leader
    monkeypatch: Any
    marker: str = "TENANT-A-7731"
    contributions: list = field(default_factory=list)  # contributions of a registered test source
    secrets: set = field(default_factory=set)          # A's telling strings besides the marker
    employee_client: Any = None                       # A's employee, logged in by her mailed link
    school: Any = None                                # the (shared) school of A's placements
    crossed: dict[str, Any] = field(default_factory=dict)  # {parameter: A's other parent object}
    keys: dict[str, dict[Any, str]] = field(default_factory=dict)  # {parameter: {object: key of its link}}
    _values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def values_of(self, blueprint: str) -> dict[str, Any]:
        """The parameter values of one capability's factory (made once): the first object of each."""
        return {name: _first(value) for name, value in self.objects_of(blueprint).items()}

    def objects_of(self, blueprint: str) -> dict[str, Any]:
        """Every object of one capability's factory (made once): a value or a list of them."""
        if blueprint not in self._values:
            self._values[blueprint] = dict(FACTORIES[blueprint](self))
        return self._values[blueprint]

    def build(self) -> None:
        self.secrets.add(self.marker)
        for blueprint in FACTORIES:
            if blueprint in self.app.blueprints:
                self.objects_of(blueprint)
        if "giving" in self.app.blueprints:
            from portal.giving import receipts

            receipts.wait_for_followups(self.app)  # receipts sent now, not while a test compares rows

    def values_for(self, rule) -> dict[str, Any]:
        """One complete set of A's values for the rule (the first object of each)."""
        blueprint = rule.endpoint.split(".", 1)[0]
        return {name: _first(value) for name, value in self._values.get(blueprint, {}).items()}

    def variants(self, rule, *, first_objects: bool = False) -> Iterator[dict[str, Any]]:
        """Every combination of A's objects (or only the first of each) and of the rule's fixed choices."""
        from werkzeug.routing.converters import AnyConverter

        blueprint = rule.endpoint.split(".", 1)[0]
        known = self._values.get(blueprint, {})
        names = sorted(rule.arguments)
        options = []
        for name in names:
            converter = rule._converters.get(name)
            if isinstance(converter, AnyConverter):
                options.append(sorted(converter.items))
            elif first_objects:
                options.append([_first(known[name])])
            else:
                options.append(_all(known[name]))
        for combination in itertools.product(*options):
            yield dict(zip(names, combination, strict=True))

    def uncovered(self, rule) -> set[str]:
        """The rule's parameters that neither a factory nor the rule's own converter provides."""
        from werkzeug.routing.converters import AnyConverter

        blueprint = rule.endpoint.split(".", 1)[0]
        return {name for name in rule.arguments
                if name not in self._values.get(blueprint, {})
                and not isinstance(rule._converters.get(name), AnyConverter)}


def contribution_source(world: World):
    """A contribution source with A's contributions, as enrolment and giving register theirs."""
    from portal.core import hooks
    from portal.core.contributions import Contribution

    world.contributions.append(Contribution(
        kind="money", key="donation:tenant-a", company_id=world.a.id, on=dt.date(2026, 10, 1),
        description=f"Donation {world.marker}", value_cents=250_000, basis="at_cost", classification="gift",
        gross_cents=250_000, net_cents=250_000, method="bank", reference=f"REF-{world.marker}"))

    def source(company_id, start, end):
        return [c for c in world.contributions
                if (company_id is None or c.company_id == company_id)
                and (start is None or c.on >= start) and (end is None or c.on <= end)]

    hooks.connect(world.app, hooks.CONTRIBUTIONS, source)
    return world.contributions[0]


def add_contribution(world: World, company, cents: int, description: str):
    """Another contribution of the test's source (after a statement: the statement needs correcting)."""
    from portal.core.contributions import Contribution
    from portal.core.db import forget_reads

    if not world.contributions:
        contribution_source(world)
    world.contributions.append(Contribution(
        kind="money", key=f"donation:test-{len(world.contributions)}", company_id=company.id, on=dt.date(2026, 10, 2),
        description=description, value_cents=cents, basis="at_cost", classification="gift", gross_cents=cents,
        net_cents=cents, method="bank"))
    forget_reads()


# --- accounts (foundation) -------------------------------------------------------------------

@factory("accounts")
def accounts_objects(world: World) -> dict[str, Any]:
    from portal.accounts.models import User

    User.update(name=f"Member {world.marker}").where(User.id == world.a.member.id).execute()
    return {"user_id": world.a.member.id}


# --- enrollment -------------------------------------------------------------------------------

def _placement(world: World, email: str, *, to: str):
    from portal.enrollment import service, validation

    raw = {
        "employee_name": f"Employee {world.marker}", "employee_email": email, "job_title": "Engineer",
        "department": "Infra", "language": "en", "role_type": "class", "start": "2026-09", "duration": "full",
        "weekday": "tuesday", "hours_per_week": "8", "funding": "mixed", "sponsored_hours_per_week": "6",
        "hourly_cost": "50,00", "vog_status": "received", "vog_date": "2026-08-01", "under_21": "no",
    }
    data, errors = validation.validate_enrolment(raw, validation.ValidationContext.load(world.a))
    assert not errors, errors
    enrolment = service.create_enrolment(world.a, world.a.admin, data)
    steps = ("intake", "matched", "active", "completed")
    for step in steps[:steps.index(to) + 1]:
        enrolment = service.move(enrolment, step, world.leader, school=world.school, group_name="groep 5b",
                                 teacher_name="juf Aylin")
    return enrolment


def _open_mailed_link(world: World, email: str):
    """The employee opens the last link mailed to her, in a browser of her own."""
    import pathlib

    from tests.conftest import Outbox

    links = [m.link() for m in Outbox(pathlib.Path(world.app.config["OUTBOX_DIR"])).to(email)
             if "/ambassador/start/" in m.text]
    assert links, f"no link mailed to {email}"
    client = world.app.test_client()
    assert client.get(links[-1]).status_code == 200
    response = client.post(links[-1])
    assert response.status_code == 302 and response.headers["Location"].endswith("/ambassador"), response.status_code
    return client


@factory("enrollment")
def enrollment_objects(world: World) -> dict[str, Any]:
    import io

    from portal.core import clock
    from portal.enrollment import allowance, allowance_export, hours, reference, schools, service
    from portal.enrollment.models import Closure, SchoolYear
    from tests.enrollment.conftest import pdf_bytes

    world.monkeypatch.setattr(clock, "today", lambda: TODAY)
    reference.seed_reference_data()
    world.school = schools.save_school(world.leader, {  # schools are shared: no marker
        "name": "OBS De Klimop", "brin": "12KL", "street": "Zamenhofdreef 2", "postcode": "3562 JT",
        "city": "Utrecht", "coordinator_name": "Ic Klimop", "coordinator_email": "ic@klimop.nl"})
    # An active placement: the employee uploaded her CV and reported a session, the leader confirmed it.
    active = _placement(world, "employee@tenant-a.nl", to="active")
    world.employee_client = _open_mailed_link(world, active.employee_email)
    response = world.employee_client.post("/ambassador/documents", data={
        "kind": "cv", "file": (io.BytesIO(pdf_bytes()), "cv.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.status_code
    entry = [e for e in hours.register(active) if e.worked_on <= TODAY][0]
    hours.report_sessions(active, [hours.SessionReport(entry.id, True, 480)], actor=world.a.admin, via="hr")
    hours.decide_entries([entry.id], world.leader, approve=True)
    # A completed placement (its certificate), with confirmed sessions too.
    completed = _placement(world, "finished@tenant-a.nl", to="active")
    entries = [e for e in hours.register(completed) if e.worked_on <= TODAY][:2]
    hours.report_sessions(completed, [hours.SessionReport(e.id, True, 480) for e in entries], actor=world.a.admin,
                          via="hr")
    hours.decide_entries([e.id for e in entries], world.leader, approve=True)
    completed = service.move(completed, "completed", world.leader)
    # The volunteered part of those hours, paid out as allowance in an exported batch.
    allowance.build_ledger(world.leader, TODAY)
    # Paid only with the year's limits entered and a decision on each warned line (issue 14).
    schools.save_cap(world.leader, {"year": 2026, "per_month_cents": 21000, "per_year_cents": 210000,
                                    "per_hour_cents": 560, "per_hour_under_21_cents": 330, "source": ""})
    for row in allowance.ledger(dt.date(2026, 9, 1), dt.date(2026, 11, 1)).undecided:
        allowance.decide(row.line.id, world.leader, "fixed_monthly", "Fixed monthly fee")
    batch, _csv = allowance_export.export_open(world.leader, dt.date(2026, 9, 1), dt.date(2026, 11, 1))
    world.secrets.update({active.employee_email, completed.employee_email})
    year = SchoolYear.get(SchoolYear.name == "2026-2027")
    return {"enrolment_id": [active.id, completed.id], "kind": "cv", "school_id": world.school.id,
            "year_id": year.id, "closure_id": Closure.select().where(Closure.school_year == year).first().id,
            "batch": batch}


# --- sroi -------------------------------------------------------------------------------------

@factory("sroi")
def sroi_objects(world: World) -> dict[str, Any]:
    from portal.sroi import service

    paid = world.values_of("giving")["donation_id"]  # a real contribution: A's donation, paid by bank

    def commitment(reference: str):
        return service.create_commitment(world.a.admin, service.CommitmentInput(
            authority="Gemeente Utrecht", contract_reference=reference, description="Renovation",
            base_type="contract_value_excl_vat", base_cents=100_000_000, percentage_bp=500, cap_cents=None,
            period_start_on=dt.date(2026, 8, 1), period_end_on=dt.date(2027, 7, 31),
            deadline_on=dt.date(2027, 9, 30), buyer_contact_name="S. Adviseur",
            buyer_contact_email="sroi@utrecht.nl", buyer_contact_phone=""), "utrecht-bouwblokken")

    first = commitment(f"REF-{world.marker}")
    allocation = service.set_allocation(world.a.admin, first.id, f"donation:{paid}", 10_000)
    from portal.sroi import evidence
    from tests.sroi.conftest import pdf_bytes

    letter = evidence.check(pdf_bytes(), f"letter-{world.marker}.pdf")   # the buyer's letter, for the downloads
    approval = service.record_approval(world.a.admin, first.id, 5_000, dt.date(2026, 10, 1), f"SR-{world.marker}",
                                       evidence=letter)
    # A's own second commitment: the first one's allocation and approval are 404 under its URLs.
    world.crossed["commitment_id"] = commitment(f"OTHER-{world.marker}").id
    return {"commitment_id": first.id, "allocation_id": allocation.id, "approval_id": approval.id}


# --- statements -------------------------------------------------------------------------------

@factory("statements")
def statements_objects(world: World) -> dict[str, Any]:
    from portal.statements import periods, service

    if not world.contributions:
        contribution_source(world)
    # The school year so far: a running school year gets no statement (issue 14), a custom period does.
    statement = service.issue(world.a, periods.custom(dt.date(2026, 8, 1), TODAY), world.a.admin,
                              today=TODAY + dt.timedelta(days=1))
    add_contribution(world, world.a, 100, f"Change {world.marker}")  # the statement now needs correcting
    world.secrets.add(statement.number)
    active, completed = world.objects_of("enrollment")["enrolment_id"]
    return {"statement_id": statement.id, "enrolment_id": [completed, active],  # the one with a certificate first
            "number": statement.number}


# --- giving -----------------------------------------------------------------------------------

@factory("giving")
def giving_objects(world: World) -> dict[str, Any]:
    from portal.giving import checks, materials, receipts, service
    from portal.giving.forms import new_token
    from portal.giving.models import PaymentIssue

    def request(cents: int, purpose: str):
        donation, _new = service.create_donation(service.DonationInput(
            amount_cents=cents, classification="gift", method="bank", form_token=new_token(),
            earmark_purpose=f"{purpose} {world.marker}"), user=world.a.admin, today=TODAY)
        return donation

    paid = request(25_000, "Books")        # paid by bank transfer: its payment request and receipt exist
    assert service.mark_paid_by_bank(paid.reference, 25_000, TODAY, world.leader, f"line-paid-{world.marker}"
                                     ).status == "paid"
    pending = request(7_700, "Chairs")     # a transfer of the wrong amount: an issue for the leader
    assert service.mark_paid_by_bank(pending.reference, 1, TODAY, world.leader, f"line-{world.marker}"
                                     ).status == "amount_mismatch"
    need = materials.publish_need(world.leader, item="Laptops", description="For group 8", quantity=3,
                                  school_id=None, needed_by=None, today=TODAY)
    pledge, _new = materials.pledge(world.a.admin, materials.PledgeInput(
        description=f"Laptops {world.marker}", quantity=2, declared_value_cents=40_000, classification="gift",
        form_token=new_token(), need_id=need.id))
    # A public gift naming A, paid, waiting for A to accept it (issue 15 item 4): B's accept and
    # decline of it are 404 like everything else of A's.
    gift, _new = service.create_donation(service.DonationInput(
        amount_cents=3_300, classification="gift", method="bank", form_token=new_token(),
        earmark_purpose=f"Gift {world.marker}"), donor=service.PublicDonor(
            f"Gever {world.marker}", world.a.kvk, "Gever", "gever@example.org"), today=TODAY)
    assert service.mark_paid_by_bank(gift.reference, 3_300, TODAY, world.leader, f"line-gift-{world.marker}"
                                     ).status == "paid"
    # Part of the paid gift sent back by bank: a credit note on its receipt (issue 14).
    assert service.record_bank_refund(paid.reference, 5_000, TODAY, world.leader, f"line-back-{world.marker}"
                                      ).status == "refund_recorded"
    receipts.wait_for_followups(world.app)
    for donation in (paid, pending):
        assert receipts.document(donation, "payment_request")
    assert receipts.document(paid, "receipt")
    note = service.corrections_of(paid).notes[0]
    world.secrets.add(note.number)
    world.secrets.update({paid.reference, pending.reference, gift.reference})
    world.keys["donation_id"] = {donation.id: checks.access_key(donation) for donation in (paid, pending, gift)}
    return {"donation_id": [paid.id, pending.id, gift.id], "need_id": need.id, "pledge_id": pledge.id,
            "issue_id": PaymentIssue.get(PaymentIssue.donation == pending.id).id, "note_id": note.id}


# --- reconcile (the project leader's desk: company users get 404 on all of it) ----------------

@factory("reconcile")
def reconcile_objects(world: World) -> dict[str, Any]:
    from portal.reconcile import bank_import

    csv = ("date,amount,counterparty_iban,counterparty_name,description\n"
           f"2026-05-04,250.00,NL02ABNA0123456789,Payer,Gift {world.marker}\n").encode()
    bank_import.import_statement(csv, filename="tenant.csv", actor=world.leader, match=False)
    from portal.reconcile.models import BankLine, PeriodClose

    period = PeriodClose.create(kind="month", starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 4, 30),
                                explanation=world.marker, closed_by=world.leader.id)
    return {"line_id": BankLine.get().id, "period_id": period.id, "company_id": world.a.id,
            "user_id": world.a.member.id}


# --- contact (the project leader's inbox: company users get 404 on all of it) -----------------

@factory("contact")
def contact_objects(world: World) -> dict[str, Any]:
    from portal.contact import service

    message, _created = service.submit(service.Submission(
        name="Vera Vraag", organisation="Acme B.V.", email="vera@example.nl", question_type="employer",
        message=f"How many hours? {world.marker}", language="en", form_token=service.new_token()))
    return {"message_id": message.id}


# --- tasks (the project leader's view of the task queue: company users get 404 on all of it) ------

@factory("tasks")
def task_objects(world: World) -> dict[str, Any]:
    import socket

    from flask import current_app

    from portal.core import mail, tasks

    with socket.socket() as probe:  # a port nobody listens on: the mail task fails for good
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = current_app.config
    before = (config["SMTP_HOST"], config["SMTP_PORT"])
    config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=closed_port)
    try:
        mail.send_template("a@acme.nl", "accounts/already_member", "en", f"Stuck {world.marker}", company=world.a)
    finally:
        config["SMTP_HOST"], config["SMTP_PORT"] = before
    return {"task_id": tasks.failures()[0]["id"]}
