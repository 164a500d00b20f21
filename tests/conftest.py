"""Fixtures: an app on a real SQLite file or a real PostgreSQL server, clients, factories."""

import itertools
import os
import shutil
import sqlite3
from contextlib import closing
from datetime import date
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text

from spastic import create_app
from spastic.extensions import db
from spastic.models import Base, Clinic, DoseChange, Patient, ShareLink, User
from tests import fast_setup
from tests.postgres_server import PostgresServer, PostgresUnavailable

fast_setup.reuse_compiled_code()

PASSWORD = "correct-horse-battery"
# Cheap argon2id parameters for fixture users only: verifying cost follows the stored hash.
# Also the fuzz tests' hasher and the browser tests' demo accounts' (their docstrings say why).
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD_HASH = CHEAP_HASHER.hash(PASSWORD)
DATABASES = ("sqlite", "postgresql")
_skipped_postgres: list[str] = []
POSTGRES_SKIP = "PostgreSQL could not start here"


def pytest_addoption(parser):
    parser.addoption(
        "--databases",
        default=os.environ.get("SPASTIC_TEST_DATABASES", ",".join(DATABASES)),
        help="comma-separated databases to run app tests on (sqlite,postgresql)",
    )


def pytest_generate_tests(metafunc):
    if "database" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--databases").split(",")
        # A module may narrow the choice (the fuzzing runs on SQLite unless asked otherwise).
        chosen = [d for d in getattr(metafunc.module, "DATABASES_HERE", chosen) if d in chosen]
        metafunc.parametrize("database", [d for d in DATABASES if d in chosen], indirect=True)


# Modules whose tests take longest, longest first: they are collected first, so that
# `pytest -n N --dist loadgroup` (`make test`) starts them at once and the last tests handed out
# are short ones, not a 30-second test that keeps one process busy while the others are done.
# A module stays in one piece (its module-scoped fixtures are made once); the order of the
# other modules, and of the tests within every module, is unchanged.
SLOW_FIRST = (
    "test_concurrency.py",  # one xdist group: one process runs all of it, minutes
    "test_fuzz_forms.py",
    "test_summary_layout.py",
    "browser/test_visit_taps.py",
    "test_crash_safety.py",
    "test_backup.py",
    "test_static_checks.py",
    "browser/test_verdict_browser.py",
    "test_demo.py",
    "test_demo_visits.py",
    "test_frozen_summary.py",
)


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)

    def rank(item) -> int:
        path = os.path.relpath(str(item.path), here).replace(os.sep, "/")
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within each rank is kept


def pytest_terminal_summary(terminalreporter):
    # Read from the reports, which test processes (pytest-xdist workers) hand to this one.
    reasons = [
        str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        for report in terminalreporter.stats.get("skipped", [])
    ]
    skipped = [r for r in [*_skipped_postgres, *reasons] if POSTGRES_SKIP in r]
    if skipped:
        terminalreporter.write_sep("!", "POSTGRESQL TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(skipped[0], red=True)


@pytest.fixture(scope="session")
def postgres_server():
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and could not start: {error}")
        _skipped_postgres.append(f"{POSTGRES_SKIP}: {error}")
        pytest.skip(f"{POSTGRES_SKIP}: {error}")
    app = create_app(_test_config(server.url()))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory):
    """A SQLite file with the empty schema (`create_all`), built once per test process."""
    path = tmp_path_factory.mktemp("schema") / "schema.db"
    app = create_app(_test_config(f"sqlite:///{path}"))
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # the last connection closes: the WAL is checkpointed into the file
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        assert not leftover.exists(), leftover
    return path


@pytest.fixture(scope="session")
def demo_sqlite(sqlite_schema, tmp_path_factory):
    """A SQLite file holding the schema and what `seed-demo` adds, seeded once per test process.

    Seeding costs seconds (argon2 hashes at the production cost, 75 signed visits with their
    audit chain); a test that starts from the demo data copies this file instead
    (`seeded_demo`). Made by the command itself, under the tests' configuration.
    """
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.db"
    shutil.copyfile(sqlite_schema, path)
    app = create_app({**_test_config(f"sqlite:///{path}"), "OUTBOX_FOLDER": str(folder)})
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # the last connection closes: the WAL is checkpointed into the file
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        assert not leftover.exists(), leftover
    return path


