"""The provider API (/api/v1): tokens made and revoked in the portal, the pages' own
authorisation rules, problem details for every error, paging, rate limits, the audit
trail, and returns submitted with the upload's own validation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from pam.api import tokens
from pam.api.models import ApiToken, Scope
from pam.audit import services as audit
from pam.audit.models import AuditEvent
from pam.auth.models import Role
from pam.core.exceptions import BusinessRuleError
from pam.core.periods import Period
from pam.extensions import db
from pam.outcomes import services as outcome_services
from pam.outcomes.dictionary import seed_dictionary
from pam.outcomes.models import Metric
from pam.returns import services as returns
from pam.returns.layout import check_entries
from pam.returns.models import ProviderReturn, ReturnSource, ReturnStatus
from tests.conftest import FACTORY, valid_answers

PERIOD = Period.parse("2025/26-Q2")
PROBLEM = "application/problem+json"


@pytest.fixture
def world(make_contract, make_organisation, make_user, login_as):
    """A contract with measures, its provider's administrator and an ordinary provider
    user; and another provider's contract."""
    seed_dictionary(FACTORY)
    provider = make_organisation("Purbeck Mediation")
    contract = make_contract(provider, reference="RJ-API")
    framework = outcome_services.framework_for(FACTORY, contract)
    for code, target in (("RJ01", "30"), ("RJ08", "85")):
        metric = db.session.scalar(select(Metric).where(Metric.code == code))
        outcome_services.add_measure(
            FACTORY, framework, metric, Decimal(target), Period.parse("2025/26-Q1")
        )
    other = make_contract(make_organisation("Other Charity"), reference="RJ-OTHER")
    admin = make_user(role=Role.PROVIDER, organisation=provider, is_organisation_admin=True)
    plain = make_user(role=Role.PROVIDER, organisation=provider)
    db.session.commit()
    return {
        "contract": contract,
        "other": other,
        "admin": admin,
        "plain": plain,
        "admin_client": login_as(admin),
        "plain_client": login_as(plain),
    }


def token_for(user, *scopes: Scope, days: int = 30) -> str:
    _, text = tokens.create_token(user, "Case system", set(scopes or Scope), days)
    db.session.commit()
    return text


def change(record, **values) -> None:
    """Change a record directly, with its audit event (the guard refuses anything else)."""
    before = audit.snapshot(record)
    for name, value in values.items():
        setattr(record, name, value)
    audit.record_update(FACTORY, record, before)
    db.session.commit()


def call(client, method, path, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.open(path, method=method, headers=headers, **kwargs)


def answers(contract, **changes) -> dict:
    layout = returns.layout_for(contract, PERIOD)
    return {**valid_answers(layout), **changes}


# --- tokens in the portal ------------------------------------------------------------------


def test_a_provider_administrator_makes_a_token_shown_once_and_stored_hashed(world):
    client = world["admin_client"]
    form = client.get("/account/api-tokens/new").text
    assert "Save and submit returns" in form  # providers' tokens may submit
    missing = client.post("/account/api-tokens/new", data={"name": "", "lifetime_days": "90"})
    assert (
        "Give the token a name" in missing.text and "Choose what the token may do" in missing.text
    )
    made = client.post(
        "/account/api-tokens/new",
        data={"name": "CMS", "scopes": ["read", "submit"], "lifetime_days": "90"},
    )
    text = made.text.split('id="api-token">')[1].split("<")[0]
    assert text.startswith("pam_")
    token = db.session.scalar(select(ApiToken))
    assert token.organisation_id == world["contract"].provider_id
    assert text not in (token.token_hash, token.prefix) and token.scope_set == set(Scope)
    listed = client.get("/account/api-tokens").text
    assert "CMS" in listed and text not in listed  # never shown again
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "create").order_by(AuditEvent.id.desc())
    )
    assert text not in str(event.changes) and token.token_hash not in str(event.changes)


