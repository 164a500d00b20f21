"""Logging in and out, and changing one's own password."""

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

from spastic import audit
from spastic.accounts import password_checks, sessions
from spastic.accounts.forms import LoginForm, PasswordChangeForm
from spastic.accounts.passwords import hash_password
from spastic.errors import reshow_on_expired_form
from spastic.extensions import db, limiter

bp = Blueprint("auth", __name__)

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
    return redirect(url_for("inbox.index"))  # a physician starts with the summaries for them


@bp.route("/login", methods=["GET", "POST"])
@reshow_on_expired_form
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Log a user in; the same answer whether or not the account exists."""
    form = LoginForm()
    if form.validate_on_submit():
        user = password_checks.login(form.email.data, form.password.data)
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
@password_checks.reauth_rate_limit
def change_password():
    """Change one's own password; every other session of the user ends."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        problem = password_checks.reauthenticate(
            form.current_password.data,
            purpose="password_change",
            entity="user",
            entity_id=current_user.id,
        )
        if problem:
            form.current_password.errors = [f"{problem} Your password is not changed."]
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


def _safe_next() -> str | None:
    """Only a path on this site: browsers drop tabs and newlines, so "/\t/x" means "//x"."""
    target = request.args.get("next", "")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in target) or "\\" in target:
        return None
    if target.startswith("/") and not target.startswith("//"):
        return target
    return None
