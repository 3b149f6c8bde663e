"""Forms for funding decisions and budget lines."""

from __future__ import annotations

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
from wtforms.validators import InputRequired, Optional, Regexp

from pam.core.forms import GovDateField, MaxLength, MoneyField
from pam.decisions.models import DecisionType

AMOUNT_ROWS = 4


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class DecisionForm(FlaskForm):
    version = HiddenField()
    title = StringField(
        "Title",
        widget=GovTextInput(),
        validators=[InputRequired("Enter a title for the decision"), MaxLength(200)],
    )
    decision_type = SelectField(
        "Type of decision",
        widget=GovRadioInput(),
        choices=[SelectChoice(t.value, t.label) for t in DecisionType],
        validators=[InputRequired("Choose the type of decision")],
    )
    summary = TextAreaField(
        "What is being decided", widget=GovTextArea(), validators=[MaxLength(3000)]
    )
    rationale = TextAreaField("Why", widget=GovTextArea(), validators=[MaxLength(5000)])
    options_considered = TextAreaField(
        "Options considered", widget=GovTextArea(), validators=[MaxLength(5000)]
    )
    risks = TextAreaField("Risks (optional)", widget=GovTextArea(), validators=[MaxLength(5000)])
    conflicts_declared = TextAreaField(
        "Conflicts of interest declared",
        widget=GovTextArea(),
        description="Who declared what, or 'None declared'",
        validators=[MaxLength(3000)],
    )
    is_public_interest = BooleanField(
        "Of significant public interest: publish it on the transparency page once decided",
        widget=GovCheckboxInput(),
    )
    provider_id = SelectField("Provider", widget=GovSelect(), coerce=_optional_int)
    contract_id = SelectField(
        "Contract (for a variation or extension)", widget=GovSelect(), coerce=_optional_int
    )
    contract_reference = StringField(
        "New contract's reference (for an award)",
        widget=GovTextInput(),
        validators=[
            Optional(),
            MaxLength(40),
            Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9/_.-]*$",
                message="Use letters, numbers, hyphens, slashes and full stops only",
            ),
        ],
    )
    service_category_id = SelectField(
        "Service (for an award)", widget=GovSelect(), coerce=_optional_int
    )
    area_ids = SelectMultipleField("Areas (for an award)", widget=GovCheckboxesInput(), coerce=int)
    start_on = GovDateField("Contract start date (for an award)")
    end_on = GovDateField("Contract end date (for an award)")
    annual_value = MoneyField("Annual value (for an award)")
    max_extension_months = StringField(
        "Longest extension allowed, in months (for an award)",
        widget=GovTextInput(),
        validators=[
            Optional(),
            Regexp(r"^\s*\d{1,3}\s*$", message="Enter the months as a whole number"),
        ],
    )
    new_end_on = GovDateField("New end date (for an extension)")
    submit = SubmitField("Save draft", widget=GovSubmitInput())


# The amount rows: a budget line and an amount each (filled in as many as needed).
for _index in range(1, AMOUNT_ROWS + 1):
    setattr(
        DecisionForm,
        f"line_{_index}",
        SelectField(f"Budget line {_index}", widget=GovSelect(), coerce=_optional_int),
    )
    setattr(DecisionForm, f"amount_{_index}", MoneyField(f"Amount {_index}"))


class DecideForm(FlaskForm):
    outcome = SelectField(
        "Decision",
        widget=GovRadioInput(),
        choices=[
            SelectChoice("approved", "Approve"),
            SelectChoice("deferred", "Defer: send back for more work"),
            SelectChoice("rejected", "Reject"),
        ],
        validators=[InputRequired("Choose approve, defer or reject")],
    )
    comment = TextAreaField(
        "Comments",
        widget=GovTextArea(),
        description="Needed to defer or reject",
        validators=[MaxLength(3000)],
    )
    override_reason = TextAreaField(
        "Reason for approving beyond the remaining budget (only if it does)",
        widget=GovTextArea(),
        validators=[MaxLength(2000)],
    )
    # Asked of anyone who signs in with two factors: committing public money needs a fresh
    # code, not just a session that may have been left open. Removed for anyone else.
    second_factor_code = StringField(
        "Code from your authenticator app",
        widget=GovTextInput(),
        description="To confirm it is you recording this decision.",
        validators=[InputRequired("Enter the code from your authenticator app"), MaxLength(20)],
    )
    submit = SubmitField("Record the decision", widget=GovSubmitInput())


class SubmitDecisionForm(FlaskForm):
    comment = TextAreaField(
        "Note for the decision maker (optional)", widget=GovTextArea(), validators=[MaxLength(2000)]
    )
    submit = SubmitField("Submit for decision", widget=GovSubmitInput())


class BudgetLineForm(FlaskForm):
    year = SelectField("Financial year", widget=GovSelect(), validators=[InputRequired()])
    code = StringField(
        "Code",
        widget=GovTextInput(),
        description="For example MOJ-VICTIMS",
        validators=[InputRequired("Enter a code"), MaxLength(30)],
    )
    name = StringField(
        "Name", widget=GovTextInput(), validators=[InputRequired("Enter a name"), MaxLength(200)]
    )
    funder = StringField(
        "Funder",
        widget=GovTextInput(),
        description="For example Ministry of Justice victims' grant, PCC core budget",
        validators=[InputRequired("Enter the funder"), MaxLength(200)],
    )
    allocation = MoneyField("Allocation", validators=[InputRequired("Enter the allocation")])
    submit = SubmitField("Save", widget=GovSubmitInput())
