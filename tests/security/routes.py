"""Every route of the portal, classified: who may open it, and so which generated checks apply.

A route is public only when it is named here. A new route that is not named is treated as
private by the generated access test (test_route_access.py: anonymous visitors are sent to the
login page), and fails the generated isolation suite (test_tenant_isolation.py) until it is
classified below as one of:

- public: open to anyone (PUBLIC_ENDPOINTS, PUBLIC_PREFIXES); some of them only with the key from
  the link they were mailed in (KEY_GUARDED): anyone else gets 404;
- company: pages of a company's users; an object of another company is 404, never 403, never its data;
- leader: the project leader's pages; 404 for every company user;
- employee: the ambassador's own pages behind her mailed link (EMPLOYEE_LOGIN), not a company account.
"""

from __future__ import annotations

import re

# Whole blueprints of public pages, matched by endpoint prefix.
PUBLIC_PREFIXES = (
    "content.",  # the markdown pages, search, sitemap and the public JSON API
)

PUBLIC_ENDPOINTS = {
    "static": "our CSS, images and scripts",
    "core.healthz": "the load balancer's health check",
    # accounts: getting in
    "accounts.login": "the login form",
    "accounts.totp": "the project leader's second step (needs the first)",
    "accounts.logout": "ending a session",
    "accounts.register": "a company registers itself",
    "accounts.confirm": "the e-mail confirmation link (single-use token)",
    "accounts.forgot_password": "asking for a reset link",
    "accounts.reset_password": "the reset link (single-use token)",
    "accounts.accept_invite": "the invitation link (single-use token)",
    "accounts.switch_language": "the language switch, for visitors too",
    # giving: the public donation page and the donor's own pages (behind a key in the link)
    "giving.public_donate": "anyone may donate",
    "giving.donation_status": "the donor's status page, by the key in their link",
    "giving.cancel": "back from Stripe Checkout, by the key in the link",
    "giving.document": "the donor's receipt, by the key in the link",
    "giving.credit_note": "the donor's credit note, by the key in the link",
    "giving.stripe_webhook": "Stripe's webhook (authenticated by its signature)",
    "giving.demo_checkout_page": "the demo payment page (development without Stripe keys), by the key in the link",
    # statements: anyone may check a statement's verification code
    "statements.verify_start": "the verification form",
    "statements.verify": "checking a statement number and code",
    # enrollment: the employee's own login by a mailed link
    "enrollment.ambassador_link": "the employee asks for a login link",
    "enrollment.ambassador_welcome": "the employee's login link (single-use token)",
    # contact: the public contact form and the cost page (each answers at a Dutch and an English address)
    "contact.form": "anyone may send the project leader a message (rate-limited, honeypot)",
    "contact.costs_page": "what taking part costs an employer, from the school calendar",
}

# Public pages that show an object only to whoever has the key from the link (?key=...).
KEY_GUARDED = {"giving.donation_status", "giving.cancel", "giving.document", "giving.credit_note",
               "giving.demo_checkout_page"}


def _names(by_blueprint: dict[str, set[str]]) -> frozenset[str]:
    return frozenset(f"{blueprint}.{name}" for blueprint, names in by_blueprint.items() for name in names)


COMPANY_ENDPOINTS = _names({
    "accounts": {"dashboard", "profile", "team", "activate", "change_role", "deactivate", "company_ibans"},
    "enrollment": {"overview", "new", "edit", "detail", "withdraw", "vog", "send_link", "report_hours",
                   "extra_hours", "hours_export", "import_csv", "import_template"},
    "giving": {"donate", "index", "export_csv", "company_document", "withdraw", "materials", "pledge",
               "decide_gift", "company_credit_note"},
    "sroi": {"index", "new", "edit", "rules", "delete", "detail", "allocate", "remove_allocation", "suggest",
             "approve", "correct", "report_pdf", "download_letter", "allocate_bulk"},
    "statements": {"index", "preview", "preview_pdf", "issue", "detail", "download", "specification", "correct",
                   "certificates", "certificate_pdf"},
})

