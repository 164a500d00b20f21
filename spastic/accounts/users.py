"""Clinic users: create them (admin page and the shell) and keep emails unique."""

from sqlalchemy import func, select

from spastic import audit
from spastic.accounts.forms import NewUser
from spastic.accounts.passwords import hash_password
from spastic.extensions import db
from spastic.models import Clinic, User


def create_user(clinic: Clinic, new: NewUser) -> User:
    """Create a user in a clinic (the caller commits); used by the admin page and the CLI."""
    user = User(
        clinic=clinic,
        email=new.email,
        name=new.name,
        role=new.role,
        password_hash=hash_password(new.password),
    )
    db.session.add(user)
    db.session.flush()
    changes = {"email": (None, new.email), "name": (None, new.name), "role": (None, new.role)}
    audit.record("create", entity="user", entity_id=user.id, changes=changes, clinic_id=clinic.id)
    return user


def email_taken(email: str) -> bool:
    """Return whether any account, in any clinic, already uses this email."""
    return clinic_using(email) is not None


def clinic_using(email: str) -> int | None:
    """Return the clinic of the account that uses this email (emails log in, so they are
    unique across clinics), or None when it is free."""
    return db.session.scalar(select(User.clinic_id).where(func.lower(User.email) == email))


def email_refusal(email: str, clinic_id: int) -> str | None:
    """Why an admin of `clinic_id` cannot give a new account this email, or None if they can.

    An email of the admin's own clinic is named as such (they see that user in their list);
    one of another clinic gets a neutral answer that does not say whether, or where, an
    account exists, and the attempt is audited.
    """
    owner = clinic_using(email)
    if owner is None:
        return None
    if owner == clinic_id:
        return "A user of your clinic already has this email."
    audit.record("create_refused", entity="user", changes={"email": (None, email)})
    return EMAIL_UNUSABLE


EMAIL_UNUSABLE = (
    "This email cannot be used for a new account. Ask the person for another work address, "
    "or call IT if they should move to your clinic."
)
