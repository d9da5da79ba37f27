"""The visitor's language carries from an English page into the log-in form."""

from __future__ import annotations

import re


def test_the_log_in_link_of_an_english_page_opens_the_form_in_english(client):
    page = client.get("/en/", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    link = re.search(r'href="(/login\?lang=en)"', page)
    assert link, "the English page's log-in link does not carry the language"
    form = client.get(link.group(1), headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert '<html lang="en">' in form
    # The choice holds when the form comes back with an error.
    again = client.post("/login", data={"email": "nobody@example.nl", "password": "wrong"},
                        headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert '<html lang="en">' in again


def test_a_dutch_visitor_gets_dutch_without_a_choice(client):
    form = client.get("/login", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert '<html lang="nl">' in form


def test_an_unknown_language_in_the_link_is_ignored(client):
    form = client.get("/login?lang=xx", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert '<html lang="nl">' in form
