"""Forms for market assessments and their co-production evidence."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional, Regexp

from pam.core.forms import DateRequired, GovDateField, MaxLength
from pam.market.models import SECTIONS


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class AssessmentForm(FlaskForm):
    version = HiddenField()
    title = StringField(
        "Title", widget=GovTextInput(), validators=[InputRequired("Enter a title"), MaxLength(200)]
    )
    service_category_id = SelectField(
        "Service", widget=GovSelect(), coerce=_optional_int,
        validators=[InputRequired("Select the service")],
    )  # fmt: skip
    areas = SelectMultipleField("Areas", widget=GovCheckboxesInput(), coerce=int)
    estimated_annual_demand = StringField(
        "Estimated demand each year (optional)",
        widget=GovTextInput(),
        description="People likely to need the service in a year",
        validators=[
            Optional(),
            Regexp(r"^\s*\d{1,9}\s*$", message="Enter the demand as a whole number, like 1200"),
        ],
    )
    submit = SubmitField("Save draft", widget=GovSubmitInput())


for _key, _label in SECTIONS.items():
    setattr(AssessmentForm, _key, TextAreaField(_label, widget=GovTextArea(),
                                                validators=[MaxLength(10000)]))  # fmt: skip


class ConsultationForm(FlaskForm):
    stakeholders = StringField(
        "Who was consulted",
        widget=GovTextInput(),
        description="For example, victims' forum members, YJS practitioners",
        validators=[InputRequired("Say who was consulted"), MaxLength(300)],
    )
    method = StringField(
        "How",
        widget=GovTextInput(),
        description="For example, focus group, survey, workshop",
        validators=[InputRequired("Say how they were consulted"), MaxLength(200)],
    )
    held_on = GovDateField("When", validators=[DateRequired("Enter when it happened")])
    what_they_said = TextAreaField(
        "What they said", widget=GovTextArea(), validators=[InputRequired("Say what they said")]
    )
    what_changed = TextAreaField(
        "What changed as a result (optional)", widget=GovTextArea(), validators=[MaxLength(5000)]
    )
    submit = SubmitField("Add evidence", widget=GovSubmitInput())


class PublishForm(FlaskForm):
    change_note = TextAreaField(
        "What changed since the last version (not needed the first time)",
        widget=GovTextArea(),
        validators=[MaxLength(2000)],
    )
    submit = SubmitField("Publish", widget=GovSubmitInput())
