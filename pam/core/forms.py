"""Helpers shared by every module's forms and views."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

from flask import request
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovTextInput
from sqlalchemy.orm.exc import StaleDataError
from wtforms import DateField, StringField
from wtforms.validators import StopValidation, ValidationError

from pam.core.exceptions import BusinessRuleError, StaleRecordError
from pam.extensions import db

T = TypeVar("T")


def show_rule_error(form: FlaskForm, error: BusinessRuleError) -> None:
    """Put a service's refusal on the form: on its field if named, else at the top.

    The form keeps what the user typed, so re-rendering it loses nothing.
    """
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def save_change(form: FlaskForm, change: Callable[[], T]) -> T | None:
    """Run a service call and commit it; on a business-rule refusal, roll back and put the
    message on the form (which keeps what the user typed) and return None.

    Two saves of the same versioned record racing past the service's version check meet
    at the database: the second UPDATE matches no row (StaleDataError), and its user is
    told the record changed, exactly as if the check had caught it."""
    try:
        result = change()
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        show_rule_error(form, StaleRecordError())
        return None
    except BusinessRuleError as error:
        db.session.rollback()
        show_rule_error(form, error)
        return None
    return result


def save_all(change: Callable[[], list[str]], what: str = "record") -> list[str]:
    """Run a change that checks many fields at once (a grid) and commit it only if it found
    no problems; otherwise roll back and return every problem. A refusal from a service,
    including a stale record (by the version check or at the database, as in save_change),
    is returned as one more problem."""
    try:
        problems = change()
        if problems:
            db.session.rollback()
            return problems
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        return [StaleRecordError(what).message]
    except BusinessRuleError as error:
        db.session.rollback()
        return [error.message]
    return []


def uploaded(field) -> tuple[str, bytes] | None:
    """(filename, bytes) of a FileField's upload, or None when no file was chosen."""
    storage = field.data
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return storage.filename, storage.read()


_WHOLE_NUMBER = re.compile(r"^[0-9]{1,9}$")


def whole_number(text: str | None) -> int | None:
    """'42' -> 42; anything else (blank, '²', '1e3', a huge number) -> None."""
    text = (text or "").strip()
    return int(text) if _WHOLE_NUMBER.match(text) else None


def page_number() -> int:
    """The ?page= argument as a positive whole number (1 when missing or nonsense)."""
    return max(1, whole_number(request.args.get("page")) or 1)


class GovDateField(DateField):
    """A day/month/year date, with the GOV.UK design system's error messages.

    GovDateInput posts three values under one name. WTForms' own DateField answers a
    missing or impossible part with "Not a valid date value"; users need to be told
    which part is wrong, and what they typed must come back to them unchanged.
    """

    widget = GovDateInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", "%d %m %Y")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist:
            self.raw_data = None  # not in the form at all: the widget shows .data instead
            return
        parts = [(value or "").strip() for value in valuelist]
        parts += [""] * (3 - len(parts))
        self.raw_data = parts[:3]  # the widget redisplays exactly three boxes
        day, month, year = parts[:3]
        self.data = None
        if not any(parts):
            return
        name = self.label.text.removesuffix(" (optional)")
        missing = [
            word for word, part in zip(("day", "month", "year"), parts[:3], strict=True) if not part
        ]
        if missing:
            raise ValueError(f"{name} must include a {' and '.join(missing)}")
        if not (day.isdigit() and month.isdigit() and year.isdigit()):
            raise ValueError(f"{name} must be a real date, in numbers")
        if len(year) != 4:
            raise ValueError(f"{name} must include a year of 4 numbers, like 2027")
        try:
            self.data = date(int(year), int(month), int(day))
        except ValueError:
            raise ValueError(f"{name} must be a real date") from None


class DateRequired:
    """For a GovDateField that must be filled in (a part-filled date already has its error)."""

    field_flags = {"required": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field) -> None:
        if field.data is None and not field.process_errors:
            raise StopValidation(self.message)


class MaxLength:
    """GOV.UK wording for a too-long answer: "Address must be 1000 characters or fewer"."""

    def __init__(self, limit: int):
        self.limit = limit
        self.field_flags = {"maxlength": limit}

    def __call__(self, form, field) -> None:
        if field.data and len(field.data) > self.limit:
            name = field.label.text.removesuffix(" (optional)")
            raise ValidationError(f"{name} must be {self.limit} characters or fewer")


class MoneyField(StringField):
    """An amount in pounds, kept exact as a Decimal: '£12,500', '12500.5' -> 12500.50.

    Typed as text (GOV.UK advises against type=number for money) and parsed here, so a
    mistake gets a message in words and what was typed comes back unchanged.
    """

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, allow_negative: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.allow_negative = allow_negative

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not (valuelist[0] or "").strip():
            return
        name = self.label.text.removesuffix(" (optional)")
        text = valuelist[0].strip().replace(",", "").replace(" ", "")
        negative = text.startswith("-")
        text = text.lstrip("-").removeprefix("£")
        if not re.fullmatch(r"\d+(\.\d{1,2})?", text):
            raise ValueError(f"{name} must be an amount in pounds, like 12500 or 12500.50")
        amount = Decimal(text).quantize(Decimal("0.01"))
        if negative and not self.allow_negative:
            raise ValueError(f"{name} must be £0 or more")
        if amount >= Decimal("1000000000000"):
            raise ValueError(f"{name} must be less than £1 trillion")
        self.data = -amount if negative else amount

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:.2f}" if self.data is not None else ""


class DecimalText(StringField):
    """A number typed as text, kept exact: '12', '87.5' -> Decimal. Words get a message."""

    widget = GovTextInput()

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not (valuelist[0] or "").strip():
            return
        text = valuelist[0].strip().replace(",", "").removesuffix("%").strip()
        if not re.fullmatch(r"-?\d+(\.\d+)?", text):
            name = self.label.text.removesuffix(" (optional)")
            raise ValueError(f"{name} must be a number, like 12 or 87.5")
        self.data = Decimal(text)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data.normalize():f}"
