"""HTML to PDF bytes: the only place that imports WeasyPrint.

Documents are built from our own templates in `invoices/`, with user text escaped by Jinja.
Rendering is still treated as handling untrusted input:

- the URL fetcher serves only `data:` URIs and files inside the top-level `invoices/` folder;
  every other address (http, https, ftp, file elsewhere, symlinks out of the folder) is
  refused, so a document can neither reach the network nor read a server file;
- no file is attached to the PDF, whatever the HTML says (`<link rel=attachment>` and
  `<a rel=attachment>` are dropped after layout);
- rendering runs in a child process with a time limit: a document that would take too long
  (or crash the renderer) stops with PdfTimeout/PdfError instead of holding a worker. The
  children come from a fork server (multiprocessing's "forkserver"): a small single-threaded
  process that loaded WeasyPrint and the fonts once. Forking the worker itself would copy
  whatever locks its other threads held at that moment, and a child could hang on one (seen
  in the test suite). Where no fork server is available it renders in-process, without the limit.

Fonts are the project's own, never the machine's: Lato for text and IBM Plex Mono for codes, from
the fontpkg packages that pyproject.toml installs. They are declared with @font-face and fetched
through the same local-only fetcher, and the renderer's fontconfig sees no system font at all
(fonts.conf beside this file lists no folder), so a glyph the two families lack is a visible
box rather than a fallback that differs per machine. Line breaks and bytes are therefore the
same on every machine.

The same HTML gives the same bytes: WeasyPrint writes no random identifier, the document's
`<meta name="dcterms.created">` fixes its dates, and SOURCE_DATE_EPOCH fixes the timestamp that
fontTools would otherwise write into a font it rewrites, which made two renders a second apart
differ by a few bytes. (WeasyPrint 66-70 subsets fonts with HarfBuzz's hb-subset, from Debian's
libharfbuzz-subset0, which writes no timestamp; it falls back to fontTools without it, and uses
fontTools to instantiate a variable font or strip a colour font. Our fonts are static TTFs, so
neither happens today; the fixed epoch keeps it so if that changes.)

Speed (issue 19): a render is a fork of the server, so whatever the server has done before the
fork is free for every child, and whatever a child learns dies with it. The server therefore
parses every stylesheet in invoices/ once, renders a sample that touches every font face, table
and image path (so no child opens a font file again), and then freezes its objects out of the
garbage collector (gc.freeze: a child's collections no longer walk, and copy, the server's heap).
A document links its stylesheet (`<link rel="stylesheet" href="statement.css">`): the link is
answered with that process's parsed copy instead of being fetched and parsed for every document.
WeasyPrint's own user-agent stylesheet is used without its universal footnote and note rules
(`::footnote-call`, `::note-marker`...: our documents have no footnotes), and with `::marker` only
for list items: those rules made the cascade compute six unused pseudo-element styles for every
element, a quarter of a long statement's rendering time. The bytes are the same. And the server
runs the program's main script once (load_main_script), so that no child runs it again.
"""

from __future__ import annotations

import gc
import logging
import mimetypes
import multiprocessing
import os
import re
import threading
import time
from functools import cache, lru_cache
from multiprocessing import spawn
from urllib.parse import quote, unquote, urlsplit

import fontpkg
import weasyprint
from flask import current_app, has_app_context
from weasyprint import html as weasyprint_html
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger("portal.pdf")
# WeasyPrint logs every rendering step at INFO; the portal's logs keep only its warnings.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

INVOICES_DIR = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "invoices"))
FONTCONFIG_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fonts.conf")
# The typefaces of every PDF (family, weights), in the packages pyproject.toml installs.
FONT_FAMILIES = (("Lato", (400, 700)), ("IBM Plex Mono", (400, 700)))
# Any fixed moment: fontTools writes it as a rewritten font's "modified" time (see above).
SOURCE_DATE_EPOCH = "1767225600"  # 2026-01-01T00:00:00Z
DEFAULT_SECONDS = 30.0
MAX_FETCH_BYTES = 8 * 1024 * 1024


