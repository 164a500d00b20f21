"""The patient trend page: tone, pain and dose over the signed visits, responders and flags."""

from datetime import date

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from spastic import audit
from spastic.access import patient_for
from spastic.extensions import db
from spastic.patients import pumps
from spastic.trends import charts, presenter

bp = Blueprint("trends", __name__)
GRID_COLUMNS = 24  # visits shown in the grade grid unless all are asked for


@bp.get("/patients/<int:patient_id>/trend")
@login_required
def show(patient_id: int):
    """Show a patient's trend (read-only for everyone who may see the patient)."""
    patient = patient_for(current_user, patient_id)
    trend = presenter.load_trend(patient)
    audit.record("view", entity="trend", entity_id=patient.id, patient_id=patient.id)
    db.session.commit()
    chart = charts.trend_chart(trend) if trend.visits else None
    return render_template(
        "trends/trend.html",
        patient=patient,
        trend=trend,
        chart_uri=charts.data_uri(chart) if chart else None,
        chart_series=charts.chart_series(trend),
        chart_alt=charts.describe(trend),
        view=presenter,
        verdict=presenter.verdict_of(trend, patient, date.today()),
        fmt=presenter.FORMAT,
        grid_start=0 if request.args.get("all") else max(0, len(trend.visits) - GRID_COLUMNS),
        pump=pumps.pump_view(patient, date.today()),
        show_refills=False,
        grid_cells=presenter.GridCells(),
    )
