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
    return db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None