def test_only_provider_administrators_and_staff_make_tokens_and_staff_only_read(world, client_as):
    assert world["plain_client"].get("/account/api-tokens").status_code == 404
    assert client_as(Role.BOARD_MEMBER).get("/account/api-tokens").status_code == 403
    officer = client_as(Role.OFFICER)
    assert "Save and submit returns" not in officer.get("/account/api-tokens/new").text
    forged = officer.post(
        "/account/api-tokens/new", data={"name": "x", "scopes": ["submit"], "lifetime_days": "30"}
    )
    assert "is not a valid choice" in forged.text
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0


def test_a_revoked_or_expired_token_or_a_deactivated_user_is_refused(world, client):
    text = token_for(world["admin"])
    assert call(client, "GET", "/api/v1/contracts", text).status_code == 200
    token = db.session.scalar(select(ApiToken))
    change(token, expires_at=token.created_at - timedelta(seconds=1))
    expired = call(client, "GET", "/api/v1/contracts", text)
    assert expired.status_code == 401 and "expired" in expired.json["detail"]
    change(token, expires_at=token.created_at + timedelta(days=1))
    world["admin_client"].post(f"/account/api-tokens/{token.id}/revoke")
    assert call(client, "GET", "/api/v1/contracts", text).status_code == 401
    second = token_for(world["admin"])
    change(world["admin"], is_active_account=False)
    assert call(client, "GET", "/api/v1/contracts", second).status_code == 401


def test_another_organisations_administrator_cannot_revoke_a_token(world, make_user, login_as):
    token_for(world["admin"])
    outsider = make_user(
        role=Role.PROVIDER, organisation=world["other"].provider, is_organisation_admin=True
    )
    token = db.session.scalar(select(ApiToken))
    assert login_as(outsider).post(f"/account/api-tokens/{token.id}/revoke").status_code == 404
    assert db.session.get(ApiToken, token.id).revoked_at is None


# --- authentication, errors, scoping, paging, limits -----------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Basic abc", "Bearer ", "Bearer pam_000000000000_" + "x" * 43, "Bearer nonsense"],
)
def test_calls_without_a_good_token_get_a_401_problem(world, client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/contracts", headers=headers)
    assert response.status_code == 401 and response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json) >= {"type", "title", "status", "detail"}


def test_the_right_prefix_with_a_wrong_secret_is_refused(world, client):
    text = token_for(world["admin"])
    wrong = text[:17] + "A" * 43  # "pam_" + the 12-character prefix + "_", then a guess
    assert wrong != text
    response = client.get("/api/v1/contracts", headers={"Authorization": f"Bearer {wrong}"})
    assert response.status_code == 401 and response.json["detail"] == "The API token is not valid"


def test_a_signed_in_session_never_authenticates_the_api(world):
    """The portal's cookie is ignored: without a token, a signed-in browser gets 401."""
    browser = world["admin_client"]
    assert browser.get("/account").status_code == 200  # signed in
    assert browser.get("/api/v1/contracts").status_code == 401
    url = f"/api/v1/contracts/{world['contract'].id}/returns/{PERIOD.slug}/draft"
    assert browser.put(url, json={"values": {}}).status_code == 401
    assert db.session.scalar(select(func.count(ProviderReturn.id))) == 0


def test_a_huge_id_is_a_404_problem_not_a_server_error(world, client):
    text = token_for(world["admin"])
    response = call(client, "GET", "/api/v1/contracts/99999999999999999999", text)
    assert response.status_code == 404 and response.content_type == PROBLEM
    page = world["admin_client"].post("/account/api-tokens/99999999999999999999/revoke")
    assert page.status_code == 404


