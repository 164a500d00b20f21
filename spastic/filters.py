"""Template filters that print clinical values the same way on every page."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from flask_login import current_user

from spastic.clinical import scales


def register(app: Flask) -> None:
    app.add_template_filter(date_long)
    app.add_template_filter(age)
    app.add_template_filter(dose_number)
    app.add_template_filter(time_local)
    app.add_template_filter(lambda score: scales.pain_band(int(score)), "pain_band")
    app.add_template_filter(_lookup(scales.PENN_FREQUENCY), "penn_frequency")
    app.add_template_filter(_lookup(scales.PENN_SEVERITY), "penn_severity")
    app.add_template_filter(_lookup(scales.ADHERENCE), "adherence_label")
    app.add_template_filter(datetime_local)
    app.add_template_filter(datetime_in)
    app.add_template_filter(lambda code: scales.DIAGNOSES.get(code, code), "diagnosis_label")
    app.add_template_filter(lambda code: scales.SEXES.get(code, code), "sex_label")
    app.add_template_filter(
        lambda code: scales.ROUTES.get(code, "Route missing") if code else "Route missing",
        "route_label",
    )


def _lookup(mapping: dict):
    def label(value) -> str:
        if value is None:
            return "—"
        key = int(value) if isinstance(next(iter(mapping)), int) else value
        return f"{value} · {mapping[key]}" if isinstance(key, int) else mapping.get(key, value)

    return label


def time_local(value: datetime | None) -> str:
    """Print a UTC time as HH:MM in the user's clinic time zone."""
    if value is None:
        return "—"
    return value.astimezone(_clinic_zone()).strftime("%H:%M")


def datetime_local(value: datetime | None, seconds: bool = False) -> str:
    """Print a UTC time with date and zone in the clinic's time zone, for signatures:
    24 Nov 2026 14:22 CET (with seconds for the audit trail: 24 Nov 2026 14:22:05 CET)."""
    if value is None:
        return "—"
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return value.astimezone(_clinic_zone()).strftime(f"%-d %b %Y {clock} %Z")


def datetime_in(value: datetime | None, zone: str) -> str:
    """Print a UTC time in a named time zone, with the zone: 24 Nov 2026 14:22 CET."""
    if value is None:
        return "—"
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return value.astimezone(tz).strftime("%-d %b %Y %H:%M %Z")


def _clinic_zone() -> ZoneInfo:
    clinic = getattr(current_user, "clinic", None)
    try:
        return ZoneInfo(clinic.timezone if clinic else "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def date_long(value: date | None) -> str:
    """Print a date unambiguously for every locale: 24 Nov 2026."""
    return value.strftime("%-d %b %Y") if value else "—"


def age(birth_date: date, on: date | None = None) -> int:
    """Return the age in whole years on a date (today by default)."""
    on = on or date.today()
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def dose_number(value: Decimal | float | int | None) -> str:
    """Print a number without trailing zeros: 10, 12.5, 0.5."""
    if value is None:
        return "—"
    text = format(Decimal(str(value)).normalize(), "f")
    return text
