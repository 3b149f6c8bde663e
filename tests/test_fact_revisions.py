"""A year's facts revision changes with every change a suppression pattern depends on,
whoever makes it (pam.returns.revisions), and with nothing else; on SQLite and
PostgreSQL alike, since the triggers differ."""

from __future__ import annotations

from sqlalchemy import text

from pam.contracts import services as contract_services
from pam.extensions import db
from pam.outcomes import services as outcome_services
from pam.returns import facts, revisions
from tests.conftest import FACTORY, report

YEAR, NEXT_YEAR = "2025/26", "2026/27"


def _changed(change) -> set[str]:
    """The years whose stamp `change` (committed) gave a new value."""
    before = {year: revisions.revision(year) for year in (YEAR, NEXT_YEAR)}
    change()
    db.session.commit()
    return {year for year, stamp in before.items() if revisions.revision(year) != stamp}


def test_an_accepted_return_gives_its_year_a_new_stamp_and_no_other(dataset):
    assert revisions.revision(YEAR) is None  # no fact yet
    assert _changed(lambda: report(dataset["north"], "2025/26-Q1", RJ01="24")) == {YEAR}
    stamp = revisions.revision(YEAR)
    assert len(stamp) == 32 and int(stamp, 16) >= 0
    assert _changed(lambda: report(dataset["south"], "2025/26-Q1", RJ01="5")) == {YEAR}
    assert _changed(lambda: report(dataset["north"], "2026/27-Q1", RJ01="7")) == {NEXT_YEAR}
    assert _changed(lambda: report(dataset["north"], "2025/26-Q2", False, RJ01="9")) == set()


def test_writers_that_bypass_pam_still_change_the_stamp(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24")
    report(dataset["north"], "2026/27-Q1", RJ01="7")
    raw_update = "UPDATE return_facts SET value = value + 1 WHERE code = 'RJ01' AND year = :y"
    assert _changed(lambda: db.session.execute(text(raw_update), {"y": YEAR})) == {YEAR}
    raw_delete = "DELETE FROM return_facts WHERE year = :y"
    assert _changed(lambda: db.session.execute(text(raw_delete), {"y": NEXT_YEAR})) == {NEXT_YEAR}
    assert _changed(facts.rebuild_all) == {YEAR, NEXT_YEAR}


def test_a_contracts_service_provider_or_areas_change_what_its_years_patterns_are_kept_under(
    dataset, make_service, make_organisation, make_area
):
    north = dataset["north"]
    report(north, "2025/26-Q1", RJ01="24")
    areas = [area.id for area in north.areas]

    def restamped(change) -> bool:
        before = revisions.pattern_stamps(YEAR)
        change()
        db.session.commit()
        return revisions.pattern_stamps(YEAR) != before

    def edit(area_ids=areas, **fields):
        values = {"title": north.title, "service_category_id": north.service_category_id,
                  "annual_value": north.annual_value, **fields}  # fmt: skip
        return lambda: contract_services.update_contract(FACTORY, north, values, area_ids)

    assert not restamped(edit(title="A new title"))  # not something a pattern reads
    assert restamped(edit(service_category_id=make_service().id))
    assert restamped(edit(area_ids=[*areas, make_area().id]))
    new_provider = make_organisation().id
    move_provider = "UPDATE contracts SET provider_id = :p WHERE id = :c"  # by hand
    assert restamped(
        lambda: db.session.execute(text(move_provider), {"p": new_provider, "c": north.id})
    )
    assert restamped(edit(area_ids=areas))  # an area taken away


def test_a_change_rolled_back_leaves_the_stamp_and_is_never_seen_again(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24")
    committed = revisions.revision(YEAR)
    db.session.execute(text("UPDATE return_facts SET value = 1 WHERE year = :y"), {"y": YEAR})
    uncommitted = revisions.revision(YEAR)
    db.session.rollback()
    assert revisions.revision(YEAR) == committed != uncommitted
    db.session.execute(text("UPDATE return_facts SET value = 1 WHERE year = :y"), {"y": YEAR})
    db.session.commit()
    assert revisions.revision(YEAR) not in (committed, uncommitted)


# --- the return states' revision (timeliness) ----------------------------------------


def _restamped(change) -> bool:
    """Whether `change` (committed) gave 'return states' a new stamp."""
    before = revisions.return_states_revision()
    change()
    db.session.commit()
    return revisions.return_states_revision() != before


def test_what_says_whether_a_return_came_on_time_changes_the_return_states_stamp(dataset):
    north = dataset["north"]
    # A submission, even one not yet accepted, is the first version of a return.
    assert _restamped(lambda: report(north, "2025/26-Q1", accept=False, RJ01="24"))
    framework = north.framework
    assert _restamped(lambda: outcome_services.update_framework(FACTORY, framework, {
        "rag_tolerance_percent": "10", "frequency": "quarterly", "due_days": "20",
        "due_in_working_days": "y"}))  # fmt: skip
    by_hand = [
        "UPDATE return_versions SET submitted_at = submitted_at",
        "UPDATE contracts SET end_on = end_on",
        "UPDATE organisations SET name = name || ' Ltd'",
        "UPDATE framework_measures SET framework_id = framework_id",
        "UPDATE returns SET period = period",
        "UPDATE contract_areas SET area_id = area_id",
    ]
    for sql in by_hand:
        assert _restamped(lambda sql=sql: db.session.execute(text(sql))), sql
    # Nothing that says when a return is due or came: no new stamp.
    for sql in (
        "UPDATE contracts SET title = 'Renamed'",
        "UPDATE targets SET reason = 'x'",
        "UPDATE return_facts SET rag = rag",
    ):
        assert not _restamped(lambda sql=sql: db.session.execute(text(sql))), sql


def test_the_contract_index_stamp_follows_every_contracts_service_provider_and_areas(
    dataset, make_area
):
    """Set whatever the facts (a contract with none yet, too): the facts triggers see only
    the facts their own transaction sees."""
    south = dataset["south"]  # no facts

    def index_restamped(sql: str, **values) -> bool:
        before = revisions.stamps(None, revisions.CONTRACT_INDEX)
        db.session.execute(text(sql), values)
        db.session.commit()
        return revisions.stamps(None, revisions.CONTRACT_INDEX) != before

    assert index_restamped("UPDATE contracts SET provider_id = provider_id WHERE id = :c",
                           c=south.id)  # fmt: skip
    assert index_restamped("UPDATE contracts SET service_category_id = service_category_id")
    assert index_restamped("INSERT INTO contract_areas (contract_id, area_id) VALUES (:c, :a)",
                           c=south.id, a=make_area().id)  # fmt: skip
    assert index_restamped("DELETE FROM contract_areas WHERE contract_id = :c", c=south.id)
    assert not index_restamped("UPDATE contracts SET title = 'Renamed'")
