"""Forms for tenders, clarifications, bids and evaluation."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovFileInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import InputRequired, Regexp

from pam.core.forms import DateRequired, GovDateField, MaxLength, MoneyField
from pam.market.models import Procedure


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


def parse_criteria(text: str) -> list[tuple[str, int, str]]:
    """'Quality | 60' lines -> [(name, weight, '')]; ValueError says which line is wrong."""
    criteria = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, _, weight = line.rpartition("|")
        if not name.strip() or not weight.strip().isdecimal():
            raise ValueError(
                f"Line {number}: write each criterion as 'Name | weight', like Quality | 60"
            )
        criteria.append((name.strip(), int(weight), ""))
    return criteria


class TenderForm(FlaskForm):
    reference = StringField(
        "Reference",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter a reference"),
            MaxLength(40),
            Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9/_.-]*$",
                message="Use letters, numbers, hyphens, slashes and full stops only",
            ),
        ],
    )
    title = StringField(
        "Title", widget=GovTextInput(), validators=[InputRequired("Enter a title"), MaxLength(200)]
    )
    description = TextAreaField(
        "What is being bought", widget=GovTextArea(), validators=[MaxLength(10000)]
    )
    market_assessment_id = SelectField(
        "Based on the market assessment", widget=GovSelect(), coerce=_optional_int
    )
    service_category_id = SelectField(
        "Service",
        widget=GovSelect(),
        coerce=_optional_int,
        validators=[InputRequired("Select the service")],
    )
    areas = SelectMultipleField("Areas", widget=GovCheckboxesInput(), coerce=int)
    estimated_value = MoneyField(
        "Estimated value", validators=[InputRequired("Enter the estimated value")]
    )
    procedure = SelectField(
        "Procedure",
        widget=GovRadioInput(),
        choices=[SelectChoice(p.value, p.label) for p in Procedure],
        validators=[InputRequired("Choose the procedure")],
    )
    direct_award_justification = TextAreaField(
        "Justification (for a direct award)", widget=GovTextArea(), validators=[MaxLength(5000)]
    )
    clarification_deadline = GovDateField(
        "Clarification questions close",
        description="At noon, UK time",
        validators=[DateRequired("Enter when clarification questions close")],
    )
    submission_deadline = GovDateField(
        "Bids close",
        description="At noon, UK time. After this no bid can be submitted and the "
        "bids can be opened.",
        validators=[DateRequired("Enter when bids close")],
    )
    award_on = GovDateField("Expected award date (optional)")
    scale_max = SelectField(
        "Scoring scale",
        widget=GovSelect(),
        choices=[SelectChoice("5", "0 to 5"), SelectChoice("10", "0 to 10")],
    )
    criteria = TextAreaField(
        "Evaluation criteria and weights",
        widget=GovTextArea(),
        description="One per line, as 'Name | weight'. The weights must add up to 100.",
        validators=[InputRequired("Enter the evaluation criteria")],
    )
    submit = SubmitField("Save draft", widget=GovSubmitInput())

    def validate_criteria(self, field) -> None:
        try:
            field.parsed = parse_criteria(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class QuestionForm(FlaskForm):
    question = TextAreaField(
        "Ask a clarification question",
        widget=GovTextArea(),
        description="The answer is published to every bidder, without saying who asked.",
        validators=[InputRequired("Enter your question"), MaxLength(2000)],
    )
    submit = SubmitField("Send question", widget=GovSubmitInput())


class AnswerForm(FlaskForm):
    answer = TextAreaField(
        "Answer",
        widget=GovTextArea(),
        validators=[InputRequired("Enter the answer"), MaxLength(5000)],
    )
    submit = SubmitField("Publish answer", widget=GovSubmitInput())


class EvaluatorForm(FlaskForm):
    user_id = SelectField(
        "Add an evaluator",
        widget=GovSelect(),
        coerce=_optional_int,
        validators=[InputRequired("Choose an officer")],
    )
    submit = SubmitField("Add evaluator", widget=GovSubmitInput())


class DeclarationForm(FlaskForm):
    has_conflict = SelectField(
        "Do you have a conflict of interest with any bidder?",
        widget=GovRadioInput(),
        choices=[SelectChoice("no", "No"), SelectChoice("yes", "Yes")],
        validators=[InputRequired("Say whether you have a conflict of interest")],
    )
    declaration = TextAreaField(
        "If yes, describe it", widget=GovTextArea(), validators=[MaxLength(2000)]
    )
    submit = SubmitField("Make declaration", widget=GovSubmitInput())


def bid_form_class(criteria):
    """A bid form with an answer field per criterion."""

    class BidForm(FlaskForm):
        price = MoneyField(
            "Your price",
            description="The total for the whole contract",
            validators=[InputRequired("Enter your price")],
        )
        document = FileField(
            "Supporting document (optional)",
            widget=GovFileInput(),
            description="PDF, Word or spreadsheet, up to 10 MB",
        )
        submit = SubmitField("Submit bid", widget=GovSubmitInput())

    for criterion in criteria:
        setattr(
            BidForm,
            f"answer_{criterion.id}",
            TextAreaField(
                f"{criterion.name} ({criterion.weight}%)",
                widget=GovTextArea(),
                description=criterion.description or None,
                validators=[
                    InputRequired(f"Answer the {criterion.name} question"),
                    MaxLength(20000),
                ],
            ),
        )
    return BidForm
