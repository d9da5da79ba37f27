"""`portal content check`: passes on the real content, and names file and line for each
kind of mistake."""

import datetime as dt

import pytest
from click.testing import CliRunner

from portal.cli import main
from portal.content.check import check


def run_check(app, folder, today=dt.date(2026, 11, 28)):
    return [str(p) for p in check(app, folder.root, today=today)]


def test_the_real_content_is_clean(app):
    problems = check(app)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert [str(p) for p in problems] == []


def test_cli_exit_codes(folder, monkeypatch):
    folder.basic()
    runner = CliRunner()
    ok = runner.invoke(main, ["content", "check", "--content-dir", str(folder.root)])
    assert ok.exit_code == 0, ok.output
    assert "0 error(s)" in ok.output
    folder.write("nl/stuk.md", "title: A\nsummary: B", "Zie [weg](/bestaat-niet).\n")
    bad = runner.invoke(main, ["content", "check", "--content-dir", str(folder.root)])
    assert bad.exit_code == 1
    assert "stuk.md:5: error: link /bestaat-niet leads nowhere" in bad.output


@pytest.mark.parametrize(("body", "expected"), [
    ("Zie [weg](/nergens).\n", "x.md:5: error: link /nergens leads nowhere"),
    ("Zie [kop](#geen-kop).\n", "x.md:5: error: link #geen-kop: no heading or question"),
    ("Zie [vraag](/voor-werkgevers#geen-vraag).\n", "has no heading or question with id 'geen-vraag'"),
    ("Zie [relatief](voor-werkgevers).\n", "write site links from the root"),
    ("Tekst\n\n![](/static/favicon.svg)\n", "x.md:7: error: image /static/favicon.svg has no alt text"),
    ("![Logo](/static/bestaat-niet.png)\n", "does not exist in portal/static/"),
    ("![Logo](https://cdn.example/logo.png)\n", "images are files under /static/"),
    ("Tekst\n\n<div>rauw</div>\n", "x.md:7: error: raw HTML is not allowed"),
    ("[x](javascript:alert(1))\n", "x.md:5: error: link with an unsafe scheme"),
    ("# Tweede titel\n", "x.md:5: error: a '#' heading in the body"),
    ("[x](ftp://example.org/file)\n", "only http(s), mailto, tel"),
])
def test_each_mistake_is_named_with_file_and_line(app, folder, body, expected):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.", body)
    found = run_check(app, folder)
    assert any(expected in p for p in found), found


def test_links_that_work(app, folder):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.\nsources:\n  - ref: https://example.org\n"
                            "    backs: [a@b.nl]",
                 "[a](/voor-werkgevers#bijdragen) [b](/register) [c](/en/for-employers#benefits) "
                 "[d](https://example.org) [e](mailto:a@b.nl) [f](/#over) [g](/login)\n\n"
                 "![Logo](/static/favicon.svg)\n")
    found = [p for p in run_check(app, folder) if "x.md" in p and "error" in p]
    assert found == []


def test_faq_answer_links_are_checked_with_their_line(app, folder):
    folder.basic()
    folder.write("nl/vragen.md", """
        title: Vragen
        summary: S.
        faq:
          - id: company
            title: Bedrijven
            items:
              - id: een
                question: Een?
                answer: |
                  Eerste regel.
                  Zie [weg](/nergens).
        """)
    found = run_check(app, folder)
    assert any("vragen.md:12: error: link /nergens leads nowhere" in p for p in found), found


def test_translation_problems(app, folder):
    folder.basic()
    folder.write("en/orphan.md", "title: O\nsummary: S.\nslug: orphan")
    folder.write("en/employers.md", """
        title: For employers
        summary: S.
        slug: for-employers
        translationKey: employers
        faq:
          - id: company
            title: Companies
            items:
              - id: other-id
                question: Q?
                answer: A.
        """)
    folder.write("nl/leeg.md", "title: L\nsummary: S.")
    folder.write("en/leeg.md", "title: E\nsummary: S.", "")
    found = run_check(app, folder)
    assert any("orphan.md:1: error: no Dutch page with translationKey 'orphan'" in p for p in found), found
    assert any("en/employers.md:1: error: FAQ ids differ" in p and "missing bijdragen" in p for p in found), found
    assert any("en/leeg.md" in p and "empty translation" in p for p in found), found
    assert any("nl/leeg.md" not in p or "warning" in p for p in found)


def test_slugs_that_other_routes_take_and_aliases_that_never_redirect(app, folder):
    folder.basic()
    folder.write("nl/login.md", "title: L\nsummary: S.\nslug: login")
    folder.write("nl/oud.md", "title: O\nsummary: S.\naliases: [/register, /en/for-employers]")
    found = run_check(app, folder)
    assert any("login.md:1: error: address /login is answered by accounts.login" in p for p in found), found
    assert any("oud.md:1: error: alias /register is an address of accounts.register" in p for p in found), found
    assert any("oud.md:1: error: alias /en/for-employers is the address of" in p for p in found), found


def test_overdue_review_is_a_warning(app, folder):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.\nreviewBy: 2026-01-01\nowner: projectleider")
    found = run_check(app, folder)
    assert any("x.md:1: warning: reviewBy 2026-01-01 has passed: check the facts (projectleider)" in p for p in found)


def test_a_translation_older_than_its_source_is_flagged(app, folder):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.\nlastmod: 2026-11-20")
    folder.write("en/x.md", "title: X\nsummary: S.\nlastmod: 2026-11-01", "Text.\n")
    found = run_check(app, folder)
    assert any("en/x.md:1: warning:" in p and "after this translation (2026-11-01)" in p for p in found), found
