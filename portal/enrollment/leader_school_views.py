"""The project leader's reference pages: schools, school years with their holidays and days
off, the volunteer allowance ledger and the allowance limits."""

from __future__ import annotations

import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from peewee import JOIN, fn

from portal.core import clock, money
from portal.core.security import leader_required
from portal.core.templating import current_language
from portal.enrollment import allowance, allowance_export, reference, schools
from portal.enrollment.base import EnrollmentError
from portal.enrollment.forms import (
    AllowanceForm,
    CapForm,
    ClosureForm,
    DecideForm,
    SchoolForm,
    SchoolYearForm,
    choices,
)
from portal.enrollment.models import AllowanceCap, Closure, Enrolment, School, SchoolYear
from portal.enrollment.web import _attempt, _parse_month, bp


@bp.get("/leader/schools")
@leader_required
def leader_schools():
    schools = list(School.select(School, fn.COUNT(Enrolment.id).alias("placements"))
                   .join(Enrolment, JOIN.LEFT_OUTER, on=((Enrolment.school == School.id)
                                                         & Enrolment.status.in_(("matched", "active"))))
                   .group_by(School.id).order_by(School.name))
    return render_template("enrollment/leader_schools.html", schools=schools)


def _editing(model, form_class, object_id: int | None):
    """What a new-or-edit page works on: the stored row (None on the page for a new one, a 404 for
    an unknown id) and its form, filled from the row when the page is first shown."""
    row = model.get_or_none(model.id == object_id) if object_id else None
    if object_id and row is None:
        abort(404)
    return row, form_class(obj=row) if request.method == "GET" and row else form_class()


@bp.route("/leader/schools/new", methods=["GET", "POST"])
@bp.route("/leader/schools/<int:school_id>", methods=["GET", "POST"])
@leader_required
def leader_school(school_id: int | None = None):
    school, form = _editing(School, SchoolForm, school_id)
    if request.method == "GET" and school:
        form.is_active.data = "1" if school.is_active else "0"
    if form.validate_on_submit():
        values = {name: form[name].data or "" for name in ("name", "brin", "street", "postcode", "city",
                                                           "coordinator_name", "coordinator_email")}
        values["is_active"] = form.is_active.data != "0"
        if _attempt(form, lambda: schools.save_school(current_user, values, school),
                    lambda saved: _("%(name)s is saved.", name=saved.name)):
            return redirect(url_for("enrollment.leader_schools"))
    return render_template("enrollment/leader_school.html", form=form, school=school), 422 if form.errors else 200


@bp.get("/leader/school-years")
@leader_required
def leader_school_years():
    return render_template("enrollment/leader_school_years.html", years=reference.school_years())


def _closure_form(year: SchoolYear) -> ClosureForm:
    form = ClosureForm()
    form.school.choices = choices([("", _("Every school"))] + [(str(s.id), s.name) for s in School.select().order_by(School.name)])
    return form


@bp.route("/leader/school-years/new", methods=["GET", "POST"])
@bp.route("/leader/school-years/<int:year_id>", methods=["GET", "POST"])
@leader_required
def leader_school_year(year_id: int | None = None):
    year, form = _editing(SchoolYear, SchoolYearForm, year_id)
    if request.method == "GET" and year:
        form.allowance.data = money.format_plain(year.allowance_monthly_cents).replace(".", ",")
    if form.validate_on_submit():
        try:
            cents = money.parse_cents(form.allowance.data, max_cents=100000, allow_zero=True)
        except money.AmountError as error:
            form.allowance.errors = [str(error)]
        else:
            done = _attempt(form, lambda: schools.save_school_year(current_user, {
                "name": form.name.data, "region": form.region.data, "starts_on": form.starts_on.data,
                "ends_on": form.ends_on.data, "half_starts_on": form.half_starts_on.data,
                "allowance_monthly_cents": cents}, year), lambda saved: _("School year %(name)s is saved.", name=saved.name))
            if done:
                return redirect(url_for("enrollment.leader_school_year", year_id=done.result.id))
    closures = []
    calendar = None
    if year:
        closures = list(Closure.select(Closure, School).join(School, JOIN.LEFT_OUTER)
                        .where(Closure.school_year == year.id).order_by(Closure.starts_on))
        calendar = reference.calendar_for(year)
    return render_template("enrollment/leader_school_year.html", form=form, year=year, closures=closures,
                           calendar=calendar, closure_form=_closure_form(year) if year else None,
                           weeks=(calendar.school_weeks(*calendar.half_period("first")),
                                  calendar.school_weeks(*calendar.half_period("second"))) if year else (0, 0),
                           weekday_counts=[len(calendar.sessions(d, year.starts_on, year.ends_on)) for d in range(5)] if year else []), \
        422 if form.errors else 200


@bp.post("/leader/school-years/<int:year_id>/closures")
@leader_required
def leader_add_closure(year_id: int):
    year = SchoolYear.get_or_none(SchoolYear.id == year_id) or abort(404)
    form = _closure_form(year)
    if form.validate_on_submit():
        school = School.get_or_none(School.id == int(form.school.data)) if (form.school.data or "").isdigit() else None
        _attempt(None, lambda: schools.add_closure(current_user, year, form.kind.data, form.name.data,
                                                   form.starts_on.data, form.ends_on.data, school),
                 _("%(name)s is added; planned sessions on those days are removed.", name=form.name.data))
    else:
        flash(_("Fill in the kind, name and both dates."), "error")
    return redirect(url_for("enrollment.leader_school_year", year_id=year.id))


