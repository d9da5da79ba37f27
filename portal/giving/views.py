"""Giving pages: donate (public and logged in), the donor's status page, PDFs, the company's
overview with CSV export, materials, the project leader's desk, and Stripe's webhook.

The blueprint is defined in blueprint.py and its pages in donate_views.py, company_views.py and
leader_views.py, imported below so that every route is on `bp` when the factory registers it;
this module wires the blueprint to the app."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.core import clock, hooks
from portal.core.templating import MenuItem, main_menu
from portal.giving import company_views, documents, donate_views, leader_views, service
from portal.giving.blueprint import bp

ROUTES = (donate_views, company_views, leader_views)   # their routes are on bp once imported


@bp.record_once
def _wire(state):
    app = state.app

    main = main_menu(_l("Giving"), leader=("giving.leader_desk", 92), company=("giving.index", 60))

    def menu(name, language, user):
        if name == "footer":
            # The page in the language of the page the link is on (an English content page's
            # visitor may have a Dutch browser).
            return [MenuItem(_("Donate"), url_for("giving.public_donate", lang=language), 30)]
        return main(name, language, user)

    hooks.connect(app, hooks.MENU, menu)
    hooks.connect(app, hooks.CONTRIBUTIONS, service.contributions)
    hooks.connect(app, hooks.COMPANY_PANELS, lambda company: hooks.Panel(
        "giving/_dashboard_panel.html", 45, {"giving": service.company_totals(company.id, clock.today().year)}))
    hooks.connect(app, hooks.LEADER_PANELS, lambda: hooks.Panel(
        "giving/_leader_panel.html", 45, {"counts": service.leader_counts()}))
    app.jinja_env.globals.update(
        giving_status_label=lambda status: str(service.STATUS_LABELS.get(status, status)),
        giving_classification_label=lambda name: str(service.CLASSIFICATION_LABELS.get(name, name)),
        giving_method_label=lambda name: str(service.METHOD_LABELS.get(name, name)),
        giving_issue_label=lambda kind: str(service.ISSUE_LABELS.get(kind, kind)),
        giving_reference=documents.format_reference,
    )
