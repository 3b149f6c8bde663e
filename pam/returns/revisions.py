"""Revision stamps: random values that database triggers set again whenever what they
watch changes, so that a server process can keep what it worked out under them.

* each financial year's facts revision (table fact_revisions): the year's facts
  (ReturnFact);
* 'contract index' (state_revisions): any contract's service, provider or areas (which
  contracts each filter chooses: a year's patterns are kept under it and the facts');
* 'return states' (state_revisions): what says which returns are due and whether
  they came on time (see _STATE_SOURCES);
* 'board inputs' (state_revisions): everything else the board's dashboards read (see
  _BOARD_SOURCES), so that a whole page can be kept.

A board view asks for the year's suppression patterns, which depend on every cell of
the year. Reading those cells just to learn that nothing has changed cost most of a warm
view (0.5 s of 0.8 s for the outcomes page at 5% of national scale). With the stamp, a
server process that has worked out (or read) a year's figures keeps them under the
year's stamp and reads one row to know they still hold (pam.dashboards.patterns).

The stamp is set by database triggers, not by Python, so that no writer can forget it:
pam.returns.facts, `flask pam rebuild-facts`, the bench generator's COPY, a hand-run
DELETE. It is a random value, never a counter: a counter goes back when a transaction
rolls back or a database is restored or emptied (as the tests do), and a process could
then find another set of facts under a stamp it had already seen. (After restoring a
backup, restart the server processes, as after any restore: a figure read in the instant
between a stamp and a commit is kept under the older stamp, which a restore can bring
back.)

A migration that rebuilds `return_facts`, `contracts`, `contract_areas` or any table a
stamp watches (SQLite's batch mode copies the table; the copy has no triggers, and
triggers on other tables that name it stop the copy) must `uninstall` the groups
concerned first and `install` them after; tests/test_migrations.py checks that the
migrated schema has every trigger. Each group's migration installs it from this module:
a change to a group's triggers is installed by a new migration, which replaces them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from pam.extensions import db
from pam.returns.models import FactRevision, StateRevision

# SQLite has row triggers only: each changed row stamps its year again.
_STAMP_ROW_YEAR = """
    INSERT INTO fact_revisions (year, revision) VALUES ({row}.year, lower(hex(randomblob(16))))
    ON CONFLICT (year) DO UPDATE SET revision = excluded.revision;"""
_SQLITE_TRIGGERS = [
    ("return_facts_revise_insert", "AFTER INSERT ON return_facts",
     _STAMP_ROW_YEAR.format(row="NEW")),
    ("return_facts_revise_delete", "AFTER DELETE ON return_facts",
     _STAMP_ROW_YEAR.format(row="OLD")),
    ("return_facts_revise_update", "AFTER UPDATE ON return_facts",
     _STAMP_ROW_YEAR.format(row="OLD") + _STAMP_ROW_YEAR.format(row="NEW")),
]  # fmt: skip

# PostgreSQL: statement triggers with transition tables, so that a COPY of millions of
# facts stamps each year once, not once a row. A PL/pgSQL statement is planned only when
# it runs, so each branch names only the transition tables its own event has.
_PG_FUNCTIONS = [
    """
CREATE OR REPLACE FUNCTION pam_stamp_fact_years() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed text[];
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE fact_revisions SET revision = md5(random()::text || clock_timestamp()::text);
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT array_agg(DISTINCT year) INTO changed FROM pam_new_facts;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(DISTINCT year) INTO changed FROM pam_old_facts;
  ELSE
    SELECT array_agg(DISTINCT year) INTO changed
    FROM (SELECT year FROM pam_new_facts UNION SELECT year FROM pam_old_facts) AS both_sides;
  END IF;
  INSERT INTO fact_revisions (year, revision)
  SELECT year, md5(random()::text || clock_timestamp()::text || year)
  FROM unnest(changed) AS year
  ON CONFLICT (year) DO UPDATE SET revision = excluded.revision;
  RETURN NULL;
