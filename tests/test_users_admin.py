"""Administrators invite users, change roles, reset passwords and deactivate accounts."""

from __future__ import annotations

import re

from sqlalchemy import select

from pam.auth.models import Role, User
from pam.auth.passwords import verify_password
from pam.extensions import db
from pam.providers.models import OrganisationKind
from tests.conftest import TEST_PASSWORD


def link_token(response) -> str:
    match = re.search(rb"/set-password/([A-Za-z0-9_-]+)", response.data)
    assert match, response.data
    return match.group(1).decode()


def test_invited_user_sets_a_password_once_and_signs_in(client_as, client, make_organisation):
    admin = client_as(Role.ADMINISTRATOR)
    provider = make_organisation("Wessex Mediation")
    response = admin.post(
        "/admin/users/new",
        data={
            "full_name": "Dana Fox",
            "email": "Dana.Fox@Wessex.example.org",
            "role": "provider",
            "organisation_id": provider.id,
            "job_title": "Manager",
        },
    )
    assert response.status_code == 200 and b"Send this link to Dana Fox" in response.data
    token = link_token(response)
    user = db.session.scalar(select(User).where(User.email == "dana.fox@wessex.example.org"))
    assert user.organisation_id == provider.id and user.password_hash is None

    weak = client.post(f"/set-password/{token}", data={"password": "short", "confirm": "short"})
    assert b"12 characters or more" in weak.data
    common = client.post(
        f"/set-password/{token}", data={"password": "password1234", "confirm": "password1234"}
    )
    assert b"too common" in common.data
    mismatch = client.post(
        f"/set-password/{token}",
        data={"password": "river otter lantern", "confirm": "river otter lanterns"},
    )
    assert b"do not match" in mismatch.data

    done = client.post(
        f"/set-password/{token}",
        data={"password": "river otter lantern", "confirm": "river otter lantern"},
    )
    assert done.status_code == 302
    assert client.get(f"/set-password/{token}").status_code == 404  # used up
    signed_in = client.post(
        "/sign-in", data={"email": "dana.fox@wessex.example.org", "password": "river otter lantern"}
    )
    assert signed_in.status_code == 302


def test_provider_user_needs_a_provider_organisation_and_input_is_kept(client_as):
    admin = client_as(Role.ADMINISTRATOR)
    response = admin.post(
        "/admin/users/new",
        data={
            "full_name": "No Org",
            "email": "no.org@example.org",
            "role": "provider",
            "organisation_id": "",
        },
    )
    assert b"Select the provider organisation this user belongs to" in response.data
    assert b'value="No Org"' in response.data and b'value="no.org@example.org"' in response.data
    assert db.session.scalar(select(User).where(User.email == "no.org@example.org")) is None


def test_duplicate_and_malformed_email_addresses_are_refused(client_as, make_user):
    existing = make_user()
    admin = client_as(Role.ADMINISTRATOR)
    duplicate = admin.post(
        "/admin/users/new",
        data={"full_name": "Twin", "email": existing.email.upper(), "role": "officer"},
    )
    assert b"already exists" in duplicate.data
    malformed = admin.post(
        "/admin/users/new", data={"full_name": "Typo", "email": "not-an-email", "role": "officer"}
    )
    assert b"correct format" in malformed.data


def test_changing_role_ends_the_users_sessions(make_user, login_as):
    admin = login_as(make_user(role=Role.ADMINISTRATOR))
    officer = make_user(role=Role.OFFICER)
    officer_client = login_as(officer)
    assert officer_client.get("/audit").status_code == 200
    response = admin.post(
        f"/admin/users/{officer.id}/edit",
        data={
            "full_name": officer.full_name,
            "email": officer.email,
            "role": "board_member",
            "organisation_id": "",
        },
    )
    assert response.status_code == 302
    assert officer_client.get("/home").status_code == 302
    db.session.refresh(officer)
    assert officer.role == Role.BOARD_MEMBER


def test_reset_password_revokes_the_old_password_and_sessions(client, make_user, login_as):
    admin = login_as(make_user(role=Role.ADMINISTRATOR))
    user = make_user()
    user_client = login_as(user)
    response = admin.post(f"/admin/users/{user.id}/reset-password")
    token = link_token(response)
    assert user_client.get("/home").status_code == 302
    old = client.post(
        "/sign-in", data={"email": user.email, "password": "correct horse battery staple"}
    )
    assert b"Enter a correct email address and password" in old.data
    client.post(
        f"/set-password/{token}",
        data={"password": "a brand new phrase", "confirm": "a brand new phrase"},
    )
    assert (
        client.post(
            "/sign-in", data={"email": user.email, "password": "a brand new phrase"}
        ).status_code
        == 302
    )


def test_administrator_cannot_lock_themselves_out(make_user, login_as):
    admin = make_user(role=Role.ADMINISTRATOR)
    client = login_as(admin)
    client.post(f"/admin/users/{admin.id}/deactivate")
    db.session.refresh(admin)
    assert admin.is_active_account
    response = client.post(
        f"/admin/users/{admin.id}/edit",
        data={
            "full_name": admin.full_name,
            "email": admin.email,
            "role": "officer",
        },
    )
    assert response.status_code in (200, 403)
    db.session.refresh(admin)
    assert admin.role == Role.ADMINISTRATOR


