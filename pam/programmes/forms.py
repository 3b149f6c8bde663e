"""Forms for the delivery plan and the risk register."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Optional, Regexp

from pam.core.forms import DateRequired, GovDateField, MaxLength
from pam.core.progress import ProgressStatus

SCALE = [SelectChoice(str(n), f"{n}") for n in range(1, 6)]
RAG_CHOICES = [
    SelectChoice("green", "Green: on track"),
    SelectChoice("amber", "Amber: at risk"),
    SelectChoice("red", "Red: off track"),
]


class TitleForm(FlaskForm):
    title = StringField(
        "Title", widget=GovTextInput(), validators=[InputRequired("Enter a title"), MaxLength(300)]
    )
    submit = SubmitField("Add", widget=GovSubmitInput())


class MilestoneForm(FlaskForm):
    title = StringField(
        "Milestone",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the milestone"), MaxLength(300)],
    )
    owner = StringField(
        "Owner",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the owner"), MaxLength(200)],
    )
    due_on = GovDateField("Due date", validators=[DateRequired("Enter the due date")])
    submit = SubmitField("Add milestone", widget=GovSubmitInput())


class ProgressForm(FlaskForm):
    note = TextAreaField(
        "Progress",
        widget=GovTextArea(),
        validators=[InputRequired("Say what progress has been made")],
    )
    status = SelectField(
        "Status",
        widget=GovRadioInput(),
        choices=[SelectChoice(s.value, s.label) for s in ProgressStatus],
    )
    rag = SelectField("RAG", widget=GovRadioInput(), choices=RAG_CHOICES)
    submit = SubmitField("Record progress", widget=GovSubmitInput())


class RiskForm(FlaskForm):
    title = StringField(
        "Risk",
        widget=GovTextInput(),
        validators=[InputRequired("Describe the risk"), MaxLength(300)],
    )
    subject = StringField(
        "What it affects",
        widget=GovTextInput(),
        description="A contract or programme, for example NJP pilot",
        validators=[InputRequired("Say what it affects"), MaxLength(200)],
    )
    likelihood = SelectField(
        "Likelihood (1 rare to 5 almost certain)",
        widget=GovRadioInput(),
        choices=SCALE,
        validators=[InputRequired("Choose the likelihood")],
    )
    impact = SelectField(
        "Impact (1 minimal to 5 severe)",
        widget=GovRadioInput(),
        choices=SCALE,
        validators=[InputRequired("Choose the impact")],
    )
    owner = StringField(
        "Owner",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the owner"), MaxLength(200)],
    )
    mitigations = TextAreaField("Mitigations", widget=GovTextArea(), validators=[MaxLength(5000)])
    review_on = GovDateField("Next review", validators=[DateRequired("Enter the next review date")])
    submit = SubmitField("Save", widget=GovSubmitInput())


class RiskReviewForm(FlaskForm):
    likelihood = SelectField(
        "Likelihood now (1 rare to 5 almost certain)",
        widget=GovRadioInput(),
        choices=SCALE,
        validators=[InputRequired("Choose the likelihood")],
    )
    impact = SelectField(
        "Impact now (1 minimal to 5 severe)",
        widget=GovRadioInput(),
        choices=SCALE,
        validators=[InputRequired("Choose the impact")],
    )
    mitigations = TextAreaField("Mitigations", widget=GovTextArea(), validators=[MaxLength(5000)])
    note = TextAreaField(
        "What the review found",
        widget=GovTextArea(),
        validators=[InputRequired("Say what the review found")],
    )
    review_on = GovDateField("Next review", validators=[DateRequired("Enter the next review date")])
    close = BooleanField("The risk has passed: close it", widget=GovCheckboxInput())
    submit = SubmitField("Record review", widget=GovSubmitInput())


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class PilotForm(FlaskForm):
    name = StringField(
        "Name",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the pilot's name"), MaxLength(200)],
    )
    description = TextAreaField("Description", widget=GovTextArea(), validators=[MaxLength(5000)])
    start_on = GovDateField("Start date", validators=[DateRequired("Enter the start date")])
    submit = SubmitField("Add pilot", widget=GovSubmitInput())


class SiteForm(FlaskForm):
    name = StringField(
        "Site name",
        widget=GovTextInput(),
        description="For example, Weymouth panel",
        validators=[InputRequired("Name the site"), MaxLength(200)],
    )
    area_id = SelectField(
        "Area",
        widget=GovSelect(),
        coerce=_optional_int,
        validators=[InputRequired("Choose the area")],
    )
    submit = SubmitField("Add site", widget=GovSubmitInput())


class SessionForm(FlaskForm):
    held_on = GovDateField(
        "Date the panel met", validators=[DateRequired("Enter the date the panel met")]
    )
    volunteers = StringField(
        "Volunteer panel members present",
        widget=GovTextInput(),
        validators=[Optional(), Regexp(r"^\s*\d{1,3}\s*$", message="Enter a whole number")],
    )
    submit = SubmitField("Add session", widget=GovSubmitInput())


class CaseForm(FlaskForm):
    reference = StringField(
        "Case reference",
        widget=GovTextInput(),
        description="The anonymised reference, like NJP-BCP-2026-014. Never a name.",
        validators=[InputRequired("Enter the case reference"), MaxLength(30)],
    )
    referral_source = SelectField("Referral source", widget=GovSelect())
    offence_category = SelectField("Offence category", widget=GovSelect())
    outcome_agreed = SelectField("Outcome agreed", widget=GovSelect())
    outcome_completed = SelectField(
        "Outcome completed?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice("", "Not yet known"),
            SelectChoice("yes", "Yes"),
            SelectChoice("no", "No"),
        ],
    )
    victim_satisfaction = SelectField(
        "Victim satisfaction (if asked)",
        widget=GovSelect(),
        choices=[SelectChoice("", "Not asked")]
        + [SelectChoice(str(n), f"{n} of 5") for n in range(1, 6)],
    )
    submit = SubmitField("Add case", widget=GovSubmitInput())
