"""Forms for organisations, contacts and reference data."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Optional, Regexp, ValidationError

from pam.core.forms import GovDateField, MaxLength
from pam.providers.models import KIND_LABELS, OrganisationKind

UK_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", re.IGNORECASE)
EMAIL_MESSAGE = "Enter an email address in the correct format, like name@example.org"


def optional_email(label: str) -> EmailField:
    return EmailField(
        label,
        widget=GovTextInput(),
        validators=[Optional(), Email(message=EMAIL_MESSAGE), MaxLength(254)],
    )


class OrganisationForm(FlaskForm):
    """Officers' form for an organisation (providers use ProviderProfileForm)."""

    version = HiddenField()
    name = StringField(
        "Name",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter the organisation's name"), MaxLength(200)],
    )
    kind = SelectField(
        "Type of organisation",
        widget=GovSelect(),
        choices=[
            SelectChoice(kind.value, KIND_LABELS[kind])
            for kind in OrganisationKind
            if kind != OrganisationKind.OPCC
        ],
        validators=[InputRequired(message="Select the type of organisation")],
    )
    charity_number = StringField(
        "Registered charity number (optional)",
        widget=GovTextInput(),
        validators=[
            Optional(),
            Regexp(r"^\d{6,8}(-\d{1,2})?$", message="Enter a charity number like 1123456"),
        ],
    )
    company_number = StringField(
        "Company number (optional)",
        widget=GovTextInput(),
        validators=[
            Optional(),
            Regexp(
                r"^[A-Z0-9]{8}$", message="Enter a company number of 8 characters, like 01234567"
            ),
        ],
    )
    address = TextAreaField(
        "Address", widget=GovTextArea(), validators=[Optional(), MaxLength(1000)]
    )
    postcode = StringField("Postcode", widget=GovTextInput(), validators=[Optional()])
    website = StringField(
        "Website (optional)",
        widget=GovTextInput(),
        validators=[
            Optional(),
            MaxLength(200),
            Regexp(r"^https?://\S+$", message="Enter a website address starting https://"),
        ],
    )
    email = optional_email("General email address (optional)")
    phone = StringField(
        "Telephone (optional)", widget=GovTextInput(), validators=[Optional(), MaxLength(40)]
    )
    safeguarding_lead_name = StringField(
        "Safeguarding lead", widget=GovTextInput(), validators=[Optional(), MaxLength(200)]
    )
    safeguarding_lead_email = optional_email("Safeguarding lead's email address")
    has_quality_mark = BooleanField(
        "Holds the Restorative Service Quality Mark (RSQM)",
        widget=GovCheckboxInput(),
    )
    quality_mark_expires_on = GovDateField(
        "Quality Mark expiry date",
        description="For example, 31 3 2027",
    )
    areas = SelectMultipleField("Areas served", widget=GovCheckboxesInput(), coerce=int)
    service_categories = SelectMultipleField(
        "Services offered", widget=GovCheckboxesInput(), coerce=int
    )
    submit = SubmitField("Save", widget=GovSubmitInput())

    def validate_postcode(self, field) -> None:
        if field.data and not UK_POSTCODE.match(field.data.strip()):
            raise ValidationError("Enter a real postcode, like DT1 1XJ")

    def validate_quality_mark_expires_on(self, field) -> None:
        if self.has_quality_mark.data and field.data is None and not field.process_errors:
            raise ValidationError("Enter the date the Quality Mark expires")


class ProviderProfileForm(OrganisationForm):
    """What a provider user may change about their own organisation: not its name or type."""

    name = None
    kind = None


class ContactForm(FlaskForm):
    name = StringField(
        "Name",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter the contact's name"), MaxLength(200)],
    )
    job_title = StringField(
        "Job title (optional)", widget=GovTextInput(), validators=[Optional(), MaxLength(200)]
    )
    email = optional_email("Email address (optional)")
    phone = StringField(
        "Telephone (optional)", widget=GovTextInput(), validators=[Optional(), MaxLength(40)]
    )
    is_primary = BooleanField("Main contact for this organisation", widget=GovCheckboxInput())
    submit = SubmitField("Save contact", widget=GovSubmitInput())


class ReferenceItemForm(FlaskForm):
    """An area or a service category."""

    code = StringField(
        "Code",
        widget=GovTextInput(),
        description="Short and unique, for example DORSET",
        validators=[
            InputRequired(message="Enter a code"),
            MaxLength(20),
            Regexp(
                r"^[A-Za-z0-9_-]+$", message="Use only letters, numbers, hyphens and underscores"
            ),
        ],
    )
    name = StringField(
        "Name",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter a name"), MaxLength(200)],
    )
    description = TextAreaField(
        "Description (optional)", widget=GovTextArea(), validators=[Optional(), MaxLength(2000)]
    )
    is_active = BooleanField("In use", widget=GovCheckboxInput(), default=True)
    submit = SubmitField("Save", widget=GovSubmitInput())
