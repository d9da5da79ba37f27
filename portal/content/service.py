"""Questions about a content snapshot at a given moment: plain arguments in, plain results out."""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass

from portal.content.loader import FaqEntry, Page, Site
from portal.content.model import LANGUAGES
from portal.content.render import fold

MAX_QUERY_LENGTH = 200
SNIPPET_RADIUS = 90


def find(site: Site, lang: str, slug: str) -> Page | None:
    """The page with this slug in this language, whatever its status."""
    return site.by_slug.get((lang, slug))


def public(site: Site, lang: str, slug: str, now: dt.datetime) -> Page | None:
    page = find(site, lang, slug)
    return page if page is not None and page.visible(now) else None


def translations(site: Site, page: Page, now: dt.datetime, *, preview: bool = False) -> dict[str, Page]:
    """The real translations of `page` (itself included) a visitor may see, by language."""
    found = {}
    for lang in LANGUAGES:
        other = site.translation(page, lang)
        if other is not None and (other.visible(now) or (preview and other is page)):
            found[lang] = other
    return found


def fallback_for(site: Site, lang: str, slug: str, now: dt.datetime) -> Page | None:
    """For a page missing in `lang`: the Dutch page with that slug or translation key."""
    if lang == "nl":
        return None
    for page in (find(site, "nl", slug), site.by_key.get(("nl", slug))):
        if page is not None and page.visible(now):
            own = site.translation(page, lang)
            if own is None or not own.visible(now):
                return page
    return None


def alias_target(site: Site, path: str, now: dt.datetime) -> Page | None:
    page = site.aliases.get(path.rstrip("/") or "/")
    return page if page is not None and page.visible(now) else None


@dataclass(frozen=True)
class Listed:
    page: Page
    fallback: bool


def listing(site: Site, lang: str, now: dt.datetime) -> list[Listed]:
    """Every public page of a language, plus Dutch pages not (yet) translated, marked fallback."""
    items = [Listed(p, False) for p in site.pages if p.lang == lang and p.visible(now)]
    if lang != "nl":
        for page in site.pages:
            if page.lang == "nl" and page.visible(now):
                own = site.translation(page, lang)
                if own is None or not own.visible(now):
                    items.append(Listed(page, True))
    items.sort(key=lambda item: (not item.page.is_home, item.page.weight, item.page.title.casefold()))
    return items


@dataclass(frozen=True)
class MenuLink:
    title: str
    path: str
    weight: int
    page: Page


def menu(site: Site, name: str, lang: str, now: dt.datetime) -> list[MenuLink]:
    links = [MenuLink(p.menus[name].title, p.path, p.menus[name].weight, p)
             for p in site.pages if p.lang == lang and name in p.menus and p.visible(now)]
    return sorted(links, key=lambda link: (link.weight, link.title.casefold()))


def faq(site: Site, lang: str, now: dt.datetime, category: str | None = None) -> list[tuple[Page, FaqEntry]]:
    """Every public FAQ entry of a language (optionally one category), in page order."""
    return [(page, entry) for page in site.pages if page.lang == lang and page.faq and page.visible(now)
            for entry in page.faq_entries if category is None or entry.category == category]


def faq_titles(site: Site, lang: str, now: dt.datetime) -> dict[str, str]:
    titles: dict[str, str] = {}
    for page in site.pages:
        if page.lang == lang and page.visible(now):
            for section in page.faq:
                titles.setdefault(section.id, section.title)
    return titles


def cache_seconds(site: Site, now: dt.datetime, ceiling: int) -> int:
    """How long a public answer may be cached: never past the next publication or expiry."""
    until = site.visibility(now).valid_until
    if until is None:
        return ceiling
    return max(0, min(ceiling, int((until - now).total_seconds())))


def sitemap(site: Site, now: dt.datetime) -> list[tuple[Page, dict[str, Page]]]:
    """Public pages in their own language with their public translations (never fallbacks)."""
    return [(page, translations(site, page, now)) for page in site.pages if page.visible(now)]


# --- search -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Document:
    page: Page
    entry: FaqEntry | None
    title: str
    summary: str
    text: str
    folded_title: str
    folded_summary: str
    folded_text: str
    positions: tuple[int, ...]  # folded_text index -> text index


@dataclass(frozen=True)
class Hit:
    kind: str  # "page" or "faq"
    page: Page
    entry: FaqEntry | None
    title: str
    path: str
    snippet: str
    segments: tuple[tuple[str, bool], ...]  # (text, is a match) for highlighting
    score: int


