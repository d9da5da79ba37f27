"""No document a Dutch reader downloads shows English words.

Every PDF the portal produces and every export with words in it (CSV, XLSX), rendered for a Dutch
reader, is read back as text (PDFs with tests/pdftext.py, CSV as text, XLSX cell by cell and its
sheet names) and checked for English words the way the browser sweep checks a Dutch page
(tests/english_words.py: the catalogue's English words that no Dutch text uses, leaving out
what company A's world typed as its users would, and the machine keys of lines such as
"hours:42:volunteered"). Each document must also show a few words it
is known to show in Dutch, so an empty document or one that fell back to English cannot pass.

The documents come from company A's world of the security suite (tests/security/tenant_objects.py),
built once for the module with a Dutch company, Dutch users and a Dutch project leader, in a
request that asks for Dutch: a receipt is in its donor's language, a statement, its preview and
an SROI report in the company's, a certificate in the ambassador's (her enrolment's language, set
to Dutch here), an export in the language of whoever downloads it (her stored language). The
portal's default language stays English in the tests (tests/conftest.py): a document that forgets
its reader's language falls back to English and is caught.

Each document is a test case of its own, so a failure names it. The route table is walked too: a
route that answers a file must be one of DOCUMENTS, or NOT_OURS says why it is not checked.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import pytest

from tests.english_words import english_on_a_dutch_page, english_words
from tests.pdftext import pages_text
from tests.security.tenant_objects import TODAY

MARKER = "TENANT-A-7731"


@dataclass(frozen=True)
class Document:
    name: str
    endpoint: str
    reader: str                  # "company" (A's administrator), "leader", or "public" (the donor's link)
    language: str                # how the document decides its language
    dutch: tuple[str, ...]       # words it shows in Dutch
    query: str = ""
    values: tuple = ()           # (parameter, index into the factory's list of objects)


ENDED = f"kind=custom&start=2026-01-01&end={TODAY.replace(day=27).isoformat()}"
DONOR = "the donor's language (Donation.donor_language: the company user's stored language)"
PUBLIC_DONOR = "the donor's language (Donation.donor_language: the public donor's choice)"
COMPANY = "the company's language (Company.language)"
STATEMENT = "the statement's own language (Statement.language, from Company.language at issue)"
READER = "the reader's stored language (User.language)"

DOCUMENTS = [
    # giving: receipts, payment requests and credit notes (stored PDFs), and the company's export.
    Document("receipt (company)", "giving.company_document", "company", DONOR, ("Ontvangstbewijs",),
             values=(("kind", "receipt"),)),
    Document("payment request, paid (company)", "giving.company_document", "company", DONOR, ("Betaalverzoek",),
             values=(("kind", "payment-request"),)),
    Document("payment request, waiting (company)", "giving.company_document", "company", DONOR, ("Betaalverzoek",),
             values=(("kind", "payment-request"), ("donation_id", 1))),
    Document("credit note (company)", "giving.company_credit_note", "company", DONOR, ("Creditnota",)),
    Document("receipt (leader)", "giving.leader_document", "leader", DONOR, ("Ontvangstbewijs",),
             values=(("kind", "receipt"),)),
    Document("payment request (leader)", "giving.leader_document", "leader", DONOR, ("Betaalverzoek",),
             values=(("kind", "payment-request"),)),
    Document("credit note (leader)", "giving.leader_credit_note", "leader", DONOR, ("Creditnota",)),
    Document("credit note (donor's link)", "giving.credit_note", "public", DONOR, ("Creditnota",)),
    Document("receipt of a public gift (donor's link)", "giving.document", "public", PUBLIC_DONOR,
             ("Ontvangstbewijs",), values=(("kind", "receipt"), ("donation_id", 2))),
    Document("payment request of a public gift (donor's link)", "giving.document", "public", PUBLIC_DONOR,
             ("Betaalverzoek",), values=(("kind", "payment-request"), ("donation_id", 2))),
    Document("contributions export CSV", "giving.export_csv", "company", READER, ("geld", "Bedrag (EUR)")),
    # statements: the statement, its specification, the concept and the interim overview, a certificate.
    Document("statement PDF (company)", "statements.download", "company", STATEMENT, ("Bijdrageoverzicht",)),
    Document("statement PDF (leader)", "statements.leader_download", "leader", STATEMENT, ("Bijdrageoverzicht",)),
    Document("statement specification CSV (company)", "statements.specification", "company", STATEMENT,
             ("Datum",)),
    Document("statement specification CSV (leader)", "statements.leader_specification", "leader", STATEMENT,
             ("Datum",)),
    Document("concept statement PDF (preview)", "statements.preview_pdf", "company", COMPANY, ("CONCEPT",),
             query=ENDED),
    Document("interim overview PDF (preview of a running school year)", "statements.preview_pdf", "company", COMPANY,
             ("Tussentijds",), query="kind=school_year&school_year=2026"),
    Document("certificate of participation PDF", "statements.certificate_pdf", "company",
             "the ambassador's language (Enrolment.language)", ("Certificaat",)),
    # SROI: the commitment's report.
    Document("SROI commitment report PDF (company)", "sroi.report_pdf", "company", COMPANY, ("Rapportage",)),
    Document("SROI commitment report PDF (leader)", "sroi.leader_report_pdf", "leader", COMPANY, ("Rapportage",)),
    # enrollment: HR's confirmed hours, the import template, the allowance batch.
    Document("confirmed hours CSV (HR)", "enrollment.hours_export", "company", READER, ("Datum",)),
    Document("ambassador import template CSV", "enrollment.import_template", "company", READER,
             ("naam", "uren_per_week", "dinsdag", "gesponsord")),
    Document("allowance batch CSV", "enrollment.leader_allowance_batch", "leader", READER,
             ("Besluit", "Maand", "Bedrag (EUR)")),
    # reconcile: the leader's exports and the bookkeeper's journal.
    Document("contributions export CSV (leader)", "reconcile.export_csv", "leader",
             "?csv=nl|en, else the reader's stored language", ("Datum",)),
    Document("contributions export XLSX (leader)", "reconcile.export_xlsx", "leader", READER, ("Datum",)),
    Document("journal CSV, Dutch format", "reconcile.journal_download", "leader",
             "?format=csv_nl", ("Datum",),
             query="format=csv_nl&start=2026-01-01&end=2026-11-27"),
    Document("journal CSV, the reader's default format", "reconcile.journal_download", "leader",
             "no ?format: csv_nl for a Dutch reader", ("Datum",), query="start=2026-01-01&end=2026-11-27"),
    Document("journal XLSX", "reconcile.journal_download", "leader", READER, ("Datum",),
             query="format=xlsx&start=2026-01-01&end=2026-11-27"),
]

# Routes that answer a file but are not documents of the portal's words.
NOT_OURS = {
    "enrollment.ambassador_document": "the ambassador's own upload (her CV, her VOG), served as she sent it",
    "enrollment.leader_document": "the ambassador's own upload, as the project leader downloads it",
    "sroi.download_letter": "the buyer's letter the company uploaded, served as it was sent",
    "sroi.leader_download_letter": "the buyer's letter, as the project leader downloads it",
    "content.sitemap": "a machine answer for search engines (sitemap.xml), no words",
    "content.robots": "a machine answer for crawlers (robots.txt), no words",
}
# Endpoints that answer a file although their address does not end in its extension.
FILES = re.compile(r"\.(csv|pdf|xlsx|xml|txt)$|/pdf$|/download$|/documents/|/letter$")
MINIMUM = 25  # documents checked: a list that shrinks by accident fails
# A machine key of a line ("hours:42:volunteered", "donation:tenant-a", "refund:3"): an identifier, not words.
IDENTIFIER = re.compile(r"(?<!\S)[a-z_]+(?::[\w-]+)+(?!\S)")


def _cases() -> list:
    return [pytest.param(document, id=document.name) for document in DOCUMENTS]


# --- the world, in Dutch -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dutch(migrated_template, tmp_path_factory):
    """Company A's world with a Dutch company, Dutch users and a Dutch project leader, built once;
    and a client for each reader: A's administrator, the leader (second factor passed), a visitor."""
    import tests.conftest as base
    from portal.accounts.models import User
    from portal.core.db import database
    from portal.enrollment.models import Enrolment
    from tests.security.conftest import module_app
    from tests.security.tenant_objects import World

    with module_app(migrated_template, tmp_path_factory, "dutch-documents") as app, \
            pytest.MonkeyPatch.context() as monkeypatch:
        make_company = base.make_company.__wrapped__(app)
        login = base.login.__wrapped__(app)
        leader = base.leader.__wrapped__(app)
        User.update(language="nl").where(User.id == leader.id).execute()  # created Dutch; the fixture made her English
        a = make_company(f"Alpha {MARKER}", language="nl", member=True)
        world = World(app=app, a=a, leader=leader, monkeypatch=monkeypatch, marker=MARKER)
        with app.test_request_context("/", base_url="http://portal.test", headers={"Accept-Language": "nl"}):
            world.build()
        # A Dutch ambassador: her certificate is in her language (the world enrols her in English).
        Enrolment.update(language="nl").where(Enrolment.company == a.id).execute()
        world.db = database.obj
        world.readers = {"company": login(app.test_client(), a.admin),
                         "leader": base.sign_in_leader.__wrapped__(app, leader, login)(),
                         "public": app.test_client()}
        yield world


