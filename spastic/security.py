"""Response headers that keep pages from being framed, sniffed, cached or scripted inline."""

from flask import Flask, abort, current_app, jsonify, render_template, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "manifest-src 'self'",
    ]
)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def register(app: Flask) -> None:
    # First of all request handlers, so that no view (not even one re-shown for an expired
    # CSRF token) ever sees a NUL, and no body is parsed before its size and shape are checked.
    handlers = app.before_request_funcs.setdefault(None, [])
    handlers.insert(0, refuse_nul_characters)
    handlers.insert(0, refuse_odd_bodies)
    app.after_request(add_headers)


def refuse_odd_bodies():
    """Refuse a body no form of ours sends, or one with more fields than a form has, unparsed.

    Werkzeug bounds multipart bodies by MAX_FORM_PARTS, but parses a urlencoded body whole,
    however many fields it holds: count its separators first (MAX_CONTENT_LENGTH bounds the
    read, with a 413). Every form posts urlencoded or multipart; JSON and other bodies would
    reach form code that cannot read them.
    """
    if request.mimetype not in ("", *FORM_TYPES):
        abort(415)
    if request.mimetype == FORM_TYPES[0]:
        body = request.get_data(cache=True)  # parsing the form later reuses these bytes
        if body and body.count(b"&") + 1 > current_app.config["MAX_FORM_PARTS"]:
            abort(413)
    return None


def refuse_nul_characters():
    """Refuse input holding NUL: PostgreSQL text cannot store it, and no clinician types it."""
    pairs = [*request.args.items(multi=True), *request.form.items(multi=True)]
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        message = "The form held an invisible control character (NUL). Remove it and try again."
        if request.accept_mimetypes.best == "application/json":
            return jsonify(saved=False, error=message), 400
        return render_template("error.html", code=400, title="Bad input", message=message), 400
    return None


def add_headers(response):
    """Add the security headers to every response; no-store on all but static assets."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response
