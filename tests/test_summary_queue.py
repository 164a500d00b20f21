"""Summaries rendered after signing, off the request, by the in-process thread: the signing
answers first, a download in the meantime waits for the job and serves the stored copy, a full
queue renders in the request, a job lost with its process is redone, and the stored copy is
served in one query."""

import hashlib
import threading

import pytest
from sqlalchemy import delete, event, select

from spastic import create_app
from spastic.config import ConfigError
from spastic.extensions import db
from spastic.models import AuditEvent, SummaryDocument
from spastic.reports import queue as summaries
from tests.conftest import PASSWORD, _test_config
from tests.test_summary_pdf import _text, _visit

RENDERER = "summary-renderer"


@pytest.fixture
def app_config():
    return {"SUMMARY_QUEUE": "inprocess", "SUMMARY_QUEUE_SIZE": 1, "SUMMARY_WAIT_SECONDS": 60}


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


class Gate:
    """Holds the renderer thread until opened (requests pass); with `crash`, its job dies."""

    def __init__(self):
        self.opened = threading.Event()
        self.crash = False
        self.rendered_by: list[tuple[str, int]] = []
        self.real = summaries.store_summary

    def __call__(self, visit_id, version=None, **options):
        name = threading.current_thread().name
        if name == RENDERER:
            assert self.opened.wait(60), "the test never opened the gate"
            if self.crash:
                raise RuntimeError("the process died with this job")
        stored = self.real(visit_id, version, **options)
        if stored:
            self.rendered_by.append((name, visit_id))
        return stored


@pytest.fixture
def gate(monkeypatch):
    gate = Gate()
    monkeypatch.setattr(summaries, "store_summary", gate)
    yield gate
    gate.opened.set()  # never leave the thread waiting


def _stored(app):
    with app.app_context():
        rows = db.session.execute(
            select(SummaryDocument.visit_id, SummaryDocument.version, SummaryDocument.pdf).order_by(
                SummaryDocument.visit_id, SummaryDocument.version
            )
        ).all()
        return [(visit_id, version, bytes(body)) for visit_id, version, body in rows]


def _drained(app):
    assert summaries.summary_queue(app).join(60), "the summary queue did not drain"


def _client_like(app, client):
    other = app.test_client()
    other.set_cookie("spastic_session", client.get_cookie("spastic_session").value)
    return other


def test_signing_answers_before_the_render_and_a_download_waits_for_it(
    app, therapist, clinic_world, gate, monkeypatch
):
    waiting = threading.Event()
    real_wait = summaries.InProcessQueue.wait

    def wait(self, visit_id, version, timeout):
        waiting.set()
        return real_wait(self, visit_id, version, timeout)

    monkeypatch.setattr(summaries.InProcessQueue, "wait", wait)
    visit_id = _visit(therapist, clinic_world["patient"].id)
    # The signature is committed and answered while the renderer thread still holds the job.
    assert _stored(app) == []
    page = therapist.get(f"/visits/{visit_id}").get_data(as_text=True)
    assert "Signed by" in page
    downloaded = {}
    download = threading.Thread(
        target=lambda: downloaded.update(
            body=_client_like(app, therapist).get(f"/visits/{visit_id}/summary.pdf").data
        )
    )
    download.start()
    assert waiting.wait(60), "the download did not wait for the job in flight"
    assert _stored(app) == []
    gate.opened.set()
    download.join(90)
    _drained(app)
    [(stored_visit, version, body)] = _stored(app)
    assert (stored_visit, version) == (visit_id, 1)
    # The download served the copy the thread stored (a second rendering has other bytes).
    assert hashlib.sha256(downloaded["body"]).hexdigest() == hashlib.sha256(body).hexdigest()
    assert "Signed by" in " ".join(_text(body).split())
    assert gate.rendered_by == [(RENDERER, visit_id)]


def test_a_full_queue_renders_in_the_signing_request_nothing_dropped(
    app, therapist, clinic_world, gate
):
    pid = clinic_world["patient"].id
    first = _visit(therapist, pid, visit_date="2026-01-10")  # the thread holds it
    second = _visit(therapist, pid, visit_date="2026-01-20")  # the queue (size 1) is full
    assert [row[0] for row in _stored(app)] == [second]
    gate.opened.set()
    _drained(app)
    assert [(v, n) for v, n, _ in _stored(app)] == [(first, 1), (second, 1)]
    assert gate.rendered_by[0][0] != RENDERER and gate.rendered_by[0][1] == second
    assert gate.rendered_by[1:] == [(RENDERER, first)]


