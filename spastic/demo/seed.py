"""Demo clinics, accounts and patients with realistic, varied baclofen histories.

The patients live in demo_patients.json; dates there are days before the day of seeding,
so the demo always looks current.
"""

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from spastic.accounts.clinic_muscles import as_stored
from spastic.accounts.forms import NewUser
from spastic.accounts.users import create_user
from spastic.clinical.scales import ROUTE_UNITS, STANDARD_MUSCLES
from spastic.demo.inbox import add_demo_acknowledgements
from spastic.demo.pumps import add_demo_pump
from spastic.demo.visits import add_demo_visits
from spastic.extensions import db
from spastic.models import Clinic, User
from spastic.patients.forms import DoseEntry, PatientDetails
from spastic.patients.records import add_dose_change, create_patient

DEMO_PASSWORD = "spastic-demo"  # noqa: S105 - published in the README for the demo only
PATIENTS_FILE = Path(__file__).with_name("demo_patients.json")

ACCOUNTS = (
    ("Demo Rehab", "therapist@demo.test", "Tess Mills", "therapist"),
    ("Demo Rehab", "physician@demo.test", "Dr Paul Okafor", "physician"),
    ("Demo Rehab", "admin@demo.test", "Ada Reyes", "admin"),
    ("Other Clinic", "therapist@other.test", "Olga Brandt", "therapist"),
)
THERAPIST_OF = {"Demo Rehab": "therapist@demo.test", "Other Clinic": "therapist@other.test"}


def seed(today: date | None = None) -> str:
    """Create the demo data; the caller has checked the database has no users yet."""
    today = today or date.today()
    clinics: dict[str, Clinic] = {}
    users: dict[str, User] = {}
    for clinic_name, email, name, role in ACCOUNTS:
        if clinic_name not in clinics:
            # A first visit of a new demo patient starts with the twelve usual groups.
            clinics[clinic_name] = Clinic(
                name=clinic_name, usual_muscles=as_stored(STANDARD_MUSCLES)
            )
            db.session.add(clinics[clinic_name])
            db.session.flush()
        new = NewUser(email=email, name=name, role=role, password=DEMO_PASSWORD)
        users[email] = create_user(clinics[clinic_name], new)
    rows = json.loads(PATIENTS_FILE.read_text(encoding="utf-8"))
    for row in rows:
        physician = users["physician@demo.test"] if row["on_physician_care_team"] else None
        therapist = users[THERAPIST_OF[row["clinic"]]]
        patient = _patient(clinics[row["clinic"]], row, therapist, physician, today)
        if "pump" in row:
            add_demo_pump(patient, row["pump"], therapist, today)
    add_demo_visits(users, today)
    add_demo_acknowledgements(users)
    db.session.commit()
    return f"Demo data: {len(users)} accounts, {len(rows)} patients."


def _patient(clinic: Clinic, row: dict, therapist: User, physician: User | None, today: date):
    details = PatientDetails(
        mrn=row["mrn"],
        family_name=row["family_name"],
        given_name=row["given_name"],
        birth_date=date.fromisoformat(row["birth_date"]),
        sex=row["sex"],
        diagnosis=row["diagnosis"],
        sci_level=row["sci_level"],
        ais_grade=row["ais_grade"],
        diagnosis_detail=row["diagnosis_detail"],
        egfr=Decimal(row["egfr"]),
        egfr_date=today - timedelta(days=30),
        on_dialysis=row["on_dialysis"],
        referring_name="Dr Jane Referrer",
        referring_email="referrer@example.org",
        care_team_ids=(physician.id,) if physician else (),
    )
    patient = create_patient(clinic.id, details)
    for index, dose in enumerate(row["regimen"]):
        entry = DoseEntry(
            effective_date=today - timedelta(days=dose["days_ago"]),
            route=dose["route"],
            daily_dose=Decimal(dose["daily_dose"]),
            unit=ROUTE_UNITS[dose["route"]],
            stopped=dose["stopped"],
            schedule=dose["schedule"],
            formulation=dose["formulation"],
            reason=dose["reason"],
        )
        add_dose_change(patient, entry, therapist, f"demo-{row['mrn']}-{index}")
    return patient
