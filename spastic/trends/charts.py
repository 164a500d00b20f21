"""Charts drawn from scoring results: static SVG, the same on screen and in the PDF.

`drawing` writes the SVG (no script, no stylesheet, no reference outside itself). Pages show
it as an `<img>` (see `data_uri`), which the page's CSP (`img-src 'self' data:`) allows.
The legend is left to the page (see `chart_series`), so that it can show each line's dash
pattern next to its name: colour must not be the only cue.
"""

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from spastic.clinical import scales
from spastic.clinical.dosing import DoseChange, format_dose
from spastic.clinical.scoring import Trend
from spastic.trends import drawing

DOSE_MARKER = 6  # radius of the dot at each dose change
VISIT_DOT = 4  # radius of the dot at each visit
# Above this many visits a line's points are too close to tell apart on an 800 px chart (about
# 12 px each), and a dot with its hover text per visit made the chart of 1000 visits 1.1 MB.
DOTS_UP_TO = 60


@dataclass(frozen=True)
class Look:
    """How a series is drawn; every colour has 3:1 or more against white (WCAG 1.4.11)."""

    colour: str
    dash: str  # SVG stroke-dasharray; "none" is a solid line


LOOKS = {
    "upper": Look("#1f4e79", "none"),
    "lower": Look("#00796b", "10,5"),
    "pain_now": Look("#b0263d", "3,4"),
    "pain_worst": Look("#a85400", "12,4,3,4"),
    "oral": Look("#3d3d3d", "none"),
    "intrathecal": Look("#6a3d9a", "none"),
}
# A month label ("Sep 2026", 8 characters of 16 px text) is at most about 0.6 em per character
# wide; neighbouring labels keep this much room between their centres, so that they never
# touch even at the PDF's compact size (420 px wide, a plot about 330 px wide).
MONTH_LABEL_PX = 8 * 0.6 * 16 + 10
PLOT_INSET_PX = 90  # the chart's width outside its plot: margins and both axes' labels
LEFT_TICKS = 5  # intervals on the left axis (0, 2, ... 10); the dose axis shares its lines
NICE_STEPS = (1, 1.5, 2, 2.5, 3, 5)
# A chart lower than this (the PDF's compact one) has room for 3 axis labels, not 6: 16 px
# labels 16 px apart touch. Its dose axis then takes finer round steps (0, 60, 120).
COMPACT_BELOW_PX = 300
COMPACT_TICKS = 2
COMPACT_STEPS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8)


@dataclass(frozen=True)
class Series:
    """One line of the chart, with what a legend needs to describe it."""

    key: str
    title: str
    look: Look
    secondary: bool  # on the right-hand (dose) axis
    values: tuple

    @property
    def axis(self) -> str:
        """Which axis the series is read against."""
        return "right axis" if self.secondary else "left axis"


def chart_series(trend: Trend) -> list[Series]:
    """Return the chart's series in drawing order: limbs, pain, then one dose line per route."""
    visits = trend.visits
    found = []
    for limb, title in (("upper", "Upper limb"), ("lower", "Lower limb")):
        points = [
            (v.summary.visit_date, composite.mean_index)
            for v in visits
            if (composite := v.summary.composites[limb]).count
        ]
        found.append((limb, f"{title}, mean of MAS grade indexes (0-5)", points))
    for measure, title in (("pain_now", "Pain now"), ("pain_worst", "Worst pain in 24 h")):
        points = [
            (v.summary.visit_date, pain)
            for v in visits
            if (pain := getattr(v.summary, measure)) is not None
        ]
        found.append((measure, f"{title} (0-10)", points))
    series = [Series(k, t, LOOKS[k], False, tuple(p)) for k, t, p in found if p]
    # Without a tone or pain line the doses are read against the left axis.
    secondary = bool(series)
    end = _last_day(trend)
    for route, history in trend.dose_history.items():
        title = f"{scales.ROUTES[route]} baclofen, {scales.ROUTE_UNITS[route]}; dot at each change"
        series.append(Series(route, title, LOOKS[route], secondary, _steps(history, end)))
    return series


def trend_chart(trend: Trend, width: int = 800, height: int = 440) -> str:
    """Draw mean MAS index per limb and pain over time, with each route's daily dose as a step
    line on the secondary axis and a marker at each dose change; return SVG markup.

    The MAS index (0-5) and pain (0-10) share the left axis; doses the right one, one series
    per route (oral mg/day and intrathecal mcg/day are never one series).
    """
    series = chart_series(trend)
    tone_and_pain = any(s.key not in scales.ROUTES for s in series)
    ticks, steps = (
        (LEFT_TICKS, NICE_STEPS) if height >= COMPACT_BELOW_PX else (COMPACT_TICKS, COMPACT_STEPS)
    )
    dose_top = _dose_ceiling(trend, ticks, steps)
    top = 10 if tone_and_pain else dose_top
    on_right = any(s.secondary for s in series)
    left_labels = [top * i / ticks for i in range(ticks + 1)]
    right_labels = [dose_top * i / ticks for i in range(ticks + 1)] if on_right else []
    labels = (left_labels, right_labels if on_right else None)
    units = " · ".join(scales.ROUTE_UNITS[r] for r in trend.dose_history)
    frame = drawing.Frame(
        width=width,
        height=height,
        title=describe(trend),
        left_top=top,
        left_labels=left_labels,
        right_top=dose_top if on_right else None,
        right_labels=right_labels,
        months=_month_ticks(trend, drawing.dates_width(width, labels)),
        units=("Mean grade index (0-5) · pain", units) if tone_and_pain else (units, ""),
        empty_text="No signed visits",
    )
    lines = [_line(s, width) for s in series]
    # A printed chart (the PDF's compact one) has no use for each dot's description.
    return drawing.draw(frame, lines, descriptions=height >= COMPACT_BELOW_PX)


