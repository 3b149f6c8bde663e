"""What the API reads and writes, as marshmallow schemas (flask-smorest turns them into
the OpenAPI document and validates requests against them)."""

from __future__ import annotations

import math

from marshmallow import Schema, ValidationError, fields, validate

MAX_PER_PAGE = 100
# Longer than any narrative answer may be (the return's own check says how long); a
# bound here keeps absurd bodies out of the stored draft.
MAX_ANSWER_LENGTH = 20_000


class Answer(fields.Field):
    """One item's value, as a template's cell holds it: a number, text or null."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or (isinstance(value, str) and len(value) <= MAX_ANSWER_LENGTH):
            return value
        if isinstance(value, str):
            raise ValidationError(f"Use {MAX_ANSWER_LENGTH} characters or fewer")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("Give a number, some text or null")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError("Give a finite number")
        return value


class Money(fields.Decimal):
    """An amount in pounds as a string ("1250.00"): exact, unlike a JSON number.
    Documented as a string with a decimal format (pam.api registers the mapping)."""

    def __init__(self, **kwargs):
        metadata = {
            "example": "1250.00",
            "pattern": r"^-?\d+\.\d{2}$",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(places=2, as_string=True, metadata=metadata, **kwargs)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class Links(Schema):
    self = fields.String(required=True)
    next = fields.String(allow_none=True)
    prev = fields.String(allow_none=True)


class Page(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    links = fields.Nested(Links, required=True)


class Named(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class Contract(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    provider = fields.Nested(Named, required=True)
    service = fields.String(required=True)
    areas = fields.List(fields.String(), required=True)
    start_on = fields.Date(required=True)
    end_on = fields.Date(required=True)
    total_value = Money(required=True)
    annual_value = Money(required=True)


class ContractPage(Page):
    items = fields.List(fields.Nested(Contract), required=True)


class ReturnPeriod(Schema):
    period = fields.String(required=True, metadata={"example": "2025-26-Q2"})
    name = fields.String(required=True)
    due_on = fields.Date(required=True)
    status = fields.String(required=True, metadata={"description": "not_started, draft, "
                           "submitted, queried or accepted"})  # fmt: skip


class ReturnItem(Schema):
    key = fields.String(required=True, metadata={"example": "K:RJ01"})
    section = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(allow_none=True, required=True)
    required = fields.Boolean(required=True)
    breakdown_of = fields.String(allow_none=True, required=True)
    value = Answer(
        allow_none=True,
        required=True,
        metadata={"anyOf": [{"type": "string"}, {"type": "number"}], "nullable": True},
    )


class Problem(Schema):
    field = fields.String(allow_none=True, required=True)
    message = fields.String(required=True)


class ProblemDetails(Schema):
    """Every error, as RFC 9457 problem details (application/problem+json)."""

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True, metadata={"example": "Not found"})
    status = fields.Integer(required=True, metadata={"example": 404})
    detail = fields.String(metadata={"description": "What went wrong, for a person to read"})
    errors = fields.List(
        fields.Nested(Problem),
        metadata={"description": "Each field that is not valid, with its message"},
    )


class Return(Schema):
    contract_id = fields.Integer(required=True)
    period = fields.String(required=True)
    name = fields.String(required=True)
    due_on = fields.Date(required=True)
    status = fields.String(required=True)
    version = fields.Integer(allow_none=True, required=True)
    items = fields.List(fields.Nested(ReturnItem), required=True)
    explanations = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    problems = fields.List(fields.Nested(Problem), required=True)


class ReturnDraft(Schema):
    values = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        values=Answer(
            allow_none=True,
            metadata={"anyOf": [{"type": "string"}, {"type": "number"}], "nullable": True},
        ),
        required=True,
        metadata={"description": "Each item's value by its key, as in the return template"},
    )
    explanations = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        values=fields.String(validate=validate.Length(max=2000)),
        load_default=dict,
        metadata={"description": "One-line explanations of large changes, by item key"},
    )


class ReturnSubmission(ReturnDraft):
    signed_off_by = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The name and role of the person signing off the return"},
    )
    correction_reason = fields.String(load_default="", validate=validate.Length(max=2000))


class Kpi(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    definition = fields.String(required=True)
    counting_rule = fields.String(required=True)
    unit = fields.String(required=True)
    direction = fields.String(required=True)
    breakdowns = fields.List(fields.String(), required=True)
    valid_from = fields.Date(required=True)


class KpiPage(Page):
    items = fields.List(fields.Nested(Kpi), required=True)


class Tender(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    procedure = fields.String(required=True)
    estimated_value = Money(required=True)
    service = fields.String(required=True)
    areas = fields.List(fields.String(), required=True)
    clarification_deadline = fields.AwareDateTime(required=True)
    submission_deadline = fields.AwareDateTime(required=True)


class TenderPage(Page):
    items = fields.List(fields.Nested(Tender), required=True)


class Decision(Schema):
    reference = fields.String(required=True)
    title = fields.String(required=True)
    type = fields.String(required=True)
    outcome = fields.String(required=True)
    decided_on = fields.Date(allow_none=True, required=True)
    value = Money(required=True)
    provider = fields.String(required=True)
    summary = fields.String(required=True)


class DecisionPage(Page):
    items = fields.List(fields.Nested(Decision), required=True)
