"""The contract register: adding, editing, varying, compliance, payments and documents."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from pam.audit.models import AuditEvent
from pam.auth.models import Role
from pam.contracts import services
from pam.contracts.models import ComplianceItem, Contract, ContractStatus, Variation
from pam.core.exceptions import BusinessRuleError
from pam.core.periods import Period, today_in_uk
from pam.extensions import db
from pam.outcomes import services as outcome_services
from pam.outcomes.dictionary import seed_dictionary
from pam.outcomes.models import Metric
from tests.conftest import FACTORY, report, statements_for

PDF = b"%PDF-1.4 insurance certificate"


def form_data(provider, area, service, **overrides):
    data = {
        "reference": "opcc-rj-2025-01",
        "title": "Restorative justice for adult victims",
        "provider_id": str(provider.id),
        "service_category_id": str(service.id),
        "areas": [str(area.id)],
        "contract_manager_id": "",
        "start_on": ["1", "4", "2025"],
        "end_on": ["31", "3", "2028"],
        "total_value": "£150,000.10",
        "annual_value": "50000.03",
        "extension_options": "Up to 2 further years",
        "max_extension_months": "24",
    }
    data.update(overrides)
    return data


@pytest.fixture
def parts(make_organisation, make_area, make_service):
    return make_organisation("Wessex Mediation"), make_area("Dorset"), make_service("RJ adults")


def test_officer_adds_a_contract_with_exact_money(client_as, parts):
    officer = client_as(Role.OFFICER)
    response = officer.post("/contracts/new", data=form_data(*parts))
    assert response.status_code == 302, response.data
    contract = db.session.scalar(select(Contract))
    assert contract.reference == "OPCC-RJ-2025-01"
    assert contract.total_value == Decimal("150000.10")
    assert contract.annual_value == Decimal("50000.03")
    assert contract.status == ContractStatus.MOBILISING
    assert (contract.start_on, contract.end_on) == (date(2025, 4, 1), date(2028, 3, 31))
    page = officer.get(f"/contracts/{contract.id}").data.decode()
    assert "£150,000.10" in page
    assert f'href="/organisations/{contract.provider_id}">Wessex Mediation</a>' in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "contracts"))
    assert event.changes["total_value"]["after"] == "150000.10"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"total_value": "twelve"}, "Total contract value must be an amount in pounds"),
        ({"total_value": "-5"}, "Total contract value must be £0 or more"),
        ({"annual_value": "1.234"}, "Annual value must be an amount in pounds"),
        ({"end_on": ["1", "4", "2024"]}, "The end date must be after the start date"),
        ({"start_on": ["31", "2", "2025"]}, "Start date must be a real date"),
        ({"areas": []}, "Select at least one area"),
        ({"provider_id": ""}, "Select the provider"),
        ({"reference": "has spaces"}, "Use letters, numbers"),
        ({"max_extension_months": "lots"}, "Enter the months as a whole number"),
        ({"max_extension_months": "999"}, "Extensions can be up to 120 months"),
    ],
)
def test_bad_contract_input_is_explained_and_kept(client_as, parts, overrides, message):
    officer = client_as(Role.OFFICER)
    response = officer.post("/contracts/new", data=form_data(*parts, **overrides))
    body = response.data.decode()
    assert response.status_code == 200
    assert message in body
    assert "There is a problem" in body
    assert 'value="Restorative justice for adult victims"' in body  # what was typed stays
    assert db.session.scalar(select(func.count(Contract.id))) == 0


def test_duplicate_reference_and_archived_provider_are_refused(
    client_as, parts, make_contract, make_organisation
):
    provider, area, service = parts
    make_contract(provider, reference="OPCC-RJ-2025-01")
    officer = client_as(Role.OFFICER)
    clash = officer.post("/contracts/new", data=form_data(*parts))
    assert "A contract with this reference already exists" in clash.data.decode()
    archived = make_organisation("Closed Charity", is_active=False)
    response = officer.post(
        "/contracts/new",
        data=form_data(archived, area, service, reference="NEW-1", provider_id=str(archived.id)),
    )
    # Archived providers are not offered, so the choice is refused as not valid.
    assert response.status_code == 200
    assert db.session.scalar(select(func.count(Contract.id))) == 1


def test_editing_cannot_change_value_or_end_date(client_as, make_contract):
    contract = make_contract(title="Old title")
    officer = client_as(Role.OFFICER)
    response = officer.post(
        f"/contracts/{contract.id}/edit",
        data={
            "version": str(contract.version),
            "title": "New title",
            "service_category_id": str(contract.service_category_id),
            "areas": [str(a.id) for a in contract.areas],
            "annual_value": "60000",
            "total_value": "1",
            "end_on": ["1", "1", "2040"],
            "max_extension_months": "0",
        },
    )
    assert response.status_code == 302, response.data
    db.session.refresh(contract)
    assert contract.title == "New title"
    assert contract.total_value == Decimal("100000.00")
    assert contract.end_on == date(2027, 3, 31)


def test_a_stale_edit_is_refused_and_keeps_the_input(client_as, make_contract):
    contract = make_contract()
    officer = client_as(Role.OFFICER)
    stale = {
        "version": "0",
        "title": "My change",
        "service_category_id": str(contract.service_category_id),
        "areas": [str(a.id) for a in contract.areas],
        "annual_value": "1",
    }
    body = officer.post(f"/contracts/{contract.id}/edit", data=stale).data.decode()
    assert "Someone else changed this contract" in body and 'value="My change"' in body


def test_two_edits_racing_past_the_version_check_meet_at_the_database(
    client_as, make_contract, monkeypatch
):
    """Both requests read version N; the second UPDATE finds no row at N and its user is
    told so, with the input kept, rather than a server error or a silent overwrite."""
    contract = make_contract()
    checked = services.update_contract

    def and_meanwhile_another_edit_lands(actor, racing, *args, **kwargs):
        db.session.connection().execute(
            text("UPDATE contracts SET version = version + 1 WHERE id = :id"), {"id": racing.id}
        )
        return checked(actor, racing, *args, **kwargs)

    monkeypatch.setattr(services, "update_contract", and_meanwhile_another_edit_lands)
    form = {
        "version": str(contract.version),
        "title": "My change",
        "service_category_id": str(contract.service_category_id),
        "areas": [str(a.id) for a in contract.areas],
        "annual_value": "1",
    }
    response = client_as(Role.OFFICER).post(f"/contracts/{contract.id}/edit", data=form)
    assert response.status_code == 200
    assert "Someone else changed this record" in response.text
    assert 'value="My change"' in response.text
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).title != "My change"


def variation(**overrides):
    data = {
        "kind": "variation",
        "description": "Add a second facilitator",
        "reason": "Demand has doubled",
        "value_change": "20000",
        "new_end_on": ["", "", ""],
        "effective_on": ["1", "10", "2025"],
        "approved_by": "Helen Ward, Chief Finance Officer",
        "approved_on": ["20", "9", "2025"],
    }
    data.update(overrides)
    return data


def test_a_variation_changes_value_and_keeps_the_before_and_after(client_as, make_contract):
    contract = make_contract()
    officer = client_as(Role.OFFICER)
    response = officer.post(f"/contracts/{contract.id}/variations/new", data=variation())
    assert response.status_code == 302, response.data
    db.session.refresh(contract)
    assert contract.total_value == Decimal("120000.00")
    assert contract.original_total_value == Decimal("100000.00")
    recorded = db.session.scalar(select(Variation))
    assert (recorded.previous_total_value, recorded.new_total_value) == (
        Decimal("100000.00"),
        Decimal("120000.00"),
    )
    page = officer.get(f"/contracts/{contract.id}").data.decode()
    assert "Demand has doubled" in page and "originally £100,000.00" in page


def test_extensions_respect_the_contracts_options(client_as, make_contract):
    contract = make_contract(max_extension_months=12)
    officer = client_as(Role.OFFICER)
    url = f"/contracts/{contract.id}/variations/new"
    too_far = officer.post(
        url, data=variation(kind="extension", value_change="", new_end_on=["31", "3", "2029"])
    )
    assert "its options allow 12" in too_far.data.decode()
    ok = officer.post(
        url, data=variation(kind="extension", value_change="", new_end_on=["31", "3", "2028"])
    )
    assert ok.status_code == 302
    db.session.refresh(contract)
    assert contract.end_on == date(2028, 3, 31) and contract.extended_months == 12
    shorter = officer.post(
        url, data=variation(kind="extension", value_change="", new_end_on=["31", "3", "2027"])
    )
    assert "An extension must move the end date later" in shorter.data.decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"value_change": "", "new_end_on": ["", "", ""]}, "must change the value, the end date"),
        ({"value_change": "-200000"}, "The value cannot fall below £0"),
        ({"reason": ""}, "Enter why it is changing"),
        ({"approved_on": ["", "", ""]}, "Enter the date it was approved"),
        (
            {"kind": "extension", "value_change": "0", "new_end_on": ["1", "1", "2028"]},
            "no extension options",
        ),
    ],
)
def test_bad_variations_are_refused(client_as, make_contract, overrides, message):
    contract = make_contract()
    officer = client_as(Role.OFFICER)
    body = officer.post(
        f"/contracts/{contract.id}/variations/new", data=variation(**overrides)
    ).data.decode()
    assert message in body
    assert db.session.scalar(select(func.count(Variation.id))) == 0
    db.session.refresh(contract)
    assert contract.total_value == Decimal("100000.00")


def test_status_moves_forward_only_and_ended_contracts_cannot_vary(client_as, make_contract):
    contract = make_contract(status="mobilising")
    officer = client_as(Role.OFFICER)
    url = f"/contracts/{contract.id}/status"
    assert "Say why" in officer.post(url, data={"status": "live", "reason": ""}).data.decode()
    assert officer.post(url, data={"status": "live", "reason": "Mobilised"}).status_code == 302
    assert officer.post(url, data={"status": "ended", "reason": "Term over"}).status_code == 302
    db.session.refresh(contract)
    assert contract.status == ContractStatus.ENDED
    assert officer.get(url).status_code == 302  # nothing left to change to
    with pytest.raises(BusinessRuleError, match="can no longer be varied"):
        services.record_variation(FACTORY, contract, {"kind": "variation"})


def test_compliance_evidence_is_checked_stored_and_downloaded(
    client_as, make_contract, make_user, login_as
):
    contract = make_contract()
    officer = client_as(Role.OFFICER)
    url = f"/contracts/{contract.id}/compliance/new"
    expiry = today_in_uk() + timedelta(days=30)
    fields = {
        "kind": "insurance",
        "description": "Zurich policy 123",
        "expires_on": [str(expiry.day), str(expiry.month), str(expiry.year)],
        "checked_on": ["", "", ""],
    }
    fake = officer.post(
        url,
        data={**fields, "evidence": (io.BytesIO(b"MZ\x90\x00"), "policy.pdf")},
        content_type="multipart/form-data",
    )
    assert "policy.pdf is not really a .pdf file" in fake.data.decode()
    assert 'value="Zurich policy 123"' in fake.data.decode()
    assert db.session.scalar(select(func.count(ComplianceItem.id))) == 0

    saved = officer.post(
        url,
        data={**fields, "evidence": (io.BytesIO(PDF), "policy.pdf")},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    item = db.session.scalar(select(ComplianceItem))
    assert item.state(today_in_uk()) == "expiring"
    download = officer.get(f"/contracts/{contract.id}/compliance/{item.id}/evidence")
    assert download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    register = officer.get("/contracts?compliance=expiring").data.decode()
    assert contract.reference in register and "Compliance expiring" in register

    provider = login_as(make_user(role=Role.PROVIDER, organisation=contract.provider))
    assert provider.get(f"/contracts/{contract.id}/compliance/{item.id}/evidence").data == PDF


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("empty.pdf", b"", "empty.pdf is empty"),
        ("virus.exe", b"MZ", "virus.exe must be one of these types"),
        ("big.pdf", b"%PDF-" + b"x" * (10 * 1024 * 1024), "big.pdf must be smaller than 10 MB"),
        ("notes.txt", b"\x00\x01binary", "notes.txt is not a text file"),
    ],
)
def test_bad_documents_are_refused(client_as, make_contract, filename, content, message):
    contract = make_contract()
    officer = client_as(Role.OFFICER)
    response = officer.post(
        f"/contracts/{contract.id}/documents/new",
        data={"kind": "contract", "title": "Signed", "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )
    assert message in response.data.decode()
    db.session.refresh(contract)
    assert contract.documents == []


def test_documents_upload_download_and_remove(client_as, make_contract):
    contract = make_contract()
    officer = client_as(Role.OFFICER)
    no_file = officer.post(f"/contracts/{contract.id}/documents/new", data={"kind": "contract"})
    assert "Select a file to upload" in no_file.data.decode()
    officer.post(
        f"/contracts/{contract.id}/documents/new",
        data={"kind": "specification", "title": "", "file": (io.BytesIO(PDF), "spec v2.pdf")},
        content_type="multipart/form-data",
    )
    db.session.refresh(contract)
    (document,) = contract.documents
    assert document.title == "spec v2.pdf"
    download = officer.get(f"/contracts/{contract.id}/documents/{document.id}")
    assert download.data == PDF and "spec v2.pdf" in download.headers["Content-Disposition"]
    downloaded = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "download"))
    assert downloaded.record_label == "spec v2.pdf"  # every download is an audited export
    officer.post(f"/contracts/{contract.id}/documents/{document.id}/delete")
    db.session.refresh(contract)
    assert contract.documents == []


def test_payments_are_scheduled_paid_and_paid_ones_stay(client_as, make_contract):
    contract = make_contract()
    officer = client_as(Role.OFFICER)
    bad = officer.post(
        f"/contracts/{contract.id}/payments/new",
        data={"due_on": ["1", "7", "2025"], "amount": "0"},
    )
    assert "The amount must be more than £0" in bad.data.decode()
    officer.post(
        f"/contracts/{contract.id}/payments/new",
        data={"due_on": ["1", "7", "2025"], "amount": "25000", "description": "Q1"},
    )
    db.session.refresh(contract)
    (payment,) = contract.payments
    officer.post(
        f"/contracts/{contract.id}/payments/{payment.id}/paid", data={"paid_on": ["3", "7", "2025"]}
    )
    refused = officer.post(
        f"/contracts/{contract.id}/payments/{payment.id}/delete", follow_redirects=True
    )
    assert "A paid payment stays on the schedule" in refused.data.decode()
    db.session.refresh(contract)
    assert contract.payments[0].paid_on == date(2025, 7, 3)


def test_register_filters_sorts_and_searches(client_as, make_contract, make_organisation):
    a, b = make_organisation("Alpha Trust"), make_organisation("Beta CIC")
    soon = today_in_uk() + timedelta(days=60)
    first = make_contract(a, title="Panel service", end_on=soon, total_value=Decimal("5000"))
    second = make_contract(b, title="Victim advocacy", total_value=Decimal("900000"))
    ended = make_contract(a, title="Old pilot", status="ended")
    officer = client_as(Role.OFFICER)

    def listed(query: str) -> list[str]:
        body = officer.get(f"/contracts?{query}").data.decode()
        return [c.reference for c in (first, second, ended) if c.reference in body]

    assert listed("") == [first.reference, second.reference]
    assert listed("status=all") == [first.reference, second.reference, ended.reference]
    assert listed("status=ended") == [ended.reference]
    assert listed(f"provider={b.id}") == [second.reference]
    assert listed("ending=3") == [first.reference]
    assert listed("q=advocacy") == [second.reference]
    assert listed("q=beta") == [second.reference]
    assert listed(f"area={first.areas[0].id}") == [first.reference]
    body = officer.get("/contracts?sort=value&dir=desc").data.decode()
    assert body.index(second.reference) < body.index(first.reference)
    assert officer.get("/contracts?sort=nonsense&ending=7&page=x").status_code == 200


def test_provider_sees_only_their_own_contracts_read_only(
    make_user, login_as, make_contract, make_organisation
):
    own, other = make_organisation("Own Org"), make_organisation("Other Org")
    mine, theirs = make_contract(own), make_contract(other)
    client = login_as(make_user(role=Role.PROVIDER, organisation=own))
    register = client.get("/contracts").data.decode()
    assert mine.reference in register and theirs.reference not in register
    assert "Add a contract" not in register
    page = client.get(f"/contracts/{mine.id}").data.decode()
    assert "Change details" not in page and "Record a variation" not in page
    assert client.get(f"/contracts/{theirs.id}").status_code == 404
    assert client.get(f"/contracts?provider={other.id}").data.decode().count(theirs.reference) == 0
    assert client.post(f"/contracts/{mine.id}/variations/new", data=variation()).status_code == 404


def test_a_child_record_of_another_contract_is_404_even_to_officers(
    client_as, make_contract, make_user, login_as
):
    mine, theirs = make_contract(), make_contract()
    document = services.add_document(
        FACTORY, theirs, {"kind": "contract", "title": "Theirs"}, ("t.pdf", PDF)
    )
    item = services.save_compliance_item(
        FACTORY, theirs, None, {"kind": "insurance"}, ("i.pdf", PDF)
    )
    payment = services.add_payment(FACTORY, theirs, {"due_on": date(2025, 7, 1), "amount": 5})
    db.session.commit()
    provider = login_as(make_user(role=Role.PROVIDER, organisation=mine.provider))
    for client in (client_as(Role.OFFICER), provider):
        for url in (
            f"/contracts/{mine.id}/documents/{document.id}",
            f"/contracts/{mine.id}/compliance/{item.id}/evidence",
        ):
            assert client.get(url).status_code == 404, url
    officer = client_as(Role.OFFICER)
    assert officer.get(f"/contracts/{mine.id}/payments/{payment.id}/paid").status_code == 404
    officer.post(f"/contracts/{mine.id}/payments/{payment.id}/delete")
    assert db.session.get(type(payment), payment.id) is not None


def test_an_archived_provider_cannot_be_given_a_contract(
    make_organisation, make_area, make_service
):
    archived = make_organisation("Closed Charity", is_active=False)
    with pytest.raises(BusinessRuleError, match="is archived: restore it"):
        services.create_contract(
            FACTORY,
            {"reference": "X-1", "title": "x", "provider_id": archived.id,
             "service_category_id": make_service().id, "start_on": date(2025, 4, 1),
             "end_on": date(2026, 3, 31), "total_value": 1, "annual_value": 1},
            [make_area().id],
        )  # fmt: skip


def test_nonsense_in_the_register_query_is_ignored(client_as):
    officer = client_as(Role.OFFICER)
    for query in ("provider=²", "provider=99999999999999999999", "area=-1", "sort=';drop"):
        assert officer.get(f"/contracts?{query}").status_code == 200, query


def test_the_register_and_a_contract_page_run_the_same_statements_however_many_contracts(
    client_as, make_contract, make_organisation, make_service
):
    """A page of the register costs the same few statements whether its rows share one
    provider, service and compliance item or each has its own (no query per row)."""
    officer = client_as(Role.OFFICER)

    def add(count: int) -> Contract:
        for _ in range(count):
            contract = make_contract(make_organisation(), service=make_service())
            services.save_compliance_item(
                FACTORY, contract, None, {"kind": "insurance", "expires_on": date(2027, 1, 1)}
            )
        db.session.commit()
        return contract

    first = add(2)
    few = statements_for(officer, "/contracts"), statements_for(officer, f"/contracts/{first.id}")
    add(8)
    many = statements_for(officer, "/contracts"), statements_for(officer, f"/contracts/{first.id}")
    assert many == few


def test_a_contract_page_runs_the_same_statements_however_long_its_history(
    client_as, make_contract
):
    """Each year's performance table reads the accepted figures once for the page, not
    once per year and return."""
    seed_dictionary(FACTORY)
    contract = make_contract(start_on=date(2022, 4, 1), end_on=date(2027, 3, 31))
    framework = outcome_services.framework_for(FACTORY, contract)
    metric = db.session.scalar(select(Metric).where(Metric.code == "RJ01"))
    outcome_services.add_measure(FACTORY, framework, metric, Decimal("20"),
                                 Period.parse("2022/23-Q1"))  # fmt: skip
    db.session.commit()
    officer = client_as(Role.OFFICER)
    report(contract, "2025/26-Q1", RJ01="21")
    short = statements_for(officer, f"/contracts/{contract.id}")
    for year in ("2022/23", "2023/24", "2024/25"):
        for quarter in ("Q1", "Q2", "Q3", "Q4"):
            report(contract, f"{year}-{quarter}", RJ01="21")
    assert statements_for(officer, f"/contracts/{contract.id}") == short
