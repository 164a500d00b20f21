"""GET /patients/<id>/export.csv: long format, spreadsheet-safe, only for those who may see it."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from spastic.exports.spreadsheet import CSV_COLUMNS
from spastic.extensions import db
from spastic.models import AuditEvent, DoseChange
from tests.conftest import PASSWORD
from tests.test_fhir import GRADES, add_visit

HEADER = (
    "mrn,patient_name,visit_date,visit_id,status,rater,muscle,muscle_label,side,mas_grade,"
    "mas_index,pain_now,pain_worst,penn_frequency,penn_severity,route,daily_dose,dose_unit,amended,"
    "mas_carried_from,regimen"
)


@pytest.fixture
def muller(app, clinic_world, make_patient):
    """A patient with accents in her name, on oral baclofen then intrathecal."""
    doses = [(date(2026, 1, 5), "oral", 30), (date(2026, 2, 1), "intrathecal", 150)]
    return make_patient(
        clinic_world["home"], mrn='MU/42 "b"', family_name="Müller", given_name="Zoë", doses=doses
    )


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def _download(client, patient_id):
    response = client.get(f"/patients/{patient_id}/export.csv")
    assert response.status_code == 200
    return response


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_csv_is_utf8_with_bom_exact_header_and_a_safe_filename(therapist, app, muller):
    response = _download(therapist, muller.id)
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert response.mimetype == "text/csv"
    assert response.data.decode("utf-8-sig").splitlines()[0] == HEADER
    assert ",".join(CSV_COLUMNS) == HEADER
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="MU_42_b-{date.today().isoformat()}.csv"'


def test_one_row_per_signed_visit_muscle_and_side(therapist, app, clinic_world, muller):
    author = clinic_world["therapist"]
    first = add_visit(app, muller, author, date(2026, 1, 10), GRADES)
    second = add_visit(app, muller, author, date(2026, 2, 3), {("hip_flexors", "right"): "2"})
    add_visit(app, muller, author, date(2026, 2, 4), GRADES, status="draft")
    rows = _rows(_download(therapist, muller.id))
    keys = [(r["visit_id"], r["muscle"], r["side"]) for r in rows]
    assert keys == [
        (str(first), "elbow_flexors", "left"),
        (str(first), "elbow_flexors", "right"),
        (str(first), "hip_flexors", "left"),
        (str(second), "hip_flexors", "right"),
    ]
    assert {r["status"] for r in rows} == {"signed"}
    assert rows[0]["patient_name"] == "Müller, Zoë"  # accents intact
    assert rows[0]["mrn"] == 'MU/42 "b"'


def test_values_grades_pain_and_the_regimen_in_force(therapist, app, clinic_world, muller):
    author = clinic_world["therapist"]
    add_visit(app, muller, author, date(2026, 1, 10), GRADES, penn_severity=1)
    add_visit(app, muller, author, date(2026, 2, 3), {("hip_flexors", "right"): "4"})
    rows = _rows(_download(therapist, muller.id))
    picked = [
        (r["muscle_label"], r["mas_grade"], r["mas_index"], r["route"], r["daily_dose"])
        for r in rows
    ]
    assert picked == [
        ("Elbow flexors", "1+", "2", "oral", "30"),
        ("Elbow flexors", "", "", "oral", "30"),  # not assessed: empty, never a number
        ("Hip flexors", "3", "4", "oral", "30"),
        ("Hip flexors", "4", "5", "intrathecal", "150"),
    ]
    assert (rows[0]["dose_unit"], rows[3]["dose_unit"]) == ("mg/day", "mcg/day")
    # Every route in force, from the one definition the pages and the PDF use.
    assert (rows[0]["regimen"], rows[3]["regimen"]) == (
        "30 mg/day oral",
        "30 mg/day oral + 150 mcg/day intrathecal",
    )
    first = rows[0]
    assert (first["pain_now"], first["pain_worst"]) == ("4", "7")
    assert (first["penn_frequency"], first["penn_severity"]) == ("2", "1")
    assert (first["visit_date"], first["rater"], first["amended"]) == (
        "2026-01-10",
        "Tess Mills",
        "no",
    )


def test_stopped_regimen_shows_a_zero_dose(therapist, app, clinic_world, muller):
    with app.app_context():
        stop = DoseChange(
            patient_id=muller.id,
            effective_date=date(2026, 3, 1),
            route="intrathecal",
            daily_dose=Decimal(0),
            unit="mcg/day",
            stopped=True,
        )
        db.session.add(stop)
        db.session.commit()
    add_visit(app, muller, clinic_world["therapist"], date(2026, 3, 2), GRADES)
    row = _rows(_download(therapist, muller.id))[0]
    assert (row["route"], row["daily_dose"], row["dose_unit"]) == ("intrathecal", "0", "mcg/day")


def test_amended_visit_shows_amended_values(therapist, app, clinic_world, muller):
    amend = {"mas:elbow_flexors:left": ("1+", "1"), "rater": ("Tess Mills", "Tess Miller")}
    add_visit(app, muller, clinic_world["therapist"], date(2026, 1, 10), GRADES, amend=amend)
    row = _rows(_download(therapist, muller.id))[0]
    assert (row["mas_grade"], row["mas_index"], row["rater"]) == ("1", "1", "Tess Miller")
    assert row["amended"] == "yes"


def test_visit_without_mas_rows_keeps_one_row(therapist, app, clinic_world, muller):
    add_visit(app, muller, clinic_world["therapist"], date(2026, 1, 10), {})
    rows = _rows(_download(therapist, muller.id))
    assert len(rows) == 1
    assert (rows[0]["muscle"], rows[0]["mas_grade"], rows[0]["pain_now"]) == ("", "", "4")


@pytest.mark.parametrize(
    "rater",
    ['=HYPERLINK("http://evil.test","click")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_formula_injection_is_neutralised(therapist, app, clinic_world, muller, rater):
    add_visit(app, muller, clinic_world["therapist"], date(2026, 1, 10), GRADES, rater=rater)
    row = _rows(_download(therapist, muller.id))[0]
    assert row["rater"] == "'" + rater
    assert row["pain_now"] == "4"  # our own numbers are left alone


@pytest.mark.parametrize("kind", ["export.csv", "fhir"])
def test_other_clinic_gets_404_and_nothing_is_audited(app, clinic_world, muller, kind):
    add_visit(app, muller, clinic_world["therapist"], date(2026, 1, 10), GRADES)
    outsider = app.test_client()
    outsider.post("/login", data={"email": "t@other.test", "password": PASSWORD})
    response = outsider.get(f"/patients/{muller.id}/{kind}")
    assert response.status_code == 404
    assert "Müller".encode() not in response.data
    with app.app_context():
        exports = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export"))
        assert exports.all() == []


def test_export_is_in_the_audit_trail(therapist, app, clinic_world, muller):
    _download(therapist, muller.id)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert (event.entity, event.entity_id, event.patient_id) == ("csv", muller.id, muller.id)
    assert event.user_id == clinic_world["therapist"].id
