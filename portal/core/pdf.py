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
"""

from __future__ import annotations

import logging
import mimetypes
import multiprocessing
import os
import threading
import time
from functools import cache
from urllib.parse import quote, unquote, urlsplit

import fontpkg
import weasyprint
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


def _render_here(html: str, base_url: str) -> bytes:
    config, fonts = _fonts()
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=LocalOnlyFetcher()).render(
        stylesheets=[fonts], font_config=config)
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


def _warm_up() -> None:
    """Load fonts once in this process (the fork server), so every child starts with them."""
    global _warm
    with _warm_lock:
        if not _warm:
            _render_here("<!doctype html><p>.</p>", _base_url())
            _warm = True


def _base_url() -> str:
    return "file://" + INVOICES_DIR + "/"


_context_lock = threading.Lock()
_context = None


def _fork_server():
    """The multiprocessing context whose server preloads WeasyPrint and warm fonts (portal.core.pdf_server)."""
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["portal.core.pdf_server"])
            _context = context
        return _context


def render_pdf(html: str, *, timeout: float | None = None, base_url: str | None = None) -> bytes:
    """Render HTML to PDF bytes, fetching only from invoices/ and data: URIs, within a time limit."""
    base_url = base_url or _base_url()
    seconds = DEFAULT_SECONDS if timeout is None else float(timeout)  # not money
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
