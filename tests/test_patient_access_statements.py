"""`patient_for` builds its statement once per role and reuses it for every viewer of that
role: each viewer's own ids must still decide what they see, whoever came before them."""

import pytest

from tests.conftest import PASSWORD

MAY_SEE = {
    "therapist": 200,
    "physician": 200,  # on the care team
    "outsider_physician": 404,  # same clinic, not on the care team
    "admin": 404,
    "other_therapist": 404,  # another clinic
    "other_physician": 404,
}


@pytest.mark.parametrize("order", [list(MAY_SEE), list(reversed(MAY_SEE))])
def test_each_viewer_sees_what_their_own_ids_allow(app, clinic_world, order):
    patient = clinic_world["patient"]
    for role in [*order, *order]:  # twice: the second round runs statements built already
        client = app.test_client()
        login = client.post(
            "/login", data={"email": clinic_world[role].email, "password": PASSWORD}
        )
        assert login.status_code == 302
        page = client.get(f"/patients/{patient.id}")
        assert page.status_code == MAY_SEE[role], role
        assert (patient.mrn in page.get_data(as_text=True)) == (MAY_SEE[role] == 200), role
