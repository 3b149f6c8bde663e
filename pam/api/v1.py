"""Version 1 of PAM's JSON API, under /api/v1.

Every call carries an API token (`Authorization: Bearer pam_...`), never a session
cookie, so no call can be forged from a browser (and the API needs no CSRF token). The
token acts as the person who made it: what a call may reach is decided by the same rules
as the pages (pam.auth.permissions), then narrowed by the token's scopes. Every
authenticated call is an audit event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from flask import abort, current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import select

from pam.api import schemas, tokens
from pam.api.models import ApiToken, Scope
from pam.api.problems import PROBLEM_TYPE, problem
from pam.audit import services as audit
from pam.audit.models import utcnow
from pam.auth.permissions import can_submit_return, can_view_contract, scope_contracts
from pam.contracts.models import Contract
from pam.core.exceptions import BusinessRuleError
from pam.core.periods import Period, as_utc, today_in_uk
from pam.extensions import db
from pam.market import tender_services
from pam.market.models import Tender
from pam.outcomes.models import Metric
from pam.returns import services as returns
from pam.returns.imports import Entries
from pam.returns.models import ReturnSource
from pam.returns.workflow import attempt_submission
from pam.transparency.views import published_decisions

bp = Blueprint(
    "api_v1",
    __name__,
    url_prefix="/api/v1",
)

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Every call may be refused for its token (401), its scopes or role (403) or its rate (429).
REFUSALS = (401, 403, 429)


def refusals(*more: int):
    """Document the errors an operation can answer, each as problem details."""

    def document(view):
        for status in (*REFUSALS, *more):
            view = bp.alt_response(status, response=HTTPStatus(status).name)(view)
        return view

    return document


def problem_response(status: int, description: str):
    return bp.alt_response(
        status, schema=schemas.ProblemDetails, content_type=PROBLEM_TYPE, description=description
    )


# --- authentication, scopes and the audit trail --------------------------------------------


def request_token() -> tuple[ApiToken | None, str]:
    """The call's token if it is genuine and usable, checked once per request (the rate
    limiter asks first, to count calls per token only once the secret is proven)."""
    if "api_auth" not in g:
        g.api_auth = tokens.authenticate(request.headers.get("Authorization"))
    return g.api_auth


@bp.before_request
def authenticate():
    token, why_not = request_token()
    if token is None:
        return problem(401, why_not, headers={"WWW-Authenticate": 'Bearer realm="PAM API"'})
    needed = Scope.SUBMIT if request.method in WRITE_METHODS else Scope.READ
    if needed not in token.scope_set:
        g.api_token, g.api_user = token, token.user
        return problem(403, f"This token's scopes do not include {needed.value}")
    g.api_token, g.api_user = token, token.user
    return None


@bp.after_request
def audit_call(response):
    """Record the call (and when the token was last used) in its own small transaction."""
    token = g.get("api_token")
    if token is None:
        return response
    if response.status_code >= 400:
        db.session.rollback()  # a refused call leaves nothing of itself behind
    try:
        token.last_used_at = utcnow()
        audit.record(
            "api_call",
            actor=g.api_user,
            target=token,
            summary=f"{request.method} {request.path} answered {response.status_code}",
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return response


def _user():
    return g.api_user


# --- paging ----------------------------------------------------------------------------


def _page(query, args: dict, serialise) -> dict[str, Any]:
    """One page of a select(), with the total and links to the pages either side."""
    found = db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)
    return _paged([serialise(row) for row in found.items], found.total or 0, args)


def _paged(items: list, total: int, args: dict) -> dict[str, Any]:
    page, per_page = args["page"], args["per_page"]
    last = max(1, -(-total // per_page))

    def link(number: int) -> str | None:
        if not 1 <= number <= last:
            return None
        return url_for(
            request.endpoint, **(request.view_args or {}), page=number, per_page=per_page
        )

    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "links": {
            "self": url_for(
                request.endpoint, **(request.view_args or {}), page=page, per_page=per_page
            ),
            "next": link(page + 1),
            "prev": link(min(page - 1, last)),
        },
    }


# --- contracts -------------------------------------------------------------------------


def _contract(contract: Contract) -> dict[str, Any]:
    return {
        "id": contract.id,
        "reference": contract.reference,
        "title": contract.title,
        "status": contract.status.value,
        "provider": {"id": contract.provider.id, "name": contract.provider.name},
        "service": contract.service_category.name,
        "areas": [area.name for area in contract.areas],
        "start_on": contract.start_on,
        "end_on": contract.end_on,
        "total_value": contract.total_value,
        "annual_value": contract.annual_value,
    }


def _visible_contract(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None or not can_view_contract(_user(), contract):
        abort(404)  # whether it exists or not: a provider cannot probe other contracts
    return contract


@bp.route("/contracts", tags=["Contracts"])
class Contracts(MethodView):
    @bp.arguments(schemas.PageArgs, location="query", unknown=RAISE)
    @bp.response(200, schemas.ContractPage)
    @refusals()
    def get(self, args):
        """Contracts

        The contracts the token's user may see (a provider: its own), by reference."""
        query = scope_contracts(_user(), select(Contract).order_by(Contract.reference))
        return _page(query, args, _contract)


