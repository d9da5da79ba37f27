"""Markdown to safe HTML, once per page when content loads (never per request).

markdown-it-py's `js-default` preset (raw HTML off, `javascript:` and other unsafe links not
linked) does the rendering; nh3 with an explicit allowlist cleans the result again, so a
later change of preset or plugin cannot let script through. Headings get ids (`{#id}` at
the end of a heading sets one explicitly) so pages, anchors and the API can point at them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from portal.config import SETTINGS

ALLOWED_TAGS = frozenset({
    "p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "a", "strong", "em", "s", "code", "pre",
    "blockquote", "table", "thead", "tbody", "tr", "th", "td", "hr", "br", "img",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    **{f"h{level}": {"id"} for level in range(2, 7)},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

EXPLICIT_ID = re.compile(r"\s*\{#([a-z][a-z0-9-]*)\}\s*$")
UNSAFE_LINK = re.compile(r"\]\(\s*<?\s*(javascript|vbscript|data|file)\s*:", re.IGNORECASE)

_markdown = MarkdownIt("js-default")
# A second parser with HTML on is only used to find raw HTML, which the check refuses.
_html_finder = MarkdownIt("commonmark", {"html": True})


# Settings a page may show with `{{ setting:NAME }}` (in the body and in FAQ answers). Only these:
# the controller's and issuer's public details. Secrets and addresses of services never.
SETTING_PLACEHOLDERS = ("ISSUER_NAME", "ISSUER_ADDRESS", "ISSUER_KVK", "ISSUER_RSIN")
PLACEHOLDER = re.compile(r"\{\{\s*setting:([A-Za-z0-9_]+)\s*\}\}")


def setting_values(config: Mapping[str, Any] | None) -> dict[str, str]:
    """The allowed settings as text, from `config` (or the code defaults where it has none)."""
    defaults = {s.name: s.default for s in SETTINGS}
    config = config or {}
    return {name: str(config.get(name, defaults.get(name, ""))) for name in SETTING_PLACEHOLDERS}


def fill_settings(text: str, values: Mapping[str, str], *, html: bool = False) -> str:
    """Replace every allowed `{{ setting:NAME }}` by its value (escaped for HTML); others stay visible."""
    if "{{" not in text:
        return text

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in SETTING_PLACEHOLDERS or name not in values:
            return match.group(0)
        return escape(values[name], quote=True) if html else values[name]

    return PLACEHOLDER.sub(value, text)


def fold(text: str) -> str:
    """Lower case without accents: "Coördinator" -> "coordinator"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-") or "section"


@dataclass(frozen=True)
class Link:
    href: str
    line: int  # 1-based line in the markdown source


@dataclass(frozen=True)
class Image:
    src: str
    alt: str
    line: int


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str
    line: int


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str
    headings: tuple[Heading, ...]
    links: tuple[Link, ...]
    images: tuple[Image, ...]
    raw_html_lines: tuple[int, ...]
    unsafe_link_lines: tuple[int, ...]
    text_lines: tuple[tuple[int, str], ...] = ()  # (markdown line, its visible text) for the claims check


def clean(html: str) -> str:
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel=None, strip_comments=True)


def _wrap_tables(html: str, labels: list[str | None]) -> str:
    """Put each (cleaned) table in a scroll box a keyboard can reach, named by the heading above it,
    so a wide table scrolls on a phone instead of widening the page."""
    remaining = iter(labels)

    def box(match: re.Match) -> str:
        label = next(remaining, None)
        name = f' aria-labelledby="{escape(label, quote=True)}"' if label else ""
        return f'<div class="table-scroll" tabindex="0" role="region"{name}>{match.group(0)}'

    html = re.sub(r"<table>", box, html)
    return html.replace("</table>", "</table></div>")


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


def render(source: str, *, taken_ids: set[str] | None = None) -> Rendered:
    """Render markdown; `taken_ids` (updated) keeps heading ids unique across one page."""
    taken = taken_ids if taken_ids is not None else set()
    tokens = _markdown.parse(source)
    headings: list[Heading] = []
    links: list[Link] = []
    images: list[Image] = []
    text_blocks: list[str] = []
    lines: dict[int, list[str]] = {}
    table_labels: list[str | None] = []  # per table, in order: the id of the heading before it
    for index, token in enumerate(tokens):
        if token.type == "table_open":
            table_labels.append(headings[-1].id if headings else None)
        if token.type != "inline":
            continue
        start = (token.map[0] if token.map else 0) + 1
        opener = tokens[index - 1] if index else None
        if opener is not None and opener.type == "heading_open":
            explicit = EXPLICIT_ID.search(token.content)
            if explicit:
                anchor = explicit.group(1)
                token.content = token.content[: explicit.start()]
                last = token.children[-1] if token.children else None
                if last is not None and last.type == "text":
                    last.content = EXPLICIT_ID.sub("", last.content)
            else:
                anchor = slugify(_inline_text(token))
            base, n = anchor, 2
            while anchor in taken:
                anchor, n = f"{base}-{n}", n + 1
            taken.add(anchor)
            opener.attrSet("id", anchor)
            headings.append(Heading(int(opener.tag[1]), anchor, _inline_text(token).strip(), start))
        line = start
        own: dict[int, list[str]] = {}
        for child in token.children or ():
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "link_open":
                links.append(Link(str(child.attrGet("href") or ""), line))
            elif child.type == "image":
                images.append(Image(str(child.attrGet("src") or ""), child.content.strip(), line))
                own.setdefault(line, []).append(child.content)
            elif child.type in ("text", "code_inline"):
                own.setdefault(line, []).append(child.content)
        for number, parts in own.items():  # table cells share a line: keep them apart
            lines.setdefault(number, []).append("".join(parts))
        text_blocks.append(_inline_text(token))
    html = _wrap_tables(clean(_markdown.renderer.render(tokens, _markdown.options, {})), table_labels)
    raw_lines = []
    for token in _html_finder.parse(source):
        if token.type == "html_block" or (
            token.type == "inline" and any(c.type == "html_inline" for c in token.children or ())
        ):
            raw_lines.append((token.map[0] if token.map else 0) + 1)
    unsafe = [n for n, text in enumerate(source.splitlines(), 1) if UNSAFE_LINK.search(text)]
    return Rendered(html=html, text="\n".join(b for b in text_blocks if b.strip()), headings=tuple(headings),
                    links=tuple(links), images=tuple(images), raw_html_lines=tuple(raw_lines),
                    unsafe_link_lines=tuple(unsafe),
                    text_lines=tuple((n, " ".join(parts)) for n, parts in sorted(lines.items())))
