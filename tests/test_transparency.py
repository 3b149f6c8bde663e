"""The public transparency page shows what is published and nothing else."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pam.auth.models import Role
from pam.decisions import services
from pam.extensions import db
from tests.conftest import FACTORY


def test_only_decided_public_decisions_and_contracts_over_the_threshold_appear(
    client, make_contract, make_user, make_organisation
):
    line = services.save_budget_line(
        FACTORY, None,
        {"year": "2025/26", "code": "CORE", "name": "Core", "funder": "PCC", "allocation": 10**6},
    )  # fmt: skip
    drafter = make_user(
        role=Role.OFFICER, full_name="Olive Drafter", email="olive@opcc.example.org"
    )
    decider = make_user(role=Role.DECISION_MAKER, full_name="Dan Decider")
    fields = {"title": "Published grant", "decision_type": "budget_allocation",
              "rationale": "r", "options_considered": "o", "is_public_interest": True}  # fmt: skip
    published = services.create_decision(drafter, fields, [(line.id, 5000)], date(2025, 5, 1))
    services.submit_decision(drafter, published)
    services.decide(decider, published, "approved", "", date(2025, 5, 2))
    services.create_decision(
        drafter, {**fields, "title": "Secret draft"}, [(line.id, 1)], date(2025, 5, 1)
    )
    pending = services.create_decision(
        drafter, {**fields, "title": "Pending one"}, [(line.id, 1)], date(2025, 5, 1)
    )
    services.submit_decision(drafter, pending)
    internal = services.create_decision(
        drafter, {**fields, "title": "Internal only", "is_public_interest": False},
        [(line.id, 1)], date(2025, 5, 1),
    )  # fmt: skip
    services.submit_decision(drafter, internal)
    services.decide(decider, internal, "approved", "", date(2025, 5, 2))
    db.session.commit()
    make_contract(reference="BIG-1", total_value=Decimal("250000"))
    from datetime import UTC, datetime

    from pam.market import tender_services

    def tender(reference: str, publish: bool) -> None:
        fields = {
            "reference": reference, "title": f"Tender {reference}",
            "service_category_id": make_contract().service_category_id,
            "estimated_value": "50000", "procedure": "open",
            "clarification_deadline": datetime(2099, 1, 1, tzinfo=UTC),
            "submission_deadline": datetime(2099, 2, 1, tzinfo=UTC),
        }  # fmt: skip
        made = tender_services.create_tender(FACTORY, fields, [], [("Quality", 100, "")])
        if publish:
            tender_services.publish_tender(FACTORY, made, date(2025, 1, 1), datetime.now(UTC))
            bidder = make_user(role=Role.PROVIDER)
            tender_services.submit_bid(
                bidder, made, Decimal("49999"), {made.criteria[0].id: "SEALED SECRET"},
                datetime.now(UTC),
            )  # fmt: skip
        db.session.commit()

    tender("OPEN-T", True)
    tender("DRAFT-T", False)
    make_contract(reference="SMALL-1", total_value=Decimal("9999.99"))

    page = client.get("/transparency").text
    csv_text = client.get("/transparency.csv").data.decode("utf-8-sig")
    for body in (page, csv_text):
        assert "Published grant" in body and "BIG-1" in body and "OPEN-T" in body
        for hidden in ("Secret draft", "Pending one", "Internal only", "SMALL-1", "DRAFT-T",
                       "SEALED SECRET", "49999", "49,999",
                       "Olive Drafter", "olive@opcc.example.org", "Dan Decider"):  # fmt: skip
            assert hidden not in body, hidden
