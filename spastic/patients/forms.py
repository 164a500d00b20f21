"""Patient and regimen forms: details, care team, dose changes."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from spastic.clinical import dosing, scales
from spastic.fields import CheckboxList, choices

# The unit follows the route (oral mg/day, intrathecal mcg/day): there is no unit to choose, so
# none can be wrong, and never mL. The route's choice says which unit the dose is in.
ROUTE_CHOICES = {
    code: f"{label} · {scales.ROUTE_UNITS[code]}" for code, label in scales.ROUTES.items()
}


@dataclass(frozen=True)
class PatientDetails:
    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    diagnosis: str
    sci_level: str | None
    ais_grade: str | None
    diagnosis_detail: str
    egfr: Decimal | None
    egfr_date: date | None
    on_dialysis: bool
    referring_name: str
    referring_email: str
    care_team_ids: tuple[int, ...]


class NumberText(StringField):
    """A number typed as text; filled from a record, it shows the stored Decimal as text."""

    def process_data(self, value):
        self.data = None if value is None else str(value)


class PatientForm(FlaskForm):
    mrn = StringField("MRN", validators=[DataRequired("Enter the patient's MRN."), Length(max=40)])
    family_name = StringField(
        "Family name", validators=[DataRequired("Enter the family name."), Length(max=100)]
    )
    given_name = StringField(
        "Given name", validators=[DataRequired("Enter the given name."), Length(max=100)]
    )
    birth_date = DateField(
        "Birth date", validators=[InputRequired("Enter the birth date.")], format="%Y-%m-%d"
    )
    sex = RadioField(
        "Sex",
        choices=choices(scales.SEXES),
        validators=[InputRequired("Choose the patient's sex.")],
    )
    diagnosis = SelectField(
        "Diagnosis",
        choices=choices(scales.DIAGNOSES, "Choose…"),
        validators=[DataRequired("Choose a diagnosis.")],
    )
    sci_level = SelectField(
        "SCI neurological level",
        choices=choices({v: v for v in scales.SCI_LEVELS}, "—"),
    )
    ais_grade = SelectField(
        "AIS grade",
        choices=choices({v: v for v in scales.AIS_GRADES}, "—"),
        validators=[Optional()],
    )
    diagnosis_detail = StringField("Diagnosis details", validators=[Length(max=200)])
    egfr = NumberText("eGFR (mL/min/1.73 m²)", validators=[Length(max=10)])
    egfr_date = DateField("eGFR date", validators=[Optional()], format="%Y-%m-%d")
    on_dialysis = BooleanField("On dialysis")
    referring_name = StringField("Referring physician", validators=[Length(max=120)])
    referring_email = EmailField(
        "Referring physician's email",
        validators=[Optional(), Email("Enter a valid email address."), Length(max=254)],
    )
    care_team = CheckboxList("Care team physicians", coerce=int, validate_choice=True)

    def validate_birth_date(self, field):
        if field.data and field.data > date.today():
            raise ValidationError("The birth date cannot be in the future.")
        if field.data and field.data.year < 1900:
            raise ValidationError("Check the birth date: it is before 1900.")

    def validate_sci_level(self, field):
        if self.diagnosis.data == "sci" and not field.data:
            raise ValidationError("Choose the neurological level for a spinal cord injury.")

    def validate_egfr(self, field):
        if not (field.data or "").strip():
            return
        value = parse_decimal(field.data)
        if value is None or not Decimal(1) <= value <= Decimal(200) or decimal_places(value) > 1:
            raise ValidationError(
                "Enter eGFR as a number between 1 and 200 mL/min/1.73 m², at most one decimal."
            )
        if not self.egfr_date.data:
            self.egfr_date.errors = [*self.egfr_date.errors, "Give the date of this eGFR result."]
            raise ValidationError("The eGFR needs the date it was measured.")

    def validate_egfr_date(self, field):
        if field.data and field.data > date.today():
            raise ValidationError("The eGFR date cannot be in the future.")

    def as_details(self) -> PatientDetails:
        is_sci = self.diagnosis.data == "sci"
        return PatientDetails(
            mrn=self.mrn.data.strip(),
            family_name=self.family_name.data.strip(),
            given_name=self.given_name.data.strip(),
            birth_date=self.birth_date.data,
            sex=self.sex.data,
            diagnosis=self.diagnosis.data,
            sci_level=(self.sci_level.data or None) if is_sci else None,
            ais_grade=(self.ais_grade.data or None) if is_sci else None,
            diagnosis_detail=(self.diagnosis_detail.data or "").strip(),
            egfr=parse_decimal(self.egfr.data) if (self.egfr.data or "").strip() else None,
            egfr_date=self.egfr_date.data,
            on_dialysis=bool(self.on_dialysis.data),
            referring_name=(self.referring_name.data or "").strip(),
            referring_email=(self.referring_email.data or "").strip().lower(),
            care_team_ids=tuple(sorted(set(self.care_team.data or []))),
        )


@dataclass(frozen=True)
class DoseEntry:
    effective_date: date
    route: str
    daily_dose: Decimal
    unit: str
    stopped: bool
    schedule: str
    formulation: str
    reason: str


class DoseChangeForm(FlaskForm):
    effective_date = DateField(
        "Effective from",
        validators=[InputRequired("Enter the date the change takes effect.")],
        format="%Y-%m-%d",
    )
    route = RadioField("Route", choices=choices(ROUTE_CHOICES), validators=[Optional()])
    daily_dose = StringField(
        "Total daily dose",
        validators=[Length(max=12)],
        description="The total per day, in the route's unit: mg/day oral, mcg/day intrathecal.",
    )
    stopped = BooleanField("Baclofen stopped (dose 0)")
    schedule = StringField(
        "Schedule", validators=[Length(max=120)], description="e.g. 10 mg three times a day"
    )
    formulation = StringField(
        "Formulation", validators=[Length(max=120)], description="e.g. 10 mg tablets"
    )
    reason = TextAreaField("Reason", validators=[Length(max=300)])

    def validate_on_submit_with(self, today: date) -> bool:
        """Run field checks, then the regimen rules of `dosing.check_dose_entry`."""
        valid = self.validate_on_submit()
        if self.effective_date.data is None and not self.effective_date.errors:
            return False
        dose = parse_decimal(self.daily_dose.data)
        if dose is None and not self.stopped.data:
            self.daily_dose.errors = [
                *self.daily_dose.errors,
                "Enter the total daily dose as a number.",
            ]
            return False
        if dose is not None and not self.stopped.data and decimal_places(dose) > 2:
            message = "Give the daily dose with at most two decimals (e.g. 12.5)."
            self.daily_dose.errors = [*self.daily_dose.errors, message]
            return False
        problems = dosing.check_dose_entry(
            route=self.route.data or None,
            daily_dose=dose if dose is not None else Decimal(0),
            unit=self.unit,
            effective_date=self.effective_date.data,
            today=today,
            stopping=bool(self.stopped.data),
        )
        problems.pop("unit", None)  # the unit follows the route; a missing route says so itself
        for name, message in problems.items():
            field = getattr(self, name)
            field.errors = [*field.errors, message]
        return valid and not problems

    @property
    def unit(self) -> str | None:
        """The unit of the daily dose: the route's (None until a route is chosen)."""
        return scales.ROUTE_UNITS.get(self.route.data or "")

    def as_entry(self) -> DoseEntry:
        dose = parse_decimal(self.daily_dose.data)
        return DoseEntry(
            effective_date=self.effective_date.data,
            route=self.route.data,
            daily_dose=Decimal(0) if self.stopped.data else dose,
            unit=self.unit,
            stopped=bool(self.stopped.data),
            schedule=(self.schedule.data or "").strip(),
            formulation=(self.formulation.data or "").strip(),
            reason=(self.reason.data or "").strip(),
        )


def decimal_places(value: Decimal) -> int:
    """How many decimals a number needs (2.50 -> 1, 12.500 -> 1, 1E-7 -> 7, 30 -> 0)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_decimal(text: str | None) -> Decimal | None:
    try:
        value = Decimal((text or "").strip().replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
