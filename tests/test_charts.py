"""The trend chart: a self-contained SVG with tone and pain on the left axis, doses on the right."""

import base64
import itertools
import re
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from spastic.clinical.dosing import DoseChange
from spastic.clinical.records import PatientContext, VisitRecord
from spastic.clinical.scoring import compute_trend
from spastic.trends import charts

SVG_NS = "http://www.w3.org/2000/svg"
CONTEXT = PatientContext(diagnosis="sci", sci_level="T8")


def _dose(day: date, route: str, dose: int) -> DoseChange:
    unit = "mg/day" if route == "oral" else "mcg/day"
    return DoseChange(day, route, Decimal(dose), unit)


def _visit(visit_id: int, day: date, elbow: str, knee: str, pain: int) -> VisitRecord:
    grades = {
        ("elbow_flexors", "left"): elbow,
        ("elbow_flexors", "right"): elbow,
        ("knee_extensors", "left"): knee,
        ("knee_extensors", "right"): knee,
    }
    return VisitRecord(visit_id, day, "Tess Mills", grades, pain_now=pain, pain_worst=pain + 2)


# Oral 30 then 45 mg/day, then a pump: intrathecal 100 then 150 mcg/day (oral stopped).
DOSES = [
    _dose(date(2026, 1, 5), "oral", 30),
    _dose(date(2026, 2, 1), "oral", 45),
    _dose(date(2026, 3, 1), "intrathecal", 100),
    _dose(date(2026, 3, 2), "oral", 0),
    _dose(date(2026, 4, 1), "intrathecal", 150),
]
VISITS = [
    _visit(1, date(2026, 1, 3), "3", "3", 6),
    _visit(2, date(2026, 1, 25), "2", "3", 5),
    _visit(3, date(2026, 2, 20), "2", "2", 4),
    _visit(4, date(2026, 3, 20), "1+", "2", 4),
    _visit(5, date(2026, 5, 2), "1", "1+", 2),
]


@pytest.fixture(scope="module")
def trend():
    return compute_trend(VISITS, DOSES, CONTEXT)


@pytest.fixture(scope="module")
def svg(trend):
    return charts.trend_chart(trend)


@pytest.fixture(scope="module")
def root(svg):
    return ET.fromstring(svg.encode())  # noqa: S314 - our own SVG, drawn just above


def _labels(root, axis_class: str) -> list[str]:
    axis = next(g for g in root.iter(f"{{{SVG_NS}}}g") if g.get("class") == axis_class)
    return [t.text for t in axis.iter(f"{{{SVG_NS}}}text") if t.text]


def test_svg_is_self_contained(svg, root):
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert "<script" not in svg and "xml-stylesheet" not in svg and "<!--" not in svg
    assert set(re.findall(r"https?://[^\s\"'<>]*", svg)) == {SVG_NS}
    assert not [e for e in root.iter() if any(k.endswith("href") for k in e.attrib)]


def test_both_axes_carry_their_series(trend, root):
    series = charts.chart_series(trend)
    assert [(s.key, s.secondary) for s in series] == [
        ("upper", False),
        ("lower", False),
        ("pain_now", False),
        ("pain_worst", False),
        ("oral", True),
        ("intrathecal", True),
    ]
    drawn = {
        g.get("class").split()[1]
        for g in root.iter(f"{{{SVG_NS}}}g")
        if "series" in (g.get("class") or "").split()
    }
    assert drawn == {f"serie-{n}" for n in range(6)}
    assert _labels(root, "axis y always_show") == ["0", "2", "4", "6", "8", "10"]
    # Highest dose 150 mcg/day: the right axis runs to a round 250 on the left axis's lines.
    assert _labels(root, "axis y2") == ["0", "50", "100", "150", "200", "250"]
    units = [t.text for t in root.findall(f"{{{SVG_NS}}}text")]
    assert units == ["Mean grade index (0-5) · pain", "mg/day · mcg/day"]