def test_reactivated_user_can_sign_in_again(client, make_user, login_as):
    admin = login_as(make_user(role=Role.ADMINISTRATOR))
    user = make_user(is_active_account=False)
    admin.post(f"/admin/users/{user.id}/reactivate")
    response = client.post(
        "/sign-in", data={"email": user.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 302


def test_user_changes_own_password_and_other_sessions_end(make_user, login_as):
    user = make_user()
    this_session, other_session = login_as(user), login_as(user)
    wrong = this_session.post(
        "/account/password",
        data={
            "current_password": "wrong",
            "new_password": "lighthouse keeper tea",
            "confirm": "lighthouse keeper tea",
        },
    )
    assert b"current password is not right" in wrong.data
    ok = this_session.post(
        "/account/password",
        data={
            "current_password": "correct horse battery staple",
            "new_password": "lighthouse keeper tea",
            "confirm": "lighthouse keeper tea",
        },
    )
    assert ok.status_code == 302
    assert this_session.get("/home").status_code == 200
    assert other_session.get("/home").status_code == 302


def test_wrong_current_passwords_lock_the_change_forms_but_not_the_sign_in(
    make_user, login_as, client
):
    """An open session cannot guess the password without limit, on either form that asks
    for it; the lockout is the user's step-up count, so their sign-in is not blocked."""
    user = make_user()
    session = login_as(user)
    guess = {"current_password": "guess", "new_password": "lighthouse keeper tea",
             "confirm": "lighthouse keeper tea"}  # fmt: skip
    for _ in range(4):
        wrong = session.post("/account/password", data=guess)
        assert b"current password is not right" in wrong.data
    set_up = session.post("/account/two-factor/set-up", data={"current_password": "x", "code": "1"})
    assert b"current password is not right" in set_up.data  # the fifth, on the other form
    right = {**guess, "current_password": TEST_PASSWORD}
    locked = session.post("/account/password", data=right)
    assert b"Too many failed attempts" in locked.data  # even the right one, for now
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, TEST_PASSWORD)
    signed_in = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    assert signed_in.status_code == 302  # strangers and slips here do not lock the sign-in


def test_user_list_filters_by_role_status_and_search(client_as, make_user, make_organisation):
    admin = client_as(Role.ADMINISTRATOR)
    make_user(role=Role.BOARD_MEMBER, full_name="Board Person")
    make_user(role=Role.OFFICER, full_name="Gone Officer", is_active_account=False)
    make_user(
        role=Role.PROVIDER,
        full_name="Provider Person",
        organisation=make_organisation(kind=OrganisationKind.CIC),
    )
    boards = admin.get("/admin/users?role=board_member").data
    assert b"Board Person" in boards and b"Provider Person" not in boards
    assert b"Gone Officer" not in admin.get("/admin/users").data
    assert b"Gone Officer" in admin.get("/admin/users?status=deactivated").data
    assert b"Provider Person" in admin.get("/admin/users?q=provider+per").data


def test_an_administrator_names_a_providers_administrator_but_never_a_staff_one(
    make_user, login_as, make_organisation
):
    admin = login_as(make_user(role=Role.ADMINISTRATOR))
    provider = make_user(role=Role.PROVIDER, organisation=make_organisation("Purbeck Mediation"))
    officer = make_user(role=Role.OFFICER)

    def edit(user, role, organisation):
        return admin.post(
            f"/admin/users/{user.id}/edit",
            data={"full_name": user.full_name, "email": user.email, "role": role,
                  "organisation_id": organisation, "is_organisation_admin": "y",
                  "job_title": "Chief of staff"},
        )  # fmt: skip

    assert edit(provider, "provider", str(provider.organisation_id)).status_code == 302
    refused = edit(officer, "officer", "")
    assert refused.status_code == 200
    assert "Only a provider user can be a provider administrator" in refused.text
    assert 'value="Chief of staff"' in refused.text  # what was typed is kept
    db.session.expire_all()
    assert db.session.get(type(provider), provider.id).is_organisation_admin is True
    assert db.session.get(type(officer), officer.id).is_organisation_admin is False
    page = admin.get(f"/admin/users/{provider.id}").text
    assert "Yes: manages the organisation\N{RIGHT SINGLE QUOTATION MARK}s API tokens" in page


def test_a_new_staff_user_cannot_be_made_a_provider_administrator(client_as, make_organisation):
    admin = client_as(Role.ADMINISTRATOR)
    fields = {
        "full_name": "Ann Staff",
        "email": "ann@example.org",
        "role": "officer",
        "organisation_id": "",
        "is_organisation_admin": "y",
        "job_title": "Analyst",
    }
    refused = admin.post("/admin/users/new", data=fields)
    assert "Only a provider user can be a provider administrator" in refused.text
    assert 'value="Analyst"' in refused.text  # what was typed is kept
    assert db.session.scalar(select(User).where(User.email == "ann@example.org")) is None

    provider = make_organisation("Wessex Mediation")
    fields |= {"email": "bo@example.org", "role": "provider", "organisation_id": provider.id}
    assert admin.post("/admin/users/new", data=fields).status_code == 200
    made = db.session.scalar(select(User).where(User.email == "bo@example.org"))
    assert made.is_organisation_admin is True
