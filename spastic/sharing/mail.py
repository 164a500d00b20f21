"""Outgoing mail: through SMTP when a host is configured, else as .eml files in the outbox."""

import os
import secrets
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import current_app

from spastic.models import utcnow


class MailError(RuntimeError):
    """The message could not be handed to the mail server; nothing was sent."""


def compose(to: str, subject: str, body: str) -> EmailMessage:
    """Build a plain-text message from the configured sender."""
    sender = current_app.config["SMTP_FROM"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    return message


def uses_outbox() -> bool:
    """True when no mail server is configured: messages go to the outbox folder instead."""
    return not current_app.config["SMTP_HOST"]


def send(message: EmailMessage) -> None:
    """Hand the message to the mail server, or write it to the outbox; MailError on failure."""
    if uses_outbox():
        _write_to_outbox(message, Path(current_app.config["OUTBOX_FOLDER"]))
        return
    config = current_app.config
    try:
        with smtplib.SMTP(
            config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=config["SMTP_TIMEOUT_SECONDS"]
        ) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise MailError(f"{type(error).__name__}: {error}") from error


def _write_to_outbox(message: EmailMessage, folder: Path) -> Path:
    # The message holds a live link: readable by the app's user only.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.eml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(message.as_bytes())
    return path