def test_a_token_stops_when_its_maker_moves_organisation_or_loses_the_right(
    world, client, make_organisation
):
    text = token_for(world["admin"])
    assert call(client, "GET", "/api/v1/contracts", text).status_code == 200
    admin = world["admin"]
    change(admin, organisation_id=world["other"].provider_id)
    moved = call(client, "GET", "/api/v1/contracts", text)
    assert moved.status_code == 401 and "can no longer give it" in moved.json["detail"]
    change(admin, organisation_id=world["contract"].provider_id, is_organisation_admin=False)
    assert call(client, "GET", "/api/v1/contracts", text).status_code == 401
    change(admin, is_organisation_admin=True)
    assert call(client, "GET", "/api/v1/contracts", text).status_code == 200
    token = db.session.scalar(select(ApiToken))
    assert tokens.status(token) == "Active"


def test_making_a_token_checks_the_makers_rights_not_only_the_form(world, make_user):
    officer = make_user(role=Role.OFFICER)
    with pytest.raises(BusinessRuleError, match="cannot give a token that permission"):
        tokens.create_token(officer, "Script", {Scope.READ, Scope.SUBMIT}, 30)
    with pytest.raises(BusinessRuleError, match="cannot have API tokens"):
        tokens.create_token(world["plain"], "Script", {Scope.READ}, 30)


def test_a_submit_scope_is_not_enough_without_the_right_to_submit_the_return(
    world, client, make_user, monkeypatch
):
    """Defence in depth: even a token with the submit scope reaches only returns its maker
    may submit (officers never may: pages and API ask can_submit_return alike)."""
    from pam.api import tokens as token_module

    monkeypatch.setattr(token_module, "token_scopes_allowed", lambda user: frozenset(Scope))
    text = token_for(make_user(role=Role.OFFICER))
    url = f"/api/v1/contracts/{world['contract'].id}/returns/{PERIOD.slug}/draft"
    response = call(client, "PUT", url, text, json={"values": {}})
    assert response.status_code == 403 and response.content_type == PROBLEM


def test_a_provider_token_reaches_only_its_own_organisations_contracts(world, client):
    text = token_for(world["admin"], Scope.READ)
    listed = call(client, "GET", "/api/v1/contracts", text).json
    assert [c["reference"] for c in listed["items"]] == ["RJ-API"] and listed["total"] == 1
    other = call(client, "GET", f"/api/v1/contracts/{world['other'].id}", text)
    assert other.status_code == 404 and other.content_type == PROBLEM
    write = call(
        client,
        "PUT",
        f"/api/v1/contracts/{world['contract'].id}/returns/{PERIOD.slug}/draft",
        text,
        json={"values": {}},
    )
    assert write.status_code == 403 and "submit" in write.json["detail"]


def test_an_officers_token_reads_every_contract_and_pages_through_them(world, client, make_user):
    officer = make_user(role=Role.OFFICER)
    text = token_for(officer, Scope.READ)
    first = call(client, "GET", "/api/v1/contracts?per_page=1", text).json
    assert first["total"] == 2 and len(first["items"]) == 1 and first["links"]["prev"] is None
    second = call(client, "GET", first["links"]["next"], text).json
    assert second["items"][0]["reference"] != first["items"][0]["reference"]
    assert second["links"]["next"] is None
    bad = call(client, "GET", "/api/v1/contracts?per_page=0", text)
    assert bad.status_code == 422 and bad.content_type == PROBLEM
    assert bad.json["errors"][0]["field"] == "per_page"
    submit = call(
        client,
        "POST",
        f"/api/v1/contracts/{world['contract'].id}/returns/{PERIOD.slug}/submission",
        text,
        json={},
    )
    assert submit.status_code == 403  # officers' tokens are read-only


def test_every_authenticated_call_is_audited(world, client):
    text = token_for(world["admin"], Scope.READ)
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    call(client, "GET", "/api/v1/kpis", text)
    call(client, "GET", "/api/v1/contracts/999999", text)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "api_call").order_by(AuditEvent.id)
    ).all()
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before + 2
    assert [e.summary for e in events] == [
        "GET /api/v1/kpis answered 200",
        "GET /api/v1/contracts/999999 answered 404",
    ]
    assert events[0].actor_id == world["admin"].id
    assert db.session.scalar(select(ApiToken)).last_used_at is not None


