"""Registration, login with TOTP for the leader, password reset, profile, dashboards (the team's
pages are in team_views.py)."""

from __future__ import annotations

import logging

import segno
from flask import (
    abort,
    after_this_request,
    copy_current_request_context,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from limits import parse, parse_many
from markupsafe import Markup

from portal.accounts import auth, service, team_views  # noqa: F401 (team_views' pages register on bp)
from portal.accounts.blueprint import attempt_limit, bp
from portal.accounts.forms import (
    ChangePasswordForm,
    CompanyIbanForm,
    ConfirmActionForm,
    ForgotForm,
    LoginForm,
    NewPasswordForm,
    RegisterForm,
    TotpForm,
)
from portal.accounts.models import Company
from portal.core import hooks
from portal.core.i18n import LANGUAGES
from portal.core.security import account_key, limiter
from portal.core.templating import MenuItem
from portal.core.urls import safe_next
from portal.core.views import apply_error, page_of

log = logging.getLogger("portal.accounts")

# Failed logins one account takes from all addresses together before it stops accepting logins
# from browsers its owner has not unlocked with the link mailed to them.
ACCOUNT_CEILING = "100 per day"
UNLOCK_MAIL_LIMIT = "1 per hour"
UNLOCKED_SESSION_KEY = "unlocked"


def _account_address_key() -> str:
    """The account named in the form together with the client's address."""
    return f"account-address:{account_key(request.form.get('email'))}:{get_remote_address()}"


def _throttled_login(view):
    """Rate-limit login attempts per client address and per account-and-address pair: someone
    hammering an account from elsewhere does not keep its owner out (the account's own ceiling,
    with the owner's unlock link, is in the view)."""
    view = limiter.limit(attempt_limit, key_func=_account_address_key, methods=["POST"])(view)
    return limiter.limit(attempt_limit, methods=["POST"])(view)


def _pending_login_key() -> str:
    login_session = auth.current_login_session()
    if login_session is None:
        return "totp-address:" + get_remote_address()
    return f"totp-login:{login_session.id}"


def _ceiling_reached(account: str) -> bool:
    if not limiter.enabled:
        return False
    return not limiter.limiter.test(parse(ACCOUNT_CEILING), "login-ceiling", account)


def _count_failure(account: str) -> None:
    if limiter.enabled:
        limiter.limiter.hit(parse(ACCOUNT_CEILING), "login-ceiling", account)


def _may_mail_unlock_link(account: str) -> bool:
    return limiter.limiter.hit(parse(UNLOCK_MAIL_LIMIT), "login-unlock-mail", account)


def _may_mail_reset_link(email: str) -> bool:
    """Reset mails to one address, from all clients together, stay within the attempt limit; past
    it the answer is the same, only no mail goes out (no lockout, no flood of mails)."""
    if not limiter.enabled:
        return True
    account = account_key(email)
    return all(limiter.limiter.hit(item, "reset-mail", account) for item in parse_many(attempt_limit()))


def after_response(work, *args) -> None:
    """Run `work(*args)` once the response has gone out (in a copy of this request's context), so
    what it costs, such as sending a mail, does not show in the answer's timing."""
    @copy_current_request_context
    def run():
        try:
            work(*args)
        except Exception:
            log.exception("work after the response failed")

    @after_this_request
    def schedule(response):
        response.call_on_close(run)
        return response


@bp.record_once
def _menus(state):
    def provider(name, _language, user):
        if name != "main" or not user.is_authenticated:
            return []
        if user.is_leader:
            return [MenuItem(_("Project leader"), url_for("accounts.leader_home"), 90)]
        items = [MenuItem(_("Dashboard"), url_for("accounts.dashboard"), 80)]
        if user.is_company_admin:
            items.append(MenuItem(_("Team"), url_for("accounts.team"), 95))
        items.append(MenuItem(_("My account"), url_for("accounts.profile"), 99))
        return items

    hooks.connect(state.app, hooks.MENU, provider)


# --- register and confirm -----------------------------------------------------------------

@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        data = service.Registration(**{name: form[name].data for name in service.Registration.__dataclass_fields__})
        try:
            service.register_company(data)
        except service.AccountError as error:
            apply_error(form, error)
        else:
            return render_template("accounts/check_mail.html", email=data.admin_email)
    return render_template("accounts/register.html", form=form), 200 if request.method == "GET" or not form.errors else 422


@bp.get("/confirm/<token>")
def confirm(token: str):
    user = service.confirm_email(token)
    if user is None:
        flash(_("This confirmation link is no longer valid. Log in to request a new one, or contact us."), "error")
    else:
        flash(_("Thank you, your e-mail address is confirmed. You can log in now."), "success")
    return redirect(url_for("accounts.login"))


# --- login, TOTP, logout ------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@_throttled_login
def login():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    if request.method == "GET" and "unlock" in request.args:
        return _unlock(request.args["unlock"])
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        account = account_key(form.email.data)
        if _ceiling_reached(account) and account not in session.get(UNLOCKED_SESSION_KEY, []):
            if _may_mail_unlock_link(account):
                after_response(service.send_unlock_link, form.email.data)
            current_app.logger.info("login refused: account ceiling reached")
            flash(_("This account has had too many failed logins. If it is yours, we have sent you an "
                    "e-mail with a link that lets you log in."), "error")
            return render_template("accounts/login.html", form=form), 429
        user = service.authenticate(form.email.data, form.password.data)
        if user is None:
            _count_failure(account)
            flash(_("The e-mail address or password is not correct."), "error")
            current_app.logger.info("login failed")
            return render_template("accounts/login.html", form=form), 401
        if user.email_confirmed_at is None:
            service.resend_confirmation(user)
            flash(_("Please confirm your e-mail address first: we have sent you a new link."), "warning")
            return render_template("accounts/login.html", form=form), 401
        if user.is_leader:
            auth.begin(user, mfa_passed=False)
            session["after_login"] = safe_next(form.next.data, "")
            return redirect(url_for("accounts.totp"))
        auth.begin(user, mfa_passed=True)
        return redirect(safe_next(form.next.data, _home_for(user)))
    return render_template("accounts/login.html", form=form)


def _unlock(token: str):
    """The owner's link from the unlock mail (/login?unlock=...): this browser may log in to that
    account despite its ceiling of failed attempts (the per-address limits still apply)."""
    account = service.unlocked_account(token)
    if account is None:
        flash(_("This link is no longer valid. Try to log in again to receive a new one."), "error")
    else:
        unlocked = [a for a in session.get(UNLOCKED_SESSION_KEY, []) if a != account][-4:]
        session[UNLOCKED_SESSION_KEY] = [*unlocked, account]
        flash(_("You can log in from this browser now."), "success")
    return redirect(url_for("accounts.login"))


def _home_for(user) -> str:
    return url_for("accounts.leader_home") if user.is_leader else url_for("accounts.dashboard")


def _pending_leader():
    login_session = auth.current_login_session()
    if login_session is None or login_session.user.role != "leader":
        return None
    return login_session


@bp.route("/login/totp", methods=["GET", "POST"])
@limiter.limit(attempt_limit, key_func=_pending_login_key, methods=["POST"])
@limiter.limit(attempt_limit, methods=["POST"])
def totp():
    login_session = _pending_leader()
    if login_session is None:
        return redirect(url_for("accounts.login"))
    if login_session.mfa_passed:
        return redirect(url_for("accounts.leader_home"))
    user = login_session.user
    form = TotpForm()
    enrolling = user.totp_confirmed_at is None
    secret, uri = service.totp_provisioning(user)
    if form.validate_on_submit():
        if service.verify_totp(service.User.get_by_id(user.id), form.code.data):
            service.pass_mfa(login_session)
            target = safe_next(session.pop("after_login", ""), url_for("accounts.leader_home"))
            return redirect(target)
        form.code.errors = [_("That code is not correct or was already used. Wait for the next code and try again.")]
    # segno writes the SVG itself from the otpauth URI; nothing user-typed is in it. A viewBox
    # and no fixed size: the stylesheet scales the whole symbol (quiet zone included) instead of
    # cropping a fixed-size drawing.
    qr = Markup(segno.make(uri, error="m").svg_inline(  # noqa: S704
        omitsize=True, border=4, svgclass="qr-code", title=_("QR code for your authenticator app"))) if enrolling else None
    return render_template("accounts/totp.html", form=form, enrolling=enrolling, secret=secret if enrolling else None, qr=qr)


@bp.post("/logout")
def logout():
    auth.end()
    flash(_("You are logged out."), "success")
    return redirect(url_for("accounts.login"))


# --- password reset -----------------------------------------------------------------------

@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(attempt_limit, methods=["POST"])
def forgot_password():
    form = ForgotForm()
    if form.validate_on_submit():
        # Looked up and mailed after the answer has gone out: the same answer, in the same time,
        # for known and unknown addresses.
        if _may_mail_reset_link(form.email.data):
            after_response(service.request_reset, form.email.data)
        flash(_("If an account exists for that address, we have sent it a link to choose a new password."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(attempt_limit, methods=["POST"])
def reset_password(token: str):
    if service.token_user(token, "reset") is None:
        flash(_("This link is no longer valid. Request a new one."), "error")
        return redirect(url_for("accounts.forgot_password"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            service.reset_password(token, form.password.data)
        except service.AccountError as error:
            apply_error(form, error)
        else:
            flash(_("Your password has been changed. Log in with your new password."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form)


# --- profile, language, dashboards ---------------------------------------------------------

@bp.route("/account", methods=["GET", "POST"])
@login_required
def profile():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        login_session = auth.current_login_session()
        try:
            service.change_password(current_user, form.current_password.data, form.new_password.data)
        except service.AccountError as error:
            apply_error(form, error)
        else:
            # A new session for this browser: a copy of the old cookie opens nothing.
            auth.begin(login_session.user, mfa_passed=login_session.mfa_passed)
            flash(_("Your password has been changed. You were logged out everywhere else."), "success")
            return redirect(url_for("accounts.profile"))
    return _profile_page(form, CompanyIbanForm(formdata=None))


def _profile_page(form, iban_form, status: int = 200):
    ibans = service.company_ibans(current_user.company_id) if current_user.company_id else []
    return render_template("accounts/profile.html", form=form, iban_form=iban_form, ibans=ibans), status


@bp.post("/account/ibans")
@login_required
def company_ibans():
    """An administrator adds an account the company pays from, or removes one (`remove`: its id)."""
    if current_user.company_id is None:
        abort(404)
    form = CompanyIbanForm()
    remove = request.form.get("remove", "")
    try:
        if remove:
            if not ConfirmActionForm().validate_on_submit():
                abort(400)
            if not service.remove_company_iban(current_user, int(remove) if remove.isdigit() else 0):
                abort(404)
            flash(_("The account is removed."), "success")
            return redirect(url_for("accounts.profile") + "#ibans")
        if form.validate_on_submit():
            row = service.add_company_iban(current_user, form.iban.data)
            flash(_("Account %(iban)s is registered.", iban=row.iban), "success")
            return redirect(url_for("accounts.profile") + "#ibans")
    except service.AccountError as error:
        apply_error(form, error)
    return _profile_page(ChangePasswordForm(formdata=None), form, 422)


@bp.post("/language")
def switch_language():
    language = request.form.get("language", "")
    if language in LANGUAGES:
        session["lang"] = language
        if current_user.is_authenticated:
            # While the project leader acts for a company user, the choice is the leader's own:
            # the company user's stored language (of her mails and pages) stays as she set it.
            service.set_language(g.get("acting_leader") or current_user, language)
    return redirect(safe_next(request.form.get("next")))


def _panels(signal, args: tuple = (), **context) -> list[Markup]:
    """The dashboard's cards, each rendered from what its capability computed (hooks.Panel, asked
    with `args`) beside the page's own `context`."""
    found = sorted((panel for panel in hooks.collect(signal, *args) if panel is not None),
                   key=lambda panel: (panel.weight, panel.template))
    # Each card is its template's own output, escaped by Jinja as it was rendered.
    return [Markup(render_template(panel.template, **context, **panel.context)) for panel in found]  # noqa: S704


@bp.get("/dashboard")
@login_required
def dashboard():
    if current_user.company_id is None:
        return redirect(_home_for(current_user))
    company = current_user.company
    return render_template("accounts/dashboard.html", company=company,
                           panels=_panels(hooks.COMPANY_PANELS, (company,), company=company))


@bp.get("/leader")
@login_required
def leader_home():
    if not current_user.is_leader:
        abort(404)
    # A page of the companies, each name leading to its users (and acting for one of them, for support).
    companies = page_of(Company.select().order_by(Company.legal_name, Company.id))
    return render_template("accounts/leader.html", companies=companies, panels=_panels(hooks.LEADER_PANELS))


@bp.app_context_processor
def _acting_banner():
    leader = g.get("acting_leader")
    return {"acting_leader": leader}