class PdfError(RuntimeError):
    """The document could not be rendered."""


class PdfTimeout(PdfError):
    """Rendering took longer than the time limit and was stopped."""


class RefusedUrl(ValueError):
    """The document asked for a resource outside invoices/ and data: URIs."""


def font_files() -> dict[tuple[str, int, str], str]:
    """The real path of every font file the PDFs use, by (family, weight, style)."""
    return {(family, weight, style): os.path.realpath(fontpkg.path(family, weight, style))
            for family, weights in FONT_FAMILIES for weight in weights for style in ("normal", "italic")}


def font_face_css() -> str:
    """@font-face rules for the project's fonts (file URLs the local fetcher serves)."""
    return "\n".join(
        f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: {style}; '
        f'src: url("file://{quote(path)}") format("truetype"); }}'
        for (family, weight, style), path in font_files().items())


def invoice_path(url: str) -> str | None:
    """The real path of a file:// URL inside invoices/ or of one of our fonts, else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = os.path.realpath(unquote(parts.path))
    if path in font_files().values():
        return path
    if os.path.commonpath([path, INVOICES_DIR]) != INVOICES_DIR or not os.path.isfile(path):
        return None
    return path


class LocalOnlyFetcher(URLFetcher):
    """Serve data: URIs and files under invoices/; refuse everything else."""

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        path = invoice_path(url) if scheme == "file" else None
        if path is None:
            log.warning("pdf: refused to fetch %s", url[:200])
            raise RefusedUrl(f"refused: {url[:200]}")
        if os.path.getsize(path) > MAX_FETCH_BYTES:
            raise RefusedUrl(f"too large: {url[:200]}")
        with open(path, "rb") as handle:
            body = handle.read()
        mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": mime})


def isolate_fonts() -> None:
    """Make this process's renderer see only the project's fonts and write fixed font timestamps.

    Called in the fork server before WeasyPrint loads any font (and in-process where there is no
    fork server); it changes this process's environment, so never call it in a web worker that
    starts other programs."""
    os.environ["FONTCONFIG_FILE"] = FONTCONFIG_FILE
    os.environ["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH


@cache
def _fonts() -> tuple[FontConfiguration, weasyprint.CSS]:
    """One font configuration with the @font-face rules loaded, kept for every later render."""
    config = FontConfiguration()
    css = weasyprint.CSS(string=font_face_css(), font_config=config, url_fetcher=LocalOnlyFetcher())
    return config, css


# A stylesheet link the renderer answers from its parsed copy: a plain file name in invoices/.
STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="([A-Za-z0-9_-]+\.css)">')
# WeasyPrint's user-agent rules that match every element with a pseudo-element our documents never
# have: footnotes and notes (float: footnote / note), ::marker outside a list item.
_UNIVERSAL_PSEUDO_RULES = re.compile(r"^::(?:footnote|note)-[a-z-]+ \{[^}\n]*\}\n", re.M)


@cache
def user_agent_stylesheet() -> weasyprint.CSS:
    """WeasyPrint's HTML5 user-agent stylesheet without its universal footnote and note rules (see the
    module's notes on speed). Unchanged when WeasyPrint's text is not what we expect."""
    text = weasyprint_html.UA
    trimmed = _UNIVERSAL_PSEUDO_RULES.sub("", text)
    trimmed = trimmed.replace("\n::marker {", "\nli::marker, summary::marker {", 1)
    if trimmed == text or "li::marker" not in trimmed:
        return weasyprint_html.UA_STYLESHEET
    return weasyprint.CSS(string=trimmed, counter_style=weasyprint_html.UA_COUNTER_STYLE)


class PortalHTML(weasyprint.HTML):
    """weasyprint.HTML with user_agent_stylesheet() instead of WeasyPrint's own."""

    def _ua_stylesheets(self, forms=False):
        if forms:
            return [user_agent_stylesheet(), weasyprint_html.UA_FORM_STYLESHEET]
        return [user_agent_stylesheet()]


