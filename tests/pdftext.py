"""Text of a PDF as pypdf reads it back, compared so that it does not matter where a line breaks.

Where WeasyPrint breaks a line depends on the font's metrics, and pypdf turns every line break
into a newline: with another font "file:///etc/passwd" may come back as "file:///etc/\\npasswd"
or "file:///\\netc/passwd", and with `overflow-wrap: anywhere` a break may even fall inside a
word or a number. So tests never search the raw extract for anything longer than a line can
be sure to hold. Instead:

- `pdf_text(data)` is the text of all pages with every run of whitespace (newlines, NBSP, thin
  spaces) collapsed to one space: good for reading, for messages and for regexes that allow a
  space where a line may break;
- `pages_text(data)` is the same per page, for checks that must hold on a particular page;
- `assert_in_pdf(needle, text_or_data)` / `pdf_contains(...)` / `count_in_pdf(...)` ignore
  whitespace between any two characters of the needle, so a line break anywhere, even inside a
  word or a number, cannot hide it. Where the needle itself has a space, the text must have
  whitespace too (a line break at a space still leaves a newline), so "€ 400,00" does not match
  "€400,00" and "NL91 ABNA 0417" does not match "NL91ABNA0417": a needle keeps its spacing;
- `assert_not_in_pdf(needle, text_or_data)` checks that the needle is absent both from the
  collapsed text and from the whitespace-free text, so a line break cannot hide a leak either.
"""

from __future__ import annotations

import functools
import io
import re

import pypdf

__all__ = ["assert_in_pdf", "assert_not_in_pdf", "collapse", "count_in_pdf", "pages_text", "pdf_contains",
           "pdf_text", "squeeze"]

_WHITESPACE = re.compile(r"\s+")
# Characters that never print but may sit where a line could break: soft hyphen, zero-width
# space and joiners, word joiner, BOM.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
# Ligature glyphs a font may map back to one code point (ToUnicode), spelt out.
_LIGATURES = {0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "st", 0xFB06: "st"}
_TRANSLATION = {**_INVISIBLE, **_LIGATURES}


def _raw_pages(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(bytes(data))).pages]


def collapse(text: str) -> str:
    """Every run of whitespace (NBSP and other Unicode spaces included) as one space, trimmed."""
    return _WHITESPACE.sub(" ", text.translate(_TRANSLATION)).strip()


@functools.lru_cache(maxsize=256)
def squeeze(text: str) -> str:
    """The text without any whitespace: what is left is independent of where lines break."""
    return _WHITESPACE.sub("", text.translate(_TRANSLATION))


def pages_text(data: bytes) -> list[str]:
    """The collapsed text of each page, in page order."""
    return [collapse(text) for text in _raw_pages(data)]


def pdf_text(data: bytes) -> str:
    """The collapsed text of all pages, joined by one space."""
    return " ".join(text for text in pages_text(data) if text)


def _text_of(haystack) -> str:
    if isinstance(haystack, (bytes, bytearray, memoryview)):
        return pdf_text(bytes(haystack))
    if isinstance(haystack, str):
        return collapse(haystack)
    raise TypeError(f"expected PDF bytes or extracted text, not {type(haystack).__name__}")


def _needle(needle: str) -> str:
    if not isinstance(needle, str) or not squeeze(needle):
        raise ValueError(f"a needle must be a string with something printable in it, not {needle!r}")
    return needle


@functools.lru_cache(maxsize=256)
def _pattern(needle: str) -> re.Pattern:
    """The needle with optional whitespace between any two characters and whitespace where it has some."""
    words = _WHITESPACE.split(_needle(needle).translate(_TRANSLATION))
    return re.compile(r"\s+".join(r"\s*".join(map(re.escape, word)) for word in words))


def pdf_contains(needle: str, haystack) -> bool:
    """True if `needle` is in the PDF (bytes) or extracted text, wherever lines break."""
    return _pattern(needle).search(_text_of(haystack)) is not None


def count_in_pdf(needle: str, haystack) -> int:
    """How often `needle` occurs (not overlapping), wherever lines break."""
    return len(_pattern(needle).findall(_text_of(haystack)))


def _excerpt(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else text[:limit] + " [...]"


def assert_in_pdf(needle: str, haystack) -> None:
    """Fail unless `needle` is in the PDF, wherever lines break (in a word or a number too)."""
    text = _text_of(haystack)
    assert _pattern(needle).search(text), f"{needle!r} is not in the PDF text: {_excerpt(text)!r}"


def assert_not_in_pdf(needle: str, haystack) -> None:
    """Fail if `needle` is in the PDF as printed or with any whitespace added or removed anywhere in it.

    Stricter than `not pdf_contains(...)`: the whitespace-free text is searched too, so neither a
    line break inside the needle nor one missing between two of its words can hide a leak."""
    text = _text_of(haystack)
    assert collapse(_needle(needle)) not in text, f"{needle!r} is in the PDF text: {_excerpt(text)!r}"
    assert squeeze(needle) not in squeeze(text), (
        f"{needle!r} is in the PDF text once whitespace is ignored: {_excerpt(text)!r}")
