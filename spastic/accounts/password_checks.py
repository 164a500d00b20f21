"""Every check of a password (login and each re-authentication) against one per-user lockout.

Five wrong passwords in a row lock the account for 15 minutes, whether they were typed at the
login form or at sign, amend or change password: otherwise a tablet left logged in would let
anyone guess the signer's password without limit. While locked, no password is even verified.

The check holds the user's row lock from reading the lockout to writing the new count, so
parallel attempts (several gunicorn workers) are counted one after another, exactly as if they
had been sent in turn. On PostgreSQL that is `SELECT ... FOR UPDATE`; on SQLite every
transaction begins IMMEDIATE (see database.py), which already makes them serial.
"""

from datetime import datetime, timedelta
from typing import NoReturn

from flask import abort, current_app, flash, redirect, url_for
from flask_login import current_user, logout_user
from sqlalchemy import func, select

from spastic import audit
from spastic.accounts import sessions
from spastic.accounts.passwords import verify_password
from spastic.extensions import db, limiter
from spastic.filters import time_local
from spastic.models import User, utcnow

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


def _reauth_key() -> str:
    """Count re-authentications per user, not per address (a ward shares one address)."""
    return f"user-{current_user.get_id()}"


# One bucket per user across sign, amend and change password; only POSTs check a password.
reauth_rate_limit = limiter.shared_limit(
    lambda: current_app.config["REAUTH_RATE_LIMIT"],
    scope="reauthentication",
    key_func=_reauth_key,
    methods=["POST"],
)


def login(email: str, password: str) -> User | None:
    """Return the user if the email and password are right and the account may log in.

    An unknown email or a locked account costs the same argon2 verification (of a dummy hash)
    as a known one, so the time taken says neither whether an account exists nor whether it
    is locked.
    """
    email = (email or "").strip().lower()
    query = select(User).where(func.lower(User.email) == email).with_for_update()
    user = db.session.scalar(query)
    if user is None or _locked(user):
        if user is None:
            audit.record("login_failed", entity="user", changes={"email": (None, email)})
        else:
            audit.record("login_locked", entity="user", entity_id=user.id, user=user)
        db.session.commit()
        # Not the account's hash: only the time, after the locks are released.
        verify_password(None, password)
        return None
    if verify_password(user.password_hash, password) and user.active:
        _clear_failures(user)
        return user
    _count_failure(user, "login_failed", entity="user", entity_id=user.id)
    db.session.commit()
    return None


def reauthenticate(
    password: str, *, purpose: str, entity: str, entity_id: int, patient_id: int | None = None
) -> str | None:
    """Check the logged-in user's password again; None if right, else a sentence saying why not.

    A wrong password is counted and audited (with the patient, where there is one) and
    committed at once, whatever the caller does next. The failure that locks the account also
    ends every session of the user and sends this browser to the login page: whoever is at
    the device does not know the password, so the device must not stay logged in.
    """
    user = current_user._get_current_object()
    db.session.refresh(user, with_for_update=True)
    about = {"entity": entity, "entity_id": entity_id, "patient_id": patient_id}
    purpose_row = {"purpose": (None, purpose)}
    if _locked(user):
        audit.record("reauth_locked", **about, changes=purpose_row)
        db.session.commit()
        if not sessions.current_is_live():  # ended by the lockout while this request waited
            _to_login(_locked_message(user.locked_until))
        return _locked_message(user.locked_until)
    if verify_password(user.password_hash, password):
        _clear_failures(user)
        return None
    _count_failure(user, "reauth_failed", **about, changes=purpose_row)
    if user.locked_until is None:
        db.session.commit()
        left = MAX_FAILURES - user.failed_logins
        return (
            f"That is not your password ({left} more wrong "
            f"{'try locks' if left == 1 else 'tries lock'} the account for 15 minutes)."
        )
    message = (
        f"Too many wrong passwords: the account is locked until {time_local(user.locked_until)} "
        "and was logged out on every device."
    )
    sessions.end_all_for(user.id, "locked")
    db.session.commit()
    _to_login(message)


def _to_login(message: str) -> NoReturn:
    """Forget this browser's ended session and show the login form with the reason."""
    sessions.end_current("locked")
    logout_user()
    flash(message, "error")
    abort(redirect(url_for("auth.login")))


def _locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def _locked_message(until: datetime) -> str:
    return f"The account is locked after too many wrong passwords, until {time_local(until)}."


def _clear_failures(user: User) -> None:
    """A right password starts the count again (written with the caller's commit)."""
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins = 0
        user.locked_until = None


def _count_failure(user: User, action: str, **about) -> None:
    """Count a wrong password; the fifth in a row locks the account and starts a new count."""
    user.failed_logins += 1
    audit.record(action, user=user, **about)
    if user.failed_logins >= MAX_FAILURES:
        user.locked_until = utcnow() + LOCKOUT
        user.failed_logins = 0
        until = user.locked_until.isoformat()
        audit.record(
            "account_locked",
            entity="user",
            entity_id=user.id,
            changes={"locked_until": (None, until)},
            user=user,
        )
