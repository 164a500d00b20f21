"""Demo intrathecal pumps and refills, entered through the app's own writes (audited).

Each pump in demo_patients.json says what it shows on the worklist ("about"). The residual
drawn at a refill is the one the app expects, plus the row's `residual_offset_ml`, so the
demo's discrepancy is exactly what the JSON says.
"""

from datetime import date, timedelta
from decimal import Decimal

from spastic.models import Patient, User
from spastic.patients import pumps
from spastic.patients.pump_forms import PumpEntry, RefillEntry


def add_demo_pump(patient: Patient, plan: dict, therapist: User, today: date) -> None:
    """Record the plan's pump and its fills, oldest first."""
    ahead = plan["elective_replacement_days_ahead"]
    row = pumps.add_pump(
        patient,
        PumpEntry(
            model=plan["model"],
            reservoir_ml=Decimal(plan["reservoir_ml"]),
            alarm_ml=Decimal(plan["alarm_ml"]),
            implant_date=today - timedelta(days=plan["implant_days_ago"]),
            elective_replacement_date=today + timedelta(days=ahead) if ahead else None,
            accuracy_percent=None,
        ),
        therapist,
    )
    for index, fill in enumerate(plan["fills"]):
        on = today - timedelta(days=fill["days_ago"])
        drawn = None
        if index:
            expected = pumps.expected_residual_for(patient, row, on)
            drawn = (expected + Decimal(fill["residual_offset_ml"])).quantize(Decimal("0.1"))
        entry = RefillEntry(
            refill_date=on,
            residual_drawn_ml=drawn,
            volume_added_ml=Decimal(fill["volume_ml"]),
            concentration_mcg_ml=Decimal(fill["concentration"]),
            notes="",
        )
        pumps.add_refill(patient, row, entry, therapist, f"demo-{patient.mrn}-fill-{index}")
