"""The desk's downloads: the contributions export (the page, CSV and XLSX) and the bookkeeper's
journal (the page, CSV and XLSX); each download is audited. The pages are on the desk's blueprint
(views.py imports this module so that they are registered).
"""

from __future__ import annotations

import datetime as dt

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.accounts.models import Company
from portal.core import audit, clock, ledger
from portal.core.contributions import KINDS
from portal.core.db import atomic_write
from portal.core.security import leader_required
from portal.core.spreadsheet import CSV_STYLES, CsvStyle, csv_style
from portal.core.templating import current_language
from portal.core.views import attachment
from portal.reconcile import exports, journal_files
from portal.reconcile import journal as journal_module
from portal.reconcile.blueprint import bp, date_arg, int_arg, page_number

# The query names the filter forms send; download and page links carry these and no others.
FILTER_ARGS = ("start", "end", "kind", "company", "method", "csv", "format")


# --- exports --------------------------------------------------------------------------------

def _export_filters() -> exports.ExportFilters:
    kind = request.args.get("kind", "")
    method = request.args.get("method", "")
    return exports.ExportFilters(start=date_arg("start"), end=date_arg("end"),
                                 kind=kind if kind in KINDS else "", company_id=int_arg("company"),
                                 method=method if method in exports.METHODS else "")


def _csv_style() -> CsvStyle:
    """The CSV the reader asked for (`csv=nl` or `csv=en`), else the one of the page's language."""
    wanted = request.args.get("csv", "")
    return CSV_STYLES[wanted] if wanted in CSV_STYLES else csv_style(current_language())


def _filter_args() -> dict[str, str]:
    """The filters of the query (not the page number, nothing else): what download links carry."""
    return {key: value for key, value in request.args.items() if key in FILTER_ARGS}


@bp.get("/leader/reconcile/export")
@leader_required
def export():
    filters = _export_filters()
    rows = exports.rows(filters)
    total = len(rows)
    pages = max(1, -(-total // exports.PAGE_SIZE))
    page = min(page_number(), pages)
    shown = rows[(page - 1) * exports.PAGE_SIZE:page * exports.PAGE_SIZE]
    companies = list(Company.select(Company.id, Company.legal_name).order_by(Company.legal_name))
    return render_template("reconcile/export.html", rows=shown, total=total, page=page, pages=pages,
                           first=(page - 1) * exports.PAGE_SIZE + 1, filters=filters, headers=exports.headers(),
                           companies=companies, kinds=KINDS, kind_labels=exports.KIND_LABELS,
                           methods=exports.METHODS, method_labels=exports.METHOD_LABELS, args=_filter_args(),
                           style=_csv_style())


def _download(body: bytes, mimetype: str, extension: str, filters: exports.ExportFilters, count: int) -> Response:
    with atomic_write():
        audit.record("reconcile.exported", actor=current_user, format=extension, rows=count,
                     start=filters.start, end=filters.end, kind=filters.kind, company=filters.company_id,
                     method=filters.method)
    name = f"contributions-{clock.today():%Y%m%d}.{extension}"
    return attachment(body, mimetype, name)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/leader/reconcile/export.csv")
@leader_required
def export_csv():
    filters = _export_filters()
    rows = exports.rows(filters)
    return _download(exports.to_csv(rows, _csv_style()), "text/csv", "csv", filters, len(rows))  # Flask adds the charset


@bp.get("/leader/reconcile/export.xlsx")
@leader_required
def export_xlsx():
    filters = _export_filters()
    rows = exports.rows(filters)
    return _download(exports.to_xlsx(rows, current_language()), XLSX, "xlsx", filters, len(rows))


# --- the bookkeeper's journal (issue 14) ----------------------------------------------------------

JOURNAL_FORMATS = ("csv_nl", "csv_en", "xlsx")


def _journal_choice() -> tuple[dt.date | None, dt.date | None, str]:
    """The period and format on the journal form; the period defaults to last month."""
    last_month_end = ledger.month_of(clock.today()) - dt.timedelta(days=1)
    start = date_arg("start") if request.args.get("start") else ledger.month_of(last_month_end)
    end = date_arg("end") if request.args.get("end") else last_month_end
    fmt = request.args.get("format", "")
    if fmt not in JOURNAL_FORMATS:
        fmt = "csv_en" if current_language() == "en" else "csv_nl"
    return start, end, fmt


@bp.get("/leader/reconcile/journal")
@leader_required
def journal():
    start, end, fmt = _journal_choice()
    built, error = None, None
    if start and end:
        try:
            built = journal_module.build(start, end)
        except journal_module.JournalError as refusal:
            error = str(refusal)
    return render_template("reconcile/journal.html", start=start, end=end, fmt=fmt, formats=JOURNAL_FORMATS,
                           journal=built, error=error, accounts=journal_module.accounts(),
                           role_labels=journal_module.ROLE_LABELS, args=_filter_args())


@bp.get("/leader/reconcile/journal/download")
@leader_required
def journal_download():
    start, end, fmt = _journal_choice()
    back = redirect(url_for("reconcile.journal", **_filter_args()))
    if not start or not end:
        return back  # date_arg said what is wrong with the date
    try:
        built = journal_module.build(start, end)
        if fmt == "xlsx":
            body, mimetype, extension = journal_files.to_xlsx(built, current_language()), XLSX, "xlsx"
        else:
            body, mimetype, extension = journal_files.to_csv(built, CSV_STYLES[fmt[-2:]]), "text/csv", "csv"
    except journal_module.JournalError as refusal:
        flash(str(refusal), "error")
        return back
    with atomic_write():
        audit.record("reconcile.exported", actor=current_user, export="journal", format=fmt, rows=len(built.lines),
                     start=start, end=end)
    name = f"journal-{start:%Y%m%d}-{end:%Y%m%d}.{extension}"
    return attachment(body, mimetype, name)