def test_dose_series_are_split_by_route_and_step(trend):
    by_key = {s.key: s for s in charts.chart_series(trend)}
    oral = [p["value"] for p in by_key["oral"].values]
    intrathecal = [p["value"] for p in by_key["intrathecal"].values]
    assert {dose for _, dose in oral} == {30.0, 45.0, 0.0}
    assert {dose for _, dose in intrathecal} == {100.0, 150.0}
    # A step: flat at the old dose up to the change day, then the new dose from that day.
    assert oral[:3] == [
        (date(2026, 1, 5), 30.0),
        (date(2026, 2, 1), 30.0),
        (date(2026, 2, 1), 45.0),
    ]
    assert intrathecal[-1] == (date(2026, 5, 2), 150.0)  # runs on to the last visit


def test_a_marker_sits_at_each_dose_change(svg):
    markers = re.findall(rf'<circle [^>]*r="{charts.DOSE_MARKER}"', svg)
    assert len(markers) == len(DOSES)


def test_composites_and_pain_are_plotted_per_visit(trend):
    by_key = {s.key: s for s in charts.chart_series(trend)}
    assert [y for _, y in by_key["upper"].values] == [4.0, 3.0, 3.0, 2.0, 1.0]
    assert [y for _, y in by_key["lower"].values] == [4.0, 4.0, 3.0, 3.0, 2.0]
    assert [y for _, y in by_key["pain_worst"].values] == [8, 7, 6, 6, 4]


def test_title_describes_the_chart(trend, root):
    title = root.find(f"{{{SVG_NS}}}title").text
    assert title == charts.describe(trend)
    assert "5 signed visits from 3 Jan 2026 to 2 May 2026" in title


def test_data_uri_round_trips(svg):
    uri = charts.data_uri(svg)
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == svg


def test_an_empty_history_still_draws():
    svg = charts.trend_chart(compute_trend([], [], CONTEXT))
    assert "No signed visits" in svg and "<script" not in svg


@pytest.mark.parametrize(
    ("highest", "ceiling"),
    [(60, 75), (45, 50), (30, 50), (90, 100), (320, 500), (150, 250), (800, 1000), (5, 7.5)],
)
def test_dose_axis_ends_on_a_round_number(highest, ceiling):
    trend = compute_trend([], [_dose(date(2026, 1, 1), "oral", highest)], CONTEXT)
    assert charts._dose_ceiling(trend) == ceiling


@pytest.mark.parametrize(
    "visits",
    [
        [],  # a regimen without any visit
        [VisitRecord(1, date(2026, 1, 5), "Tess Mills")],  # a visit with nothing graded
        [_visit(1, date(2026, 1, 5), "2", "1+", 3)],  # one visit, on the day of the first dose
    ],
)
def test_sparse_histories_draw(visits):
    svg = charts.trend_chart(compute_trend(visits, DOSES[:1], CONTEXT))
    assert svg.count(f'r="{charts.DOSE_MARKER}"') == 1 and "<script" not in svg


def test_a_long_history_draws_lines_without_a_dot_per_visit():
    """Above DOTS_UP_TO visits the MAS and pain lines have no dots; the dose markers stay."""
    start = date(2024, 1, 1)
    visits = [
        _visit(n + 1, date.fromordinal(start.toordinal() + 7 * n), "2", "3", n % 8)
        for n in range(charts.DOTS_UP_TO + 1)
    ]
    doses = [_dose(start, "oral", 30), _dose(date(2024, 6, 3), "oral", 45)]
    long = charts.trend_chart(compute_trend(visits, doses, CONTEXT))
    short = charts.trend_chart(compute_trend(visits[: charts.DOTS_UP_TO], doses, CONTEXT))
    visit_dots = lambda svg: len(re.findall(r'<circle [^>]*r="4"', svg))  # noqa: E731
    dose_markers = lambda svg: len(re.findall(rf'<circle [^>]*r="{charts.DOSE_MARKER}"', svg))  # noqa: E731
    assert visit_dots(short) == 4 * charts.DOTS_UP_TO  # 2 limbs and 2 pains per visit
    assert visit_dots(long) == 0
    assert dose_markers(short) == dose_markers(long) == 2
    assert len(long) < len(short) / 2


