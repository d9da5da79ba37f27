"""Nothing without a source: every number, e-mail address, phone number, URL and legal name
on a page comes from its front matter `sources:` or from a setting, or `portal content
check` fails; settings reach a page through `{{ setting:NAME }}` and nowhere else."""

import datetime as dt

import pytest
from click.testing import CliRunner

from portal.cli import main
from portal.content import claims
from portal.content.check import check


def errors(app, folder, name="x.md"):
    return [str(p) for p in check(app, folder.root, today=dt.date(2026, 11, 28))
            if p.severity == "error" and name in p.path]


def warnings(app, folder, name="x.md"):
    return [str(p) for p in check(app, folder.root, today=dt.date(2026, 11, 28))
            if p.severity == "warning" and name in p.path and "source" in p.message]


def test_an_unsourced_number_fails_the_command(folder):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.", "Een ambassadeur krijgt € 175 per maand.\n")
    result = CliRunner().invoke(main, ["content", "check", "--content-dir", str(folder.root)])
    assert result.exit_code == 1
    assert "x.md:5: error: unsourced number 175" in result.output


def test_an_unsourced_address_fails_the_command(folder):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.", "Mail [ons](mailto:info@voorbeeld.nl).\n")
    result = CliRunner().invoke(main, ["content", "check", "--content-dir", str(folder.root)])
    assert result.exit_code == 1
    assert "x.md:5: error: unsourced e-mail address info@voorbeeld.nl" in result.output


@pytest.mark.parametrize(("body", "expected"), [
    ("Schrijf naar info@voorbeeld.nl.\n", "x.md:5: error: unsourced e-mail address info@voorbeeld.nl"),
    ("Bel 030 123 45 67.\n", "x.md:5: error: unsourced phone number 030 123 45 67"),
    ("Bel [ons](tel:+31301234567).\n", "x.md:5: error: unsourced phone number +31301234567"),
    ("Zie www.belastingdienst.nl voor de grenzen.\n", "x.md:5: error: unsourced URL www.belastingdienst.nl"),
    ("Zie [de site](https://example.org/a).\n", "x.md:5: error: unsourced URL https://example.org/a"),
    ("Kijk op voorbeeld.nl.\n", "x.md:5: error: unsourced URL voorbeeld.nl"),
    ("Verwerker is Stichting Goede Doelen Nederland.\n", "unsourced legal name Stichting Goede Doelen Nederland"),
    ("Leverancier is Pietersen Bouw B.V. uit Utrecht.\n", "unsourced legal name Pietersen Bouw B.V."),
    ("Tekst.\n\n| a | b |\n|---|---|\n| 4 uur | 6,15 |\n", "x.md:9: error: unsourced number 6,15"),
    ("## Kop\n\nAl sinds 2019.\n", "x.md:7: error: unsourced number 2019"),
])
def test_each_kind_of_claim_needs_a_source(app, folder, body, expected):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.", body)
    found = errors(app, folder)
    assert any(expected in p for p in found), found


def test_title_summary_questions_and_answers_are_checked_too(app, folder):
    folder.basic()
    folder.write("nl/x.md", """
        title: In 3 stappen
        summary: Voor 40 weken.
        faq:
          - id: company
            title: Bedrijven
            items:
              - id: vraag
                question: Kost het 5 uur?
                answer: |
                  Eerste regel.
                  Nee, 7 uur.
        """)
    found = errors(app, folder)
    for expected in ("x.md:2: error: unsourced number 3", "x.md:3: error: unsourced number 40",
                     "x.md:9: error: unsourced number 5", "x.md:12: error: unsourced number 7"):
        assert any(expected in p for p in found), (expected, found)


def test_sources_back_what_they_list_however_it_is_written(app, folder):
    folder.basic()
    folder.write("nl/x.md", """
        title: X
        summary: S.
        sources:
          - ref: https://example.org/regels
            backs: ["EUR 2,100", "12:00", "info@voorbeeld.nl", "+31 30 123 4567", "Pietersen Bouw B.V."]
          - ref: https://www.autoriteitpersoonsgegevens.nl/
        """, "Maximaal € 2.100, om 12.00 uur. Mail Info@Voorbeeld.nl of bel 030-1234567.\n\n"
             "Klacht? [De AP](https://autoriteitpersoonsgegevens.nl/nl/contact). Pietersen Bouw B.V. helpt.\n"
             "Zie ook https://example.org/regels/2026.\n")
    assert errors(app, folder) == []
    assert warnings(app, folder) == []


def test_dates_in_front_matter_and_internal_links_are_not_claims(app, folder):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.\nlastmod: 2026-11-02\nreviewBy: 2027-06-30\n"
                            "publishDate: 2026-01-01T09:00:00+01:00",
                 "Zie [werkgevers](/voor-werkgevers#opbrengst) en ![Logo](/static/favicon.svg).\n")
    assert errors(app, folder) == []


