"""The versioned metric dictionary and contracts' outcome frameworks with target history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from pam.auth.models import Role
from pam.core.periods import Period
from pam.extensions import db
from pam.outcomes import services
from pam.outcomes.dictionary import SEED, seed_dictionary
from pam.outcomes.models import FrameworkMeasure, Metric, MetricVersion, Unit
from tests.conftest import FACTORY


def metric_form(**overrides):
    data = {
        "code": "RJ99",
        "name": "Victims contacted within 5 days",
        "definition": "Victims first contacted within five working days of referral.",
        "counting_rule": "Referrals first contacted in the period.",
        "unit": "percentage",
        "numerator": "Victims contacted within 5 working days",
        "denominator": "Victims first contacted in the period",
        "direction": "higher",
        "aggregation": "average",
        "breakdowns": [],
        "funder_mappings": "MoJ victims' services return: timeliness\n",
        "valid_from": ["1", "4", "2025"],
        "change_note": "New measure for the 2025 contracts",
    }
    data.update(overrides)
    return data


def test_the_seed_dictionary_holds_the_domain_measures_once(app, client_as):
    client = client_as(Role.PROVIDER)
    assert seed_dictionary(FACTORY) == len(SEED)
    db.session.commit()
    assert seed_dictionary(FACTORY) == 0
    codes = set(db.session.scalars(select(Metric.code)))
    assert {"RJ01", "RJ08", "RJ09", "RJ10", "YJ01", "VS02"} <= codes
    vs01 = db.session.scalar(select(Metric).where(Metric.code == "VS01"))
    page = client.get(f"/measures/{vs01.id}")  # a measure with breakdowns shows them
    assert page.status_code == 200 and "Crime type, Referral source" in page.text
    for version in db.session.scalars(select(MetricVersion)):
        if version.unit == Unit.PERCENTAGE:
            assert version.numerator and version.denominator, version.name
    rj10 = db.session.scalar(select(Metric).where(Metric.code == "RJ10")).current
    assert rj10.direction.value == "lower"


def test_officer_adds_a_measure_and_anyone_can_read_it(client_as, make_user, login_as):
    officer = client_as(Role.OFFICER)
    response = officer.post("/measures/new", data=metric_form())
    assert response.status_code == 302, response.data
    metric = db.session.scalar(select(Metric).where(Metric.code == "RJ99"))
    assert metric.current.funder_mappings == ["MoJ victims' services return: timeliness"]
    provider = login_as(make_user(role=Role.PROVIDER))
    page = provider.get(f"/measures/{metric.id}").data.decode()
    assert "Victims contacted within 5 working days" in page
    assert "Make a new version" not in page
    assert provider.get("/measures/new").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"numerator": ""}, "A percentage needs its numerator and denominator"),
        ({"aggregation": "sum"}, "Percentages cannot be added up over the year"),
        ({"counting_rule": ""}, "Enter the counting rule"),
        ({"code": "RJ 99"}, "Use only letters, numbers and hyphens"),
        ({"breakdowns": ["shoe_size"]}, "is not a valid choice"),
    ],
)
def test_bad_measures_are_explained(client_as, overrides, message):
    officer = client_as(Role.OFFICER)
    body = officer.post("/measures/new", data=metric_form(**overrides)).data.decode()
    assert message in body
    assert 'value="Victims contacted within 5 days"' in body
    assert db.session.scalar(select(func.count(Metric.id))) == 0


def test_a_changed_definition_is_a_new_version_and_the_old_one_stays(client_as):
    officer = client_as(Role.OFFICER)
    officer.post("/measures/new", data=metric_form())
    metric = db.session.scalar(select(Metric))
    url = f"/measures/{metric.id}/revise"
    same = officer.post(url, data=metric_form(valid_from=["1", "4", "2026"], change_note="x"))
    assert "Nothing has changed" in same.data.decode()
    early = officer.post(
        url,
        data=metric_form(name="Contacted within 3 days", valid_from=["1", "1", "2025"]),
    )
    assert "must apply from after 01/04/2025" in early.data.decode()
    ok = officer.post(
        url,
        data=metric_form(
            name="Contacted within 3 days",
            valid_from=["1", "4", "2026"],
            change_note="Tightened to three days",
        ),
    )
    assert ok.status_code == 302
    db.session.expire_all()
    metric = db.session.get(Metric, metric.id)
    assert [v.name for v in metric.versions] == [
        "Victims contacted within 5 days",
        "Contacted within 3 days",
    ]
    assert metric.version_on(date(2025, 12, 31)).number == 1
    assert metric.version_on(date(2026, 4, 1)).number == 2


@pytest.fixture
def referrals(app):
    seed_dictionary(FACTORY)
    db.session.commit()
    return db.session.scalar(select(Metric).where(Metric.code == "RJ01"))


@pytest.fixture
def satisfaction(referrals):
    return db.session.scalar(select(Metric).where(Metric.code == "RJ08"))


def test_framework_measures_and_targets_keep_their_history(client_as, make_contract, referrals):
    contract = make_contract()
    officer = client_as(Role.OFFICER)
    url = f"/contracts/{contract.id}/framework/measures/new"
    added = officer.post(
        url, data={"metric_id": str(referrals.id), "starting": "2025/26-Q1", "period_target": "30"}
    )
    assert added.status_code == 302, added.data
    again = officer.post(
        url, data={"metric_id": str(referrals.id), "starting": "2025/26-Q1", "period_target": "3"}
    )
    assert "Not a valid choice" in again.data.decode()  # no longer offered
    measure = db.session.scalar(select(FrameworkMeasure))
    change = f"/contracts/{contract.id}/framework/measures/{measure.id}/target"
    no_reason = officer.post(change, data={"starting": "2026/27-Q1", "period_target": "40"})
    assert "Say why the target is changing" in no_reason.data.decode()
    officer.post(
        change,
        data={"starting": "2026/27-Q1", "period_target": "40", "reason": "More police referrals"},
    )
    db.session.expire_all()
    measure = db.session.get(FrameworkMeasure, measure.id)
    assert measure.target_for(Period.parse("2025/26-Q4").starts_on).period_target == 30
    assert measure.target_for(Period.parse("2026/27-Q1").starts_on).period_target == 40
    assert measure.target_for(Period.parse("2024/25-Q4").starts_on) is None
    page = officer.get(f"/contracts/{contract.id}").data.decode()
    assert "RJ01" in page and "More police referrals" in page


@pytest.mark.parametrize(
    ("metric", "target", "message"),
    [
        ("satisfaction", "120", "must be a percentage from 0 to 100"),
        ("referrals", "12.5", "must be a whole number"),
        ("referrals", "-1", "must be 0 or more"),
        ("referrals", "lots", "must be a number"),
    ],
)
def test_targets_must_make_sense_for_the_unit(
    request, client_as, make_contract, metric, target, message
):
    chosen = request.getfixturevalue(metric)
    contract = make_contract()
    officer = client_as(Role.OFFICER)
    body = officer.post(
        f"/contracts/{contract.id}/framework/measures/new",
        data={"metric_id": str(chosen.id), "starting": "2025/26-Q1", "period_target": target},
    ).data.decode()
    assert message in body
    assert db.session.scalar(select(func.count(FrameworkMeasure.id))) == 0


def test_a_removed_measure_keeps_its_targets_and_can_come_back(make_contract, referrals):
    contract = make_contract()
    framework = services.framework_for(FACTORY, contract)
    measure = services.add_measure(
        FACTORY, framework, referrals, Decimal("30"), Period.parse("2025/26-Q1")
    )
    services.remove_measure(FACTORY, measure)
    db.session.commit()
    assert framework.active_measures == []
    again = services.add_measure(
        FACTORY, framework, referrals, Decimal("35"), Period.parse("2026/27-Q1")
    )
    db.session.commit()
    assert again.id == measure.id and [t.period_target for t in again.targets] == [30, 35]


def test_reporting_arrangements_are_validated(client_as, make_contract):
    contract = make_contract()
    officer = client_as(Role.OFFICER)
    url = f"/contracts/{contract.id}/framework"
    officer.get(url)
    contract = db.session.get(type(contract), contract.id)
    version = str(contract.framework.version)
    good = {
        "version": version,
        "frequency": "monthly",
        "due_days": "10",
        "rag_tolerance_percent": "15",
    }
    assert (
        "between 0% and 50%"
        in officer.post(url, data={**good, "rag_tolerance_percent": "80"}).data.decode()
    )
    assert "whole number" in officer.post(url, data={**good, "due_days": "ten"}).data.decode()
    assert officer.post(url, data=good).status_code == 302
    stale = officer.post(url, data={**good, "due_days": "20"})
    assert "Someone else changed this outcome framework" in stale.data.decode()
    db.session.expire_all()
    framework = db.session.get(type(contract), contract.id).framework
    assert (framework.frequency.value, framework.due_days) == ("monthly", 10)
    assert framework.due_in_working_days is False
    assert framework.rag_tolerance_percent == Decimal("15")


def test_provider_reads_their_framework_but_cannot_change_it(
    make_user, login_as, make_contract, referrals
):
    contract = make_contract()
    framework = services.framework_for(FACTORY, contract)
    services.add_measure(FACTORY, framework, referrals, Decimal("30"), Period.parse("2025/26-Q1"))
    db.session.commit()
    provider = login_as(make_user(role=Role.PROVIDER, organisation=contract.provider))
    page = provider.get(f"/contracts/{contract.id}").data.decode()
    assert "Referrals received" in page and "Change target" not in page
    assert provider.get(f"/contracts/{contract.id}/framework").status_code == 404


def test_a_milestone_schedule_sets_the_reporting_periods(client_as, make_contract, referrals):
    from pam.outcomes.schedule import all_periods
    from pam.returns.services import reporting_periods

    contract = make_contract(start_on=date(2025, 4, 1), end_on=date(2026, 3, 31))
    framework = services.framework_for(FACTORY, contract)
    services.add_measure(FACTORY, framework, referrals, Decimal("12"), Period.parse("2025/26-Q1"))
    db.session.commit()
    officer = client_as(Role.OFFICER)
    url = f"/contracts/{contract.id}/framework"
    form = {
        "version": str(framework.version),
        "frequency": "milestone",
        "due_days": "10",
        "rag_tolerance_percent": "10",
    }
    assert "Enter at least one milestone date" in officer.post(url, data=form).text
    bad = officer.post(url, data={**form, "milestones": "30/9/2025\nnext spring"}).text
    assert "&#39;next spring&#39; is not a date like 30/9/2025" in bad
    outside = officer.post(url, data={**form, "milestones": "30/9/2027"}).text
    assert "is outside the contract" in outside
    ok = officer.post(url, data={**form, "milestones": "31/3/2026\n30/9/2025"})
    assert ok.status_code == 302
    db.session.expire_all()
    contract = db.session.get(type(contract), contract.id)
    periods = all_periods(contract)
    assert [(p.starts_on, p.ends_on) for p in periods] == [
        (date(2025, 4, 1), date(2025, 9, 30)),
        (date(2025, 10, 1), date(2026, 3, 31)),
    ]
    assert periods[0].name == "Milestone 30 September 2025 (1 April 2025 to 30 September 2025)"
    assert Period.parse(periods[1].label) == periods[1]
    assert reporting_periods(contract, date(2025, 12, 1)) == periods[:1]
    page = officer.get(f"/contracts/{contract.id}/returns/{periods[0].slug}")
    assert page.status_code == 200 and "Milestone 30 September 2025" in page.text
    # A return for a milestone period is stored (its long label fits on every database).
    from pam.returns import services as returns_services
    from pam.returns.imports import Entries
    from pam.returns.models import ReturnSource
    from tests.conftest import valid_answers

    provider_return = returns_services.return_for(FACTORY, contract, periods[0])
    layout = returns_services.layout_for(contract, periods[0])
    returns_services.submit_return(
        FACTORY, provider_return, Entries(raw=valid_answers(layout)), signed_off_by="A Signer",
        source=ReturnSource.WEB,
    )  # fmt: skip
    db.session.commit()
    assert provider_return.latest.figure("K:RJ01") == 10
    changed = officer.post(url, data={**form, "version": str(contract.framework.version),
                                      "frequency": "quarterly"})  # fmt: skip
    assert "returns already made for" in changed.text  # the schedule cannot orphan them
