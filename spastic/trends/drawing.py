"""The trend chart's SVG, written directly: axes, guides, one line per series, dots, markers.

A few hundred elements styled by attributes (no stylesheet, no script, no link outside the
file), the same on the trend page and in the PDF. pygal drew the same chart in 14-18 ms of
CPU for 10 to 100 visits, most of it its own machinery (issue 16); `charts.trend_chart` now
takes about 1 ms. `charts` decides what is drawn (series, axis ranges, month ticks); this
module only places it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

SVG_NS = "http://www.w3.org/2000/svg"
INK = "#1b2430"  # text and axis lines
GUIDE = "#d5dce4"  # guide lines
FONT_PX = 16  # every label: 16 px text is about 0.6 em a character wide
MARGIN = 12
TOP = 40  # room above the plot for the axes' unit labels
BOTTOM = 38  # room below it for the month labels
LABEL_GAP = 6  # between an axis label and the plot
PAD = 0.02  # the plot's inner padding, so that a point on its edge is not cut


@dataclass(frozen=True)
class Line:
    """One series placed on an axis: its points, how it is drawn and its dots' texts."""

    key: str
    colour: str
    dash: str
    secondary: bool
    points: Sequence[tuple[date, float]]
    dots: Sequence[tuple[int, float, str]]  # (position in points, radius, text for its desc)


@dataclass(frozen=True)
class Frame:
    """What the axes show: the ranges, their labels and the month ticks."""

    width: int
    height: int
    title: str
    left_top: float
    left_labels: Sequence[float]
    right_top: float | None  # None: no right (dose) axis
    right_labels: Sequence[float]
    months: Sequence[date]
    units: tuple[str, str]  # written above the left and the right axis
    empty_text: str


def _number(value: float) -> str:
    return f"{value:g}"


def _text_px(text: str) -> float:
    return len(text) * 0.6 * FONT_PX


def _attrs(**attributes: object) -> str:
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
        for name, value in attributes.items()
    )


def plot_edges(width: int, frame_labels: tuple[Sequence[float], Sequence[float] | None]):
    """The plot's left and right edge (px) in a chart `width` wide, past its axes' labels;
    the right axis (doses) has labels unless None."""
    left_labels, right_labels = frame_labels
    left_px = max((_text_px(_number(v)) for v in left_labels), default=0)
    left = MARGIN + left_px + LABEL_GAP
    if right_labels is None:
        return left, width - MARGIN
    right_px = max((_text_px(_number(v)) for v in right_labels), default=0)
    return left, width - MARGIN - right_px - LABEL_GAP


def dates_width(width: int, frame_labels: tuple[Sequence[float], Sequence[float] | None]):
    """The width (px) the dates are spread over, inside the plot's padding."""
    left, right = plot_edges(width, frame_labels)
    return (1 - 2 * PAD) * (right - left)


class _Plot:
    """The plot's box and its scales: dates across, each axis's range up."""

    def __init__(self, frame: Frame, first: date, last: date) -> None:
        labels = (frame.left_labels, frame.right_labels if frame.right_top else None)
        self.left, self.right = plot_edges(frame.width, labels)
        self.top, self.bottom = TOP, frame.height - BOTTOM
        self.first, self.days = first.toordinal(), max(1, (last - first).days)
        self.single = first == last
        width, height = self.right - self.left, self.bottom - self.top
        self.x0, self.x_span = self.left + PAD * width, (1 - 2 * PAD) * width
        self.y0, self.y_span = self.bottom - PAD * height, (1 - 2 * PAD) * height
        self.tops = (frame.left_top or 1, frame.right_top or 1)

    def x(self, when: date) -> float:
        if self.single:
            return self.x0 + self.x_span / 2
        return self.x0 + (when.toordinal() - self.first) * self.x_span / self.days

    def y(self, value: float, secondary: bool = False) -> float:
        return self.y0 - value * self.y_span / self.tops[secondary]


