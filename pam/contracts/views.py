"""Contract pages: the register, a contract's page, and the officer's changes to it."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from pam.auth.forms import ConfirmForm
from pam.auth.models import Role, User
from pam.auth.permissions import Permission, can, can_view_contract, refuse, require
from pam.contracts import queries, services
from pam.contracts.forms import (
    ComplianceForm,
    ContractForm,
    DocumentForm,
    MarkPaidForm,
    PaymentForm,
    StatusForm,
    VariationForm,
)
from pam.contracts.models import (
    STATUS_CHANGES,
    ComplianceItem,
    Contract,
    ContractDocument,
    ContractStatus,
    PaymentScheduleEntry,
)
from pam.core.forms import page_number, save_change, uploaded, whole_number
from pam.core.periods import Period
from pam.core.template_helpers import format_date, format_money, today_in_uk
from pam.exports import records
from pam.exports.responses import send_sheet
from pam.extensions import db
from pam.files.services import download_response
from pam.outcomes import performance
from pam.providers.models import Area, Organisation, OrganisationKind, ServiceCategory
from pam.returns import services as returns_services

bp = Blueprint("contracts", __name__)


def _load_contract(contract_id: int) -> Contract:
    """The contract, or 404 when missing or (for a provider user) not theirs."""
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        abort(404)
    if not can_view_contract(current_user, contract):
        refuse(current_user)
    return contract


def _load_child(model, child_id: int, contract: Contract):
    child = db.session.get(model, child_id)
    if child is None or child.contract_id != contract.id:
        abort(404)
    return child


def _choices(model, *conditions, label=lambda item: item.name, blank: str | None = None):
    query = select(model).where(*conditions)
    items = db.session.scalars(query).all()
    choices = [SelectChoice(item.id, label(item)) for item in sorted(items, key=label)]
    return ([SelectChoice("", blank)] if blank else []) + choices


def _prepare(form: ContractForm, contract: Contract | None) -> None:
    if form.provider_id is not None:
        form.provider_id.choices = _choices(
            Organisation,
            Organisation.kind != OrganisationKind.OPCC,
            Organisation.is_active.is_(True),
            blank="Select a provider",
        )
    form.service_category_id.choices = _choices(
        ServiceCategory, ServiceCategory.is_active.is_(True), blank="Select a service"
    )
    linked_areas = {area.id for area in contract.areas} if contract else set()
    form.areas.choices = [
        SelectChoice(area.id, area.name)
        for area in db.session.scalars(select(Area).order_by(Area.name))
        if area.is_active or area.id in linked_areas
    ]
    form.contract_manager_id.choices = _choices(
        User,
        User.role == Role.OFFICER,
        User.is_active_account.is_(True),
        label=lambda user: user.full_name,
        blank="Not yet assigned",
    )
    if contract is not None and request.method == "GET":
        form.areas.data = [area.id for area in contract.areas]
        form.version.data = str(contract.version)


def _form_fields(form: ContractForm) -> dict:
    return {
        name: field.data
        for name, field in form._fields.items()
        if name not in ("csrf_token", "submit", "areas", "version")
    }


def _form_page(form, contract: Contract, heading: str, **context):
    return render_template(
        "core/form_page.html",
        form=form,
        heading=heading,
        caption=f"{contract.reference} {contract.title}",
        back_url=url_for("contracts.detail", contract_id=contract.id),
        **context,
    )


# --- the register -----------------------------------------------------------------------


@bp.get("/contracts/export.<fmt>")
@require(Permission.VIEW_ALL_CONTRACTS)
def export(fmt: str):
    """The register, with the page's filters and sort, as .csv or .xlsx (audited)."""
    filters = queries.RegisterFilters.from_args(request.args)
    query = queries.register_query(current_user, filters, today_in_uk())
    return send_sheet(records.contract_register(query), fmt, "contract-register", "contracts")


@bp.get("/contracts")
@login_required
def index():
    if not (
        can(current_user, Permission.VIEW_ALL_CONTRACTS)
        or can(current_user, Permission.VIEW_OWN_CONTRACTS)
    ):
        refuse(current_user)
    filters = queries.RegisterFilters.from_args(request.args)
    query = queries.register_query(current_user, filters, today_in_uk())
    page = db.paginate(
        query, page=page_number(), per_page=current_app.config["PAM_PAGE_SIZE"], error_out=False
    )
    staff = can(current_user, Permission.VIEW_ALL_CONTRACTS)
    return render_template(
        "contracts/index.html",
        page=page,
        filters=filters,
        staff=staff,
        statuses=list(ContractStatus),
        providers=_choices(Organisation, Organisation.kind != OrganisationKind.OPCC)
        if staff
        else [],
        services=_choices(ServiceCategory),
        areas=_choices(Area),
        sort_columns=queries.SORT_COLUMNS,
        today=today_in_uk(),
    )


