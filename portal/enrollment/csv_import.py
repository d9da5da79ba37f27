"""Bulk enrolment from a CSV file: every row is validated before anything is saved, errors
are reported per line and field, and nothing is imported while any row is wrong.

The file is read strictly: UTF-8 (with or without BOM), comma or semicolon separated, the
columns of the template (in any order). Other encodings, delimiters or columns get a
message that says what to do, not a partial import.

The template comes in its reader's language: Dutch column names and Dutch example values for a
Dutch reader, `;`-separated as a Dutch spreadsheet expects. A file may name its columns in either
language (a Dutch colleague's file works on an English screen) and its values in either
(validation reads both); the page names the columns in the reader's language.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company, User
from portal.core.spreadsheet import csv_bytes, csv_style
from portal.enrollment import service, validation
from portal.enrollment.base import EnrollmentError
from portal.enrollment.validation import EnrolmentData, ValidationContext

COLUMNS = ("employee_name", "employee_email", "job_title", "department", "language", "type", "start", "duration",
           "weekday", "hours_per_week", "funding", "sponsored_hours_per_week", "hourly_cost", "vog_status",
           "vog_date", "under_21")
REQUIRED = ("employee_name", "employee_email", "job_title", "start", "duration", "weekday", "hours_per_week",
            "funding")
# CSV column -> validation field (the form calls the ambassador type `role_type`).
FIELD_OF = {"type": "role_type"}
COLUMN_OF = {v: k for k, v in FIELD_OF.items()}
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
# The column names in each language; the keys are the English names.
HEADERS = {
    "en": {column: column for column in COLUMNS},
    "nl": {"employee_name": "naam", "employee_email": "e_mailadres", "job_title": "functie",
           "department": "afdeling", "language": "taal", "type": "soort", "start": "start", "duration": "duur",
           "weekday": "weekdag", "hours_per_week": "uren_per_week", "funding": "financiering",
           "sponsored_hours_per_week": "gesponsorde_uren_per_week", "hourly_cost": "uurkosten",
           "vog_status": "vog_status", "vog_date": "vog_datum", "under_21": "jonger_dan_21"},
}
COLUMN_OF_NAME = {name: column for names in HEADERS.values() for column, name in names.items()}
TEMPLATE_ROWS = {
    "en": (("Sanne de Vries", "sanne.devries@example.nl", "Project engineer", "Infra", "nl", "class", "2026-09",
            "full", "tuesday", "8", "sponsored", "", "52.50", "requested", "2026-06-15", "no"),
           ("Youssef El Amrani", "youssef.elamrani@example.nl", "Data analyst", "", "en", "class", "2027-02", "half",
            "thursday", "7", "mixed", "4", "48.00", "not_requested", "", "no")),
    "nl": (("Sanne de Vries", "sanne.devries@example.nl", "Projectingenieur", "Infra", "nl", "klas", "2026-09",
            "heel", "dinsdag", "8", "gesponsord", "", "52,50", "aangevraagd", "2026-06-15", "nee"),
           ("Youssef El Amrani", "youssef.elamrani@example.nl", "Data-analist", "", "en", "klas", "2027-02", "half",
            "donderdag", "7", "gemengd", "4", "48,00", "niet aangevraagd", "", "nee")),
}


def column_names(language: str) -> dict[str, str]:
    """Each column's name in a language (English where the portal has no names for it)."""
    return HEADERS.get(language, HEADERS["en"])


@dataclass
class ImportRow:
    line: int
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportResult:
    rows: list[ImportRow] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    valid: list[EnrolmentData] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.file_errors and bool(self.rows) and all(not row.errors for row in self.rows)

    @property
    def error_count(self) -> int:
        return sum(len(row.errors) for row in self.rows)


def template_csv(language: str) -> bytes:
    """The CSV template HR downloads, in the reader's language and for the reader's spreadsheet (a
    Dutch Excel splits on `;`): header and two example rows."""
    names = column_names(language)
    return csv_bytes([[names[column] for column in COLUMNS], *TEMPLATE_ROWS.get(language, TEMPLATE_ROWS["en"])],
                     delimiter=csv_style(language).delimiter)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise EnrollmentError(_l("The file is saved as UTF-16 ('Unicode text'). Save it as 'CSV UTF-8 (comma delimited)' and upload it again."))
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise EnrollmentError(_l("This is an Excel workbook, not a CSV file. In Excel choose Save as, 'CSV UTF-8 (comma delimited)'."))
    if b"\x00" in data[:4096]:
        raise EnrollmentError(_l("This is not a text file. Upload the CSV template filled in."))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise EnrollmentError(_l("Line %(line)d is not UTF-8 text (the file is probably saved as 'CSV (semicolon/comma delimited)' in an older encoding). In Excel choose 'CSV UTF-8' and upload it again.", line=line)) from exc
    return text.removeprefix("\ufeff")


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        raise EnrollmentError(_l("We could not find separate columns in the first line. Keep the template's first line and separate the columns with commas or semicolons."))
    if best in ("\t", "|"):
        raise EnrollmentError(_l("The columns are separated by tabs or bars. Separate them with commas or semicolons (save as 'CSV UTF-8')."))
    return best


