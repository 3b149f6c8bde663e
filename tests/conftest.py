"""Fixtures: the app, a clean database per test, factories and signed-in clients.

The suite runs on SQLite (a temporary file) by default and on PostgreSQL when
PAM_TEST_DATABASE_URL is set (CI sets it, so every run proves both databases).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import Integer, event, select, text

from pam import create_app
from pam.audit import services as audit
from pam.audit.models import AuditEvent, SystemActor
from pam.auth import sessions
from pam.auth.models import Role, User
from pam.auth.passwords import hash_password
from pam.contracts import services as contract_services
from pam.contracts.models import Contract
from pam.core.periods import Period
from pam.decisions import services as decision_services
from pam.evaluations import services as evaluation_services
from pam.extensions import db
from pam.market import services as market_services
from pam.market import tender_services
from pam.outcomes import services as outcome_services
from pam.outcomes.dictionary import seed_dictionary
from pam.outcomes.models import Metric
from pam.programmes import services as programme_services
from pam.providers import services as provider_services
from pam.providers.models import Area, Organisation, OrganisationKind, ServiceCategory
from pam.returns import services as returns_services
from pam.returns.imports import Entries
from pam.returns.models import ReturnSource

TEST_PASSWORD = "correct horse battery staple"
FACTORY = SystemActor("test factory")
_counter = itertools.count(1)


class RequestIsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Tests hold an app context so they can use db.session; without this, requests would
    share it, and with it flask.g (Flask-Login's cached user) and the test's own session.
    Around each request the test's session is committed, so the request sees what the test
    set up and the test then reads fresh rows (and not a stale SQLite snapshot). A
    streamed body (a long export) is read in full inside the request's context, as a
    server sends it before closing it; `response.response` is then the list of pieces.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        outer = has_app_context()
        if outer:
            db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if outer:
            db.session.commit()
        return response


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("PAM_TEST_DATABASE_URL")
    if url:
        from pam.config import normalise_database_url

        return normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'pam-test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    """One app for the session, with the schema created from the models."""
    app = create_app(
        {
            "PAM_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "pam.test",
            # One address makes every test's unauthenticated API calls: no limit there
            # (test_api sets a low one to prove the limit).
            "PAM_API_RATE_LIMIT": "1000000 per minute",
            # Most tests accept returns without looking at the board's patterns; the test
            # of working them out after an acceptance turns it on.
            "PAM_WORK_OUT_PATTERNS_ON_ACCEPT": False,
        }
    )
    app.test_client_class = RequestIsolatedClient
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def clean_database(app: Flask) -> Iterator[None]:
    """Each test starts with empty tables and an app context."""
    with app.app_context():
        yield
    # Emptied after the test's app context has ended, and with it anything written when
    # a context ends (worked-out suppression patterns, pam.dashboards.stored).
    with app.app_context():
        db.session.remove()
        tables = [table.name for table in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            # DELETE, not TRUNCATE: a test leaves most tables empty, and PostgreSQL's
            # TRUNCATE of 60-odd tables costs about 0.2 s every time, DELETE a tenth of it.
            # The revision stamps last: the other tables' triggers write them as they go.
            stamps = ["fact_revisions", "state_revisions"]
            for table in [name for name in tables if name not in stamps] + stamps:
                connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - names from metadata
            if connection.dialect.name == "postgresql":
                connection.execute(text(RESTART_USED_SEQUENCES))  # ids from 1 again, as SQLite


# Each sequence a test drew from starts again from 1 (last_value is null until one is used).
RESTART_USED_SEQUENCES = """
DO $$ DECLARE used record; BEGIN
  FOR used IN SELECT sequencename FROM pg_sequences
              WHERE schemaname = current_schema() AND last_value IS NOT NULL LOOP
    EXECUTE format('ALTER SEQUENCE %I RESTART', used.sequencename);
  END LOOP;
