"""Organisations: officers manage them; a provider user sees and edits only their own."""

from __future__ import annotations

from sqlalchemy import select

from pam.audit.models import AuditEvent
from pam.auth.models import Role
from pam.extensions import db
from pam.providers.models import Area, Organisation, OrganisationKind, ServiceCategory
from tests.conftest import FACTORY


def add_reference(code="DORSET", name="Dorset Council"):
    from pam.providers import services

    area = services.save_reference_item(FACTORY, Area, None, {"code": code, "name": name})
    category = services.save_reference_item(
        FACTORY, ServiceCategory, None, {"code": "RJ", "name": "Restorative justice"}
    )
    db.session.commit()
    return area, category


VALID = {
    "name": "Wessex Restorative Partnership",
    "kind": "vcse_charity",
    "charity_number": "1123456",
    "address": "1 High Street\nDorchester",
    "postcode": "dt1 1xj",
    "email": "hello@wessex.example.org",
    "safeguarding_lead_name": "Sam Lee",
    "has_quality_mark": "y",
    "quality_mark_expires_on": ["31", "3", "2027"],
}


def test_officer_adds_a_provider_with_areas_and_services(client_as):
    area, category = add_reference()
    officer = client_as(Role.OFFICER)
    response = officer.post(
        "/organisations/new",
        data={**VALID, "areas": [area.id], "service_categories": [category.id]},
    )
    assert response.status_code == 302
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == VALID["name"]))
    assert organisation.postcode == "DT1 1XJ"
    assert [a.code for a in organisation.areas] == ["DORSET"]
    assert organisation.quality_mark_expires_on.isoformat() == "2027-03-31"
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.record_type == "organisations", AuditEvent.action == "create"
        )
    )
    assert event.changes["areas"]["after"] == ["Dorset Council"]


def test_bad_organisation_input_gets_clear_messages_and_keeps_what_was_typed(
    client_as, make_organisation
):
    make_organisation("Already Here")
    officer = client_as(Role.OFFICER)
    bad = {
        **VALID,
        "name": "Already Here",
        "postcode": "NOT A POSTCODE",
        "charity_number": "12",
        "email": "nope",
        "website": "wessex.example.org",
        "quality_mark_expires_on": ["", "", ""],
    }
    response = officer.post("/organisations/new", data=bad)
    body = response.data.decode()
    assert response.status_code == 200
    for message in (
        "Enter a real postcode",
        "Enter a charity number like",
        "correct format",
        "starting https://",
        "Enter the date the Quality Mark expires",
    ):
        assert message in body
    assert 'value="NOT A POSTCODE"' in body and "1 High Street" in body
    fixed = officer.post("/organisations/new", data={**VALID, "name": "Already Here"})
    assert "already exists" in fixed.data.decode()
    assert db.session.scalar(select(Organisation).where(Organisation.name == VALID["name"])) is None


def test_provider_user_sees_only_their_own_organisation(make_user, make_organisation, login_as):
    own, other = make_organisation("Own Org"), make_organisation("Other Org")
    client = login_as(make_user(role=Role.PROVIDER, organisation=own))
    assert client.get(f"/organisations/{own.id}").status_code == 200
    for url in (
        f"/organisations/{other.id}",
        f"/organisations/{other.id}/edit",
        "/organisations",
        f"/organisations/{other.id}/contacts/new",
        "/organisations/99999",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Page not found" in response.data
    assert client.post(f"/organisations/{other.id}/edit", data=VALID).status_code == 404
    assert (
        client.get("/organisations/mine").headers["Location"].endswith(f"/organisations/{own.id}")
    )


def test_provider_user_updates_their_profile_but_not_name_or_type(
    make_user, make_organisation, login_as
):
    own = make_organisation("Own Org")
    client = login_as(make_user(role=Role.PROVIDER, organisation=own))
    response = client.post(
        f"/organisations/{own.id}/edit",
        data={
            **VALID,
            "name": "Renamed",
            "kind": "private",
            "version": str(own.version),
        },
    )
    assert response.status_code == 302
    db.session.refresh(own)
    assert own.name == "Own Org" and own.kind == OrganisationKind.VCSE_CHARITY
    assert own.safeguarding_lead_name == "Sam Lee"
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "update", AuditEvent.record_type == "organisations"
        )
    )
    assert event.summary == "Profile updated by the provider"
    assert "safeguarding_lead_name" in event.changes and "name" not in event.changes