def test_too_many_calls_get_a_429_problem_with_retry_after(world, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAM_API_RATE_LIMIT", "3 per minute")
    text = token_for(world["admin"], Scope.READ)
    answers_ = [call(client, "GET", "/api/v1/tenders", text) for _ in range(4)]
    assert [r.status_code for r in answers_] == [200, 200, 200, 429]
    assert answers_[3].content_type == PROBLEM and int(answers_[3].headers["Retry-After"]) > 0
    other = token_for(world["admin"], Scope.READ)  # counted per token
    assert call(client, "GET", "/api/v1/tenders", other).status_code == 200


def test_calls_with_a_claimed_prefix_cannot_use_up_that_tokens_allowance(
    world, client, app, monkeypatch
):
    """The prefix is no secret (the tokens page shows it): failed calls count against the
    caller's address, never against the token they name."""
    monkeypatch.setitem(app.config, "PAM_API_RATE_LIMIT", "3 per minute")
    text = token_for(world["admin"], Scope.READ)
    forged = text[:17] + "B" * 43  # its prefix, a guessed secret
    assert [call(client, "GET", "/api/v1/kpis", forged).status_code for _ in range(4)] == [
        401, 401, 401, 429,
    ]  # fmt: skip
    made_up = [f"pam_{n:012d}_" + "C" * 43 for n in range(2)]
    assert call(client, "GET", "/api/v1/kpis", made_up[0]).status_code == 429  # same address
    assert call(client, "GET", "/api/v1/kpis", text).status_code == 200  # untouched


def test_the_openapi_document_describes_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    routes = {
        rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api_v1.")
    }
    assert routes == set(document["paths"])
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["security"] == [{"bearerAuth": []}]
    one_contract = document["paths"]["/api/v1/contracts/{contract_id}"]["get"]["responses"]
    assert {"401", "403", "404", "429", "default"} <= set(one_contract)
    not_found = document["components"]["responses"]["NOT_FOUND"]["content"]
    assert list(not_found) == [PROBLEM]  # errors are documented as they are sent
    money = document["components"]["schemas"]["Contract"]["properties"]["total_value"]
    assert money["type"] == "string" and money["format"] == "decimal"


def test_a_mistyped_query_parameter_is_refused_not_ignored(world, client):
    text = token_for(world["admin"], Scope.READ)
    typo = call(client, "GET", "/api/v1/contracts?perpage=10", text)
    assert typo.status_code == 422 and typo.mimetype == PROBLEM
    assert typo.json["errors"] == [{"field": "perpage", "message": "Unknown field."}]
    assert call(client, "GET", "/api/v1/contracts?per_page=10", text).status_code == 200


# --- returns through the API ------------------------------------------------------------


def test_a_return_is_drafted_then_submitted_with_the_uploads_checks(world, client):
    contract, text = world["contract"], token_for(world["admin"])
    base = f"/api/v1/contracts/{contract.id}/returns/{PERIOD.slug}"
    periods = call(client, "GET", f"/api/v1/contracts/{contract.id}/returns", text).json
    assert any(p["period"] == PERIOD.slug and p["status"] == "not_started" for p in periods)
    empty = call(client, "GET", base, text).json
    assert empty["status"] == "not_started" and any(i["key"] == "K:RJ01" for i in empty["items"])
    draft = call(client, "PUT", f"{base}/draft", text, json={"values": {"K:RJ01": "12"}})
    assert draft.status_code == 200 and draft.json["status"] == "draft"
    assert next(i for i in draft.json["items"] if i["key"] == "K:RJ01")["value"] == "12"

    bad = answers(contract, **{"K:RJ01": "-3", "K:RJ08": "lots"})
    refused = call(
        client,
        "POST",
        f"{base}/submission",
        text,
        json={"values": bad, "signed_off_by": "Amy Turner, manager"},
    )
    assert refused.status_code == 422 and refused.content_type == PROBLEM
    fields = {e["field"] for e in refused.json["errors"]}
    assert {"K:RJ01", "K:RJ08"} <= fields
    # The same messages as the web form and the upload (one implementation).
    layout = returns.layout_for(contract, PERIOD)
    expected = {p.message for p in check_entries(layout, bad, {}, set()).problems}
    assert {e["message"] for e in refused.json["errors"]} == expected
    kept = call(client, "GET", base, text).json
    assert kept["status"] == "draft" and kept["problems"]  # nothing lost
    stored = {item["key"]: item["value"] for item in kept["items"]}
    assert stored["K:RJ01"] == "-3" and stored["K:RJ08"] == "lots"  # exactly what was sent

    good = call(
        client,
        "POST",
        f"{base}/submission",
        text,
        json={"values": answers(contract), "signed_off_by": "Amy Turner, manager"},
    )
    assert good.status_code == 201, good.json
    assert good.json["status"] == "submitted" and good.json["version"] == 1
    stored = db.session.scalar(select(ProviderReturn))
    assert stored.status == ReturnStatus.SUBMITTED
    assert stored.latest.source == ReturnSource.API
    again = call(
        client,
        "POST",
        f"{base}/submission",
        text,
        json={"values": answers(contract), "signed_off_by": "Amy Turner, manager"},
    )
    assert again.status_code == 409 and again.content_type == PROBLEM


def test_malformed_return_bodies_get_a_422_problem_and_change_nothing(world, client):
    contract, text = world["contract"], token_for(world["admin"])
    base = f"/api/v1/contracts/{contract.id}/returns/{PERIOD.slug}"
    for body in ({}, {"values": "12"}, {"values": {}, "explanations": {"K:RJ01": 5}}, []):
        response = call(client, "PUT", f"{base}/draft", text, json=body)
        assert response.status_code == 422 and response.content_type == PROBLEM, body
    answers_ = {"K:RJ01": "3"}
    for value, message in (
        ({"a": 1}, "Give a number, some text or null"),
        ([1, 2], "Give a number, some text or null"),
        (True, "Give a number, some text or null"),
        ("x" * 20_001, "Use 20000 characters or fewer"),
    ):
        response = call(client, "PUT", f"{base}/draft", text, json={"values": {"K:RJ01": value}})
        assert response.status_code == 422, value
        assert response.json["errors"] == [{"field": "values.K:RJ01", "message": message}]
    infinite = call(client, "PUT", f"{base}/draft", text, data='{"values": {"K:RJ01": 1e400}}',
                    content_type="application/json")  # fmt: skip
    assert infinite.json["errors"] == [
        {"field": "values.K:RJ01", "message": "Give a finite number"}
    ]
    nonsense = {"values": {**answers_, "K:NOPE": "1"}, "explanations": {"X": "y"}}
    unknown = call(client, "PUT", f"{base}/draft", text, json=nonsense)
    assert unknown.status_code == 422
    assert {e["field"] for e in unknown.json["errors"]} == {"values.K:NOPE", "explanations.X"}
    not_json = call(client, "PUT", f"{base}/draft", text, data="{", content_type="application/json")
    assert not_json.status_code == 400 and not_json.content_type == PROBLEM
    no_sign_off = call(
        client, "POST", f"{base}/submission", text, json={"values": answers(contract)}
    )
    assert no_sign_off.status_code == 422
    assert any(e["field"] == "signed_off_by" for e in no_sign_off.json["errors"])
    blank = {"values": answers(contract), "signed_off_by": "   "}
    blank_sign_off = call(client, "POST", f"{base}/submission", text, json=blank)
    assert blank_sign_off.status_code == 422
    assert blank_sign_off.json["errors"][0]["field"] == "signed_off_by"
    assert db.session.scalar(select(func.count(ProviderReturn.id))) == 0


def test_the_account_page_links_token_makers_to_their_tokens(world):
    assert "/account/api-tokens" in world["admin_client"].get("/account").text
    assert "/account/api-tokens" not in world["plain_client"].get("/account").text
