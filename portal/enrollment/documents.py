"""The employee's CV and motivation letter: PDF only, checked by content, stored outside
`static/` under random names, served only as attachments to those allowed.

Policy for PDFs with active content: a PDF with JavaScript, an automatic action
(/OpenAction, /AA), a /Launch action or embedded files is refused; so is an encrypted
one, because nobody could read it at intake. "Print to PDF" gives an acceptable copy.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import secrets
import unicodedata

import peewee
from flask import Response, current_app, send_file
from flask_babel import lazy_gettext as _l
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from portal.core import audit
from portal.core.db import atomic_write, database, utcnow
from portal.enrollment.models import DOCUMENT_KINDS, Document, Enrolment
from portal.enrollment.service import EnrollmentError

log = logging.getLogger("portal.enrollment.documents")

MAX_PDF_BYTES = 5 * 1024 * 1024
MAX_PAGES = 100
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.pdf$")
ACTIVE_CONTENT = (b"/JavaScript", b"/JS", b"/OpenAction", b"/AA", b"/Launch", b"/EmbeddedFile", b"/RichMedia")
KIND_LABELS = {"cv": _l("CV"), "motivation": _l("Motivation letter")}


def upload_root() -> str:
    root = os.path.join(current_app.config["UPLOAD_DIR"], "enrollment")
    os.makedirs(root, mode=0o700, exist_ok=True)
    return root


def display_name(filename: str | None, kind: str) -> str:
    """The uploaded file's name as harmless display text (never used in a path)."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in "\"'<>`")
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name.lower().endswith(".pdf"):
        name = (name[:100] + ".pdf") if name else ""
    if len(name) > 120:
        name = name[:116].rstrip() + ".pdf"
    return name or f"{kind}.pdf"


def check_pdf(data: bytes) -> int:
    """Refuse anything but a readable, passive PDF of at most 5 MB; returns the page count."""
    if not data:
        raise EnrollmentError(_l("The file is empty."), "file")
    if len(data) > MAX_PDF_BYTES:
        raise EnrollmentError(_l("The file is larger than 5 MB. Save a smaller PDF (for example without large photos)."), "file")
    if not data.startswith(b"%PDF-"):
        raise EnrollmentError(_l("This is not a PDF file. Save your document as PDF and upload that."), "file")
    for marker in ACTIVE_CONTENT:
        # A name followed by a delimiter, so /JSON or /AAPL do not count.
        if re.search(re.escape(marker) + rb"[\s/<\[(]", data):
            raise EnrollmentError(_l("This PDF contains scripts, actions or attached files, which we do not accept. Use 'Print to PDF' to save a plain copy."), "file")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise EnrollmentError(_l("This PDF is protected with a password. Save it without protection and upload it again."), "file")
        pages = len(reader.pages)
        root = reader.trailer["/Root"]
        names = root.get("/Names")
        if names is not None and any(key in names.get_object() for key in ("/JavaScript", "/EmbeddedFiles")):
            raise EnrollmentError(_l("This PDF contains scripts, actions or attached files, which we do not accept. Use 'Print to PDF' to save a plain copy."), "file")
        if "/OpenAction" in root or "/AA" in root:
            raise EnrollmentError(_l("This PDF contains scripts, actions or attached files, which we do not accept. Use 'Print to PDF' to save a plain copy."), "file")
    except EnrollmentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        raise EnrollmentError(_l("This PDF is damaged or cannot be read. Save it again as PDF and upload that."), "file") from exc
    if pages < 1:
        raise EnrollmentError(_l("This PDF has no pages."), "file")
    if pages > MAX_PAGES:
        raise EnrollmentError(_l("A PDF of at most %(count)d pages, please.", count=MAX_PAGES), "file")
    return pages


def _path(stored_name: str) -> str:
    if not STORED_NAME.match(stored_name):
        raise ValueError("not a stored document name")
    root = os.path.realpath(upload_root())
    path = os.path.realpath(os.path.join(root, stored_name))
    if os.path.dirname(path) != root:
        raise ValueError("outside the upload folder")
    return path


def store(enrolment: Enrolment, kind: str, data: bytes, filename: str | None) -> Document:
    """Check and save one document, replacing an earlier one of the same kind."""
    if kind not in DOCUMENT_KINDS:
        raise EnrollmentError(_l("Choose CV or motivation letter."), "kind")
    if enrolment.status in ("withdrawn", "completed"):
        raise EnrollmentError(_l("This enrolment is closed."))
    pages = check_pdf(data)
    stored_name = secrets.token_hex(16) + ".pdf"
    path = _path(stored_name)
    with open(path + ".part", "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(path + ".part", path)
    old_name = None
    try:
        with atomic_write():
            existing = Document.get_or_none((Document.enrolment == enrolment.id) & (Document.kind == kind))
            values = {"stored_name": stored_name, "original_name": display_name(filename, kind), "size_bytes": len(data),
                      "sha256": hashlib.sha256(data).hexdigest(), "pages": pages, "uploaded_at": utcnow()}
            if existing is None:
                try:
                    with database.atomic():
                        document = Document.create(enrolment=enrolment.id, company=enrolment.company_id, kind=kind, **values)
                except peewee.IntegrityError:
                    existing = Document.get((Document.enrolment == enrolment.id) & (Document.kind == kind))
            if existing is not None:
                old_name = existing.stored_name
                Document.update(**values).where(Document.id == existing.id).execute()
                document = Document.get_by_id(existing.id)
            audit.record("enrollment.document_uploaded", company=enrolment.company_id, obj=document,
                         enrolment=enrolment.id, kind=kind, size=len(data), sha256=values["sha256"], by="ambassador")
    except BaseException:
        _remove(stored_name)
        raise
    if old_name:
        _remove(old_name)
    return document


def _remove(stored_name: str) -> None:
    try:
        os.remove(_path(stored_name))
    except (OSError, ValueError):
        log.warning("could not remove document %s", stored_name)


def documents_of(enrolment: Enrolment) -> dict[str, Document]:
    return {d.kind: d for d in Document.select().where(Document.enrolment == enrolment.id)}


def send(document: Document) -> Response:
    """The PDF as a download that no browser renders in the portal's origin."""
    try:
        path = _path(document.stored_name)
    except ValueError:
        from flask import abort

        abort(404)
    if not os.path.exists(path):
        from flask import abort

        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=document.original_name, max_age=0, conditional=False, etag=False)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
