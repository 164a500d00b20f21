"""Scoring alone and the trend page, for 10, 100 and 1000 visits of 24 muscle-sides.

Baselines measured in the same run: for the pure computation, the same records merely
walked (an empty loop over the visits); for the page, the patient detail page of the same
patient. Growth: time per visit at each size (linear growth keeps it flat).
"""

from datetime import date, timedelta
from decimal import Decimal

from bench.common import make_app, summary, timed
from spastic.clinical import scales
from spastic.clinical.dosing import DoseChange
from spastic.clinical.records import PatientContext, VisitRecord

GRADES = ("0", "1", "1+", "2", "3", "4")
SIZES = (10, 100, 1000)


def records(count: int) -> tuple[list[VisitRecord], list[DoseChange]]:
    """Visits a week apart, 24 muscle-sides each, with a dose step every 10 visits."""
    start = date(2000, 1, 3)
    visits, doses = [], []
    for n in range(count):
        when = start + timedelta(days=7 * n)
        grades = {
            (code, side): GRADES[(n + i) % len(GRADES)]
            for i, code in enumerate(scales.STANDARD_MUSCLES)
            for side in scales.SIDES
        }
        visits.append(
            VisitRecord(n + 1, when, "Rater", grades, pain_now=n % 11, pain_worst=(n + 2) % 11)
        )
        if n % 10 == 0:
            doses.append(DoseChange(when, "oral", Decimal(15 + (n // 10) % 5 * 15), "mg/day", n))
    return visits, doses


def run_scoring(repeat: int = 7) -> list[dict]:
    from spastic.clinical.scoring import compute_trend

    patient = PatientContext("sci", egfr=90.0, sci_level="C6")
    rows = []
    for size in SIZES:
        visits, doses = records(size)
        walk = [timed(lambda v=visits: [r.visit_date for r in v]) for _ in range(repeat)]
        compute = [
            timed(lambda v=visits, d=doses: compute_trend(v, d, patient)) for _ in range(repeat)
        ]
        # compute_trend defers each visit's two comparisons until they are read (the pages
        # read the latest visit's only): this row reads every one, the cost of using them all.
        every = [
            timed(lambda v=visits, d=doses: _read_all(compute_trend(v, d, patient)))
            for _ in range(repeat)
        ]
        for name, samples in (("", compute), (" with every comparison read", every)):
            measured = summary(samples)
            rows.append(
                {
                    "name": f"scoring: compute_trend{name}, {size} visits",
                    "baseline": {"what": "walking the same records", **summary(walk)},
                    "measured": measured,
                    "ratio_median": round(
                        measured["median_ms"] / max(summary(walk)["median_ms"], 0.001), 1
                    ),
                    "per_visit_ms": round(measured["median_ms"] / size, 4),
                }
            )
    return rows


def _read_all(trend) -> None:
    for visit in trend.visits:
        visit.vs_baseline, visit.vs_previous  # noqa: B018 - reading computes them


def _patient_with_visits(app, size: int) -> int:
    from spastic.demo.seed import seed
    from spastic.extensions import db
    from spastic.models import MasScore, Patient, User, Visit, utcnow

    with app.app_context():
        if db.session.get(Patient, 1) is None:
            seed()
        therapist = db.session.query(User).filter_by(email="therapist@demo.test").one()
        patient = db.session.query(Patient).filter_by(mrn="DR-1011").one()
        visits, _ = records(size)
        for record in visits:
            visit = Visit(
                patient_id=patient.id,
                visit_date=record.visit_date,
                rater="Rater",
                therapist_id=therapist.id,
                status="signed",
                signed_by_id=therapist.id,
                signed_at=utcnow(),
                signature_meaning="bench",
                content_hash="0" * 64,
                submission_key=f"bench-{size}-{record.visit_id}",
                pain_now=record.pain_now,
                pain_worst=record.pain_worst,
            )
            visit.mas_scores = [
                MasScore(muscle=m, side=s, grade=g, rater="Rater")
                for (m, s), g in record.grades.items()
            ]
            db.session.add(visit)
        db.session.commit()
        return patient.id


def run_pages(database: str, url: str, repeat: int = 7) -> list[dict]:
    from sqlalchemy import delete

    from spastic.extensions import db
    from spastic.models import MasScore, Visit

    app = make_app(url)
    rows = []
    for size in SIZES:
        with app.app_context():
            bench_ids = [
                v
                for (v,) in db.session.query(Visit.id).filter(Visit.submission_key.like("bench-%"))
            ]
            db.session.execute(delete(MasScore).where(MasScore.visit_id.in_(bench_ids)))
            db.session.execute(delete(Visit).where(Visit.id.in_(bench_ids)))
            db.session.commit()
        patient_id = _patient_with_visits(app, size)
        client = app.test_client()
        client.post("/login", data={"email": "therapist@demo.test", "password": "spastic-demo"})
        detail, trend, form = _measure_pages(client, patient_id, repeat)
        base = summary(detail)
        for name, samples in (("trend page", trend), ("visit form (new visit)", form)):
            measured = summary(samples)
            rows.append(
                {
                    "name": f"{name}, {size} visits ({database})",
                    "baseline": {"what": "patient detail page, same patient", **base},
                    "measured": measured,
                    "ratio_median": round(measured["median_ms"] / base["median_ms"], 2),
                    "per_visit_ms": round(measured["median_ms"] / size, 4),
                }
            )
    return rows


def _measure_pages(client, patient_id: int, repeat: int):
    def new_visit_form():
        client.get(client.post(f"/patients/{patient_id}/visits/new").location)

    client.get(f"/patients/{patient_id}/trend")  # warm up
    detail = [timed(lambda: client.get(f"/patients/{patient_id}")) for _ in range(repeat)]
    trend = [timed(lambda: client.get(f"/patients/{patient_id}/trend")) for _ in range(repeat)]
    form = [timed(new_visit_form) for _ in range(repeat)]
    return detail, trend, form
