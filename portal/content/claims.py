"""Figures, addresses and legal names in a text: the claims a content page must source.

A claim is a number (160, 0,2, 12.00, 2021), an e-mail address, a phone number, a URL or
web address, or a legal name (Stichting X, X B.V.). Numbers written in words are not
claims. Each claim has a key that ignores how it is written, so a page and its source
match although they format differently:

- a number: its digits (2.100, 2,100 and 2100 are one figure; 12.00 and 12:00 too);
- an e-mail address: lower case;
- a URL: lower case, without scheme, `www.` and a final slash (a source's URL also backs
  every address below it);
- a phone number: its digits, +31 or 0031 written as 0;
- a legal name: lower case with single spaces.

`{{ setting:NAME }}` placeholders are not claims: their values come from the settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal.content.render import PLACEHOLDER

KINDS = {"number": "number", "email": "e-mail address", "phone": "phone number", "url": "URL",
         "legal": "legal name"}

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?<![\w@/.])(?:https?://|www\.)[^\s<>()\[\]{}\"']+", re.IGNORECASE)
DOMAIN = re.compile(r"(?<![\w@/.-])(?:[a-z0-9-]+\.)+(?:nl|com|org|net|eu|io|be|de|info|nu|gov|uk)(?![\w-])",
                    re.IGNORECASE)
PHONE = re.compile(r"(?<![\w+])(?:\+31|0031|0)[\s\-()]*\d(?:[\s\-()]*\d){8}(?!\d)")
_NAME_WORD = r"[A-Z0-9][\w&'-]*"
LEGAL_PREFIX = re.compile(rf"\b(?:Stichting|Vereniging|Coöperatieve?|Coöperatie)(?:\s+{_NAME_WORD})+")
LEGAL_SUFFIX = re.compile(rf"(?:\b{_NAME_WORD}\s+){{1,4}}"
                          r"(?:B\.V\.|B\.V|BV|N\.V\.|N\.V|NV|V\.O\.F\.|VOF|Ltd\.?|Inc\.?|GmbH|LLC|plc)(?![\w.])")
NUMBER = re.compile(r"(?<![\w.,:])\d+(?:[.,:]\d+)*")
_TRAILING = ".,;:!?'\""


@dataclass(frozen=True)
class Claim:
    kind: str  # one of KINDS
    text: str  # as written on the page
    key: str   # as compared with sources

    @property
    def label(self) -> str:
        return KINDS[self.kind]


def _url_key(url: str) -> str:
    key = re.sub(r"^(?:https?://)?(?:www\.)?", "", url.strip().rstrip(_TRAILING), flags=re.IGNORECASE)
    return key.rstrip("/").casefold()


def _phone_key(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if phone.lstrip().startswith("+31"):
        digits = "0" + digits[2:]
    elif digits.startswith("0031"):
        digits = "0" + digits[4:]
    return digits


def _legal_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def find(text: str) -> list[Claim]:
    """Every claim in `text`, in order of kind (addresses before the numbers in them)."""
    found: list[Claim] = []
    rest = PLACEHOLDER.sub(" ", text)

    def take(pattern: re.Pattern, kind: str, key) -> None:
        nonlocal rest
        for match in pattern.finditer(rest):
            written = match.group(0)
            if kind == "url":
                written = written.rstrip(_TRAILING)
            found.append(Claim(kind, written, key(written)))
        rest = pattern.sub(lambda m: " " * len(m.group(0)), rest)

    take(EMAIL, "email", str.casefold)
    take(URL, "url", _url_key)
    take(DOMAIN, "url", _url_key)
    take(PHONE, "phone", _phone_key)
    take(LEGAL_PREFIX, "legal", _legal_key)
    take(LEGAL_SUFFIX, "legal", _legal_key)
    take(NUMBER, "number", lambda n: re.sub(r"\D", "", n))
    return found


def from_href(href: str) -> Claim | None:
    """The claim a link's target makes: mailto:, tel: or an http(s) address (never a site path)."""
    lowered = href.lower()
    if lowered.startswith("mailto:"):
        address = href[7:].split("?")[0]
        return Claim("email", address, address.casefold())
    if lowered.startswith("tel:"):
        return Claim("phone", href[4:], _phone_key(href[4:]))
    if lowered.startswith(("http://", "https://")):
        return Claim("url", href, _url_key(href))
    return None


def is_backed(claim: Claim, backed: set[tuple[str, str]]) -> bool:
    """Whether a source backs the claim: the same key, or for a URL an address above it."""
    if (claim.kind, claim.key) in backed:
        return True
    if claim.kind == "url":
        return any(kind == "url" and (claim.key.startswith(key + "/") or claim.key.startswith(key + "#")
                                      or claim.key.startswith(key + "?"))
                   for kind, key in backed)
    return False


class Document:
    """A source file's text, to ask whether it states a claim."""

    def __init__(self, text: str) -> None:
        self.folded = " ".join(text.split()).casefold()
        self.numbers = {re.sub(r"\D", "", n) for n in NUMBER.findall(text)}
        self.keys = {(c.kind, c.key) for c in find(text)}

    def states(self, claim: Claim) -> bool:
        if claim.kind == "number":
            return claim.key in self.numbers
        if claim.kind in ("email", "phone") and (claim.kind, claim.key) in self.keys:
            return True
        return claim.key in self.folded
