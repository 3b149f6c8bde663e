"""Market assessments: drafting, co-production evidence, publishing and kept versions."""

from __future__ import annotations

from sqlalchemy import func, select

from pam.auth.models import Role
from pam.extensions import db
from pam.market.models import AssessmentStatus, MarketAssessment, PublishedAssessment

SECTIONS = ("need", "supply", "gaps", "risks", "recommendations")


def assessment_form(service, area, **overrides):
    data = {
        "title": "Restorative justice for adult victims in Dorset",
        "service_category_id": str(service.id),
        "areas": [str(area.id)],
        "estimated_annual_demand": "1200",
        **{key: f"The {key} section." for key in SECTIONS},
    }
    data.update(overrides)
    return data


def evidence(**overrides):
    data = {
        "stakeholders": "Victims' forum members",
        "method": "Focus group",
        "held_on": ["12", "3", "2025"],
        "what_they_said": "Evening sessions would help working victims",
        "what_changed": "Specification asks for evening availability",
    }
    data.update(overrides)
    return data


def test_an_assessment_is_evidenced_published_and_versions_are_kept(
    client_as, make_service, make_area, make_organisation
):
    service, area = make_service("RJ adults"), make_area("Dorset")
    provider = make_organisation("Local RJ Charity")
    provider.areas, provider.service_categories = [area], [service]
    from pam.audit import services as audit

    audit.record_update(None, provider, {})
    db.session.commit()
    officer = client_as(Role.OFFICER)
    assert officer.post("/market/new", data=assessment_form(service, area)).status_code == 302
    assessment = db.session.scalar(select(MarketAssessment))
    url = f"/market/{assessment.id}"
    no_evidence = officer.post(f"{url}/publish", follow_redirects=True).text
    assert "record the co-production evidence" in no_evidence
    bad = officer.post(f"{url}/consultations/new", data=evidence(held_on=["1", "1", "2099"]))
    assert "A consultation cannot be in the future" in bad.text
    officer.post(f"{url}/consultations/new", data=evidence())
    officer.post(f"{url}/publish")
    page = officer.get(url).text
    assert "Local RJ Charity" in page  # the map of services, from provider profiles
    assert "Evening sessions would help working victims" in page

    form = assessment_form(service, area, gaps="A new gap.", version="3")
    db.session.expire_all()
    form["version"] = str(db.session.get(MarketAssessment, assessment.id).version)
    assert officer.post(f"{url}/edit", data=form).status_code == 302
    assert "Say what changed" in officer.post(f"{url}/publish", follow_redirects=True).text
    officer.post(f"{url}/publish", data={"change_note": "Added the rural gap"})
    db.session.expire_all()
    versions = db.session.scalars(
        select(PublishedAssessment).order_by(PublishedAssessment.number)
    ).all()
    assert [v.content["gaps"] for v in versions] == ["The gaps section.", "A new gap."]
    first = officer.get(f"{url}/versions/1").text
    assert "The gaps section." in first and "A new gap." not in first
    assert db.session.get(MarketAssessment, assessment.id).status == AssessmentStatus.PUBLISHED


def test_bad_assessment_input_is_explained_and_kept(client_as, make_service, make_area):
    service, area = make_service(), make_area()
    officer = client_as(Role.OFFICER)
    body = officer.post(
        "/market/new", data=assessment_form(service, area, areas=[], estimated_annual_demand="lots")
    ).text
    assert "Enter the demand as a whole number" in body
    assert "The need section." in body
    body = officer.post("/market/new", data=assessment_form(service, area, areas=[])).text
    assert "Select at least one area" in body
    assert db.session.scalar(select(func.count(MarketAssessment.id))) == 0


def test_publishing_needs_every_section(client_as, make_service, make_area):
    service, area = make_service(), make_area()
    officer = client_as(Role.OFFICER)
    officer.post("/market/new", data=assessment_form(service, area, recommendations=""))
    assessment = db.session.scalar(select(MarketAssessment))
    officer.post(f"/market/{assessment.id}/consultations/new", data=evidence())
    body = officer.post(f"/market/{assessment.id}/publish", follow_redirects=True).text
    assert "Before publishing, complete: Recommendations" in body
    assert db.session.scalar(select(func.count(PublishedAssessment.id))) == 0
