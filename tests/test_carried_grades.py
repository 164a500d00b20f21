"""The grades a new visit offers to carry forward, read as plain rows (`content.carried_grades`),
against the last signed visit's content with its amendments applied (the ORM reading)."""

from spastic.extensions import db
from spastic.models import Patient
from spastic.visits.content import carried_grades, effective_content, signed_visits
from tests.conftest import PASSWORD
from tests.test_visits import _save_and_sign, _visit_data


def _reference(patient_id: int) -> list:
    """The carried grades as the visit's own content says them, in the same order."""
    visits = signed_visits(patient_id)
    if not visits:
        return []
    last = visits[-1]
    return [
        ((key.split(":")[1], key.split(":")[2]), (grade, last.visit_date))
        for key, grade in effective_content(last).items()
        if key.startswith("mas:") and grade is not None
    ]


def _amend(client, visit_id: int, key: str, **grades) -> None:
    form = client.get(f"/visits/{visit_id}/amend").get_data(as_text=True)
    data = _visit_data(form, **grades)
    data.update(reason="Transcription error", password=PASSWORD, submission_key=key)
    assert client.post(f"/visits/{visit_id}/amend", data=data).status_code == 302


def test_carried_grades_are_the_last_signed_visits_as_amended(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    patient_id = clinic_world["patient"].id
    with app.app_context():
        assert carried_grades(db.session.get(Patient, patient_id)) == {}
    _save_and_sign(client, patient_id, **{"mas-elbow_flexors-left": "4"})
    kept = {"carry-elbow_flexors-right": "kept", "carry-knee_flexors-left": "kept"}
    last = _save_and_sign(client, patient_id, **kept)
    _amend(client, last, "a-1", **{"mas-elbow_flexors-left": "1", "mas-knee_flexors-right": "4"})
    second = {"mas-elbow_flexors-left": "3", "mas-elbow_flexors-right": ""}
    _amend(client, last, "a-2", **second, **{"mas-knee_flexors-right": "4"})
    with app.app_context():
        carried = carried_grades(db.session.get(Patient, patient_id))
        assert list(carried.items()) == _reference(patient_id)
    grades = {key: grade for key, (grade, _when) in carried.items()}
    assert grades == {
        ("elbow_flexors", "left"): "3",  # the second amendment's, not the first's nor the 4
        ("knee_flexors", "left"): "3",
        ("knee_flexors", "right"): "4",  # added by an amendment
    }  # elbow flexors right: cleared by the second amendment
