"""The team's pages: accepting an invitation, and a company administrator's team page (invite,
withdraw an invitation, change a colleague's role, deactivate and reactivate)."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import auth, service
from portal.accounts import team as teams
from portal.accounts.blueprint import attempt_limit, bp
from portal.accounts.forms import AcceptInviteForm, InviteForm, RoleForm
from portal.core.security import company_admin_required, company_required, limiter
from portal.core.views import apply_error


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(attempt_limit, methods=["POST"])
def accept_invite(token: str):
    invited = service.token_user(token, "invite")
    if invited is None or not invited.is_active:
        flash(_("This invitation is no longer valid. Ask your administrator for a new one."), "error")
        return redirect(url_for("accounts.login"))
    form = AcceptInviteForm(name=invited.name)
    if form.validate_on_submit():
        try:
            user = teams.accept_invite(token, form.name.data, form.password.data)
        except service.AccountError as error:
            apply_error(form, error)
        else:
            auth.begin(user, mfa_passed=True)
            flash(_("Welcome! Your account is ready."), "success")
            return redirect(url_for("accounts.dashboard"))
    return render_template("accounts/accept_invite.html", form=form, invited=invited)


@bp.route("/team", methods=["GET", "POST"])
@company_admin_required
@limiter.limit("30 per hour", methods=["POST"])
def team():
    if request.method == "POST" and "withdraw" in request.form:
        return _withdraw_invitation(request.form["withdraw"])
    form = InviteForm()
    if form.validate_on_submit():
        try:
            teams.invite(current_user, form.email.data, form.role.data, form.name.data or "")
        except service.AccountError as error:
            apply_error(form, error)
        else:
            flash(_("The invitation to %(email)s is on its way.", email=form.email.data.strip().lower()), "success")
            return redirect(url_for("accounts.team"))
    members = teams.team(current_user.company)
    return render_template("accounts/team.html", form=form, members=members, role_form=RoleForm(),
                           invitations=teams.invitations(current_user.company))


def _withdraw_invitation(value: str):
    """The team page's "Withdraw invitation" button (a pending invitation of the admin's company)."""
    if not re.fullmatch(r"[0-9]{1,12}", value or ""):
        abort(404)
    try:
        invitation = teams.withdraw_invitation(current_user, int(value))
    except teams.NotFound:
        abort(404)
    flash(_("The invitation to %(email)s was withdrawn.", email=invitation.email), "success")
    return redirect(url_for("accounts.team"))


def _colleague_for_admin(user_id: int):
    """A colleague of the current user (404 for anyone else's), for an administrator (403)."""
    try:
        colleague = teams.colleague(current_user, user_id)
    except teams.NotFound:
        abort(404)
    if not current_user.is_company_admin:
        abort(403)
    return colleague


@bp.post("/team/<int:user_id>/role")
@company_required
def change_role(user_id: int):
    _colleague_for_admin(user_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            user = teams.change_role(current_user, user_id, form.role.data)
        except service.AccountError as error:
            flash(str(error), "error")
        else:
            flash(_("The role of %(name)s has been changed.", name=user.display_name), "success")
    else:
        flash(_("Choose a role."), "error")
    return redirect(url_for("accounts.team"))


@bp.post("/team/<int:user_id>/deactivate")
@company_required
def deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.post("/team/<int:user_id>/activate")
@company_required
def activate(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    _colleague_for_admin(user_id)
    try:
        user = teams.set_active(current_user, user_id, active)
    except service.AccountError as error:
        flash(str(error), "error")
    else:
        message = _("%(name)s can use the portal again.") if active else _("%(name)s can no longer log in.")
        flash(message % {"name": user.display_name}, "success")
    return redirect(url_for("accounts.team"))
