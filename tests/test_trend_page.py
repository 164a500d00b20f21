"""The trend page shows what `scoring.compute_trend` computes from the stored visits."""

import base64
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from spastic.clinical.dosing import format_dose
from spastic.clinical.records import PatientContext
from spastic.clinical.scoring import compute_trend, format_change, format_index
from spastic.extensions import db
from spastic.models import AuditEvent, DoseChange, MasScore, Patient, SideEffect, Visit
from spastic.patients.regimen import as_pure_changes
from spastic.visits.content import as_record, signed_visits

ELBOW, KNEE = "elbow_flexors", "knee_extensors"


class PageText(HTMLParser):
    """The page's visible text, its table rows as (row header, cells) and its images."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.text, self.rows, self.images, self.forms = [], [], [], []
        self._row, self._cell = None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs))
        elif tag == "form":
            self.forms.append(dict(attrs).get("action"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row:
            self.rows.append((self._row[0], self._row[1:]))
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def plain(self) -> str:
        return " ".join("".join(self.text).split())

    def rows_named(self, header: str) -> list[list[str]]:
        return [cells for head, cells in self.rows if head == header]

    def row(self, header: str) -> list[str]:
        """The cells of the first row with this header."""
        return self.rows_named(header)[0]


def _visit(patient_id, therapist, day, grades, pain, rater="Tess Mills", status="signed", **extra):
    visit = Visit(
        patient_id=patient_id,
        visit_date=day,
        rater=rater,
        therapist_id=therapist.id,
        status=status,
        submission_key=f"test-{patient_id}-{day}-{status}",
        pain_now=pain[0],
        pain_worst=pain[1],
        penn_frequency=1,
        penn_severity=1,
        adherence="as_prescribed",
        signed_by_id=therapist.id if status == "signed" else None,
        signed_at=datetime(day.year, day.month, day.day, 11, tzinfo=UTC)
        if status == "signed"
        else None,
        signature_meaning="I performed and recorded this assessment"
        if status == "signed"
        else None,
    )
    visit.mas_scores = [
        MasScore(muscle=muscle, side=side, grade=grade, rater=rater)
        for (muscle, side), grade in grades.items()
    ]
    visit.side_effects = [
        SideEffect(code=c, severity=s) for c, s in extra.get("effects", {}).items()
    ]
    db.session.add(visit)


def _grades(elbow: str, knee: str, knee_right: str | None = None) -> dict:
    return {
        (ELBOW, "left"): elbow,
        (ELBOW, "right"): elbow,
        (KNEE, "left"): knee,
        (KNEE, "right"): knee_right or knee,
    }


@pytest.fixture
def history(app, clinic_world):
    """Four signed visits around an increase from 30 to 60 mg/day, one draft, and flags:
    a fast titration, drowsiness new after the increase, a visit by another rater."""
    patient, therapist = clinic_world["patient"], clinic_world["therapist"]
    with app.app_context():
        db.session.add(
            DoseChange(
                patient_id=patient.id,
                effective_date=date(2026, 2, 1),
                route="oral",
                daily_dose=Decimal(60),
                unit="mg/day",
            )
        )
        _visit(patient.id, therapist, date(2026, 1, 10), _grades("3", "3"), (6, 8))
        _visit(patient.id, therapist, date(2026, 1, 24), _grades("2", "3", "2"), (5, 7))
        drowsy = {"drowsiness": "mild"}
        _visit(patient.id, therapist, date(2026, 2, 14), _grades("1+", "2"), (3, 5), effects=drowsy)
        _visit(
            patient.id, therapist, date(2026, 3, 7), _grades("1", "2"), (3, 4), rater="Sam Patel"
        )
        _visit(patient.id, therapist, date(2026, 3, 20), _grades("4", "4"), (9, 9), status="draft")
        db.session.commit()
    return clinic_world


def _expected(app, patient_id):
    """The trend, computed here from the same rows, the way the page is meant to."""
    with app.app_context():
        patient = db.session.get(Patient, patient_id)
        records = [as_record(v) for v in signed_visits(patient_id)]
        egfr = None if patient.egfr is None else float(patient.egfr)
        context = PatientContext(patient.diagnosis, egfr, patient.on_dialysis, patient.sci_level)
        return compute_trend(records, as_pure_changes(patient.dose_changes), context)


def _page(client, auth, user, patient_id) -> PageText:
    auth.login(user)
    response = client.get(f"/patients/{patient_id}/trend")
    assert response.status_code == 200
    return PageText(response.get_data(as_text=True))


def test_page_shows_the_numbers_scoring_computes(app, client, auth, history):
    patient = history["patient"]
    trend = _expected(app, patient.id)
    page = _page(client, auth, history["therapist"], patient.id)
    assert len(trend.visits) == 4  # the draft is not part of the trend
    for scope, label in (("upper", "Upper limb"), ("lower", "Lower limb"), ("all", "All sides")):
        composites = [v.summary.composites[scope] for v in trend.visits]
        expected = [f"{format_index(c.mean_index)} n = {c.count}" for c in composites]
        assert page.row(f"{label}, mean of grade indexes, 0-5") == expected
    baseline = trend.latest.vs_baseline
    upper = baseline.composites["upper"]
    cells = page.row(f"Upper limb, mean of grade indexes, 0-5 {upper.count} sides in common")
    change = f"▼ {format_change(upper.change)}"
    assert cells[:3] == [format_index(upper.before), format_index(upper.after), change]
    # Elbow flexors alone are not Chen 2019's set: descriptive, no MCID verdict.
    assert cells[3] == "Improved, descriptive, not the Chen 2019 muscle set"
    assert "MCID" not in cells[3] and baseline.chen == {}
    pain = baseline.pain_now
    cells = page.row("Pain now")
    assert cells[:3] == [str(pain.before), str(pain.after), f"▼ {pain.change:+d} (-50%)"]
    assert cells[3] == f"Clinically important; IMMPACT: {pain.immpact}"


def test_page_shows_correlation_responders_and_flags_newest_first(app, client, auth, history):
    patient = history["patient"]
    trend = _expected(app, patient.id)
    page = _page(client, auth, history["therapist"], patient.id)
    text = page.plain
    oral = trend.dose_response["oral"]
    assert oral.correlation.message in text
    assert "Spearman rho" in oral.correlation.message
    increase = oral.increases[0]
    assert increase.responded is None  # no Chen 2019 muscle set at both visits
    assert page.row(f"{format_dose(increase.from_dose)} → {format_dose(increase.to_dose)}")[-1] == (
        "Not judged: no Chen 2019 muscle set at both visits"
    )
    for responder in trend.responders:
        header = f"{responder.muscle.label} · {responder.side.capitalize()}"
        cells = page.rows_named(header)[-1]  # the grid has rows with the same header
        assert cells[0] == f"{responder.baseline_grade} → {responder.latest_grade}"
        assert cells[2].endswith(responder.status.capitalize())
    codes = [flag.code for flag in trend.flags]
    assert {"side_effect_after_increase", "rater_changed", "oral_titration_fast"} <= set(codes)
    flags_section = text[text.index("Safety flags Newest first") :]
    positions = [flags_section.index(" ".join(flag.message.split())) for flag in trend.flags]
    assert positions == sorted(positions)
    for flag in trend.flags:
        assert f"Source: {flag.source}" in flags_section


def test_grid_marks_change_with_symbols_not_colour_alone(app, client, auth, history):
    trend = _expected(app, history["patient"].id)
    page = _page(client, auth, history["therapist"], history["patient"].id)
    elbow = next(r for r in trend.grid if r.muscle.code == ELBOW and r.side == "left")
    cells = page.row("Elbow flexors · Left")
    assert [c.grade for c in elbow.cells] == ["3", "2", "1+", "1"]
    assert cells == [
        "3",
        "2 ▼1 improved by 1 step",
        "1+ ▼1 improved by 1 step",
        "1 ▼1 improved by 1 step",
    ]
    assert "rated by Sam Patel" in page.plain


def test_chart_is_an_image_without_scripts(app, client, auth, history):
    page = _page(client, auth, history["therapist"], history["patient"].id)
    (chart,) = [i for i in page.images if i["src"].startswith("data:image/svg+xml;base64,")]
    svg = base64.b64decode(chart["src"].split(",", 1)[1]).decode()
    assert "<script" not in svg
    assert set(re.findall(r"https?://[^\s\"'<>]*", svg)) == {"http://www.w3.org/2000/svg"}
    assert "4 signed visits" in chart["alt"]


def test_physician_on_the_care_team_sees_it_read_only(app, client, auth, history):
    page = _page(client, auth, history["physician"], history["patient"].id)
    assert "Grades by visit" in page.plain
    assert page.forms == ["/logout"]
    with app.app_context():
        viewed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "view", AuditEvent.entity == "trend")
        ).all()
    assert [(e.user_email, e.patient_id) for e in viewed] == [
        ("p@home.test", history["patient"].id)
    ]


@pytest.mark.parametrize("outsider", ["other_therapist", "outsider_physician", "admin"])
def test_outsiders_get_404(client, auth, history, outsider):
    auth.login(history[outsider])
    response = client.get(f"/patients/{history['patient'].id}/trend")
    assert response.status_code == 404
    assert b"NGUYEN" not in response.data


def test_no_signed_visits_is_said_plainly(client, auth, clinic_world):
    page = _page(client, auth, clinic_world["therapist"], clinic_world["patient"].id)
    assert "No signed visits yet" in page.plain
    assert not page.images
    assert "Safety flags" in page.plain


def test_anonymous_user_is_sent_to_login(client, clinic_world):
    response = client.get(f"/patients/{clinic_world['patient'].id}/trend")
    assert response.status_code == 302 and "/login" in response.location


def test_grid_shows_the_latest_24_visits_unless_all_are_asked_for(app, client, auth, clinic_world):
    from datetime import date, timedelta

    from spastic.models import MasScore, Visit, utcnow

    patient_id = clinic_world["patient"].id
    with app.app_context():
        for n in range(30):
            visit = Visit(
                patient_id=patient_id,
                visit_date=date(2025, 1, 6) + timedelta(days=7 * n),
                rater="R",
                therapist_id=clinic_world["therapist"].id,
                status="signed",
                signed_at=utcnow(),
                submission_key=f"grid-{n}",
            )
            visit.mas_scores = [MasScore(muscle="hip_flexors", side="left", grade="2", rater="R")]
            db.session.add(visit)
        db.session.commit()
    auth.login(clinic_world["therapist"])
    page = client.get(f"/patients/{patient_id}/trend").get_data(as_text=True)
    grid = page.split('id="grid-h"', 1)[1].split("</thead>", 1)[0]
    assert grid.count('<th scope="col">') == 24
    assert "Showing the latest 24 of 30 visits" in page
    every = client.get(f"/patients/{patient_id}/trend?all=1").get_data(as_text=True)
    assert every.split('id="grid-h"', 1)[1].split("</thead>", 1)[0].count('<th scope="col">') == 30


def test_grid_cells_render_each_distinct_cell_once_and_all_in_order(app, monkeypatch):
    """A row's cells as the grid shows them: grade, change symbol and words, or not assessed;
    equal cells are rendered once per page and repeated."""
    from spastic.clinical.scoring import GridCell
    from spastic.trends import presenter

    worse, same = GridCell("3", 4, 2, "worsened"), GridCell("1", 1, 0, "unchanged")
    with app.test_request_context():
        cells = presenter.GridCells()
        calls = []
        macro = cells._macro
        monkeypatch.setattr(cells, "_macro", lambda *a: calls.append(a[0]) or macro(*a))
        html = cells([GridCell("1+", 2, None, None), worse, None, worse, same, None])
    assert str(html).split("\n          ")[1:] == [
        '<td class="mas g2">1+</td>',
        '<td class="mas g4 worsened">3 <span class="delta worsened"><span aria-hidden="true">'
        '▲2</span><span class="visually-hidden"> worsened by 2 steps</span></span></td>',
        '<td class="mas na"><span aria-hidden="true">—</span>'
        '<span class="visually-hidden">not assessed</span></td>',
        '<td class="mas g4 worsened">3 <span class="delta worsened"><span aria-hidden="true">'
        '▲2</span><span class="visually-hidden"> worsened by 2 steps</span></span></td>',
        '<td class="mas g1 unchanged">1</td>',
        '<td class="mas na"><span aria-hidden="true">—</span>'
        '<span class="visually-hidden">not assessed</span></td>',
    ]
    assert len(calls) == 4  # four distinct cells
