"""Read content/<lang>/*.md into an immutable `Site`: parsed, validated and rendered once.

A page that cannot be read or validated is left out (and logged); the rest of the site
stays up. `ContentStore` keeps the current snapshot and, when reloading is on
(development), rebuilds it when a file's mtime or size changes or a file appears or goes.
It also fills the few settings a page may show (`{{ setting:ISSUER_NAME }}`, see render.py)
with the app's configuration, once per snapshot: pages, search and the API all see the values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import frontmatter
import yaml
from flask import current_app, has_app_context
from pydantic import ValidationError

from portal.content import render as markdown
from portal.content import yaml_source
from portal.content.model import (
    AMSTERDAM,
    HOME_SLUG,
    LANGUAGES,
    FrontMatter,
    SourceRef,
    yaml_hint,
)

log = logging.getLogger("portal.content")


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    severity: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class MenuPlace:
    title: str
    weight: int


@dataclass(frozen=True)
class FaqEntry:
    id: str
    category: str
    question: str
    answer_html: str
    answer_text: str
    line: int
    question_line: int = 0  # file line of the question, for the claims check


@dataclass(frozen=True)
class FaqSection:
    id: str
    title: str
    entries: tuple[FaqEntry, ...]


@dataclass(frozen=True, eq=False)
class Page:
    lang: str
    slug: str
    key: str
    source: str  # path relative to the project, for messages
    title: str
    summary: str
    draft: bool
    publish: dt.datetime | None
    expiry: dt.datetime | None
    modified: dt.datetime
    weight: int
    menus: dict[str, MenuPlace]
    aliases: tuple[str, ...]
    owner: str | None
    review_by: dt.date | None
    html: str
    text: str
    headings: tuple[markdown.Heading, ...]
    faq: tuple[FaqSection, ...]
    digest: str
    body_line: int  # file line of the markdown body's first line
    rendered: markdown.Rendered = field(repr=False)
    faq_rendered: tuple[tuple[FaqEntry, markdown.Rendered], ...] = field(repr=False, default=())
    sources: tuple[SourceRef, ...] = ()
    field_lines: dict[str, int] = field(repr=False, default_factory=dict)  # front matter key -> file line

    def with_settings(self, values: Mapping[str, str]) -> Page:
        """This page with its `{{ setting:NAME }}` placeholders filled in (itself when it has none)."""
        if not _has_placeholder(self):
            return self

        def fill(text: str, html: bool = False) -> str:
            return markdown.fill_settings(text, values, html=html)

        sections = tuple(
            FaqSection(s.id, s.title, tuple(replace(e, answer_html=fill(e.answer_html, True),
                                                    answer_text=fill(e.answer_text)) for e in s.entries))
            for s in self.faq)
        filled = {e.id: e for s in sections for e in s.entries}
        return replace(
            self, html=fill(self.html, True), text=fill(self.text),
            headings=tuple(replace(h, text=fill(h.text)) for h in self.headings), faq=sections,
            faq_rendered=tuple((filled.get(e.id, e), r) for e, r in self.faq_rendered))

    @property
    def is_home(self) -> bool:
        return self.slug == HOME_SLUG

    @property
    def path(self) -> str:
        prefix = "/" if self.lang == "nl" else f"/{self.lang}/"
        return prefix if self.is_home else prefix + self.slug

    @property
    def anchors(self) -> frozenset[str]:
        return frozenset([h.id for h in self.headings] + [e.id for s in self.faq for e in s.entries]
                         + [s.id for s in self.faq])

    @property
    def faq_entries(self) -> tuple[FaqEntry, ...]:
        return tuple(e for s in self.faq for e in s.entries)

    def status(self, now: dt.datetime) -> str:
        """draft, scheduled, expired or published, at `now`."""
        if self.draft:
            return "draft"
        if self.publish is not None and now < self.publish:
            return "scheduled"
        if self.expiry is not None and now >= self.expiry:
            return "expired"
        return "published"

    def visible(self, now: dt.datetime) -> bool:
        return self.status(now) == "published"


def _has_placeholder(page: Page) -> bool:
    return "{{" in page.html or any("{{" in e.answer_html for e in page.faq_entries)


# --- one file ---------------------------------------------------------------------------------

def parse_file(path: Path, lang: str, relative: str, problems: list[Problem]) -> Page | None:
    """Parse, validate and render one file; on failure record problems and return None."""

    def error(line: int, message: str) -> None:
        problems.append(Problem(relative, line, "error", message))

    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        error(1, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return None
    except OSError as exc:
        error(1, f"cannot read the file: {exc.strerror}")
        return None
    handler = frontmatter.YAMLHandler()
    if not handler.detect(text):
        error(1, "no front matter: the file must start with a line '---', the YAML keys, and '---'")
        return None
    try:
        fm_text, body = handler.split(text)
    except ValueError:
        error(1, "front matter is not closed with a line '---'")
        return None
    body_line = text[: len(text) - len(body)].count("\n")  # file line = body_line + markdown line
    try:
        tree = yaml.compose(fm_text, Loader=yaml.SafeLoader)
        metadata = handler.load(fm_text, Loader=yaml_source.YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        detail = getattr(exc, "problem", None) or str(exc)
        error((mark.line + 1) if mark else 1, f"front matter is not valid YAML: {detail}")
        return None
    except ValueError as exc:
        error(2, f"front matter has an impossible value: {exc}")
        return None
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        error(2, "front matter must be YAML keys and values (a mapping)")
        return None
    for key, line in yaml_source.duplicate_keys(tree):
        error(line, f"key '{key}' appears twice (YAML keeps only the last one)")
    try:
        meta = FrontMatter.model_validate(metadata)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc) or "front matter"
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = "unknown key (allowed: " + ", ".join(FrontMatter.model_fields) + ")"
            error(yaml_source.node_line(tree, loc, 2), f"{where}: {message}{yaml_hint(err)}")
        return None
    if any(p.path == relative and p.severity == "error" for p in problems):
        return None

    stem = Path(relative).with_suffix("").name
    is_home = stem == "index"
    if is_home and meta.slug:
        error(yaml_source.node_line(tree, ("slug",), 2), "the home page (index.md) has no slug")
        return None
    slug = HOME_SLUG if is_home else (meta.slug or stem)
    if not is_home and slug == HOME_SLUG:
        error(yaml_source.node_line(tree, ("slug",), 2), f"slug '{HOME_SLUG}' is reserved for the home page")
        return None

    taken: set[str] = set()
    body_rendered = markdown.render(body, taken_ids=taken)
    sections = []
    faq_rendered = []
    for c_index, category in enumerate(meta.faq):
        if category.id in taken:
            error(yaml_source.node_line(tree, ("faq", c_index, "id"), 2), f"FAQ category '{category.id}' clashes with a heading id")
        taken.add(category.id)
        entries = []
        for i_index, item in enumerate(category.items):
            if item.id in taken:
                error(yaml_source.node_line(tree, ("faq", c_index, "items", i_index, "id"), 2),
                      f"FAQ id '{item.id}' clashes with a heading id on this page")
            taken.add(item.id)
            answer = markdown.render(item.answer, taken_ids=set())
            entry = FaqEntry(item.id, category.id, item.question, answer.html, answer.text,
                             yaml_source.answer_offset(tree, c_index, i_index),
                             yaml_source.node_line(tree, ("faq", c_index, "items", i_index, "question"), 2))
            entries.append(entry)
            faq_rendered.append((entry, answer))
        sections.append(FaqSection(category.id, category.title, tuple(entries)))

    modified = meta.lastmod or dt.datetime.fromtimestamp(path.stat().st_mtime, tz=AMSTERDAM).replace(microsecond=0)
    menus = {name: MenuPlace(entry.title or meta.title, meta.weight if entry.weight is None else entry.weight)
             for name, entry in meta.menus.items()}
    return Page(
        lang=lang, slug=slug, key=meta.translationKey or Path(relative).with_suffix("").name,
        source=relative, title=meta.title, summary=meta.summary, draft=meta.draft,
        publish=meta.publishDate, expiry=meta.expiryDate, modified=modified, weight=meta.weight,
        menus=menus, aliases=tuple(meta.aliases), owner=meta.owner, review_by=meta.reviewBy,
        html=body_rendered.html, text=body_rendered.text, headings=body_rendered.headings,
        faq=tuple(sections), digest=hashlib.sha256(raw).hexdigest(), body_line=body_line,
        rendered=body_rendered, faq_rendered=tuple(faq_rendered), sources=tuple(meta.sources),
        field_lines={key: yaml_source.node_line(tree, (key,), 2) for key in ("title", "summary", "sources")},
    )


# --- the whole site ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Visibility:
    """Which pages are public between two scheduled moments."""

    epoch: str
    valid_until: dt.datetime | None
    last_change: dt.datetime | None


class Site:
    """An immutable snapshot of every page that loaded, with lookups and the problems found."""

    def __init__(self, pages: list[Page], problems: list[Problem], version: str) -> None:
        self.version = version
        self.problems = tuple(sorted(problems))
        self.pages: tuple[Page, ...] = ()
        self.by_slug: dict[tuple[str, str], Page] = {}
        self.by_key: dict[tuple[str, str], Page] = {}
        self.aliases: dict[str, Page] = {}
        kept = []
        for page in sorted(pages, key=lambda p: p.source):
            other = self.by_slug.get((page.lang, page.slug))
            if other is not None:
                self._problem(page, 1, f"slug '{page.slug}' is already used by {other.source}; page left out")
                continue
            other = self.by_key.get((page.lang, page.key))
            if other is not None:
                self._problem(page, 1, f"translationKey '{page.key}' is already used by {other.source}; page left out")
                continue
            self.by_slug[(page.lang, page.slug)] = page
            self.by_key[(page.lang, page.key)] = page
            kept.append(page)
        paths = {p.path for p in kept}
        for page in kept:
            for alias in page.aliases:
                if alias in paths:
                    self._problem(page, 1, f"alias {alias} is the address of a page; alias ignored")
                elif alias in self.aliases:
                    self._problem(page, 1, f"alias {alias} is also claimed by {self.aliases[alias].source}; ignored")
                else:
                    self.aliases[alias] = page
        self.pages = tuple(sorted(kept, key=lambda p: (p.lang, p.weight, p.title)))
        self.problems = tuple(sorted(self.problems))
        self.transitions = tuple(sorted({m for p in kept if not p.draft for m in (p.publish, p.expiry) if m}))
        self._visibility: Visibility | None = None
        self._lock = threading.Lock()

    def _problem(self, page: Page, line: int, message: str) -> None:
        self.problems = (*self.problems, Problem(page.source, line, "error", message))

    def with_settings(self, values: Mapping[str, str]) -> Site:
        """The same site with settings filled into the pages that show them (itself if none does)."""
        if not any(_has_placeholder(p) for p in self.pages):
            return self
        filled = Site([p.with_settings(values) for p in self.pages], [], self.version)
        filled.problems = self.problems
        return filled

    def translation(self, page: Page, lang: str) -> Page | None:
        return self.by_key.get((lang, page.key))

    def visibility(self, now: dt.datetime) -> Visibility:
        """The set of public pages as a short hash, valid until the next scheduled moment."""
        state = self._visibility
        if state is not None and (state.valid_until is None or now < state.valid_until) and (
            state.last_change is None or now >= state.last_change
        ):
            return state
        upcoming = [m for m in self.transitions if m > now]
        passed = [m for m in self.transitions if m <= now]
        public = ",".join(f"{p.lang}:{p.slug}" for p in self.pages if p.visible(now))
        state = Visibility(
            epoch=hashlib.sha256(f"{self.version}|{public}".encode()).hexdigest()[:20],
            valid_until=upcoming[0] if upcoming else None,
            last_change=passed[-1] if passed else None,
        )
        self._visibility = state
        return state


def source_files(directory: Path) -> list[tuple[str, Path]]:
    found = []
    for lang in LANGUAGES:
        folder = directory / lang
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.md")):
            if not any(part.startswith(".") for part in path.relative_to(folder).parts):
                found.append((lang, path))
    return found


def fingerprint(directory: Path) -> str:
    """mtime, size and name of every source file: cheap, and changes when any file does."""
    parts = []
    for _lang, path in source_files(directory):
        try:
            stat = path.stat()
        except OSError:
            continue
        parts.append(f"{path}|{stat.st_mtime_ns}|{stat.st_size}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def build_site(directory: Path) -> Site:
    """Load, validate and render every page under `directory`."""
    problems: list[Problem] = []
    pages = []
    digests = []
    if not directory.is_dir():
        problems.append(Problem(_display(directory), 1, "error", "content folder does not exist"))
    for lang, path in source_files(directory):
        try:
            page = parse_file(path, lang, _display(path), problems)
        except Exception as exc:  # one broken file never takes the site down
            log.exception("content: %s could not be loaded", path)
            problems.append(Problem(_display(path), 1, "error", f"could not be loaded: {exc.__class__.__name__}: {exc}"))
            page = None
        if page is not None:
            pages.append(page)
            digests.append(f"{page.source}:{page.digest}")
    version = hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]
    return Site(pages, problems, version)


# Snapshots are immutable, so app instances in one process (tests, workers' preload) share them.
_SNAPSHOTS: dict[tuple[str, str], Site] = {}
_SNAPSHOTS_LOCK = threading.Lock()


def load_site(directory: Path) -> tuple[Site, str]:
    key = (str(directory.resolve()), fingerprint(directory))
    with _SNAPSHOTS_LOCK:
        site = _SNAPSHOTS.get(key)
        if site is None:
            site = build_site(directory)
            if len(_SNAPSHOTS) > 16:
                _SNAPSHOTS.clear()
            _SNAPSHOTS[key] = site
            for problem in site.problems:
                (log.error if problem.severity == "error" else log.warning)("content: %s", problem)
    return site, key[1]


def amsterdam_now() -> dt.datetime:
    return dt.datetime.now(AMSTERDAM)


class ContentStore:
    """The current snapshot; with `reload`, a changed file is picked up on the next request."""

    def __init__(self, directory: str | Path, *, reload: bool = False,
                 clock: Callable[[], dt.datetime] = amsterdam_now) -> None:
        self.directory = Path(directory)
        self.reload = reload
        self.clock = clock
        self._site, self._fingerprint = load_site(self.directory)
        self._lock = threading.Lock()
        self._filled: tuple[Site, tuple, Site] | None = None

    def now(self) -> dt.datetime:
        return self.clock().astimezone(AMSTERDAM)

    @property
    def site(self) -> Site:
        if self.reload:
            current = fingerprint(self.directory)
            if current != self._fingerprint:
                with self._lock:
                    if current != self._fingerprint:
                        self._site, self._fingerprint = load_site(self.directory)
        return self._with_settings(self._site)

    def _with_settings(self, site: Site) -> Site:
        """The snapshot with this app's settings filled in, made once per snapshot and settings."""
        values = markdown.setting_values(current_app.config if has_app_context() else None)
        key = tuple(sorted(values.items()))
        cached = self._filled
        if cached is not None and cached[0] is site and cached[1] == key:
            return cached[2]
        filled = site.with_settings(values)
        self._filled = (site, key, filled)
        return filled
