"""Realistic demo data for `make run` and, with --scale, for benchmarks.

Capabilities add their own demo data through DEMO_STEPS: each names a module with
`fill(context)`, called after the companies exist.
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass, field

from portal.accounts import service as accounts
from portal.accounts.models import Company, User
from portal.core import audit, ledger
from portal.core.db import atomic_write, utcnow

DEMO_PASSWORD = "klaslokaal-fiets-tulp-2026"  # noqa: S105 - the demo data's published password (README)
LEADER_EMAIL = "projectleider@onderwijsambassadeurs.nl"

DEMO_STEPS: tuple[str, ...] = (
    "portal.enrollment.demo",
    "portal.giving.demo",
    "portal.sroi.demo",  # after enrollment and giving: it allocates their contributions
    "portal.statements.demo",  # last: statements freeze what every other step recorded
)
# Enrollment's and giving's steps bulk-insert years of history past the writers: the ledger is
# posted from their rows once (ledger.rebuild) before the first step that reads the books.
READS_BOOKS = {"portal.sroi.demo", "portal.statements.demo"}

LOGIN_LINES = [
    f"project leader: {LEADER_EMAIL} / {DEMO_PASSWORD} (set up TOTP at first login)",
    f"company admin:  hr@bouwgroep-domstad.nl / {DEMO_PASSWORD}",
    f"company member: finance@bouwgroep-domstad.nl / {DEMO_PASSWORD}",
    f"company admin:  hr@utrechtse-zorgdiensten.nl / {DEMO_PASSWORD}",
    f"company admin:  people@datadijk.nl / {DEMO_PASSWORD}",
]

COMPANIES = (
    ("Bouwgroep Domstad B.V.", "Vredenburg 40", "3511 BD", "Utrecht", "bouwgroep-domstad.nl", "nl"),
    ("Utrechtse Zorgdiensten B.V.", "Catharijnesingel 12", "3511 GA", "Utrecht", "utrechtse-zorgdiensten.nl", "nl"),
    ("DataDijk Software B.V.", "Europalaan 100", "3526 KS", "Utrecht", "datadijk.nl", "en"),
)
FIRST = ("Anna", "Bram", "Carlijn", "Daan", "Eva", "Fleur", "Gijs", "Hanna", "Iris", "Jesse", "Kim", "Lars",
         "Mila", "Noah", "Olga", "Pim", "Roos", "Sem", "Tess", "Vince", "Wout", "Yara", "Zoë", "Thijs")
LAST = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos",
        "Vos", "Peters", "Hendriks", "van Dijk", "Dekker", "Brouwer", "Kaya", "El Amrani", "Nguyen", "Öztürk")


@dataclass
class DemoContext:
    scale: int
    rng: random.Random
    leader: User
    companies: list[Company] = field(default_factory=list)
    admins: dict[int, User] = field(default_factory=dict)

    def person_name(self) -> tuple[str, str]:
        """A made-up first and last name, from the same lists as the companies' users."""
        return self.rng.choice(FIRST), self.rng.choice(LAST)


def has_data() -> bool:
    return Company.select().exists() or User.select().exists()


def _company_rows(scale: int):
    yield from COMPANIES
    for n in range(len(COMPANIES), 3 * scale if scale > 1 else len(COMPANIES)):
        yield (f"Demo Bedrijf {n:04d} B.V.", f"Kanaalweg {n % 200 + 1}", "3526 KL", "Utrecht", f"demo{n:04d}.nl",
               "nl" if n % 4 else "en")


def fill(scale: int = 1, progress=lambda n: None) -> list[str]:
    """Create the leader, companies with administrators and members, then each capability's data."""
    rng = random.Random(2026)  # same data every time
    password_hash = accounts.hash_password(DEMO_PASSWORD)
    now = utcnow()
    with atomic_write():
        leader = User.create(email=LEADER_EMAIL, name="Projectleider", role="leader", language="nl",
                             password_hash=password_hash, password_changed_at=now, email_confirmed_at=now)
        context = DemoContext(scale=scale, rng=rng, leader=leader)
        for index, (name, street, postcode, city, domain, language) in enumerate(_company_rows(scale)):
            company = Company.create(legal_name=name, kvk=f"{30000000 + index * 7919:08d}", street=street,
                                     postcode=postcode, city=city, billing_email=f"finance@{domain}",
                                     language=language, hourly_cost_cents=rng.choice((4500, 5200, 6100, 7400)))
            admin_email = {"bouwgroep-domstad.nl": "hr", "datadijk.nl": "people"}.get(domain, "hr")
            admin = User.create(company=company, email=f"{admin_email}@{domain}", name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                                role="admin", language=language, password_hash=password_hash,
                                password_changed_at=now, email_confirmed_at=now)
            User.create(company=company, email=f"finance@{domain}" if index == 0 else f"team@{domain}",
                        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", role="member", language=language,
                        password_hash=password_hash, password_changed_at=now, email_confirmed_at=now)
            context.companies.append(company)
            context.admins[company.id] = admin
        audit.record("demo.filled", actor=leader, scale=scale, companies=len(context.companies))
    progress(1)
    posted = False
    for step in DEMO_STEPS:
        if step in READS_BOOKS and not posted:
            ledger.rebuild()
            posted = True
        importlib.import_module(step).fill(context)
    if not posted:
        ledger.rebuild()
    progress(max(0, scale - 1))
    return LOGIN_LINES
