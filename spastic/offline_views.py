"""The service worker and the page it shows when the server cannot be reached."""

from flask import Blueprint, current_app, render_template, send_from_directory

bp = Blueprint("offline", __name__)


@bp.get("/sw.js")
def service_worker():
    """Serve the service worker from the root, so that it may answer for every page."""
    response = send_from_directory(current_app.static_folder, "js/sw.js", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return response


@bp.get("/offline")
def page():
    """The page shown instead of the browser's error when offline: the same for everyone,
    with nothing of a user or a patient in it (the service worker keeps a copy)."""
    return render_template("offline.html")
