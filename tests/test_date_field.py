"""Dates typed as day, month and year get GOV.UK-style messages and come back as typed."""

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from pam.core.forms import DateRequired, GovDateField


class ExampleForm(FlaskForm):
    class Meta:
        csrf = False

    starts_on = GovDateField("Start date", validators=[DateRequired("Enter the start date")])
    ends_on = GovDateField("End date (optional)")


def submit(app, starts_on, ends_on=("", "", "")):
    with app.test_request_context(method="POST"):
        form = ExampleForm(
            formdata=MultiDict(
                [*(("starts_on", v) for v in starts_on), *(("ends_on", v) for v in ends_on)]
            )
        )
        valid = form.validate()
        return valid, form


def test_a_whole_date_is_read_day_month_year(app):
    valid, form = submit(app, ["1", "4", "2026"])
    assert valid and form.starts_on.data.isoformat() == "2026-04-01"
    assert form.ends_on.data is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (["", "", ""], "Enter the start date"),
        (["31", "", "2027"], "Start date must include a month"),
        (["", "", "2027"], "Start date must include a day and month"),
        (["31", "2", "2027"], "Start date must be a real date"),
        (["1", "April", "2027"], "Start date must be a real date, in numbers"),
        (["1", "4", "27"], "Start date must include a year of 4 numbers"),
    ],
)
def test_bad_dates_say_what_is_wrong(app, typed, message):
    valid, form = submit(app, typed)
    assert not valid
    assert form.starts_on.errors[0].startswith(message)


def test_a_bad_optional_date_is_still_an_error_and_keeps_what_was_typed(app):
    valid, form = submit(app, ["1", "4", "2026"], ["30", "", "2026"])
    assert not valid
    assert form.ends_on.errors == ["End date must include a month"]
    with app.test_request_context():
        html = form.ends_on()
    assert 'value="30"' in html and 'value="2026"' in html
