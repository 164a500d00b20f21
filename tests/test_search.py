"""The live patient search: the start of any name or MRN word, folded; a short page with an
honest count; inside words on request; the index kept current; the audit names who was shown."""

import html
import re
import uuid
from datetime import date

import pytest
from flask import g, has_request_context
from flask_migrate import upgrade
from sqlalchemy import event, insert, select

from spastic import create_app
from spastic.extensions import db
from spastic.models import AuditEvent, Clinic, Patient, PatientSearchToken
from spastic.patients import search, search_index
from spastic.patients.search_index import fold, tokens_of, words
from tests.conftest import _test_config


@pytest.mark.parametrize(
    ("text_", "folded"),
    [
        ("Müller", "muller"),
        ("ÅNGSTRÖM", "angstrom"),
        ("Straße", "strasse"),
        ("\uff2f\uff4b\uff41", "oka"),
    ],
)
def test_fold_takes_case_and_accents_off(text_, folded):
    assert fold(text_) == folded


@pytest.mark.parametrize(
    ("family", "given", "mrn", "tokens"),
    [
        ("Okafor", "Ada", "DR-0042", {"okafor", "ada", "dr", "0042", "dr0042"}),
        ("O'Brien", "Seán", "7", {"o", "brien", "obrien", "sean", "7"}),
        (
            "García Márquez",
            "Ana-Lucía",
            "X",
            {"garcia", "marquez", "garciamarquez", "ana"} | {"lucia", "analucia", "x"},
        ),
        ("van der Berg", "Jo", "A_1", {"van", "der", "berg", "vanderberg", "jo", "a", "1", "a1"}),
        ("Li", "", "", {"li"}),
    ],
)
def test_tokens_are_each_word_and_the_words_run_together(family, given, mrn, tokens):
    assert tokens_of(family, given, mrn) == tokens


def test_words_split_on_anything_but_letters_and_digits():
    assert words("  ada,OKAFOR  dr-0042 %_ ") == ["ada", "okafor", "dr", "0042"]


@pytest.mark.parametrize(
    ("asked", "rows"), [(None, 15), (0, 15), (-5, 15), (16, 15), (30, 30), (44, 30), (10_000, 200)]
)
def test_page_size_grows_in_steps_up_to_a_limit(asked, rows):
    assert search.page_size(asked) == rows


def _names(client, url: str) -> list[str]:
    page = client.get(url)
    assert page.status_code == 200
    found = re.findall(r'<span class="name">([^<]*)</span>', page.get_data(as_text=True))
    return [html.unescape(name) for name in found]


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


@pytest.fixture
def named(clinic_world, make_patient):
    """A few patients of the home clinic with names a search must tell apart."""
    home = clinic_world["home"]
    rows = [
        ("DR-0042", "Okafor", "Ada"),
        ("DR-0043", "Tokabe", "Ben"),
        ("DR-0044", "Müller-Lüdenscheidt", "Zoë"),
        ("XY-9", "O'Brien", "Kabir"),
        ("A-1", "Zeller", "Carla"),
        ("A-10", "Abbott", "Dmitri"),
    ]
    return {mrn: make_patient(home, mrn=mrn, family_name=f, given_name=g) for mrn, f, g in rows}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("oka", ["OKAFOR, Ada"]),  # family name start
        ("OKA", ["OKAFOR, Ada"]),  # any case
        ("ada", ["OKAFOR, Ada"]),  # given name start
        ("ada oka", ["OKAFOR, Ada"]),  # every word typed starts a word of the patient
        ("okafor ada", ["OKAFOR, Ada"]),  # in any order
        ("ada tok", []),
        ("lud", ["MÜLLER-LÜDENSCHEIDT, Zoë"]),  # the second part of a double name
        ("MÜLLER", ["MÜLLER-LÜDENSCHEIDT, Zoë"]),  # accents folded in the query
        ("mullerlu", ["MÜLLER-LÜDENSCHEIDT, Zoë"]),  # the name run together
        ("zoe", ["MÜLLER-LÜDENSCHEIDT, Zoë"]),
        ("obri", ["O'BRIEN, Kabir"]),
        ("o'bri", ["O'BRIEN, Kabir"]),
        ("kab", ["O'BRIEN, Kabir"]),  # not TOKABE: "kab" is inside that name, not its start
        ("dr-0042", ["OKAFOR, Ada"]),
        ("dr0042", ["OKAFOR, Ada"]),
        ("0043", ["TOKABE, Ben"]),  # the number of an MRN without its prefix
        ("dr-004", ["MÜLLER-LÜDENSCHEIDT, Zoë", "OKAFOR, Ada", "TOKABE, Ben"]),
        ("a-1", ["ZELLER, Carla", "ABBOTT, Dmitri"]),  # the exact MRN first, then A-Z
        ("%", []),
        ("_", []),
        ("nguyen", ["NGUYEN, Linh"]),  # not the other clinic's NGUYEN-less FISCHER either
        ("fischer", []),  # another clinic's patient
    ],
)
def test_search_finds_the_start_of_any_name_or_mrn_word(therapist, named, query, expected):
    assert _names(therapist, f"/patients?q={query.replace('%', '%25')}&partial=1") == expected