def _tick_positions(svg: str) -> list[float]:
    root = ET.fromstring(svg.encode())  # noqa: S314 - our own SVG
    axis = next(g for g in root.iter(f"{{{SVG_NS}}}g") if g.get("class") == "axis x")
    return sorted(float(t.get("x")) for t in axis.iter(f"{{{SVG_NS}}}text") if t.text)


def _two_years() -> list[VisitRecord]:
    start = date(2024, 11, 20)
    return [
        _visit(
            n + 1,
            date(
                start.year + (start.month + 2 * n - 1) // 12, (start.month + 2 * n - 1) % 12 + 1, 20
            ),
            "2",
            "2",
            3,
        )
        for n in range(13)
    ]


@pytest.mark.parametrize("size", [(420, 160), (800, 440)])
def test_month_labels_never_collide(size):
    """A 2-year history: at the PDF's compact size as on the trend page, neighbouring month
    labels ("Sep 2026", about 77 px of 16 px text) are further apart than a label is wide."""
    visits = _two_years()
    trend = compute_trend(visits, [_dose(date(2024, 11, 1), "oral", 30)], CONTEXT)
    xs = _tick_positions(charts.trend_chart(trend, *size))
    assert len(xs) >= 3  # still a readable time axis
    assert min(b - a for a, b in itertools.pairwise(xs)) >= 8 * 0.6 * 16 + 8, xs


def _axis_ys(svg: str, axis_class: str) -> list[float]:
    root = ET.fromstring(svg.encode())  # noqa: S314 - our own SVG
    axis = next(g for g in root.iter(f"{{{SVG_NS}}}g") if g.get("class", "").startswith(axis_class))
    return sorted(float(t.get("y")) for t in axis.iter(f"{{{SVG_NS}}}text") if t.text)


def test_the_compact_chart_labels_its_axes_without_touching(trend):
    """At the PDF's size (145 px high) each axis has 3 round labels, more than their 16 px
    height apart; the trend page's chart keeps its 6 (0, 2, ... 10)."""
    compact = charts.trend_chart(trend, 420, 145)
    for axis in ("axis y ", "axis y2"):
        ys = _axis_ys(compact, axis)
        assert len(ys) == 3 and min(b - a for a, b in itertools.pairwise(ys)) >= 20, ys
    assert _labels(ET.fromstring(compact.encode()), "axis y2") == ["0", "100", "200"]  # noqa: S314
    assert len(_axis_ys(charts.trend_chart(trend), "axis y ")) == 6


def test_the_compact_chart_is_drawn_for_print_only(trend):
    """The PDF's chart keeps its lines, colours and dashes but no description per dot; the
    trend page's keeps them. Neither has a stylesheet (WeasyPrint matches each rule against
    each node) nor hover rules: both are shown as images, styled by attributes."""
    compact, page = charts.trend_chart(trend, 420, 145), charts.trend_chart(trend)
    series = charts.chart_series(trend)
    for svg in (compact, page):
        assert "<style" not in svg and ":hover" not in svg and 'class="tooltip' not in svg
        groups = {
            g.get("class").split()[1]: g
            for g in ET.fromstring(svg.encode()).iter(f"{{{SVG_NS}}}g")  # noqa: S314
            if "series" in (g.get("class") or "").split()
        }
        for number, s in enumerate(series):
            group = groups[f"serie-{number}"]
            assert group.get("stroke") == group.get("fill") == s.look.colour
            line = group.find(f"{{{SVG_NS}}}polyline")
            assert line.get("stroke-dasharray") == s.look.dash
    assert groups["serie-3"].find(f"{{{SVG_NS}}}polyline").get("stroke-dasharray") == "12,4,3,4"
    assert "<desc" not in compact and "<desc>45 mg/day from 1 Feb 2026</desc>" in page
    assert "<desc>Worst pain in 24 h (0-10): 8 on 3 Jan 2026</desc>" in page
    root = ET.fromstring(compact.encode())  # noqa: S314 - our own SVG
    assert len([e for e in root.iter() if e.tag.endswith("}title")]) == 1  # the chart's own
