"""Forms for the metric dictionary and contracts' outcome frameworks."""

from __future__ import annotations

from datetime import datetime

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional, Regexp, ValidationError

from pam.core.forms import DateRequired, DecimalText, GovDateField, MaxLength
from pam.outcomes.models import BREAKDOWNS, Aggregation, Direction, Frequency, Unit


def _enum_choices(enum_class) -> list[SelectChoice]:
    return [SelectChoice(member.value, member.label) for member in enum_class]


class MetricForm(FlaskForm):
    """A new metric (with its code) or a new version of one (code fixed)."""

    code = StringField(
        "Code",
        widget=GovTextInput(),
        description="Short and unique, for example RJ13",
        validators=[
            InputRequired(message="Enter a code"),
            MaxLength(20),
            Regexp(r"^[A-Za-z0-9-]+$", message="Use only letters, numbers and hyphens"),
        ],
    )
    name = StringField(
        "Name", widget=GovTextInput(), validators=[InputRequired("Enter the name"), MaxLength(200)]
    )
    definition = TextAreaField(
        "Definition",
        widget=GovTextArea(),
        description="What is measured, in plain English",
        validators=[InputRequired("Enter the definition"), MaxLength(2000)],
    )
    counting_rule = TextAreaField(
        "Counting rule",
        widget=GovTextArea(),
        description="What counts, what does not, and when it is counted",
        validators=[InputRequired("Enter the counting rule"), MaxLength(2000)],
    )
    unit = SelectField("Unit", widget=GovRadioInput(), choices=_enum_choices(Unit))
    numerator = TextAreaField(
        "Numerator (for percentages)", widget=GovTextArea(), validators=[MaxLength(1000)]
    )
    denominator = TextAreaField(
        "Denominator (for percentages)", widget=GovTextArea(), validators=[MaxLength(1000)]
    )
    direction = SelectField("Direction", widget=GovRadioInput(), choices=_enum_choices(Direction))
    aggregation = SelectField(
        "Over the year", widget=GovRadioInput(), choices=_enum_choices(Aggregation)
    )
    breakdowns = SelectMultipleField(
        "Breakdowns (optional)",
        widget=GovCheckboxesInput(),
        choices=[SelectChoice(code, label) for code, (label, _) in BREAKDOWNS.items()],
    )
    funder_mappings = TextAreaField(
        "Funders' return lines (optional)",
        widget=GovTextArea(),
        description="One per line, for example MoJ victims' services return: referrals received",
        validators=[MaxLength(2000)],
    )
    valid_from = GovDateField(
        "Applies from", validators=[DateRequired("Enter the date it applies from")]
    )
    change_note = TextAreaField(
        "What changed and why",
        widget=GovTextArea(),
        validators=[InputRequired("Say what changed and why"), MaxLength(2000)],
    )
    submit = SubmitField("Save", widget=GovSubmitInput())

    def fields_for_service(self) -> dict:
        data = {name: field.data for name, field in self._fields.items()}
        data["funder_mappings"] = (self.funder_mappings.data or "").splitlines()
        return data


class FrameworkSettingsForm(FlaskForm):
    version = HiddenField()
    frequency = SelectField(
        "Reporting schedule", widget=GovRadioInput(), choices=_enum_choices(Frequency)
    )
    milestones = TextAreaField(
        "Milestone dates (for a milestone schedule)",
        widget=GovTextArea(),
        description="One date per line, like 30/9/2025. Each return covers the time since the "
        "one before (the first, since the contract started).",
    )
    due_days = StringField(
        "Returns are due this many days after each period ends",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter the number of days"),
            Regexp(r"^\s*\d{1,2}\s*$", message="Enter the days as a whole number, like 15"),
        ],
    )
    due_in_working_days = BooleanField("Count working days only", widget=GovCheckboxInput())
    rag_tolerance_percent = DecimalText(
        "Amber tolerance, in percent",
        description="10 means at least 90% of a higher-is-better target is Amber, not Red",
        validators=[InputRequired("Enter the tolerance")],
    )
    is_proportionate = BooleanField(
        "Proportionate reporting (a lighter return for a small, low-value contract)",
        widget=GovCheckboxInput(),
    )
    submit = SubmitField("Save", widget=GovSubmitInput())

    def validate_milestones(self, field) -> None:
        field.dates = []
        typed = field.data if isinstance(field.data, str) else ""  # not the stored list
        for line in typed.splitlines():
            text = line.strip()
            if not text:
                continue
            try:
                field.dates.append(datetime.strptime(text, "%d/%m/%Y").date())
            except ValueError:
                raise ValidationError(
                    f"'{text}' is not a date like 30/9/2025: enter one date per line"
                ) from None


class MeasureForm(FlaskForm):
    metric_id = SelectField(
        "Metric", widget=GovSelect(), coerce=int, validators=[InputRequired("Select a metric")]
    )
    starting = SelectField(
        "From", widget=GovSelect(), validators=[InputRequired("Select the first period")]
    )
    period_target = DecimalText(
        "Target for each period", validators=[InputRequired("Enter the target")]
    )
    submit = SubmitField("Add measure", widget=GovSubmitInput())


class TargetForm(FlaskForm):
    starting = SelectField(
        "From", widget=GovSelect(), validators=[InputRequired("Select the first period")]
    )
    period_target = DecimalText(
        "New target for each period", validators=[InputRequired("Enter the target")]
    )
    reason = TextAreaField(
        "Why is the target changing?",
        widget=GovTextArea(),
        validators=[Optional(), MaxLength(1000)],
    )
    submit = SubmitField("Set target", widget=GovSubmitInput())


class RatingForm(FlaskForm):
    rating = SelectField(
        "Rating",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(r, r)
            for r in ("Good", "Approaching target", "Requires improvement", "Inadequate", "Other")
        ],
        validators=[InputRequired("Choose a rating")],
    )
    reason = TextAreaField(
        "Reason (needed if you differ from the proposal)",
        widget=GovTextArea(),
        validators=[MaxLength(2000)],
    )
    submit = SubmitField("Confirm rating", widget=GovSubmitInput())


class EscalationForm(FlaskForm):
    reason = TextAreaField(
        "Why is the contract being escalated?",
        widget=GovTextArea(),
        validators=[InputRequired("Say why the contract is being escalated"), MaxLength(2000)],
    )
    submit = SubmitField("Open escalation", widget=GovSubmitInput())


class ActionForm(FlaskForm):
    description = TextAreaField(
        "Action", widget=GovTextArea(), validators=[InputRequired("Describe the action")]
    )
    owner = StringField(
        "Owner",
        widget=GovTextInput(),
        description="Who will do it, for example Amy Turner (Purbeck Community Mediation)",
        validators=[InputRequired("Enter who owns the action"), MaxLength(200)],
    )
    due_on = GovDateField("Due date", validators=[DateRequired("Enter the date it is due")])
    submit = SubmitField("Add action", widget=GovSubmitInput())


class CloseEscalationForm(FlaskForm):
    closing_note = TextAreaField(
        "Why can the escalation close?",
        widget=GovTextArea(),
        validators=[InputRequired("Say why the escalation can close"), MaxLength(2000)],
    )
    submit = SubmitField("Close escalation", widget=GovSubmitInput())