LEADER_ENDPOINTS = _names({
    "accounts": {"leader_home"},
    "enrollment": {"leader_enrolments", "leader_detail", "leader_move", "leader_vog", "leader_send_link",
                   "leader_report_hours", "leader_extra_hours", "leader_document", "leader_correct", "leader_hours",
                   "leader_reminders", "leader_schools", "leader_school", "leader_school_years",
                   "leader_school_year", "leader_add_closure", "leader_remove_closure", "leader_allowances",
                   "leader_allowance_batch", "leader_caps"},
    "contact": {"leader_messages", "leader_message", "leader_answer"},
    "giving": {"leader_desk", "leader_publish_need", "leader_close_need", "leader_pledge", "leader_move_pledge",
               "leader_resolve_issue", "leader_bank", "leader_donation", "leader_document", "leader_withdraw",
               "leader_decide_gift", "leader_credit_note"},
    "reconcile": {"desk", "queue", "matched", "import_statement", "paste", "match_line", "unmatch_line",
                  "ignore_line", "restore_line", "rematch", "periods", "add_correction", "export", "export_csv",
                  "export_xlsx", "journal", "journal_download", "stripe", "stripe_sync_now", "audit_log", "audit_check", "company_users", "start_acting",
                  "stop_acting", "surpluses"},
    "sroi": {"leader_overview", "leader_detail", "leader_report_pdf", "leader_download_letter", "leader_review"},
    "tasks": {"index", "retry"},  # the task queue: waiting, failed, retry (portal/reconcile/jobs.py)
    "statements": {"register", "leader_detail", "leader_download", "leader_specification", "leader_correct",
                   "leader_void", "runs"},
})

# Pages behind the employee's own login (a mailed link), not a company account: visitors without
# her session are sent to the employee's login page instead of /login.
EMPLOYEE_LOGIN = "/ambassador/link"
EMPLOYEE_ENDPOINTS = _names({
    "enrollment": {"ambassador_home", "ambassador_upload", "ambassador_document", "ambassador_hours",
                   "ambassador_extra", "ambassador_iban", "ambassador_logout"},
})

# Private routes that answer 404 instead of sending a visitor without the right session to a login page.
NOT_FOUND_WITHOUT_SESSION = {
    "enrollment.ambassador_document": "a download, not a page: nothing to come back to after logging in",
    "reconcile.stop_acting": "only a leader acting on behalf of a user has something to stop",
}

# What the project leader (who has no company) gets on company pages that are not 404 for her.
LEADER_ON_COMPANY_PAGES = {
    "accounts.dashboard": (302, "/leader"),   # sent to her own home
    "accounts.profile": (200, ""),            # her own account
    "accounts.team": (403, ""),               # for a company's administrators
}

# Webhooks authenticate by signature instead of a CSRF token.
CSRF_EXEMPT_PATHS = {"/webhooks/stripe"}


def is_public(endpoint: str) -> bool:
    return (endpoint in PUBLIC_ENDPOINTS or endpoint.startswith(PUBLIC_PREFIXES)
            or endpoint.endswith(".static"))


def own_login(endpoint: str) -> str | None:
    """The login page of a route with its own login, or None."""
    return EMPLOYEE_LOGIN if endpoint in EMPLOYEE_ENDPOINTS else None


def classes(endpoint: str) -> list[str]:
    """The classes of one endpoint ("public", "key-guarded", "company", "leader", "employee")."""
    found = []
    if is_public(endpoint):
        found.append("key-guarded" if endpoint in KEY_GUARDED else "public")
    for name, members in (("company", COMPANY_ENDPOINTS), ("leader", LEADER_ENDPOINTS),
                          ("employee", EMPLOYEE_ENDPOINTS)):
        if endpoint in members:
            found.append(name)
    return found


def rules_of(app, kind: str) -> list:
    """The app's rules of one class, in a stable order."""
    return sorted((rule for rule in app.url_map.iter_rules() if classes(rule.endpoint) == [kind]),
                  key=lambda rule: (rule.endpoint, rule.rule))


def methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def url(rule, values: dict) -> str:
    """The rule's path with `values` filled in (converters are not re-validated)."""
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + ">", str(values[name]), path)
    return path


def sample_values(rule) -> dict:
    """Values that match the rule's converters (for routes where any object will do)."""
    from werkzeug.routing.converters import AnyConverter, IntegerConverter

    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            values[name] = 1
        else:
            values[name] = "x"
    return values
