"""The chart's SVG puts every point where its axes say: values read back from the drawing."""

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from spastic.clinical.scoring import compute_trend
from spastic.trends import charts, drawing
from tests.test_charts import CONTEXT, DOSES, SVG_NS, VISITS


def _parse(svg: str):
    return ET.fromstring(svg.encode())  # noqa: S314 - our own SVG


def _find(root, tag: str):
    return root.iter(f"{{{SVG_NS}}}{tag}")


def _group(root, css_class: str):
    return next(g for g in _find(root, "g") if g.get("class") == css_class)


def _left_scale(root) -> tuple[float, float, float]:
    """(y of the 0 line, y of the top line, value of the top label) of the left axis."""
    axis = _group(root, "axis y always_show")
    lines = [float(line.get("y1")) for line in _find(axis, "line")]
    labels = [float(text.text) for text in _find(axis, "text")]
    return lines[0], lines[-1], labels[-1]


def _points(group) -> list[tuple[float, float]]:
    line = next(_find(group, "polyline"))
    return [tuple(map(float, pair.split(","))) for pair in line.get("points").split()]


@pytest.fixture(scope="module")
def trend():
    return compute_trend(VISITS, DOSES, CONTEXT)


@pytest.mark.parametrize("size", [(800, 440), (420, 145)])
def test_each_line_reads_back_its_values_on_its_axis(trend, size):
    root = _parse(charts.trend_chart(trend, *size))
    zero, top_y, top = _left_scale(root)
    right = [float(t.text) for t in _find(_group(root, "axis y2"), "text")]
    groups = {g.get("class"): g for g in _find(root, "g") if "series" in g.get("class")}
    for number, series in enumerate(charts.chart_series(trend)):
        scale = right[-1] if series.secondary else top  # the dose axis shares the lines
        drawn = [
            (zero - y) / (zero - top_y) * scale
            for _, y in _points(groups[f"series serie-{number}"])
        ]
        wanted = [p["value"][1] if isinstance(p, dict) else p[1] for p in series.values]
        assert drawn == pytest.approx(wanted, abs=scale / 200), series.key


def test_dates_run_across_in_proportion_and_month_labels_sit_on_their_day(trend):
    root = _parse(charts.trend_chart(trend))
    upper = _points(next(g for g in _find(root, "g") if g.get("class") == "series serie-0"))
    days = [v.visit_date.toordinal() for v in VISITS]
    # Visits span 3 Jan - 2 May; doses run from 5 Jan to the last visit: the same span.
    first_x, last_x = upper[0][0], upper[-1][0]
    for (x, _), day in zip(upper, days, strict=True):
        share = (day - days[0]) / (days[-1] - days[0])
        assert x == pytest.approx(first_x + share * (last_x - first_x), abs=0.2)
    labels = {t.text: float(t.get("x")) for t in _find(_group(root, "axis x"), "text")}
    assert list(labels) == ["Feb 2026", "Mar 2026", "Apr 2026", "May 2026"]
    share = (date(2026, 3, 1).toordinal() - days[0]) / (days[-1] - days[0])
    assert labels["Mar 2026"] == pytest.approx(first_x + share * (last_x - first_x), abs=0.2)


def test_markers_and_dots_sit_on_their_line(trend):
    root = _parse(charts.trend_chart(trend))
    for group in _find(root, "g"):
        if "series" not in group.get("class"):
            continue
        points = {(round(x), round(y)) for x, y in _points(group)}
        for circle in _find(group, "circle"):
            assert (round(float(circle.get("cx"))), round(float(circle.get("cy")))) in points


def test_text_is_escaped_and_a_single_day_is_centred():
    frame = drawing.Frame(
        800, 440, 'Tone <& "dose">', 10, [0, 5, 10], None, [], [], ("a<b", ""), ""
    )
    line = drawing.Line(
        "upper", "#1f4e79", "none", False, [(date(2026, 1, 5), 5.0)], [(0, 4, "x&y")]
    )
    svg = drawing.draw(frame, [line])
    root = _parse(svg)
    assert root.find(f"{{{SVG_NS}}}title").text == 'Tone <& "dose">'
    assert [t.text for t in root.findall(f"{{{SVG_NS}}}text")] == ["a<b"]
    (circle,) = _find(root, "circle")
    left, right = drawing.plot_edges(800, ([0, 5, 10], None))
    assert float(circle.get("cx")) == pytest.approx((left + right) / 2, abs=0.1)
    assert circle.find(f"{{{SVG_NS}}}desc").text == "x&y"
    assert "axis y2" not in svg  # no right axis without a series on it
