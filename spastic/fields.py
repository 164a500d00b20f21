"""Form fields every package's forms share: checkbox lists, choices, email addresses.

Each form validates request data and hands the domain a frozen value object."""

import email_validator
from wtforms import (
    SelectMultipleField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

# Demo and test accounts use the reserved .test domain (RFC 2606); accept it like any other.
if "test" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("test")


class CheckboxList(SelectMultipleField):
    """Several choices shown as a list of checkboxes (touch-friendly, no hidden select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError("Choose only from the options shown.") from None


def choices(mapping: dict, blank: str | None = None) -> list[SelectChoice]:
    """Turn {value: label} into WTForms choices, optionally after a blank first option."""
    options = [SelectChoice(value, label) for value, label in mapping.items()]
    return [SelectChoice("", blank), *options] if blank is not None else options