def test_a_fragment_inside_a_word_is_found_when_asked(therapist, named):
    page = therapist.get("/patients?q=kab&partial=1").get_data(as_text=True)
    assert "Look for “kab” inside names and MRNs too" in page
    assert '<input type="hidden" name="q" value="kab">' in page
    assert '<input type="hidden" name="inside" value="1">' in page
    inside = _names(therapist, "/patients?q=kab&inside=1&partial=1")
    assert inside == ["O'BRIEN, Kabir", "TOKABE, Ben"]
    assert _names(therapist, "/patients?q=ede&inside=1") == []  # matches no word from inside
    assert _names(therapist, "/patients?q=denscheid&inside=1") == ["MÜLLER-LÜDENSCHEIDT, Zoë"]
    assert _names(therapist, "/patients?q=fisch&inside=1") == []  # never another clinic's


def test_too_short_a_fragment_is_not_looked_for_inside(therapist, named):
    page = therapist.get("/patients?q=ka&partial=1").get_data(as_text=True)
    assert "inside names" not in page
    # Asked anyway (an edited URL): the start of words, as without it.
    assert _names(therapist, "/patients?q=ka&inside=1") == ["O'BRIEN, Kabir"]


def test_nothing_found_says_how_the_search_looks(therapist, named):
    page = therapist.get("/patients?q=zzz&partial=1").get_data(as_text=True)
    assert "No patient matches “zzz”: names and MRNs are found by the start of" in page
    inside = therapist.get("/patients?q=zzz&partial=1&inside=1").get_data(as_text=True)
    assert "No patient matches “zzz”, inside a word either." in inside


@pytest.fixture
def many(app, clinic_world):
    """40 patients named KABEMO01..40 (given names in reverse), inserted like an import."""
    rows = [
        {
            "clinic_id": clinic_world["home"].id,
            "mrn": f"BN-{n:03d}",
            "family_name": f"Kabemo{n:02d}",
            "given_name": "Ada",
            "birth_date": date(1950, 1, 1),
            "sex": "female",
            "diagnosis": "ms",
        }
        for n in range(1, 41)
    ]
    with app.app_context():
        db.session.execute(insert(Patient), rows)
        search_index.rebuild()
        db.session.commit()
        return dict(db.session.execute(select(Patient.family_name, Patient.id)).all())


def _shown_in_audit(app, after: int) -> list[int]:
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent.patient_id).where(AuditEvent.id > after).order_by(AuditEvent.id)
        ).all()


def _last_audit(app) -> int:
    with app.app_context():
        return db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))


