"""The stored worklist entries give the worklist its direct computation would give.

For random clinics (visits, dose changes on both routes, bookings, pumps with refills, risk
flags, clinic settings) written through the ORM (the hooks store the entries at commit), and
random later days, `worklist_entries.page` (the order, filters and count from the stored
entries) equals `worklist.rows` (every patient's history computed that day), page by page.
"""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, select, update

from spastic.extensions import db
from spastic.models import (
    AuditEvent,
    Clinic,
    DoseChange,
    Patient,
    Pump,
    Refill,
    User,
    Visit,
    WorklistEntry,
)
from spastic.patients import worklist, worklist_entries

TODAY = date.today()
_clinics = itertools.count(1)
offsets = st.integers(min_value=-200, max_value=120)  # near today, where the dates meet
maybe_day = st.one_of(st.none(), offsets)

fills = st.tuples(
    st.integers(min_value=-200, max_value=0),  # refill day
    st.sampled_from(("5", "12.5", "20", "40")),  # mL added
    st.sampled_from(("50", "500", "2000")),  # mcg/mL
    st.one_of(st.none(), st.sampled_from(("0", "1.5", "3", "9"))),  # residual drawn
)
patients = st.fixed_dictionaries(
    {
        "visits": st.lists(st.integers(min_value=-150, max_value=0), max_size=3),
        "doses": st.lists(
            st.tuples(
                offsets,
                st.sampled_from(("oral", "intrathecal")),
                st.sampled_from((0, 60, 150, 400)),
            ),
            max_size=4,
        ),
        "booked_review": maybe_day,
        "booked_refill": maybe_day,
        "interval": st.one_of(st.none(), st.sampled_from((30, 60, 180))),
        "family": st.sampled_from(("Ávila", "Berg", "berg", "Zed", "Öz")),
        "risk": st.booleans(),
        "team": st.booleans(),
        "pump": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "reservoir": st.sampled_from((20, 40)),
                    "alarm": st.sampled_from((2, 4)),
                    "replacement": maybe_day,
                    "fills": st.lists(fills, max_size=3),
                }
            ),
        ),
    }
)
clinics = st.fixed_dictionaries(
    {
        "patients": st.lists(patients, min_size=1, max_size=6),
        "margin": st.sampled_from((7, 10, 14)),
        "interval": st.sampled_from((60, 90)),
        "after_change": st.sampled_from((14, 28)),
        "days": st.lists(st.integers(min_value=0, max_value=450), min_size=1, max_size=4),
    }
)


def _day(offset):
    return None if offset is None else TODAY + timedelta(days=offset)


def _store(spec) -> tuple[User, User]:
    """A new clinic with the drawn patients, through the ORM (one commit); its therapist and
    physician (on the care team of the patients drawn so)."""
    number = next(_clinics)
    clinic = Clinic(
        name=f"Drawn {number}",
        refill_margin_days=spec["margin"],
        review_interval_days=spec["interval"],
        review_after_dose_change_days=spec["after_change"],
    )
    db.session.add(clinic)
    db.session.flush()
    therapist_, physician = (
        User(
            clinic_id=clinic.id,
            email=f"{role}{number}@drawn.test",
            name=f"{role} {number}",
            role=role,
            password_hash="-",
        )
        for role in ("therapist", "physician")
    )
    db.session.add_all([therapist_, physician])
    db.session.flush()
    home = clinic.id
    therapist = therapist_.id
    for n, drawn in enumerate(spec["patients"]):
        patient = Patient(
            clinic_id=home,
            mrn=f"P-{n}",
            family_name=drawn["family"],
            given_name="Kim",
            birth_date=date(1970, 1, 1),
            sex="female",
            diagnosis="sci",
            sci_level="C6" if drawn["risk"] else "L2",
            next_review_date=_day(drawn["booked_review"]),
            next_refill_date=_day(drawn["booked_refill"]),
            review_interval_days=drawn["interval"],
            care_team=[physician] if drawn["team"] else [],
        )
        for when, route, dose in drawn["doses"]:
            unit = "mg/day" if route == "oral" else "mcg/day"
            patient.dose_changes.append(
                DoseChange(
                    effective_date=_day(when), route=route, daily_dose=Decimal(dose), unit=unit
                )
            )
        for k, when in enumerate(drawn["visits"]):
            db.session.add(
                Visit(
                    patient=patient,
                    therapist_id=therapist,
                    visit_date=_day(when),
                    rater="T",
                    status="signed",
                    submission_key=f"h{number}-{n}-{k}",
                )
            )
        if drawn["pump"] is not None:
            row = Pump(
                patient=patient,
                model="SynchroMed II",
                reservoir_ml=Decimal(drawn["pump"]["reservoir"]),
                alarm_ml=Decimal(drawn["pump"]["alarm"]),
                implant_date=TODAY - timedelta(days=400),
                elective_replacement_date=_day(drawn["pump"]["replacement"]),
            )
            for k, (when, volume, concentration, drawn_out) in enumerate(
                sorted(drawn["pump"]["fills"])
            ):
                row.refills.append(
                    Refill(
                        refill_date=_day(when),
                        volume_added_ml=Decimal(volume),
                        concentration_mcg_ml=Decimal(concentration),
                        residual_drawn_ml=None
                        if k == 0 or drawn_out is None
                        else Decimal(drawn_out),
                        first_fill=k == 0,
                    )
                )
            db.session.add(row)
        db.session.add(patient)
    db.session.commit()
    return therapist_, physician


