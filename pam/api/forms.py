"""The form that makes an API token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import RadioField, SelectChoice, SelectMultipleField, StringField, SubmitField
from wtforms.validators import InputRequired

from pam.api.models import Scope
from pam.api.tokens import LIFETIMES_DAYS
from pam.core.forms import MaxLength


class TokenForm(FlaskForm):
    name = StringField(
        "Name",
        widget=GovTextInput(),
        description="Say what will use it, such as “Case management system”.",
        validators=[InputRequired(message="Give the token a name"), MaxLength(100)],
    )
    scopes = SelectMultipleField(
        "What the token may do",
        widget=GovCheckboxesInput(),
        validators=[InputRequired(message="Choose what the token may do")],
    )
    lifetime_days = RadioField(
        "How long it lasts",
        widget=GovRadioInput(),
        choices=[SelectChoice(str(days), f"{days} days") for days in LIFETIMES_DAYS],
        default="90",
        validators=[InputRequired(message="Choose how long the token lasts")],
    )
    submit = SubmitField("Create token", widget=GovSubmitInput())

    def offer(self, allowed: frozenset[Scope]) -> None:
        self.scopes.choices = [
            SelectChoice(scope.value, scope.label) for scope in Scope if scope in allowed
        ]
