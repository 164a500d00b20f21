"""Which muscles a new visit starts from: the patient's usual set, else the clinic's.

What a therapist sees, in order:
- A patient's usual set is the muscles assessed at that patient's last saved visit. Changing
  the "Muscles assessed" picker in a visit and saving the visit is the one edit: the next
  visit for that patient starts from that set. A draft that is never saved changes nothing.
- A patient with no saved visit yet (or whose last visit assessed no muscle) starts from the
  clinic-wide usual set, which an admin sets on the clinic settings page.
- A clinic whose admin never chose a set starts from the twelve usual groups of CLINICAL.md.
Codes that are no longer known are dropped, never shown.
"""

from spastic import audit
from spastic.accounts.clinic_muscles import as_stored, clinic_usual_set, stored_set
from spastic.clinical import scales
from spastic.models import Patient


def first_selection(patient: Patient) -> tuple[str, ...]:
    """The muscles a new visit of this patient starts with selected."""
    return stored_set(patient.usual_muscles) or clinic_usual_set(patient.clinic)


def remember_usual_set(patient: Patient, muscles) -> None:
    """Make the muscles of a saved visit the patient's usual set (audited when it changes)."""
    old, new = stored_set(patient.usual_muscles), scales.muscle_set(muscles)
    patient.usual_muscles = as_stored(new)
    if old != new:
        audit.record(
            "update",
            entity="patient",
            entity_id=patient.id,
            patient_id=patient.id,
            changes={"usual_muscles": (", ".join(old), ", ".join(new))},
        )
