"""Markdown comes out as safe HTML: script, event handlers and javascript: links are inert."""

import re
from html.parser import HTMLParser

import pytest

from portal.content.render import render

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:text/html,<script>alert(1)</script>)",
    '<a href="javascript:alert(1)">x</a>',
    "[x](vbscript:msgbox(1))",
    "<iframe src=//evil.example></iframe>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<svg onload=alert(1)>",
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></table></math>',
    "[x](file:///etc/passwd)",
    '[x](https://example.org "a\\" onmouseover=\\"alert(1)")',
    "<form action=//evil.example><button>go</button></form>",
    "<base href=//evil.example/>",
    "<meta http-equiv=refresh content=0;url=//evil.example>",
    "## Kop {#x onclick=alert(1)}",
    "<details open ontoggle=alert(1)>",
    "[link][ref]\n\n[ref]: javascript:alert(1)",
    "<!-- <script>alert(1)</script> -->",
]

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "style", "form", "base", "meta", "svg", "math",
                  "details", "button", "link"}


class Scanner(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag in DANGEROUS_TAGS:
            self.found.append(f"tag {tag}")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"attribute {name}")
            if name in ("href", "src") and value:
                cleaned = re.sub(r"[\x00-\x20]", "", value).lower()
                if cleaned.startswith(("javascript:", "vbscript:", "data:", "file:")):
                    self.found.append(f"{name}={value}")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_inert(payload):
    html = render(payload).html
    scanner = Scanner()
    scanner.feed(html)
    assert not scanner.found, (payload, html)


def test_the_scanner_would_notice_live_script():
    # guards the test above against passing by construction
    scanner = Scanner()
    scanner.feed('<script>x</script><a href=" JavaScript:alert(1)" onclick="x">y</a>')
    assert len(scanner.found) == 3


def test_raw_html_is_shown_as_text_and_reported():
    rendered = render("Hallo\n\n<b>vet</b>\n")
    assert "&lt;b&gt;vet&lt;/b&gt;" in rendered.html
    assert rendered.raw_html_lines == (3,)


def test_unsafe_links_are_reported_with_their_line():
    assert render("a\n\n[x](javascript:alert(1))\n").unsafe_link_lines == (3,)


def test_headings_get_ids_explicit_or_from_their_text():
    rendered = render("## Coördinatie & zo\n\n## Zelf gekozen {#eigen-id}\n\n## Coördinatie & zo\n")
    assert '<h2 id="coordinatie-zo">Coördinatie &amp; zo</h2>' in rendered.html
    assert '<h2 id="eigen-id">Zelf gekozen</h2>' in rendered.html
    assert '<h2 id="coordinatie-zo-2">' in rendered.html
    assert [h.id for h in rendered.headings] == ["coordinatie-zo", "eigen-id", "coordinatie-zo-2"]


def test_tables_lists_and_links_survive_but_inline_styles_do_not():
    rendered = render("| a | b |\n|--:|---|\n| 1 | 2 |\n\n- een\n  - twee\n\n[site](/register) [mail](mailto:a@b.nl)\n")
    assert "<table>" in rendered.html and "style=" not in rendered.html
    assert rendered.html.count("<ul>") == 2  # a 2-space nested list stays nested
    assert '<a href="/register">site</a>' in rendered.html
    assert '<a href="mailto:a@b.nl">mail</a>' in rendered.html


def test_links_and_images_are_collected_with_lines():
    rendered = render("Eerste regel [a](/a)\ntweede [b](/b#x)\n\n![Een klas](/static/klas.png)\n")
    assert [(link.href, link.line) for link in rendered.links] == [("/a", 1), ("/b#x", 2)]
    assert [(i.src, i.alt, i.line) for i in rendered.images] == [("/static/klas.png", "Een klas", 4)]
