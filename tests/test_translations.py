"""Dutch first: every text of the interface has a Dutch translation that keeps its placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "portal" / "translations" / "nl" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sd]|\{\{.*?\}\}|\{\w+\}")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _msgid(message_id):
    return message_id[0] if isinstance(message_id, tuple) else message_id


@pytest.fixture(scope="module")
def catalogue():
    with PO.open("rb") as handle:
        return read_po(handle, locale="nl")


def test_the_catalogue_holds_every_text_in_the_code_and_templates(catalogue):
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    in_code = {_msgid(found[2]) for found in extract_from_dir(str(ROOT), method_map, options_map,
                                                              keywords={**KEYWORDS, "ngettext": (1, 2)})}
    in_catalogue = {_msgid(m.id) for m in catalogue if m.id}
    missing = sorted(in_code - in_catalogue)
    assert not missing, f"run `make messages` and translate: {missing[:20]}"


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _translated(message) -> bool:
    return all(s and s.strip() for s in _strings(message))


def test_translations_keep_the_placeholders_and_none_is_fuzzy(catalogue):
    fuzzy, broken = [], []
    for message in catalogue:
        if not message.id or not _translated(message):
            continue
        if message.fuzzy:
            fuzzy.append(_msgid(message.id))
        source = sorted(PLACEHOLDER.findall(_msgid(message.id)))
        if any(sorted(PLACEHOLDER.findall(s)) != source for s in _strings(message)):
            broken.append(_msgid(message.id))
    assert not fuzzy, f"fuzzy translations to check: {fuzzy[:20]}"
    assert not broken, f"placeholders differ from the English: {broken[:20]}"


def test_every_text_has_a_dutch_translation(catalogue):
    untranslated = [_msgid(m.id) for m in catalogue if m.id and not _translated(m)]
    assert not untranslated, f"{len(untranslated)} texts without Dutch: {untranslated[:20]}"


def test_a_dutch_visitor_reads_the_interface_in_dutch(client):
    page = client.get("/login", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert "Inloggen" in page and "Log in" not in page
    english = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Log in" in english
