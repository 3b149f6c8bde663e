"""Sign-in, password and user-administration forms (GOV.UK widgets, CSRF by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovPasswordInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional

from pam.auth.models import ROLE_LABELS, Role
from pam.auth.passwords import MAX_LENGTH
from pam.core.forms import MaxLength


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter your email address"), MaxLength(254)],
    )
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your password"), Length(max=MAX_LENGTH)],
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        widget=GovPasswordInput(),
        description="At least 12 characters. A few unrelated words make a strong password.",
        validators=[InputRequired(message="Enter a new password")],
    )
    confirm = PasswordField(
        "Confirm new password",
        widget=GovPasswordInput(),
        validators=[
            InputRequired(message="Enter the new password again"),
            EqualTo("password", message="The passwords do not match"),
        ],
    )
    submit = SubmitField("Save password", widget=GovSubmitInput())


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your current password")],
    )
    new_password = PasswordField(
        "New password",
        widget=GovPasswordInput(),
        description="At least 12 characters. Your other sessions will be signed out.",
        validators=[InputRequired(message="Enter a new password")],
    )
    confirm = PasswordField(
        "Confirm new password",
        widget=GovPasswordInput(),
        validators=[
            InputRequired(message="Enter the new password again"),
            EqualTo("new_password", message="The passwords do not match"),
        ],
    )
    submit = SubmitField("Change password", widget=GovSubmitInput())


class UserForm(FlaskForm):
    full_name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter the user's full name"), MaxLength(200)],
    )
    email = EmailField(
        "Email address",
        widget=GovTextInput(),
        validators=[
            InputRequired(message="Enter the user's email address"),
            Email(message="Enter an email address in the correct format, like name@example.org"),
            MaxLength(254),
        ],
    )
    job_title = StringField(
        "Job title (optional)", widget=GovTextInput(), validators=[Optional(), MaxLength(200)]
    )
    role = SelectField(
        "Role",
        widget=GovSelect(),
        choices=[SelectChoice(role.value, ROLE_LABELS[role]) for role in Role],
        validators=[InputRequired(message="Select a role")],
    )
    organisation_id = SelectField(
        "Provider organisation",
        widget=GovSelect(),
        description="Only for provider users: they see only this organisation's records.",
        coerce=lambda value: int(value) if value not in (None, "", "None") else None,
        validators=[Optional()],
    )
    is_organisation_admin = BooleanField(
        "Provider administrator",
        widget=GovCheckboxInput(),
        description="Creates and revokes the organisation's API tokens, which let its "
        "case management system send returns to PAM. Provider users only.",
    )
    submit = SubmitField("Save", widget=GovSubmitInput())

    def set_organisation_choices(self, organisations) -> None:
        self.organisation_id.choices = [SelectChoice("", "Not a provider user")] + [
            SelectChoice(organisation.id, organisation.name) for organisation in organisations
        ]


class ConfirmForm(FlaskForm):
    """A single button that posts (with CSRF) to confirm an action."""

    submit = SubmitField("Confirm", widget=GovSubmitInput())


def _code_field(description: str, missing: str) -> StringField:
    return StringField(
        "Code from your authenticator app",
        widget=GovTextInput(),
        description=description,
        validators=[InputRequired(message=missing), MaxLength(20)],
    )


class SecondFactorForm(FlaskForm):
    """A code from the authenticator app, or a recovery code (the service tells which)."""

    code = _code_field(
        "The 6-digit code your app shows now. Lost your phone? Enter one of "
        "your recovery codes instead.",
        "Enter the code from your authenticator app",
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class SetUpTwoFactorForm(FlaskForm):
    code = _code_field(
        "After adding PAM to the app, enter the 6-digit code it shows.",
        "Enter the 6-digit code from your app",
    )
    submit = SubmitField("Turn on two-factor sign-in", widget=GovSubmitInput())


class SignedInSetUpTwoFactorForm(SetUpTwoFactorForm):
    """Set-up from the account page asks for the password too: a session left open or
    stolen must not enrol an app of its own and lock the owner out. (At sign-in the
    password has just been given.)"""

    current_password = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        description="To confirm it is you. Your other sessions will be signed out.",
        validators=[InputRequired(message="Enter your current password"), Length(max=MAX_LENGTH)],
    )
