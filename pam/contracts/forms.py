"""Forms for contracts, variations, payments, compliance items and documents."""

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
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional, Regexp

from pam.contracts.models import (
    COMPLIANCE_LABELS,
    ComplianceKind,
    ContractStatus,
    DocumentKind,
    VariationKind,
)
from pam.core.forms import DateRequired, GovDateField, MaxLength, MoneyField


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class ContractForm(FlaskForm):
    """Adding a contract (all fields) or editing one (reference, provider, value, dates fixed)."""

    version = HiddenField()
    reference = StringField(
        "Contract reference",
        widget=GovTextInput(),
        description="For example, OPCC-RJ-2025-01",
        validators=[
            InputRequired(message="Enter the contract reference"),
            MaxLength(40),
            Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9/_.-]*$",
                message="Use letters, numbers, hyphens, slashes and full stops only",
            ),
        ],
    )
    title = StringField(
        "Title",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter the contract title"), MaxLength(200)],
    )
    description = TextAreaField(
        "Description (optional)", widget=GovTextArea(), validators=[MaxLength(5000)]
    )
    provider_id = SelectField(
        "Provider",
        widget=GovSelect(),
        coerce=_optional_int,
        validators=[InputRequired(message="Select the provider")],
    )
    service_category_id = SelectField(
        "Service",
        widget=GovSelect(),
        coerce=_optional_int,
        validators=[InputRequired(message="Select the service")],
    )
    areas = SelectMultipleField("Areas covered", widget=GovCheckboxesInput(), coerce=int)
    contract_manager_id = SelectField(
        "Contract manager", widget=GovSelect(), coerce=_optional_int, validators=[Optional()]
    )
    start_on = GovDateField("Start date", validators=[DateRequired("Enter the start date")])
    end_on = GovDateField("End date", validators=[DateRequired("Enter the end date")])
    total_value = MoneyField(
        "Total contract value",
        description="In pounds, for the whole term before any extension",
        validators=[InputRequired(message="Enter the total contract value")],
    )
    annual_value = MoneyField(
        "Annual value", validators=[InputRequired(message="Enter the annual value")]
    )
    extension_options = StringField(
        "Extension options (optional)",
        widget=GovTextInput(),
        description="For example, up to two further years, one year at a time",
        validators=[MaxLength(300)],
    )
    max_extension_months = StringField(
        "Longest extension allowed, in months",
        widget=GovTextInput(),
        default="0",
        validators=[
            Optional(),
            Regexp(r"^\s*\d{1,3}\s*$", message="Enter the months as a whole number, like 12"),
        ],
    )
    submit = SubmitField("Save", widget=GovSubmitInput())

    def for_editing(self, contract) -> None:
        """An edit leaves the identity, value and end date alone (variations change those);
        the start date can move only until the contract goes live."""
        for name in ("reference", "provider_id", "total_value", "end_on"):
            delattr(self, name)
        if contract.status != ContractStatus.MOBILISING:
            delattr(self, "start_on")


class StatusForm(FlaskForm):
    status = SelectField(
        "New status",
        widget=GovRadioInput(),
        validators=[InputRequired(message="Select the new status")],
    )
    reason = TextAreaField(
        "Why is the status changing?",
        widget=GovTextArea(),
        validators=[InputRequired(message="Say why the status is changing"), MaxLength(2000)],
    )
    submit = SubmitField("Change status", widget=GovSubmitInput())

    def set_choices(self, statuses: set[ContractStatus]) -> None:
        self.status.choices = [SelectChoice(s.value, s.label) for s in sorted(statuses)]


class VariationForm(FlaskForm):
    kind = SelectField(
        "Type of change",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(VariationKind.VARIATION.value, "Variation: an agreed change"),
            SelectChoice(VariationKind.EXTENSION.value, "Extension: taking up an option"),
        ],
        validators=[InputRequired(message="Select the type of change")],
    )
    description = TextAreaField(
        "What is changing?",
        widget=GovTextArea(),
        validators=[InputRequired(message="Enter what is changing"), MaxLength(2000)],
    )
    reason = TextAreaField(
        "Why?",
        widget=GovTextArea(),
        validators=[InputRequired(message="Enter why it is changing"), MaxLength(2000)],
    )
    value_change = MoneyField(
        "Change in total value (optional)",
        allow_negative=True,
        description="In pounds. Use a minus sign for a reduction, like -5000",
    )
    new_end_on = GovDateField("New end date (optional)")
    effective_on = GovDateField(
        "Date it takes effect", validators=[DateRequired("Enter the date it takes effect")]
    )
    approved_by = StringField(
        "Approved by",
        widget=GovTextInput(),
        description="Name and role, for example Helen Ward, Chief Finance Officer",
        validators=[InputRequired(message="Enter who approved it"), MaxLength(200)],
    )
    approved_on = GovDateField(
        "Date approved", validators=[DateRequired("Enter the date it was approved")]
    )
    submit = SubmitField("Record the change", widget=GovSubmitInput())


class PaymentForm(FlaskForm):
    due_on = GovDateField("Due date", validators=[DateRequired("Enter the date it is due")])
    amount = MoneyField("Amount", validators=[InputRequired(message="Enter the amount")])
    description = StringField(
        "Description (optional)",
        widget=GovTextInput(),
        description="For example, Q1 2025/26 instalment",
        validators=[MaxLength(200)],
    )
    submit = SubmitField("Add payment", widget=GovSubmitInput())


class MarkPaidForm(FlaskForm):
    paid_on = GovDateField("Date paid", validators=[DateRequired("Enter the date it was paid")])
    submit = SubmitField("Record payment", widget=GovSubmitInput())


class ComplianceForm(FlaskForm):
    kind = SelectField(
        "What must the provider hold?",
        widget=GovSelect(),
        choices=[SelectChoice(kind.value, COMPLIANCE_LABELS[kind]) for kind in ComplianceKind],
        validators=[InputRequired(message="Select what the provider must hold")],
    )
    description = StringField(
        "Details (optional)",
        widget=GovTextInput(),
        description="For example, the insurer and policy number",
        validators=[MaxLength(300)],
    )
    expires_on = GovDateField("Expiry date (optional)")
    checked_on = GovDateField("Date checked (optional)")
    evidence = FileField(
        "Evidence (optional)",
        widget=GovFileInput(),
        description="PDF, Word, spreadsheet or image, up to 10 MB",
    )
    submit = SubmitField("Save", widget=GovSubmitInput())


class DocumentForm(FlaskForm):
    kind = SelectField(
        "Type of document",
        widget=GovSelect(),
        choices=[SelectChoice(kind.value, kind.label) for kind in DocumentKind],
        validators=[InputRequired(message="Select the type of document")],
    )
    title = StringField(
        "Title (optional)",
        widget=GovTextInput(),
        description="The file name is used if you leave this blank",
        validators=[MaxLength(200)],
    )
    file = FileField(
        "File", widget=GovFileInput(), description="PDF, Word, spreadsheet or image, up to 10 MB"
    )
    submit = SubmitField("Upload", widget=GovSubmitInput())
