"""Load a national-scale dataset into the configured database, quickly.

At SCALE 1.0: 43 force areas, ~2,000 providers, ~5,000 contracts, each with ten financial
years (40 quarters) of accepted quarterly returns: ~4 million KPI figures, with the
reporting summary (return_facts) that the dashboards read.

How: the demo is loaded first through the real services (audited, validated), so every
shape below is one PAM itself made. Its quarterly contracts that have an accepted return
are the templates; each generated contract copies one template's contract, outcome
framework, measures and targets, and each of its 40 returns copies the template's
accepted return (version, figures, review, facts) with its own period and its figures
scaled by a whole number (so breakdowns still add up to their totals; percentages are
kept), the RAG worked out again with PAM's own rag_status. Rows are copied at the
database's own level (COPY on PostgreSQL, executemany on SQLite), not through the ORM:
that is what makes millions of rows take minutes, and why the copies carry no audit
events (the benchmark measures reading, and the audit trail is not read by those pages).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from pam.contracts.models import Contract
from pam.core.periods import FinancialYear, Period
from pam.extensions import db
from pam.outcomes.models import FrameworkMeasure, Frequency, Unit
from pam.outcomes.rag import rag_status
from pam.returns.models import ProviderReturn, ReturnStatus

FULL = {"areas": 43, "providers": 2_000, "contracts": 5_000}
YEARS = 10
FIRST_YEAR = FinancialYear.parse("2016/17")
BATCH = 20_000


@dataclass
class Template:
    """A demo contract with an accepted quarterly return, read as raw rows."""

    contract: dict[str, Any]
    framework: dict[str, Any]
    measures: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    provider_return: dict[str, Any]
    version: dict[str, Any]
    figures: list[dict[str, Any]]
    review: dict[str, Any]
    facts: list[dict[str, Any]]
    # for each fact key of a measure's total: (direction, tolerance) to work out the RAG
    rag_rules: dict[str, tuple[Any, Decimal]] = field(default_factory=dict)
    percent_keys: set[str] = field(default_factory=set)


GENERATED = ("NAT", "IMP")  # the references' prefixes of generated contracts (World)


def sizes(scale: float) -> dict[str, int]:
    return {
        "areas": FULL["areas"],  # every force area, at any scale
        "providers": max(2, round(FULL["providers"] * scale)),
        "contracts": max(2, round(FULL["contracts"] * scale)),
    }


# --- reading the templates --------------------------------------------------------------


def _rows(connection: Connection, table: str, where: str = "", **params) -> list[dict]:
    sql = f"SELECT * FROM {table}" + (f" WHERE {where}" if where else "")  # noqa: S608 - our names
    return [dict(row._mapping) for row in connection.execute(text(sql), params)]


def templates(connection: Connection) -> list[Template]:
    found = []
    # The demo's own contracts: a generated one copies one of them, and reading a national
    # database's 200,000 returns here (each copy's facts found by a scan) took an hour.
    accepted = db.session.scalars(
        select(ProviderReturn).join(Contract, Contract.id == ProviderReturn.contract_id)
        .where(ProviderReturn.status == ReturnStatus.ACCEPTED,
               *(Contract.reference.not_like(f"{prefix}-%") for prefix in GENERATED))
    ).all()  # fmt: skip
    seen: set[int] = set()
    for provider_return in accepted:
        contract = provider_return.contract
        framework = contract.framework
        if contract.id in seen or framework is None or framework.frequency != Frequency.QUARTERLY:
            continue
        version = provider_return.accepted_version
        if version is None or not version.figures:
            continue
        seen.add(contract.id)
        found.append(_template(connection, provider_return, version.id))
    if not found:
        raise RuntimeError("The demo has no accepted quarterly return to copy")
    return found


def _template(connection: Connection, provider_return: ProviderReturn, version_id: int):
    contract = provider_return.contract
    framework_id = contract.framework.id
    measures = _rows(connection, "framework_measures", "framework_id = :f", f=framework_id)
    measure_ids = ",".join(str(m["id"]) for m in measures) or "0"
    template = Template(
        contract=_rows(connection, "contracts", "id = :c", c=contract.id)[0],
        framework=_rows(connection, "outcome_frameworks", "id = :f", f=framework_id)[0],
        measures=measures,
        targets=_rows(connection, "targets", f"measure_id IN ({measure_ids})"),
        provider_return=_rows(connection, "returns", "id = :r", r=provider_return.id)[0],
        version=_rows(connection, "return_versions", "id = :v", v=version_id)[0],
        figures=_rows(connection, "return_figures", "version_id = :v", v=version_id),
        review=_rows(
            connection, "return_reviews", "version_id = :v AND decision = 'accepted'", v=version_id
        )[0],
        facts=_rows(connection, "return_facts", "version_id = :v", v=version_id),
    )
    period = Period.parse(provider_return.period)
    for measure in db.session.scalars(
        select(FrameworkMeasure).where(FrameworkMeasure.framework_id == framework_id)
    ):
        metric_version = measure.metric.version_on(period.starts_on)
        key = f"K:{measure.metric.code}"
        template.rag_rules[key] = (metric_version.direction, measure.tolerance)
        if metric_version.unit == Unit.PERCENTAGE:
            template.percent_keys.add(key)
    return template


# --- writing rows fast -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def bulk_insert(connection: Connection, table: str, rows: Iterable[dict]) -> int:
    """Insert rows (dicts with the same keys) in batches: COPY on PostgreSQL."""
    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            count += _write(connection, table, batch)
            batch = []
    if batch:
        count += _write(connection, table, batch)
    return count


def _write(connection: Connection, table: str, rows: list[dict]) -> int:
    columns = list(rows[0])
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_plain(row[c]) for c in columns])
    else:
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        cursor = connection.connection.driver_connection.cursor()
        cursor.executemany(sql, ([_sqlite(row[c]) for c in columns] for row in rows))
    return len(rows)


def _sqlite(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return _plain(value)


class Ids:
    """The next free id of each table (rows are inserted with explicit ids)."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.next: dict[str, int] = {}

    def take(self, table: str) -> int:
        if table not in self.next:
            sql = f"SELECT COALESCE(MAX(id), 0) FROM {table}"  # noqa: S608 - our names
            self.next[table] = self.connection.execute(text(sql)).scalar() + 1
        self.next[table] += 1
        return self.next[table] - 1

    def reset_sequences(self) -> None:
        if self.connection.dialect.name != "postgresql":
            return
        for table in self.next:
            self.connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT MAX(id) FROM {table}))"
                )
            )


