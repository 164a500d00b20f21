"""Response headers that keep pages from being framed, sniffed, cached or scripted inline."""

from flask import Flask, jsonify, render_template, request

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


def register(app: Flask) -> None:
    # First of all request handlers, so that no view (not even one re-shown for an expired
    # CSRF token) ever sees a NUL.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_characters)
    app.after_request(add_headers)


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
