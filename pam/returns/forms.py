"""Forms for uploading, signing off and reviewing returns.

The figures themselves are not WTForms fields: which lines a return has depends on the
contract's framework, so the web form is drawn from the Layout and read by key, through
the same check as an upload.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired

from pam.core.forms import MaxLength


class SignOffMixin:
    signed_off_by = StringField(
        "Signed off by",
        widget=GovTextInput(),
        description="The name and role of the person at your organisation who signs off "
        "these figures, for example Amy Turner, Service manager",
        validators=[InputRequired("Enter who signs off the return"), MaxLength(200)],
    )
    confirm = BooleanField(
        "I confirm these figures are accurate and the return contains no names or other "
        "personal details of victims or offenders",
        widget=GovCheckboxInput(),
        validators=[InputRequired("Confirm the figures are accurate and anonymous")],
    )
    correction_reason = TextAreaField(
        "Reason for the correction",
        widget=GovTextArea(),
        description="This return was accepted: say what is being corrected and why",
        validators=[MaxLength(1000)],
    )


class UploadForm(SignOffMixin, FlaskForm):
    file = FileField(
        "Return file",
        widget=GovFileInput(),
        description="The .xlsx template filled in (in Excel, LibreOffice or similar), or a "
        ".csv with the same codes",
    )
    submit = SubmitField("Upload and submit", widget=GovSubmitInput())


class WebReturnForm(SignOffMixin, FlaskForm):
    """Sign-off for the web form; the figures are read from the request by key."""

    save_draft = SubmitField("Save as draft", widget=GovSubmitInput())
    submit = SubmitField("Submit return", widget=GovSubmitInput())


class ReviewForm(FlaskForm):
    decision = SelectField(
        "Decision",
        widget=GovRadioInput(),
        choices=[
            SelectChoice("accepted", "Accept the return (it is then locked)"),
            SelectChoice("queried", "Query it: send it back to the provider with comments"),
        ],
        validators=[InputRequired("Choose whether to accept or query the return")],
    )
    comment = TextAreaField(
        "Comments for the provider",
        widget=GovTextArea(),
        description="Needed when you query the return",
        validators=[MaxLength(2000)],
    )
    submit = SubmitField("Record decision", widget=GovSubmitInput())
