"""The route switch form: stop the route in force and start the other one, in one submission."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from spastic.clinical import dosing, scales
from spastic.clinical.regimen import Regimen
from spastic.fields import choices
from spastic.patients.forms import DoseEntry, decimal_places, parse_decimal


@dataclass(frozen=True)
class RouteSwitch:
    """The two changes a switch records: the old route's stop and the new route's start."""

    stop: DoseEntry
    start: DoseEntry


class SwitchRouteForm(FlaskForm):
    effective_date = DateField(
        "Switch on",
        validators=[InputRequired("Enter the date of the switch.")],
        format="%Y-%m-%d",
    )
    to_route = RadioField("Switch to", choices=choices(scales.ROUTES), validators=[Optional()])
    daily_dose = StringField("Total daily dose of the new route", validators=[Length(max=12)])
    schedule = StringField(
        "Schedule", validators=[Length(max=120)], description="e.g. Continuous pump"
    )
    formulation = StringField(
        "Formulation",
        validators=[Length(max=120)],
        description="e.g. Lioresal Intrathecal 2000 mcg/mL",
    )
    reason = TextAreaField("Reason", validators=[Length(max=250)])

    def validate_switch(self, regimen: Regimen, today: date) -> bool:
        """Field checks, then: a route to switch from must be in force, and the new dose must
        pass `dosing.check_dose_entry` in the new route's unit."""
        valid = self.validate_on_submit()
        to_route = self.to_route.data or None
        if to_route not in scales.ROUTES:
            self.to_route.errors = [*self.to_route.errors, "Choose the route to switch to."]
            return False
        if to_route in regimen.active:
            self.to_route.errors = [
                *self.to_route.errors,
                f"{scales.ROUTES[to_route]} baclofen is already given; record a dose change "
                "(or a stop of the other route) instead.",
            ]
            return False
        if not self.from_routes(regimen):
            self.to_route.errors = [
                *self.to_route.errors,
                "No other route is in force to switch from; record a dose change instead.",
            ]
            return False
        return self._dose_ok(to_route, today) and valid

    def _dose_ok(self, to_route: str, today: date) -> bool:
        dose = parse_decimal(self.daily_dose.data)
        if dose is None or decimal_places(dose) > 2:
            message = "Enter the total daily dose as a number, at most two decimals."
            self.daily_dose.errors = [*self.daily_dose.errors, message]
            return False
        problems = dosing.check_dose_entry(
            route=to_route,
            daily_dose=dose,
            unit=scales.ROUTE_UNITS[to_route],
            effective_date=self.effective_date.data,
            today=today,
        )
        for name, message in problems.items():
            field = getattr(self, "to_route" if name in ("route", "unit") else name)
            field.errors = [*field.errors, message]
        return not problems

    def from_routes(self, regimen: Regimen) -> list[str]:
        """The routes in force (dose above 0) other than the one switched to."""
        return [route for route in regimen.active if route != self.to_route.data]

    def as_switch(self, from_route: str) -> RouteSwitch:
        to_route = self.to_route.data
        reason = (self.reason.data or "").strip()
        why = f"Route switch to {to_route}" + (f": {reason}" if reason else "")
        stop = DoseEntry(
            effective_date=self.effective_date.data,
            route=from_route,
            daily_dose=Decimal(0),
            unit=scales.ROUTE_UNITS[from_route],
            stopped=True,
            schedule="",
            formulation="",
            reason=why[:300],
        )
        start = DoseEntry(
            effective_date=self.effective_date.data,
            route=to_route,
            daily_dose=parse_decimal(self.daily_dose.data),
            unit=scales.ROUTE_UNITS[to_route],
            stopped=False,
            schedule=(self.schedule.data or "").strip(),
            formulation=(self.formulation.data or "").strip(),
            reason=(f"Route switch from {from_route}" + (f": {reason}" if reason else ""))[:300],
        )
        return RouteSwitch(stop, start)
