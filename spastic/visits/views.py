"""Visits: the tablet form with autosave, saving once, the read-only page, sign and amend."""

import json
import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from spastic import audit
from spastic.access import draft_for, patient_for, visit_for
from spastic.accounts import password_checks
from spastic.clinical.scales import MUSCLES, SIDE_EFFECTS, SIDES
from spastic.errors import reshow_on_expired_form
from spastic.extensions import db
from spastic.filters import time_local
from spastic.models import Draft, Patient
from spastic.models.visits import AMEND_REASON_MAX
from spastic.visits import autosave as drafts
from spastic.visits import discards, fragments, posted
from spastic.visits import records as visit_records
from spastic.visits.content import carried_in, effective_content
from spastic.visits.forms import VisitForm, as_visit_input, check_carried, visit_form_class
from spastic.visits.labels import label_for, tardieu_display
from spastic.visits.page import (
    amend_context,
    carried_for,
    conflict_rows,
    discarded_message,
    draft_words,
    form_context,
    visit_page_context,
)
from spastic.visits.signing import amend as record_amendment

bp = Blueprint("visits", __name__)
bp.add_app_template_filter(label_for, "content_label")
bp.add_app_template_filter(tardieu_display)
bp.add_app_template_filter(draft_words)
bp.add_app_template_filter(drafts.status_words, "draft_status")
bp.add_app_template_global(fragments.muscle_row)
bp.add_app_template_global(fragments.rest, "rest_fragment")
NOT_STORED = {"csrf_token", "version", "submission_key", drafts.SESSION_FIELD}
# The form shows the patient and the dose in force: loaded with the draft, in one query.
FORM_SHOWS = (joinedload(Draft.patient).joinedload(Patient.dose_changes),)


def _payload() -> dict:
    return {k: v for k, v in request.form.lists() if k not in NOT_STORED}


# Opening a visit writes a draft, so it is a POST (a form with a CSRF token on the patient
# page): a GET would let any other site start drafts by navigation (SameSite=Lax sends the cookie).
@bp.post("/patients/<int:patient_id>/visits/new")
@login_required
def new(patient_id: int):
    """Resume the patient's visit in progress, or start one from the last signed visit."""
    patient = patient_for(current_user, patient_id, write=True)
    draft = visit_records.open_draft(patient, current_user)
    db.session.commit()
    return redirect(url_for("visits.draft", draft_id=draft.id))


@bp.get("/drafts/<int:draft_id>")
@login_required
def draft(draft_id: int):
    """Show the visit form as last saved on the server."""
    draft = drafts.newest(draft_for(current_user, draft_id, load=FORM_SHOWS))
    if draft.discarded_at is not None:
        flash(discarded_message(draft), "error")
        return redirect(url_for("patients.detail", patient_id=draft.patient_id))
    if draft.consumed_at is not None:
        return redirect(url_for("signing.review", visit_id=draft.visit_id))
    payload = json.loads(draft.payload)
    carried = carried_for(draft)
    # The parts of the form already rendered for these answers need no fields bound.
    parts = fragments.DraftParts(payload, carried, MUSCLES, SIDES, SIDE_EFFECTS)
    form_class = visit_form_class(parts.missing_muscles, parts.rest_missing)
    form = form_class(formdata=MultiDict(_as_pairs(payload)), meta={"csrf": True})
    # No commit: the audit row is written at the end of the request (a commit would only
    # expire what was loaded, and the page would load it again).
    audit.record("view", entity="draft", entity_id=draft.id, patient_id=draft.patient_id)
    context = form_context(form, draft, carried)
    return render_template("visits/form.html", **context, parts=parts)


@bp.post("/drafts/<int:draft_id>/autosave")
@login_required
def autosave(draft_id: int):
    """Store the form as it is; 409 with the other person's changes if they saved meanwhile."""
    draft = draft_for(current_user, draft_id)
    if draft.discarded_at is not None:
        return jsonify(saved=False, error=discarded_message(draft)), 410
    if draft.consumed_at is not None:
        return jsonify(saved=False, visit_url=url_for("signing.review", visit_id=draft.visit_id))
    payload = _payload()
    try:
        drafts.save(draft, payload, request.form.get("version", type=int), current_user)
    except visit_records.VersionConflict as conflict:
        db.session.rollback()
        return jsonify(_conflict_json(conflict, payload, draft)), 409
    except visit_records.DraftRefused as refused:
        db.session.rollback()
        message = " ".join(dict.fromkeys(refused.problems.values()))
        return jsonify(saved=False, error=message, field_errors=refused.problems), 422
    audit.record("autosave", entity="draft", entity_id=draft.id, patient_id=draft.patient_id)
    db.session.commit()
    return jsonify(
        saved=True,
        version=draft.version,
        saved_at=draft.updated_at.isoformat(),
        saved_at_local=time_local(draft.updated_at),
        status=drafts.status_words(draft),
        csrf_token=generate_csrf(),
    )


