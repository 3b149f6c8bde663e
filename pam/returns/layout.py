"""What a return asks for, line by line, and how each line's answer is checked.

A Layout is the list of Items for one contract and period: the framework's measures (and
their breakdown categories), then spend, satisfaction, equality monitoring and narrative.
Every item has a stable key ("K:RJ01", "K:RJ01:referral_source:police", "S:spend",
"E:age:18-24", "N:achievements"), which is what the spreadsheet, the CSV and the web form
all carry, so the three routes share one check (`check_entries`) and one set of messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pam.contracts.models import Contract
from pam.core.periods import Period
from pam.outcomes.models import BREAKDOWNS, FrameworkMeasure, MetricVersion, Unit

NARRATIVE_LIMIT = 4000
TOO_LARGE = Decimal("1000000000")  # no figure in a return comes near a billion

EQUALITY: dict[str, tuple[str, tuple[str, ...]]] = {
    "age": ("Age", ("Under 18", "18 to 24", "25 to 34", "35 to 49", "50 to 64", "65 and over",
                    "Not known")),
    "sex": ("Sex", ("Female", "Male", "Not known")),
    "ethnicity": ("Ethnic group", ("Asian or Asian British", "Black, Black British, Caribbean "
                                   "or African", "Mixed or multiple ethnic groups", "White",
                                   "Other ethnic group", "Not known")),
    "disability": ("Disability", ("Disabled", "Not disabled", "Not known")),
    "sexual_orientation": ("Sexual orientation", ("Heterosexual or straight", "Gay or lesbian",
                                                  "Bisexual", "Other", "Not known")),
}  # fmt: skip

NARRATIVE = {
    "achievements": ("Achievements this period", True),
    "challenges": ("Challenges and how you are addressing them", True),
    "case_study": ("A case study (anonymised: no names or identifying details)", False),
}


def slug(text: str) -> str:
    """'Youth Justice Service' -> 'youth-justice-service' (stable keys for categories)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class Item:
    """One line of a return."""

    key: str
    section: str  # measures, spend, satisfaction, equality, narrative
    label: str
    unit: Unit | None  # None for narrative text
    required: bool = True
    breakdown_label: str = ""
    measure: FrameworkMeasure | None = None
    metric_version: MetricVersion | None = None
    total_key: str | None = None  # for a breakdown category: the measure's total
    previous: Decimal | str | None = None

    @property
    def is_text(self) -> bool:
        return self.unit is None


@dataclass
class Layout:
    contract: Contract
    period: Period
    items: list[Item] = field(default_factory=list)

    def by_key(self) -> dict[str, Item]:
        return {item.key: item for item in self.items}

    def section(self, name: str) -> list[Item]:
        return [item for item in self.items if item.section == name]


def build_layout(contract: Contract, period: Period, previous: dict[str, Any] | None = None):
    """The items a return for this contract and period asks for."""
    previous = previous or {}
    layout = Layout(contract, period)
    framework = contract.framework
    measures = framework.active_measures if framework else []
    proportionate = bool(framework and framework.is_proportionate)
    for measure in measures:
        version = measure.metric.version_on(period.starts_on)
        total_key = f"K:{measure.metric.code}"
        layout.items.append(
            Item(total_key, "measures", version.name, version.unit, measure=measure,
                 metric_version=version, previous=previous.get(total_key))
        )  # fmt: skip
        if proportionate:
            continue
        for breakdown in version.breakdowns:
            title, categories = BREAKDOWNS[breakdown]
            for category in categories:
                key = f"{total_key}:{breakdown}:{slug(category)}"
                layout.items.append(
                    Item(key, "measures", category, version.unit, required=False,
                         breakdown_label=title, measure=measure, metric_version=version,
                         total_key=total_key, previous=previous.get(key))
                )  # fmt: skip
    layout.items.append(
        Item("S:spend", "spend", "Spend on the service this period", Unit.MONEY,
             previous=previous.get("S:spend"))
    )  # fmt: skip
    layout.items.append(
        Item("Q:responses", "satisfaction", "Service users who gave feedback", Unit.COUNT,
             required=not proportionate, previous=previous.get("Q:responses"))
    )  # fmt: skip
    layout.items.append(
        Item("Q:satisfied", "satisfaction", "Of those, satisfied or very satisfied", Unit.COUNT,
             required=not proportionate, previous=previous.get("Q:satisfied"))
    )  # fmt: skip
    if not proportionate:
        for characteristic, (title, categories) in EQUALITY.items():
            for category in categories:
                key = f"E:{characteristic}:{slug(category)}"
                layout.items.append(
                    Item(key, "equality", category, Unit.COUNT, required=False,
                         breakdown_label=title, previous=previous.get(key))
                )  # fmt: skip
    for name, (label, required) in NARRATIVE.items():
        if proportionate and name != "achievements":
            continue
        layout.items.append(Item(f"N:{name}", "narrative", label, None, required=required))
    return layout


# --- reading and checking answers ------------------------------------------------------