def _line(series: Series, width: int) -> drawing.Line:
    """Place a series: a dose line through every step with a marker at each change; a tone or
    pain line through `drawn_points`, with a dot per visit up to DOTS_UP_TO visits."""
    if series.key in scales.ROUTES:
        points = [point["value"] for point in series.values]
        dots = [
            (position, DOSE_MARKER, point["label"])
            for position, point in enumerate(series.values)
            if point["node"]["r"]
        ]
    else:
        points = drawn_points(series.values, width)
        dots = []
        if len(series.values) <= DOTS_UP_TO:
            dots = [
                (position, VISIT_DOT, f"{series.title}: {value:g} on {when:%-d %b %Y}")
                for position, (when, value) in enumerate(points)
            ]
    look = series.look
    return drawing.Line(series.key, look.colour, look.dash, series.secondary, points, dots)


def data_uri(svg: str) -> str:
    """Return the SVG as a data: URI, for an `<img>` allowed by `img-src 'self' data:`."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


# A line's points closer than this many pixels apart are drawn through their extremes only.
POINT_COLUMN_PX = 4
PLOT_MARGIN_PX = 90  # about the chart's width outside its plot: margins and axis labels


def drawn_points(values: Sequence[tuple[date, float]], width: int) -> list[tuple[date, float]]:
    """The points a line is drawn through: all of them while they are at least
    `POINT_COLUMN_PX` apart on the plot, else in each column of that width its lowest and
    highest (in date order), plus the first and last. The line keeps every peak and trough
    that could be seen, and the chart draws a few hundred points, not one per visit; the
    exact figure of every visit is in the grid and the tables.
    """
    columns = max(1, (width - PLOT_MARGIN_PX) // POINT_COLUMN_PX)
    if len(values) <= 2 * columns:
        return list(values)
    first, last = values[0][0].toordinal(), values[-1][0].toordinal()
    span = max(1, last - first + 1)
    kept: dict[int, list[int]] = {}  # column -> [position of lowest, position of highest]
    for position, (when, value) in enumerate(values):
        column = (when.toordinal() - first) * columns // span
        extremes = kept.setdefault(column, [position, position])
        if value < values[extremes[0]][1]:
            extremes[0] = position
        if value > values[extremes[1]][1]:
            extremes[1] = position
    chosen = {0, len(values) - 1} | {p for extremes in kept.values() for p in extremes}
    return [values[p] for p in sorted(chosen)]


def _steps(history: Sequence[DoseChange], end: date) -> tuple[dict, ...]:
    """A step line through a route's doses: flat until each change, then straight up or down."""
    points: list[dict] = []
    unit = scales.ROUTE_UNITS[history[0].route or "oral"]
    for before, change in zip([None, *history], history, strict=False):
        when, dose = change.effective_date, float(change.daily_dose)
        if before is not None:
            points.append({"value": (when, float(before.daily_dose)), "node": {"r": 0}})
        label = f"{format_dose(change.daily_dose)} {unit} from {when:%-d %b %Y}"
        points.append({"value": (when, dose), "node": {"r": DOSE_MARKER}, "label": label})
    if end > history[-1].effective_date:
        points.append({"value": (end, float(history[-1].daily_dose)), "node": {"r": 0}})
    return tuple(points)


def _last_day(trend: Trend) -> date:
    days = [v.summary.visit_date for v in trend.visits]
    days += [h[-1].effective_date for h in trend.dose_history.values()]
    return max(days, default=date.min)


def _dose_ceiling(trend: Trend, ticks: int = LEFT_TICKS, steps: tuple = NICE_STEPS) -> float:
    """Top of the dose axis: a round number above the highest dose, so that the dose axis
    labels on the left axis's lines are round too (0, 15, 30 ... for oral doses to 60 mg)."""
    doses = [c.daily_dose for history in trend.dose_history.values() for c in history]
    highest = float(max(doses, default=Decimal(0))) * 1.1
    if highest <= 0:
        return float(ticks)
    wanted = highest / ticks
    scale = 10 ** math.floor(math.log10(wanted))
    step = next(n * scale for n in (*steps, 10) if n * scale >= wanted)
    return step * ticks


def _month_ticks(trend: Trend, plot_px: float = 710) -> list[date]:
    """The first of each month (or of every 2nd, 3rd ... month) across the chart: at most 7,
    and never closer than a label's width on a plot `plot_px` wide."""
    days = [v.summary.visit_date for v in trend.visits]
    days += [c.effective_date for history in trend.dose_history.values() for c in history]
    if not days:
        return []
    first, last = min(days), max(days)
    months = (last.year - first.year) * 12 + last.month - first.month
    span_days = max(1, (last - first).days)
    # A month is at least 28 days: `every` months apart are at least this many pixels apart.
    room = math.ceil(MONTH_LABEL_PX * span_days / (28 * max(plot_px, 1)))
    every = max(1, math.ceil(months / 7), room)
    ticks = []
    for offset in range(1, months + 1, every):
        year, month = divmod(first.month - 1 + offset, 12)
        ticks.append(date(first.year + year, month + 1, 1))
    return ticks


def describe(trend: Trend) -> str:
    """Say in one sentence what the chart shows (its <title>, and the page's alt text)."""
    if not trend.visits:
        return "Baclofen daily dose over time; no signed visits yet."
    first, last = trend.visits[0].summary.visit_date, trend.visits[-1].summary.visit_date
    return (
        f"Mean of MAS grade indexes (0-5) per limb, pain and baclofen daily dose at "
        f"{len(trend.visits)} signed visits from {first:%-d %b %Y} to {last:%-d %b %Y}."
    )