@bp.route("/contracts/<int:contract_id>", tags=["Contracts"])
class OneContract(MethodView):
    @bp.response(200, schemas.Contract)
    @refusals(404)
    def get(self, contract_id: int):
        """One contract"""
        return _contract(_visible_contract(contract_id))


# --- returns ---------------------------------------------------------------------------


def _period(contract: Contract, slug: str) -> Period:
    try:
        period = Period.from_slug(slug)
    except ValueError:
        abort(404)
    if period not in returns.reporting_periods(contract, today_in_uk()):
        abort(404)
    return period


def _status(provider_return) -> str:
    return provider_return.status.value if provider_return is not None else "not_started"


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


@bp.route("/contracts/<int:contract_id>/returns", tags=["Returns"])
class ReturnPeriods(MethodView):
    @bp.response(200, schemas.ReturnPeriod(many=True))
    @refusals(404)
    def get(self, contract_id: int):
        """A contract's return periods

        The periods that have ended, newest first, with each return's status."""
        contract = _visible_contract(contract_id)
        return [
            {
                "period": row["period"].slug,
                "name": row["period"].name,
                "due_on": row["due_on"],
                "status": _status(row["return"]),
            }
            for row in returns.schedule(contract, today_in_uk())
        ]


def _return_body(contract: Contract, period: Period) -> dict[str, Any]:
    provider_return = returns.find_return(contract, period)
    layout = returns.layout_for(contract, period)
    answers = returns.current_answers(provider_return)
    latest = provider_return.latest if provider_return is not None else None
    return {
        "contract_id": contract.id,
        "period": period.slug,
        "name": period.name,
        "due_on": provider_return.due_on if provider_return else returns.due_on(contract, period),
        "status": _status(provider_return),
        "version": latest.number if latest is not None else None,
        "items": [
            {
                "key": item.key,
                "section": item.section,
                "label": item.label,
                "unit": item.unit.value if item.unit else None,
                "required": item.required,
                "breakdown_of": item.total_key,
                "value": _plain(answers.values.get(item.key)),
            }
            for item in layout.items
        ],
        "explanations": answers.explanations,
        "problems": [{"field": p.key, "message": p.message} for p in answers.problems],
    }


def _submittable(contract_id: int, period_slug: str) -> tuple[Contract, Period]:
    contract = _visible_contract(contract_id)
    if not can_submit_return(_user(), contract):
        abort(403)
    return contract, _period(contract, period_slug)


def _entries(contract: Contract, period: Period, body: dict[str, Any]) -> Entries:
    """The body's answers, refusing (422) any key that is not an item of this return, so
    nothing unknown is ever stored in a draft."""
    keys = {item.key for item in returns.layout_for(contract, period).items}
    explanations = body.get("explanations", {})
    unknown = [
        {"field": f"{part}.{key}", "message": f"{key} is not an item of this return"}
        for part, given in (("values", body["values"]), ("explanations", explanations))
        for key in sorted(given)
        if key not in keys
    ]
    if unknown:
        abort(problem(422, "Some keys are not items of this return: see errors", errors=unknown))
    return Entries(
        raw=dict(body["values"]),
        explanations={k: v.strip() for k, v in explanations.items() if v.strip()},
    )


@bp.route("/contracts/<int:contract_id>/returns/<period_slug>", tags=["Returns"])
class OneReturn(MethodView):
    @bp.response(200, schemas.Return)
    @refusals(404)
    def get(self, contract_id: int, period_slug: str):
        """One return

        Its items (the layout), with the values of the draft, or else of the latest
        submitted version, and the draft's problems."""
        contract = _visible_contract(contract_id)
        return _return_body(contract, _period(contract, period_slug))


