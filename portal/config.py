"""Configuration: defaults in code, then PORTAL_* environment variables, then test overrides.

Every setting is listed once in DEFAULTS; the README's configuration table is generated
from the same list (`portal config`), so the two cannot drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


class ConfigError(RuntimeError):
    """The configuration cannot be used (e.g. production without a real secret key)."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"PORTAL_{self.name}"


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "development", "`development` or `production`; production refuses unsafe defaults"),
    Setting("SECRET_KEY", "dev-only-not-secret", "signs cookies and tokens; required in production"),
    Setting("DATABASE_URL", "", "`sqlite:///path.db` (default: instance/portal.db) or `postgresql://user@host/db`"),
    Setting("BASE_URL", "http://127.0.0.1:5000", "public address used in e-mails and PDFs"),
    Setting("SECURE_COOKIES", True, "mark cookies Secure (`make run` switches it off for local http)"),
    Setting("SESSION_IDLE_MINUTES", 120, "a login session ends after this much inactivity"),
    Setting("SESSION_ABSOLUTE_HOURS", 12, "a login session ends this long after login, whatever happens"),
    Setting("QUEUE_URL", "", "task queue: empty keeps it in a SQLite file beside the SQLite database (`portal-tasks.db`) or in the instance folder; `redis://127.0.0.1:6379/1` for Redis"),
    Setting("RATELIMIT_STORAGE", "memory://", "Flask-Limiter storage; `redis://127.0.0.1:6379` for several workers"),
    Setting("TRUSTED_PROXIES", 0, "number of reverse proxies in front whose `X-Forwarded-For`/`-Proto` are trusted (Werkzeug's ProxyFix); 0 trusts none"),
    Setting("RATELIMIT_LOGIN", "10 per minute;50 per hour", "limit on login, reset and invitation attempts, per IP and per account"),
    Setting("SMTP_HOST", "", "SMTP relay; empty writes .eml files to the outbox instead"),
    Setting("SMTP_PORT", 25, "SMTP port"),
    Setting("SMTP_USER", "", "SMTP user name (optional)"),
    Setting("SMTP_PASSWORD", "", "SMTP password (optional)"),
    Setting("SMTP_STARTTLS", False, "upgrade the SMTP connection with STARTTLS"),
    Setting("MAIL_FROM", "OnderwijsAmbassadeurs <portal@onderwijsambassadeurs.nl>", "sender of every e-mail"),
    Setting("OUTBOX_DIR", "", "folder for .eml files when no SMTP host is set (default: instance/outbox)"),
    Setting("UPLOAD_DIR", "", "folder for uploaded documents (default: instance/uploads)"),
    Setting("PDF_TIMEOUT_SECONDS", 30, "a PDF that takes longer to render is stopped with an error (`portal demo` allows at least 600: its largest company's statements list tens of thousands of sessions)"),
    Setting("MAX_AMOUNT_CENTS", 100_000_000, "largest amount anyone may enter, in cents (default EUR 1,000,000)"),
    Setting("PASSWORD_HASH_MEMORY_KIB", 65536, "argon2id memory cost (tests lower it)"),
    Setting("INVITE_HOURS", 72, "how long an invitation link stays valid"),
    Setting("RESET_MINUTES", 60, "how long a password-reset link stays valid"),
    Setting("CONTENT_DIR", "", "folder with the markdown pages (default: content/ beside portal/)"),
    Setting("CONTENT_RELOAD", False, "re-read changed content files on request (on in development)"),
    Setting("ISSUER_NAME", "Stichting OnderwijsAmbassadeurs Utrecht", "issuer printed on statements"),
    Setting("ISSUER_ADDRESS", "Postbus 1234, 3500 AA Utrecht", "issuer's address"),
    Setting("ISSUER_KVK", "00000000", "issuer's KvK number"),
    Setting("ISSUER_RSIN", "000000000", "issuer's RSIN (fiscal number)"),
    Setting("ISSUER_ANBI", False, "whether the issuer has ANBI status"),
    Setting("ISSUER_IBAN", "NL91ABNA0417164300", "IBAN for bank transfers"),
    Setting("ISSUER_VAT_NUMBER", "", "issuer's VAT number (btw-id); empty: not VAT-registered. When set, a paid sponsoring contribution gets a numbered VAT invoice whose total is the amount paid"),
    Setting("VAT_RATE_BASIS_POINTS", 2100, "VAT rate on sponsoring invoices, in basis points (2100 = 21%)"),
    Setting("STRIPE_SECRET_KEY", "", "Stripe secret key (sk_test_… or sk_live_…)"),
    Setting("STRIPE_WEBHOOK_SECRET", "", "secret of the Stripe webhook endpoint (whsec_…)"),
    Setting("STRIPE_API_BASE", "", "override of Stripe's API address (tests point it at localstripe)"),
    Setting("STRIPE_PAYMENT_METHODS", "ideal,card,sepa_debit", "payment methods offered in Checkout"),
    Setting("DEMO_PAYMENTS", "auto", "development only: a demo payment page stands in for Stripe Checkout and no money moves; `auto` turns it on when ENV is development, the base URL is this machine (127.0.0.1 or localhost) and no Stripe key or webhook secret is set, `on` or `off` decide; refused in production and beside Stripe keys"),
    Setting("PAYMENT_REQUEST_DUE_DAYS", 30, "days a company has to pay a payment request by bank transfer"),
    Setting("PENDING_ALERT_DAYS", 14, "the project leader sees online payments still unsettled after this many days"),
    Setting("RECONCILE_MAX_UPLOAD_MB", 10, "largest bank statement file the project leader may upload, in MB"),
    Setting("RECONCILE_BACKGROUND_IMPORT_KB", 512,
            "bank files larger than this (KB) are imported on the task queue; 0 sends every file there"),
    Setting("RECONCILE_GL_CODES", "money=8000,material=8100,hours_sponsored=8200,hours_volunteered=8300",
            "general-ledger code per contribution kind in the accounting export (`kind.method=` or `kind.classification=` refine it)"),
    # The bookkeeper's journal (/leader/reconcile/journal, portal/reconcile/journal.py): one
    # general-ledger account per role; every entry debits one and credits another.
    Setting("JOURNAL_ACCOUNT_BANK", "1100", "journal: the foundation's bank account (bank transfers in, Stripe payouts in, surpluses refunded out)"),
    Setting("JOURNAL_ACCOUNT_STRIPE", "1110", "journal: the Stripe clearing account (online payments net of fees, until Stripe pays them out to the bank)"),
    Setting("JOURNAL_ACCOUNT_SURPLUS", "1610", "journal: bank money received beyond a payment request, owed back until refunded or kept as a gift"),
    Setting("JOURNAL_ACCOUNT_VAT", "1500", "journal: VAT payable on invoiced sponsoring (credited with an invoice's VAT, debited with a credit note's)"),
    Setting("JOURNAL_ACCOUNT_AWAITING", "1620", "journal: public gifts received that wait for the named company's decision (moved to income when it decides)"),
    Setting("JOURNAL_ACCOUNT_STRIPE_FEES", "4510", "journal: Stripe's fees (an expense)"),
    Setting("JOURNAL_ACCOUNT_IN_KIND_COST", "4600", "journal: materials received in kind and passed on to schools (debited at their confirmed value)"),
    Setting("JOURNAL_ACCOUNT_GIFTS", "8000", "journal: income from money gifts (refunds and chargebacks are debited here)"),
    Setting("JOURNAL_ACCOUNT_SPONSORING", "8010", "journal: income from money sponsoring (refunds and chargebacks are debited here)"),
    Setting("JOURNAL_ACCOUNT_IN_KIND_INCOME", "8100", "journal: income from gifts in kind (materials, at their confirmed value)"),
)