def _seen(row: worklist.Row) -> tuple:
    return (
        row.patient_id,
        row.name,
        row.mrn,
        row.last_visit,
        row.due,
        row.draft_open,
        row.refill_due,
        row.has_pump,
        row.flags,
        row.summaries_awaiting,
    )


def _stored_equals_direct(user, today) -> None:
    """Exactly one step of each patient's entry holds on `today`, with the direct values."""
    steps = db.session.scalars(
        select(WorklistEntry).where(
            WorklistEntry.clinic_id == user.clinic_id,
            WorklistEntry.valid_from <= today,
            WorklistEntry.valid_until > today,
        )
    ).all()
    stored = {s.patient_id: s for s in steps}
    assert len(stored) == len(steps)
    direct = {r.patient_id: worklist_entries.values_of(r) for r in worklist.rows(user, today)}
    found = {i: {k: getattr(stored[i], k) for k in v} for i, v in direct.items() if i in stored}
    assert found == direct, today


def _paged(user, today, show) -> list[tuple]:
    found, number = [], 1
    while True:
        rows, total = worklist_entries.page(user, today, show, number)
        found += rows
        if not rows or len(found) >= total:
            return [_seen(r) for r in found]
        number += 1


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(spec=clinics)
def test_stored_entries_give_the_direct_worklist(app, spec, monkeypatch):
    monkeypatch.setattr(worklist_entries, "PAGE", 4)  # several pages in a small clinic
    with app.app_context():
        for user in _store(spec):
            for offset in spec["days"]:
                today = TODAY + timedelta(days=offset)
                _stored_equals_direct(user, today)
                for show in worklist.FILTERS:
                    expected = [_seen(r) for r in worklist.rows(user, today, show)]
                    assert _paged(user, today, show) == expected, (user.role, offset, show)


def test_entries_follow_each_write(app, client, auth, clinic_world):
    """A refill recorded through the app moves the patient in the stored order at once."""
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(WorklistEntry))
        assert count == 2  # the two fixture patients, one step each
        patient = db.session.get(Patient, clinic_world["patient"].id)
        entry = db.session.scalar(
            select(WorklistEntry).where(WorklistEntry.patient_id == patient.id)
        )
        assert entry.review_date is None and not entry.has_pump  # no visit yet: due now
        db.session.add(
            Visit(
                patient_id=patient.id,
                therapist_id=clinic_world["therapist"].id,
                visit_date=TODAY - timedelta(days=3),
                rater="T",
                status="signed",
                submission_key="w1",
            )
        )
        db.session.commit()
        entry = db.session.scalar(
            select(WorklistEntry).where(WorklistEntry.patient_id == patient.id)
        )
        assert entry.review_date == TODAY - timedelta(days=3) + timedelta(days=90)


def test_rebuild_command(app, runner, clinic_world):
    with app.app_context():
        db.session.execute(delete(WorklistEntry))
        db.session.commit()
    result = runner.invoke(args=["worklist-rebuild"])
    assert "rebuilt for 2 patients" in result.output
    with app.app_context():
        ids = set(db.session.scalars(select(WorklistEntry.patient_id)))
    assert ids == {clinic_world["patient"].id, clinic_world["other_patient"].id}


def test_a_stored_entry_shows_no_patient_the_viewer_may_not_see(app, client, auth, clinic_world):
    """The page sorts by the entry's own clinic id; a stale or forged one (another clinic's
    patient filed under this clinic) still never reaches the page or the audit trail, because
    the shown rows are read through `visible_patients`."""
    outsider = clinic_world["other_patient"]
    with app.app_context():
        db.session.execute(
            update(WorklistEntry)
            .where(WorklistEntry.patient_id == outsider.id)
            .values(clinic_id=clinic_world["home"].id)
        )
        db.session.commit()
    auth.login(clinic_world["therapist"])
    page = client.get("/worklist").get_data(as_text=True)
    assert clinic_world["patient"].mrn in page
    assert "OC-1" not in page and "FISCHER" not in page.upper()
    with app.app_context():
        named = db.session.scalars(
            select(AuditEvent.patient_id).where(AuditEvent.entity == "worklist")
        ).all()
    assert clinic_world["patient"].id in named and outsider.id not in named