@pytest.fixture(autouse=True)
def _dutch_database(request):
    from tests.security.conftest import bind_module_database

    bind_module_database(request, "dutch")


def address(world, document: Document) -> str:
    """The document's address with A's objects (the first of each, unless the document names another)."""
    from tests.security import routes

    rules = [rule for rule in world.app.url_map.iter_rules() if rule.endpoint == document.endpoint]
    assert len(rules) == 1, f"{document.endpoint}: {[r.rule for r in rules]}"
    rule = rules[0]
    blueprint = document.endpoint.split(".", 1)[0]
    objects = world.objects_of(blueprint) if rule.arguments else {}
    values = {name: value[0] if isinstance(value, list) else value for name, value in objects.items()}
    for name, chosen in document.values:
        values[name] = objects[name][chosen] if isinstance(chosen, int) else chosen
    query = [document.query] if document.query else []
    if document.reader == "public":
        query.append(f"key={world.keys['donation_id'][values['donation_id']]}")
    return routes.url(rule, values) + ("?" + "&".join(query) if query else "")


# --- reading a document back as text ----------------------------------------------------------------

def texts_of(body: bytes, content_type: str) -> list[str]:
    """The document's texts: a PDF's pages (whitespace collapsed), a CSV's cells, an XLSX's sheet
    names and cells."""
    if content_type.startswith("application/pdf"):
        # A line may break inside A's marker ("TENANT-A-" / "7731"): joined again, it still marks A's own words.
        return [re.sub(r"\s*".join(map(re.escape, MARKER)), MARKER, page) for page in pages_text(body)]
    if content_type.startswith("text/csv"):
        text = body.decode("utf-8-sig")
        header = text.split("\n", 1)[0]
        delimiter = ";" if header.count(";") > header.count(",") else ","  # Dutch CSV: semicolons
        return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row if cell.strip()]
    if "spreadsheetml" in content_type:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        texts = list(book.sheetnames)
        for sheet in book.worksheets:
            texts += [str(value) for row in sheet.iter_rows(values_only=True) for value in row
                      if isinstance(value, str) and value.strip()]
        return texts
    raise AssertionError(f"not a document this test reads: {content_type}")