# --- the generated world ----------------------------------------------------------------


def _quarters() -> list[Period]:
    year, found = FIRST_YEAR, []
    for _ in range(YEARS):
        found += year.quarters()
        year = year.next()
    return found


def _areas(ids: Ids, count: int) -> Iterator[dict]:
    for number in range(1, count + 1):
        yield {"id": ids.take("areas"), "code": f"FORCE{number:02d}",
               "name": f"Force area {number:02d}", "is_active": True}  # fmt: skip


def _providers(ids: Ids, template: dict, count: int) -> Iterator[dict]:
    for number in range(1, count + 1):
        yield {
            **template,
            "id": ids.take("organisations"),
            "name": f"National provider {number:04d}",
            "charity_number": f"9{number:06d}",
            "company_number": None,
            "email": None,
            "safeguarding_lead_email": None,
            "version": 1,
        }


def generate(scale: float, progress=print) -> dict[str, int]:
    """Add a generated world of this scale to the database (the demo must be loaded)."""
    started = time.perf_counter()
    size = sizes(scale)
    connection = db.session.connection()
    shapes = templates(connection)
    ids = Ids(connection)
    counts: dict[str, int] = {}
    area_rows = list(_areas(ids, size["areas"]))
    counts["areas"] = bulk_insert(connection, "areas", area_rows)
    provider_template = _rows(
        connection, "organisations", "id = :o", o=shapes[0].contract["provider_id"]
    )[0]
    provider_rows = list(_providers(ids, provider_template, size["providers"]))
    counts["organisations"] = bulk_insert(connection, "organisations", provider_rows)
    world = World(ids, shapes, [r["id"] for r in area_rows], [r["id"] for r in provider_rows])
    for table, rows in world.tables(size["contracts"]):
        counts[table] = counts.get(table, 0) + bulk_insert(connection, table, rows)
        progress(f"  {table}: {counts[table]:,} rows ({time.perf_counter() - started:.0f} s)")
    ids.reset_sequences()
    db.session.commit()
    return counts


