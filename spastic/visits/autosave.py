"""Autosave of the visit form: when an earlier save is someone else's (a conflict) and when it
is the page's own, the words the save status shows, and the newest draft after a reload."""

import json
import time
from contextlib import contextmanager

from flask import current_app, request

from spastic.extensions import db
from spastic.filters import time_local
from spastic.models import Draft, User
from spastic.visits import records
from spastic.visits.forms import draft_problems

# Each loaded page of the form (a tab, a window, a reload) names itself with a random key that
# travels with each of its saves, so the server can tell a page's replay from another page.
SESSION_FIELD = "edit_session"
SESSION_MAX = 64
# Set by the page as it leaves with a save still on its way: "<draft id>.<version it was based
# on>". Nothing of the patient: two numbers, scoped to the draft's path, gone after 10 s.
PENDING_COOKIE = "spastic-pending-save"
PENDING_WAIT_SECONDS = 2.0  # app config DRAFT_PENDING_WAIT_SECONDS changes it (tests)


class OwnEarlierSave(records.VersionConflict):
    """The same person saved other answers from another page (tab, window) of this form."""


def session_key() -> str | None:
    """The posting page's edit session, if it sent one."""
    value = (request.form.get(SESSION_FIELD) or "").strip()
    return value[:SESSION_MAX] or None


def save(draft: Draft, payload: dict, posted_version: int | None, user: User) -> None:
    """Store the form; raise VersionConflict only when the save would hide someone's words.

    A save whose form was based on an older version than the draft's is decided thus:

    - the same answers as stored: accepted, whoever saved them (nothing is lost either way);
    - the draft was last saved by this person from this same page (edit session): accepted.
      It is the page's own replay - an offline retry, a save whose answer was lost, a save
      sent as the page was left - and the page always holds its newest content;
    - last saved by another person: a conflict (VersionConflict). The draft keeps their
      version, the page keeps yours, until you choose one in the conflict panel;
    - last saved by this person from another page with different answers (a second tab left
      open, or a page shown before its predecessor's last save arrived): a conflict as well
      (OwnEarlierSave), worded "You saved ... in another tab or window", not with your name as
      if someone else had. Taking either page silently would lose the other page's words.

    A page that sends no edit session (an old page still open during an upgrade) is judged by
    the version alone, as before.
    """
    if problems := draft_problems(payload):  # the field limits answer first, as they did
        raise records.DraftRefused(problems)
    session = session_key()
    version = _version(draft, payload, posted_version, user)
    with _own_saves_named(draft, session, user):
        records.check_version(draft, version)
    draft.updated_session = session  # flushed with the payload: one version step per save
    records.save_draft(draft, payload, version, user)


def check(draft: Draft, payload: dict, posted_version: int | None, user: User) -> None:
    """Raise as save() would for the version, storing nothing (the input was refused)."""
    with _own_saves_named(draft, session_key(), user):
        records.check_version(draft, _version(draft, payload, posted_version, user))


def _version(draft: Draft, payload: dict, posted: int | None, user: User) -> int | None:
    """The version to check the save against: the draft's own for a replay (see save)."""
    # A replay comes from a page behind the draft, never from one ahead of it or without one.
    if posted is None or posted >= draft.version:
        return posted
    if same_answers(json.loads(draft.payload), payload):
        return draft.version
    session = session_key()
    own = (draft.updated_by_id, draft.updated_session) == (user.id, session)
    return draft.version if session is not None and own else posted


@contextmanager
def _own_saves_named(draft: Draft, session: str | None, user: User):
    try:
        yield
    except records.VersionConflict as conflict:
        if draft.updated_by_id == user.id and draft.updated_session != session:
            raise OwnEarlierSave(
                conflict.stored_payload, conflict.saved_by, conflict.saved_at
            ) from None
        raise


def same_answers(stored: dict, posted: dict) -> bool:
    """Whether two form payloads hold the same answers (empty fields count as absent)."""

    def normal(payload: dict) -> dict:
        return {
            k: sorted(v)
            for k, v in payload.items()
            if k not in ("csrf_token", "version", "submission_key", SESSION_FIELD) and any(v)
        }

    return normal(stored) == normal(posted)


def status_words(draft: Draft) -> str:
    """What the save status says once the server has the draft, in the clinic's time."""
    when = time_local(draft.updated_at)
    if draft.visit_id is not None:
        return f"Changes saved {when} (the visit is updated when you save it)"
    return f"Draft saved {when} (not yet a visit)"


def newest(draft: Draft) -> Draft:
    """Wait (briefly) for the save the previous page sent as it was reloaded or left.

    A browser sends a leaving page's last save while it already asks for the next page, so
    the two requests race; the page set PENDING_COOKIE with the version it was based on.
    Shown before that save arrives, the form would be stale and its next save would be a
    conflict with itself. The wait ends as soon as the draft moves past that version (or is
    submitted), and after PENDING_WAIT_SECONDS in any case (a save refused or lost).
    """
    try:
        draft_id, version = (int(x) for x in request.cookies.get(PENDING_COOKIE, "").split("."))
    except ValueError:
        return draft
    if draft_id != draft.id:
        return draft
    wait = current_app.config.get("DRAFT_PENDING_WAIT_SECONDS", PENDING_WAIT_SECONDS)
    deadline = time.monotonic() + wait
    while draft.version <= version and draft.consumed_at is None:
        if time.monotonic() > deadline:
            break
        db.session.rollback()  # a new transaction sees the save once it is committed
        time.sleep(0.05)
        draft = db.session.get(Draft, draft_id, populate_existing=True)
    return draft
