"""Organisation pages (officers: all; provider users: their own), contacts, reference data."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from wtforms import SelectChoice

from pam.auth.forms import ConfirmForm
from pam.auth.permissions import (
    Permission,
    can,
    can_edit_organisation,
    can_view_organisation,
    refuse,
    require,
)
from pam.core.exceptions import BusinessRuleError
from pam.core.forms import page_number, show_rule_error, whole_number
from pam.extensions import db
from pam.providers import services
from pam.providers.forms import (
    ContactForm,
    OrganisationForm,
    ProviderProfileForm,
    ReferenceItemForm,
)
from pam.providers.models import (
    KIND_LABELS,
    Area,
    Contact,
    Organisation,
    OrganisationKind,
    ServiceCategory,
)

bp = Blueprint("providers", __name__)

REFERENCE_MODELS = {
    "areas": (Area, "area"),
    "service-categories": (ServiceCategory, "service category"),
}


def _load_organisation(organisation_id: int, *, for_edit: bool = False) -> Organisation:
    """The organisation, or 404 (missing, or a provider user's look at another's record)."""
    organisation = db.session.get(Organisation, organisation_id)
    allowed = can_edit_organisation if for_edit else can_view_organisation
    if organisation is None:
        abort(404)
    if not allowed(current_user, organisation.id):
        refuse(current_user)
    return organisation


def _active_choices(model) -> list[tuple[int, str]]:
    items = db.session.scalars(select(model).where(model.is_active.is_(True)).order_by(model.name))
    return [(item.id, item.name) for item in items]


def _form_choices(model, linked: list) -> list[SelectChoice]:
    """Active items, plus any retired ones this organisation is still linked to (so an
    edit does not silently drop a link the user cannot see)."""
    items = {item.id: item for item in linked}
    items.update(
        (item.id, item)
        for item in db.session.scalars(select(model).where(model.is_active.is_(True)))
    )
    ordered = sorted(items.values(), key=lambda item: item.name)
    return [
        SelectChoice(item.id, item.name if item.is_active else f"{item.name} (no longer used)")
        for item in ordered
    ]


def _prepare(form: OrganisationForm, organisation: Organisation | None) -> None:
    form.areas.choices = _form_choices(Area, organisation.areas if organisation else [])
    form.service_categories.choices = _form_choices(
        ServiceCategory, organisation.service_categories if organisation else []
    )
    if organisation is not None and request.method == "GET":
        form.areas.data = [area.id for area in organisation.areas]
        form.service_categories.data = [c.id for c in organisation.service_categories]
        form.version.data = str(organisation.version)
        if form.kind is not None:
            form.kind.data = organisation.kind.value


def _fields(form: OrganisationForm) -> dict:
    return {
        name: field.data
        for name, field in form._fields.items()
        if name not in {"csrf_token", "submit", "version", "areas", "service_categories"}
    }


@bp.get("/organisations")
@require(Permission.VIEW_ALL_ORGANISATIONS)
def index():
    kind = request.args.get("kind", "")
    area_id = request.args.get("area", type=int)
    category_id = request.args.get("service", type=int)
    status = request.args.get("status", "active")
    search = request.args.get("q", "").strip()
    query = (
        select(Organisation)
        .where(Organisation.kind != OrganisationKind.OPCC)
        .order_by(Organisation.name)
    )
    if kind in {k.value for k in OrganisationKind}:
        query = query.where(Organisation.kind == OrganisationKind(kind))
    if area_id:
        query = query.where(Organisation.areas.any(Area.id == area_id))
    if category_id:
        query = query.where(Organisation.service_categories.any(ServiceCategory.id == category_id))
    if status in ("active", "archived"):
        query = query.where(Organisation.is_active.is_(status == "active"))
    if search:
        pattern = f"%{search}%"
        query = query.where(
            or_(Organisation.name.ilike(pattern), Organisation.charity_number.ilike(pattern))
        )
    page = db.paginate(
        query, page=page_number(), per_page=current_app.config["PAM_PAGE_SIZE"], error_out=False
    )
    return render_template(
        "providers/index.html",
        page=page,
        kind=kind,
        area_id=area_id,
        category_id=category_id,
        status=status,
        search=search,
        kinds=KIND_LABELS,
        areas=_active_choices(Area),
        categories=_active_choices(ServiceCategory),
    )


@bp.get("/organisations/mine")
@login_required
def mine():
    """A provider user's own organisation (OPCC staff are sent to the list)."""
    if not current_user.is_provider:
        return redirect(url_for("providers.index"))
    return redirect(url_for("providers.detail", organisation_id=current_user.organisation_id))