def test_a_job_lost_with_its_process_is_redone_when_a_worker_starts(
    app, database, therapist, clinic_world, gate, tmp_path
):
    gate.crash = True
    visit_id = _visit(therapist, clinic_world["patient"].id)
    gate.opened.set()
    _drained(app)
    assert _stored(app) == []  # lost: the download renders it, unstored, meanwhile
    assert therapist.get(f"/visits/{visit_id}/summary.pdf").data.startswith(b"%PDF")
    assert _stored(app) == []
    gate.crash = False
    config = {
        **_test_config(database),
        "OUTBOX_FOLDER": str(tmp_path),
        "SUMMARY_QUEUE": "inprocess",
    }
    restarted = create_app(config)  # the next process: its thread first sweeps what is missing
    summaries.summary_queue(restarted).start()
    _drained(restarted)
    [(stored_visit, version, body)] = _stored(app)
    assert (stored_visit, version) == (visit_id, 1)
    assert therapist.get(f"/visits/{visit_id}/summary.pdf").data == body
    with restarted.app_context():
        db.engine.dispose()


def test_render_missing_command_stores_each_missing_version_once(app, therapist, clinic_world):
    visit_id = _visit(therapist, clinic_world["patient"].id)
    _drained(app)
    [(_, _, signed_copy)] = _stored(app)
    with app.app_context():
        db.session.execute(delete(SummaryDocument))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["summaries-render-missing"])
    assert result.exit_code == 0, result.output
    assert "Rendered and stored 1 summary versions" in result.output
    [(stored_visit, version, body)] = _stored(app)
    assert (stored_visit, version) == (visit_id, 1) and body.startswith(b"%PDF")
    assert _text(body) == _text(signed_copy)  # the same cut-off: what was known at signing
    again = app.test_cli_runner().invoke(args=["summaries-render-missing"])
    assert "Rendered and stored 0 summary versions" in again.output
    assert len(_stored(app)) == 1


def test_a_stored_copy_is_served_in_one_query_with_the_access_check(app, client, clinic_world):
    owner = app.test_client()
    owner.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    visit_id = _visit(owner, clinic_world["patient"].id)
    _drained(app)
    [(_, _, body)] = _stored(app)
    physician = client
    physician.post("/login", data={"email": "p@home.test", "password": PASSWORD})
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement.lower())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        response = physician.get(f"/visits/{visit_id}/summary.pdf")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.data == body
    reading = [s for s in statements if "summary_document" in s]
    assert len(reading) == 1
    # The one query is the access check too: the physician's care team, the clinic.
    assert "care_team" in reading[0] and "clinic_id" in reading[0]
    others = [s for s in statements if "summary_document" not in s]
    assert not [s for s in others if "from dose_change" in s or "from amendment" in s]
    assert not [s for s in others if "from visit" in s], "the visit was loaded again"
    with app.app_context():
        audited = db.session.scalars(
            select(AuditEvent.patient_id).where(AuditEvent.action == "download_pdf")
        ).all()
    assert audited == [clinic_world["patient"].id]
    outsider = app.test_client()
    outsider.post("/login", data={"email": "p2@home.test", "password": PASSWORD})
    assert outsider.get(f"/visits/{visit_id}/summary.pdf").status_code == 404
    other = app.test_client()
    other.post("/login", data={"email": "t@other.test", "password": PASSWORD})
    assert other.get(f"/visits/{visit_id}/summary.pdf").status_code == 404


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"SUMMARY_QUEUE": "celery"}, "SPASTIC_SUMMARY_QUEUE must be one of inprocess, rq, inline"),
        (
            {"SUMMARY_QUEUE": "rq", "REDIS_URL": ""},
            "SPASTIC_SUMMARY_QUEUE=rq needs SPASTIC_REDIS_URL",
        ),
    ],
)
def test_a_queue_setting_that_cannot_work_refuses_to_start(tmp_path, settings, message):
    config = {**_test_config(f"sqlite:///{tmp_path / 'x.db'}"), **settings}
    with pytest.raises(ConfigError, match=message):
        create_app(config)
