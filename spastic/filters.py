"""Template filters that print clinical values the same way on every page."""

from datetime import date
from decimal import Decimal

from flask import Flask

from spastic import scales


def register(app: Flask) -> None:
    app.add_template_filter(date_long)
    app.add_template_filter(age)
    app.add_template_filter(dose_number)
    app.add_template_filter(lambda code: scales.DIAGNOSES.get(code, code), "diagnosis_label")
    app.add_template_filter(lambda code: scales.SEXES.get(code, code), "sex_label")
    app.add_template_filter(
        lambda code: scales.ROUTES.get(code, "Route missing") if code else "Route missing",
        "route_label",
    )


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
