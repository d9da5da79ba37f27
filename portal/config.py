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
    Setting("STRIPE_SECRET_KEY", "", "Stripe secret key (sk_test_… or sk_live_…)"),
    Setting("STRIPE_WEBHOOK_SECRET", "", "secret of the Stripe webhook endpoint (whsec_…)"),
    Setting("STRIPE_API_BASE", "", "override of Stripe's API address (tests point it at localstripe)"),
    Setting("STRIPE_PAYMENT_METHODS", "ideal,card,sepa_debit", "payment methods offered in Checkout"),
    Setting("PAYMENT_REQUEST_DUE_DAYS", 30, "days a company has to pay a payment request by bank transfer"),
    Setting("PENDING_ALERT_DAYS", 14, "the project leader sees online payments still unsettled after this many days"),
    Setting("RECONCILE_MAX_UPLOAD_MB", 10, "largest bank statement file the project leader may upload, in MB"),
    Setting("RECONCILE_GL_CODES", "money=8000,material=8100,hours_sponsored=8200,hours_volunteered=8300",
            "general-ledger code per contribution kind in the accounting export (`kind.method=` or `kind.classification=` refine it)"),
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


def check_production(config: dict[str, Any]) -> None:
    """Refuse settings that are only safe on a developer's machine."""
    if config.get("ENV") != "production":
        return
    secret = config.get("SECRET_KEY") or ""
    if secret == SETTINGS[1].default or len(secret) < 32:
        raise ConfigError("PORTAL_SECRET_KEY must be set to a random value of at least 32 characters in production")
    if not config.get("SECURE_COOKIES"):
        raise ConfigError("PORTAL_SECURE_COOKIES cannot be off in production")
