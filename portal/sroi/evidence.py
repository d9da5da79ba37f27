"""The buyer's letter behind an SROI approval: PDF, PNG or JPEG of at most 5 MB.

What a file is, is read from its bytes, never from the name or the type the browser sends. A
PDF passes the same check as an ambassador's CV (readable, not encrypted, no scripts, actions or
attached files: enrollment.documents.check_pdf), but is kept as uploaded, so a signed letter keeps
its signature. A PNG or JPEG must be a whole, well-formed image of a sane size. The bytes are kept
in the database (sroi_approval_evidence) and served only as a download that no browser renders in
the portal's origin.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass

from flask import Response, send_file
from flask_babel import lazy_gettext as _l

from portal.core.errors import UserError
from portal.enrollment.documents import check_pdf

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
# An image wider or taller than this is no scan of a letter (and could be a decompression bomb).
MAX_IMAGE_SIDE = 20_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


class EvidenceError(UserError):
    """A refused upload; str() is the translated message."""


@dataclass(frozen=True)
class Evidence:
    """A checked upload, ready to store."""

    data: bytes
    content_type: str
    original_name: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size_bytes(self) -> int:
        return len(self.data)


def sniff(data: bytes) -> str | None:
    """The content type the bytes begin with: 'application/pdf', 'image/png', 'image/jpeg' or None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(PNG_SIGNATURE):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def _damaged() -> EvidenceError:
    return EvidenceError(_l("This image is damaged or incomplete. Save it again as PNG or JPEG, or upload a PDF."),
                         "evidence")


def _sides_ok(width: int, height: int) -> bool:
    return 0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE


def check_png(data: bytes) -> None:
    """A PNG whose chunks are all whole with a right checksum, IHDR first and IEND last."""
    position, first = len(PNG_SIGNATURE), True
    while True:
        if position + 12 > len(data):
            raise _damaged()
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        end = position + 12 + length
        if end > len(data):
            raise _damaged()
        body = data[position + 8:end - 4]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[end - 4:end])[0]:
            raise _damaged()
        if first:
            if kind != b"IHDR" or length != 13:
                raise _damaged()
            width, height = struct.unpack(">II", body[:8])
            if not _sides_ok(width, height):
                raise _damaged()
            first = False
        if kind == b"IEND":
            return
        position = end


def check_jpeg(data: bytes) -> None:
    """A JPEG with a frame header of a sane size before its scan, and its end marker."""
    position, sized = 2, False
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise _damaged()
        marker = data[position + 1]
        if marker == 0xFF:            # fill bytes before a marker
            position += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):   # markers without a length
            position += 2
            continue
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        if length < 2 or position + 2 + length > len(data):
            raise _damaged()
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if length < 7:
                raise _damaged()
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            if not _sides_ok(width, height):
                raise _damaged()
            sized = True
        if marker == 0xDA:            # start of scan: the image data follows up to the end marker
            if not sized or not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
                raise _damaged()
            return
        position += 2 + length
    raise _damaged()


def display_name(filename: str | None, content_type: str) -> str:
    """The uploaded file's name as harmless display text, with the extension of what it really is."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in "\"'<>`;")
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name)[:100].strip(" .")
    return (stem or "letter") + EXTENSIONS[content_type]


def check(data: bytes | None, filename: str | None) -> Evidence:
    """Refuse anything but a readable PDF, PNG or JPEG of at most 5 MB; return it ready to store."""
    if not data:
        raise EvidenceError(_l("Upload the buyer's letter (PDF, PNG or JPEG, at most 5 MB)."), "evidence")
    if len(data) > MAX_EVIDENCE_BYTES:
        raise EvidenceError(_l("The file is larger than 5 MB. Save a smaller PDF, or a scan at a lower resolution."),
                            "evidence")
    content_type = sniff(data)
    if content_type is None:
        raise EvidenceError(_l("This file is not a PDF, PNG or JPEG. Save the buyer's letter as PDF and upload that."),
                            "evidence")
    if content_type == "application/pdf":
        try:
            check_pdf(data)
        except UserError as error:
            raise EvidenceError(str(error), "evidence") from error
    elif content_type == "image/png":
        check_png(data)
    else:
        check_jpeg(data)
    return Evidence(data, content_type, display_name(filename, content_type))


def send(data: bytes, content_type: str, name: str) -> Response:
    """The letter as a download that no browser renders in the portal's origin."""
    response = send_file(io.BytesIO(data), mimetype=content_type, as_attachment=True, download_name=name,
                         max_age=0, conditional=False, etag=False)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