def test_a_stale_edit_is_refused_and_keeps_the_users_input(client_as, make_organisation):
    organisation = make_organisation("Versioned Org")
    stale_version = organisation.version
    first, second = client_as(Role.OFFICER), client_as(Role.OFFICER)
    assert (
        first.post(
            f"/organisations/{organisation.id}/edit",
            data={**VALID, "name": "First Save", "version": stale_version},
        ).status_code
        == 302
    )
    response = second.post(
        f"/organisations/{organisation.id}/edit",
        data={**VALID, "name": "Second Save", "version": stale_version},
    )
    assert b"Someone else changed this organisation" in response.data
    assert b'value="Second Save"' in response.data
    db.session.refresh(organisation)
    assert organisation.name == "First Save"


def test_contacts_are_added_changed_and_removed_with_one_main_contact(client_as, make_organisation):
    organisation = make_organisation("Contact Org")
    officer = client_as(Role.OFFICER)
    url = f"/organisations/{organisation.id}/contacts/new"
    assert b"Enter the contact&#39;s name" in officer.post(url, data={"name": ""}).data
    officer.post(url, data={"name": "Ann", "is_primary": "y"})
    officer.post(url, data={"name": "Bob", "is_primary": "y"})
    db.session.expire_all()
    contacts = {c.name: c for c in db.session.get(Organisation, organisation.id).contacts}
    assert contacts["Bob"].is_primary and not contacts["Ann"].is_primary
    officer.post(f"/organisations/{organisation.id}/contacts/{contacts['Ann'].id}/delete")
    db.session.expire_all()
    assert [c.name for c in db.session.get(Organisation, organisation.id).contacts] == ["Bob"]
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "delete", AuditEvent.record_type == "contacts"
        )
    )


def test_archiving_a_provider_deactivates_its_users(
    client_as, make_user, make_organisation, login_as
):
    organisation = make_organisation("Closing Org")
    provider_client = login_as(make_user(role=Role.PROVIDER, organisation=organisation))
    officer = client_as(Role.OFFICER)
    archived = officer.post(f"/organisations/{organisation.id}/archive", follow_redirects=True)
    assert b"Closing Org" in archived.data  # the confirmation names it
    assert provider_client.get("/home").status_code == 302
    assert b"Closing Org" not in officer.get("/organisations").data
    assert b"Closing Org" in officer.get("/organisations?status=archived").data


def test_reference_data_codes_and_names_are_unique(client_as):
    add_reference()
    admin = client_as(Role.ADMINISTRATOR)
    clash = admin.post(
        "/admin/areas/new", data={"code": "dorset", "name": "Another", "is_active": "y"}
    )
    assert b"That code is already used" in clash.data
    bad = admin.post("/admin/areas/new", data={"code": "has space", "name": "Fine"})
    assert b"Use only letters" in bad.data
    ok = admin.post(
        "/admin/areas/new", data={"code": "bcp", "name": "BCP Council", "is_active": "y"}
    )
    assert ok.status_code == 302
    assert db.session.scalar(select(Area).where(Area.code == "BCP")).name == "BCP Council"


def test_provider_list_filters(client_as, make_organisation):
    area, category = add_reference()
    from pam.providers import services

    services.create_organisation(
        FACTORY, {"name": "In Dorset", "kind": "cic"}, [area.id], [category.id]
    )
    make_organisation("Elsewhere", kind=OrganisationKind.PRIVATE)
    db.session.commit()
    officer = client_as(Role.OFFICER)
    by_area = officer.get(f"/organisations?area={area.id}").data
    assert b"In Dorset" in by_area and b"Elsewhere" not in by_area
    assert b"Elsewhere" in officer.get("/organisations?kind=private").data
    assert b"In Dorset" not in officer.get("/organisations?kind=private").data
    assert b"Elsewhere" in officer.get("/organisations?q=elsew").data