@dataclass
class Problem:
    key: str | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Checked:
    """The outcome of checking a set of answers: clean values, or problems (never both)."""

    values: dict[str, Decimal | str]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def _as_text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def parse_number(raw: Any, unit: Unit, percent_format: bool = False) -> Decimal:
    """A typed or stored number as a Decimal; ValueError with the reason in words."""
    if isinstance(raw, bool | date):
        raise ValueError("is not a number")
    if isinstance(raw, int | float):
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        if not value.is_finite():
            raise ValueError("is not a number")
        if abs(value) >= TOO_LARGE:
            raise ValueError("is too large: check it")
        if percent_format and unit == Unit.PERCENTAGE and value <= 1:
            value *= 100  # a cell formatted as a percentage holds 0.85 for 85%
        return value.quantize(Decimal("0.000001")).normalize()
    text = _as_text(raw).replace(",", "").replace(" ", "")
    if unit == Unit.MONEY:
        text = text.removeprefix("£")
    if unit == Unit.PERCENTAGE:
        text = text.removesuffix("%")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError("is not a number") from None
    if not value.is_finite():
        raise ValueError("is not a number")
    if abs(value) >= TOO_LARGE:
        raise ValueError("is too large: check it")
    return value


def check_value(item: Item, raw: Any, percent_format: bool = False) -> Decimal:
    """One answer checked against its unit; ValueError with a plain-English reason."""
    value = parse_number(raw, item.unit, percent_format)
    if value < 0:
        raise ValueError("is below 0: enter 0 or more")
    if item.unit == Unit.COUNT and value != value.to_integral_value():
        raise ValueError("is not a whole number")
    if item.unit == Unit.PERCENTAGE and value > 100:
        raise ValueError("is more than 100%: enter a percentage from 0 to 100")
    if item.unit == Unit.MONEY and value != value.quantize(Decimal("0.01")):
        raise ValueError("has more than 2 decimal places: enter pounds and pence")
    return value.quantize(Decimal("0.01"))


def plain(value: Decimal) -> str:
    """4.00 -> '4', 87.50 -> '87.5' (for messages)."""
    return f"{value.normalize():f}" if value == value else str(value)


def describe(item: Item) -> str:
    if item.breakdown_label:
        return f"{item.breakdown_label}: {item.label}"
    return item.label


def check_entries(
    layout: Layout,
    raw: dict[str, Any],
    where: dict[str, str] | None = None,
    percent_formats: set[str] | None = None,
) -> Checked:
    """Check every answer at once; each problem names the line, where it is, and the fix."""
    where = where or {}
    percent_formats = percent_formats or set()
    values: dict[str, Decimal | str] = {}
    problems: list[Problem] = []

    def place(key: str) -> str:
        return f" ({where[key]})" if key in where else ""

    for item in layout.items:
        given = raw.get(item.key)
        text = _as_text(given)
        if item.is_text:
            if item.required and not text:
                message = f"{item.label}: enter some text{place(item.key)}"
                problems.append(Problem(item.key, message))
            elif len(text) > NARRATIVE_LIMIT:
                problems.append(
                    Problem(item.key, f"{item.label}: use {NARRATIVE_LIMIT} characters or fewer "
                            f"(it has {len(text)}){place(item.key)}")
                )  # fmt: skip
            elif text:
                values[item.key] = text
            continue
        if text == "":
            if item.required:
                problems.append(
                    Problem(item.key, f"{describe(item)}: enter a figure, or 0 if there were "
                            f"none{place(item.key)}")
                )  # fmt: skip
            continue
        try:
            values[item.key] = check_value(item, given, item.key in percent_formats)
        except ValueError as error:
            problems.append(
                Problem(item.key, f"{describe(item)}: '{text}' {error}{place(item.key)}")
            )
    problems.extend(_cross_checks(layout, values, place))
    return Checked(values if not problems else {}, problems)


def _cross_checks(layout: Layout, values: dict[str, Any], place) -> list[Problem]:
    """Breakdowns that add up to their totals; satisfied not more than responded."""
    problems = []
    groups: dict[tuple[str, str], list[Item]] = {}
    for item in layout.items:
        if item.total_key:
            groups.setdefault((item.total_key, item.breakdown_label), []).append(item)
    by_key = layout.by_key()
    for (total_key, title), items in groups.items():
        given = [values[i.key] for i in items if i.key in values]
        total = values.get(total_key)
        if not given or total is None or by_key[total_key].unit != Unit.COUNT:
            continue
        if sum(given) != total:
            label, added = by_key[total_key].label, plain(sum(given))
            message = (
                f"{label}: the {title.lower()} figures add up to {added} but the total is "
                f"{plain(total)}{place(total_key)}"
            )
            problems.append(Problem(total_key, message))
    responses, satisfied = values.get("Q:responses"), values.get("Q:satisfied")
    if responses is not None and satisfied is not None and satisfied > responses:
        message = (
            f"Satisfied or very satisfied ({plain(satisfied)}) cannot be more than those who "
            f"gave feedback ({plain(responses)}){place('Q:satisfied')}"
        )
        problems.append(Problem("Q:satisfied", message))
    return problems


def swings(layout: Layout, values: dict[str, Any], threshold_percent: Decimal) -> list[Item]:
    """Measures that moved more than the threshold against the previous period's figure."""
    flagged = []
    for item in layout.section("measures"):
        if item.total_key:  # breakdown categories are not flagged on their own
            continue
        before, now = item.previous, values.get(item.key)
        if not isinstance(before, Decimal) or now is None:
            continue
        if before == 0:
            changed = now >= 10 if item.unit == Unit.COUNT else now > 0
        else:
            changed = abs(now - before) / before * 100 > threshold_percent
        if changed:
            flagged.append(item)
    return flagged
