"""Account forms: login, users, passwords, clinic settings."""

from dataclasses import dataclass
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    ValidationError,
)

from spastic.accounts.clinic_muscles import as_stored
from spastic.accounts.passwords import password_problem
from spastic.clinical import scales
from spastic.fields import CheckboxList, choices
from spastic.models import ROLES


class LoginForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address."), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=200)]
    )


@dataclass(frozen=True)
class NewUser:
    email: str
    name: str
    role: str
    password: str


class UserForm(FlaskForm):
    name = StringField(
        "Full name", validators=[DataRequired("Enter the user's full name."), Length(max=120)]
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter the user's email address."),
            Email("Enter a valid email address."),
        ],
    )
    role = SelectField("Role", choices=choices({r: r.capitalize() for r in ROLES}))
    password = PasswordField(
        "First password", validators=[DataRequired("Give a first password for the user.")]
    )

    def validate_password(self, field):
        problem = password_problem(field.data or "", email=self.email.data or "")
        if problem:
            raise ValidationError(problem)

    def as_new_user(self) -> NewUser:
        return NewUser(
            email=self.email.data.strip().lower(),
            name=self.name.data.strip(),
            role=self.role.data,
            password=self.password.data,
        )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    new_password = PasswordField("New password", validators=[DataRequired("Enter a new password.")])
    confirm = PasswordField(
        "New password again", validators=[DataRequired("Enter the new password again.")]
    )

    def validate_new_password(self, field):
        problem = password_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_confirm(self, field):
        if field.data != self.new_password.data:
            raise ValidationError("The two new passwords are not the same.")


@dataclass(frozen=True)
class ClinicSettings:
    paper_size: str
    timezone: str
    refill_margin_days: int
    review_interval_days: int
    review_after_dose_change_days: int
    usual_muscles: str  # stored JSON list of muscle codes
    acknowledge_within_days: int


class ClinicSettingsForm(FlaskForm):
    paper_size = RadioField(
        "Paper size of PDF summaries",
        choices=choices({"A4": "A4", "Letter": "US Letter"}),
        validators=[InputRequired("Choose a paper size.")],
    )
    timezone = SelectField(
        "Time zone for signatures and times",
        choices=choices({zone: zone for zone in sorted(available_timezones())}),
        validators=[InputRequired("Choose a time zone.")],
    )
    refill_margin_days = IntegerField(
        "Book pump refills this many days before the low-reservoir alarm",
        validators=[
            InputRequired("Enter the number of days."),
            NumberRange(3, 30, "Give between 3 and 30 days."),
        ],
    )
    review_interval_days = IntegerField(
        "Review patients every (days), unless a patient has an interval of their own",
        validators=[
            InputRequired("Enter the number of days."),
            NumberRange(7, 730, "Give between 7 and 730 days."),
        ],
    )
    review_after_dose_change_days = IntegerField(
        "Review a patient this many days after a dose change",
        validators=[
            InputRequired("Enter the number of days."),
            NumberRange(1, 180, "Give between 1 and 180 days."),
        ],
    )
    # Named apart from Clinic.usual_muscles (JSON text): the view fills it with the codes. A code
    # not shown is refused beside the field; none chosen stores "[]": the twelve usual groups.
    usual_set = CheckboxList(
        "Muscles a first visit of a new patient starts with",
        choices=choices({m.code: m.label for m in scales.MUSCLES}),
    )
    acknowledge_within_days = IntegerField(
        "List summaries no physician has acknowledged after this many days",
        validators=[
            InputRequired("Enter the number of days."),
            NumberRange(1, 90, "Give between 1 and 90 days."),
        ],
    )

    def as_settings(self) -> ClinicSettings:
        return ClinicSettings(
            paper_size=self.paper_size.data,
            timezone=self.timezone.data,
            refill_margin_days=self.refill_margin_days.data,
            review_interval_days=self.review_interval_days.data,
            review_after_dose_change_days=self.review_after_dose_change_days.data,
            usual_muscles=as_stored(self.usual_set.data),
            acknowledge_within_days=self.acknowledge_within_days.data,
        )