@bp.post("/drafts/<int:draft_id>")
@reshow_on_expired_form
@login_required
def submit(draft_id: int):
    """Validate and save the visit, exactly once per form, whatever is resent."""
    # The patient is loaded with the draft and held: the form needs it after the lock below
    # (held, it is not dropped from the session and read again).
    draft = draft_for(current_user, draft_id, load=(joinedload(Draft.patient),))
    patient = draft.patient  # noqa: F841
    # Resends and double taps wait here for the first to finish (PostgreSQL row lock; SQLite
    # transactions are already serial), then find the draft saved.
    # A plain locking select, not refresh(): a refresh repeats the loader options the draft
    # was first loaded with (the form's joined patient and doses), and PostgreSQL refuses FOR
    # UPDATE on the nullable side of an outer join.
    locked = select(Draft).where(Draft.id == draft.id).with_for_update()
    draft = db.session.scalars(locked.execution_options(populate_existing=True)).one()
    payload = _payload()
    if draft.discarded_at is not None:
        flash(discarded_message(draft) + " What was sent now was not saved.", "error")
        return redirect(url_for("patients.detail", patient_id=draft.patient_id))
    if draft.consumed_at is not None:
        if _same_form(json.loads(draft.payload), payload):  # a resend lands where the first did
            return redirect(url_for("signing.review", visit_id=draft.visit_id))
        return _saved_elsewhere(draft, payload)
    carried = carried_for(draft)
    # Answers the form offers as they are need no VisitForm (`posted`); any others it judges.
    read = posted.read(request.form, carried)
    form, valid = (None, True) if read else _judged(carried)
    conflict = None if g.get("form_expired") else _keep_input(draft, payload)
    if valid and conflict is None:
        visit_input, kept = read or (
            as_visit_input(form),
            visit_records.kept_carried(form, carried),
        )
        try:
            visit_id = visit_records.submit_once(draft, visit_input, current_user, kept)
        except visit_records.VersionConflict as error:  # an edit, signed or changed meanwhile
            conflict = error  # raised before anything was written: the draft keeps the input
        else:
            flash("Visit saved, not signed. Check it, then sign it.", "success")
            return redirect(url_for("signing.review", visit_id=visit_id))
    db.session.commit()  # the input is kept in the draft, whatever happens next
    form = form or _judged(carried)[0]  # read quickly: the same form, without a message
    context = form_context(form, draft, carried)
    if conflict is not None:
        context["conflict"] = conflict_rows(conflict.stored_payload, payload)
        context["conflict_by"] = conflict.saved_by
        context["conflict_own"] = isinstance(conflict, drafts.OwnEarlierSave)
        if isinstance(conflict, visit_records.SignedMeanwhile):
            context["signed_visit_id"] = conflict.visit_id
    return render_template("visits/form.html", **context), 409 if conflict else 422


@bp.get("/visits/<int:visit_id>")
@login_required
def detail(visit_id: int):
    """Show a visit read-only: the grid against the previous visit, and everything recorded."""
    visit = visit_for(current_user, visit_id, discarded=True)
    audit.record("view", entity="visit", entity_id=visit.id, patient_id=visit.patient_id)
    db.session.commit()
    if visit.discarded_at is not None:  # an old link or tab: say what happened, show nothing
        return render_template("visits/discarded.html", visit=visit), 410
    return render_template("visits/detail.html", **visit_page_context(visit))


@bp.post("/visits/<int:visit_id>/edit")
@login_required
def edit(visit_id: int):
    """Reopen an unsigned visit in the form (signed visits are amended instead)."""
    visit = visit_for(current_user, visit_id, write=True)
    if visit.status == "signed":
        return redirect(url_for("visits.amend", visit_id=visit.id))
    draft = visit_records.draft_for_edit(visit, current_user)
    db.session.commit()
    return redirect(url_for("visits.draft", draft_id=draft.id))


