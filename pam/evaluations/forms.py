"""The evaluation report form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import HiddenField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired

from pam.core.forms import DateRequired, GovDateField, MaxLength
from pam.evaluations.models import Stage


class EvaluationForm(FlaskForm):
    subject = SelectField(
        "What does the report evaluate?",
        widget=GovSelect(),
        validators=[InputRequired("Choose the contract or pilot the report evaluates")],
        validate_choice=False,  # the service checks it exists, with the same message
    )
    title = StringField(
        "Title",
        widget=GovTextInput(),
        validators=[InputRequired("Enter a title for the report"), MaxLength(200)],
    )
    stage = SelectField(
        "Stage",
        widget=GovRadioInput(),
        choices=[SelectChoice(s.value, s.label) for s in Stage],
        default="interim",
    )
    period_start = GovDateField(
        "The period starts", validators=[DateRequired("Enter the date the period starts")]
    )
    period_end = GovDateField(
        "The period ends", validators=[DateRequired("Enter the date the period ends")]
    )
    summary = TextAreaField("Summary", widget=GovTextArea(), validators=[MaxLength(4000)])
    recommendations = TextAreaField(
        "Recommendations", widget=GovTextArea(), validators=[MaxLength(8000)]
    )
    version = HiddenField()
    submit = SubmitField("Save the report", widget=GovSubmitInput())

    def fields(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "subject", "title", "stage", "period_start", "period_end", "summary",
            "recommendations")}  # fmt: skip