END $$""",
]
_PG_TRIGGERS = [
    ("return_facts_revise_insert", "INSERT", "return_facts", "NEW TABLE AS pam_new_facts",
     "pam_stamp_fact_years"),
    ("return_facts_revise_delete", "DELETE", "return_facts", "OLD TABLE AS pam_old_facts",
     "pam_stamp_fact_years"),
    ("return_facts_revise_update", "UPDATE", "return_facts",
     "NEW TABLE AS pam_new_facts OLD TABLE AS pam_old_facts", "pam_stamp_fact_years"),
    ("return_facts_revise_truncate", "TRUNCATE", "return_facts", "", "pam_stamp_fact_years"),
]  # fmt: skip


def _pg_statements(functions: list[str], triggers: list[tuple]) -> list[str]:
    return functions + [
        statement
        for name, when, table, tables, function in triggers
        for statement in (
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER {when} ON {table} "
            + (f"REFERENCING {tables} " if tables else "")
            + f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        )
    ]


def _sqlite_statements(triggers: list[tuple]) -> list[str]:
    # Dropped first: CREATE TRIGGER IF NOT EXISTS would keep an older version's body.
    return [statement for name, when, body in triggers
            for statement in (f"DROP TRIGGER IF EXISTS {name}",
                              f"CREATE TRIGGER {name} {when} BEGIN {body} END")]  # fmt: skip


@dataclass(frozen=True)
class _Group:
    """The triggers that keep one kind of revision: installed by one migration each."""

    sqlite: list[tuple]
    postgresql: list[tuple]
    functions: list[str]

    def statements(self, dialect: str) -> list[str]:
        if dialect == "postgresql":
            return _pg_statements(self.functions, self.postgresql)
        return _sqlite_statements(self.sqlite)

    def names(self, dialect: str) -> set[str]:
        return {name for name, *_ in (self.postgresql if dialect == "postgresql" else self.sqlite)}


# --- the return states' revision -----------------------------------------------------
# Which returns are due, when, and whether they came on time (the performance page's
# timeliness chart, the board pack's late returns) depend on returns and their versions,
# the contracts' status, term, reference, provider and areas, the providers' names, and
# the frameworks' schedules, due-date rules and measures. Any change to them stamps
# 'return states' again: one stamp for every year (a submission is rarer than a view).
RETURN_STATES = "return states"
_STATE_SOURCES = [
    # (table, the columns whose update matters; none: any update)
    ("returns", ""),
    ("return_versions", ""),
    ("contracts", "status, start_on, end_on, reference, provider_id, service_category_id"),
    ("contract_areas", ""),
    ("organisations", "name"),
    ("outcome_frameworks", "contract_id, frequency, milestones, due_days, due_in_working_days"),
    ("framework_measures", "framework_id"),
]


# --- the contract index's revision ------------------------------------------------------
# The contracts a year's suppression patterns cover, and how its filters choose them
# (ContractIndex: each reporting contract's service, provider and areas). One stamp for
# every year, set by every such change whatever the facts: a trigger that stamped only
# the years a changed contract reports in would see them as its own transaction does,
# and miss a fact another committed meanwhile (migration 0024 dropped such triggers).
CONTRACT_INDEX = "contract index"
_INDEX_SOURCES = [
    ("contracts", "service_category_id, provider_id"),
    ("contract_areas", ""),
]


# --- the board inputs' revision ---------------------------------------------------------
# Everything else the board's dashboards read: contracts, their areas and compliance
# items, providers, areas and services, budgets and funding decisions, frameworks and the
# measures' names. Any change at all to these tables stamps 'board inputs' again: they
# change a few times a day and the pages are read far more often, and a whole page kept
# under it needs no list of the columns it reads. tests/test_dashboards.py checks that
# the pages read no table that neither this nor another stamp watches.
BOARD_INPUTS = "board inputs"
_BOARD_SOURCES = [
    (table, "")
    for table in ("contracts", "contract_areas", "contract_compliance_items", "organisations",
                  "areas", "service_categories", "budget_lines", "funding_decisions",
                  "decision_amounts", "outcome_frameworks", "framework_measures", "metrics",
                  "metric_versions")
]  # fmt: skip


# Set one named stamp (STAMP_NAME and STAMP_FUNCTION are replaced by this module's own
# constants, never by input).
_SQLITE_STAMP_NAME = """
    INSERT INTO state_revisions (name, revision) VALUES ('STAMP_NAME', lower(hex(randomblob(16))))
    ON CONFLICT (name) DO UPDATE SET revision = excluded.revision;"""
_PG_STAMP_NAME = """
CREATE OR REPLACE FUNCTION STAMP_FUNCTION() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO state_revisions (name, revision)
  VALUES ('STAMP_NAME', md5(random()::text || clock_timestamp()::text))
  ON CONFLICT (name) DO UPDATE SET revision = excluded.revision;
  RETURN NULL;