# What seeding reads from the configuration: a snapshot is reused only under the same values.
_SEED_CONFIG = ("SECRET_KEY", "AUDIT_KEY", "ENV_NAME")


class PostgresSnapshot:
    """Every table's rows (`COPY ... TO STDOUT`) and every sequence's position, kept in memory."""

    def __init__(self, config: dict, tables: list[tuple[str, bytes]], sequences: list[tuple]):
        self.config = config
        self.tables = tables
        self.sequences = sequences

    @classmethod
    def take(cls, config: dict) -> "PostgresSnapshot":
        raw = db.session.connection().connection.driver_connection
        tables = []
        with raw.cursor() as cursor:
            for table in Base.metadata.sorted_tables:
                with cursor.copy(f'COPY "{table.name}" TO STDOUT (FORMAT binary)') as copy:
                    data = b"".join(bytes(chunk) for chunk in copy)
                tables.append((table.name, data))
        sequences = db.session.execute(
            text(
                "SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences"
                " WHERE last_value IS NOT NULL"
            )
        ).all()
        db.session.commit()
        return cls({key: config.get(key) for key in _SEED_CONFIG}, tables, list(sequences))

    def fits(self, config) -> bool:
        return all(config.get(key) == value for key, value in self.config.items())

    def load(self):
        """Write the rows back into the (emptied) tables, parents first; move the sequences on."""
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cursor:
            for name, data in self.tables:
                if len(data) > 21:  # a binary COPY of no rows is header and trailer only
                    with cursor.copy(f'COPY "{name}" FROM STDIN (FORMAT binary)') as copy:
                        copy.write(data)
        for sequence, last_value in self.sequences:
            db.session.execute(
                text("SELECT setval(CAST(:sequence AS regclass), :value, true)"),
                {"sequence": sequence, "value": last_value},
            )
        db.session.commit()


@pytest.fixture(scope="session")
def demo_postgres(postgres_server, tmp_path_factory):
    """What `seed-demo` writes on PostgreSQL, run once per test process and kept as a snapshot.

    The PostgreSQL counterpart of `demo_sqlite`: made by the command itself, under the tests'
    configuration; the tables are emptied again afterwards.
    """
    folder = tmp_path_factory.mktemp("demo-postgres")
    app = create_app({**_test_config(postgres_server.url()), "OUTBOX_FOLDER": str(folder)})
    with app.app_context():
        _empty_all()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        snapshot = PostgresSnapshot.take(app.config)
        _empty_all()
        db.session.remove()
        db.engine.dispose()
    return snapshot


