"""The service worker and the page it shows when the server cannot be reached (above all
for the visit form, so that a reload offline says what the server has of the draft)."""

from pathlib import Path

from flask import Blueprint, Response, current_app, render_template

bp = Blueprint("offline", __name__)


@bp.get("/sw.js")
def service_worker():
    """Serve the service worker from the root, so that it may answer for every page."""
    source = Path(current_app.static_folder, "js", "sw.js").read_bytes()
    response = Response(source, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/offline")
def page():
    """The page shown instead of the browser's error when offline: the same for everyone,
    with nothing of a user or a patient in it (the service worker keeps a copy)."""
    return render_template("offline.html")