@lru_cache(maxsize=32)
def _parsed(name: str, modified_ns: int) -> weasyprint.CSS:
    config, _fonts_css = _fonts()
    with open(os.path.join(INVOICES_DIR, name), encoding="utf-8") as handle:
        text = handle.read()
    return weasyprint.CSS(string=text, base_url=_base_url(), url_fetcher=LocalOnlyFetcher(), font_config=config)


def parsed_stylesheet(name: str) -> weasyprint.CSS | None:
    """The parsed stylesheet invoices/<name>, parsed once per process (again when the file changes);
    None for anything but a file of invoices/ itself (a symlink out of the folder included)."""
    if os.path.dirname(name) or os.path.basename(name) != name:
        return None
    path = invoice_path("file://" + quote(os.path.join(INVOICES_DIR, name)))
    if path is None or os.path.dirname(path) != INVOICES_DIR:
        return None
    return _parsed(name, os.stat(path).st_mtime_ns)


def linked_stylesheets(html: str) -> tuple[str, list[weasyprint.CSS]]:
    """The HTML without its links to stylesheets in invoices/, and those stylesheets, parsed. They
    apply after the document's own <style> elements (our documents have either, never both)."""
    sheets: list[weasyprint.CSS] = []

    def take(match: re.Match) -> str:
        sheet = parsed_stylesheet(match.group(1))
        if sheet is None:
            return match.group(0)  # WeasyPrint fetches it (and the fetcher refuses it)
        sheets.append(sheet)
        return ""

    return (STYLESHEET_LINK.sub(take, html), sheets) if isinstance(html, str) else (html, sheets)


def _render_here(html: str, base_url: str) -> bytes:
    config, fonts = _fonts()
    html, sheets = linked_stylesheets(html)
    document = PortalHTML(string=html, base_url=base_url, url_fetcher=LocalOnlyFetcher()).render(
        stylesheets=[fonts, *sheets], font_config=config)
    document.metadata.attachments = []
    for page in document.pages:
        page.links = [link for link in page.links if link[0] != "attachment"]
    return document.write_pdf()


def _child(connection, html: str, base_url: str) -> None:
    """In the forked child: one message back, b"P" + the PDF or b"E" + what went wrong."""
    try:
        message = b"P" + _render_here(html, base_url)
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent as a message
        message = b"E" + f"{type(exc).__name__}: {exc}"[:500].encode("utf-8", "replace")
    try:
        connection.send_bytes(message)
    finally:
        connection.close()


_warm_lock = threading.Lock()
_warm = False


# Every face of both families, a long collapsed-border table with a header, an SVG image, a list and
# page counters: what a document uses, loaded once in the fork server instead of in every child.
WARM_UP_HTML = (
    '<!doctype html><html><head><meta name="dcterms.created" content="2026-01-01T00:00:00Z">{link}'
    '<style>@page {{ @bottom-right {{ content: counter(page) " / " counter(pages) }} }} '
    '.m {{ font-family: "IBM Plex Mono" }} table {{ border-collapse: collapse }} td {{ border: 1pt solid }}</style>'
    '</head><body><h1>Overzicht 1.234,56</h1><p>Tekst <b>vet</b> <i>cursief</i> <b><i>beide</i></b> € – · ©</p>'
    '<p class="m">ABCDE-23456 <b>ABCDE</b> <i>x</i> <b><i>y</i></b></p>'
    '<img src="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 width=%2210%22 height=%2210%22%3E'
    '%3Cpath d=%22M0 0h4v4H0z%22/%3E%3C/svg%3E" style="width:10mm">'
    '<ul><li>punt</li></ul><table class="fixed"><colgroup><col style="width:30%"><col></colgroup>'
    '<thead><tr><th>Datum</th><th class="num">Bedrag</th></tr></thead><tbody>{rows}</tbody></table></body></html>')


