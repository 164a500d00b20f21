"""Pump, refill and scheduling forms: units are part of every label (mL, mcg/mL), never guessed."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from spastic.clinical import pump
from spastic.fields import choices
from spastic.patients.forms import decimal_places, parse_decimal

RESERVOIRS = {"20": "20 mL", "40": "40 mL", "other": "Other"}
ALARMS = {"2": "2 mL (manufacturer's default)", "4": "4 mL", "other": "Other"}
CONCENTRATIONS = {str(c): f"{c} mcg/mL" for c in pump.LABEL_CONCENTRATIONS} | {"other": "Other"}
MAX_RESERVOIR_ML = Decimal(60)
MAX_CONCENTRATION = Decimal(4000)


@dataclass(frozen=True)
class PumpEntry:
    model: str
    reservoir_ml: Decimal
    alarm_ml: Decimal
    implant_date: date
    elective_replacement_date: date | None
    accuracy_percent: Decimal | None


@dataclass(frozen=True)
class RefillEntry:
    refill_date: date
    residual_drawn_ml: Decimal | None
    volume_added_ml: Decimal
    concentration_mcg_ml: Decimal
    notes: str


def _number(form, field, label: str, *, places: int, low: Decimal, high: Decimal, need=True):
    """Read a decimal typed as text; on a problem, put the sentence next to the field."""
    text = (field.data or "").strip()
    if not text:
        if need:
            field.errors = [*field.errors, f"Enter the {label}."]
        return None
    value = parse_decimal(text)
    if value is None:
        field.errors = [*field.errors, f"Enter the {label} as a number."]
    elif decimal_places(value) > places:
        field.errors = [*field.errors, f"Give the {label} with at most {places} decimals."]
    elif not low <= value <= high:
        field.errors = [*field.errors, f"The {label} must be between {low} and {high}."]
    else:
        return value
    return None


def _choice_or_other(form, choice, other, label: str, **limits) -> Decimal | None:
    if choice.data == "other":
        return _number(form, other, label, **limits)
    if not choice.data:
        choice.errors = [*choice.errors, f"Choose the {label}."]
        return None
    return Decimal(choice.data)


class PumpForm(FlaskForm):
    model = StringField(
        "Pump model",
        validators=[InputRequired("Enter the pump model."), Length(max=120)],
        description="e.g. SynchroMed II 8637-20",
    )
    reservoir = RadioField("Reservoir volume", choices=choices(RESERVOIRS), validators=[Optional()])
    reservoir_other = StringField("Other reservoir volume (mL)", validators=[Length(max=8)])
    alarm = RadioField(
        "Low-reservoir alarm volume", choices=choices(ALARMS), validators=[Optional()], default="2"
    )
    alarm_other = StringField("Other alarm volume (mL)", validators=[Length(max=8)])
    implant_date = DateField(
        "Implant date", validators=[InputRequired("Enter the implant date.")], format="%Y-%m-%d"
    )
    elective_replacement_date = DateField(
        "Elective replacement date (if known)", validators=[Optional()], format="%Y-%m-%d"
    )
    accuracy_percent = StringField(
        "Device accuracy, ± % of the volume delivered (if the labelling states it)",
        validators=[Length(max=6)],
    )

    def checked_entry(self, today: date) -> PumpEntry | None:
        """Validate, then return the entry (None: errors are on the fields)."""
        valid = self.validate_on_submit()
        reservoir = _choice_or_other(
            self,
            self.reservoir,
            self.reservoir_other,
            "reservoir volume in mL",
            places=1,
            low=Decimal(1),
            high=MAX_RESERVOIR_ML,
        )
        alarm = _choice_or_other(
            self,
            self.alarm,
            self.alarm_other,
            "alarm volume in mL",
            places=1,
            low=Decimal(0),
            high=MAX_RESERVOIR_ML,
        )
        accuracy = _number(
            self,
            self.accuracy_percent,
            "device accuracy in %",
            places=1,
            low=Decimal("0.1"),
            high=Decimal(50),
            need=False,
        )
        if reservoir is not None and alarm is not None and alarm >= reservoir:
            self.alarm_other.errors = [
                *self.alarm_other.errors,
                "The alarm volume must be below the reservoir volume.",
            ]
            alarm = None
        if self.implant_date.data and self.implant_date.data > today:
            self.implant_date.errors = [
                *self.implant_date.errors,
                "The implant date is in the future.",
            ]
        problems = any(f.errors for f in self)
        if not valid or problems or reservoir is None or alarm is None:
            return None
        return PumpEntry(
            model=self.model.data.strip(),
            reservoir_ml=reservoir,
            alarm_ml=alarm,
            implant_date=self.implant_date.data,
            elective_replacement_date=self.elective_replacement_date.data,
            accuracy_percent=accuracy,
        )


class RefillForm(FlaskForm):
    refill_date = DateField(
        "Date of the refill", validators=[InputRequired("Enter the date.")], format="%Y-%m-%d"
    )
    residual_drawn = StringField("Volume drawn out (actual residual, mL)", [Length(max=8)])
    volume_added = StringField(
        "Volume added (mL: the volume now in the reservoir)", [Length(max=8)]
    )
    concentration = RadioField(
        "Concentration of the new drug", choices=choices(CONCENTRATIONS), validators=[Optional()]
    )
    concentration_other = StringField("Other concentration (mcg/mL)", [Length(max=8)])
    notes = TextAreaField("Notes", validators=[Length(max=1000)])

    def checked_entry(self, today: date, reservoir_ml: Decimal, first: bool) -> RefillEntry | None:
        """Validate the refill against the pump's reservoir; None when a field has an error."""
        valid = self.validate_on_submit()
        residual = _number(
            self,
            self.residual_drawn,
            "volume drawn out in mL",
            places=2,
            low=Decimal(0),
            high=reservoir_ml,
            need=not first,
        )
        added = _number(
            self,
            self.volume_added,
            "volume added in mL",
            places=2,
            low=Decimal("0.1"),
            high=reservoir_ml,
        )
        concentration = _choice_or_other(
            self,
            self.concentration,
            self.concentration_other,
            "concentration in mcg/mL",
            places=1,
            low=Decimal(1),
            high=MAX_CONCENTRATION,
        )
        if self.refill_date.data and self.refill_date.data > today:
            self.refill_date.errors = [
                *self.refill_date.errors,
                "The refill date is in the future: record a refill once it is done.",
            ]
        if not valid or any(f.errors for f in self) or added is None or concentration is None:
            return None
        return RefillEntry(
            refill_date=self.refill_date.data,
            residual_drawn_ml=residual,
            volume_added_ml=added,
            concentration_mcg_ml=concentration,
            notes=(self.notes.data or "").strip(),
        )


class ScheduleForm(FlaskForm):
    next_review_date = DateField("Next review", validators=[Optional()], format="%Y-%m-%d")
    next_refill_date = DateField("Next pump refill", validators=[Optional()], format="%Y-%m-%d")
    review_interval_days = IntegerField(
        "Review every (days; blank: the clinic's default)",
        validators=[Optional(), NumberRange(7, 730, "Give between 7 and 730 days.")],
    )
    communication_difficulty = BooleanField("Communication difficulty (higher withdrawal risk)")
    prior_withdrawal = BooleanField("Previous baclofen withdrawal (higher withdrawal risk)")
