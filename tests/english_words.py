"""English on a Dutch page or document: the words of the catalogue's English texts that no Dutch text uses.

Shared by the browser sweep (tests/browser/test_sweep.py: every Dutch page) and the documents
(tests/test_dutch_documents.py: every Dutch PDF and export). `english_words()` are the words of
the portal's English texts (the catalogue's msgids) that none of its Dutch texts (translations,
Dutch content pages) uses; `english_on_a_dutch_page(texts, marker)` finds them in a page's or a
document's texts, leaving out what company A's world typed as its users would (TYPED_BY_USERS,
names and numbers with its marker), addresses and paths.
"""

from __future__ import annotations

import pathlib
import re
from functools import cache

ROOT = pathlib.Path(__file__).resolve().parents[1]

# A word stands alone: letters inside a run of letters and digits (a SHA-256 digest on the audit
# page, "...35fee98be9...") are no word, whatever they spell.
WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]+(?:'[a-z]+)?(?![A-Za-z0-9])")
# Words that English and Dutch share, or Dutch abbreviations: never a sign of English.
SHARED_WORDS = {"net", "do", "data", "top", "as", "her", "file", "die", "door", "want", "is", "in", "over",
                "was", "been", "hard", "arm", "man", "van", "me", "we", "ze", "al", "en", "of", "op", "ok"}
# What company A's world typed as its users would (tests/security/tenant_objects.py): their own
# words, not the portal's.
TYPED_BY_USERS = ("How many hours?", "Renovation", "Engineer", "Infra", "For group 8", "Laptops", "Payer",
                  "Acme B.V.", "Books", "Chairs", "Change", "Gift", "Donation", "Stuck", "Fixed monthly fee",
                  "cv.pdf", "tenant.csv")


@cache
def english_words() -> frozenset[str]:
    """Words of the portal's English texts (the catalogue's msgids) that none of its Dutch texts (the
    translations, the Dutch content pages) uses: on a Dutch page each is a text left in English."""
    from babel.messages.pofile import read_po

    def words(text: str) -> set[str]:
        text = re.sub(r"%\([^)]*\)[a-z]|\{[^}]*\}|<[^>]*>", " ", text)
        return {w.lower() for w in WORD.findall(text) if len(w) > 1}

    english, dutch = set(), set()
    with open(ROOT / "portal/translations/nl/LC_MESSAGES/messages.po", "rb") as po:
        for message in read_po(po):
            if not message.id:
                continue
            for source in (message.id if isinstance(message.id, tuple | list) else [message.id]):
                english |= words(source)
            for translation in (message.string if isinstance(message.string, tuple | list) else [message.string]):
                dutch |= words(translation or "")
    for page in (ROOT / "content" / "nl").rglob("*.md"):
        dutch |= words(page.read_text(encoding="utf-8"))
    return frozenset(english - dutch - SHARED_WORDS)


def english_on_a_dutch_page(texts: list[str], marker: str) -> list[str]:
    """The English words among a Dutch page's texts, each with the text it stands in."""
    found = []
    for text in texts:
        bare = text
        for typed in TYPED_BY_USERS:
            bare = bare.replace(typed, " ")
        bare = re.sub(rf"(?:\S+ )?\S*{re.escape(marker)}\S*", " ", bare)   # a name or number of A's own
        bare = re.sub(r"\S+@\S+|https?://\S+|(?<!\S)/\S+", " ", bare)       # addresses and paths
        bare = re.sub(r"\b\w+(?:Error|Exception): .*", " ", bare)           # what a failed task raised
        words = sorted({w for w in WORD.findall(bare) if w.lower() in english_words()})
        if words:
            found.append(f"{'/'.join(words)} in {text.strip()[:80]!r}")
    return found
