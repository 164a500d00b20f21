"""Charts drawn from scoring results: static SVG (pygal), the same on screen and in the PDF.

The SVG carries no script and no reference outside itself: `js=[]` keeps pygal from linking
its tooltip script, and an XML filter drops its config `<script>` and its comments (links to
pygal.org). Pages show it as an `<img>` (see `data_uri`): the page's CSP (`style-src 'self'`)
would block the `<style>` inside an inline `<svg>`, while an image keeps its own styles.
The legend is left to the page (see `chart_series`), so that it can show each line's dash
pattern: pygal's legend shows colour only, and colour must not be the only cue.
"""

import base64
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pygal
from pygal.style import Style

from spastic.clinical import scales
from spastic.clinical.dosing import DoseChange, format_dose
from spastic.clinical.scoring import Trend

# pygal appends a sys.meta_path finder without find_spec (for map plugins we do not use);
# Python warns (ImportWarning) on every later import that reaches it, so take it out.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

LINE_WIDTH = 3
FONT = '"Noto Sans", "DejaVu Sans", Arial, sans-serif'
CHART_STYLE = dict(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b2430",
    foreground_strong="#1b2430",
    foreground_subtle="#c9d2dc",
    guide_stroke_dasharray="none",
    major_guide_stroke_dasharray="none",
    guide_stroke_color="#d5dce4",
    major_guide_stroke_color="#d5dce4",
    stroke_width=str(LINE_WIDTH),
    stroke_width_hover=str(LINE_WIDTH),
    stroke_opacity="1",
    stroke_opacity_hover="1",
    opacity="1",
    opacity_hover="1",
    font_family=FONT,
    label_font_size=16,
    major_label_font_size=16,
    title_font_size=17,
    no_data_font_size=20,
)
DOSE_MARKER = 6  # radius of the dot at each dose change
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
    # pygal draws nothing when every series is on the secondary axis: doses then go left.
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
    units = " · ".join(scales.ROUTE_UNITS[r] for r in trend.dose_history)
    chart = pygal.DateLine(
        js=[],
        width=width,
        height=height,
        style=Style(colors=tuple(s.look.colour for s in series), **CHART_STYLE),
        range=(0, top),
        # pygal fails on fixed y labels without any series (DateLine has no `_adapt` then).
        y_labels=[top * i / ticks for i in range(ticks + 1)] if series else None,
        value_formatter=lambda value: f"{value:g}",
        secondary_range=(0, dose_top),
        x_labels=_month_ticks(trend, width - PLOT_INSET_PX),
        x_value_formatter=lambda when: when.strftime("%b %Y"),
        truncate_label=-1,
        show_legend=False,
        show_x_guides=False,
        dots_size=4,
        margin=12,
        margin_top=40,
        no_data_text="No signed visits",
    )
    for s in series:
        stroke = {"dasharray": s.look.dash}
        dots = s.key in scales.ROUTES or len(s.values) <= DOTS_UP_TO  # dose markers stay
        values = list(s.values) if s.key in scales.ROUTES else drawn_points(s.values, width)
        chart.add(s.title, values, secondary=s.secondary, stroke_style=stroke, show_dots=dots)
    axes = ("Mean grade index (0-5) · pain", units) if tone_and_pain else (units, "")
    chart.add_xml_filter(_self_contained(describe(trend), width, axes))
    if height < COMPACT_BELOW_PX:  # printed only: no hover, no tooltips
        chart.add_xml_filter(_static_only)
    return chart.render(is_unicode=True)


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
    that could be seen, and pygal draws a few hundred points instead of one per visit; the
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


def _self_contained(title: str, width: int, axes: tuple[str, str]):
    """An XML filter: drop scripts and comments, name the chart in its <title>, and write the
    units above each axis (pygal has no title for the secondary axis)."""

    def strip(root):
        for parent in list(root.iter()):
            for child in list(parent):
                name = str(child.tag).rsplit("}", 1)[-1]
                if callable(child.tag) or name == "script":
                    parent.remove(child)  # comments are elements with a callable tag
                elif name == "title" and parent is root:
                    child.text = title
        for x, anchor, text in ((12, "start", axes[0]), (width - 12, "end", axes[1])):
            if text:
                root.append(_label(root, x, anchor, text))
        return root

    return strip


# pygal's stylesheet rules for what a printed chart never shows (hover, tooltips, animation,
# other chart kinds): WeasyPrint matches every rule against every node, so the compact chart
# drops them (its render in the PDF took about 40% less time).
INTERACTIVE = re.compile(
    r":hover|tooltip|transition|webkit|\.active|showable|map-element|gauge|bg-lines|legends|"
    r"text-overlay|\.ci\b|max-value|\.bound|a:visited|horizontal|backwards|\.negative|"
    r"subtle-fill|stackedline-graph|xy-graph|line-graph|\.title\b"
)


def _static_only(root):
    """An XML filter for a chart that is printed: drop tooltip texts (`desc`, a guide's
    `title`) and the stylesheet rules that only hover or other chart kinds use."""
    for parent in list(root.iter()):
        for child in list(parent):
            name = str(child.tag).rsplit("}", 1)[-1]
            if name == "desc" or (name == "title" and parent is not root):
                parent.remove(child)
            elif name == "style" and child.text:
                child.text = _static_rules(child.text)
    return root


def _static_rules(css: str) -> str:
    """Keep the rules that draw a static line chart; `#chart-<id> ` prefixes go too (one
    chart per SVG document)."""
    kept = []
    for rule in css.split("}"):
        selectors, _, declarations = rule.partition("{")
        wanted = [s.strip() for s in selectors.split(",") if not INTERACTIVE.search(s)]
        declarations = ";".join(
            d for d in declarations.split(";") if d.strip() and not INTERACTIVE.search(d)
        )
        if wanted and declarations:
            wanted = [re.sub(r"^#chart-[0-9a-f-]+(?: |$)", "", s) or "svg" for s in wanted]
            kept.append(",".join(wanted) + "{" + declarations + "}")
    return "".join(kept)


def _label(root, x: int, anchor: str, text: str):
    """A bold text above the plot, styled by attributes (no CSS needed)."""
    namespace = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    attributes = {"x": str(x), "y": "24", "text-anchor": anchor, "fill": "#1b2430"}
    attributes |= {"font-size": "16", "font-weight": "700", "font-family": FONT}
    label = root.makeelement(namespace + "text", attributes)
    label.text = text
    return label
