"""A patient's signed visits as scoring input, read as plain rows (issue 16: speed).

`visits.content.signed_visits` loads whole ORM objects, which costs most of the trend page at
a thousand visits (about 25,000 grade objects in the identity map). The trend only reads
them, so here each table is read once as plain rows, with the columns `content_of` reads,
and handed to the same `as_record` (amendments applied the same way); a visit without
amendments is its own rows, so its record is built from them directly. Tardieu measures are
not part of a `VisitRecord`, so they are not read.
"""

from types import SimpleNamespace

from sqlalchemy import select

from spastic.clinical.records import VisitRecord
from spastic.extensions import db
from spastic.models import Amendment, MasScore, SideEffect, Visit
from spastic.visits.content import SCALAR_FIELDS, as_record

# What `content_of` and `_amended` read of each child row, in the relationships' order.
CHILDREN = {
    "mas_scores": (MasScore, ("muscle", "side", "grade", "carried_from")),
    "side_effects": (SideEffect, ("code", "severity", "detail")),
    "amendments": (Amendment, ("created_at", "changes")),
}


def signed_records(patient_id: int) -> list[VisitRecord]:
    """The patient's signed visits (amendments applied) in date order, same day in entry order.

    Four queries whatever the number of visits: the visits, then each child table once.
    """
    signed = (Visit.patient_id == patient_id, Visit.status == "signed")
    columns = [getattr(Visit, name) for name in SCALAR_FIELDS]
    visits = {
        row.id: SimpleNamespace(
            **row._asdict(), tardieu_scores=(), **{name: [] for name in CHILDREN}
        )
        for row in db.session.execute(
            select(Visit.id, *columns).where(*signed).order_by(Visit.visit_date, Visit.id)
        )
    }
    for name, (model, fields) in CHILDREN.items():
        rows = db.session.execute(
            select(model.visit_id, *(getattr(model, f) for f in fields))
            .join(Visit, Visit.id == model.visit_id)
            .where(*signed)
            .order_by(model.id)
        )
        for row in rows:
            getattr(visits[row[0]], name).append(row)  # row[0] is the visit id
    return [
        _record(visit) if not visit.amendments else as_record(visit) for visit in visits.values()
    ]


def _record(visit: SimpleNamespace) -> VisitRecord:
    """`as_record` of a visit without amendments, read straight from its rows: its content is
    its own rows, so the grades and side effects need no round trip through content keys."""
    return VisitRecord(
        visit_id=visit.id,
        visit_date=visit.visit_date,
        rater=visit.rater,
        # By position (visit id, muscle, side, grade): faster than by name, 24 rows a visit.
        grades={(row[1], row[2]): row[3] for row in visit.mas_scores},
        pain_now=visit.pain_now,
        pain_worst=visit.pain_worst,
        penn_frequency=visit.penn_frequency,
        penn_severity=visit.penn_severity,
        side_effects={row[1]: row[2] for row in visit.side_effects if row[2]},
        adherence=visit.adherence,
    )