@bp.get("/organisations/<int:organisation_id>")
@login_required
def detail(organisation_id: int):
    organisation = _load_organisation(organisation_id)
    return render_template(
        "providers/detail.html",
        organisation=organisation,
        can_edit=can_edit_organisation(current_user, organisation.id),
        can_manage=can(current_user, Permission.MANAGE_ORGANISATIONS),
        confirm_form=ConfirmForm(),
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@require(Permission.MANAGE_ORGANISATIONS)
def new():
    form = OrganisationForm()
    _prepare(form, None)
    if form.validate_on_submit():
        try:
            organisation = services.create_organisation(
                current_user, _fields(form), form.areas.data, form.service_categories.data
            )
        except BusinessRuleError as error:
            db.session.rollback()
            show_rule_error(form, error)
        else:
            db.session.commit()
            flash(f"{organisation.name} has been added", "success")
            return redirect(url_for("providers.detail", organisation_id=organisation.id))
    return render_template("providers/form.html", form=form, organisation=None)


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@login_required
def edit(organisation_id: int):
    organisation = _load_organisation(organisation_id, for_edit=True)
    by_provider = not can(current_user, Permission.MANAGE_ORGANISATIONS)
    form_class = ProviderProfileForm if by_provider else OrganisationForm
    form = form_class(obj=organisation)
    _prepare(form, organisation)
    if form.validate_on_submit():
        try:
            services.update_organisation(
                current_user,
                organisation,
                _fields(form),
                expected_version=whole_number(form.version.data) or 0,
                area_ids=form.areas.data,
                service_category_ids=form.service_categories.data,
                by_provider=by_provider,
            )
        except BusinessRuleError as error:
            db.session.rollback()
            show_rule_error(form, error)
            form.version.data = str(db.session.get(Organisation, organisation_id).version)
        else:
            db.session.commit()
            flash("The organisation's details have been saved", "success")
            return redirect(url_for("providers.detail", organisation_id=organisation.id))
    return render_template("providers/form.html", form=form, organisation=organisation)


@bp.post("/organisations/<int:organisation_id>/archive")
@bp.post("/organisations/<int:organisation_id>/restore", endpoint="restore")
@require(Permission.MANAGE_ORGANISATIONS)
def archive(organisation_id: int):
    organisation = _load_organisation(organisation_id, for_edit=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    restoring = request.endpoint == "providers.restore"
    try:
        services.set_organisation_active(current_user, organisation, restoring)
    except BusinessRuleError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"{organisation.name} has been {'restored' if restoring else 'archived'}", "success")
    return redirect(url_for("providers.detail", organisation_id=organisation.id))


# --- contacts ---------------------------------------------------------------------------


def _contact_fields(form: ContactForm) -> dict:
    return {k: form[k].data for k in ("name", "job_title", "email", "phone", "is_primary")}


def _load_contact(organisation: Organisation, contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.organisation_id != organisation.id:
        abort(404)
    return contact


@bp.route("/organisations/<int:organisation_id>/contacts/new", methods=["GET", "POST"])
@bp.route(
    "/organisations/<int:organisation_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"]
)
@login_required
def contact_form(organisation_id: int, contact_id: int | None = None):
    organisation = _load_organisation(organisation_id, for_edit=True)
    contact = _load_contact(organisation, contact_id) if contact_id else None
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        if contact is None:
            services.add_contact(current_user, organisation, _contact_fields(form))
        else:
            services.update_contact(current_user, contact, _contact_fields(form))
        db.session.commit()
        flash("The contact has been saved", "success")
        return redirect(url_for("providers.detail", organisation_id=organisation.id))
    return render_template(
        "providers/contact_form.html", form=form, organisation=organisation, contact=contact
    )


@bp.post("/organisations/<int:organisation_id>/contacts/<int:contact_id>/delete")
@login_required
def delete_contact(organisation_id: int, contact_id: int):
    organisation = _load_organisation(organisation_id, for_edit=True)
    contact = _load_contact(organisation, contact_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = contact.name
    services.delete_contact(current_user, contact)
    db.session.commit()
    flash(f"{name} has been removed from the contacts", "success")
    return redirect(url_for("providers.detail", organisation_id=organisation.id))


# --- reference data -------------------------------------------------------------------------


@bp.get("/admin/reference-data")
@require(Permission.MANAGE_REFERENCE_DATA)
def reference_data():
    areas = db.session.scalars(select(Area).order_by(Area.name)).all()
    categories = db.session.scalars(select(ServiceCategory).order_by(ServiceCategory.name)).all()
    return render_template("providers/reference_data.html", areas=areas, categories=categories)


@bp.route("/admin/<any(areas, 'service-categories'):kind>/new", methods=["GET", "POST"])
@bp.route(
    "/admin/<any(areas, 'service-categories'):kind>/<int:item_id>/edit", methods=["GET", "POST"]
)
@require(Permission.MANAGE_REFERENCE_DATA)
def reference_item(kind: str, item_id: int | None = None):
    model, noun = REFERENCE_MODELS[kind]
    item = db.session.get(model, item_id) if item_id else None
    if item_id and item is None:
        abort(404)
    form = ReferenceItemForm(obj=item)
    if model is Area:
        del form.description
    if form.validate_on_submit():
        try:
            services.save_reference_item(current_user, model, item, form.data)
        except BusinessRuleError as error:
            db.session.rollback()
            show_rule_error(form, error)
        else:
            db.session.commit()
            flash(f"The {noun} has been saved", "success")
            return redirect(url_for("providers.reference_data"))
    return render_template("providers/reference_form.html", form=form, item=item, noun=noun)
