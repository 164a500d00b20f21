"""Error pages a clinician can read; never a stack trace."""

import hmac

from flask import Flask, current_app, g, jsonify, render_template, request, session
from flask_wtf.csrf import CSRFError, generate_csrf
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.orm.exc import StaleDataError

from spastic.extensions import db


def register(app: Flask) -> None:
    for code, title, message in (
        (400, "Bad request", "The request could not be understood. Go back and try again."),
        (403, "Not allowed", "Your role does not allow this action."),
        (404, "Not found", "There is nothing here, or you do not have access to it."),
        (405, "Not allowed", "This page cannot be used that way."),
        (409, "Changed meanwhile", "Someone else changed this record. Reload and try again."),
        (
            413,
            "Too much to save",
            "The form sent more than the app accepts, so nothing was saved. Shorten long text "
            "such as notes, then try again.",
        ),
        (
            415,
            "Not a form",
            "This request was not sent by one of the app's forms, so nothing was saved. "
            "Open the page in the app and try again.",
        ),
        (429, "Too many attempts", "Too many attempts. Wait a minute, then try again."),
        (500, "Something went wrong", "Nothing was saved. Try again; if it persists, call IT."),
    ):
        app.register_error_handler(code, _handler(code, title, message))
    app.register_error_handler(StaleDataError, _stale)
    app.register_error_handler(CSRFError, _failed_csrf)


def reshow_on_expired_form(view):
    """Mark a view whose form re-shows the posted input when its CSRF token has expired.

    Only for views that validate a FlaskForm (which fails on the same token and so writes
    nothing): the user sees their input again with a fresh token and a message. Only this
    session's own, genuinely expired token gets that; any other failure is a plain 400.
    """
    view.reshow_on_expired_form = True
    return view


def _failed_csrf(error: CSRFError):
    if not _own_token_expired(error):
        return _refused_csrf()
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "reshow_on_expired_form", False):
        g.form_expired = True
        return view(**(request.view_args or {}))
    if _wants_json():
        return jsonify(saved=False, csrf_expired=True, csrf_token=generate_csrf()), 400
    message = "This page was open too long and its security check expired. Go back and reload it."
    return render_template("error.html", code=400, title="Page expired", message=message), 400


def _refused_csrf():
    """A missing or foreign token is what another site's page sends: show it nothing back."""
    message = (
        "This form could not be checked as coming from this app, so nothing was saved. "
        "Open the page again from the app's own menu and enter your changes there."
    )
    if _wants_json():
        return jsonify(saved=False, error=message), 400
    return render_template("error.html", code=400, title="Not saved", message=message), 400


def _own_token_expired(error: CSRFError) -> bool:
    """Tell whether the token is this session's own, correctly signed, and only past its age.

    Flask-WTF checks the age before it compares the token with the session, so its "has
    expired" alone would also cover another session's old token.
    """
    if "has expired" not in (error.description or ""):
        return False
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    posted = request.form.get(field) or next(
        (
            request.headers[h]
            for h in current_app.config["WTF_CSRF_HEADERS"]
            if h in request.headers
        ),
        "",
    )
    try:
        raw = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").loads(posted)
    except BadData:
        return False
    own = session.get(field)
    return isinstance(raw, str) and isinstance(own, str) and hmac.compare_digest(raw, own)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _stale(_error):
    db.session.rollback()
    message = "Someone else saved this record at the same moment. Reload it and try again."
    return render_template("error.html", code=409, title="Changed meanwhile", message=message), 409


def _handler(code: int, title: str, message: str):
    def handle(_error):
        # The autosave script reads the message of a refused body and shows it.
        if code in (413, 415) and _wants_json():
            return jsonify(saved=False, error=message), code
        return render_template("error.html", code=code, title=title, message=message), code

    return handle