def _warm_up() -> None:
    """Load fonts, stylesheets and WeasyPrint's code paths once in this process (the fork server),
    so every child starts with them; then keep the garbage collector of every child off them."""
    global _warm
    with _warm_lock:
        if not _warm:
            rows = '<tr><td class="nowrap">1 jan.</td><td class="num">€ 1,00</td></tr>' * 60
            names = sorted(name for name in os.listdir(INVOICES_DIR) if name.endswith(".css"))
            for name in names or [""]:
                link = f'<link rel="stylesheet" href="{name}">' if name else ""
                _render_here(WARM_UP_HTML.format(link=link, rows=rows), _base_url())
            gc.collect()
            gc.freeze()
            _warm = True


def _base_url() -> str:
    return "file://" + INVOICES_DIR + "/"


_context_lock = threading.Lock()
_context = None


# The program's main script (gunicorn's, pytest's), for the fork server to run once. multiprocessing
# runs it again in every child it starts from a script, unless the server loaded it: that is what
# set_forkserver_preload(["__main__"]) is for, but it does nothing before Python 3.13.8 (CPython
# gh-126631: the server is never told the script's path). Without it every document paid for the
# script's imports again: a minimal page from a program started by a script that imports what
# gunicorn's does took 46-52 ms instead of 25-26 (what pytest's does: 81 instead of 26).
MAIN_PATH_VARIABLE = "PORTAL_PDF_MAIN_PATH"


def load_main_script() -> None:
    """In the fork server: run the main script as multiprocessing would in each child (under the name
    __mp_main__, so its `if __name__ == "__main__"` part does not run), once for all of them."""
    main_path = os.environ.get(MAIN_PATH_VARIABLE)
    if not main_path:
        return
    multiprocessing.current_process()._inheriting = True  # noqa: SLF001 - as multiprocessing's own preload does
    try:
        spawn.import_main_path(main_path)
    except Exception:  # noqa: BLE001 - then each child runs it itself, as before
        log.warning("pdf: the fork server could not load %s; each render will", main_path, exc_info=True)
    finally:
        del multiprocessing.current_process()._inheriting  # noqa: SLF001


def _fork_server():
    """The multiprocessing context whose server preloads WeasyPrint and warm fonts (portal.core.pdf_server)."""
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["portal.core.pdf_server"])
            # The server inherits this process's environment when it starts (on the first render).
            main_path = spawn.get_preparation_data("pdf").get("init_main_from_path")
            if main_path:
                os.environ[MAIN_PATH_VARIABLE] = main_path
            else:   # `python -m` or `-c`: no script to load (and none of a parent's to inherit)
                os.environ.pop(MAIN_PATH_VARIABLE, None)
            _context = context
        return _context


def render_pdf(html: str, *, timeout: float | None = None, base_url: str | None = None) -> bytes:
    """Render HTML to PDF bytes, fetching only from invoices/ and data: URIs, within a time limit
    (`timeout` seconds, else the PDF_TIMEOUT_SECONDS setting)."""
    base_url = base_url or _base_url()
    if timeout is None:  # the setting, inside the app; the default outside it
        timeout = current_app.config.get("PDF_TIMEOUT_SECONDS", DEFAULT_SECONDS) if has_app_context() else DEFAULT_SECONDS
    seconds = float(timeout)  # not money
    if "forkserver" not in multiprocessing.get_all_start_methods():
        isolate_fonts()
        return _render_here(html, base_url)
    context = _fork_server()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, html, base_url), daemon=True)
    started = time.monotonic()
    child.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise PdfTimeout(f"rendering took longer than {seconds:g} s and was stopped")
        try:
            message = receiver.recv_bytes()
        except (EOFError, OSError) as exc:
            raise PdfError("the renderer stopped without a result") from exc
        if message[:1] != b"P":
            raise PdfError(message[1:].decode("utf-8", "replace") or "the renderer failed")
        return message[1:]
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
        log.debug("pdf rendered in %.0f ms", (time.monotonic() - started) * 1000)
