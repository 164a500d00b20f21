"""Send to physician: email a link to a signed visit's summary; open and revoke such links."""

import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from spastic.access import visit_for
from spastic.extensions import csrf, db, limiter, login_manager
from spastic.filters import datetime_in
from spastic.reports import documents
from spastic.sharing import links, mail
from spastic.visits.page import visit_page_context

bp = Blueprint("sharing", __name__)
# The visit page includes sharing/_panel.html, which asks for its own data: visits know nothing
# of sharing.
bp.add_app_template_global(links.panel, "share_panel")
SUBJECT = "A spasticity visit summary from {clinic} is available"
MAIL_FAILED = (
    "The email could not be sent: the mail server did not accept it. Nothing was shared. "
    "Try again in a few minutes; if it persists, call IT."
)
NO_PUBLIC_URL = (
    "Links cannot be emailed yet: the address of this server is not set up "
    "(SPASTIC_PUBLIC_URL). Nothing was sent. Ask IT to set it."
)
UNAVAILABLE = {"expired": "This link has expired", "revoked": "This link was revoked"}


@bp.post("/visits/<int:visit_id>/share")
@login_required
def send(visit_id: int):
    """Email the chosen physician a link to this signed visit's summary, once per form."""
    visit = visit_for(current_user, visit_id, write=True)
    # The same form sent again waits here for the first (PostgreSQL row lock; SQLite
    # transactions are already serial), then finds the link it made.
    db.session.refresh(visit, with_for_update=True)
    if visit.status != "signed":
        abort(409)
    key = (request.form.get("submission_key") or secrets.token_urlsafe(24))[:64]
    first, key = links.sent_by_form(visit, key)
    if first is not None:
        flash(f"This form was sent already: {first.recipient_name} gets one email.", "info")
        return redirect(url_for("visits.detail", visit_id=visit_id))
    choice = request.form.get("recipient", "")
    recipient = links.recipient_by_key(visit.patient, choice)
    if recipient is None:
        return _visit_page(visit, "Choose the physician who should receive the summary.", choice)
    origin = links.public_origin(current_app.config)
    if origin is None:
        return _visit_page(visit, NO_PUBLIC_URL, choice, status=503)
    days = current_app.config["SHARE_LINK_DAYS"]
    link, token = links.new_link(visit, recipient, current_user, days, key)
    message = _invitation(visit, link, token, origin)
    patient_id, zone = visit.patient_id, visit.patient.clinic.timezone
    # End the transaction first: on SQLite it holds the write lock while the mail server talks.
    db.session.commit()
    try:
        mail.send(message)
    except mail.MailError as error:
        current_app.logger.warning("summary link for visit %s not sent: %s", visit_id, error)
        links.withdraw(link)
        db.session.commit()
        return _visit_page(visit, MAIL_FAILED, choice, status=503)
    links.record_sending(link, patient_id)
    db.session.commit()
    if mail.uses_outbox():
        flash(
            f"No mail server is set up: the email to {recipient.name} was saved in the "
            "outbox folder, not sent.",
            "info",
        )
    else:
        until = datetime_in(link.expires_at, zone)
        flash(
            f"Link sent to {recipient.name} ({recipient.email}). It works until {until}.", "success"
        )
    return redirect(url_for("visits.detail", visit_id=visit_id))


@bp.route("/shared/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SHARE_LINK_RATE_LIMIT"])
@csrf.exempt  # the unguessable token is the credential; a link-only recipient has no session
def open_link(token: str):
    """Serve the one summary a link was sent for, to its recipient, while the link is valid.

    GET only shows an "Open the summary" button: mail scanners that fetch every link in an
    email then neither download the PDF nor count as the physician opening it.
    """
    link = links.find(token)
    if link is None:
        abort(404)
    problem = links.status(link)
    if problem != "active":
        links.record_refusal(link, problem)
        db.session.commit()
        return render_template(
            "sharing/unavailable.html",
            title=UNAVAILABLE[problem],
            problem=problem,
            link=link,
            clinic=link.visit.patient.clinic,
        ), 410
    if link.recipient_user_id is not None:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not links.may_open(link, current_user):
            links.record_refusal(link, "not the recipient, or no longer on the care team")
            db.session.commit()
            abort(404)
    visit = link.visit
    if request.method == "GET":
        clinic = visit.patient.clinic
        return render_template("sharing/open.html", link=link, clinic=clinic)
    body = documents.summary_pdf_bytes(visit)
    response = documents.pdf_response(visit, body)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    # Counted and audited only once the response is ready to go: a failure before this
    # point is no opening.
    links.record_opening(link)
    db.session.commit()
    return response


@bp.post("/share-links/<int:link_id>/revoke")
@login_required
def revoke(link_id: int):
    """Revoke a link: it stops working at once."""
    link = links.link_for(current_user, link_id)
    if link.revoked_at is None:
        links.revoke(link, current_user)
        db.session.commit()
        flash(f"The link sent to {link.recipient_name} no longer works.", "success")
    return redirect(url_for("visits.detail", visit_id=link.visit_id))


def _invitation(visit, link, token: str, origin: str):
    """The email: where and until when, and who sent it - no patient or clinical detail.

    The link starts with `origin` (SPASTIC_PUBLIC_URL); only in development and testing,
    where it may be empty, with the request's host.
    """
    clinic = visit.patient.clinic
    path = url_for("sharing.open_link", token=token)
    body = render_template(
        "sharing/email.txt",
        clinic=clinic.name,
        url=origin + path if origin else url_for("sharing.open_link", token=token, _external=True),
        needs_login=link.recipient_user_id is not None,
        recipient_email=link.recipient_email,
        expires=datetime_in(link.expires_at, clinic.timezone),
        sender=current_user.name,
    )
    return mail.compose(link.recipient_email, SUBJECT.format(clinic=clinic.name), body)


def _visit_page(visit, error: str, choice: str, status: int = 422):
    context = visit_page_context(visit)
    return render_template(
        "visits/detail.html", share_error=error, share_choice=choice, **context
    ), status