END $$"""


def _stamp_group(name: str, sources: list[tuple[str, str]], verb: str) -> _Group:
    """The triggers that stamp `name` again on any change to `sources`: (table, the
    columns whose update matters; none: any update)."""
    function = f"pam_stamp_{name.replace(' ', '_')}"

    def when(event: str, columns: str) -> str:
        return f"{event}{' OF ' + columns if event == 'UPDATE' and columns else ''}"

    sqlite_stamp = _SQLITE_STAMP_NAME.replace("STAMP_NAME", name)
    pg_function = _PG_STAMP_NAME.replace("STAMP_FUNCTION", function).replace("STAMP_NAME", name)
    return _Group(
        sqlite=[(f"{table}_{verb}_{event.lower()}", f"AFTER {when(event, columns)} ON {table}",
                 sqlite_stamp)
                for table, columns in sources for event in ("INSERT", "UPDATE", "DELETE")],
        postgresql=[(f"{table}_{verb}_{event.lower()}", when(event, columns), table, "",
                     function)
                    for table, columns in sources
                    for event in ("INSERT", "UPDATE", "DELETE", "TRUNCATE")],
        functions=[pg_function],
    )  # fmt: skip


GROUPS = {
    "facts": _Group(_SQLITE_TRIGGERS, _PG_TRIGGERS, _PG_FUNCTIONS),  # migration 0021
    RETURN_STATES: _stamp_group(RETURN_STATES, _STATE_SOURCES, "restate"),  # migration 0022
    CONTRACT_INDEX: _stamp_group(CONTRACT_INDEX, _INDEX_SOURCES, "reindex"),  # migration 0023
    BOARD_INPUTS: _stamp_group(BOARD_INPUTS, _BOARD_SOURCES, "board_input"),  # migration 0025
}
# Every table some stamp watches (tests/test_dashboards.py: a page reads no other).
WATCHED = frozenset(
    {"return_facts"}
    | {table for sources in (_STATE_SOURCES, _INDEX_SOURCES, _BOARD_SOURCES)
       for table, _columns in sources}
)  # fmt: skip


def install(connection: Connection, *groups: str) -> None:
    """Create (or replace) the triggers of these groups (all when none are named) on this
    database: by the group's migration, and after `create_all` (the tests' schema)."""
    for group in groups or GROUPS:
        for statement in GROUPS[group].statements(connection.dialect.name):
            connection.exec_driver_sql(statement)


def uninstall(connection: Connection, group: str) -> None:
    """Drop a group's triggers (its migration going down)."""
    dialect = connection.dialect.name
    triggers = GROUPS[group].postgresql if dialect == "postgresql" else GROUPS[group].sqlite
    for name, _when, table, *_ in triggers:
        on = f" ON {table}" if dialect == "postgresql" else ""
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}{on}")
    if dialect == "postgresql":
        for function in GROUPS[group].functions:
            name = function.split("FUNCTION ", 1)[1].split("(", 1)[0]
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")


def expected(dialect: str) -> set[str]:
    """Every revision trigger a database of this dialect should have."""
    return set().union(*(group.names(dialect) for group in GROUPS.values()))


def installed(connection: Connection) -> set[str]:
    """The names of the revision triggers this database has."""
    if connection.dialect.name == "postgresql":
        query = """SELECT trigger.tgname FROM pg_trigger AS trigger
                   JOIN pg_class AS tab ON tab.oid = trigger.tgrelid
                   WHERE tab.relnamespace = current_schema()::regnamespace"""
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    return {name for (name,) in connection.exec_driver_sql(query)} & expected(
        connection.dialect.name
    )


def stamps(year: str | None, *names: str) -> tuple[str | None, ...]:
    """In one statement, as this session sees them: the year's facts revision (if a year
    is given), then each named stamp. None is "not known" (no row yet): nothing may be
    kept under it."""
    columns = []
    if year is not None:
        columns.append(select(FactRevision.revision).where(FactRevision.year == year))
    columns += [select(StateRevision.revision).where(StateRevision.name == name)
                for name in names]  # fmt: skip
    return tuple(db.session.execute(select(*(c.scalar_subquery() for c in columns))).one())


def revision(year: str) -> str | None:
    """The year's facts revision alone."""
    return stamps(year)[0]


def pattern_stamps(year: str) -> tuple[str | None, str | None]:
    """What a year's suppression patterns are kept under: its facts, and the contract
    index (which contracts each filter chooses)."""
    return stamps(year, CONTRACT_INDEX)  # type: ignore[return-value]


def board_stamps(year: str) -> tuple[str | None, str | None]:
    """What the board's RAG figures are kept under: the year's facts, and the return
    states (the contracts' status, term, reference, provider, service and areas, and
    the providers' names, are among what sets it)."""
    return stamps(year, RETURN_STATES)  # type: ignore[return-value]


def page_stamps(year: str) -> tuple[str | None, str | None, str | None]:
    """What a whole dashboard page is kept under: the year's facts, the return states and
    the board inputs (which watch, between them, every table the pages read)."""
    return stamps(year, RETURN_STATES, BOARD_INPUTS)  # type: ignore[return-value]


def board_inputs_revision() -> str | None:
    return stamps(None, BOARD_INPUTS)[0]


def return_states_revision() -> str | None:
    return stamps(None, RETURN_STATES)[0]


@event.listens_for(db.metadata, "after_create")
def _install_after_create_all(target, connection: Connection, **_kw) -> None:
    install(connection)
