"""Share links: who may receive a visit summary, and making, finding, opening, revoking links.

A link's token is shown once (in the email); only its SHA-256 is stored, like login sessions.
"""

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from flask import abort
from sqlalchemy import select

from spastic import audit
from spastic.access import visible_patients, visit_for
from spastic.extensions import db
from spastic.models import Patient, ShareLink, User, Visit, utcnow

MAX_TOKEN_LENGTH = 100  # token_urlsafe(32) is 43 characters; anything far longer is noise


@dataclass(frozen=True)
class Recipient:
    """A physician a summary may go to: a care-team account, or the referring physician."""

    key: str
    name: str
    email: str
    user_id: int | None

    @property
    def kind(self) -> str:
        return "care team" if self.user_id is not None else "referring physician"


def recipients_for(patient: Patient) -> list[Recipient]:
    """The patient's active care-team physicians, then the referring physician if not among them.

    Addresses come from the records only, never from the form, so a link cannot be sent
    to an address typed in by hand.
    """
    team = [
        Recipient(f"user:{user.id}", user.name, user.email, user.id)
        for user in patient.care_team
        if user.role == "physician" and user.active and user.clinic_id == patient.clinic_id
    ]
    email = (patient.referring_email or "").strip()
    if email and email.lower() not in {r.email.lower() for r in team}:
        name = patient.referring_name or "Referring physician"
        team.append(Recipient("referring", name, email, None))
    return team


def recipient_by_key(patient: Patient, key: str) -> Recipient | None:
    """Return the recipient chosen on the form, if it is still one of the patient's."""
    return next((r for r in recipients_for(patient) if r.key == key), None)


def sent_by_form(visit: Visit, submission_key: str) -> tuple[ShareLink | None, str]:
    """Return the link this form already made for this visit (or None), and the key to use.

    A key that belongs to another visit's link is not this form's: a new key is drawn.
    """
    found = db.session.scalar(select(ShareLink).where(ShareLink.submission_key == submission_key))
    if found is None:
        return None, submission_key
    if found.visit_id == visit.id:
        return found, submission_key
    return None, secrets.token_urlsafe(24)


def new_link(
    visit: Visit, recipient: Recipient, sender: User, days: int, submission_key: str
) -> tuple[ShareLink, str]:
    """Make a link, claimed for its form's key in the session, and return it with its token.

    The caller commits the claim before the email goes out, so that a resend of the same form
    (waiting on the visit's row lock) finds it and sends nothing.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    link = ShareLink(
        token_hash=_digest(token),
        visit_id=visit.id,
        recipient_email=recipient.email,
        recipient_name=recipient.name,
        recipient_user_id=recipient.user_id,
        created_by_id=sender.id,
        created_at=now,
        expires_at=now + timedelta(days=int(days)),
        open_count=0,
        submission_key=submission_key,
    )
    db.session.add(link)
    db.session.flush()
    return link, token


def withdraw(link: ShareLink) -> None:
    """Remove a claimed link whose email could not be sent: nothing was shared."""
    db.session.delete(link)
    db.session.flush()


def record_sending(link: ShareLink, patient_id: int) -> None:
    """Audit a link whose email was handed over."""
    audit.record(
        "send_summary",
        entity="share_link",
        entity_id=link.id,
        patient_id=patient_id,
        changes={
            "recipient_email": (None, link.recipient_email),
            "expires_at": (None, link.expires_at),
        },
    )


def find(token: str) -> ShareLink | None:
    """Return the link of a token, or None for an unknown token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(select(ShareLink).where(ShareLink.token_hash == _digest(token)))


def status(link: ShareLink) -> str:
    """'revoked', 'expired' or 'active'."""
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= utcnow():
        return "expired"
    return "active"


def may_open(link: ShareLink, user: User) -> bool:
    """An account link opens only for its recipient, and only while on the care team."""
    if user.id != link.recipient_user_id:
        return False
    seen = visible_patients(user).where(Patient.id == link.visit.patient_id)
    return db.session.scalar(seen) is not None


def record_opening(link: ShareLink) -> None:
    """Count an opening and audit it (with no user for a referring physician's link)."""
    link.open_count = (link.open_count or 0) + 1
    link.last_opened_at = utcnow()
    _audit(link, "open_shared_link", {"recipient_email": (None, link.recipient_email)})


def record_refusal(link: ShareLink, reason: str) -> None:
    """Audit an attempt to open a link that did not get the summary, and why."""
    _audit(link, "open_shared_link_refused", {"reason": (None, reason)})


def link_for(user: User, link_id: int) -> ShareLink:
    """Return a link the user may manage (a therapist of the patient's clinic); 404 otherwise."""
    link = db.session.get(ShareLink, link_id)
    if link is None:
        abort(404)
    visit_for(user, link.visit_id, write=True)
    return link


def revoke(link: ShareLink, user: User) -> None:
    """Make the link stop working now."""
    link.revoked_at = utcnow()
    link.revoked_by_id = user.id
    audit.record(
        "revoke_share_link",
        entity="share_link",
        entity_id=link.id,
        patient_id=link.visit.patient_id,
        changes={"revoked_at": (None, link.revoked_at)},
    )


def panel(visit: Visit) -> dict:
    """What the visit page's "Send to physician" panel shows: recipients and links sent."""
    recipients = recipients_for(visit.patient) if visit.status == "signed" else []
    return {
        "recipients": recipients,
        "links": links_of(visit),
        "submission_key": secrets.token_urlsafe(24),
    }


def links_of(visit: Visit) -> list[dict]:
    """The visit's links, newest first, each with its status, for the visit page."""
    links = db.session.scalars(
        select(ShareLink)
        .where(ShareLink.visit_id == visit.id)
        .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
    )
    return [{"link": link, "status": status(link)} for link in links]


def _audit(link: ShareLink, action: str, changes: dict) -> None:
    # The clinic is the patient's: the opener may have no account, or one elsewhere.
    patient = link.visit.patient
    audit.record(
        action,
        entity="share_link",
        entity_id=link.id,
        patient_id=patient.id,
        changes=changes,
        clinic_id=patient.clinic_id,
    )


def public_origin(config: Mapping) -> str | None:
    """The origin put in emailed links: SPASTIC_PUBLIC_URL; None when links cannot be sent.

    Outside development and testing there is no falling back on the request's Host header:
    anyone can send any Host, and the link a physician gets would lead to their server.
    """
    base = (config.get("PUBLIC_URL") or "").rstrip("/")
    if base:
        return base
    return "" if config.get("ENV_NAME") in ("development", "testing") else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