def _normal_header(name: str) -> str:
    """A header cell as its column's key: "E-mailadres" and "employee email" read as their column."""
    normal = "_".join(name.strip().lower().replace("-", " ").split())
    return COLUMN_OF_NAME.get(normal, normal)


def parse(data: bytes, language: str = "en") -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header (as column keys) and (line number, cells) of every non-empty row, or EnrollmentError
    naming the columns in `language`."""
    if not data.strip():
        raise EnrollmentError(_l("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise EnrollmentError(_l("The file is larger than 2 MB. Split it into smaller files of at most %(rows)d rows.", rows=MAX_ROWS))
    text = _decode(data)
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [_normal_header(c) for c in cells]
                continue
            rows.append((reader.line_num, cells))
            if len(rows) > MAX_ROWS:
                raise EnrollmentError(_l("The file has more than %(rows)d rows. Split it into smaller files.", rows=MAX_ROWS))
    except csv.Error as exc:
        raise EnrollmentError(_l("Line %(line)d cannot be read as CSV (check its quotation marks).", line=reader.line_num)) from exc
    if header is None:
        raise EnrollmentError(_l("The file is empty."))
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    duplicate = sorted({c for c in header if header.count(c) > 1})
    names = column_names(language)
    problems = []
    if missing:
        problems.append(str(_l("Missing columns: %(columns)s.", columns=", ".join(names[c] for c in missing))))
    if unknown:
        nameless = str(_l("(no name)"))
        problems.append(str(_l("Unknown columns: %(columns)s.", columns=", ".join(c or nameless for c in unknown))))
    if duplicate:
        problems.append(str(_l("Columns that appear twice: %(columns)s.",
                               columns=", ".join(names.get(c, c) for c in duplicate))))
    if problems:
        raise EnrollmentError(" ".join(problems) + " " + str(_l("Start from the template: its first line names every column.")))
    if not rows:
        raise EnrollmentError(_l("The file has a header but no rows to import."))
    return header, rows


def validate_rows(company: Company, rows: list[ImportRow]) -> ImportResult:
    """Validate every row (also against each other and existing enrolments); saves nothing."""
    result = ImportResult(rows=rows)
    context = ValidationContext.load(company)
    seen: dict[tuple[str, int, str], int] = {}
    for row in rows:
        raw = {FIELD_OF.get(k, k): v for k, v in row.values.items()}
        data, errors = validation.validate_enrolment(raw, context)
        row.errors = {COLUMN_OF.get(k, k): v for k, v in errors.items()}
        if data is None:
            continue
        clash = next((seen[(data.employee_email, data.school_year.id, half)] for half in data.halves
                      if (data.employee_email, data.school_year.id, half) in seen), None)
        if clash is not None:
            row.errors["employee_email"] = str(_l("This person is already on line %(line)d for an overlapping period.", line=clash))
            continue
        for half in data.halves:
            seen[(data.employee_email, data.school_year.id, half)] = row.line
        result.valid.append(data)
    return result


def read_file(company: Company, data: bytes, language: str = "en") -> ImportResult:
    """Parse and validate an uploaded CSV file (messages name the columns in `language`)."""
    try:
        header, cells = parse(data, language)
    except EnrollmentError as error:
        return ImportResult(file_errors=[str(error)])
    rows = []
    for line, values in cells:
        row = ImportRow(line, {c: "" for c in COLUMNS})
        for name, cell in zip(header, values, strict=False):
            row.values[name] = cell.strip()
        if len(values) != len(header):
            row.errors["_row"] = str(_l("This line has %(found)d fields; the header has %(expected)d. Check for a separator inside a value (put it in quotation marks).",
                                        found=len(values), expected=len(header)))
        rows.append(row)
    row_errors = {row.line: row.errors.get("_row") for row in rows if row.errors}
    result = validate_rows(company, rows)
    for row in result.rows:
        if row_errors.get(row.line):
            row.errors["_row"] = row_errors[row.line]
    if any("_row" in row.errors for row in result.rows):
        result.valid = []
    return result


def import_rows(company: Company, actor: User, result: ImportResult):
    """Save every row of a fully valid result in one transaction."""
    if not result.ok:
        raise EnrollmentError(_l("Nothing was imported: correct the rows marked below first."))
    return service.create_enrolments(company, actor, result.valid, source="csv")
