"""`seed-demo` gives every demo patient signed visits that make the trend page worth showing."""

from datetime import date

import pytest
from sqlalchemy import func, select

from spastic.demo import visits as demo_visits
from spastic.extensions import db
from spastic.models import AuditEvent, Base, Patient, User, Visit
from spastic.trends.presenter import load_trend
from spastic.visits.content import content_of, signed_visits
from spastic.visits.records import content_hash
from tests.conftest import _empty_all


@pytest.fixture
def seeded(seeded_demo):
    return seeded_demo


def _trends(app) -> dict:
    with app.app_context():
        patients = db.session.scalars(select(Patient).order_by(Patient.mrn)).all()
        return {p.mrn: load_trend(p) for p in patients}


def test_every_demo_patient_has_signed_visits_up_to_today(seeded):
    with seeded.app_context():
        patients = db.session.scalars(select(Patient)).all()
        assert {p.mrn for p in patients} == set(demo_visits.load_plans())
        for patient in patients:
            visits = signed_visits(patient.id)
            assert len(visits) >= 3, patient.mrn
            therapist = db.session.get(User, visits[0].therapist_id)
            assert therapist.role == "therapist" and therapist.clinic_id == patient.clinic_id
            for visit in visits:
                assert visit.visit_date <= date.today()
                assert visit.signed_by_id == therapist.id and visit.signed_at is not None
                assert visit.signature_meaning == demo_visits.SIGNATURE_MEANING
                assert visit.content_hash == content_hash(content_of(visit))
        assert db.session.scalar(select(func.count()).where(Visit.status != "signed")) == 0


def test_visits_are_audited_and_the_trail_holds(seeded, runner):
    with seeded.app_context():
        visit_ids = set(db.session.scalars(select(Visit.id)))
        for action in ("create", "sign"):
            audited = db.session.scalars(
                select(AuditEvent.entity_id).where(
                    AuditEvent.entity == "visit", AuditEvent.action == action
                )
            )
            assert set(audited) == visit_ids
    assert "Audit trail intact" in runner.invoke(args=["audit-verify"]).output


def test_trends_show_responders_non_responders_and_flags(seeded):
    trends = _trends(seeded)
    increases = {
        mrn: [i for dr in t.dose_response.values() for i in dr.increases]
        for mrn, t in trends.items()
    }
    responders = {mrn for mrn, found in increases.items() if any(i.responded for i in found)}
    non_responders = {
        mrn for mrn, found in increases.items() if found and not any(i.responded for i in found)
    }
    stopped_responding = {
        mrn
        for mrn, t in trends.items()
        if any(dr.no_further_response for dr in t.dose_response.values())
    }
    assert {"DR-1001", "DR-1003", "DR-1006"} <= responders
    assert "DR-1009" in non_responders
    assert stopped_responding == {"DR-1002"}
    flags = {mrn: {f.code for f in t.flags} for mrn, t in trends.items()}
    with_side_effect = {
        mrn for mrn, codes in flags.items() if "side_effect_after_increase" in codes
    }
    assert "DR-1005" in with_side_effect
    assert {mrn for mrn, codes in flags.items() if "rater_changed" in codes} == {"DR-1009"}
    assert all(t.dose_response for t in trends.values())  # a dose in force at some visit


def test_side_effect_flag_names_the_increase_before_it(seeded):
    trend = _trends(seeded)["DR-1005"]
    (flag,) = [f for f in trend.flags if f.code == "side_effect_after_increase"]
    assert "drowsiness" in flag.message and "from 30 to 45 mg/day" in flag.message
    assert flag.dose_change.effective_date < flag.on


def test_planned_grades_are_deterministic_and_bounded():
    plan = demo_visits.load_plans()["DR-1006"]  # has a baseline grade 4
    assert demo_visits.planned_grades(plan, 0) == demo_visits.planned_grades(plan, 0)
    worse = [g for _, _, g in demo_visits.planned_grades(plan, -2)]
    better = [g for _, _, g in demo_visits.planned_grades(plan, 9)]
    assert max(worse) == "4" and set(better) == {"0"}


def _demo_rows() -> dict:
    """What the demo data holds, independent of when it was written: rows per table and keys."""
    counts = {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }
    visits = db.session.execute(
        select(Patient.mrn, Visit.visit_date, Visit.status).join(Patient).order_by(Visit.id)
    ).all()
    return {
        "counts": counts,
        "users": sorted(db.session.scalars(select(User.email))),
        "visits": visits,
    }


def test_the_demo_data_fixture_is_what_the_command_writes(seeded, runner, database):
    """`seeded_demo` copies a file (SQLite) or loads a snapshot (PostgreSQL): the same rows as
    running `seed-demo` here, an audit trail that verifies, and ids that carry on after them."""
    with seeded.app_context():
        loaded = _demo_rows()
    assert "Audit trail intact" in runner.invoke(args=["audit-verify"]).output
    result = runner.invoke(
        args=[
            *("create-user", "--clinic", "Demo Rehab", "--role", "therapist"),
            *("--email", "new@demo.test", "--name", "New Therapist"),
        ],
        input="a-long-enough-password-1\na-long-enough-password-1\n",
    )
    assert result.exit_code == 0, result.output
    with seeded.app_context():
        new = db.session.scalar(select(User).where(User.email == "new@demo.test"))
        assert new.id > max(db.session.scalars(select(User.id).where(User.id != new.id)))
        db.session.rollback()
        if database.startswith("postgresql"):
            _empty_all()
        else:
            db.drop_all()
            db.create_all()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with seeded.app_context():
        assert _demo_rows() == loaded