@bp.route("/contracts/<int:contract_id>/returns/<period_slug>/draft", tags=["Returns"])
class ReturnDraft(MethodView):
    @bp.arguments(schemas.ReturnDraft)
    @bp.response(200, schemas.Return)
    @refusals(404)
    @problem_response(422, "A value or key is not valid; nothing was saved")
    def put(self, body, contract_id: int, period_slug: str):
        """Save a draft

        Stores the values as the return's draft: nothing is checked or submitted."""
        contract, period = _submittable(contract_id, period_slug)
        entries = _entries(contract, period, body)
        provider_return = returns.return_for(_user(), contract, period)
        returns.save_draft(_user(), provider_return, entries, [])
        db.session.commit()
        return _return_body(contract, period)


@bp.route("/contracts/<int:contract_id>/returns/<period_slug>/submission", tags=["Returns"])
class ReturnSubmission(MethodView):
    @bp.arguments(schemas.ReturnSubmission)
    @bp.response(201, schemas.Return)
    @refusals(404)
    @problem_response(422, "The return has problems (listed in errors); it is kept as a draft")
    @problem_response(409, "The return cannot be submitted now (it awaits review)")
    def post(self, body, contract_id: int, period_slug: str):
        """Submit a return

        Checks the values exactly as an uploaded template is checked and, if all is well,
        submits them. With problems, the values are kept as the draft and every problem is
        listed, with the same messages as the upload."""
        contract, period = _submittable(contract_id, period_slug)
        try:
            version, problems = attempt_submission(
                _user(),
                contract,
                period,
                _entries(contract, period, body),
                signed_off_by=body["signed_off_by"],
                source=ReturnSource.API,
                correction_reason=body.get("correction_reason", ""),
            )
        except BusinessRuleError as refused:
            db.session.rollback()
            if refused.field:  # the caller can put it right: a sign-off, a correction's reason
                errors = [{"field": refused.field, "message": refused.message}]
                return problem(422, refused.message, errors=errors)
            return problem(409, refused.message)  # not now: the return awaits review
        if version is None:
            return problem(
                422,
                "The return has problems and was not submitted: it is kept as a draft",
                errors=[{"field": p.key, "message": p.message} for p in problems],
            )
        return _return_body(contract, period)


# --- the KPI library, open tenders, published decisions -----------------------------------


def _kpi(metric: Metric) -> dict[str, Any]:
    version = metric.current
    return {
        "code": metric.code,
        "name": version.name,
        "version": version.number,
        "definition": version.definition,
        "counting_rule": version.counting_rule,
        "unit": version.unit.value,
        "direction": version.direction.value,
        "breakdowns": list(version.breakdowns or []),
        "valid_from": version.valid_from,
    }


@bp.route("/kpis", tags=["KPI library"])
class Kpis(MethodView):
    @bp.arguments(schemas.PageArgs, location="query", unknown=RAISE)
    @bp.response(200, schemas.KpiPage)
    @refusals()
    def get(self, args):
        """The KPI library

        Every active measure, as currently defined."""
        query = select(Metric).where(Metric.is_active.is_(True)).order_by(Metric.code)
        return _page(query, args, _kpi)


def _tender(tender: Tender) -> dict[str, Any]:
    return {
        "id": tender.id,
        "reference": tender.reference,
        "title": tender.title,
        "description": tender.description,
        "procedure": tender.procedure.value,
        "estimated_value": tender.estimated_value,
        "service": tender.service_category.name,
        "areas": [area.name for area in tender.areas],
        "clarification_deadline": as_utc(tender.clarification_deadline),
        "submission_deadline": as_utc(tender.submission_deadline),
    }


@bp.route("/tenders", tags=["Tenders and decisions"])
class OpenTenders(MethodView):
    @bp.arguments(schemas.PageArgs, location="query", unknown=RAISE)
    @bp.response(200, schemas.TenderPage)
    @refusals()
    def get(self, args):
        """Open tenders

        Tenders open for bids now, closing soonest first."""
        return _page(tender_services.open_for_bids(datetime.now(UTC)), args, _tender)


@bp.route("/decisions", tags=["Tenders and decisions"])
class PublishedDecisions(MethodView):
    @bp.arguments(schemas.PageArgs, location="query", unknown=RAISE)
    @bp.response(200, schemas.DecisionPage)
    @refusals()
    def get(self, args):
        """Published decisions

        Funding decisions published on the transparency page (decided, of public
        interest), newest first."""
        rows = published_decisions()
        start = (args["page"] - 1) * args["per_page"]
        return _paged(rows[start : start + args["per_page"]], len(rows), args)


def rate_limit() -> str:
    return current_app.config["PAM_API_RATE_LIMIT"]
