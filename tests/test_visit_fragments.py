"""The visit form's reused parts (`spastic/visits/fragments.py`) are the HTML a fresh render gives.

Each page is rendered from the parts kept for earlier, different answers, and again with every
kept part dropped (all rendered through the `field` macro, as without reuse): both must be the
same page, for random stored drafts (GET) and for refused input shown again with its errors
(POST, 422).
"""

import random
import re

import pytest

from spastic.clinical import scales
from spastic.visits import fragments
from tests.test_visits import TODAY, _hidden, _start

_TOKENS = re.compile(r'value="[A-Za-z0-9_.-]{40,}"')
_VERSION = re.compile(r'name="version" value="\d+"')
_TIMES = re.compile(r"\b\d\d:\d\d\b")


def _page(response) -> str:
    """The page without what differs between two renders: CSRF token, version, saved time."""
    page = _TOKENS.sub('value="TOKEN"', response.get_data(as_text=True))
    return _TIMES.sub("HH:MM", _VERSION.sub('name="version"', page))


def _random_answers(rng: random.Random) -> dict:
    codes = [m.code for m in scales.MUSCLES]
    data = {
        "visit_date": TODAY,
        "rater": rng.choice(["Tess Mills", "", "R. <b>&amp;"]),
        "muscles": rng.sample(codes, rng.randint(0, len(codes))),
        "pain_now": rng.choice(["", "0", "4", "10", "11"]),
        "notes": rng.choice(["", "Walked 20 m", "<script>x</script>"]),
    }
    for code in rng.sample(codes, rng.randint(0, len(codes))):
        for side in scales.SIDES:
            data[f"mas-{code}-{side}"] = rng.choice(["", "0", "1", "1+", "2", "3", "4", "5"])
            if rng.random() < 0.3:
                data[f"tardieu-{code}-{side}-r1"] = rng.choice(["", "40", "181", "abc"])
                data[f"tardieu-{code}-{side}-velocity"] = rng.choice(["V1", "V3", "V9"])
    for code in rng.sample(list(scales.SIDE_EFFECTS), 3):
        data[f"se-{code}"] = rng.choice(["none", "mild", "severe", "worse"])
    return data


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def test_a_stored_draft_shows_the_same_page_from_kept_parts(therapist, clinic_world):
    rng = random.Random(16)
    patient_id = clinic_world["patient"].id
    for _ in range(6):
        draft_id, page = _start(therapist, patient_id)
        answers = {**_random_answers(rng), "version": _hidden(page, "version")}
        saved = therapist.post(f"/drafts/{draft_id}/autosave", data=answers)
        assert saved.status_code in (200, 422), saved.status_code
        kept = _page(therapist.get(f"/drafts/{draft_id}"))  # parts kept from earlier answers
        fragments.clear()
        fresh = _page(therapist.get(f"/drafts/{draft_id}"))
        assert kept == fresh
        assert _page(therapist.get(f"/drafts/{draft_id}")) == fresh
        assert fresh.count('class="muscle-row"') == len(scales.MUSCLES)
        codes = [m.code for m in scales.MUSCLES]
        for muscle in answers["muscles"] if saved.status_code == 200 else ():
            assert f'checked id="muscles-{codes.index(muscle)}"' in fresh


def test_refused_input_is_shown_again_the_same_from_kept_parts(therapist, clinic_world):
    rng = random.Random(4)
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    for _ in range(4):
        answers = _random_answers(rng)
        answers.update(
            {
                "rater": "",  # always refused: the form comes back with its errors
                "muscles": ["elbow_flexors"],
                "mas-elbow_flexors-left": "7",
                "version": _hidden(page, "version"),
                "submission_key": _hidden(page, "submission_key"),
            }
        )
        first = therapist.post(f"/drafts/{draft_id}", data=answers)  # earlier parts kept
        assert first.status_code == 422
        answers["version"] = _hidden(first.get_data(as_text=True), "version")
        fragments.clear()
        again = therapist.post(f"/drafts/{draft_id}", data=answers)
        assert again.status_code == 422
        assert _page(again) == _page(first)
        shown = page = again.get_data(as_text=True)
        assert 'id="mas-elbow_flexors-left-error"' in shown
        assert "Choose a grade from 0, 1, 1+, 2, 3 or 4" in shown
