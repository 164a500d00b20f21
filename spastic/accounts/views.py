"""Logging in and out, and changing one's own password."""

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from spastic import audit
from spastic.accounts import sessions
from spastic.accounts.forms import LoginForm, PasswordChangeForm
from spastic.accounts.passwords import hash_password, verify_password
from spastic.errors import reshow_on_expired_form
from spastic.extensions import db, limiter
from spastic.models import User, utcnow

bp = Blueprint("auth", __name__)

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
BAD_LOGIN = "Email or password is not right, or the account is locked or disabled."


@bp.get("/")
def index():
    """Send users to their starting page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.role == "admin":
        return redirect(url_for("admin.users"))
    if current_user.role == "therapist":
        return redirect(url_for("worklist.index"))
    return redirect(url_for("patients.index"))


@bp.route("/login", methods=["GET", "POST"])
@reshow_on_expired_form
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Log a user in; the same answer whether or not the account exists."""
    form = LoginForm()
    if form.validate_on_submit():
        user = _check_credentials(form.email.data, form.password.data)
        if user is not None:
            sessions.start(user)
            login_user(user)
            audit.record("login", entity="user", entity_id=user.id, user=user)
            db.session.commit()
            return redirect(_safe_next() or url_for("auth.index"))
        form.password.errors = [BAD_LOGIN]
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End this session on the server, so a copied cookie stops working."""
    audit.record("logout", entity="user", entity_id=current_user.id)
    sessions.end_current("logout")
    logout_user()
    db.session.commit()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@reshow_on_expired_form
@login_required
def change_password():
    """Change one's own password; every other session of the user ends."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors = ["That is not your current password."]
        else:
            user = current_user._get_current_object()
            user.password_hash = hash_password(form.new_password.data)
            audit.record("password_change", entity="user", entity_id=user.id)
            sessions.end_all_for(user.id, "password change")
            sessions.start(user)
            login_user(user)
            db.session.commit()
            flash("Your password is changed. Other devices were logged out.", "success")
            return redirect(url_for("auth.index"))
    return render_template("accounts/password.html", form=form)


@bp.get("/account/ping")
@login_required
def ping():
    """Keep the session alive (the "stay logged in" button); says when it ends if idle."""
    minutes = current_app.config["IDLE_TIMEOUT_MINUTES"]
    return jsonify(idle_timeout_minutes=minutes)


def _check_credentials(email: str, password: str) -> User | None:
    email = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    now = utcnow()
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None:
        audit.record("login_failed", entity="user", changes={"email": (None, email)})
        db.session.commit()
        return None
    locked = user.locked_until is not None and user.locked_until > now
    if password_ok and user.active and not locked:
        user.failed_logins = 0
        user.locked_until = None
        return user
    if not locked:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
    audit.record("login_failed", entity="user", entity_id=user.id, user=user)
    db.session.commit()
    return None


def _safe_next() -> str | None:
    """Only a path on this site: browsers drop tabs and newlines, so "/\t/x" means "//x"."""
    target = request.args.get("next", "")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in target) or "\\" in target:
        return None
    if target.startswith("/") and not target.startswith("//"):
        return target
    return None