def english_in(texts: list[str]) -> list[str]:
    """The English words of a document's texts, lines' machine keys left out."""
    return english_on_a_dutch_page([IDENTIFIER.sub(" ", text) for text in texts], MARKER)


def in_context(words: list[str], texts: list[str]) -> list[str]:
    """Each English word with the text around its first use (a PDF page is long)."""
    shown = []
    for word in words:
        for text in texts:
            found = re.search(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", text)
            if found:
                shown.append(f"{word}: ...{text[max(0, found.start() - 50):found.end() + 50]}...")
                break
    return shown


# --- the tests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("document", _cases())
def test_a_dutch_document_shows_no_english(dutch, document: Document):
    path = address(dutch, document)
    response = dutch.readers[document.reader].get(path)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    texts = texts_of(response.data, response.headers.get("Content-Type", ""))
    joined = " ".join(texts)
    assert joined.strip(), f"{document.name} ({path}) is empty"
    missing = [word for word in document.dutch if word.lower() not in joined.lower()]
    assert not missing, f"{document.name} ({path}) does not show {missing}: {joined[:1500]!r}"
    found = english_in(texts)
    words = sorted({w for line in found for w in line.split(" in ", 1)[0].split("/")})
    assert not found, (f"{document.name} ({path}), in Dutch, shows English: {', '.join(words)}\n  "
                       + "\n  ".join(in_context(words, texts)))


def test_every_document_route_is_checked(dutch):
    """A route that answers a file is a document above, or NOT_OURS says why it is not."""
    from tests.security import routes

    checked = {document.endpoint for document in DOCUMENTS}
    unchecked = sorted(f"{rule.endpoint} ({rule.rule})" for rule in dutch.app.url_map.iter_rules()
                       if "GET" in routes.methods(rule) and FILES.search(rule.rule)
                       and rule.endpoint not in checked and rule.endpoint not in NOT_OURS)
    assert not unchecked, f"file routes no Dutch document test covers: {unchecked}"
    assert len(DOCUMENTS) >= MINIMUM, f"only {len(DOCUMENTS)} documents checked"


def test_the_check_notices_english():
    """Nothing passes by construction: an English line in a document's text is found, A's own words are not."""
    assert "receipt" in english_words() or "received" in english_words()
    found = english_on_a_dutch_page(["Ontvangstbewijs", "Thank you for your donation", f"Books {MARKER}"], MARKER)
    assert len(found) == 1 and found[0].startswith("Thank/") and "/you/your in " in found[0], found


def test_an_english_document_is_caught(dutch):
    """The same reading and checking find English in a real document: the leader's export, with her
    stored language English for one request."""
    from portal.accounts.models import User

    User.update(language="en").where(User.id == dutch.leader.id).execute()
    try:
        response = dutch.readers["leader"].get("/leader/reconcile/export.xlsx")
    finally:
        User.update(language="nl").where(User.id == dutch.leader.id).execute()
    assert response.status_code == 200
    texts = texts_of(response.data, response.headers["Content-Type"])
    found = english_in(texts)
    assert found, texts[:40]
