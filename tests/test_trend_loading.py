"""The trend reads a patient's signed visits as plain rows: the same records as the ORM path.

`trends.loading.signed_records` must hand scoring exactly what `as_record` makes of
`signed_visits` (amendments applied, carried grades, grades left blank, side effects, several
visits on one day), and read each table once whatever the number of visits.
"""

import json
from datetime import UTC, date, datetime

from sqlalchemy import event

from spastic.extensions import db
from spastic.models import Amendment, MasScore, SideEffect, Visit
from spastic.trends.loading import signed_records
from spastic.visits.content import as_record, signed_visits


def _visit(patient_id, therapist, day, grades, status="signed", key="", **fields):
    visit = Visit(
        patient_id=patient_id,
        visit_date=day,
        rater=fields.pop("rater", "Tess Mills"),
        therapist_id=therapist.id,
        status=status,
        submission_key=f"load-{patient_id}-{day}-{status}-{key}",
        signed_by_id=therapist.id if status == "signed" else None,
        signed_at=datetime(day.year, day.month, day.day, 11, tzinfo=UTC)
        if status == "signed"
        else None,
        signature_meaning="I performed and recorded this assessment"
        if status == "signed"
        else None,
        **fields,
    )
    visit.mas_scores = [
        MasScore(muscle=m, side=s, grade=g, rater="Tess Mills", carried_from=carried)
        for (m, s), (g, carried) in grades.items()
    ]
    db.session.add(visit)
    return visit


def _history(app, world):
    patient, therapist = world["patient"], world["therapist"]
    with app.app_context():
        first = _visit(
            patient.id,
            therapist,
            date(2026, 1, 10),
            {("elbow_flexors", "left"): ("3", None), ("knee_flexors", "right"): ("2", None)},
            pain_now=6,
            pain_worst=8,
            penn_frequency=2,
            penn_severity=1,
            adherence="as_prescribed",
        )
        first.side_effects = [
            SideEffect(code="drowsiness", severity="mild"),
            SideEffect(code="other", severity="moderate", detail="dry mouth"),
        ]
        carried = {
            ("elbow_flexors", "left"): ("2", None),
            ("knee_flexors", "right"): ("2", date(2026, 1, 10)),
            ("hip_flexors", "left"): (None, None),
        }
        second = _visit(patient.id, therapist, date(2026, 1, 24), carried, key="a", rater="Sam")
        _visit(patient.id, therapist, date(2026, 1, 24), {("hip_flexors", "left"): ("1", None)})
        _visit(
            patient.id, therapist, date(2026, 2, 1), {("hip_flexors", "left"): ("4", None)}, "draft"
        )
        _visit(
            world["other_patient"].id,
            therapist,
            date(2026, 1, 24),
            {("hip_flexors", "left"): ("0", None)},
        )
        db.session.flush()
        changes = {
            "mas:elbow_flexors:left": ["2", "1+"],
            "carried:knee_flexors:right": ["2026-01-10", None],
            "pain_now": [None, 4],
            "se:drowsiness": [None, "severe"],
        }
        db.session.add(
            Amendment(
                visit_id=second.id,
                author_id=therapist.id,
                reason="Misread",
                changes=json.dumps(changes),
                content_hash="0" * 64,
                submission_key="load-amend-1",
            )
        )
        db.session.commit()
    return patient.id


def test_plain_rows_give_the_records_of_the_orm_path(app, clinic_world):
    patient_id = _history(app, clinic_world)
    with app.app_context():
        expected = [as_record(v) for v in signed_visits(patient_id)]
        found = signed_records(patient_id)
    assert found == expected
    assert [r.visit_date for r in found] == [
        date(2026, 1, 10),
        date(2026, 1, 24),
        date(2026, 1, 24),
    ]
    amended = found[1]
    assert amended.grades == {("elbow_flexors", "left"): "1+", ("knee_flexors", "right"): "2"}
    assert amended.pain_now == 4 and amended.side_effects == {"drowsiness": "severe"}
    assert found[0].side_effects == {"drowsiness": "mild", "other": "moderate"}
    assert found[0].penn_frequency == 2 and found[0].adherence == "as_prescribed"


def test_each_table_is_read_once_whatever_the_number_of_visits(app, clinic_world):
    patient_id = _history(app, clinic_world)
    seen = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            records = signed_records(patient_id)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(records) == 3
    assert len(selects) == 4, selects
