"""Outgoing mail: SMTP when PORTAL_SMTP_HOST is set, otherwise .eml files in the outbox.

Every message has a plain-text and an HTML part, rendered in the recipient's language
from `templates/mail/<name>.txt` and `templates/mail/<name>.html`. A mail is rendered where it is
caused and delivered by a task on the queue (core/tasks.py), queued once the surrounding
transaction commits and retried with backoff. Every message has a key, its outbox file name:
delivering the same key twice writes one file.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import unicodedata
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale

from portal.core import tasks
from portal.core.db import utcnow

log = logging.getLogger("portal.mail")


@dataclass
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/pdf"


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)


def render(template: str, language: str, subject, **context) -> Mail:
    """Render a mail in `language`; `subject` may be a lazy string, translated here."""
    with force_locale(language):
        text = render_template(f"mail/{template}.txt", language=language, **context)
        html = render_template(f"mail/{template}.html", language=language, **context)
        return Mail(to=context.get("to", ""), subject=str(subject), text=text, html=html)


def send_template(to: str, template: str, language: str, subject, *,
                  attachments: list[Attachment] | None = None, key: str | None = None, now: bool = False,
                  **context) -> None:
    """Render and send a mail to one recipient in their language (see `send` for key and now)."""
    message = render(template, language, subject, **context)
    message.to = to
    message.attachments = list(attachments or [])
    send(message, key=key, now=now)


def header_text(value: object) -> str:
    """A header value on one line: line breaks, tabs and other control characters (a name typed
    with CR/LF, or stored before forms refused them) become single spaces, so a subject that
    names someone can neither fail to send nor add a header of its own."""
    text = "".join(" " if unicodedata.category(c) == "Cc" or c in "\u2028\u2029" else c
                   for c in str(value or ""))
    return re.sub(r"\s+", " ", text).strip()


KEY_SHAPE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def _build(message: Mail, sender: str, key: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = header_text(sender)
    email["To"] = header_text(message.to)
    email["Subject"] = header_text(message.subject)
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = make_msgid(domain="onderwijsambassadeurs.nl")
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, subtype = attachment.mimetype.split("/", 1)
        email.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                             filename=header_text(attachment.filename))
    return email


def send(message: Mail, *, key: str | None = None, now: bool = False) -> None:
    """Queue the mail for delivery once the surrounding transaction commits (nothing is sent for a
    change that rolls back). `key` names a mail that must go out once however often it is sent
    (a receipt); `now` delivers in the caller, which must be a task that is retried itself."""
    config = current_app.config
    key = key or f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
    if not KEY_SHAPE.match(key):
        raise ValueError(f"mail key {key!r}: letters, digits, dot, dash and underscore only")
    email = _build(message, config["MAIL_FROM"], key)
    if now:
        _deliver(bytes(email), key, config)
    else:
        tasks.enqueue(deliver, bytes(email), key)


@tasks.task(retries=8, retry_delay=60, backoff=2.0, context=True)
def deliver(raw: bytes, key: str, task=None) -> None:
    """Deliver one built message. A relay that is down is tried again later; after the last try the
    message is kept in the outbox's unsent/ folder and the task is listed for the project leader."""
    config = current_app.config
    try:
        _deliver(raw, key, config)
    except Exception:
        to = message_from_bytes(raw, policy=email_policy.default)["To"]
        if task is not None and task.retries:
            log.warning("mail to %s could not be sent; it is tried again later", to, exc_info=True)
        else:
            log.exception("mail to %s could not be sent; kept in the outbox's unsent/ folder", to)
            _write(raw, key, os.path.join(config["OUTBOX_DIR"], "unsent"))
        raise


def _write(raw: bytes, key: str, folder: str) -> bool:
    """Write `<key>.eml` into `folder` whole or not at all; False when it is there already."""
    os.makedirs(folder, exist_ok=True)
    final = os.path.join(folder, f"{key}.eml")
    partial = os.path.join(folder, f".{key}.{uuid.uuid4().hex[:8]}.tmp")
    with open(partial, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(partial, final)  # fails when the key was delivered before: a retry writes nothing new
    except FileExistsError:
        return False
    finally:
        os.unlink(partial)
    return True


def _deliver(raw: bytes, key: str, config) -> None:
    if config.get("SMTP_HOST"):
        email = message_from_bytes(raw, policy=email_policy.default)
        with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=20) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(email)
        log.info("mail sent over SMTP to %s", email["To"])
        return
    if _write(raw, key, config["OUTBOX_DIR"]):
        log.info("mail written to outbox %s.eml", key)
    else:
        log.info("mail %s.eml was in the outbox already; not written again", key)