END $$
"""


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


_DEMO_ROWS: dict[str, list[dict]] | None = None


@pytest.fixture
def demo(runner) -> None:
    """The demo data, as `flask pam demo` loads it. A load takes about 20 s, so the first
    test that asks loads it and keeps a copy of every row; later tests get the rows put
    back (test_demo proves the load itself, from empty tables, every run)."""
    global _DEMO_ROWS
    if _DEMO_ROWS is None:
        result = runner.invoke(args=["pam", "demo"])
        assert result.exit_code == 0, result.output
        _DEMO_ROWS = _copy_rows()
    else:
        _put_rows_back(_DEMO_ROWS)


def _copy_rows() -> dict[str, list[dict]]:
    with db.engine.connect() as connection:
        return {
            table.name: [
                dict(row._mapping)
                for row in connection.execute(table.select().order_by(*table.primary_key))
            ]
            for table in db.metadata.sorted_tables
        }


def _put_rows_back(rows: dict[str, list[dict]]) -> None:
    db.session.remove()
    with db.engine.begin() as connection:
        for table in db.metadata.sorted_tables:
            # The revision stamps are the triggers' to write as the rows go back in.
            if rows[table.name] and table.name not in ("fact_revisions", "state_revisions"):
                connection.execute(table.insert(), rows[table.name])
        if connection.dialect.name != "postgresql":
            return
        for table in db.metadata.sorted_tables:  # new rows take ids after the copied ones
            for column in table.primary_key if rows[table.name] else ():
                if isinstance(column.type, Integer):  # no sequence: setval(NULL) does nothing
                    connection.execute(
                        text("SELECT setval(pg_get_serial_sequence(:t, :c), :n)"),
                        {"t": table.name, "c": column.name,
                         "n": max(row[column.name] for row in rows[table.name])},
                    )  # fmt: skip


# --- factories ------------------------------------------------------------------------

_PASSWORD_HASH: str | None = None


def _test_password_hash() -> str:
    """Hash the shared test password once: Argon2 at OWASP cost is deliberately slow."""
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(TEST_PASSWORD)
    return _PASSWORD_HASH


@pytest.fixture
def make_organisation() -> Callable[..., Organisation]:
    def make(
        name: str | None = None, kind: OrganisationKind = OrganisationKind.VCSE_CHARITY, **fields
    ) -> Organisation:
        organisation = Organisation(
            name=name or f"Provider {next(_counter)}",
            kind=kind,
            address=fields.pop("address", ""),
            **fields,
        )
        db.session.add(organisation)
        audit.record_create(FACTORY, organisation)
        db.session.commit()
        return organisation

    return make


@pytest.fixture
def make_user(make_organisation) -> Callable[..., User]:
    """make_user(role=Role.OFFICER, organisation=None, **fields): a user with TEST_PASSWORD."""

    def make(
        role: Role | str = Role.OFFICER, organisation: Organisation | None = None, **fields
    ) -> User:
        role = Role(role)
        if role == Role.PROVIDER and organisation is None:
            organisation = make_organisation()
        number = next(_counter)
        user = User(
            email=fields.pop("email", f"user{number}@example.org"),
            full_name=fields.pop("full_name", f"Test User {number}"),
            role=role,
            organisation_id=organisation.id if organisation else None,
            password_hash=_test_password_hash(),
            is_active_account=fields.pop("is_active_account", True),
            session_version=1,
            **fields,
        )
        db.session.add(user)
        audit.record_create(FACTORY, user)
        db.session.commit()
        return user

    return make


def login(client: FlaskClient, user: User) -> FlaskClient:
    """Sign the client in as the user without the form (the form is tested on its own)."""
    now = time.time()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session[sessions.STARTED] = session[sessions.SEEN] = now
        session[sessions.SECOND_FACTOR_AT] = now  # as if through the whole sign-in
    return client


@pytest.fixture
def login_as(app: Flask) -> Callable[[User], FlaskClient]:
    """login_as(user) -> a new test client signed in as that user."""
    return lambda user: login(app.test_client(), user)


@pytest.fixture
def client_as(make_user, login_as) -> Callable[..., FlaskClient]:
    """client_as("officer") -> a client signed in as a new user of that role."""
    return lambda role, **kwargs: login_as(make_user(role=role, **kwargs))


def _reference_factory(model, prefix: str, label: str) -> Callable[..., Any]:
    def make(name: str | None = None):
        number = next(_counter)
        item = model(code=f"{prefix}{number}", name=name or f"{label} {number}")
        db.session.add(item)
        audit.record_create(FACTORY, item)
        db.session.commit()
        return item

    return make


@pytest.fixture
def make_area() -> Callable[..., Area]:
    return _reference_factory(Area, "AREA", "Area")


@pytest.fixture
def make_service() -> Callable[..., ServiceCategory]:
    return _reference_factory(ServiceCategory, "SVC", "Service")


@pytest.fixture
def make_contract(make_organisation, make_area, make_service) -> Callable[..., Contract]:
    """make_contract(provider=None, **fields): a live contract through the real service."""

    def make(provider: Organisation | None = None, **fields) -> Contract:
        from pam.contracts import services as contract_services

        number = next(_counter)
        areas = fields.pop("areas", None) or [make_area()]
        values = {
            "reference": f"TEST-{number:04d}",
            "title": f"Test service {number}",
            "provider_id": (provider or make_organisation()).id,
            "service_category_id": fields.pop("service", None) or make_service().id,
            "start_on": date(2025, 4, 1),
            "end_on": date(2027, 3, 31),
            "total_value": Decimal("100000.00"),
            "annual_value": Decimal("50000.00"),
            "status": "live",
            **fields,
        }
        if hasattr(values["service_category_id"], "id"):
            values["service_category_id"] = values["service_category_id"].id
        contract = contract_services.create_contract(FACTORY, values, [a.id for a in areas])
        db.session.commit()
        return contract

    return make


# --- one of every record, for the route matrix and the CSRF check -------------------

PDF = b"%PDF-1.4 test document"


METRIC_FIELDS = {
    "name": "Referrals received",
    "definition": "Referrals received in the period.",
    "counting_rule": "Count each referral once, on the date received.",
    "unit": "count",
    "direction": "higher",
    "aggregation": "sum",
    "valid_from": date(2023, 4, 1),
}


def _contract_records(own, other, make_contract) -> dict:
    own_contract, other_contract = make_contract(own), make_contract(other)
    payment = contract_services.add_payment(
        FACTORY, other_contract, {"due_on": date(2025, 7, 1), "amount": Decimal("1000")}
    )
    ids = {"own_contract": own_contract.id, "other_contract": other_contract.id}
    for prefix, contract in (("own_", own_contract), ("", other_contract)):
        item = contract_services.save_compliance_item(
            FACTORY, contract, None, {"kind": "insurance"}, ("policy.pdf", PDF)
        )
        document = contract_services.add_document(
            FACTORY, contract, {"kind": "contract", "title": "Signed"}, ("signed.pdf", PDF)
        )
        db.session.flush()
        ids[f"{prefix}compliance"], ids[f"{prefix}document"] = item.id, document.id
    metric = outcome_services.create_metric(FACTORY, "T01", METRIC_FIELDS)
    measures = {}
    for contract in (own_contract, other_contract):
        framework = outcome_services.framework_for(FACTORY, contract)
        measures[contract.id] = outcome_services.add_measure(
            FACTORY, framework, metric, Decimal("10"), Period.parse("2025/26-Q1")
        )
    db.session.flush()
    period = Period.parse("2025/26-Q1")
    provider_return = returns_services.return_for(FACTORY, own_contract, period)
    layout = returns_services.layout_for(own_contract, period)
    returns_services.submit_return(
        FACTORY,
        provider_return,
        Entries(raw=valid_answers(layout)),
        signed_off_by="Test Signer",
        source=ReturnSource.CSV,
        upload=("return.csv", b"contract,x"),
    )
    escalation = outcome_services.open_escalation(FACTORY, other_contract, "Referrals falling")
    action = outcome_services.add_action(
        FACTORY, escalation, "Meet the police", "A Person", date(2026, 1, 31)
    )
    line = decision_services.save_budget_line(
        FACTORY,
        None,
        {"year": "2025/26", "code": "CORE", "name": "Core", "funder": "PCC", "allocation": 9e4},
    )
    db.session.flush()
    fields = {"title": "Award", "decision_type": "grant", "rationale": "Need",
              "options_considered": "Two", "provider_id": other.id}  # fmt: skip
    draft = decision_services.create_decision(FACTORY, fields, [(line.id, 100)], date(2025, 5, 1))
    submitted = decision_services.create_decision(
        FACTORY,
        {**fields, "decision_type": "budget_allocation"},
        [(line.id, 100)],
        date(2025, 5, 1),
    )
    decision_services.submit_decision(FACTORY, submitted)
    assessment = market_services.create_assessment(
        FACTORY,
        {"title": "RJ needs", "service_category_id": other_contract.service_category_id,
         **dict.fromkeys(("need", "supply", "gaps", "risks", "recommendations"), "Written")},
        [area.id for area in other_contract.areas],
    )  # fmt: skip
    market_services.add_consultation(
        FACTORY, assessment,
        {"stakeholders": "Victims' forum", "method": "Focus group", "held_on": date(2025, 1, 5),
         "what_they_said": "More evening sessions"},
    )  # fmt: skip
    market_services.publish(FACTORY, assessment, "")
    tender_fields = {
        "reference": "T-1",
        "title": "Tender",
        "service_category_id": other_contract.service_category_id,
        "estimated_value": "1000",
        "procedure": "open",
        "clarification_deadline": datetime(2099, 1, 1, tzinfo=UTC),
        "submission_deadline": datetime(2099, 2, 1, tzinfo=UTC),
    }
    tender = tender_services.create_tender(FACTORY, tender_fields, [], [("Quality", 100, "")])
    start = datetime(2025, 1, 1, tzinfo=UTC)
    tender_services.publish_tender(FACTORY, tender, start.date(), start)
    objective = programme_services.add_objective(FACTORY, "Better access to RJ")
    plan_action = programme_services.add_action(FACTORY, objective, "Self-referral route")
    milestone = programme_services.add_milestone(
        FACTORY, plan_action, "Web form live", "Sarah", date(2026, 6, 1)
    )
    pilot = programme_services.add_pilot(FACTORY, "NJP", "", date(2025, 4, 1))
    site = programme_services.add_site(FACTORY, pilot, other_contract.areas[0].id, "Town panel")
    panel_session = programme_services.add_session(FACTORY, site, date(2025, 5, 1), 3)
    risk = programme_services.add_risk(
        FACTORY,
        {"title": "Volunteers leave", "subject": "RJ service", "likelihood": "3", "impact": "4",
         "owner": "Tom", "review_on": date(2027, 1, 1)},
    )  # fmt: skip
    evaluation = evaluation_services.create_report(
        FACTORY,
        {"subject": f"pilot:{pilot.id}", "title": "NJP interim evaluation", "stage": "interim",
         "period_start": date(2025, 4, 1), "period_end": date(2026, 3, 31)},
    )  # fmt: skip
    db.session.commit()
    return {
        **ids,
        "assessment": assessment.id,
        "tender": tender.id,
        "objective": objective.id,
        "plan_action": plan_action.id,
        "milestone": milestone.id,
        "risk": risk.id,
        "pilot": pilot.id,
        "evaluation": evaluation.id,
        "site": site.id,
        "panel_session": panel_session.id,
        "budget_line": line.id,
        "draft_decision": draft.id,
        "decision": submitted.id,
        "payment": payment.id,
        "escalation": escalation.id,
        "action": action.id,
        "metric": metric.id,
        "measure": measures[other_contract.id].id,
        "period": period.slug,
    }


def valid_answers(layout) -> dict[str, str]:
    """A complete, valid set of answers for a layout: what a careful provider would send."""
    answers = {}
    for item in layout.items:
        if item.is_text:
            answers[item.key] = f"{item.label}: all went to plan."
        elif item.key == "S:spend":
            answers[item.key] = "12500.00"
        elif item.key == "Q:responses":
            answers[item.key] = "20"
        elif item.key == "Q:satisfied":
            answers[item.key] = "17"
        elif not item.total_key and item.section == "measures":
            answers[item.key] = "50" if item.unit.value == "percentage" else "10"
    return answers


@pytest.fixture
def records(make_organisation, make_user, make_contract) -> dict:
    """One record of each kind: ids by name, with {own_*} the provider user's organisation's
    and {other_*} another provider's."""
    own, other = make_organisation("Own Provider"), make_organisation("Other Provider")
    contact = provider_services.add_contact(FACTORY, other, {"name": "Other Contact"})
    area = provider_services.save_reference_item(
        FACTORY, Area, None, {"code": "AREA1", "name": "Area One"}
    )
    db.session.commit()
    target = make_user(role=Role.OFFICER)
    event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id))
    return {
        "own_org": own.id,
        "other_org": other.id,
        "other_contact": contact.id,
        "area": area.id,
        "target_user": target.id,
        "event": event.id,
        "_own": own,
        **_contract_records(own, other, make_contract),
    }


