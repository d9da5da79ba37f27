"""Companies, their users, server-side login sessions and single-use tokens."""

from __future__ import annotations

import peewee

from portal.core.db import BaseModel, utcnow

ROLES = ("admin", "member", "leader")
TOKEN_PURPOSES = ("confirm", "reset", "invite")


class Company(BaseModel):
    legal_name = peewee.CharField(max_length=200)
    kvk = peewee.CharField(max_length=8, unique=True)
    street = peewee.CharField(max_length=200)
    postcode = peewee.CharField(max_length=7)
    city = peewee.CharField(max_length=100)
    billing_email = peewee.CharField(max_length=254)
    language = peewee.CharField(max_length=2, default="nl")
    hourly_cost_cents = peewee.BigIntegerField(null=True, constraints=[peewee.Check("hourly_cost_cents IS NULL OR hourly_cost_cents >= 0")])
    created_at = peewee.DateTimeField(default=utcnow)

    def __str__(self) -> str:
        return self.legal_name


class User(BaseModel):
    company = peewee.ForeignKeyField(Company, null=True, backref="users", on_delete="RESTRICT")
    email = peewee.CharField(max_length=254, unique=True)
    name = peewee.CharField(max_length=200, default="")
    password_hash = peewee.CharField(max_length=255, default="")
    role = peewee.CharField(max_length=10, constraints=[peewee.Check("role IN ('admin', 'member', 'leader')")])
    language = peewee.CharField(max_length=2, default="nl")
    is_active = peewee.BooleanField(default=True)
    email_confirmed_at = peewee.DateTimeField(null=True)
    password_changed_at = peewee.DateTimeField(null=True)
    totp_secret = peewee.CharField(max_length=64, default="")
    totp_confirmed_at = peewee.DateTimeField(null=True)
    totp_last_step = peewee.BigIntegerField(default=0)
    created_at = peewee.DateTimeField(default=utcnow)

    # Flask-Login's protocol
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_leader(self) -> bool:
        return self.role == "leader"

    @property
    def is_company_admin(self) -> bool:
        return self.role == "admin" and self.company_id is not None

    @property
    def display_name(self) -> str:
        return self.name or self.email


class LoginSession(BaseModel):
    """A login: the cookie holds a random token whose SHA-256 is stored here."""

    user = peewee.ForeignKeyField(User, backref="login_sessions", on_delete="CASCADE")
    token_hash = peewee.CharField(max_length=64, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)
    last_seen_at = peewee.DateTimeField(default=utcnow)
    mfa_passed = peewee.BooleanField(default=False)
    acting_for = peewee.ForeignKeyField(User, null=True, on_delete="CASCADE", backref="+")


class Token(BaseModel):
    """A single-use link (confirm e-mail, reset password, accept invitation)."""

    user = peewee.ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    purpose = peewee.CharField(max_length=10, constraints=[peewee.Check("purpose IN ('confirm', 'reset', 'invite')")])
    token_hash = peewee.CharField(max_length=64, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)
    expires_at = peewee.DateTimeField()
    used_at = peewee.DateTimeField(null=True)


class Invitation(BaseModel):
    """An invitation as the inviting company sees it on its team page, the same for a new address
    (which gets an account without a password and a link, `user`) and for one that already has an
    account (which gets only a notice, `user` NULL): the page never tells which one it was."""

    company = peewee.ForeignKeyField(Company, backref="invitations", on_delete="CASCADE")
    email = peewee.CharField(max_length=254)
    name = peewee.CharField(max_length=200, default="")
    role = peewee.CharField(max_length=10, constraints=[peewee.Check("role IN ('admin', 'member')")])
    user = peewee.ForeignKeyField(User, null=True, on_delete="CASCADE", backref="+")
    created_at = peewee.DateTimeField(default=utcnow)
    withdrawn_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("company", "email"), True),)


class CompanyIban(BaseModel):
    """An account a company pays from, registered in its profile (migration 0013): a transfer
    from it points to that company when the amount leaves no doubt which request it pays."""

    company = peewee.ForeignKeyField(Company, backref="ibans", on_delete="CASCADE")
    iban = peewee.CharField(max_length=34, index=True)
    created_by = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "company_iban"
        indexes = ((("company", "iban"), True),)

    @property
    def printed(self) -> str:
        """In groups of four, as on a bank card: "NL91 ABNA 0417 1643 00"."""
        return " ".join(self.iban[i:i + 4] for i in range(0, len(self.iban), 4))


MODELS = (Company, User, LoginSession, Token, Invitation, CompanyIban)
