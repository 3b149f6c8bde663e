"""Browsing the audit trail: filter events, see one record's history as a timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, abort, current_app, render_template, request, url_for
from sqlalchemy import distinct, func, select

from pam.audit.models import AuditEvent
from pam.auth.models import User
from pam.auth.permissions import Permission, require
from pam.core.forms import page_number
from pam.exports import records
from pam.exports.responses import send_long_sheet
from pam.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filtered_events(args) -> tuple:
    """The events query for the page's filters, the filters, and any date problems."""
    filters = {
        "record_type": args.get("record_type", ""),
        "record_id": args.get("record_id", "").strip(),
        "actor_id": args.get("actor_id", type=int),
        "action": args.get("action", ""),
        "from": _parse_day(args.get("from")),
        "to": _parse_day(args.get("to")),
    }
    errors = []
    if args.get("from") and filters["from"] is None:
        errors.append("Enter the 'from' date as YYYY-MM-DD, for example 2026-04-01")
    if args.get("to") and filters["to"] is None:
        errors.append("Enter the 'to' date as YYYY-MM-DD, for example 2026-06-30")
    query = select(AuditEvent).order_by(AuditEvent.sequence.desc())
    if filters["record_type"]:
        query = query.where(AuditEvent.record_type == filters["record_type"])
    if filters["record_id"]:
        query = query.where(AuditEvent.record_id == filters["record_id"])
    if filters["actor_id"]:
        query = query.where(AuditEvent.actor_id == filters["actor_id"])
    if filters["action"]:
        query = query.where(AuditEvent.action == filters["action"])
    if filters["from"]:
        query = query.where(
            AuditEvent.occurred_at >= datetime.combine(filters["from"], time(), UTC)
        )
    if filters["to"]:
        end = datetime.combine(filters["to"] + timedelta(days=1), time(), UTC)
        query = query.where(AuditEvent.occurred_at < end)
    return query, filters, errors


@bp.get("/export.<fmt>")
@require(Permission.VIEW_AUDIT)
def export(fmt: str):
    """The events the page's filters select, oldest first, as .csv or .xlsx (the export
    is itself an audited event)."""
    query, _filters, _errors = _filtered_events(request.args)
    chosen = query.order_by(None).subquery()
    count, last = db.session.execute(select(func.count(), func.max(chosen.c.sequence))).one()
    # The events as they were counted: not the export's own event, nor any added while
    # the file is sent.
    chosen_then = (
        query.where(AuditEvent.sequence <= (last or 0))
        .order_by(None)
        .order_by(AuditEvent.sequence)
        .execution_options(yield_per=records.ROWS_PER_READ)
    )

    def events():  # read only once the file is being sent: the export's own event is
        yield from db.session.scalars(chosen_then)  # committed first, closing any cursor

    return send_long_sheet(records.audit_trail(events(), count), fmt, "audit-trail",
                           "audit_events", back=url_for("audit.index", **request.args))  # fmt: skip


@bp.get("")
@require(Permission.VIEW_AUDIT)
def index():
    """Every event, newest first, filtered by record, user, action and date."""
    query, filters, errors = _filtered_events(request.args)
    page = db.paginate(
        query, page=page_number(), per_page=current_app.config["PAM_PAGE_SIZE"] * 2, error_out=False
    )
    record_types = db.session.scalars(
        select(distinct(AuditEvent.record_type))
        .where(AuditEvent.record_type.is_not(None))
        .order_by(AuditEvent.record_type)
    ).all()
    actions = db.session.scalars(
        select(distinct(AuditEvent.action)).order_by(AuditEvent.action)
    ).all()
    users = db.session.scalars(select(User).order_by(User.full_name)).all()
    return render_template(
        "audit/index.html",
        page=page,
        filters=filters,
        errors=errors,
        record_types=record_types,
        actions=actions,
        users=users,
    )


@bp.get("/records/<record_type>/<record_id>")
@require(Permission.VIEW_AUDIT)
def record_history(record_type: str, record_id: str):
    """One record's history, oldest first, as a timeline."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.record_type == record_type, AuditEvent.record_id == record_id)
        .order_by(AuditEvent.sequence)
    ).all()
    if not events:
        abort(404)
    return render_template(
        "audit/history.html", events=events, record_type=record_type, record_id=record_id
    )


@bp.get("/events/<int:event_id>")
@require(Permission.VIEW_AUDIT)
def event_detail(event_id: int):
    event = db.session.get(AuditEvent, event_id)
    if event is None:
        abort(404)
    return render_template("audit/event.html", event=event)