@bp.get("/contracts/<int:contract_id>")
@login_required
def detail(contract_id: int):
    contract = _load_contract(contract_id)
    return render_template(
        "contracts/detail.html",
        contract=contract,
        can_manage=can(current_user, Permission.MANAGE_CONTRACTS),
        status_changes=STATUS_CHANGES[contract.status],
        confirm_form=ConfirmForm(),
        today=today_in_uk(),
        current_period=Period.quarter_containing(today_in_uk()),
        returns=returns_services.schedule(contract, today_in_uk()),
        **performance.page_context(contract, request.args.get("year"), today_in_uk()),
    )


# --- adding and editing -------------------------------------------------------------------


@bp.route("/contracts/new", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def new():
    form = ContractForm()
    _prepare(form, None)
    if request.method == "GET" and current_user.role == Role.OFFICER:
        form.contract_manager_id.data = current_user.id
    if form.validate_on_submit():
        contract = save_change(
            form,
            lambda: services.create_contract(current_user, _form_fields(form), form.areas.data),
        )
        if contract is not None:
            flash(f"Contract {contract.reference} has been added", "success")
            return redirect(url_for("contracts.detail", contract_id=contract.id))
    return render_template("contracts/form.html", form=form, contract=None)


@bp.route("/contracts/<int:contract_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def edit(contract_id: int):
    contract = _load_contract(contract_id)
    form = ContractForm(obj=contract)
    form.for_editing(contract)
    _prepare(form, contract)
    if form.validate_on_submit():
        version = whole_number(form.version.data) or 0  # a form without one is stale
        saved = save_change(
            form,
            lambda: services.update_contract(
                current_user, contract, _form_fields(form), form.areas.data, version
            ),
        )
        if saved is not None:
            flash("The contract's details have been saved", "success")
            return redirect(url_for("contracts.detail", contract_id=contract.id))
        form.version.data = str(db.session.get(Contract, contract_id).version)
    return render_template("contracts/form.html", form=form, contract=contract)


@bp.route("/contracts/<int:contract_id>/status", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def change_status(contract_id: int):
    contract = _load_contract(contract_id)
    form = StatusForm()
    form.set_choices(STATUS_CHANGES[contract.status])
    if not form.status.choices:
        flash(f"A {contract.status.value} contract's status cannot change", "important")
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    if form.validate_on_submit():
        changed = save_change(
            form,
            lambda: services.change_status(
                current_user, contract, ContractStatus(form.status.data), form.reason.data
            ),
        )
        if changed is not None:
            flash(f"The contract is now {contract.status.value}", "success")
            return redirect(url_for("contracts.detail", contract_id=contract.id))
    return _form_page(
        form,
        contract,
        "Change the contract's status",
        intro=(
            f"The contract is {contract.status.value}. The change and its reason are kept in the "
            "contract's history."
        ),
    )


@bp.route("/contracts/<int:contract_id>/variations/new", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def new_variation(contract_id: int):
    contract = _load_contract(contract_id)
    form = VariationForm()
    if form.validate_on_submit():
        fields = {k: f.data for k, f in form._fields.items() if k not in ("csrf_token", "submit")}
        variation = save_change(
            form, lambda: services.record_variation(current_user, contract, fields)
        )
        if variation is not None:
            flash(f"The {variation.kind.value} has been recorded", "success")
            return redirect(
                url_for("contracts.detail", contract_id=contract.id, _anchor="variations")
            )
    return _form_page(
        form,
        contract,
        "Record a variation or extension",
        intro=(
            f"The contract's value is {format_money(contract.total_value)} and it ends on "
            f"{format_date(contract.end_on)}. A variation changes either or both; the previous "
            "figures are kept with it."
        ),
        field_params={
            "value_change": {"classes": "govuk-input--width-10", "prefix": {"text": "£"}}
        },
    )


# --- payments ----------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/payments/new", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def new_payment(contract_id: int):
    contract = _load_contract(contract_id)
    form = PaymentForm()
    if form.validate_on_submit():
        fields = {
            "due_on": form.due_on.data,
            "amount": form.amount.data,
            "description": form.description.data,
        }
        if save_change(form, lambda: services.add_payment(current_user, contract, fields)):
            flash("The payment has been added to the schedule", "success")
            return redirect(
                url_for("contracts.detail", contract_id=contract.id, _anchor="payments")
            )
    return _form_page(
        form,
        contract,
        "Add a payment to the schedule",
        field_params={"amount": {"classes": "govuk-input--width-10", "prefix": {"text": "£"}}},
    )


@bp.route("/contracts/<int:contract_id>/payments/<int:payment_id>/paid", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def mark_paid(contract_id: int, payment_id: int):
    contract = _load_contract(contract_id)
    payment = _load_child(PaymentScheduleEntry, payment_id, contract)
    form = MarkPaidForm()
    if request.method == "GET":
        form.paid_on.data = today_in_uk()
    if form.validate_on_submit():
        saved = save_change(
            form,
            lambda: services.mark_payment_paid(current_user, payment, form.paid_on.data) or True,
        )
        if saved:
            flash("The payment has been recorded as paid", "success")
            return redirect(
                url_for("contracts.detail", contract_id=contract.id, _anchor="payments")
            )
    return _form_page(
        form,
        contract,
        "Record a payment as paid",
        intro=f"{format_money(payment.amount)} due on {format_date(payment.due_on)}.",
    )


@bp.post("/contracts/<int:contract_id>/payments/<int:payment_id>/delete")
@require(Permission.MANAGE_CONTRACTS)
def delete_payment(contract_id: int, payment_id: int):
    contract = _load_contract(contract_id)
    payment = _load_child(PaymentScheduleEntry, payment_id, contract)
    form = ConfirmForm()
    if form.validate_on_submit():
        if save_change(form, lambda: services.delete_payment(current_user, payment) or True):
            flash("The payment has been removed from the schedule", "success")
        else:
            flash(form.form_errors[0], "important")
    return redirect(url_for("contracts.detail", contract_id=contract.id, _anchor="payments"))


# --- compliance items and documents ----------------------------------------------------


@bp.route("/contracts/<int:contract_id>/compliance/new", methods=["GET", "POST"])
@bp.route("/contracts/<int:contract_id>/compliance/<int:item_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def compliance_form(contract_id: int, item_id: int | None = None):
    contract = _load_contract(contract_id)
    item = _load_child(ComplianceItem, item_id, contract) if item_id else None
    form = ComplianceForm(obj=item)
    if item is not None and request.method == "GET":
        form.kind.data = item.kind.value
    if form.validate_on_submit():
        fields = {k: form[k].data for k in ("kind", "description", "expires_on", "checked_on")}
        evidence = uploaded(form.evidence)
        saved = save_change(
            form,
            lambda: services.save_compliance_item(current_user, contract, item, fields, evidence),
        )
        if saved is not None:
            flash(f"{saved.kind.label} has been saved", "success")
            return redirect(
                url_for("contracts.detail", contract_id=contract.id, _anchor="compliance")
            )
        if form.form_errors and evidence:
            form.evidence.errors = [*form.evidence.errors, *form.form_errors]
            form.form_errors.clear()
    heading = f"Change {item.kind.label.lower()}" if item else "Add a compliance item"
    intro = (
        f"Current evidence: {item.evidence.filename}. Upload a file only to replace it."
        if item and item.evidence
        else None
    )
    return _form_page(form, contract, heading, intro=intro, multipart=True)


@bp.get("/contracts/<int:contract_id>/compliance/<int:item_id>/evidence")
@login_required
def compliance_evidence(contract_id: int, item_id: int):
    contract = _load_contract(contract_id)
    item = _load_child(ComplianceItem, item_id, contract)
    if item.evidence is None:
        abort(404)
    return download_response(
        current_user, item.evidence, f"{item.kind.label} evidence, {contract.reference}"
    )


@bp.route("/contracts/<int:contract_id>/documents/new", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def new_document(contract_id: int):
    contract = _load_contract(contract_id)
    form = DocumentForm()
    if form.validate_on_submit():
        upload = uploaded(form.file)
        if upload is None:
            form.file.errors = ["Select a file to upload"]
        else:
            fields = {"kind": form.kind.data, "title": form.title.data}
            document = save_change(
                form, lambda: services.add_document(current_user, contract, fields, upload)
            )
            if document is not None:
                flash(f"{document.title} has been uploaded", "success")
                return redirect(
                    url_for("contracts.detail", contract_id=contract.id, _anchor="documents")
                )
            form.file.errors = [*form.file.errors, *form.form_errors]
            form.form_errors.clear()
    return _form_page(form, contract, "Upload a document", multipart=True)


@bp.get("/contracts/<int:contract_id>/documents/<int:document_id>")
@login_required
def document(contract_id: int, document_id: int):
    contract = _load_contract(contract_id)
    document = _load_child(ContractDocument, document_id, contract)
    return download_response(current_user, document.file, f"document of {contract.reference}")


@bp.post("/contracts/<int:contract_id>/documents/<int:document_id>/delete")
@require(Permission.MANAGE_CONTRACTS)
def delete_document(contract_id: int, document_id: int):
    contract = _load_contract(contract_id)
    document = _load_child(ContractDocument, document_id, contract)
    form = ConfirmForm()
    if form.validate_on_submit() and save_change(
        form, lambda: services.remove_document(current_user, document) or True
    ):
        flash(f"{document.title} has been removed", "success")
    return redirect(url_for("contracts.detail", contract_id=contract.id, _anchor="documents"))
