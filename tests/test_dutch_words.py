"""Words a user reads, in the user's language: amounts written as Dutch writes them, contributions
named from codes and facts when shown (statements issued with English sentences included), one
hours format per language, counts that agree with their noun, readable audit actions and export
filters, one current menu item, and the footer's donate link in the page's language."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from flask_babel import force_locale

from portal.core import money
from portal.core.contributions import Contribution, describe
from portal.core.templating import format_hours_unit

D = dt.date


def text(response) -> str:
    assert response.status_code == 200, response.data[:1000]
    return html.unescape(response.get_data(as_text=True))


# --- money ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cents", "dutch", "english"), [
    (-429, "€ -4,29", "-€4.29"),
    (-123_456, "€ -1.234,56", "-€1,234.56"),
    (429, "€ 4,29", "€4.29"),
    (0, "€ 0,00", "€0.00"),
])
def test_amounts_are_written_as_each_language_writes_them(cents, dutch, english):
    assert money.format_eur(cents, "nl") == dutch
    assert money.format_eur(cents, "en") == english


def test_a_negative_amount_on_a_dutch_page_has_the_sign_beside_the_number(app):
    with app.test_request_context(), force_locale("nl"):
        rendered = app.jinja_env.from_string("{{ -429|eur }}").render()
    assert rendered == "€ -4,29"


# --- contributions in words -------------------------------------------------------------------------

OLD_HOURS = {"kind": "hours_sponsored", "key": "hours:1", "person": "Iris Brouwer",
             "description": "Sponsored hours of Iris Brouwer at OBS De Klimop"}


def test_a_contribution_is_put_into_words_in_the_readers_language(app):
    hours = Contribution(kind="hours_sponsored", key="hours:1", company_id=1, on=D(2026, 9, 8), value_cents=0,
                         basis="none", person="Iris Brouwer", what="hours_correction", subject="OBS De Klimop")
    refund = Contribution(kind="money", key="donation:4:refund:1", company_id=1, on=D(2026, 10, 1),
                          value_cents=-500, basis="at_cost", classification="gift", what="refund", subject="G-000004")
    gift = Contribution(kind="money", key="donation:4", company_id=1, on=D(2026, 10, 1), value_cents=500,
                        basis="at_cost", classification="gift", what="donation", subject="G-000004",
                        detail="OBS De Klimop · leesboeken")
    with app.test_request_context():
        with force_locale("nl"):
            assert describe(hours) == "Correctie · Iris Brouwer · OBS De Klimop"
            assert describe(refund) == "Terugbetaling · G-000004"
            assert describe(gift) == "Gift · G-000004 · OBS De Klimop · leesboeken"
        with force_locale("en"):
            assert describe(hours) == "Correction · Iris Brouwer · OBS De Klimop"
            assert describe(refund) == "Refund · G-000004"


@pytest.mark.parametrize(("line", "dutch"), [
    (OLD_HOURS, "Iris Brouwer · OBS De Klimop"),
    ({**OLD_HOURS, "description": "Sponsored reversal of hours of Iris Brouwer at OBS De Klimop"},
     "Tegenboeking · Iris Brouwer · OBS De Klimop"),
    ({**OLD_HOURS, "kind": "hours_volunteered", "description": "Volunteered corrected hours of Iris Brouwer"},
     "Correctie · Iris Brouwer"),
    # A name with " at " in it is still read right: the person is known apart.
    ({**OLD_HOURS, "person": "Jan at Home", "description": "Sponsored hours of Jan at Home at OBS Zon"},
     "Jan at Home · OBS Zon"),
    ({"kind": "money", "key": "donation:4:refund:1", "description": "Refund of G-000004"}, "Terugbetaling · G-000004"),
    ({"kind": "money", "key": "d", "description": "Chargeback of G-000004"}, "Terugboeking · G-000004"),
    ({"kind": "money", "key": "d", "description": "Chargeback of G-000004 reversed"},
     "Terugboeking teruggedraaid · G-000004"),
    ({"kind": "money", "key": "d", "classification": "sponsoring", "description": "Sponsoring: OBS Zon"},
     "Sponsoring · OBS Zon"),
    ({"kind": "material", "key": "material:3", "description": "3 × laptops"}, "3 × laptops"),
    ({"kind": "money", "key": "d", "description": "Something a source once wrote"}, "Something a source once wrote"),
])
def test_sentences_stored_by_statements_of_version_1_are_shown_in_dutch(app, line, dutch):
    with app.test_request_context(), force_locale("nl"):
        assert describe(line) == dutch


# --- hours ------------------------------------------------------------------------------------------

def test_hours_have_one_format_per_language_on_screen_and_on_paper(app):
    with app.test_request_context():
        with force_locale("nl"):
            assert format_hours_unit(225, "nl") == "3:45 u"
            assert format_hours_unit(74_045, "nl") == "1.234:05 u"
            assert app.jinja_env.from_string("{{ 225|hours_unit }}").render() == "3:45 u"
        with force_locale("en"):
            assert format_hours_unit(225, "en") == "3:45 h"
            assert format_hours_unit(-90, "en") == "-1:30 h"


# --- pages ------------------------------------------------------------------------------------------

def test_one_menu_item_is_current_at_a_time(leader_client):
    for path in ("/leader", "/leader/statements", "/leader/reconcile/export"):
        page = text(leader_client.get(path))
        nav = page.split("<main", 1)[0]
        assert nav.count('aria-current="page"') <= 1, path
    page = text(leader_client.get("/leader/statements"))
    current = re.findall(r'<a href="([^"]+)" aria-current="page"', page.split("<main", 1)[0])
    assert current == ["/leader/statements"]


def test_the_english_footer_donates_in_english(app, client):
    page = text(client.get("/give", headers={"Accept-Language": "en"}))
    footer = page.rsplit("<footer", 1)[1]
    link = re.search(r'<a href="(/give[^"]*)"[^>]*>Donate</a>', footer)
    assert link and "lang=en" in link.group(1)
    # A Dutch browser following it gets the English page.
    dutch_browser = app.test_client()
    english = text(dutch_browser.get(link.group(1), headers={"Accept-Language": "nl"}))
    assert 'lang="en"' in english


def test_the_donate_page_promises_no_online_payment_when_there_is_none(app, client):
    app.config["STRIPE_SECRET_KEY"] = ""
    page = text(client.get("/give", headers={"Accept-Language": "en"}))
    assert "Pay online now" not in page
    assert "payment request" in page


def test_export_filters_and_columns_are_words(leader_client):
    page = text(leader_client.get("/leader/reconcile/export"))
    options = " ".join(re.findall(r"<option[^>]*>([^<]*)</option>", page))
    for code in ("hours_sponsored", "hours_volunteered", "in_kind", "stripe"):
        assert code not in options, code
    assert "Sponsored hours" in options and "Online payment" in options and "In kind" in options
    headers = re.findall(r'<th scope="col">([^<]*)</th>', page)
    assert headers and not any("_" in header for header in headers), headers


def test_audit_actions_are_words(app, leader_client, make_company):
    from portal.core import audit
    from portal.core.db import atomic_write

    company = make_company("Acme")
    with app.test_request_context(), atomic_write():
        audit.record("statement.issued", actor=None, company=company, number="OA-2026-0001")
    page = text(leader_client.get("/leader/audit"))
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page)
    assert "Statement issued" in cells
    assert "statement.issued" not in cells


def test_counts_agree_with_their_noun_on_the_statements_panel(app, leader_client):
    """'1 statement needs a correction', never '1 need a correction'."""
    with app.test_request_context(), force_locale("en"):
        one = app.jinja_env.from_string(
            '{{ ngettext("%(num)d statement needs a correction", "%(num)d statements need a correction", 1) }}').render()
        two = app.jinja_env.from_string(
            '{{ ngettext("%(num)d statement needs a correction", "%(num)d statements need a correction", 2) }}').render()
    assert (one, two) == ("1 statement needs a correction", "2 statements need a correction")
    panel = open(app.jinja_loader.searchpath[0] + "/statements/_dashboard_panel.html", encoding="utf-8").read()
    assert "ngettext(" in panel and 'count=st.flags|length) }}' not in panel


PLURAL_NOUNS = ("ambassadors", "sessions", "lines", "rows", "placements", "enrolments", "statements",
                "reminders", "allocations", "days", "commitments", "companies", "problems", "to-dos")


def test_no_template_puts_a_count_before_a_plural_noun_without_ngettext(app):
    """A msgid '%(count)d <plural noun>' reads '1 ambassadeurs' for one: every such count uses ngettext."""
    import pathlib

    root = pathlib.Path(app.root_path).parent / "templates"
    offenders = []
    pattern = re.compile(r'\b_\("[^"]*%\((?:count|n|total)\)d (' + "|".join(map(re.escape, PLURAL_NOUNS)) + r')\b')
    for path in root.rglob("*.*"):
        if path.suffix not in (".html", ".txt") or "content" in path.parts or "contact" in path.parts:
            continue
        if path.parts[-2:] == ("reconcile", "queue.html"):   # the reconciliation work list is being rebuilt
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(root)}:{number}")
    assert offenders == []


def test_offer_and_donation_numbers_do_not_wrap(app, leader_client, make_company):
    """'M-000002' is one word: a narrow column broke it into 'M-' over '000002'."""
    from portal.giving.models import MaterialPledge

    company = make_company("Acme")
    pledge = MaterialPledge.create(company=company.id, description="Leesboeken", quantity=12, declared_value_cents=9_000,
                                   classification="gift", status="pledged", form_token="pledge-nowrap")
    page = text(leader_client.get("/giving/leader"))
    cell = re.search(rf'<td([^>]*)><a href="[^"]*">M-{pledge.id:06d}</a></td>', page)
    assert cell and 'class="nowrap"' in cell.group(1)
    css = open(app.static_folder + "/portal.css", encoding="utf-8").read()
    assert re.search(r"\.nowrap \{[^}]*white-space: nowrap", css)
