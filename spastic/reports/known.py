"""What a summary version may show: what was known when it was signed, nothing entered later.

A signed summary is computed from the visits signed up to its signing (each with the amendments
made by then) and the dose changes effective on or before its date, as entered by then; version
n adds this visit's first n - 1 amendments. A draft's summary uses everything entered so far.
"""

from dataclasses import dataclass
from datetime import datetime

from spastic.clinical.records import VisitRecord
from spastic.models import DoseChange, Visit
from spastic.visits.content import as_record, signed_visits


@dataclass(frozen=True)
class Known:
    version: int  # 1: as signed; n: after the visit's (n - 1)th amendment
    at: datetime | None  # the signing; None for a draft (everything so far)
    own_at: datetime | None  # this visit's amendments made by then are applied

    @property
    def amendment_count(self) -> int:
        return self.version - 1


def current_version(visit: Visit) -> int:
    """The visit's newest summary version: 1 as signed, one more for each amendment."""
    return 1 + len(visit.amendments)


def known_for(visit: Visit, version: int | None = None) -> Known:
    """The cut-off of one summary version (the newest when `version` is None).

    Raises ValueError for a version the visit does not have.
    """
    newest = current_version(visit)
    wanted = newest if version is None else version
    if not 1 <= wanted <= newest:
        raise ValueError(f"visit {visit.id} has no summary version {wanted}")
    if visit.status != "signed":
        return Known(wanted, None, None)
    own = visit.signed_at if wanted == 1 else visit.amendments[wanted - 2].created_at
    return Known(wanted, visit.signed_at, own)


def records_until(
    visit: Visit, known: Known, signed: list[Visit] | None = None
) -> list[VisitRecord]:
    """The signed visits up to this one as known then, and this one last (even if unsigned).

    `signed`: the patient's signed visits, when the caller has them already (the inbox).
    """
    earlier = [
        v
        for v in (signed_visits(visit.patient_id) if signed is None else signed)
        if (v.visit_date, v.id) <= (visit.visit_date, visit.id)
        and v.id != visit.id
        and (known.at is None or v.signed_at is None or v.signed_at <= known.at)
    ]
    return [*(as_record(v, known.at) for v in earlier), as_record(visit, known.own_at)]


def dose_changes_known(visit: Visit, known: Known) -> list[DoseChange]:
    """Dose changes effective on or before the visit date, entered by the signing."""
    return [
        c
        for c in visit.patient.dose_changes
        if c.effective_date <= visit.visit_date
        and (known.at is None or c.created_at is None or c.created_at <= known.at)
    ]
