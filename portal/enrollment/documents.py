"""The employee's CV and motivation letter: PDF only, checked by content, stored outside
`static/` under random names, served only as attachments to those allowed.

Policy for PDFs with active content: a PDF with JavaScript, an automatic action
(/OpenAction, /AA), any action other than going to a page or opening an http(s) or
mailto link (/Launch, /SubmitForm, /ImportData, /GoToR, file:// URIs, ...), embedded
files, file attachment annotations or XFA forms is refused; so is an encrypted one,
because nobody could read it at intake. "Print to PDF" gives an acceptable copy.

Besides a quick look at the raw bytes, the check walks every object pypdf finds (names
with #-escapes decoded, objects in compressed object streams included). What is stored is not the
upload but a copy rewritten through pypdf: only the pages, their content and resources
and plain web links, so an object that a viewer might find but pypdf did not never
reaches the project leader. The copy is checked again before it is stored, and a
download checks the stored file once more (files stored before this rule are cleaned).
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
from flask import Response, abort, current_app, send_file
from flask_babel import lazy_gettext as _l
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError, PyPdfError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)

from portal.core import audit
from portal.core.db import atomic_write, database, utcnow
from portal.enrollment.base import SESSION_ENDED, EnrollmentError
from portal.enrollment.models import DOCUMENT_KINDS, Document, Enrolment

log = logging.getLogger("portal.enrollment.documents")

MAX_PDF_BYTES = 5 * 1024 * 1024
MAX_PAGES = 100
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.pdf$")
ACTIVE_CONTENT = (b"/JavaScript", b"/JS", b"/OpenAction", b"/AA", b"/Launch", b"/EmbeddedFile", b"/RichMedia")
KIND_LABELS = {"cv": _l("CV"), "motivation": _l("Motivation letter")}
ACTIVE_MESSAGE = _l("This PDF contains scripts, actions or attached files, which we do not accept. Use 'Print to PDF' to save a plain copy.")
# Keys that only ever carry scripts, automatic actions, attachments or multimedia.
ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/AA", "/OpenAction", "/EmbeddedFiles", "/EmbeddedFile", "/EF",
                         "/RichMedia", "/RichMediaContent", "/XFA", "/Launch"})
ACTIVE_TYPES = frozenset({"/EmbeddedFile", "/RichMediaExecute"})
ACTIVE_SUBTYPES = frozenset({"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"})
# Actions a CV may keep: a link to a website or an e-mail address, a jump inside the document.
SAFE_ACTIONS = frozenset({"/URI", "/GoTo"})
SAFE_URI = re.compile(r"(?i)^(https?://|mailto:)[^\s\x00-\x1f\\]*$")
MAX_OBJECTS = 200_000


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
            raise EnrollmentError(ACTIVE_MESSAGE, "file")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise EnrollmentError(_l("This PDF is protected with a password. Save it without protection and upload it again."), "file")
        pages = len(reader.pages)
        if find_active_content(reader):
            raise EnrollmentError(ACTIVE_MESSAGE, "file")
    except EnrollmentError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError,
            IndexError, AssertionError) as exc:
        raise EnrollmentError(_l("This PDF is damaged or cannot be read. Save it again as PDF and upload that."), "file") from exc
    if pages < 1:
        raise EnrollmentError(_l("This PDF has no pages."), "file")
    if pages > MAX_PAGES:
        raise EnrollmentError(_l("A PDF of at most %(count)d pages, please.", count=MAX_PAGES), "file")
    return pages


def _objects(reader: PdfReader):
    """Every object of the file: what the trailer reaches and everything the cross-reference
    tables list (objects in compressed object streams too), each once."""
    seen: set[int] = set()
    stack: list[PdfObject] = [reader.trailer]
    for generation, numbers in reader.xref.items():
        stack.extend(IndirectObject(number, generation, reader) for number in numbers)
    stack.extend(IndirectObject(number, 0, reader) for number in reader.xref_objStm)
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum << 16) | (item.generation & 0xFFFF)
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > MAX_OBJECTS:
                raise ValueError("too many objects")
            item = item.get_object()
        if isinstance(item, DictionaryObject):  # a stream is a dictionary too
            yield item
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _is_safe_action(action) -> bool:
    action = action.get_object() if isinstance(action, IndirectObject) else action
    if isinstance(action, ArrayObject):  # an /OpenAction or /Dest that is a destination
        return True
    if not isinstance(action, DictionaryObject):
        return False
    kind = action.get("/S")
    if kind not in SAFE_ACTIONS or "/Next" in action:
        return False
    if kind == "/URI":
        uri = action.get("/URI")
        uri = uri.get_object() if isinstance(uri, IndirectObject) else uri
        text = uri.decode("latin-1") if isinstance(uri, bytes) else str(uri or "")
        return bool(SAFE_URI.match(text.strip()))
    return True


def find_active_content(reader: PdfReader) -> list[str]:
    """What makes a PDF active, as short descriptions (empty for a passive PDF)."""
    found: list[str] = []
    for obj in _objects(reader):
        for key in obj:
            if key in ACTIVE_KEYS:
                found.append(str(key))
        if obj.get("/Type") in ACTIVE_TYPES:
            found.append(str(obj.get("/Type")))
        if obj.get("/Subtype") in ACTIVE_SUBTYPES:
            found.append(str(obj.get("/Subtype")))
        if obj.get("/Type") == "/Action" and not _is_safe_action(obj):
            found.append(f"action {obj.get('/S')}")
        for key in ("/A", "/PA"):
            if key in obj and not _is_safe_action(obj[key]):
                action = obj[key].get_object()
                found.append(f"action {action.get('/S') if isinstance(action, DictionaryObject) else action}")
        if found:
            break
    return found


def _link_annotation(annotation) -> DictionaryObject | None:
    """A link to a website or an e-mail address, rebuilt from scratch; None for anything else."""
    annotation = annotation.get_object() if isinstance(annotation, IndirectObject) else annotation
    if not isinstance(annotation, DictionaryObject) or annotation.get("/Subtype") != "/Link":
        return None
    action = annotation.get("/A")
    action = action.get_object() if isinstance(action, IndirectObject) else action
    rect = annotation.get("/Rect")
    rect = rect.get_object() if isinstance(rect, IndirectObject) else rect
    if not isinstance(action, DictionaryObject) or action.get("/S") != "/URI" or not _is_safe_action(action):
        return None
    if not isinstance(rect, ArrayObject) or len(rect) != 4:
        return None
    uri = action["/URI"].get_object()
    text = uri.decode("latin-1") if isinstance(uri, bytes) else str(uri)
    return DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject(NumberObject(int(float(v))) for v in rect),  # not money
        NameObject("/Border"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(0)]),
        NameObject("/A"): DictionaryObject({NameObject("/S"): NameObject("/URI"),
                                            NameObject("/URI"): TextStringObject(text.strip())}),
    })


def _strip(writer: PdfWriter) -> None:
    """Remove from every object of the copy the keys that could act (a second belt)."""
    for obj in list(writer._objects):
        if isinstance(obj, DictionaryObject):
            for key in [k for k in obj if k in ACTIVE_KEYS]:
                del obj[key]


def rewrite(data: bytes) -> bytes:
    """A copy of a checked PDF made by pypdf: its pages, their content and resources and
    plain web links; no document catalogue extras (names, forms, outlines, actions)."""
    reader = PdfReader(io.BytesIO(data), strict=False)
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page, excluded_keys=("/Annots", "/AA", "/B", "/PieceInfo", "/Metadata"))
    for source, target in zip(reader.pages, writer.pages, strict=True):
        links = [link for link in (_link_annotation(a) for a in (source.get("/Annots") or [])) if link is not None]
        if links:
            target[NameObject("/Annots")] = ArrayObject(writer._add_object(link) for link in links)
    _strip(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def sanitise(data: bytes) -> tuple[bytes, int]:
    """Check an upload, rewrite it and check the copy; returns the copy and its page count."""
    pages = check_pdf(data)
    try:
        copy = rewrite(data)
        again = PdfReader(io.BytesIO(copy), strict=False)
        if len(again.pages) != pages or find_active_content(again):
            raise ValueError("the rewritten copy is not clean")
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError,
            IndexError, AssertionError) as exc:
        log.warning("could not rewrite an uploaded PDF: %s", exc)
        raise EnrollmentError(_l("This PDF is damaged or cannot be read. Save it again as PDF and upload that."), "file") from exc
    if len(copy) > MAX_PDF_BYTES:
        raise EnrollmentError(_l("The file is larger than 5 MB. Save a smaller PDF (for example without large photos)."), "file")
    return copy, pages


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
    data, pages = sanitise(data)
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
            if not Enrolment.select().where((Enrolment.id == enrolment.id)
                                            & (Enrolment.employee_email == enrolment.employee_email)).exists():
                raise EnrollmentError(SESSION_ENDED)  # HR changed the address: this session is over
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


def _served_bytes(path: str) -> bytes | None:
    """The stored file, or a clean copy of it when it still holds active content (a file
    stored before uploads were rewritten); None when no clean copy can be made."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        if not find_active_content(PdfReader(io.BytesIO(data), strict=False)):
            return data
        copy = rewrite(data)
        if find_active_content(PdfReader(io.BytesIO(copy), strict=False)):
            return None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError,
            IndexError, AssertionError):
        log.warning("a stored document could not be checked: %s", os.path.basename(path))
        return None
    log.warning("served a cleaned copy of a stored document with active content: %s", os.path.basename(path))
    return copy


def send(document: Document) -> Response:
    """The PDF as a download that no browser renders in the portal's origin, and that
    holds no active content even if it was stored before uploads were rewritten."""
    try:
        path = _path(document.stored_name)
    except ValueError:
        abort(404)
    if not os.path.exists(path):
        abort(404)
    data = _served_bytes(path)
    if data is None:
        abort(404)
    response = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                         download_name=document.original_name, max_age=0, conditional=False, etag=False)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