def test_a_short_first_page_says_how_many_more_and_the_audit_names_those_shown(
    app, therapist, many
):
    before = _last_audit(app)
    page = therapist.get("/patients?q=kabe&partial=1").get_data(as_text=True)
    names = re.findall(r'<span class="name">([^<]*)</span>', page)
    assert names == [f"KABEMO{n:02d}, Ada" for n in range(1, 16)]
    assert "25 more patients match — keep typing, or show more." in page
    assert "/patients?q=kabe&amp;shown=30" in page
    assert sorted(_shown_in_audit(app, before)) == sorted(
        many[n.split(",")[0].title()] for n in names
    )

    before = _last_audit(app)
    names = _names(therapist, "/patients?q=kabe&shown=30")
    assert names == [f"KABEMO{n:02d}, Ada" for n in range(1, 31)]
    assert len(_shown_in_audit(app, before)) == 30
    page = therapist.get("/patients?q=kabe&shown=45").get_data(as_text=True)
    assert page.count('<span class="name">') == 40
    assert "more patients match" not in page and "more patient matches" not in page


def test_one_more_is_said_in_the_singular(app, therapist, many, monkeypatch):
    monkeypatch.setattr(search, "PAGE", 39)
    page = therapist.get("/patients?q=kabe&partial=1").get_data(as_text=True)
    assert "1 more patient matches" in page
    assert "/patients?q=kabe&amp;shown=78" in page


def test_the_count_stops_and_says_more_than(app, therapist, many, monkeypatch):
    monkeypatch.setattr(search, "COUNT_UP_TO", 20)
    page = therapist.get("/patients?q=ada&partial=1").get_data(as_text=True)
    assert page.count('<span class="name">') == 15
    assert "More than 5 more patients match" in page  # 40 match: 25 more, "more than 5"
    monkeypatch.setattr(search, "COUNT_UP_TO", 40)
    page = therapist.get("/patients?q=ada&partial=1").get_data(as_text=True)
    assert "25 more patients match" in page  # counted to the end: exact


def test_show_more_stops_at_the_most_a_page_shows(app, therapist, many, monkeypatch):
    monkeypatch.setattr(search, "MOST_SHOWN", 30)
    page = therapist.get("/patients?q=kabe&shown=300").get_data(as_text=True)
    assert page.count('<span class="name">') == 30
    assert "10 more patients match — keep typing." in page
    assert "shown=" not in page


def test_the_list_without_a_query_is_paged_too(app, therapist, many):
    names = _names(therapist, "/patients")
    assert len(names) == 15 and names[0] == "KABEMO01, Ada"
    assert "26 more patients match" in therapist.get("/patients").get_data(as_text=True)


def test_search_equals_a_reference_over_every_patient(app, clinic_world, make_patient, named):
    """The indexed search lists exactly the patients a plain scan of every name finds."""
    for n, (family, given) in enumerate(
        [("Kabemo", "Ada"), ("Bakabe", "Ben"), ("Kaba Kabe", "Élodie"), ("Le-Ka", "Ka")]
    ):
        make_patient(clinic_world["home"], mrn=f"KA-{n}", family_name=family, given_name=given)
    with app.app_context():
        user = db.session.get(type(clinic_world["therapist"]), clinic_world["therapist"].id)
        stored = db.session.scalars(
            select(Patient).where(Patient.clinic_id == user.clinic_id)
        ).all()
        for query in ("ka", "kab", "ka ka", "e", "ab", "ben ka", "ka-", "0", "Élo", "zz"):
            for inside in (False, True):
                found = search.find(user, query, shown=200, inside=inside)
                assert [p.id for p in found.patients] == _reference(stored, query, inside), query


