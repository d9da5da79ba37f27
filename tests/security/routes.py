"""Which routes are open to anonymous visitors, and why. Everything else needs a login.

A route is public only when it is named here. A new route that is not named is treated as
private: the generated tests then check that anonymous visitors are sent to the login page
(test_route_access.py) and that another company gets 404 (test_tenant_isolation.py).
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
    "giving.stripe_webhook": "Stripe's webhook (authenticated by its signature)",
    # statements: anyone may check a statement's verification code
    "statements.verify_start": "the verification form",
    "statements.verify": "checking a statement number and code",
    # enrollment: the employee's own login by a mailed link
    "enrollment.ambassador_link": "the employee asks for a login link",
    "enrollment.ambassador_welcome": "the employee's login link (single-use token)",
}

# Pages behind the employee's own login (a mailed link), not a company account: anonymous
# visitors are sent to the employee's login page instead of /login.
OWN_LOGIN_PREFIXES = {"enrollment.ambassador_": "/ambassador/link"}

# Webhooks authenticate by signature instead of a CSRF token.
CSRF_EXEMPT_PATHS = {"/webhooks/stripe"}


def is_public(endpoint: str) -> bool:
    return (endpoint in PUBLIC_ENDPOINTS or endpoint.startswith(PUBLIC_PREFIXES)
            or endpoint.endswith(".static"))


def own_login(endpoint: str) -> str | None:
    """The login page of a route with its own login, or None."""
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    for prefix, login in OWN_LOGIN_PREFIXES.items():
        if endpoint.startswith(prefix):
            return login
    return None


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