@bp.post("/leader/school-years/<int:year_id>/closures/<int:closure_id>/delete")
@leader_required
def leader_remove_closure(year_id: int, closure_id: int):
    closure = Closure.get_or_none((Closure.id == closure_id) & (Closure.school_year == year_id)) or abort(404)
    if DecideForm().validate_on_submit():
        schools.remove_closure(current_user, closure)
        flash(_("%(name)s is removed; sessions on those days are planned again.", name=reference.closure_name(closure.name)), "success")
    return redirect(url_for("enrollment.leader_school_year", year_id=year_id))


@bp.route("/leader/allowances", methods=["GET", "POST"])
@leader_required
def leader_allowances():
    today = clock.today()
    year = reference.current_school_year(today)
    default_from = year.starts_on.replace(day=1) if year else today.replace(day=1)
    month_from = _parse_month(request.values.get("month_from")) or default_from
    month_to = _parse_month(request.values.get("month_to")) or today.replace(day=1)
    form = AllowanceForm(month_from=month_from.strftime("%Y-%m"), month_to=month_to.strftime("%Y-%m"))
    refused: dict[int, dict] = {}  # line id -> what the leader typed and why it was refused
    if request.method == "POST" and form.validate_on_submit():
        action = request.form.get("action")
        if action == "decide":
            typed = {"decision": request.form.get("decision", ""), "reason": request.form.get("reason", ""),
                     "amount": request.form.get("amount", "")}
            line_id = request.form.get("line_id", type=int) or 0
            try:
                line = allowance.decide(line_id, current_user, typed["decision"], typed["reason"], typed["amount"],
                                        current_language())
            except EnrollmentError as error:
                refused[line_id] = typed | {"error": str(error), "field": error.field}
            else:
                flash(_("The decision on the allowance of %(month)s is recorded.", month=line.month.strftime("%Y-%m")),
                      "success")
        elif action == "build":
            count = allowance.build_ledger(current_user, month_to)
            flash(ngettext("%(num)d allowance line added.", "%(num)d allowance lines added.", count), "success")
        elif action == "export":
            try:
                batch, data = allowance_export.export_open(current_user, month_from, month_to, current_language())
            except EnrollmentError as error:
                flash(str(error), "error")
            else:
                return Response(data, mimetype="text/csv",
                                headers={"Content-Disposition": f"attachment; filename=allowance-{batch}.csv"})
        if not refused:
            return redirect(url_for("enrollment.leader_allowances", month_from=month_from.strftime("%Y-%m"),
                                    month_to=month_to.strftime("%Y-%m")))
    data = allowance.ledger(month_from, month_to, language=current_language())
    shown = {row.line.id for row in data.rows}
    for typed in [typed for line_id, typed in refused.items() if line_id not in shown]:
        flash(typed["error"], "error")
    return render_template("enrollment/leader_allowances.html", form=form, ledger=data, batches=allowance_export.batches(),
                           caps=list(AllowanceCap.select().order_by(AllowanceCap.year)), refused=refused,
                           decision_labels=allowance.DECISION_LABELS), 422 if refused else 200


@bp.get("/leader/allowances/<batch>.csv")
@leader_required
def leader_allowance_batch(batch: str):
    if not re.fullmatch(r"A\d{14}[0-9a-f]{4}", batch):
        abort(404)
    data = allowance_export.batch_csv(batch, current_language())
    if data is None:
        abort(404)
    return Response(data, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename=allowance-{batch}.csv"})


@bp.route("/leader/allowance-limits", methods=["GET", "POST"])
@leader_required
def leader_caps():
    form = CapForm()
    asked = request.args.get("year", type=int)
    if request.method == "GET" and asked and 2000 <= asked <= 2100:
        form.year.data = asked
        known = AllowanceCap.get_or_none(AllowanceCap.year == asked)
        if known is not None:  # replacing a year's limits starts from what is stored
            for name in ("per_month", "per_year", "per_hour", "per_hour_under_21"):
                form[name].data = money.format_plain(getattr(known, f"{name}_cents")).replace(".", ",")
            form.source.data = known.source
    if form.validate_on_submit():
        values = {"year": form.year.data, "source": form.source.data or ""}
        ok = True
        for name in ("per_month", "per_year", "per_hour", "per_hour_under_21"):
            try:
                values[f"{name}_cents"] = money.parse_cents(form[name].data, max_cents=10_000_000)
            except money.AmountError as error:
                form[name].errors = [str(error)]
                ok = False
        if ok:
            schools.save_cap(current_user, values)
            flash(_("The limits for %(year)s are saved.", year=form.year.data), "success")
            return redirect(url_for("enrollment.leader_caps"))
    caps = list(AllowanceCap.select().order_by(AllowanceCap.year))
    return render_template("enrollment/leader_caps.html", form=form, caps=caps,
                           missing=allowance.years_without_caps()), 422 if form.errors else 200
