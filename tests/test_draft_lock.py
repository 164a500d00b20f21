"""The visit save locks its draft row (PostgreSQL: SELECT ... FOR UPDATE) without repeating how
the draft was loaded before: the visit form loads the draft joined to its patient and dose
changes, and PostgreSQL refuses FOR UPDATE on the nullable side of an outer join. A session
that outlives one request (as in a script or a worker holding an app context) kept the form's
joins and made the save answer 500."""

from sqlalchemy import select

from spastic.extensions import db
from spastic.models import Visit
from tests.test_visits import _visit_data


def test_a_save_after_the_form_in_the_same_session_is_stored(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    patient_id = clinic_world["patient"].id
    with app.app_context():  # one session for both requests, as bench_size and scripts have
        draft = client.post(f"/patients/{patient_id}/visits/new").location
        page = client.get(draft).get_data(as_text=True)
        assert "MRN-1" in page and "30 mg/day" in page  # its patient and dose, loaded with it
        response = client.post(draft, data=_visit_data(page))
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        assert response.location.endswith("/review")
        visit = db.session.scalar(select(Visit).where(Visit.patient_id == patient_id))
        assert visit is not None and visit.status == "draft"
        assert {(s.muscle, s.side, s.grade) for s in visit.mas_scores} >= {
            ("elbow_flexors", "left", "1+"),
            ("knee_flexors", "left", "3"),
        }
