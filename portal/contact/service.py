"""The contact form's domain: take a message in, tell the project leader, confirm to the sender in
the language of the form they used, and let the leader answer. Plain arguments in, plain results
out; never `request`.

What the sender typed is stored as typed; the question type is a code, its words are rendered at
display time in the reader's language. Mail goes out after the transaction commits (core.mail).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import peewee
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from peewee import fn

from portal.accounts.models import User
from portal.contact.models import (
    LANGUAGES,
    MAX_EMAIL,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_ORGANISATION,
    MAX_REPLY,
    QUESTION_TYPES,
    ContactMessage,
)
from portal.core import audit, mail
from portal.core.db import atomic_write, utcnow
from portal.core.errors import UserError
from portal.core.urls import external_url

QUESTION_LABELS = {
    "employer": _l("Employer: employees taking part"),
    "school": _l("School"),
    "ambassador": _l("Ambassador or employee"),
    "donation": _l("Donation or finance"),
    "other": _l("Something else"),
}
STATUS_LABELS = {"new": _l("New"), "answered": _l("Answered")}
PER_PAGE = 25


class ContactError(UserError):
    """A refusal to show the user: str() is the translated message; `field` names the input."""


@dataclass(frozen=True)
class Submission:
    name: str
    organisation: str
    email: str
    question_type: str
    message: str
    language: str
    form_token: str


def new_token() -> str:
    """A fresh form token: one per form shown, so the same form sent twice is stored once."""
    return secrets.token_urlsafe(24)


def _text(value: str | None, field_name: str, maximum: int, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ContactError(_l("This field is required."), field_name)
    if len(text) > maximum:
        raise ContactError(_l("Use at most %(max)d characters.", max=maximum), field_name)
    return text


def _email(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise ContactError(_l("This field is required."), "email")
    if len(text) > MAX_EMAIL:
        raise ContactError(_l("Use at most %(max)d characters.", max=MAX_EMAIL), "email")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ContactError(_l("Enter a valid e-mail address, such as name@company.nl."), "email") from exc


def leaders() -> list[User]:
    """The active project leader accounts: they receive every message."""
    return list(User.select().where((User.role == "leader") & User.is_active))




def question_label(code: str) -> str:
    """The question type in words, in the current language."""
    return str(QUESTION_LABELS.get(code, code))


def submit(data: Submission, *, confirm: bool = True) -> tuple[ContactMessage, bool]:
    """Store a message, mail it to the project leader and (when `confirm`) a confirmation to the
    sender in the form's language; returns (message, created). The same form token twice stores
    and mails once."""
    name = _text(data.name, "name", MAX_NAME)
    organisation = _text(data.organisation, "organisation", MAX_ORGANISATION, required=False)
    email = _email(data.email)
    if data.question_type not in QUESTION_TYPES:
        raise ContactError(_l("Choose what your question is about."), "question_type")
    text = _text(data.message, "message", MAX_MESSAGE)
    language = data.language if data.language in LANGUAGES else "nl"
    if not data.form_token or len(data.form_token) > 64:
        raise ContactError(_l("The form has expired. Please submit it again."))
    try:
        with atomic_write():
            row = ContactMessage.create(name=name, organisation=organisation, email=email,
                                        question_type=data.question_type, message=text, language=language,
                                        form_token=data.form_token)
            link = external_url("contact.leader_message", message_id=row.id)
            for leader in leaders():
                mail.send_template(leader.email, "contact/for_leader", leader.language,
                                   _l("Contact form: %(type)s", type=QUESTION_LABELS[row.question_type]),
                                   leader=leader, row=row, question=QUESTION_LABELS[row.question_type], link=link)
            if confirm:
                mail.send_template(row.email, "contact/confirmation", row.language,
                                   _l("We received your message"), row=row,
                                   question=QUESTION_LABELS[row.question_type])
    except peewee.IntegrityError:
        existing = ContactMessage.get_or_none(ContactMessage.form_token == data.form_token)
        if existing is None:
            raise ContactError(_l("The form has expired. Please submit it again.")) from None
        return existing, False
    return row, True


@dataclass(frozen=True)
class Listing:
    rows: list[ContactMessage]
    page: int
    pages: int
    total: int


def listing(page: int = 1, status: str | None = None, per_page: int = PER_PAGE) -> Listing:
    """One page of messages, newest first; `status` narrows it to new or answered ones."""
    query = ContactMessage.select()
    if status in STATUS_LABELS:
        query = query.where(ContactMessage.status == status)
    total = query.count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = list(query.order_by(ContactMessage.received_at.desc(), ContactMessage.id.desc())
                .paginate(page, per_page))
    return Listing(rows, page, pages, total)


def new_count() -> int:
    """How many messages wait for an answer (one COUNT, whatever the history)."""
    return ContactMessage.select(fn.COUNT(ContactMessage.id)).where(ContactMessage.status == "new").scalar() or 0


def get(message_id: int) -> ContactMessage | None:
    """One message by id, or None."""
    return ContactMessage.get_or_none(ContactMessage.id == message_id)


def answer(message_id: int, reply: str, actor: User) -> ContactMessage:
    """Mark a new message answered with the leader's reply, and mail the reply to the sender in the
    language of the form they used."""
    text = _text(reply, "reply", MAX_REPLY)
    with atomic_write():
        now = utcnow()
        moved = (ContactMessage.update(status="answered", reply=text, answered_at=now, answered_by=actor.id)
                 .where((ContactMessage.id == message_id) & (ContactMessage.status == "new")).execute())
        if not moved:
            raise ContactError(_l("This message has already been answered."))
        row = ContactMessage.get_by_id(message_id)
        audit.record("contact.answered", actor=actor, obj=row, object_type="contact_message",
                     question_type=row.question_type, language=row.language)
        mail.send_template(row.email, "contact/reply", row.language, _l("Answer to your message"),
                           row=row, question=QUESTION_LABELS[row.question_type])
    return row