def _axes(frame: Frame, plot: _Plot) -> list[str]:
    parts = ['<g class="axis y always_show">']
    for value in frame.left_labels:
        y = plot.y(value)
        line = _attrs(x1=f"{plot.left:.1f}", y1=f"{y:.1f}", x2=f"{plot.right:.1f}", y2=f"{y:.1f}")
        parts.append(f'<line{line} stroke="{INK if value == 0 else GUIDE}"/>')
        label = _attrs(x=f"{plot.left - LABEL_GAP:.1f}", y=f"{y + 5.6:.1f}")
        parts.append(f'<text{label} text-anchor="end">{_number(value)}</text>')
    parts.append("</g>")
    if frame.right_top:
        parts.append('<g class="axis y2">')
        for value in frame.right_labels:
            y = plot.y(value, secondary=True)
            label = _attrs(x=f"{plot.right + LABEL_GAP:.1f}", y=f"{y + 5.6:.1f}")
            parts.append(f'<text{label} text-anchor="start">{_number(value)}</text>')
        parts.append("</g>")
    parts.append('<g class="axis x">')
    for edge in (plot.left, plot.right):
        parts.append(f'<line{_axis_line(edge, plot)} stroke="{INK}"/>')
    for month in frame.months:
        x = plot.x(month)
        parts.append(f'<line{_axis_line(x, plot)} stroke="{GUIDE}"/>')
        label = _attrs(x=f"{x:.1f}", y=f"{plot.bottom + 18:.1f}")
        parts.append(f'<text{label} text-anchor="middle">{month:%b %Y}</text>')
    parts.append("</g>")
    return parts


def _axis_line(x: float, plot: _Plot) -> str:
    return _attrs(x1=f"{x:.1f}", y1=f"{plot.top:.1f}", x2=f"{x:.1f}", y2=f"{plot.bottom:.1f}")


def _series(number: int, line: Line, plot: _Plot, descriptions: bool) -> list[str]:
    coordinates = [(plot.x(when), plot.y(value, line.secondary)) for when, value in line.points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    parts = [f'<g class="series serie-{number}" stroke="{line.colour}" fill="{line.colour}">']
    if len(coordinates) > 1:
        style = _attrs(stroke_width=3, stroke_dasharray=line.dash, stroke_linejoin="round")
        parts.append(f'<polyline points="{path}" fill="none"{style}/>')
    for position, radius, text in line.dots:
        x, y = coordinates[position]
        dot = _attrs(cx=f"{x:.1f}", cy=f"{y:.1f}", r=_number(radius))
        if descriptions and text:
            parts.append(f"<circle{dot}><desc>{escape(text)}</desc></circle>")
        else:
            parts.append(f"<circle{dot}/>")
    parts.append("</g>")
    return parts


def _unit_labels(frame: Frame) -> list[str]:
    parts = []
    for x, anchor, text in (
        (MARGIN, "start", frame.units[0]),
        (frame.width - MARGIN, "end", frame.units[1]),
    ):
        if text:
            attributes = _attrs(x=x, y=24, text_anchor=anchor, font_weight=700)
            parts.append(f"<text{attributes}>{escape(text)}</text>")
    return parts


def draw(frame: Frame, lines: Sequence[Line], descriptions: bool = True) -> str:
    """Return the chart as SVG markup; `descriptions=False` leaves out each dot's <desc>
    (a printed chart shows none)."""
    root = _attrs(
        xmlns=SVG_NS,
        viewBox=f"0 0 {frame.width} {frame.height}",
        width=frame.width,
        height=frame.height,
        font_family='"Noto Sans", "DejaVu Sans", Arial, sans-serif',
        font_size=FONT_PX,
        fill=INK,
    )
    parts = [f"<svg{root}>", f"<title>{escape(frame.title)}</title>"]
    parts.append(f'<rect width="{frame.width}" height="{frame.height}" fill="#ffffff"/>')
    days = [when for line in lines for when, _ in line.points]
    if not days:
        x, y = frame.width / 2, frame.height / 2
        parts.append(f'<text x="{x:g}" y="{y:g}" text-anchor="middle" font-size="20">')
        parts.append(f"{escape(frame.empty_text)}</text></svg>")
        return "".join(parts)
    plot = _Plot(frame, min(days), max(days))
    parts += _axes(frame, plot)
    for number, line in enumerate(lines):
        parts += _series(number, line, plot, descriptions)
    parts += _unit_labels(frame)
    parts.append("</svg>")
    return "\n".join(parts)
