"""Configuration (defaults, PORTAL_* variables, test overrides, production refusals) and the
database wiring (SQLite pragmas, constraints on both databases, per-request connections)."""

from __future__ import annotations

import sqlite3

import peewee
import pytest

from portal import create_app
from portal.config import SETTINGS, ConfigError, load
from portal.core.db import atomic_write, database, is_sqlite, make_database
from tests.conftest import PG_URL, PRODUCTION_ISSUER
from tests.core.cli_runner import run_portal

STRONG_KEY = "k3Zq9vR2mX7pL0sT4wY8bN1cF6hJ5dG2aE9uI3oP"


@pytest.fixture
def production(monkeypatch, database_url, tmp_path):
    """PORTAL_* as a production server would have them, minus what each test removes."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.setenv("PORTAL_ENV", "production")
    for name, value in PRODUCTION_ISSUER.items():
        monkeypatch.setenv(f"PORTAL_{name}", value)
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(tmp_path / "instance"))
    return monkeypatch


def test_production_refuses_the_example_issuer_details(production):
    # Statements and payment requests would print an example address and IBAN: a company could pay
    # a payment request into an account that is not the foundation's.
    production.delenv("PORTAL_ISSUER_IBAN")
    production.delenv("PORTAL_ISSUER_ADDRESS")
    production.setenv("PORTAL_SECRET_KEY", STRONG_KEY)
    with pytest.raises(ConfigError, match="PORTAL_ISSUER_ADDRESS, PORTAL_ISSUER_IBAN still hold the example values"):
        create_app()
    production.setenv("PORTAL_ISSUER_IBAN", PRODUCTION_ISSUER["ISSUER_IBAN"])
    production.setenv("PORTAL_ISSUER_ADDRESS", PRODUCTION_ISSUER["ISSUER_ADDRESS"])
    assert create_app().config["ISSUER_IBAN"] == PRODUCTION_ISSUER["ISSUER_IBAN"]


def test_production_refuses_to_start_without_a_secret_key(production):
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY"):
        create_app()


@pytest.mark.parametrize("key", ["dev-only-not-secret", "short-key", "x" * 31, ""])
def test_production_refuses_the_default_or_a_short_secret_key(production, key):
    production.setenv("PORTAL_SECRET_KEY", key)
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY"):
        create_app()


def test_production_refuses_cookies_without_secure(production):
    production.setenv("PORTAL_SECRET_KEY", STRONG_KEY)
    production.setenv("PORTAL_SECURE_COOKIES", "off")
    with pytest.raises(ConfigError, match="PORTAL_SECURE_COOKIES"):
        create_app()


def test_production_starts_with_a_real_secret_key(production):
    production.setenv("PORTAL_SECRET_KEY", STRONG_KEY)
    app = create_app()
    assert app.config["ENV"] == "production" and not app.debug and not app.testing
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["SESSION_COOKIE_NAME"] == "__Host-portal"
    assert app.config["TEMPLATES_AUTO_RELOAD"] is False


def test_a_test_override_cannot_sneak_past_the_production_check(app_config):
    with pytest.raises(ConfigError):
        create_app(dict(app_config, ENV="production", SECRET_KEY="dev-only-not-secret"))


def test_development_runs_with_the_default_key(app_config):
    app = create_app(dict(app_config, ENV="development", SECRET_KEY="dev-only-not-secret"))
    assert app.config["SECRET_KEY"] == "dev-only-not-secret"


def test_environment_variables_override_defaults_and_are_typed(tmp_path):
    config = load(str(tmp_path), {"PORTAL_SMTP_PORT": "2525", "PORTAL_SECURE_COOKIES": "off",
                                  "PORTAL_SMTP_STARTTLS": "yes", "PORTAL_MAIL_FROM": "Portal <p@x.nl>"})
    assert config["SMTP_PORT"] == 2525
    assert config["SECURE_COOKIES"] is False and config["SMTP_STARTTLS"] is True
    assert config["MAIL_FROM"] == "Portal <p@x.nl>"
    assert config["SESSION_IDLE_MINUTES"] == 120 and config["SESSION_ABSOLUTE_HOURS"] == 12


def test_defaults_live_in_the_instance_folder(tmp_path):
    config = load(str(tmp_path), {})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path}/portal.db"
    assert config["OUTBOX_DIR"] == str(tmp_path / "outbox") and config["UPLOAD_DIR"] == str(tmp_path / "uploads")
    assert config["ENV"] == "development" and config["CONTENT_RELOAD"] is True


def test_test_overrides_beat_environment_variables(monkeypatch, app_config):
    monkeypatch.setenv("PORTAL_RESET_MINUTES", "5")
    assert create_app(app_config).config["RESET_MINUTES"] == 5
    assert create_app(dict(app_config, RESET_MINUTES=30)).config["RESET_MINUTES"] == 30


def test_demo_refuses_to_run_in_production(app, monkeypatch):
    result = run_portal(app, "demo", PORTAL_ENV="production", PORTAL_SECRET_KEY=STRONG_KEY,
                        **{f"PORTAL_{name}": value for name, value in PRODUCTION_ISSUER.items()})
    assert result.exit_code == 1
    assert "refuses to run with PORTAL_ENV=production" in result.output


# --- the database ---------------------------------------------------------------------------

def test_an_unknown_database_scheme_is_refused():
    with pytest.raises(ValueError, match="sqlite:/// or postgresql://"):
        make_database("mysql://root@localhost/portal")


def test_postgresql_urls_carry_user_password_host_port_and_name():
    db = make_database("postgresql://app%40x:p%2Fw@db.example:6543/portal")
    assert isinstance(db, peewee.PostgresqlDatabase)
    assert db.database == "portal"
    assert db.connect_params == {"user": "app@x", "password": "p/w", "host": "db.example", "port": 6543}


@pytest.mark.skipif(bool(PG_URL), reason="SQLite pragmas")
def test_sqlite_runs_with_wal_foreign_keys_full_sync_and_a_busy_timeout(app):
    pragma = {name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]
              for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2, "busy_timeout": 10_000}


@pytest.mark.skipif(bool(PG_URL), reason="SQLite locking")
def test_atomic_write_takes_the_write_lock_at_begin_on_sqlite(app):
    """IMMEDIATE: another writer is kept out before this transaction has written anything."""
    path = app.config["DATABASE_URL"][len("sqlite:///"):]
    with atomic_write():
        from portal.accounts.models import Company

        Company.select().count()  # only a read so far
        other = sqlite3.connect(path, timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_foreign_keys_and_checks_are_enforced(app, make_company):
    from portal.accounts.models import Company, User

    company = make_company("Acme")
    cases = [
        lambda: User.create(company=987654, email="ghost@x.nl", role="member"),
        lambda: User.create(company=company, email="god@x.nl", role="god"),
        lambda: Company.update(hourly_cost_cents=-1).where(Company.id == company.id).execute(),
        lambda: User.create(company=company, email=company.admin.email, role="member"),
        lambda: Company.delete().where(Company.id == company.id).execute(),  # users still point at it
    ]
    for case in cases:
        with pytest.raises(peewee.IntegrityError), database.atomic():
            case()
    assert Company.get_by_id(company.id).hourly_cost_cents == 5000


def test_each_request_closes_its_connection(app, client):
    database.close()
    assert client.get("/healthz").status_code == 200
    assert database.is_closed()


def test_is_sqlite_matches_the_configured_database(app):
    assert is_sqlite() == (not PG_URL)
