"""The API against its own OpenAPI document, with Schemathesis: for every operation,
generated requests (valid and invalid) never meet a server error, and every response -
its status, content type, headers and body - is one the document describes.

Generated path ids rarely name a real contract, so some of the cases are pointed at the
provider's own contract (and a return period it owes, where the generated body meets the
return's real checks); the rest go where they were generated (mostly 404s, which must be
documented problem details too)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from pam.api import tokens
from pam.api.models import Scope
from pam.auth.models import Role
from pam.contracts.models import Contract
from pam.core.periods import Period
from pam.extensions import db
from pam.outcomes import services as outcome_services
from pam.outcomes.dictionary import seed_dictionary
from pam.outcomes.models import Metric
from pam.returns import services as returns
from tests.conftest import FACTORY, valid_answers

PERIOD = Period.parse("2025/26-Q2")
EXAMPLES_PER_OPERATION = 30  # bounded: the whole file stays within seconds
# Which keys a return takes, and whether its figures add up, depend on the contract's
# outcome framework, which no document can state: a body the schema allows may still get
# the return's own 422 (documented, with every problem listed). Everything else is checked.
WRITES = {"PUT", "POST"}


@pytest.fixture
def provider_world(make_contract, make_organisation, make_user):
    seed_dictionary(FACTORY)
    provider = make_organisation("Purbeck Mediation")
    contract = make_contract(provider, reference="RJ-SCHEMA")
    framework = outcome_services.framework_for(FACTORY, contract)
    for code in ("RJ01", "RJ08"):
        metric = db.session.scalar(select(Metric).where(Metric.code == code))
        outcome_services.add_measure(
            FACTORY, framework, metric, Decimal("10"), Period.parse("2025/26-Q1")
        )
    make_contract(make_organisation("Other Charity"), reference="RJ-ELSEWHERE")
    admin = make_user(role=Role.PROVIDER, organisation=provider, is_organisation_admin=True)
    _, text = tokens.create_token(admin, "Case system", set(Scope), 30)
    db.session.commit()
    return {"contract_id": contract.id, "token": text}


OPERATIONS = [
    ("GET", "/api/v1/contracts"),
    ("GET", "/api/v1/contracts/{contract_id}"),
    ("GET", "/api/v1/contracts/{contract_id}/returns"),
    ("GET", "/api/v1/contracts/{contract_id}/returns/{period_slug}"),
    ("PUT", "/api/v1/contracts/{contract_id}/returns/{period_slug}/draft"),
    ("POST", "/api/v1/contracts/{contract_id}/returns/{period_slug}/submission"),
    ("GET", "/api/v1/kpis"),
    ("GET", "/api/v1/tenders"),
    ("GET", "/api/v1/decisions"),
]


def _load(app):
    def each_request_in_its_own_app_context(environ, start_response):
        """As in production (and as tests.conftest.RequestIsolatedClient does): the test
        holds an app context, which requests would otherwise share, flask.g included."""
        db.session.commit()
        with app.app_context():
            return app(environ, start_response)

    return schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", each_request_in_its_own_app_context
    )


def test_the_document_lists_exactly_the_operations_tested_here(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    listed = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert listed == set(OPERATIONS)


def _cases(operation, world):
    """Valid and invalid requests, a share aimed at the provider's own contract and a
    period it owes (where the generated values meet the return's real checks)."""
    own = {"contract_id": world["contract_id"]}
    parameters = {
        name for name in ("contract_id", "period_slug") if f"{{{name}}}" in operation.path
    }
    aimed = []
    if "contract_id" in parameters:
        aimed.append(own)
        if "period_slug" in parameters:
            aimed.append({**own, "period_slug": PERIOD.slug})
    strategies = [
        operation.as_strategy(mode, path_parameters=fixed)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for fixed in (None, *aimed)
    ]
    return st.one_of(strategies)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_response_is_one_the_document_describes(app, provider_world, method, path):
    operation = _load(app)[path][method]
    auth = {"Authorization": f"Bearer {provider_world['token']}"}
    excluded = [positive_data_acceptance] if method in WRITES else []
    answered: list[int] = []
    valid = _valid_request(operation, provider_world)
    if valid is not None:  # one request that must succeed, before the generated ones
        response = valid.call_and_validate(headers=auth, excluded_checks=excluded)
        assert 200 <= response.status_code < 300, response.text

    @given(case=_cases(operation, provider_world))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def every_case_conforms(case):
        response = case.call_and_validate(headers=auth, excluded_checks=excluded)
        answered.append(response.status_code)

    every_case_conforms()
    if valid is None:  # the generated requests reached the operation itself, not only errors
        assert any(200 <= status < 300 for status in answered), answered


def _valid_request(operation, world):
    """For the writes, a body the return's checks accept (a generated one seldom is)."""
    if operation.method.upper() not in WRITES:
        return None
    contract = db.session.get(Contract, world["contract_id"])
    values = valid_answers(returns.layout_for(contract, PERIOD))
    body = {"values": values}
    if operation.method.upper() == "POST":
        body["signed_off_by"] = "Ann Example, Service Manager"
    return operation.Case(
        path_parameters={"contract_id": contract.id, "period_slug": PERIOD.slug}, body=body
    )
