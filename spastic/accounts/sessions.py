"""Server-side login sessions: the cookie holds a random token; the database says if it is live."""

import hashlib
import secrets
from datetime import timedelta

from flask import (
    Flask,
    current_app,
    flash,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from spastic.database import defer_write
from spastic.extensions import db, login_manager
from spastic.models import Clinic, LoginSession, User, utcnow

_TOUCH_EVERY = timedelta(seconds=60)


class SessionCookies(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = super().get_cookie_secure(app)
        return configured or (has_request_context() and request.is_secure)


def register(app: Flask) -> None:
    app.session_interface = SessionCookies()
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # our own token table does this job
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(_unauthorized)


def _unauthorized():
    """Scripts get a 401 they can act on; pages go to the login form and come back."""
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error="logged_out", login_url=url_for("auth.login")), 401
    flash(login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def start(user: User) -> None:
    """Begin a new login session: fresh cookie contents, a new token stored hashed."""
    token = secrets.token_urlsafe(32)
    session.clear()
    session["sid"] = token
    session.permanent = False
    db.session.add(LoginSession(user_id=user.id, token_hash=_digest(token)))


def end_current(reason: str) -> None:
    """End the session of this cookie on the server, then forget it."""
    row = _current_row()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        row.end_reason = reason
    session.clear()


def end_all_for(user_id: int, reason: str) -> None:
    """End every live session of a user (disable, password change)."""
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


def current_is_live() -> bool:
    """Whether this cookie's session is still open now (read afresh, not as loaded earlier)."""
    token = session.get("sid")
    query = select(LoginSession.ended_at).where(LoginSession.token_hash == _digest(token or ""))
    found = db.session.execute(query).first()
    return found is not None and found.ended_at is None


def load_user(user_id: str) -> User | None:
    """Return the user of a live session, or None so Flask-Login asks for a login."""
    row = _current_row_with_user()
    if row is None or row.ended_at is not None or str(row.user_id) != user_id:
        return None
    now = utcnow()
    idle = timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"])
    absolute = timedelta(hours=current_app.config["ABSOLUTE_TIMEOUT_HOURS"])
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        _write_session(row.id, ended_at=now, end_reason="timeout")
        return None
    user = row.user
    if not user.active:
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        _write_session(row.id, last_seen_at=now)
    return user


def _write_session(row_id: int, **values) -> None:
    """Change a session row: at the end of a read request (see database.py), now otherwise."""

    def write():
        db.session.execute(update(LoginSession).where(LoginSession.id == row_id).values(**values))

    if not defer_write(write):
        write()
        db.session.commit()


def _current_row() -> LoginSession | None:
    token = session.get("sid")
    if not token:
        return None
    return db.session.scalar(select(LoginSession).where(LoginSession.token_hash == _digest(token)))


# Built once: every request of a logged-in user runs it, and building it cost about as much.
_WITH_USER = (
    select(LoginSession, User, Clinic)
    .join(User, User.id == LoginSession.user_id)
    .join(Clinic, Clinic.id == User.clinic_id)
    .where(LoginSession.token_hash == bindparam("token_hash"))
)


def _current_row_with_user() -> LoginSession | None:
    """The session row with its user and the user's clinic (every page shows times in the
    clinic's zone), in one query. Selected as entities, not as eager-load options: a later
    `refresh(user, with_for_update=True)` would repeat those as an outer join, which
    PostgreSQL cannot lock."""
    token = session.get("sid")
    if not token:
        return None
    found = db.session.execute(_WITH_USER, {"token_hash": _digest(token)}).first()
    if found is None:
        return None
    row, user, clinic = found
    set_committed_value(row, "user", user)
    set_committed_value(user, "clinic", clinic)
    return row


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
