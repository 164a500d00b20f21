"""A keyed chain and signed checkpoints catch what an unkeyed chain cannot: truncation, rewriting.

The owner of the database can drop the append-only triggers (tests/audit_tampering.py does it as
they would); what they do not have is AUDIT_KEY, nor the checkpoint file kept elsewhere.
"""

import json

import pytest
from sqlalchemy import select

from spastic import audit
from spastic.extensions import db
from spastic.models import AuditEvent
from tests.audit_tampering import delete_rows, rechain


@pytest.fixture
def trail(app, auth, client, clinic_world):
    """Write audit rows (a login, patient views, a logout); return a function listing their ids."""
    auth.login(clinic_world["therapist"])
    for _ in range(4):
        client.get(f"/patients/{clinic_world['patient'].id}")

    def ids():
        with app.app_context():
            return db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()

    return ids


def _checkpoint(runner, path):
    result = runner.invoke(args=["audit-checkpoint", "--file", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text().splitlines()[-1])


def _verify(runner, path=None):
    return runner.invoke(args=["audit-verify", *(["--checkpoints", str(path)] if path else [])])


def test_checkpoint_signs_the_chain_head(app, runner, trail, tmp_path, clinic_world):
    printed = runner.invoke(args=["audit-checkpoint"])
    line = json.loads(printed.output)  # one line: the trail so far is one clinic's chain
    ids = trail()
    with app.app_context():
        head = db.session.get(AuditEvent, ids[-1])
        assert head.hash_scheme == audit.KEYED
        assert (line["count"], line["last_id"], line["head_hash"]) == (len(ids), ids[-1], head.hash)
    assert line["chain"] == f"clinic-{clinic_world['home'].id}"
    assert line["at"].endswith("+00:00")
    assert len(line["signature"]) == 64
    path = tmp_path / "checkpoints.jsonl"
    _checkpoint(runner, path)
    _checkpoint(runner, path)
    assert len(path.read_text().splitlines()) == 2  # appended, not overwritten


def test_intact_chain_with_checkpoints_is_intact(
    runner, auth, client, clinic_world, trail, tmp_path
):
    path = tmp_path / "checkpoints.jsonl"
    _checkpoint(runner, path)
    client.get(f"/patients/{clinic_world['patient'].id}")
    _checkpoint(runner, path)
    client.get(f"/patients/{clinic_world['patient'].id}")  # rows after the last checkpoint
    result = _verify(runner, path)
    assert result.exit_code == 0, result.output
    assert f"Audit trail intact: {len(trail())} events." in result.output
    assert "2 checkpoints hold." in result.output


def test_newest_rows_deleted_after_a_checkpoint_are_reported(app, runner, trail, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    point = _checkpoint(runner, path)
    ids = trail()
    with app.app_context():
        delete_rows(ids[-3:])
    assert _verify(runner).exit_code == 0  # the chain alone cannot tell: why checkpoints exist
    result = _verify(runner, path)
    assert result.exit_code == 1
    assert (
        f"audit event {point['last_id']}, the newest row of chain {point['chain']} then, is "
        "missing: rows were deleted from the end of the trail" in result.output
    )


def test_rows_deleted_in_the_middle_are_reported_by_count(app, runner, trail, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    point = _checkpoint(runner, path)
    ids = trail()
    with app.app_context():
        delete_rows(ids[1:3])
    result = _verify(runner, path)
    assert result.exit_code == 1
    assert f"audit event {ids[3]}: the row before it was changed or deleted" in result.output
    assert (
        f"{len(ids)} rows up to audit event {ids[-1]} in chain {point['chain']} then, "
        f"{len(ids) - 2} now" in result.output
    )


@pytest.mark.parametrize(
    ("scheme", "key"),
    [(audit.UNKEYED, b""), (audit.KEYED, b"a key the attacker made up")],
    ids=["unkeyed", "guessed-key"],
)
def test_rows_deleted_and_chain_recomputed_without_the_key_are_reported(
    app, runner, trail, tmp_path, scheme, key
):
    path = tmp_path / "checkpoints.jsonl"
    point = _checkpoint(runner, path)
    ids = trail()
    with app.app_context():
        delete_rows(ids[1:3])
        rechain(scheme, key)
        head = db.session.get(AuditEvent, ids[-1])
    assert head.hash != point["head_hash"]
    result = _verify(runner, path)
    assert result.exit_code == 1
    assert (
        f"audit event {ids[-1]} no longer has the hash it had then: the chain up to it was "
        "rewritten" in result.output
    )
    without_checkpoints = _verify(runner)
    if scheme == audit.KEYED:  # the key is not theirs: every row they hashed fails
        assert without_checkpoints.exit_code == 1
        assert f"audit event {ids[0]}: its content no longer matches" in without_checkpoints.output
    else:  # an all-unkeyed trail passes for one written before the chain was keyed
        assert without_checkpoints.exit_code == 0


def test_unkeyed_rows_after_keyed_ones_are_reported(app, trail):
    ids = trail()
    with app.app_context():
        delete_rows(ids[-1:])
        rechain(audit.KEYED, audit.audit_key())  # what the key holder could do
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        events[-1].hash_scheme = audit.UNKEYED
        problems = audit.verify(events)
        db.session.rollback()
    assert problems == [
        audit.ChainProblem(
            f"audit event {ids[-2]}",
            "it is unkeyed after keyed rows: rewritten without the key",
        )
    ]


def test_rows_written_before_the_chain_was_keyed_still_verify(app, runner):
    with app.app_context():
        legacy = AuditEvent(
            at=audit.utcnow(),
            action="login",
            entity="",
            user_email="t@home.test",
            remote_addr="",
            prev_hash=audit.GENESIS,
            hash_scheme=audit.UNKEYED,
        )
        legacy.hash = audit.event_hash(legacy, b"")
        db.session.add(legacy)
        db.session.commit()
        audit.record("view", entity="patient", entity_id=1, patient_id=1, user=None)
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "Audit trail intact: 2 events." in result.output
    assert "1 of them were written before the chain was keyed." in result.output


def test_forged_checkpoint_lines_are_reported(app, runner, trail, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    genuine = _checkpoint(runner, path)
    ids = trail()
    with app.app_context():
        delete_rows(ids[-2:])
        point = audit.checkpoint(genuine["chain"])
        db.session.rollback()
    # A line claiming the truncated trail is the real one, with the old signature ...
    forged = {**genuine, "count": point.count, "last_id": point.last_id}
    forged["head_hash"] = point.head_hash
    # ... and one signed with a key of the forger's own.
    own_key = json.loads(point.signed_line(b"the forger's own key"))
    path.write_text("\n".join([json.dumps(forged), json.dumps(own_key), "{not json"]) + "\n")
    result = _verify(runner, path)
    assert result.exit_code == 1
    for line_no in (1, 2):
        assert (
            f"checkpoint line {line_no}: its signature does not match: forged, altered or "
            "signed with another key" in result.output
        )
    assert "checkpoint line 3: not a checkpoint (altered or truncated)" in result.output


def test_rows_added_after_the_last_checkpoint_and_removed_go_unseen(
    app, runner, auth, client, clinic_world, trail, tmp_path
):
    """The documented limit: a checkpoint vouches only for the rows it has seen."""
    path = tmp_path / "checkpoints.jsonl"
    _checkpoint(runner, path)
    before = trail()
    client.get(f"/patients/{clinic_world['patient'].id}")
    with app.app_context():
        delete_rows(set(trail()) - set(before))
    assert _verify(runner, path).exit_code == 0