class World:
    """The generated contracts and their returns, table by table."""

    def __init__(self, ids: Ids, shapes: list[Template], areas: list[int], providers: list[int],
                 *, prefix: str = "NAT", with_returns: bool = True):  # fmt: skip
        self.ids, self.shapes, self.areas, self.providers = ids, shapes, areas, providers
        self.prefix, self.with_returns = prefix, with_returns  # no returns: ones to import
        self.quarters = _quarters()

    def tables(self, contracts: int) -> Iterator[tuple[str, list[dict]]]:
        """Per block of contracts, each table's rows in the order foreign keys need."""
        block = 100
        for first in range(0, contracts, block):
            tables: dict[str, list[dict]] = {}
            for number in range(first, min(first + block, contracts)):
                self._contract(number, tables)
            for table in TABLE_ORDER:
                if tables.get(table):
                    yield table, tables[table]

    def _contract(self, number: int, tables: dict[str, list[dict]]) -> None:
        shape = self.shapes[number % len(self.shapes)]
        first, last = self.quarters[0], self.quarters[-1]
        contract_id = self.ids.take("contracts")
        add = lambda table, row: tables.setdefault(table, []).append(row)  # noqa: E731
        add("contracts", {
            **shape.contract, "id": contract_id, "reference": f"{self.prefix}-{number + 1:05d}",
            "title": f"{shape.contract['title']} ({number + 1})",
            "provider_id": self.providers[number % len(self.providers)],
            "start_on": first.starts_on, "original_end_on": last.ends_on,
            "end_on": last.ends_on, "funding_decision_id": None, "tender_id": None,
            "version": 1,
        })  # fmt: skip
        add("contract_areas", {"contract_id": contract_id,
                               "area_id": self.areas[number % len(self.areas)]})  # fmt: skip
        framework_id = self.ids.take("outcome_frameworks")
        add("outcome_frameworks", {**shape.framework, "id": framework_id,
                                   "contract_id": contract_id, "version": 1})  # fmt: skip
        measure_ids = {}
        for measure in shape.measures:
            measure_ids[measure["id"]] = self.ids.take("framework_measures")
            add("framework_measures", {**measure, "id": measure_ids[measure["id"]],
                                       "framework_id": framework_id})  # fmt: skip
        for target in shape.targets:
            add("targets", {**target, "id": self.ids.take("targets"),
                            "measure_id": measure_ids[target["measure_id"]],
                            "effective_from": first.starts_on})  # fmt: skip
        for index, period in enumerate(self.quarters if self.with_returns else ()):
            self._return(shape, number, index, period, contract_id, measure_ids, add)

    def _return(self, shape, number, index, period, contract_id, measure_ids, add) -> None:
        factor = 1 + (number * 7 + index) % 3
        return_id, version_id = self.ids.take("returns"), self.ids.take("return_versions")
        add("returns", {
            **shape.provider_return, "id": return_id, "contract_id": contract_id,
            "period": period.label, "period_start": period.starts_on,
            "period_end": period.ends_on, "due_on": period.ends_on, "version": 1,
            "draft_values": {}, "draft_explanations": {}, "draft_problems": [],
        })  # fmt: skip
        add("return_versions", {**shape.version, "id": version_id, "return_id": return_id,
                                "file_id": None})  # fmt: skip
        add("return_reviews", {**shape.review, "id": self.ids.take("return_reviews"),
                               "return_id": return_id, "version_id": version_id})  # fmt: skip
        for figure in shape.figures:
            add("return_figures", {
                **figure, "id": self.ids.take("return_figures"), "version_id": version_id,
                "measure_id": measure_ids[figure["measure_id"]],
                "value": _scaled(figure["value"], figure["key"], shape, factor),
            })  # fmt: skip
        quarter = int(Period.quarter_containing(period.ends_on).part[1])
        for fact in shape.facts:
            value = _scaled(fact["value"], fact["key"], shape, factor)
            add("return_facts", {
                **fact, "id": self.ids.take("return_facts"), "contract_id": contract_id,
                "return_id": return_id, "version_id": version_id, "year": period.year.label,
                "quarter": quarter, "period": period.label, "period_end": period.ends_on,
                "value": value, "rag": _rag(shape, fact, value),
            })  # fmt: skip


TABLE_ORDER = [
    "contracts", "contract_areas", "outcome_frameworks", "framework_measures", "targets",
    "returns", "return_versions", "return_reviews", "return_figures", "return_facts",
]  # fmt: skip


def _scaled(value: Any, key: str, shape: Template, factor: int) -> Decimal:
    number = Decimal(str(value))
    total_key = ":".join(key.split(":")[:2])
    if total_key in shape.percent_keys:
        return number
    return number * factor


def _rag(shape: Template, fact: dict, value: Decimal) -> str | None:
    rule = shape.rag_rules.get(fact["key"])
    if rule is None or fact["target"] is None:
        return fact["rag"]
    status = rag_status(value, Decimal(str(fact["target"])), rule[0], rule[1])
    return status.value if status else None


def contract_count() -> int:
    return db.session.query(Contract).count()
