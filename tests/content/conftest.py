"""Content fixtures: an app over a content folder the test writes, and a settable clock."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from portal import create_app
from portal.content.model import AMSTERDAM

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """Amsterdam time that a test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=AMSTERDAM)

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, *args: int) -> None:
        self.now = dt.datetime(*args, tzinfo=AMSTERDAM)


class ContentFolder:
    """A content/ folder with nl/ and en/, filled page by page."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "nl").mkdir(parents=True, exist_ok=True)
        (root / "en").mkdir(parents=True, exist_ok=True)

    def write(self, relative: str, front: str, body: str = "Tekst.") -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n" + textwrap.dedent(front).strip() + "\n---\n" + textwrap.dedent(body).lstrip(),
                        encoding="utf-8")
        return path

    def basic(self) -> ContentFolder:
        """A home page per language and one translated page with an FAQ."""
        self.write("nl/index.md", "title: Welkom\nsummary: Start.\nlastmod: 2026-11-01", "## Over ons {#over}\n\nHallo.\n")
        self.write("en/index.md", "title: Welcome\nsummary: Start.\nlastmod: 2026-11-01", "## About {#about}\n\nHello.\n")
        self.write("nl/employers.md", """
            title: Voor werkgevers
            summary: Wat je terugkrijgt.
            slug: voor-werkgevers
            translationKey: employers
            menus:
              main: {title: Werkgevers, weight: 10}
            aliases: [/bedrijven, /oud/nl/bedrijven]
            lastmod: 2026-11-02
            faq:
              - id: company
                title: Bedrijven
                items:
                  - id: bijdragen
                    question: Hoe draag ik bij?
                    answer: Met uren, materialen of geld voor de interne coördinator.
            """, "## Opbrengst {#opbrengst}\n\nVeel.\n")
        self.write("en/employers.md", """
            title: For employers
            summary: What you get back.
            slug: for-employers
            translationKey: employers
            menus: [main]
            lastmod: 2026-11-02
            faq:
              - id: company
                title: Companies
                items:
                  - id: bijdragen
                    question: How do I contribute?
                    answer: With hours, materials or money.
            """, "## Benefits {#benefits}\n\nPlenty.\n")
        return self


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def folder(tmp_path) -> ContentFolder:
    return ContentFolder(tmp_path / "content")


@pytest.fixture
def make_app(app_config, clock):
    """Build an app over a content folder, with the test's clock."""
    made = []

    def factory(content: ContentFolder | Path | None = None, **overrides):
        config = dict(app_config, **overrides)
        if content is not None:
            config["CONTENT_DIR"] = str(getattr(content, "root", content))
        application = create_app(config)
        application.extensions["portal.content"].clock = clock
        made.append(application)
        return application

    yield factory


@pytest.fixture
def site_client(make_app, folder):
    """A client over the basic test folder."""
    application = make_app(folder.basic())
    with application.app_context():
        yield application.test_client()
