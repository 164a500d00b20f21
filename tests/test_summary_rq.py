"""Summaries on a real job queue: RQ on a real Redis (Debian's redis-server on 127.0.0.1),
rendered by a real RQ worker in burst mode, stored once with the right SHA-256."""

import hashlib
import uuid

import pytest
from sqlalchemy import delete, select

from spastic.extensions import db
from spastic.models import SummaryDocument
from spastic.reports import queue as summaries
from tests.redis_server import RedisServer, RedisUnavailable
from tests.test_frozen_summary import _fhir_sha
from tests.test_summary_pdf import _text, _visit

rq = pytest.importorskip("rq", reason="rq is not installed: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def redis_url():
    try:
        server = RedisServer().start()
    except RedisUnavailable as error:
        pytest.skip(f"Redis could not start here, so RQ is not tested: {error}")
    yield server.url
    server.stop()


@pytest.fixture
def app_config(redis_url):
    return {
        "SUMMARY_QUEUE": "rq",
        "REDIS_URL": redis_url,
        "SUMMARY_RQ_QUEUE": f"summaries-{uuid.uuid4().hex}",  # each test its own queue
        "SUMMARY_WAIT_SECONDS": 0.2,
    }


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def _stored(app):
    with app.app_context():
        rows = db.session.execute(
            select(SummaryDocument.visit_id, SummaryDocument.version, SummaryDocument.sha256)
            .add_columns(SummaryDocument.pdf)
            .order_by(SummaryDocument.visit_id, SummaryDocument.version)
        ).all()
        return [(v, n, sha, bytes(body)) for v, n, sha, body in rows]


def _work(app) -> None:
    """A real RQ worker, in this process, until the queue is empty."""
    jobs = summaries.summary_queue(app).queue()
    with app.app_context():
        worker = rq.SimpleWorker([jobs], connection=jobs.connection)
        assert worker.work(burst=True) is True


def test_signing_queues_a_job_a_worker_renders_and_stores_it_once(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    visit_id = _visit(therapist, pid)
    jobs = summaries.summary_queue(app).queue()
    assert jobs.job_ids == [f"summary-{visit_id}-1"]
    assert _stored(app) == []  # the signing request did not render it
    # A download before the worker: waits (briefly here), then renders without storing.
    early = therapist.get(f"/visits/{visit_id}/summary.pdf")
    assert early.status_code == 200 and early.data.startswith(b"%PDF")
    assert _stored(app) == []
    _work(app)
    [(stored_visit, version, sha, body)] = _stored(app)
    assert (stored_visit, version) == (visit_id, 1)
    assert sha == hashlib.sha256(body).hexdigest()
    assert "30 mg/day" in _text(body)
    assert therapist.get(f"/visits/{visit_id}/summary.pdf").data == body
    assert _fhir_sha(therapist, pid, visit_id)[0] == sha
    assert jobs.count == 0 and jobs.failed_job_registry.count == 0
    # The same job again (a retry, a duplicate) stores nothing more.
    summaries.summary_queue(app).submit(visit_id, 1)
    _work(app)
    assert [row[:3] for row in _stored(app)] == [(visit_id, 1, sha)]


def test_the_worker_command_first_queues_what_a_crash_lost(app, therapist, clinic_world):
    visit_id = _visit(therapist, clinic_world["patient"].id)
    jobs = summaries.summary_queue(app).queue()
    jobs.empty()  # the job is lost (Redis restarted without persistence, say)
    with app.app_context():
        db.session.execute(delete(SummaryDocument))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["summaries-worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "Queued 1 summary versions with no stored PDF." in result.output
    [(stored_visit, version, sha, body)] = _stored(app)
    assert (stored_visit, version) == (visit_id, 1)
    assert sha == hashlib.sha256(body).hexdigest()
    missing = app.test_cli_runner().invoke(args=["summaries-render-missing"])
    assert "Queued 0 summary versions" in missing.output


def test_redis_unreachable_at_signing_renders_in_the_request(
    app, database, therapist, clinic_world, monkeypatch
):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:9/0")  # nothing listens
    visit_id = _visit(therapist, clinic_world["patient"].id)
    [(stored_visit, version, sha, body)] = _stored(app)
    assert (stored_visit, version) == (visit_id, 1)
    assert sha == hashlib.sha256(body).hexdigest()