def _coerce(default: Any, text: str) -> Any:
    if isinstance(default, bool):
        return _bool(text)
    if isinstance(default, int):
        return int(text)
    return text


def load(instance_path: str, environ: os._Environ | dict | None = None) -> dict[str, Any]:
    """Return the configuration: code defaults overridden by PORTAL_* variables."""
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        config[setting.name] = setting.default if raw is None else _coerce(setting.default, raw)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = "sqlite:///" + os.path.join(instance_path, "portal.db")
    for key, folder in (("OUTBOX_DIR", "outbox"), ("UPLOAD_DIR", "uploads")):
        if not config[key]:
            config[key] = os.path.join(instance_path, folder)
    if not config["CONTENT_DIR"]:
        config["CONTENT_DIR"] = os.path.join(os.path.dirname(os.path.dirname(__file__)), "content")
    if config["ENV"] == "development" and environ.get("PORTAL_CONTENT_RELOAD") is None:
        config["CONTENT_RELOAD"] = True
    return config


DEMO_PAYMENTS_ENVS = ("development", "testing")
_OFF = {"0", "false", "no", "off", ""}


_ON = {"1", "true", "yes", "on"}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _demo_payments_asked(config: dict[str, Any]) -> str:
    """'auto', 'on' or 'off'; a value that is none of the known words is 'off' (never on by a typo)."""
    value = config.get("DEMO_PAYMENTS", "auto")
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value).strip().lower()
    return "auto" if text == "auto" else ("on" if text in _ON else "off")