# --- a small hand-made reporting dataset (dashboards, exports, evaluations) ---------------


@pytest.fixture
def dataset(app, make_contract, make_area, make_service, make_organisation):
    """Two contracts in two areas reporting RJ01 (by referral source) and VS02."""
    seed_dictionary(FACTORY)
    north, south = make_area(name="North"), make_area(name="South")
    service = make_service(name="Restorative justice")
    contracts = {
        "north": make_contract(reference="DASH-N", areas=[north], service=service,
                               annual_value=Decimal("60000.00")),
        "south": make_contract(reference="DASH-S", areas=[south], service=service,
                               annual_value=Decimal("40000.00")),
    }  # fmt: skip
    for contract in contracts.values():
        framework = outcome_services.framework_for(FACTORY, contract)
        for code, target in (("RJ01", "20"), ("VS02", "10")):
            metric = db.session.scalar(select(Metric).where(Metric.code == code))
            outcome_services.add_measure(
                FACTORY, framework, metric, Decimal(target), Period.parse("2025/26-Q1")
            )
    db.session.commit()
    return {"areas": (north, south), "service": service, **contracts}


def submit_answers(contract, period: str, answers: dict[str, str], accept: bool = True) -> None:
    """A return with these answers over a valid set (keys as in the return: K:RJ04,
    E:sex:male), accepted unless told otherwise."""
    period = Period.parse(period)
    provider_return = returns_services.return_for(FACTORY, contract, period)
    given = {**valid_answers(returns_services.layout_for(contract, period)), **answers}
    explanations = {key: "explained" for key in given if key.startswith("K:")}
    returns_services.submit_return(
        FACTORY, provider_return, Entries(raw=given, explanations=explanations),
        signed_off_by="Signer", source=ReturnSource.WEB,
    )  # fmt: skip
    if accept:
        returns_services.review_return(FACTORY, provider_return, "accepted", "")
    db.session.commit()


def report(contract, period: str, accept: bool = True, **figures: str) -> None:
    """submit_answers() by measure code (RJ01="24"; a breakdown as RJ01__referral_source__police),
    with every referral from the police, so the breakdown adds up."""
    answers = {f"K:{key.replace('__', ':')}": value for key, value in figures.items()}
    layout = returns_services.layout_for(contract, Period.parse(period))
    referrals = int(answers.get("K:RJ01", valid_answers(layout)["K:RJ01"]))
    answers["K:RJ01:referral_source:police"] = str(referrals)
    submit_answers(contract, period, answers, accept)


def statements_of(client: FlaskClient, url: str) -> list[str]:
    """The SQL statements one page view runs (it must answer 200)."""
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return statements


def statements_for(client: FlaskClient, url: str) -> int:
    """How many SQL statements one page view runs (it must answer 200)."""
    return len(statements_of(client, url))


def in_fresh_interpreter(code: str) -> subprocess.CompletedProcess:
    """Run `code` after building a portal (`app`) in a new Python process: for what this
    suite's own imports and fixtures would otherwise mask (import-time registration,
    logging set-up)."""
    prelude = (
        "from pam import create_app; "
        "app = create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'SECRET_KEY': 'x'}); "
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, check=True
    )