def _fold_mapped(text: str) -> tuple[str, tuple[int, ...]]:
    out, positions = [], []
    for index, char in enumerate(text):
        folded = fold(char)
        out.append(folded)
        positions.extend([index] * len(folded))
    return "".join(out), tuple(positions)


def _document(page: Page, entry: FaqEntry | None) -> Document:
    if entry is None:
        title, summary, text = page.title, page.summary, page.text
    else:
        title, summary, text = entry.question, "", entry.answer_text
    folded_text, positions = _fold_mapped(text)
    return Document(page, entry, title, summary, text, fold(title), fold(summary), folded_text, positions)


_INDEX_LOCK = threading.Lock()


def _index(site: Site) -> tuple[Document, ...]:
    index = getattr(site, "_search_index", None)
    if index is None:
        with _INDEX_LOCK:
            index = getattr(site, "_search_index", None)
            if index is None:
                index = tuple(_document(p, e) for p in site.pages for e in (None, *p.faq_entries))
                site._search_index = index  # type: ignore[attr-defined]
    return index


def terms_of(query: str) -> list[str]:
    seen: list[str] = []
    for term in re.findall(r"\w+", fold(query[:MAX_QUERY_LENGTH])):
        if term not in seen:
            seen.append(term)
    return seen[:12]


def _snippet(doc: Document, terms: list[str]) -> tuple[str, tuple[tuple[str, bool], ...]]:
    source, folded = (doc.text, doc.folded_text) if doc.text else (doc.summary, fold(doc.summary))
    if not source:
        return "", ()
    positions = doc.positions if doc.text else tuple(range(len(source)))
    first = min((i for i in (folded.find(t) for t in terms) if i >= 0), default=0)
    centre = positions[first] if positions and first < len(positions) else 0
    start = max(0, centre - SNIPPET_RADIUS)
    end = min(len(source), centre + SNIPPET_RADIUS)
    if start > 0:
        space = source.find(" ", start)
        start = space + 1 if 0 <= space < centre else start
    if end < len(source):
        space = source.rfind(" ", centre, end)
        end = space if space > centre else end
    window = source[start:end].replace("\n", " ")
    folded_window, window_positions = _fold_mapped(window)
    marks = [False] * len(window)
    for term in terms:
        for match in re.finditer(re.escape(term), folded_window):
            for i in range(match.start(), match.end()):
                marks[window_positions[i]] = True
    segments: list[tuple[str, bool]] = []
    for char, mark in zip(window, marks, strict=True):
        if segments and segments[-1][1] == mark:
            segments[-1] = (segments[-1][0] + char, mark)
        else:
            segments.append((char, mark))
    prefix, suffix = ("…" if start > 0 else ""), ("…" if end < len(source) else "")
    if prefix:
        segments.insert(0, (prefix, False))
    if suffix:
        segments.append((suffix, False))
    return prefix + window + suffix, tuple(segments)


def search(site: Site, lang: str, query: str, now: dt.datetime) -> list[Hit]:
    """Public pages and FAQ answers of a language that contain every word of `query`.

    Case and accents do not matter ("coordinator" finds "coördinator"); a word matches the
    start or middle of a longer word ("vrijwillig" finds "vrijwilligersvergoeding").
    """
    terms = terms_of(query)
    if not terms:
        return []
    hits = []
    phrase = " ".join(terms)
    for doc in _index(site):
        if doc.page.lang != lang or not doc.page.visible(now):
            continue
        haystack = f"{doc.folded_title}\n{doc.folded_summary}\n{doc.folded_text}"
        if not all(term in haystack for term in terms):
            continue
        score = 0
        for term in terms:
            score += 10 * doc.folded_title.count(term) + 4 * doc.folded_summary.count(term)
            score += min(doc.folded_text.count(term), 5)
        if len(terms) > 1 and phrase in haystack:
            score += 5
        if doc.entry is not None:
            score += 2  # a precise answer beats the page that merely mentions it
        snippet, segments = _snippet(doc, terms)
        path = doc.page.path + (f"#{doc.entry.id}" if doc.entry else "")
        hits.append(Hit("faq" if doc.entry else "page", doc.page, doc.entry, doc.title, path, snippet,
                        segments, score))
    hits.sort(key=lambda h: (-h.score, h.title.casefold()))
    return hits