def test_the_sort_reads_the_index_alone(app, clinic_world):
    """On SQLite the order, filter and count of every filter read the covering index only:
    no patient row and no entry row for the thousands a clinic sorts (bench_worklist)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the plan is SQLite's; PostgreSQL's index-only scans need a vacuum")
        therapist = db.session.get(User, clinic_world["therapist"].id)
        statements = []

        def seen(_conn, _cursor, statement, parameters, _context, _many):
            statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            for show in ("all", "week", "pumps", "warnings"):
                worklist_entries.page(therapist, TODAY, show)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        sorting = [(s, p) for s, p in statements if "FROM worklist_entry" in s and "IN (" not in s]
        assert len(sorting) == 8  # the page's order and its count, for each filter
        for statement, parameters in sorting:
            plan = _plan(statement, parameters)
            assert "COVERING INDEX ix_worklist_entry_clinic_valid" in plan, plan
            assert "patient" not in plan.replace("worklist_entry", ""), plan


def _plan(statement: str, parameters) -> str:
    connection = db.session.connection().connection.driver_connection
    rows = connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
    return " | ".join(str(row[-1]) for row in rows)


DESIGNED = {
    "patients": [
        {  # seen 10 days ago, dose change in 50 days: review 14 days after it, not at 180
            "visits": [-10],
            "doses": [(-100, "oral", 60), (50, "oral", 150)],
            "booked_review": None,
            "booked_refill": None,
            "interval": 180,
            "family": "Dose",
            "risk": False,
            "team": True,
            "pump": None,
        },
        {  # 20 mL of 2000 mcg/mL at 400 mcg/day, filled 50 days ago: 0.2 mL a day, the
            # 2 mL alarm on day 40, empty on day 50, refill due on day 30 (10-day margin, C6);
            # booked on day 45, after the alarm; a dose step on day 20 moves nothing booked
            "visits": [-20],
            "doses": [(-300, "intrathecal", 400)],
            "booked_review": None,
            "booked_refill": 45,
            "interval": None,
            "family": "Pump",
            "risk": True,
            "team": True,
            "pump": {
                "reservoir": 20,
                "alarm": 2,
                "replacement": 100,
                "fills": [(-50, "20", "2000", None)],
            },
        },
        {  # 40 mL of 500 mcg/mL at 150 mcg/day, filled 60 days ago: 0.3 mL a day, the 2 mL
            # alarm 126 days after the fill (day 66), empty after 133 (day 73), refill due on
            # day 59 (7-day margin); nothing booked
            "visits": [-60],
            "doses": [(-300, "intrathecal", 150)],
            "booked_review": None,
            "booked_refill": None,
            "interval": 365,
            "family": "Quiet",
            "risk": False,
            "team": False,
            "pump": {
                "reservoir": 40,
                "alarm": 2,
                "replacement": None,
                "fills": [(-60, "40", "500", None)],
            },
        },
        {  # no visit yet, booked in 3 days
            "visits": [],
            "doses": [],
            "booked_review": 3,
            "booked_refill": None,
            "interval": None,
            "family": "New",
            "risk": False,
            "team": False,
            "pump": None,
        },
    ],
    "margin": 7,
    "interval": 90,
    "after_change": 14,
    "days": [],
}


def test_every_day_of_a_designed_clinic(app, monkeypatch):
    """Each day where a stored value can change (the dose change, the refill-due, alarm and
    empty dates passing, the booked dates passing), and every day between, for 120 days."""
    monkeypatch.setattr(worklist_entries, "PAGE", 3)
    with app.app_context():
        therapist, physician = _store(DESIGNED)
        for offset in range(120):
            today = TODAY + timedelta(days=offset)
            _stored_equals_direct(therapist, today)
            if offset % 3:
                continue
            show = tuple(worklist.FILTERS)[offset % len(worklist.FILTERS)]
            for user in (therapist, physician):
                expected = [_seen(r) for r in worklist.rows(user, today, show)]
                assert _paged(user, today, show) == expected, (user.role, offset, show)
        pump = [_rank(therapist, "PUMP", day) for day in (0, 31, 41)]
        assert pump == [1, 1, 0]  # booked after the alarm; refill overdue too; urgent
        quiet = [_rank(therapist, "QUIET", day) for day in (58, 59, 60, 66, 67)]
        # due this week; overdue the day after it was due; urgent past the alarm
        assert quiet == [3, 3, 1, 1, 0]


def _rank(user, family: str, offset: int) -> int:
    rows, _total = worklist_entries.page(user, TODAY + timedelta(days=offset), "pumps")
    return next(r.due.rank for r in rows if r.name.startswith(family))