def _reference(patients, query: str, inside: bool) -> list[int]:
    inside = inside and search.can_look_inside(query)
    terms = words(query)

    def matches(patient, term):
        own = tokens_of(patient.family_name, patient.given_name, patient.mrn)
        return any(term in t if inside else t.startswith(term) for t in own)

    found = [p for p in patients if all(matches(p, t) for t in terms)]
    exact = query.strip().lower()
    found.sort(key=lambda p: (p.mrn.lower() != exact, p.family_name, p.given_name, p.id))
    return [p.id for p in found]


def test_the_index_follows_renames_and_new_mrns(app, therapist, clinic_world):
    patient_id = clinic_world["patient"].id
    with app.app_context():
        patient = db.session.get(Patient, patient_id)
        patient.family_name, patient.mrn = "Tran", "ZZ-77"
        db.session.commit()
    assert _names(therapist, "/patients?q=nguyen") == []
    assert _names(therapist, "/patients?q=tran") == ["TRAN, Linh"]
    assert _names(therapist, "/patients?q=zz-77") == ["TRAN, Linh"]
    with app.app_context():
        stored = db.session.scalars(
            select(PatientSearchToken.token).where(PatientSearchToken.patient_id == patient_id)
        ).all()
    assert sorted(stored) == sorted(tokens_of("Tran", "Linh", "ZZ-77"))


def test_the_edit_form_keeps_the_index_current(app, therapist, clinic_world):
    from tests.test_patients import VALID

    patient_id = clinic_world["patient"].id
    data = {**VALID, "mrn": "MRN-1", "family_name": "Łukasiewicz", "given_name": "Linh"}
    data["version"] = 1
    assert therapist.post(f"/patients/{patient_id}/edit", data=data).status_code == 302
    assert _names(therapist, "/patients?q=lukas") == []  # Ł is a letter of its own
    assert _names(therapist, "/patients?q=łukas") == ["ŁUKASIEWICZ, Linh"]
    assert _names(therapist, "/patients?q=nguyen") == []


def test_a_physician_finds_only_care_team_patients(client, auth, clinic_world, make_patient):
    make_patient(clinic_world["home"], mrn="MRN-2", family_name="Nguyenova")
    auth.login(clinic_world["physician"])
    assert _names(client, "/patients?q=nguy") == ["NGUYEN, Linh"]


def test_a_migrated_database_indexes_the_patients_it_holds(database, tmp_path, request):
    if not database.startswith("sqlite"):
        server = request.getfixturevalue("postgres_server")
        database = server.create_database(f"search_{uuid.uuid4().hex[:8]}")
    else:
        database = f"sqlite:///{tmp_path}/migrated.db"
    app = create_app(_test_config(database))
    with app.app_context():
        upgrade(revision="s3b7c1d9e2f4")
        clinic = db.session.execute(insert(Clinic).values(name="Old").returning(Clinic.id))
        patient = {"clinic_id": clinic.scalar(), "mrn": "OC-9", "family_name": "Ñúñez"}
        patient |= {"given_name": "Eva", "birth_date": date(1960, 1, 1), "sex": "female"}
        db.session.execute(insert(Patient).values(diagnosis="ms", **patient))
        db.session.commit()
        upgrade()
        stored = db.session.scalars(select(PatientSearchToken.token)).all()
        db.session.remove()
        db.engine.dispose()
    assert sorted(stored) == sorted(tokens_of("Ñúñez", "Eva", "OC-9"))


def test_a_full_page_reads_in_four_queries_and_names_each_patient_shown(app, therapist, many):
    """The login session, the user, the page and its count; the audit rows at the end."""
    therapist.get("/patients?q=kabe&partial=1")  # a first request may touch the session row
    seen = []

    def record(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append((bool(has_request_context() and g.get("_writing")), statement))

    before = _last_audit(app)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        names = _names(therapist, "/patients?q=kabe&partial=1")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads = [sql for closing, sql in seen if not closing]
    assert len(names) == 15 and len(_shown_in_audit(app, before)) == 15
    assert len(reads) <= 4, reads
    assert sum("FROM patient" in sql for sql in reads) == 2  # the page and its count