@pytest.fixture
def seeded_demo(request, database):
    """The `app` fixture on a database holding the demo data, as `seed-demo` leaves it.

    On SQLite the test's file starts as a copy of the process's seeded file (`demo_sqlite`); on
    PostgreSQL the emptied tables are loaded from the process's snapshot (`demo_postgres`). When
    the test's app was made before this fixture, or configured differently from the snapshot,
    the command runs here.
    """
    if database.startswith("sqlite:///") and not os.path.exists(database[10:]):
        shutil.copyfile(request.getfixturevalue("demo_sqlite"), database[10:])
        return request.getfixturevalue("app")
    app = request.getfixturevalue("app")
    if database.startswith("postgresql"):
        snapshot = request.getfixturevalue("demo_postgres")
        with app.app_context():
            if snapshot.fits(app.config) and not _any_row():
                snapshot.load()
                return app
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def database(request, tmp_path):
    """Return the URL of an empty database of the kind the test is parametrized with."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'spastic.db'}"
    server = request.getfixturevalue("postgres_server")
    return server.url()


def _test_config(url: str, **extra) -> dict:
    return {
        "ENV_NAME": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-123",
        "DATABASE_URL": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SQLITE_SYNCHRONOUS": "OFF",
        # Summaries stored in the signing request, so a test reads them at once; the queue's
        # own tests (tests/test_summary_queue.py) run the in-process thread and RQ.
        "SUMMARY_QUEUE": "inline",
        **extra,
    }


@pytest.fixture
def app_config():
    """Extra configuration for the `app` fixture; override in a test module."""
    return {}


@pytest.fixture
def app(database, app_config, tmp_path, request):
    fresh_sqlite = database.startswith("sqlite:///") and not os.path.exists(database[10:])
    if fresh_sqlite:  # the schema `create_all` makes, copied from the process's template
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), database[10:])
    app = create_app({**_test_config(database), "OUTBOX_FOLDER": str(tmp_path), **app_config})
    with app.app_context():
        if database.startswith("postgresql"):
            _empty_all()
        elif not fresh_sqlite:
            db.create_all()  # a file the test made itself
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _any_row() -> bool:
    written = " OR ".join(
        f'EXISTS (SELECT 1 FROM "{t.name}")'  # noqa: S608 (our names)
        for t in Base.metadata.sorted_tables
    )
    return bool(db.session.scalar(text(f"SELECT {written}")))


def _empty_all():
    """TRUNCATE ... RESTART IDENTITY CASCADE the tables a test left rows in; restart all ids.

    TRUNCATE gives each table and index a new file, so its cost is per table: tables no test row
    reached are skipped (CASCADE still empties every table that refers to one emptied). An id
    a failed insert took is given back too (setval). DELETE would be cheaper still, but leaves
    the heap's row order to chance, and tests read rows in the order they were written.
    """
    counts = " UNION ALL ".join(
        f"SELECT '{t.name}' WHERE EXISTS (SELECT FROM \"{t.name}\")"  # noqa: S608 (our names)
        for t in Base.metadata.sorted_tables
    )
    used = db.session.scalars(text(counts)).all()
    if used:
        tables = ", ".join(f'"{name}"' for name in used)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.execute(text(fast_setup.RESTART_SEQUENCES))
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _persist(app, obj):
    """Store obj and hand it back detached with its columns loaded, for use outside a request."""
    with app.app_context():
        db.session.add(obj)
        db.session.commit()
        db.session.refresh(obj)
        db.session.expunge(obj)
    return obj


def create_clinic(app, name="Demo Rehab") -> Clinic:
    return _persist(app, Clinic(name=name))


def create_user(app, clinic: Clinic, role, email, name=None, active=True) -> User:
    user = User(
        clinic_id=clinic.id,
        email=email,
        name=name or f"{role.capitalize()} {clinic.name}",
        role=role,
        password_hash=PASSWORD_HASH,
        active=active,
    )
    return _persist(app, user)


def create_patient(app, clinic: Clinic, mrn="MRN-1", care_team=(), doses=(), **fields) -> Patient:
    values = {
        "family_name": "Nguyen",
        "given_name": "Linh",
        "birth_date": date(1985, 3, 14),
        "sex": "female",
        "diagnosis": "sci",
        "sci_level": "C6",
        **fields,
    }
    with app.app_context():
        team = [db.session.get(User, u.id) for u in care_team]
        patient = Patient(clinic_id=clinic.id, mrn=mrn, care_team=team, **values)
        for when, route, dose in doses:
            unit = "mg/day" if route == "oral" else "mcg/day"
            patient.dose_changes.append(
                DoseChange(effective_date=when, route=route, daily_dose=Decimal(dose), unit=unit)
            )
    return _persist(app, patient)


@pytest.fixture
def make_clinic(app):
    def make(name="Demo Rehab") -> Clinic:
        return create_clinic(app, name)

    return make


@pytest.fixture
def make_user(app):
    counter = itertools.count(1)

    def make(clinic: Clinic, role="therapist", email=None, name=None, active=True) -> User:
        email = email or f"{role}{next(counter)}@{clinic.name.split()[0].lower()}.test"
        return create_user(app, clinic, role, email, name, active)

    return make


@pytest.fixture
def make_patient(app):
    def make(clinic: Clinic, mrn="MRN-1", care_team=(), doses=(), **fields) -> Patient:
        return create_patient(app, clinic, mrn, care_team, doses, **fields)

    return make


def load_sqlite_template(app, template) -> bool:
    """Make the app's database a copy of `template`, if it is SQLite and still holds no row.

    For setup that every test of a kind repeats: it is built once per test process into a
    template file (by the same code, under the same configuration), and each test starts from
    a copy. The app's connections are closed first and the copy is made through SQLite's backup
    API, so it works whatever fixture made the app. Returns False (the caller builds the rows
    itself) on PostgreSQL or when a row was written already.
    """
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        return False
    with app.app_context():
        if _any_row():
            return False
        db.session.remove()
        db.engine.dispose()
    with (
        closing(sqlite3.connect(template)) as source,
        closing(sqlite3.connect(url[len("sqlite:///") :])) as target,
    ):
        source.backup(target)
    return True


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, user_or_email, password=PASSWORD):
        email = getattr(user_or_email, "email", user_or_email)
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


def build_clinic_world(app) -> dict:
    """Two clinics: a therapist, two physicians and an admin at one; a therapist at the other."""
    home, other = create_clinic(app, "Demo Rehab"), create_clinic(app, "Other Clinic")
    world = {
        "home": home,
        "other": other,
        "therapist": create_user(app, home, "therapist", "t@home.test"),
        "physician": create_user(app, home, "physician", "p@home.test", "Dr On Team"),
        "outsider_physician": create_user(app, home, "physician", "p2@home.test", "Dr Off"),
        "admin": create_user(app, home, "admin", "a@home.test"),
        "other_therapist": create_user(app, other, "therapist", "t@other.test"),
        "other_physician": create_user(app, other, "physician", "p@other.test"),
    }
    world["patient"] = create_patient(
        app, home, care_team=[world["physician"]], doses=[(date(2026, 1, 5), "oral", 30)]
    )
    world["other_patient"] = create_patient(app, other, mrn="OC-1", family_name="Fischer")
    return world


@pytest.fixture
def clinic_world(app):
    """Two clinics: a therapist, two physicians and an admin at one; a therapist at the other."""
    return build_clinic_world(app)


@pytest.fixture
def patient_records(app, clinic_world):
    """A signed visit (sent to the physician), an unsigned visit and an open draft."""
    owner = app.test_client()
    owner.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    pid = clinic_world["patient"].id
    visits = []
    for _ in range(2):
        draft = owner.post(f"/patients/{pid}/visits/new").location.split("/")[2]
        data = {
            "visit_date": "2026-01-10",
            "rater": "T",
            "muscles": ["hip_flexors"],
            "mas-hip_flexors-left": "2",
            "version": "1",
            "submission_key": f"k{draft}",
        }
        page = owner.get(f"/drafts/{draft}").get_data(as_text=True)
        data["submission_key"] = page.split('name="submission_key" value="', 1)[1].split('"')[0]
        visits.append(owner.post(f"/drafts/{draft}", data=data).location.split("/")[2])
    owner.post(
        f"/visits/{visits[0]}/sign",
        data={
            "meaning": "I performed and recorded this assessment",
            "password": PASSWORD,
            "version": "1",
        },
    )
    owner.post(
        f"/visits/{visits[0]}/share", data={"recipient": f"user:{clinic_world['physician'].id}"}
    )
    with app.app_context():
        link_id = db.session.scalar(select(ShareLink.id))
    assert link_id is not None
    draft = owner.post(f"/patients/{pid}/visits/new").location.split("/")[2]
    return {
        "patient_id": pid,
        "visit_id": visits[0],
        "draft_id": draft,
        "unsigned": visits[1],
        "link_id": link_id,
    }
