"""A long line is drawn through each plot column's extremes: nothing a reader could see is lost."""

from datetime import date, timedelta

from spastic.trends.charts import PLOT_MARGIN_PX, POINT_COLUMN_PX, drawn_points

START = date(2000, 1, 3)


def _weekly(values):
    return [(START + timedelta(days=7 * n), value) for n, value in enumerate(values)]


def test_a_short_line_keeps_every_point():
    points = _weekly([1.0, 2.5, 0.5] * 30)
    assert drawn_points(points, 800) == points


def test_a_long_line_keeps_first_last_and_every_columns_lowest_and_highest():
    values = [(n * 7919) % 23 / 4 for n in range(1000)]
    points = _weekly(values)
    drawn = drawn_points(points, 800)
    columns = (800 - PLOT_MARGIN_PX) // POINT_COLUMN_PX
    assert len(drawn) <= 2 * columns + 2 < len(points)
    assert drawn[0] == points[0] and drawn[-1] == points[-1]
    assert drawn == sorted(drawn)  # still in date order, a subset of the points
    assert set(drawn) <= set(points)
    assert min(v for _, v in drawn) == min(values) and max(v for _, v in drawn) == max(values)
    # Every stretch of the line as wide as a column keeps its own lowest and highest value.
    span = (points[-1][0] - points[0][0]).days + 1
    for column in range(columns):
        inside = [(d, v) for d, v in points if (d - points[0][0]).days * columns // span == column]
        if inside:
            kept = [v for d, v in drawn if (d, v) in inside]
            assert min(kept) == min(v for _, v in inside)
            assert max(kept) == max(v for _, v in inside)
