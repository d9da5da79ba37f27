"""Front matter is typed: unknown keys, YAML pitfalls and impossible values are errors with a
line number, and a malformed page is left out while the rest of the site stays up."""

import datetime as dt
import logging

from portal.content.loader import build_site
from portal.content.model import AMSTERDAM


def problems_of(folder):
    return [str(p) for p in build_site(folder.root).problems]


def test_unknown_key_is_an_error_with_its_line(folder):
    folder.write("nl/a.md", "title: A\nsummary: B\ncolour: red")
    [problem] = problems_of(folder)
    assert "a.md:4: error: colour: unknown key" in problem


def test_unquoted_no_is_caught_not_turned_into_false(folder):
    folder.write("nl/a.md", "title: no\nsummary: B")
    [problem] = problems_of(folder)
    assert "a.md:2: error: title" in problem and "boolean" in problem


def test_unquoted_time_is_caught_not_turned_into_750(folder):
    folder.write("nl/a.md", "title: A\nsummary: 12:30")
    [problem] = problems_of(folder)
    assert "a.md:3: error: summary" in problem and "12:30" in problem


def test_the_same_values_quoted_are_fine(folder):
    folder.write("nl/a.md", 'title: "no"\nsummary: "12:30"')
    site = build_site(folder.root)
    assert not site.problems
    page = site.by_slug[("nl", "a")]
    assert (page.title, page.summary) == ("no", "12:30")


def test_impossible_date_names_its_key_and_line_and_other_errors_still_show(folder):
    folder.write("nl/a.md", "title: A\nsummary: B\npublishDate: 2026-13-01\nweight: heavy")
    found = problems_of(folder)
    assert any("a.md:4: error: publishDate" in p for p in found), found
    assert any("a.md:5: error: weight" in p for p in found), found


def test_a_key_given_twice_is_an_error(folder):
    folder.write("nl/a.md", "title: A\nsummary: B\ntitle: C")
    assert any("a.md:4: error: key 'title' appears twice" in p for p in problems_of(folder))


def test_dates_without_offset_are_amsterdam_time(folder):
    folder.write("nl/a.md", "title: A\nsummary: B\npublishDate: 2026-07-01\nexpiryDate: 2026-12-01 09:30")
    page = build_site(folder.root).by_slug[("nl", "a")]
    assert page.publish == dt.datetime(2026, 7, 1, 0, 0, tzinfo=AMSTERDAM)
    assert page.publish.utcoffset() == dt.timedelta(hours=2)  # summer time
    assert page.expiry.utcoffset() == dt.timedelta(hours=1)  # winter time
    assert page.expiry.hour == 9 and page.expiry.minute == 30


def test_expiry_must_follow_publication(folder):
    folder.write("nl/a.md", "title: A\nsummary: B\npublishDate: 2026-07-01\nexpiryDate: 2026-06-01")
    assert any("expiryDate must be after publishDate" in p for p in problems_of(folder))


def test_faq_errors_point_into_the_list(folder):
    folder.write("nl/a.md", """
        title: A
        summary: B
        faq:
          - id: company
            title: Bedrijven
            items:
              - id: Not An Id
                question: Q?
                answer: A.
        """)
    [problem] = problems_of(folder)
    assert "a.md:8: error: faq.0.items.0.id" in problem


def test_missing_front_matter_and_broken_yaml(folder):
    (folder.root / "nl" / "plain.md").write_text("Just text\n", encoding="utf-8")
    folder.write("nl/broken.md", "title: [unclosed\nsummary: B")
    found = problems_of(folder)
    assert any("plain.md:1: error: no front matter" in p for p in found)
    assert any("broken.md" in p and "not valid YAML" in p for p in found)


def test_a_malformed_page_is_left_out_and_logged_while_the_site_stays_up(folder, make_app, caplog):
    folder.basic()
    folder.write("nl/kapot.md", "title: A\nsummary: B\nonbekend: 1")
    with caplog.at_level(logging.ERROR, logger="portal.content"):
        application = make_app(folder)
    assert any("kapot.md:4" in r.getMessage() for r in caplog.records)
    client = application.test_client()
    assert client.get("/kapot").status_code == 404
    assert client.get("/voor-werkgevers").status_code == 200
    assert client.get("/").status_code == 200


def test_duplicate_slug_keeps_one_page_and_reports_the_other(folder):
    folder.write("nl/a.md", "title: A\nsummary: B\nslug: zelfde")
    folder.write("nl/b.md", "title: B\nsummary: B\nslug: zelfde")
    site = build_site(folder.root)
    assert site.by_slug[("nl", "zelfde")].title == "A"
    assert any("b.md" in str(p) and "slug 'zelfde' is already used" in str(p) for p in site.problems)
