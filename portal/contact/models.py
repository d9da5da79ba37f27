"""Tables of the contact capability: what visitors send through the public contact form, and
the project leader's answer.

A message stores codes and facts (the question type, the language of the form used), never
sentences; the leader's reply is her own text. A message is answered once: the CHECK below keeps
an answered message with its reply and time, and the service moves it with a conditional update.
"""

from __future__ import annotations

import peewee

from portal.accounts.models import User
from portal.core.db import BaseModel, check_in, utcnow

QUESTION_TYPES = ("employer", "school", "ambassador", "donation", "other")
STATUSES = ("new", "answered")
LANGUAGES = ("nl", "en")

MAX_NAME = 200
MAX_ORGANISATION = 200
MAX_EMAIL = 254
MAX_MESSAGE = 5000
MAX_REPLY = 10000


class ContactMessage(BaseModel):
    """One message sent through the contact form, and the project leader's reply to it."""

    name = peewee.CharField(max_length=MAX_NAME)
    organisation = peewee.CharField(max_length=MAX_ORGANISATION, default="")
    email = peewee.CharField(max_length=MAX_EMAIL)
    question_type = peewee.CharField(max_length=12, constraints=[check_in("question_type", QUESTION_TYPES)])
    message = peewee.TextField()
    language = peewee.CharField(max_length=2, default="nl", constraints=[check_in("language", LANGUAGES)])
    # A double click sends the same form twice: the second finds the first by its token.
    form_token = peewee.CharField(max_length=64, unique=True)
    status = peewee.CharField(max_length=10, default="new", index=True, constraints=[check_in("status", STATUSES)])
    received_at = peewee.DateTimeField(default=utcnow, index=True)
    reply = peewee.TextField(default="")
    answered_at = peewee.DateTimeField(null=True)
    answered_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        table_name = "contact_message"
        constraints = [peewee.SQL("CHECK ((status = 'answered') = (answered_at IS NOT NULL AND reply <> ''))")]


MODELS = (ContactMessage,)
