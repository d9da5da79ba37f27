"""The contact form (Dutch at /contactformulier, English at /en/contact-form), the public "What
does it cost?" page (/wat-kost-het, /en/what-does-it-cost) and the project leader's inbox of
contact messages.

The public pages are rendered in the language of their address, whatever the visitor's own
setting, as the content pages are; the confirmation mail goes out in that language too.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse
from wtforms import SelectChoice

from portal.contact import service
from portal.contact.forms import ContactForm, CostForm, ReplyForm
from portal.contact.models import QUESTION_TYPES
from portal.core import hooks
from portal.core.errors import render_error
from portal.core.security import account_key, leader_required, limiter
from portal.core.templating import MenuItem
from portal.core.views import apply_error
from portal.enrollment import costs
from portal.enrollment.base import CLOSURE_LABELS, WEEKDAY_LABELS

bp = Blueprint("contact", __name__)

# Per client address: enough for a school's staff behind one address, too little for a flood.
CONTACT_LIMIT = "5 per 10 minutes;30 per day"
# Confirmations to one address, from all clients together: nobody can use the form to flood a
# mailbox. Past it the message is still stored and the leader told; only no confirmation is sent.
CONFIRMATIONS_PER_ADDRESS = "3 per day"

PATHS = {
    "form": {"nl": "/contactformulier", "en": "/en/contact-form"},
    "costs": {"nl": "/wat-kost-het", "en": "/en/what-does-it-cost"},
}


@bp.record_once
def _wire(state):
    app = state.app

    def menu(name, language, _user):
        if name == "footer":
            return [MenuItem(_("What does it cost?"), PATHS["costs"]["en" if language == "en" else "nl"], 35)]
        return []

    hooks.connect(app, hooks.MENU, menu)
    hooks.connect(app, hooks.LEADER_PANELS, lambda: hooks.Panel(
        "contact/_leader_panel.html", 40, {"waiting": service.new_count()}))
    app.jinja_env.globals.update(
        contact_hours=_hours,
        contact_question_label=service.question_label,
        contact_status_label=lambda status: str(service.STATUS_LABELS.get(status, status)),
    )


def _hours(minutes: int) -> str:
    """Minutes as hours for people, in the page's language: 246, 7,5 or 7.5 (never a float)."""
    return format_decimal(Decimal(int(minutes)) / 60, format="#,##0.##")


def _language() -> str:
    return "en" if request.path == "/en" or request.path.startswith("/en/") else "nl"


@bp.errorhandler(429)
def _too_many(_exc):
    # In the language of the page, as the page itself.
    with force_locale(_language()):
        return render_error(429)


# --- the contact form ---------------------------------------------------------------------------

def _may_confirm(email: str) -> bool:
    if not limiter.enabled:
        return True
    return limiter.limiter.hit(parse(CONFIRMATIONS_PER_ADDRESS), "contact-confirmation", account_key(email))


@bp.route("/contactformulier", methods=["GET", "POST"], defaults={"lang": "nl"})
@bp.route("/en/contact-form", methods=["GET", "POST"], defaults={"lang": "en"})
@limiter.limit(CONTACT_LIMIT, methods=["POST"])
def form(lang: str):
    with force_locale(lang):
        entry = ContactForm()
        refused = False
        if request.method == "GET":
            entry.form_token.data = service.new_token()
            if request.args.get("about") in QUESTION_TYPES:  # a link "ask about donations" preselects
                entry.question_type.data = request.args["about"]
        elif entry.website.data:
            # The honeypot was filled in: a program, not a person. Answer as if all went well.
            return _sent(lang)
        elif entry.validate_on_submit():
            data = service.Submission(name=entry.name.data, organisation=entry.organisation.data or "",
                                      email=entry.email.data, question_type=entry.question_type.data,
                                      message=entry.message.data, language=lang,
                                      form_token=entry.form_token.data or "")
            try:
                service.submit(data, confirm=_may_confirm(entry.email.data or ""))
            except service.ContactError as error:
                apply_error(entry, error)
                refused = True
                if not error.field:
                    entry.form_token.data = service.new_token()
            else:
                return _sent(lang)
        if not entry.form_token.data:
            entry.form_token.data = service.new_token()
        status = 422 if request.method == "POST" and (entry.errors or refused) else 200
        return render_template("contact/form.html", form=entry, lang=lang, paths=PATHS["form"]), status


def _sent(lang: str):
    flash(_("Thank you, your message has been sent. You will receive a confirmation by e-mail; "
            "the project leader answers you by e-mail."), "success")
    return redirect(PATHS["form"][lang], 303)


# --- what does it cost? ---------------------------------------------------------------------------

@bp.get("/wat-kost-het", defaults={"lang": "nl"})
@bp.get("/en/what-does-it-cost", defaults={"lang": "en"})
def costs_page(lang: str):
    with force_locale(lang):
        year, years = costs.shown_year(request.args.get("school_year"))
        form = CostForm(formdata=request.args)
        form.school_year.choices = [SelectChoice(y.name, y.name) for y in years]
        form.period.choices = [SelectChoice("full", _("Whole school year")),
                               SelectChoice("first", _("First half (from September)")),
                               SelectChoice("second", _("Second half (from February)"))]
        form.weekday.choices = [SelectChoice(str(day), str(label)) for day, label in enumerate(WEEKDAY_LABELS)]
        figures = estimate = None
        status = 200
        if year is not None:
            form.school_year.data = year.name
            figures = costs.figures(year)
            inputs, errors = costs.parse_calculator(request.args)
            for name, message in errors.items():
                getattr(form, name).errors = [message]
            if errors:
                status = 422
            else:
                estimate = costs.estimate(figures, inputs)
            if not form.period.data:
                form.period.data = inputs.period
            if not form.weekday.data:
                form.weekday.data = str(inputs.weekday)
        return render_template("contact/costs.html", form=form, lang=lang, year=year, figures=figures,
                               estimate=estimate, paths=PATHS["costs"], contact_path=PATHS["form"][lang],
                               weekday_labels=WEEKDAY_LABELS, closure_labels=CLOSURE_LABELS), status


# --- the project leader's inbox -------------------------------------------------------------------

@bp.get("/contact/leader")
@leader_required
def leader_messages():
    status = request.args.get("status")
    if status not in service.STATUS_LABELS:
        status = None
    listing = service.listing(request.args.get("page", 1, type=int), status)
    return render_template("contact/leader_messages.html", listing=listing, status=status)


def _message_or_404(message_id: int):
    row = service.get(message_id)
    if row is None:
        abort(404)
    return row


@bp.get("/contact/leader/<int:message_id>")
@leader_required
def leader_message(message_id: int):
    row = _message_or_404(message_id)
    return render_template("contact/leader_message.html", row=row, form=ReplyForm())


@bp.post("/contact/leader/<int:message_id>/answer")
@leader_required
def leader_answer(message_id: int):
    row = _message_or_404(message_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            service.answer(row.id, form.reply.data, current_user._get_current_object())
        except service.ContactError as error:
            apply_error(form, error)
        else:
            flash(_("Your reply has been sent and the message is marked as answered."), "success")
            return redirect(url_for("contact.leader_message", message_id=row.id), 303)
    return render_template("contact/leader_message.html", row=service.get(row.id), form=form), 422