def _on_this_machine(config: dict[str, Any]) -> bool:
    """The portal's public address is this machine itself (a developer's `make run`)."""
    from urllib.parse import urlsplit

    return (urlsplit(str(config.get("BASE_URL") or "")).hostname or "") in LOOPBACK_HOSTS


def demo_payments(config: dict[str, Any]) -> bool:
    """Whether the demo payment page stands in for Stripe Checkout: only on a developer's machine
    (ENV development or testing; with `auto`, also a base URL on this machine) and only while no
    Stripe key or webhook secret is set."""
    asked = _demo_payments_asked(config)
    if asked == "off" or config.get("STRIPE_SECRET_KEY") or config.get("STRIPE_WEBHOOK_SECRET"):
        return False
    if asked == "auto":  # a deployment that forgot PORTAL_ENV=production still has a public address
        return config.get("ENV") == "development" and _on_this_machine(config)
    return config.get("ENV") in DEMO_PAYMENTS_ENVS


# The issuer's details printed on statements, receipts and payment requests: their defaults are
# examples for development, never to be printed for real.
ISSUER_EXAMPLES = ("ISSUER_ADDRESS", "ISSUER_KVK", "ISSUER_RSIN", "ISSUER_IBAN")


def check_production(config: dict[str, Any]) -> None:
    """Refuse settings that are only safe on a developer's machine."""
    if _demo_payments_asked(config) == "on" and not demo_payments(config):
        raise ConfigError("PORTAL_DEMO_PAYMENTS=on is only for development without Stripe keys: "
                          "unset it in production and wherever PORTAL_STRIPE_SECRET_KEY or "
                          "PORTAL_STRIPE_WEBHOOK_SECRET is set")
    if config.get("ENV") != "production":
        return
    secret = config.get("SECRET_KEY") or ""
    if secret == SETTINGS[1].default or len(secret) < 32:
        raise ConfigError("PORTAL_SECRET_KEY must be set to a random value of at least 32 characters in production")
    if not config.get("SECURE_COOKIES"):
        raise ConfigError("PORTAL_SECURE_COOKIES cannot be off in production")
    examples = [setting.env for setting in SETTINGS
                if setting.name in ISSUER_EXAMPLES and str(config.get(setting.name, "")).strip() == str(setting.default)]
    if examples:
        raise ConfigError(f"{', '.join(examples)} still hold the example values: statements and payment requests "
                          "would print them (a bank transfer to an example IBAN); set the foundation's own in production")
