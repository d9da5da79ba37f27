"""Outgoing mail: SMTP when PORTAL_SMTP_HOST is set, otherwise .eml files in the outbox.

Every message has a plain-text and an HTML part, rendered in the recipient's language
from `templates/mail/<name>.txt` and `templates/mail/<name>.html`. Inside a database
transaction the message is sent only after the transaction commits.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import unicodedata
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale

from portal.core.db import database, utcnow

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
                  attachments: list[Attachment] | None = None, **context) -> None:
    """Render and send a mail to one recipient in their language."""
    message = render(template, language, subject, **context)
    message.to = to
    message.attachments = list(attachments or [])
    send(message)


def header_text(value: object) -> str:
    """A header value on one line: line breaks, tabs and other control characters (a name typed
    with CR/LF, or stored before forms refused them) become single spaces, so a subject that
    names someone can neither fail to send nor add a header of its own."""
    text = "".join(" " if unicodedata.category(c) == "Cc" or c in "\u2028\u2029" else c
                   for c in str(value or ""))
    return re.sub(r"\s+", " ", text).strip()


def _build(message: Mail, sender: str) -> EmailMessage:
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


def send(message: Mail) -> None:
    """Deliver now, or after the surrounding transaction commits."""
    config = current_app.config
    email = _build(message, config["MAIL_FROM"])
    if database.transaction_depth() > 0:
        database.after_commit(lambda: _deliver_after_commit(email, config))
    else:
        _deliver(email, config)


def _deliver_after_commit(email: EmailMessage, config) -> None:
    """The change is committed: a mail relay that is down must not turn it into an error page
    (peewee would try to roll back a finished transaction). Log it and keep the message."""
    try:
        _deliver(email, config)
    except Exception:
        log.exception("mail to %s could not be sent; kept in the outbox's unsent/ folder", email["To"])
        _write(email, os.path.join(config["OUTBOX_DIR"], "unsent"))


def _write(email: EmailMessage, folder: str) -> str:
    os.makedirs(folder, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(bytes(email))
    return name


def _deliver(email: EmailMessage, config) -> None:
    if config.get("SMTP_HOST"):
        with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=20) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(email)
        log.info("mail sent over SMTP to %s", email["To"])
        return
    name = _write(email, config["OUTBOX_DIR"])
    log.info("mail written to outbox %s", name)