def test_a_source_file_must_state_what_it_backs(app, folder):
    folder.basic()
    folder.write("nl/x.md", """
        title: X
        summary: S.
        sources:
          - ref: portal/enrollment/models.py
            backs: ["16000", "999"]
          - ref: portal/bestaat-niet.md
            backs: ["12"]
          - ref: portal/config.py
            backs: ["de projectleider"]
        """, "Het is 16000 en 999 en 12.\n")
    found = errors(app, folder)
    assert any("x.md:4: error: sources: portal/enrollment/models.py does not state the number 999" in p
               for p in found), found
    assert not any("does not state the number 16000" in p for p in found), found
    assert any("source portal/bestaat-niet.md does not exist" in p for p in found), found
    assert any("'de projectleider' (from portal/config.py) names no number" in p for p in found), found
    # a figure the file does not state stays unsourced on the page as well
    assert any("x.md:12: error: unsourced number 999" in p for p in found), found


def test_a_source_backing_what_the_page_does_not_show_is_a_warning(app, folder):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.\nsources:\n  - ref: https://example.org\n    backs: ['2024']",
                 "Geen getallen.\n")
    assert any("x.md:4: warning: sources back '2024' but the page does not show it" in p
               for p in warnings(app, folder))


def test_a_setting_is_shown_filled_in_and_is_not_a_claim(make_app, folder):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.\nslug: x",
                 "Verantwoordelijk: {{ setting:ISSUER_NAME }}, {{ setting:ISSUER_ADDRESS }}, "
                 "KvK {{setting:ISSUER_KVK}}.\n")
    application = make_app(folder, ISSUER_NAME="Stichting <Proef> & Co", ISSUER_ADDRESS="Straat 9, 3511 AB Utrecht",
                           ISSUER_KVK="12345678")
    html = application.test_client().get("/x").get_data(as_text=True)
    assert "Verantwoordelijk: Stichting &lt;Proef&gt; &amp; Co, Straat 9, 3511 AB Utrecht, KvK 12345678." in html
    assert "setting:" not in html
    with application.app_context():
        found = [str(p) for p in check(application, folder.root) if p.severity == "error" and "x.md" in p.path]
    assert found == []


def test_search_and_api_show_the_setting_too(make_app, folder):
    folder.basic()
    folder.write("nl/x.md", "title: Verantwoordelijke\nsummary: S.\nslug: x", "Dat is {{ setting:ISSUER_NAME }}.\n")
    client = make_app(folder, ISSUER_NAME="Stichting Proefdraaien").test_client()
    page = client.get("/api/v1/pages/x").get_json()
    assert "Stichting Proefdraaien" in page["html"] and "setting:" not in page["text"]
    results = client.get("/api/v1/search", query_string={"q": "Proefdraaien", "lang": "nl"}).get_json()
    assert [item["path"] for item in results["items"]] == ["/x"]


def test_only_allowed_settings_and_only_in_body_and_answers(app, folder):
    folder.basic()
    folder.write("nl/x.md", """
        title: "Over {{ setting:ISSUER_NAME }}"
        summary: S.
        faq:
          - id: company
            title: Bedrijven
            items:
              - id: vraag
                question: "Wie is {{ setting:ISSUER_NAME }}?"
                answer: "Dat is {{ setting:ISSUER_NAME }}."
        """, "Geheim: {{ setting:SECRET_KEY }}\n")
    found = errors(app, folder)
    assert any("x.md:2: error: title: settings are shown only in the body and in FAQ answers" in p for p in found)
    assert any("x.md:9: error: a question cannot show a setting" in p for p in found), found
    assert any("error: {{ setting:SECRET_KEY }} is not a setting a page may show" in p for p in found), found
    assert not any(":10:" in p for p in found), found


def test_an_unknown_setting_is_never_filled_in(make_app, folder):
    folder.basic()
    folder.write("nl/x.md", "title: X\nsummary: S.\nslug: x", "Sleutel: {{ setting:SECRET_KEY }}\n")
    application = make_app(folder, SECRET_KEY="zeer-geheim-en-lang-genoeg-voor-de-test-12345")
    html = application.test_client().get("/x").get_data(as_text=True)
    assert "zeer-geheim" not in html and "{{ setting:SECRET_KEY }}" in html


def test_the_privacy_page_names_the_controller_from_settings(make_app):
    application = make_app(ISSUER_NAME="Stichting Proefverwerker", ISSUER_ADDRESS="Proefstraat 1, 3500 AA Utrecht",
                           ISSUER_KVK="87654321")
    client = application.test_client()
    for path in ("/privacy", "/en/privacy"):
        html = client.get(path).get_data(as_text=True)
        assert "Stichting Proefverwerker" in html and "Proefstraat 1, 3500 AA Utrecht" in html, path
        assert "87654321" in html, path


def test_claims_are_found_with_their_kind():
    found = claims.find("Bel 06-12345678 of mail a.b@c.nl; zie https://x.nl/pad. Om 12.00 uur, 0,2 fte, "
                        "2021-2022, {{ setting:ISSUER_KVK }} en Stichting Vrienden Van Utrecht.")
    assert [(c.kind, c.text) for c in found] == [
        ("email", "a.b@c.nl"), ("url", "https://x.nl/pad"), ("phone", "06-12345678"),
        ("legal", "Stichting Vrienden Van Utrecht"),
        ("number", "12.00"), ("number", "0,2"), ("number", "2021"), ("number", "2022")]
    assert claims.find("Zes tot acht uur, vijf donderdagen en MT940.") == []