@bp.route("/visits/<int:visit_id>/amend", methods=["GET", "POST"])
@reshow_on_expired_form
@login_required
@password_checks.reauth_rate_limit
def amend(visit_id: int):
    """Correct a signed visit: the original stays; the correction is a linked amendment."""
    visit = visit_for(current_user, visit_id, write=True)
    if visit.status != "signed":
        abort(409)
    key = (request.form.get("submission_key") or secrets.token_urlsafe(24))[:64]
    if request.method == "GET":
        pairs = _as_pairs(visit_records.payload_for_amendment(visit))
        form = VisitForm(formdata=MultiDict(pairs))
        _audit_amend_form(visit)
        return render_template("visits/amend.html", **amend_context(form, visit, key))
    form = VisitForm()
    reason = (request.form.get("reason") or "").strip()
    errors = {}
    missing = "Say why the visit is corrected (e.g. transcription error)."
    if problem := discards.reason_problem(reason, AMEND_REASON_MAX, missing):
        errors["reason"] = problem
    about = {"entity": "visit", "entity_id": visit.id, "patient_id": visit.patient_id}
    password = request.form.get("password", "")
    if problem := password_checks.reauthenticate(password, purpose="amend", **about):
        errors["password"] = f"{problem} Nothing was changed."
    if form.validate_on_submit() and not errors:
        # A grade the signed visit carried stays carried while the amendment leaves it as it was.
        kept = visit_records.kept_carried(form, carried_in(effective_content(visit)))
        amendment = record_amendment(visit, current_user, as_visit_input(form), reason, key, kept)
        db.session.commit()
        if amendment:
            visit_records.summary_due.send(current_app._get_current_object(), visit_id=visit.id)
        flash(
            "Amendment recorded." if amendment else "Nothing was different: no amendment.", "info"
        )
        return redirect(url_for("visits.detail", visit_id=visit.id))
    _audit_amend_form(visit)
    context = amend_context(form, visit, key, errors=errors, reason=reason)
    return render_template("visits/amend.html", **context), 422


def _judged(carried: dict):
    """(the VisitForm of the posted data, whether it is valid and no carried grade is left)."""
    form = VisitForm()
    return form, form.validate_on_submit() & check_carried(form, carried)


def _audit_amend_form(visit) -> None:
    """The amendment form shows the signed visit (again after refused input): a read."""
    audit.record("view", entity="amend_form", entity_id=visit.id, patient_id=visit.patient_id)
    db.session.commit()


def _same_form(stored: dict, posted: dict) -> bool:
    def normal(payload):
        return {k: sorted(v) for k, v in payload.items() if k not in NOT_STORED and any(v)}

    return normal(stored) == normal(posted)


def _saved_elsewhere(draft, payload: dict):
    """Another device saved this visit first with different answers: show them, save nothing."""
    form = VisitForm(formdata=MultiDict(_as_pairs(payload)))
    context = form_context(form, draft)
    context["conflict"] = conflict_rows(json.loads(draft.payload), payload)
    context["conflict_by"] = draft.updated_by.name if draft.updated_by else "Someone"
    context["conflict_own"] = draft.updated_by_id == current_user.id
    context["saved_visit_id"] = draft.visit_id
    return render_template("visits/form.html", **context), 409


def _keep_input(draft, payload: dict):
    """Store what was posted in the draft; return the conflict if someone saved meanwhile."""
    try:
        version = request.form.get("version", type=int)
        drafts.save(draft, payload, version, current_user)
    except visit_records.VersionConflict as conflict:
        db.session.rollback()
        return conflict
    except visit_records.DraftRefused:
        # The form's own validation shows the same limits next to the fields; a refused
        # field must not let a stale or missing version through to the save.
        db.session.rollback()
        try:
            drafts.check(draft, payload, version, current_user)
        except visit_records.VersionConflict as conflict:
            return conflict
    return None


def _as_pairs(payload: dict) -> list[tuple[str, str]]:
    return [(key, value) for key, values in payload.items() for value in values]


def _conflict_json(conflict, payload: dict, draft) -> dict:
    who = (
        "You saved other answers in another tab or window"
        if isinstance(conflict, drafts.OwnEarlierSave)
        else f"{conflict.saved_by} saved this visit"
    )
    return {
        "saved": False,
        "conflict": True,
        "own": isinstance(conflict, drafts.OwnEarlierSave),
        "version": draft.version,
        "message": f"{who} at {time_local(conflict.saved_at)} while you were editing here. "
        "Both versions are kept until you choose.",
        "changes": conflict_rows(conflict.stored_payload, payload),
    }
