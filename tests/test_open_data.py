"""Open data on the transparency page: tenders, awards, contracts and payments in OCDS, and
grants in 360Giving (JSON and spreadsheet), validated against the official schemas read
from ../shared/schemas (see tests/open_data_schemas.py), with nothing published that the
transparency page withholds."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from pam.auth.models import User
from pam.contracts import services as contract_services
from pam.contracts.models import Contract
from pam.decisions import services as decision_services
from pam.decisions.models import DecisionStatus, DecisionType, FundingDecision
from pam.extensions import db
from pam.market import tender_services
from pam.market.models import Bid, Tender, TenderStatus
from tests.conftest import FACTORY
from tests.open_data_schemas import (
    giving_errors,
    giving_title_paths,
    needs_schemas,
    ocds_codes,
    ocds_errors,
)

RELEASES = "/transparency/ocds-releases.json"
RECORDS = "/transparency/ocds-records.json"
GRANTS = "/transparency/360giving.json"
GRANTS_XLSX = "/transparency/360giving.xlsx"


def by_stage(package: dict) -> dict[str, dict]:
    return {release["tag"][0]: release for release in package["releases"]}


def a_tender(reference: str, value: str, make_service, *, publish: bool = True) -> Tender:
    made = tender_services.create_tender(
        FACTORY,
        {
            "reference": reference,
            "title": f"Grants round {reference}",
            "service_category_id": make_service().id,
            "estimated_value": value,
            "procedure": "grant_round",
            "clarification_deadline": datetime(2099, 1, 1, tzinfo=UTC),
            "submission_deadline": datetime(2099, 2, 1, tzinfo=UTC),
        },
        [],
        [("Quality", 100, "")],
    )
    if publish:
        tender_services.publish_tender(
            FACTORY, made, date(2025, 1, 6), datetime(2025, 1, 6, tzinfo=UTC)
        )
    db.session.commit()
    return made


def organisation_references(release: dict) -> list[dict]:
    """Every place a release names an organisation (each must be one of its parties)."""
    found = [release["buyer"]]
    found += [release["tender"]["procuringEntity"]] if "tender" in release else []
    for award in release.get("awards", []):
        found += award["suppliers"]
    for contract in release.get("contracts", []):
        for transaction in contract.get("implementation", {}).get("transactions", []):
            found += [transaction["payer"], transaction["payee"]]
    return found


# --- OCDS ------------------------------------------------------------------------------


@needs_schemas
def test_the_demo_publishes_valid_ocds_release_and_record_packages(demo, client):
    releases = client.get(RELEASES)
    assert releases.status_code == 200 and releases.mimetype == "application/json"
    package = releases.json
    assert ocds_errors(package, "release") == []
    assert package["uri"] == f"http://pam.test{RELEASES}" and package["version"] == "1.1"
    tags = {tag for release in package["releases"] for tag in release["tag"]}
    assert {"tender", "award", "contract", "implementation", "contractAmendment"} <= tags

    for release in package["releases"]:
        # open codelists, which the schema cannot check
        for party in release["parties"]:
            assert set(party["roles"]) <= ocds_codes("partyRole"), party
        parties = {party["id"]: party["name"] for party in release["parties"]}
        for reference in organisation_references(release):
            assert parties.get(reference["id"]) == reference["name"], reference
        for contract in release.get("contracts", []):
            assert contract["value"]["currency"] in ocds_codes("currency")
    ids = [(r["ocid"], r["id"]) for r in package["releases"]]
    assert len(ids) == len(set(ids))  # unique within each process

    records = client.get(RECORDS).json
    assert ocds_errors(records, "record") == []
    assert {r["ocid"] for r in records["records"]} == {r["ocid"] for r in package["releases"]}
    for record in records["records"]:
        compiled = record["compiledRelease"]
        assert compiled["tag"] == ["compiled"]
        award_ids = {award["id"] for award in compiled.get("awards", [])}
        assert all(c["awardID"] in award_ids for c in compiled.get("contracts", []))
        assert compiled["date"] == max(r["date"] for r in record["releases"])
    an_awarded_tender_is_one_process_with_its_contract(records["records"])


def an_awarded_tender_is_one_process_with_its_contract(records: list[dict]) -> None:
    tender = db.session.scalar(select(Tender).where(Tender.status == TenderStatus.AWARDED))
    contract = db.session.scalar(select(Contract).where(Contract.tender_id == tender.id))
    record = next(r for r in records if r["ocid"].endswith(f"-{tender.reference}"))
    compiled = record["compiledRelease"]
    assert compiled["tender"]["status"] == "complete"
    submitted = [bid for bid in tender.bids if bid.status.value == "submitted"]
    assert compiled["tender"]["numberOfTenderers"] == len(submitted)
    assert [c["id"] for c in compiled["contracts"]] == [contract.reference]
    assert compiled["awards"][0]["suppliers"][0]["name"] == contract.provider.name
    # the contract is in the tender's process only, not in a process of its own
    holding = [
        r["ocid"]
        for r in records
        if any(c["id"] == contract.reference for c in r["compiledRelease"].get("contracts", []))
    ]
    assert holding == [record["ocid"]]


def test_payments_made_are_implementation_transactions_and_planned_ones_are_not(
    app, client, make_contract, make_organisation
):
    provider = make_organisation("Harbour Light Advocacy", charity_number="1187654")
    contract = make_contract(provider, reference="OPCC-PAY-1")
    before = by_stage(client.get(RELEASES).json)
    paid = contract_services.add_payment(
        FACTORY, contract, {"due_on": date(2025, 6, 30), "amount": "12500.00"}
    )
    contract_services.add_payment(
        FACTORY, contract, {"due_on": date(2025, 9, 30), "amount": "12500.00"}
    )
    contract_services.mark_payment_paid(FACTORY, paid, date(2025, 7, 4))
    db.session.commit()

    releases = client.get(RELEASES).json["releases"]
    implementation = next(r for r in releases if r["tag"] == ["implementation"])
    (transaction,) = implementation["contracts"][0]["implementation"]["transactions"]
    assert transaction["value"] == {"amount": 12500.0, "currency": "GBP"}
    assert transaction["date"].startswith("2025-07-04T00:00:00")
    assert transaction["payee"] == {"id": "GB-CHC-1187654", "name": "Harbour Light Advocacy"}
    assert implementation["date"] == transaction["date"]
    contract_release = next(r for r in releases if r["tag"] == ["contract"])
    assert "implementation" not in contract_release["contracts"][0]
    after = by_stage(client.get(RELEASES).json)
    assert after["award"]["id"] == before["award"]["id"]  # a payment changes neither
    assert after["contract"]["id"] == before["contract"]["id"]
    supplier = next(p for p in contract_release["parties"] if p["id"] == "GB-CHC-1187654")
    assert supplier["roles"] == ["supplier"]  # a payee only where its payments are
    payee = next(p for p in implementation["parties"] if p["id"] == "GB-CHC-1187654")
    assert payee["roles"] == ["supplier", "payee"]
    assert payee["identifier"] == {
        "scheme": "GB-CHC", "id": "1187654", "legalName": "Harbour Light Advocacy",
    }  # fmt: skip


def test_a_change_to_a_contract_is_a_new_release_and_other_stages_keep_their_ids(
    client, make_contract
):
    contract = make_contract(reference="OPCC-VAR-1")
    before = by_stage(client.get(RELEASES).json)
    contract_services.record_variation(
        FACTORY,
        contract,
        {
            "kind": "variation",
            "effective_on": date(2026, 1, 5),
            "description": "Twelve more months",
            "reason": "Targets met; evaluation due",
            "approved_by": "Chief Finance Officer",
            "approved_on": date(2026, 1, 5),
            "value_change": Decimal("50000"),
            "new_end_on": date(2028, 3, 31),
        },
    )
    db.session.commit()
    after = client.get(RELEASES).json["releases"]
    contract_release = next(r for r in after if "contract" in r["tag"])
    assert contract_release["tag"] == ["contract", "contractAmendment"]
    assert contract_release["id"] != before["contract"]["id"]
    moved = datetime.fromisoformat(contract_release["date"])
    assert moved > datetime.fromisoformat(before["contract"]["date"])  # dated by the change
    (amendment,) = contract_release["contracts"][0]["amendments"]
    assert amendment["rationale"] == "Targets met; evaluation due"
    assert contract_release["contracts"][0]["value"]["amount"] == 150000.0
    assert contract_release["contracts"][0]["period"]["endDate"].startswith("2028-03-31T23:59")
    award = next(r for r in after if r["tag"] == ["award"])
    assert award["id"] == before["award"]["id"]  # the award did not change
    assert award["awards"][0]["value"]["amount"] == 100000.0  # as awarded


def test_the_page_links_every_file_and_nothing_unpublished_reaches_them(
    demo, client, app, make_contract, make_service
):
    """Drafts, tenders and contracts under the threshold, undecided grants, bids and
    people stay out, as they stay off the transparency page."""
    page = client.get("/transparency").text
    for path in (RELEASES, RECORDS, GRANTS, GRANTS_XLSX):
        assert f'href="{path}"' in page
    assert "open-government-licence" in page
    small = make_contract(reference="OPCC-SMALL-1", total_value=Decimal("9999.99"))
    a_tender("OPCC-T-DRAFT", "50000", make_service, publish=False)
    a_tender("OPCC-T-SMALL", "9999.99", make_service)
    text = "\n".join(
        client.get(path).get_data(as_text=True) for path in (RELEASES, RECORDS, GRANTS)
    )
    assert small.reference not in text
    threshold = Decimal(app.config["PAM_TRANSPARENCY_THRESHOLD"])
    kinds = set()
    for tender in db.session.scalars(select(Tender)):
        shown = tender.status is not TenderStatus.DRAFT and tender.estimated_value >= threshold
        kinds.add((tender.status is TenderStatus.DRAFT, shown))
        assert (tender.reference in text) == shown, tender.reference
    assert kinds == {(False, True), (True, False), (False, False)}  # each case was met
    awarded = {(c.tender_id, c.provider_id) for c in db.session.scalars(select(Contract))}
    for bid in db.session.scalars(select(Bid)):
        assert all(answer not in text for answer in bid.answers.values() if len(answer) > 20)
        if (bid.tender_id, bid.provider_id) not in awarded:  # a winning price is the award's
            assert f"{float(bid.price)}," not in text, bid.price
    undecided = db.session.scalars(
        select(FundingDecision).where(
            FundingDecision.decision_type == DecisionType.GRANT,
            FundingDecision.status != DecisionStatus.APPROVED,
        )
    ).all()
    assert undecided and all(d.title not in text for d in undecided)
    for user in db.session.scalars(select(User)):
        assert user.full_name not in text and user.email not in text


# --- 360Giving ---------------------------------------------------------------------------


@needs_schemas
def test_the_demo_grants_are_valid_360giving_json(demo, client):
    response = client.get(GRANTS)
    assert response.status_code == 200
    package = response.json
    assert giving_errors(package) == []
    approved = db.session.scalars(
        select(FundingDecision).where(
            FundingDecision.decision_type == DecisionType.GRANT,
            FundingDecision.status == DecisionStatus.APPROVED,
        )
    ).all()
    assert [g["title"] for g in package["grants"]] == [d.title for d in approved]
    grant = package["grants"][0]
    assert grant["amountAwarded"] == float(approved[0].total)
    assert grant["recipientOrganization"][0]["id"].startswith("GB-CHC-")
    assert grant["plannedDates"][0]["duration"] == 12  # 1 April to 31 March


@needs_schemas
def test_the_360giving_spreadsheet_uses_the_standards_headings_and_holds_the_same_grants(
    demo, client
):
    grants = client.get(GRANTS).json
    response = client.get(GRANTS_XLSX)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    headings, values = rows[0], rows[1:]
    paths = giving_title_paths()
    assert [h for h in headings if h not in paths] == []  # every heading is the standard's

    # Read the rows back as the standard's JSON (the first of each array, as the flat
    # layout holds), then validate that against the official schema.
    unflattened = []
    for row in values:
        grant: dict = {}
        for heading, value in zip(headings, row, strict=True):
            if value in (None, ""):
                continue
            *parents, leaf = paths[heading]
            node = grant
            for name in parents:
                node = node.setdefault(name, [{}])[0]
            node[leaf] = value
        unflattened.append(grant)
    assert giving_errors({"grants": unflattened}) == []
    assert len(unflattened) == len(grants["grants"])
    for flat, full in zip(unflattened, grants["grants"], strict=True):
        assert flat["id"] == full["id"] and flat["amountAwarded"] == full["amountAwarded"]
        assert flat["recipientOrganization"] == full["recipientOrganization"]


# --- when nothing is published, and the page --------------------------------------------


def test_with_nothing_published_the_files_say_so_and_the_page_does_not_link_them(client):
    for path in (RELEASES, RECORDS, GRANTS, GRANTS_XLSX):
        response = client.get(path)
        assert response.status_code == 404, path
    page = client.get("/transparency").text
    assert RELEASES not in page and GRANTS not in page
    assert "once any are published" in page


@needs_schemas
def test_a_grant_from_an_unpublished_round_does_not_name_the_round(
    client, make_organisation, make_service, make_area
):
    """A grant is published through its contract, but the small grants round it came
    from is below the threshold: the file must not name it."""
    small_round = a_tender("OPCC-T-VILLAGE", "5000", make_service)
    line = decision_services.save_budget_line(
        FACTORY, None,
        {"year": "2025/26", "code": "CORE", "name": "Core", "funder": "PCC", "allocation": 90000},
    )  # fmt: skip
    db.session.flush()
    provider = make_organisation("Village Hall Trust", charity_number="1100001")
    service, area = make_service(), make_area()
    decision = decision_services.create_decision(
        FACTORY,
        {
            "title": "Village hall outreach grant", "decision_type": "grant",
            "rationale": "Need", "options_considered": "Two", "provider_id": provider.id,
            "tender_id": small_round.id, "summary": "Outreach from village halls",
            "terms": {"contract_reference": "OPCC-VH-1", "service_category_id": service.id,
                      "start_on": "2025-04-01", "end_on": "2026-03-31",
                      "area_ids": [area.id], "annual_value": "12000"},
        },
        [(line.id, 12000)],
        date(2025, 3, 1),
    )  # fmt: skip
    decision_services.submit_decision(FACTORY, decision)
    decision_services.decide(None, decision, "approved", "Agreed", date(2025, 3, 10))
    db.session.commit()

    package = client.get(GRANTS).json
    assert giving_errors(package) == []
    (grant,) = package["grants"]
    assert grant["title"] == "Village hall outreach grant"  # published via its contract
    assert "grantProgramme" not in grant and "fromOpenCall" not in grant
    assert "OPCC-T-VILLAGE" not in client.get(GRANTS_XLSX).get_data(as_text=False).decode("latin-1")
