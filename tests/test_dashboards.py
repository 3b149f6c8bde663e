"""The board dashboards: figures checked against a small hand-made dataset, suppression
(primary, secondary, across filters and in rates), who sees what, filters in the URL, and
SQL statements that do not grow with the data."""

from __future__ import annotations

import json
import logging
import re
import threading
import zlib
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import product

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import OperationalError

from pam.audit import services as audit
from pam.auth.models import Role
from pam.contracts import services as contract_services
from pam.contracts.models import (
    ComplianceItem,
    ComplianceKind,
    Contract,
    ContractStatus,
    contract_areas,
)
from pam.core import template_helpers
from pam.core.periods import FinancialYear, Period
from pam.dashboards import (
    ahead,
    kept,
    memo,
    outcomes,
    patterns,
    performance,
    portfolio,
    stored,
    suppression,
)
from pam.dashboards.charts import SUPPRESSED
from pam.dashboards.filters import Filters
from pam.dashboards.models import KeptPage, StoredPattern
from pam.dashboards.patterns import Figures, YearPatterns
from pam.dashboards.suppression import Pattern, is_small
from pam.extensions import db
from pam.outcomes import services as outcome_services
from pam.outcomes.models import Metric
from pam.providers.models import Organisation
from pam.returns import revisions
from pam.returns.models import ReturnFact
from tests.conftest import FACTORY, report, statements_for, statements_of, submit_answers

C = SUPPRESSED

YEAR = FinancialYear(2025)
TODAY = date(2026, 1, 20)


# --- suppression rules ------------------------------------------------------------------


def _published(pattern: Pattern, *figures: list) -> list[int]:
    """Publish figures given as lists of cells; their masks, in order."""
    masks = [pattern.mask(cells) for cells in figures]
    pattern.publish(*masks)
    return masks


def test_counts_from_one_to_the_threshold_are_suppressed_and_zero_is_shown():
    pattern = Pattern({"a": 0, "b": 1, "c": 4, "d": 5}, threshold=4)
    a, b, c, d = _published(pattern, ["a"], ["b"], ["c"], ["d"])
    assert [pattern.hides(mask) for mask in (a, b, c, d)] == [False, True, True, False]
    six = Pattern({"a": 5, "b": 6}, threshold=6)  # configurable
    assert all(six.hides(mask) for mask in _published(six, ["a"], ["b"]))
    officer = Pattern({"a": 1}, threshold=0)
    assert not officer.hides(_published(officer, ["a"])[0])


def test_a_lone_suppressed_cell_in_a_group_takes_the_smallest_other_with_it():
    pattern = Pattern({"q1": 3, "q2": 9, "q3": 7, "q4": 12}, threshold=4)
    quarters = [pattern.mask([q]) for q in ("q1", "q2", "q3", "q4")]
    pattern.group(pattern.mask(["q1", "q2", "q3", "q4"]), quarters)
    assert [pattern.hides(mask) for mask in quarters] == [True, False, True, False]
    assert not pattern.hides(pattern.mask(["q1", "q2", "q3", "q4"]))  # the year: 31


def test_secondary_suppression_ripples_through_rows_and_columns():
    # A 2x2 table with margins: hiding (a, x) forces a second in its row and its column,
    # and those in turn force a fourth, so no line has a lone suppressed cell.
    cells = {("a", "x"): 2, ("a", "y"): 10, ("b", "x"): 20, ("b", "y"): 30}
    pattern = Pattern(cells, threshold=4)
    for line in ([(r, c) for c in "xy"] for r in "ab"), ([(r, c) for r in "ab"] for c in "xy"):
        for keys in line:
            pattern.group(pattern.mask(keys), [pattern.mask([key]) for key in keys])
    hidden = {key for key in cells if pattern.hides(pattern.mask([key]))}
    assert hidden == {("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")}
    # Settled, the pattern lets go of what only working it out needs (a server process
    # keeps every family's), and still answers for figures it was not told about.
    assert not pattern._protected and not pattern._groups and not pattern._named
    assert not pattern.hides(pattern.mask(cells))  # the grand total gives none of them away


def test_the_same_sum_under_two_names_is_one_figure():
    # One service: its total and the whole total are the same figure, so a page showing
    # "the service" and another showing "everything" cannot disagree about it.
    pattern = Pattern({"north": 3, "south": 9}, threshold=4)
    north, south = pattern.mask(["north"]), pattern.mask(["south"])
    pattern.group(pattern.mask(["north", "south"]), [north, south])  # every contract
    pattern.group(pattern.mask(["south", "north"]), [north, south])  # the one service
    assert pattern.hides(north) and pattern.hides(south)
    assert not pattern.hides(north | south)


def test_totals_that_overlap_cannot_be_subtracted_to_reveal_a_cell():
    # N is alone in its area; S1 and S2 share one; W another. Areas overlap elsewhere, so
    # they are not a group: the exact check finds everything - south - W = N and hides more.
    pattern = Pattern({"N": 3, "S1": 10, "S2": 12, "W": 30}, threshold=4)
    n, s1, s2, w = (pattern.mask([key]) for key in ("N", "S1", "S2", "W"))
    pattern.group(n | s1 | s2 | w, [n, s1, s2, w])
    pattern.group(s1 | s2, [s1, s2])
    assert pattern.hides(n)
    assert pattern.hides(s1 | s2) or pattern.hides(w) or pattern.hides(n | s1 | s2 | w)


def test_a_total_less_a_part_that_is_a_small_number_hides_the_part():
    # 1 + 2 + 20: both small ones are hidden, but the total less 20 would say 3.
    pattern = Pattern({"a": 1, "b": 2, "c": 20}, threshold=4)
    a, b, c = (pattern.mask([key]) for key in "abc")
    pattern.group(a | b | c, [a, b, c])
    assert pattern.hides(a) and pattern.hides(b) and pattern.hides(c)


def test_a_figure_not_in_the_pattern_is_shown_only_when_already_given_away():
    pattern = Pattern({"q1": 3, "q2": 9, "q3": 7, "q4": 12}, threshold=4)
    quarters = [pattern.mask([q]) for q in ("q1", "q2", "q3", "q4")]
    pattern.group(pattern.mask(["q1", "q2", "q3", "q4"]), quarters)
    assert not pattern.hides(pattern.mask(["q2", "q4"]))  # both shown: nothing new
    assert pattern.hides(pattern.mask(["q1", "q2"]))  # with q3 and q4 it gives q1 and q3
    assert pattern.hides(pattern.mask(["q1", "q3"])) is False  # the year less q2 and q4


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(0, 14), min_size=4, max_size=4), min_size=2, max_size=4))
def test_no_shown_figures_ever_determine_a_small_one(table):
    """Contracts by quarter with row, column and area totals: whatever the numbers, no
    small figure (or small total-less-a-part) is a combination of the shown figures,
    checked independently with numpy's matrix rank."""
    rows, quarters = range(len(table)), range(4)
    cells = {(r, q): table[r][q] for r in rows for q in quarters}
    pattern = Pattern(cells, threshold=4)
    mask = pattern.mask
    row_totals = [mask([(r, q) for q in quarters]) for r in rows]
    groups = [(row_totals[r], [mask([(r, q)]) for q in quarters]) for r in rows]
    groups += [(mask([(r, q) for r in rows]), [mask([(r, q)]) for r in rows]) for q in quarters]
    groups.append((mask(cells), row_totals))
    area = row_totals[0] | row_totals[1]  # a filter: the first two contracts
    groups.append((area, row_totals[:2]))
    for total, parts in groups:
        pattern.group(total, parts)
    pattern.protect(mask(cells), area)
    figures = {m for total, parts in groups for m in (total, *parts) if m}
    differences = [total & ~part for total, parts in groups for part in parts]
    differences.append(mask(cells) & ~area)
    small = [m for m in [*figures, *differences] if is_small(pattern.value(m), 4)]
    width = len([value for value in cells.values() if value])

    def vector(m: int) -> list[int]:
        return [(m >> bit) & 1 for bit in range(width)]

    shown = [vector(m) for m in figures if not pattern.hides(m)]
    known = numpy.array(shown or [[0] * width])
    rank = numpy.linalg.matrix_rank(known)
    for figure in small:
        assert numpy.linalg.matrix_rank(numpy.vstack([known, vector(figure)])) > rank


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 14),  # cells
    st.lists(st.integers(1, 2**14 - 1), min_size=1, max_size=14),  # shown figures
    st.integers(0, 2**14 - 1),  # cells nobody can read directly
    st.lists(st.integers(1, 2**14 - 1), min_size=1, max_size=8),  # figures to check
)
def test_the_exact_check_agrees_with_numpys_rank(cells, shown, unknown, asked):
    """The sparse, block-by-block check says a figure is determined exactly when numpy's
    rank (an independent reckoning) says its unknown cells are in the span of the shown
    figures', and the figures it names do determine it."""
    everything = (1 << cells) - 1
    unknown &= everything
    shown = [mask & everything for mask in shown if mask & everything]
    asked = [mask & everything for mask in asked]
    blocks = suppression._Blocks(unknown, shown)
    answers = blocks.derivations(asked)
    for mask, used in zip(asked, answers, strict=True):
        assert (used is not None) == in_span(unknown, shown, mask), (shown, unknown, mask)
        if used is not None:
            assert set(used) <= set(shown) and in_span(unknown, used, mask)
    # Asked only whether each is determined (the working not added up): the same answers.
    determined = blocks.derivations(asked, working=False)
    assert [used is not None for used in determined] == [used is not None for used in answers]


@given(st.lists(st.integers(0, 3000), max_size=40))
def test_a_mask_made_from_places_has_exactly_those_cells(places):
    mask = suppression.mask_of(places)
    assert list(suppression.places_of(mask)) == sorted(set(places))
    assert mask == sum(1 << place for place in set(places))


def in_span(unknown: int, rows: list[int], mask: int) -> bool:
    columns = [bit for bit in range(unknown.bit_length()) if unknown >> bit & 1]
    if not columns or not mask & unknown:
        return True  # nothing unknown to work out

    def vector(m: int) -> list[int]:
        return [m >> bit & 1 for bit in columns]

    matrix = numpy.array([vector(row) for row in rows] or [[0] * len(columns)])
    with_figure = numpy.vstack([matrix, vector(mask)])
    return numpy.linalg.matrix_rank(with_figure) == numpy.linalg.matrix_rank(matrix)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 9), min_size=4, max_size=4), min_size=2, max_size=4),
       st.sets(st.integers(0, 40), max_size=6))  # fmt: skip
def test_leaving_out_totals_whose_parts_are_shown_changes_no_answer(table, hide):
    """A total whose parts are all shown adds nothing to what the shown figures reveal."""
    rows, quarters = range(len(table)), range(4)
    cells = {(r, q): table[r][q] + 1 for r in rows for q in quarters}  # none zero
    pattern = Pattern(cells, threshold=0)
    mask = pattern.mask
    row_totals = [mask([(r, q) for q in quarters]) for r in rows]
    for r in rows:
        pattern.group(row_totals[r], [mask([(r, q)]) for q in quarters])
    for q in quarters:
        pattern.group(mask([(r, q) for r in rows]), [mask([(r, q)]) for r in rows])
    pattern.group(mask(cells), row_totals)
    published = sorted(pattern._published)
    hidden = {published[i % len(published)] for i in hide}
    unknown, rows_kept = pattern._shown_rows(pattern._by_rank(hidden))
    every_shown = [m for m in published if m not in hidden]
    asked = [*published, *(total & ~part for total in published for part in published)]
    kept = suppression._Blocks(unknown, rows_kept).derivations(asked)
    assert [d is not None for d in kept] == [in_span(unknown, every_shown, m) for m in asked]


CONTRACTS = st.lists(
    st.tuples(st.integers(1, 2), st.integers(1, 3), st.sets(st.integers(1, 2), min_size=1)),
    min_size=2, max_size=5,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(CONTRACTS, st.lists(st.integers(0, 9), min_size=80, max_size=80))
def test_a_filters_own_cells_answer_exactly_as_the_whole_family(contracts, values):
    """Whatever the contracts (service, provider, areas) and their figures: a family read
    for a filter's contracts alone, with the whole family's pattern as kept, answers each
    figure it answers exactly as the whole family does; it answers the filter's own
    figures, each contract's and each finer filter's; a figure with other contracts it
    refuses (and the page is built again in full)."""
    family = patterns.PROCESSES
    index = patterns.ContractIndex(
        {c: service for c, (service, _, _) in enumerate(contracts)},
        {c: provider for c, (_, provider, _) in enumerate(contracts)},
        {c: frozenset(areas) for c, (_, _, areas) in enumerate(contracts)},
    )
    parts = [("RJ07", category) for category in [*family.categories, ""]]
    places = [(c, q, f"2025/26-Q{q}", part) for c in index.services for q in (1, 2, 3, 4)
              for part in parts]  # fmt: skip
    cells = dict(zip(places, values, strict=False))
    whole = Figures(family, cells, index, True, 4)
    whole.hides(0)  # described in full and worked out (as work_out_year does)
    hidden = whole.pattern.settled() if whole.pattern.has_small_cells else set()
    figures = [list(zip(suppression.places_of(m), whole.pattern.cells(m), strict=True))
               for m in hidden]  # fmt: skip
    content = stored.content(figures, small=whole.pattern.has_small_cells, year_sums=True,
                             stamps=None)  # fmt: skip
    kept = stored.made("digest", content, sealed=True)
    keys = {key for c in index.services for key in index.filters_for(c)} - {(None,) * 3}
    for key in keys:
        within = index.matching(*key)
        own = patterns.SelectionFigures(
            family, {cell: v for cell, v in cells.items() if cell[0] in within}, index, 4,
            within, kept)  # fmt: skip
        finer = [index.matching(*k) for k in keys if index.matching(*k) <= within]
        answered = [within, *({c} for c in within), *finer]
        every_subset = [frozenset(c for i, c in enumerate(sorted(within)) if n >> i & 1)
                        for n in range(1, 1 << len(within))]  # fmt: skip
        for chosen, column, group in product([*answered, *every_subset], patterns.COLUMNS,
                                             family.group_names):  # fmt: skip
            try:
                answer = own.figure(chosen, column, group)
            except patterns.BeyondTheSelection:
                assert chosen not in answered, (key, chosen, column, group)
                continue
            assert answer == whole.figure(chosen, column, group), (key, chosen, column, group)
        for beyond in [None, *(within | {c} for c in index.services if c not in within)]:
            with pytest.raises(patterns.BeyondTheSelection):
                own.figure(beyond, patterns.YEAR, "RJ07")


# --- a small hand-made dataset ------------------------------------------------------------


def test_accepting_a_return_fills_the_reporting_summary(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    report(dataset["north"], "2025/26-Q2", accept=False, RJ01="25", VS02="12")
    facts = db.session.scalars(
        select(ReturnFact).where(ReturnFact.kind == "K", ReturnFact.breakdown == "")
    ).all()
    by_code = {fact.code: fact for fact in facts}
    assert set(by_code) == {"RJ01", "VS02"}  # the unaccepted Q2 is not a fact yet
    assert (by_code["RJ01"].year, by_code["RJ01"].quarter) == ("2025/26", 1)
    assert (by_code["RJ01"].value, by_code["RJ01"].target, by_code["RJ01"].rag) == (
        Decimal("24"), Decimal("20"), "green",
    )  # fmt: skip
    assert by_code["VS02"].rag == "red"  # 3 against 10
    police = db.session.scalar(select(ReturnFact).where(ReturnFact.category == "police"))
    assert police.value == Decimal("24") and police.breakdown == "referral_source"


def test_a_changed_target_re_rates_periods_already_reported(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    measure = next(m for m in dataset["north"].framework.measures if m.metric.code == "RJ01")
    outcome_services.set_target(
        FACTORY, measure, Period.parse("2025/26-Q1"), Decimal("30"), reason="Raised"
    )
    db.session.commit()
    fact = db.session.scalar(select(ReturnFact).where(ReturnFact.key == "K:RJ01"))
    assert (fact.target, fact.rag) == (Decimal("30"), "red")  # 24 < 27


def test_a_revised_measure_re_rates_periods_already_reported(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")  # 24 against 20: Green
    metric = db.session.scalar(select(Metric).where(Metric.code == "RJ01"))
    current = metric.current
    fields = {key: getattr(current, key) for key in outcome_services.DEFINING_FIELDS}
    outcome_services.revise_metric(FACTORY, metric, {
        **fields, "unit": current.unit.value, "aggregation": current.aggregation.value,
        "direction": "lower", "valid_from": date(2025, 4, 1),
        "change_note": "Referrals are now counted as a workload to keep down"})  # fmt: skip
    db.session.commit()
    fact = db.session.scalar(select(ReturnFact).where(ReturnFact.key == "K:RJ01"))
    assert fact.rag == "red"  # lower is better now: 24 is more than 110% of 20


def test_portfolio_and_performance_figures_match_the_dataset(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")  # green, green
    report(dataset["south"], "2025/26-Q1", RJ01="19", VS02="5")  # amber (>=18), red
    report(dataset["north"], "2025/26-Q2", RJ01="20", VS02="11")  # green, green
    filters = Filters(YEAR)
    service = portfolio.value_by_service(filters, TODAY)
    assert service.table.rows == [
        ["Restorative justice", 2, Decimal("100000.00"), Decimal("37500.00")]
    ]  # three returns of £12,500 spend
    rag = portfolio.live_by_rag(Filters(YEAR, quarter=1), TODAY)
    assert dict(rag.table.rows) == {"Green": 1, "Amber": 0, "Red": 1, "Not rated": 0}
    matrix = performance.rag_matrix(filters)
    assert matrix.table.rows == [
        ["DASH-N", dataset["north"].provider.name, "Green (2 G, 0 A, 0 R)",
         "Green (2 G, 0 A, 0 R)", None, None],
        ["DASH-S", dataset["south"].provider.name, "Red (0 G, 1 A, 1 R)", None, None, None],
    ]  # fmt: skip
    by_service = performance.by_service(filters, "RJ01", "Referrals received")
    assert [row[:4] for row in by_service.table.rows] == [
        ["Restorative justice", "Q1", Decimal("43.0"), Decimal("40.0")],
        ["Restorative justice", "Q2", Decimal("20.0"), Decimal("20.0")],
    ]
    north_only = portfolio.value_by_service(Filters(YEAR, area_id=dataset["areas"][0].id), TODAY)
    assert north_only.table.rows[0][1:3] == [1, Decimal("60000.00")]


def test_rag_figures_are_kept_until_what_they_are_read_from_changes(dataset, monkeypatch):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")  # green, green
    report(dataset["south"], "2025/26-Q1", RJ01="19", VS02="5")  # amber, red
    memo.forget_this_process()
    worked_out = []
    for module, name in ((portfolio, "_work_out_contract_rags"),
                         (portfolio, "_work_out_latest_quarter"),
                         (performance, "_rag_matrix_rows")):  # fmt: skip
        work_out = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, w=work_out, n=name: worked_out.append(n)
                            or w(*a))  # fmt: skip

    def board() -> tuple[dict, list]:
        rag = portfolio.live_by_rag(Filters(YEAR), TODAY)
        return dict(rag.table.rows), performance.rag_matrix(Filters(YEAR)).table.rows

    first = board()
    assert first[0] == {"Green": 1, "Amber": 0, "Red": 1, "Not rated": 0}
    assert len(worked_out) == 3
    assert board() == first and len(worked_out) == 3  # warm: nothing read again
    # A rating corrected by hand, behind PAM's back: seen on the next view.
    db.session.execute(update(ReturnFact).where(ReturnFact.rag == "red").values(rag="green"))
    db.session.commit()
    rags, matrix = board()
    assert rags == {"Green": 1, "Amber": 1, "Red": 0, "Not rated": 0}  # south: amber now
    assert matrix[1][2] == "Amber (1 G, 1 A, 0 R)" and len(worked_out) == 6
    # So is a provider renamed.
    db.session.execute(update(Organisation).where(Organisation.id == dataset["south"].provider_id)
                       .values(name="Renamed Ltd"))  # fmt: skip
    db.session.commit()
    assert board()[1][1][1] == "Renamed Ltd"


def test_the_performance_page_lists_the_worst_contracts_first_when_there_are_too_many(
    dataset, monkeypatch
):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")  # green, green
    report(dataset["south"], "2025/26-Q1", RJ01="19", VS02="5")  # amber, red
    choices = performance.measure_choices(Filters(YEAR))
    every = performance.build(Filters(YEAR, measure="RJ01"), TODAY, choices)
    assert [row[0] for row in every[2].table.rows] == ["DASH-N", "DASH-S"]
    assert "Showing" not in every[2].note
    monkeypatch.setattr(performance, "CONTRACTS_ON_PAGE", 1)
    charts = performance.build(Filters(YEAR, measure="RJ01"), TODAY, choices)
    by_contract, matrix = charts[1], charts[2]
    assert [row[0] for row in matrix.table.rows] == ["DASH-S"]  # Red, where the north is Green
    assert [row[0] for row in by_contract.table.rows] == ["DASH-S"]  # Amber on RJ01
    assert "Showing the 1 of 2 contracts with the worst RAG (Red first)" in matrix.note
    assert matrix.summary == every[2].summary  # the summary still counts every contract
    # The board pack's matrix is not cut.
    assert len(performance.rag_matrix(Filters(YEAR)).table.rows) == 2


def test_portfolio_counts_contracts_live_in_the_chosen_period(dataset, make_contract):
    # The south's contract has since ended, and another starts next year: a Q1 2025/26
    # view counts the contracts live then, with the ended one's spend.
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    report(dataset["south"], "2025/26-Q1", RJ01="24", VS02="10")
    contract_services.change_status(FACTORY, dataset["south"], ContractStatus.ENDED, "Ended")
    make_contract(reference="DASH-NEXT", service=dataset["service"], start_on=date(2026, 4, 1),
                  end_on=date(2028, 3, 31))  # fmt: skip
    db.session.commit()
    q1 = Filters(YEAR, quarter=1)
    assert portfolio.value_by_service(q1, TODAY).table.rows == [
        ["Restorative justice", 2, Decimal("100000.00"), Decimal("25000.00")]
    ]
    rag = dict(portfolio.live_by_rag(q1, TODAY).table.rows)
    assert rag == {"Green": 2, "Amber": 0, "Red": 0, "Not rated": 0}  # the ended one too
    next_year = portfolio.value_by_service(Filters(FinancialYear(2026), quarter=1), TODAY)
    assert next_year.table.rows[0][1] == 2  # the north's, still live, and the new one


def test_return_timeliness_counts_on_time_late_and_missing(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    chart = performance.timeliness(Filters(YEAR), TODAY)
    by_quarter = {row[0]: row[1:] for row in chart.table.rows}
    # Submitted today (after the Q1 due date in 2025): late. South sent nothing: missing.
    assert by_quarter["Q1"] == [0, 1, 1, 0]
    assert by_quarter["Q2"] == [0, 0, 2, 0]  # both overdue by January 2026
    assert by_quarter["Q4"] == [0, 0, 0, 2]  # not due until April


def test_returns_due_follow_each_contracts_own_schedule_and_due_rule(dataset, make_contract):
    """return_states reads plain columns, not contracts: it must agree with each
    contract's own periods (pam.outcomes.schedule) and due date (due_on)."""
    from pam.outcomes.schedule import periods_in_year
    from pam.returns.services import due_on

    schedules = {
        "MONTHLY": {"frequency": "monthly", "due_days": "10", "due_in_working_days": ""},
        "MILESTONE": {"frequency": "milestone", "due_days": "20", "due_in_working_days": "y",
                      "milestones": [date(2025, 8, 31), date(2026, 2, 28)]},
        "ANNUAL": {"frequency": "annual", "due_days": "30", "due_in_working_days": "y"},
    }  # fmt: skip
    for reference, fields in schedules.items():
        contract = _measures(make_contract(reference=reference, start_on=date(2025, 6, 1),
                                           end_on=date(2026, 2, 28)), "RJ01")  # fmt: skip
        outcome_services.update_framework(
            FACTORY, contract.framework, {"rag_tolerance_percent": "10", **fields}
        )
    # A framework with no measures asks for nothing: no return is due.
    outcome_services.framework_for(FACTORY, make_contract(reference="NO-MEASURES"))
    db.session.commit()
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    states = performance.return_states(Filters(YEAR), TODAY)
    contracts = {c.reference: c for c in db.session.scalars(select(Contract))}
    expected = [
        (reference, period.label, due_on(contracts[reference], period))
        for reference in sorted(contracts)
        for period in periods_in_year(contracts[reference], YEAR)
        if contracts[reference].framework and contracts[reference].framework.measures
    ]
    assert [(s.reference, s.period.label, s.due) for s in states] == expected
    assert {s.reference for s in states} == {"DASH-N", "DASH-S", *schedules}
    assert [s.period.label for s in states if s.reference == "MILESTONE"] == [
        "2025/26-D20250601-20250831", "2025/26-D20250901-20260228"]  # fmt: skip
    north_q1 = next(s for s in states if s.reference == "DASH-N" and s.quarter == 1)
    assert (north_q1.provider, north_q1.state) == (dataset["north"].provider.name, "Late")


def test_timeliness_is_worked_out_again_only_when_what_it_shows_changed(dataset, monkeypatch):
    from datetime import UTC, datetime

    from pam.returns.models import ReturnVersion

    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    memo.forget_this_process()
    worked_out = []
    work_out = performance._work_out_return_states
    monkeypatch.setattr(performance, "_work_out_return_states",
                        lambda *args: worked_out.append(1) or work_out(*args))  # fmt: skip
    q1 = {row[0]: row[1:] for row in performance.timeliness(Filters(YEAR), TODAY).table.rows}
    assert q1["Q1"] == [0, 1, 1, 0] and len(worked_out) == 1
    performance.timeliness(Filters(YEAR), TODAY)
    assert len(worked_out) == 1  # warm: nothing changed
    # Sent in time after all (a correction made by hand, behind PAM's back).
    db.session.execute(update(ReturnVersion).values(submitted_at=datetime(2025, 7, 2, tzinfo=UTC)))
    db.session.commit()
    q1 = {row[0]: row[1:] for row in performance.timeliness(Filters(YEAR), TODAY).table.rows}
    assert q1["Q1"] == [1, 0, 1, 0] and len(worked_out) == 2


def _board(filters: Filters, threshold: int = 4) -> dict[str, list]:
    """The outcomes page's tables, by chart id, as the board sees them."""
    return {chart.id: chart.table.rows for chart in outcomes.build(filters, threshold)}


def _measures(contract, *codes: str, starting: str = "2025/26-Q1"):
    """Add measures (target 10 from `starting`) to a contract's framework."""
    framework = outcome_services.framework_for(FACTORY, contract)
    for code in codes:
        metric = db.session.scalar(select(Metric).where(Metric.code == code))
        outcome_services.add_measure(FACTORY, framework, metric, Decimal("10"),
                                     Period.parse(starting))  # fmt: skip
    db.session.commit()
    return contract


def test_outcomes_are_suppressed_for_the_board_with_secondary_suppression(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    report(dataset["north"], "2025/26-Q2", RJ01="24", VS02="12")
    report(dataset["south"], "2025/26-Q2", RJ01="24", VS02="9")
    # Q1 (3) is suppressed; the year (24) is shown, so Q2 (21) must go too.
    assert _board(Filters(YEAR))["people"][0] == ["Victims supported", C, C, 0, 0, 24]
    officer = _board(Filters(YEAR), threshold=0)["people"][0]
    assert officer == ["Victims supported", 3, 21, 0, 0, 24]
    # The south's 9 goes too: with the north's Q2 (12) it would add up to the hidden 21.
    south = Filters(YEAR, area_id=dataset["areas"][1].id)
    assert _board(south)["people"][0] == ["Victims supported", 0, C, 0, 0, C]
    # And so does the north's year (15): with the whole year (24) it would give the 9.
    north = Filters(YEAR, area_id=dataset["areas"][0].id)
    assert _board(north)["people"][0] == ["Victims supported", C, C, 0, 0, C]
    # Any quarter on its own shows what the year view shows.
    assert _board(Filters(YEAR, quarter=2))["people"][0] == ["Victims supported", C]


def test_the_satisfaction_rate_is_suppressed_with_its_counts(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")  # 17 of 20 satisfied
    # 3 not satisfied is a small number: satisfied (17) would reveal it, so it goes, and
    # the rate with it; those who gave feedback (20) alone say nothing.
    assert _board(Filters(YEAR))["satisfaction"] == [
        ["Gave feedback", 20, 0, 0, 0, 20],
        ["Satisfied or very satisfied", C, 0, 0, 0, C],
        ["Satisfaction rate (%)", C, None, None, None, C],
    ]
    officer = _board(Filters(YEAR), threshold=0)["satisfaction"]
    assert officer[2][1] == Decimal("85.0")


def test_a_filtered_figure_goes_when_the_rest_would_be_a_small_number(dataset, make_contract):
    # X and Z serve both areas, so the areas do not add up to the whole and no group
    # catches it: everything (78) less the south (75) would be the north's own 1 + 2.
    north, south = dataset["areas"]
    service = dataset["service"]
    made = {}
    for reference, areas, count in (("X", [north, south], "30"), ("Z", [north, south], "25"),
                                    ("N1", [north], "1"), ("N2", [north], "2"),
                                    ("S", [south], "20")):  # fmt: skip
        contract = _measures(make_contract(reference=reference, service=service, areas=areas),
                             "VS02")  # fmt: skip
        submit_answers(contract, "2025/26-Q1", {"K:VS02": count})
        made[reference] = contract.id
    assert _board(Filters(YEAR))["people"][0] == ["Victims supported", 78, 0, 0, 0, 78]
    assert _board(Filters(YEAR, area_id=south.id))["people"][0] == [
        "Victims supported", C, 0, 0, 0, C]  # fmt: skip
    # The north (58) less X (30) and Z (25) would also say 3: not all three are shown,
    # whichever the pattern chose to hide (X's or Z's own figure is on the performance page).
    figures, part = YearPatterns(YEAR, 4).measure("VS02")

    def shown(*references: str) -> bool:
        return not figures.hides(figures.mask([made[r] for r in references], "Year", part))

    assert not (shown("X", "Z", "N1", "N2") and shown("X") and shown("Z"))
    officer = _board(Filters(YEAR, area_id=south.id), threshold=0)["people"][0]
    assert officer == ["Victims supported", 75, 0, 0, 0, 75]


@pytest.fixture
def two_rj_contracts(dataset, make_contract):
    """A in the north, B in the south, each reporting restorative processes by type,
    victims taking part, cope and recover, and equality monitoring, in Q1."""
    north, south = dataset["areas"]
    codes = ("RJ04", "RJ05", "RJ07", "RJ09")
    a = _measures(make_contract(reference="A", service=dataset["service"], areas=[north]), *codes)
    b = _measures(make_contract(reference="B", service=dataset["service"], areas=[south]), *codes)
    direct, indirect = (f"K:RJ07:process_type:{kind}" for kind in
                        ("direct-face-to-face", "indirect-shuttle-or-letter"))  # fmt: skip
    submit_answers(
        a,
        "2025/26-Q1",
        {
            "K:RJ04": "1",
            "K:RJ05": "1",
            "K:RJ09": "50",
            "K:RJ07": "10",
            direct: "2",
            indirect: "8",
            "E:age:under-18": "2",
            "E:age:25-to-34": "8",
            "E:sex:female": "6",
            "E:sex:male": "4",
        },
    )
    submit_answers(
        b,
        "2025/26-Q1",
        {
            "K:RJ04": "10",
            "K:RJ05": "5",
            "K:RJ09": "70",
            "K:RJ07": "12",
            direct: "6",
            indirect: "6",
            "E:age:under-18": "7",
            "E:age:25-to-34": "9",
            "E:sex:female": "10",
            "E:sex:male": "6",
        },
    )
    return {"a": a, "b": b, **dataset}  # fmt: skip


def test_every_outcomes_table_is_suppressed_for_the_board(two_rj_contracts):
    south = Filters(YEAR, area_id=two_rj_contracts["areas"][1].id)
    everything, south_only = _board(Filters(YEAR)), _board(south)
    # A's 2 direct processes are small; B's alone (the south) would give them away.
    assert everything["processes"][0] == ["Direct (face-to-face)", 8, 0, 0, 0, 8]
    assert south_only["processes"] == [
        ["Direct (face-to-face)", C, 0, 0, 0, C], ["Indirect (shuttle or letter)", C, 0, 0, 0, C],
        ["Reparation", 0, 0, 0, 0, 0], ["All processes", 12, 0, 0, 0, 12]]  # fmt: skip
    # A's cope-and-recover rate rests on 1 + 1 victims: no view shows a rate built on it.
    assert everything["recovery"][0] == ["Victims better able to cope and recover (RJ)", C,
                                         None, None, None, C]  # fmt: skip
    assert south_only["recovery"][0][1] is C
    assert _board(Filters(YEAR), threshold=0)["recovery"][0][1] == Decimal("60.0")
    # Equality: A's 2 under-18s and 4 men are small; the south's figures would reveal them.
    assert [row[1:] for row in everything["equality"][:8]] == [
        ["Under 18", 9], ["18 to 24", 0], ["25 to 34", 17], ["35 to 49", 0], ["50 to 64", 0],
        ["65 and over", 0], ["Not known", 0], ["All", 26]]  # fmt: skip
    assert [row[2] for row in south_only["equality"][:12]] == [C, 0, C, 0, 0, 0, 0, 16,
                                                                C, C, 0, 16]  # fmt: skip


def test_referral_sources_are_suppressed_for_the_board(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="3", VS02="10")
    report(dataset["south"], "2025/26-Q1", RJ01="20", VS02="10")
    police = _board(Filters(YEAR))["referral-sources"][0]
    assert police == ["Police", 23, 0, 0, 0, 23]  # 3 and 20 are both hidden inside it
    south = _board(Filters(YEAR, area_id=dataset["areas"][1].id))["referral-sources"]
    assert south[0] == ["Police", C, 0, 0, 0, C] and south[-1] == ["All referrals", C, 0, 0, 0, C]


# --- the pages -----------------------------------------------------------------------------


DASHBOARDS = ["/dashboards/", "/dashboards/performance", "/dashboards/outcomes",
              "/dashboards/delivery"]  # fmt: skip


def test_a_board_member_sees_suppressed_outcomes_and_an_officer_every_figure(dataset, client_as):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    board = client_as(Role.BOARD_MEMBER).get("/dashboards/outcomes?year=2025-26")
    assert board.status_code == 200
    assert b"[c]" in board.data and b"no victim can be identified" in board.data
    assert b"left out of the chart" in board.data  # the gaps in the chart are explained
    officer = client_as(Role.OFFICER)
    page = officer.get("/dashboards/outcomes?year=2025-26")
    assert b"You are seeing every figure" in page.data
    assert b'<abbr title="suppressed">' not in page.data  # not the board's charts, drawn
    as_board = officer.get("/dashboards/outcomes?year=2025-26&view=board")
    assert b"[c]" in as_board.data and b"seeing the board's view" in as_board.data
    again = client_as(Role.BOARD_MEMBER).get("/dashboards/outcomes?year=2025-26")
    assert _tables(again.data.decode()) == _tables(board.data.decode())  # nor the officer's


def test_filters_travel_in_the_url_and_bad_values_are_explained(dataset, client_as):
    client = client_as(Role.BOARD_MEMBER)
    area = dataset["areas"][0].id
    page = client.get(f"/dashboards/performance?year=2025-26&quarter=1&area={area}")
    assert page.status_code == 200
    assert f'<option value="{area}" selected'.encode() in page.data
    assert f"/dashboards/outcomes?year=2025-26&amp;quarter=1&amp;area={area}".encode() in page.data
    bad = client.get("/dashboards/outcomes?year=20x5&quarter=7&provider=abc")
    assert bad.status_code == 200
    assert b"is not a financial year like 2025/26" in bad.data
    assert b"The quarter filter" in bad.data and b"The provider filter" in bad.data


def test_every_chart_has_a_summary_and_a_data_table(dataset, client_as):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    client = client_as(Role.BOARD_MEMBER)
    for url in DASHBOARDS:
        page = client.get(f"{url}?year=2025-26").data.decode()
        charts = page.count('class="pam-chart"')
        assert page.count('data-chart="') == charts
        assert page.count("Show data table") >= charts
        assert page.count('class="govuk-body pam-chart-summary"') >= charts
        assert "<script>" not in page  # nothing inline: the CSP forbids it


def test_statements_per_dashboard_do_not_grow_with_contracts_and_returns(
    dataset, client_as, make_contract
):
    client = client_as(Role.OFFICER)
    for contract in (dataset["north"], dataset["south"]):
        report(contract, "2025/26-Q1", RJ01="24", VS02="10")
    small = {url: statements_for(client, f"{url}?year=2025-26") for url in DASHBOARDS}
    for number in range(4):  # three times the contracts, twice the quarters
        contract = make_contract(reference=f"DASH-X{number}", service=dataset["service"],
                                 areas=[dataset["areas"][number % 2]])  # fmt: skip
        framework = outcome_services.framework_for(FACTORY, contract)
        metric = db.session.scalar(select(Metric).where(Metric.code == "RJ01"))
        outcome_services.add_measure(FACTORY, framework, metric, Decimal("20"),
                                     Period.parse("2025/26-Q1"))  # fmt: skip
        db.session.commit()
        for quarter in ("Q1", "Q2"):
            report(contract, f"2025/26-{quarter}", RJ01="21")
    large = {url: statements_for(client, f"{url}?year=2025-26") for url in DASHBOARDS}
    assert large == small


def _performance(filters: Filters, threshold: int = 4) -> tuple[list, list]:
    """The performance page's service and contract tables for a measure."""
    choices = performance.measure_choices(Filters(filters.year))
    charts = performance.build(filters, TODAY, choices, threshold=threshold)
    return charts[0].table.rows, charts[1].table.rows


def test_the_board_sees_small_measure_counts_suppressed_on_the_performance_page(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="3", VS02="10")
    report(dataset["south"], "2025/26-Q1", RJ01="19", VS02="10")
    by_service, by_contract = _performance(Filters(YEAR, measure="RJ01"))
    assert [row[3] for row in by_contract] == [C, C]  # 3, and 19 with it
    # The service's 22 can be shown: with both contracts hidden, it gives neither away.
    assert by_service == [["Restorative justice", "Q1", Decimal("22.0"), Decimal("40.0"), 55]]
    report(dataset["north"], "2025/26-Q2", RJ01="2", VS02="10")
    board = performance.build(Filters(YEAR, measure="RJ01"), TODAY,
                              performance.measure_choices(Filters(YEAR)), threshold=4)  # fmt: skip
    # Now the year's referrals (24, on the outcomes page) less Q1 would be Q2's 2: both
    # quarters go, and each % of target with its actual (with the target it gives it).
    assert board[0].table.rows == [
        ["Restorative justice", "Q1", C, Decimal("40.0"), C],
        ["Restorative justice", "Q2", C, Decimal("20.0"), C],
    ]
    assert '"y":[null,null,null,null]' in board[0].figure.replace(" ", "")
    officer = _performance(Filters(YEAR, measure="RJ01"), threshold=0)[1]
    assert [row[3] for row in officer] == [Decimal(3), Decimal(2), Decimal(19)]


def test_no_two_outputs_can_be_subtracted_to_reveal_a_small_number(dataset):
    # The review's case: the outcomes page hid Q1 (3) and showed the year (24), while the
    # performance page showed Q2 (21) from its own suppression: 24 - 21 = 3.
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    report(dataset["north"], "2025/26-Q2", RJ01="24", VS02="12")
    report(dataset["south"], "2025/26-Q2", RJ01="24", VS02="9")
    assert _board(Filters(YEAR))["people"][0] == ["Victims supported", C, C, 0, 0, 24]
    by_service, by_contract = _performance(Filters(YEAR, measure="VS02"))
    assert [row[2] for row in by_service] == [C, C]
    assert [row[3] for row in by_contract] == [C, C, C]
    by_service, by_contract = _performance(Filters(YEAR, measure="VS02", quarter=2))
    assert by_service[0][2] is C and [row[3] for row in by_contract] == [C, C]


def test_a_filter_cannot_reveal_a_contract_hidden_in_the_unfiltered_view(
    dataset, make_contract, make_area
):
    # One service: N 3, S 20, W 30. Unfiltered, the service (53) and W (30) are shown;
    # the south alone (20) would then give N: 53 - 30 - 20 = 3.
    west = _measures(make_contract(reference="DASH-W", service=dataset["service"],
                                   areas=[make_area(name="West")]), "VS02")  # fmt: skip
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    report(dataset["south"], "2025/26-Q1", RJ01="24", VS02="20")
    submit_answers(west, "2025/26-Q1", {"K:VS02": "30"})
    by_service, by_contract = _performance(Filters(YEAR, measure="VS02"))
    assert by_service[0][2] == Decimal("53.0")
    assert [row[3] for row in by_contract] == [C, C, Decimal("30.0")]
    south = Filters(YEAR, measure="VS02", area_id=dataset["areas"][1].id)
    by_service, by_contract = _performance(south)
    assert by_service == [["Restorative justice", "Q1", C, Decimal("10.0"), C]]
    assert [row[3] for row in by_contract] == [C]
    assert _board(south)["people"][0] == ["Victims supported", C, 0, 0, 0, C]


def test_a_rate_on_small_counts_is_suppressed_on_the_performance_page(two_rj_contracts):
    # A's 50% rests on 1 + 1 victims; B's counts (10 and 5) go with A's, so its rate too.
    by_service, by_contract = _performance(Filters(YEAR, measure="RJ09"))
    assert by_service == [["Restorative justice", "Q1", C, Decimal("10.0"), C]]
    assert [row[3] for row in by_contract] == [C, C]
    officer = _performance(Filters(YEAR, measure="RJ09"), threshold=0)
    assert [row[3] for row in officer[1]] == [Decimal("50.0"), Decimal("70.0")]


def test_percent_of_target_uses_the_contracts_of_the_actual(dataset, make_contract):
    # T has no target in Q1: a target of 20 (the north's) against 54 (both) would be
    # wrong, and 54 less 120% of 20 would give T's own figure.
    late = _measures(make_contract(reference="DASH-T", service=dataset["service"]), "RJ01",
                     starting="2025/26-Q2")  # fmt: skip
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    report(late, "2025/26-Q1", RJ01="30")
    by_service, _ = _performance(Filters(YEAR, measure="RJ01"), threshold=0)
    assert by_service == [["Restorative justice", "Q1", Decimal("54.0"), None, None]]


def test_days_are_not_suppressed_as_counts(dataset, make_contract):
    # Days to first contact are an average time, not a count of people: shown.
    contract = _measures(make_contract(reference="DASH-D", service=dataset["service"]),
                         "RJ01", "RJ10")  # fmt: skip
    report(contract, "2025/26-Q1", RJ01="30", RJ10="3")
    by_service, by_contract = _performance(Filters(YEAR, measure="RJ10"))
    assert by_service[0][2] == Decimal("3.0") and by_contract[0][3] == Decimal("3.0")


def test_the_measure_shown_is_the_one_selected_in_the_filter(dataset, client_as):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    client = client_as(Role.BOARD_MEMBER)
    page = client.get("/dashboards/performance?year=2025-26").data
    assert b'<option value="RJ01" selected' in page  # not the first in the list
    chosen = client.get("/dashboards/performance?year=2025-26&measure=VS02").data
    assert b'<option value="VS02" selected' in chosen and b"VS02 Victims supported" in chosen


def test_one_service_cannot_be_worked_out_from_the_others_and_the_total(
    dataset, make_contract, make_service
):
    # Outcomes pages show the measure's total; with one service hidden, another must go.
    other = make_contract(reference="DASH-O", service=make_service(name="Mediation"))
    framework = outcome_services.framework_for(FACTORY, other)
    metric = db.session.scalar(select(Metric).where(Metric.code == "RJ01"))
    outcome_services.add_measure(FACTORY, framework, metric, Decimal("20"),
                                 Period.parse("2025/26-Q1"))  # fmt: skip
    db.session.commit()
    report(dataset["north"], "2025/26-Q1", RJ01="30", VS02="10")
    report(dataset["south"], "2025/26-Q1", RJ01="20", VS02="10")
    report(other, "2025/26-Q1", RJ01="3")
    choices = performance.measure_choices(Filters(YEAR))
    board = performance.build(Filters(YEAR, measure="RJ01"), TODAY, choices, threshold=4)
    services = {row[0]: row[2] for row in board[0].table.rows}
    assert services == {"Mediation": SUPPRESSED, "Restorative justice": SUPPRESSED}
    # Filtered to the north only, its 30 against the service's 50 unfiltered leaves 20:
    # shown; the mediation contract is outside the filter.
    north = Filters(YEAR, measure="RJ01", area_id=dataset["areas"][0].id)
    filtered = performance.build(north, TODAY, choices, threshold=4)
    assert filtered[0].table.rows[0][2] == Decimal("30.0")


def test_nonsense_in_the_address_never_breaks_a_page(dataset, client_as):
    client = client_as(Role.OFFICER)
    for url in ("/dashboards/?area=%C2%B2", "/dashboards/outcomes?year=9999-00",
                "/dashboards/performance?measure=%3Cscript%3E", "/decisions?fmt=x",
                "/contracts?fmt=x", "/audit?fmt=x"):  # fmt: skip
        assert client.get(url).status_code == 200, url
    assert client.get("/exports/board-pack?period=9999-00-Q4").status_code == 302


def test_chart_data_cannot_close_its_script_block(dataset, client_as):
    dataset["service"].name = "</script><script>alert(1)</script>"
    audit.record_update(FACTORY, dataset["service"], {"name": "Restorative justice"})
    db.session.commit()
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    url = "/dashboards/performance?year=2025-26&measure=RJ01"  # the board view re-writes it
    page = client_as(Role.BOARD_MEMBER).get(url).data.decode()
    assert "alert(1)" in page and "<script>alert(1)" not in page  # there, but inert


def test_the_processes_summary_names_every_type(two_rj_contracts):
    officer = {chart.id: chart for chart in outcomes.build(Filters(YEAR), 0)}
    assert officer["processes"].summary == (
        "22 restorative processes completed (8 direct, 14 indirect, 0 reparation)."
    )


def test_a_measures_totals_stay_shown_when_only_its_breakdown_has_small_numbers(
    dataset, make_contract
):
    """Small referral sources are hidden (with partners, so no total gives them away),
    but each contract's referrals, none of them small, stay in view: hiding a figure
    that is not needed for safety leaves the board nothing to read."""
    north, south = dataset["areas"]
    shapes = {
        "A": ([north], {"police": 20, "probation": 2, "self-referral": 1, "other": 7}),
        "B": ([south], {"police": 15, "probation": 9, "prisons": 3, "other": 1}),
        "C": ([north, south], {"police": 30, "youth-justice-service": 2, "other": 6}),
    }
    made = {}
    for reference, (areas, sources) in shapes.items():
        contract = make_contract(reference=reference, service=dataset["service"], areas=areas)
        _measures(contract, "RJ01")
        answers = {"K:RJ01": str(sum(sources.values()))}
        answers.update({f"K:RJ01:referral_source:{k}": str(v) for k, v in sources.items()})
        for quarter in ("2025/26-Q1", "2025/26-Q2"):
            submit_answers(contract, quarter, answers)
        made[reference] = contract.id
    figures, part = YearPatterns(YEAR, 4).measure("RJ01")
    for contract in made.values():
        for column in ("Q1", "Q2", "Year"):
            assert not figures.hides(figures.mask([contract], column, part)), (contract, column)
    assert figures.hides(figures.mask([made["A"]], "Q1", "self-referral"))
    assert figures.hides(figures.mask([made["B"]], "Q1", "prisons"))


# --- patterns kept for every server process ------------------------------------------------


def _board_in_a_request(app, filters: Filters) -> dict[str, list]:
    """The board's outcomes tables, worked out in an app context of their own (a request,
    say): what it works out is kept when that context ends."""
    with app.app_context():
        return _board(filters)


def _as_another_process(monkeypatch) -> list[str]:
    """Forget every pattern this process worked out, and note the families it works out
    afresh from now on."""
    memo.forget_this_process()
    worked_out = []
    settle = Pattern._settle

    def noting(pattern):
        worked_out.append(pattern)
        return settle(pattern)

    monkeypatch.setattr(Pattern, "_settle", noting)
    return worked_out


def _kept() -> dict[str, StoredPattern]:
    return {row.family: row for row in db.session.scalars(select(StoredPattern))}


def test_a_worked_out_pattern_is_kept_and_another_process_reads_it(
    app, two_rj_contracts, monkeypatch
):
    _as_another_process(monkeypatch)
    first = _board_in_a_request(app, Filters(YEAR))
    kept = _kept()
    assert {"processes", "equality:age", "equality:sex", "RJ05"} <= set(kept)
    assert {row.year for row in kept.values()} == {"2025/26"}
    worked_out = _as_another_process(monkeypatch)
    assert _board_in_a_request(app, Filters(YEAR)) == first
    assert worked_out == []
    # The same figures, worked out afresh, agree with the kept ones.
    db.session.execute(delete(StoredPattern))
    db.session.commit()
    worked_out = _as_another_process(monkeypatch)
    assert _board_in_a_request(app, Filters(YEAR)) == first
    assert worked_out


def test_a_changed_figure_is_worked_out_afresh_and_replaces_the_kept_pattern(
    app, two_rj_contracts, monkeypatch
):
    _as_another_process(monkeypatch)
    _board_in_a_request(app, Filters(YEAR))
    before = _kept()["processes"].digest
    direct = "K:RJ07:process_type:direct-face-to-face"
    submit_answers(two_rj_contracts["a"], "2025/26-Q2", {"K:RJ07": "3", direct: "3"})
    worked_out = _as_another_process(monkeypatch)
    after = _board_in_a_request(app, Filters(YEAR))
    assert worked_out
    assert after["processes"][0][2] is C  # the new quarter's 3
    db.session.expire_all()
    processes = [row for row in db.session.scalars(select(StoredPattern))
                 if row.family == "processes"]  # fmt: skip
    assert len(processes) == 1 and processes[0].digest != before


def _cells_read(monkeypatch) -> list[str]:
    """Note each family whose facts are read from now on."""
    read = []
    load = patterns.load_cells

    def noting(family, year):
        read.append(family.name)
        return load(family, year)

    monkeypatch.setattr(patterns, "load_cells", noting)
    return read


def test_a_warm_view_reads_the_years_revision_not_its_facts(app, two_rj_contracts, monkeypatch):
    memo.forget_this_process()
    first = _board_in_a_request(app, Filters(YEAR))
    read = _cells_read(monkeypatch)
    assert _board_in_a_request(app, Filters(YEAR)) == first
    assert read == []
    # A new process has no figures under the revision: it reads the facts once.
    memo.forget_this_process()
    assert _board_in_a_request(app, Filters(YEAR)) == first
    assert "processes" in read


# Tables a page may read besides those a stamp watches: the stamps themselves, and the
# kept suppression patterns (worked out from the facts and the contract index, both
# watched). The signed-in user's row is read by Flask-Login, not the page.
_UNWATCHED_BUT_SAFE = {"fact_revisions", "state_revisions", "suppression_patterns",
                       "kept_pages"}  # fmt: skip
KEPT_PAGES = ["/dashboards/", "/dashboards/performance", "/dashboards/outcomes"]


def _nothing_kept() -> None:
    """As a new process before any page was built: no page kept, here or in the database."""
    memo.forget_this_process()
    db.session.execute(delete(KeptPage))
    db.session.commit()


def _tables_read(client, url: str) -> set[str]:
    """The tables one page view reads (the user loader's statement left out)."""
    return {table for statement in statements_of(client, url)
            if not statement.lstrip().startswith("SELECT users.id AS users_id")
            for table in re.findall(r'(?:FROM|JOIN)\s+"?(\w+)', statement)}  # fmt: skip


@pytest.mark.parametrize("role", [Role.BOARD_MEMBER, Role.OFFICER])
def test_a_page_reads_no_table_that_no_stamp_watches(dataset, client_as, role):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    report(dataset["south"], "2025/26-Q1", RJ01="19", VS02="5")
    client = client_as(role)
    area, service = dataset["areas"][0].id, dataset["service"].id
    for url in KEPT_PAGES:
        for query in ("year=2025-26", f"year=2025-26&quarter=1&area={area}&service={service}",
                      "year=2025-26&measure=VS02"):  # fmt: skip
            _nothing_kept()  # cold: everything the page is built from is read
            tables = _tables_read(client, f"{url}?{query}")
            assert "return_facts" in tables or url == "/dashboards/"  # it did read figures
            assert tables - revisions.WATCHED - _UNWATCHED_BUT_SAFE == set(), url


def test_a_warm_page_reads_only_the_stamps(dataset, client_as):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    client = client_as(Role.BOARD_MEMBER)
    memo.forget_this_process()
    for url in KEPT_PAGES:
        first = client.get(f"{url}?year=2025-26").data.decode()
        assert _tables_read(client, f"{url}?year=2025-26") == {"fact_revisions",
                                                               "state_revisions"}  # fmt: skip
        again = client.get(f"{url}?year=2025-26").data.decode()
        assert _summaries(again) == _summaries(first) != []
    # Another year, quarter or threshold is another page.
    assert _tables_read(client, "/dashboards/?year=2025-26&quarter=1") > {"state_revisions"}
    officer = client_as(Role.OFFICER)
    assert "return_facts" in _tables_read(officer, "/dashboards/outcomes?year=2025-26")


def test_a_warm_page_draws_its_charts_once(app, dataset, client_as, monkeypatch):
    """Drawing a page's data tables was most of a warm view's time: a kept page's charts
    are drawn on the first view in a process, and every later view sends that HTML."""
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    client = client_as(Role.BOARD_MEMBER)
    memo.forget_this_process()
    drawing = []
    get_template = app.jinja_env.get_template

    def noting(name, *args, **kwargs):
        drawing.append(name)
        return get_template(name, *args, **kwargs)

    monkeypatch.setattr(app.jinja_env, "get_template", noting)
    for url in KEPT_PAGES:
        first = client.get(f"{url}?year=2025-26").data.decode()
        assert "dashboards/_charts.html" in drawing
        drawing.clear()
        again = client.get(f"{url}?year=2025-26").data.decode()
        assert "dashboards/_charts.html" not in drawing and "dashboards/dashboard.html" in drawing
        assert _tables(again) == _tables(first) != []
        drawing.clear()
    # A changed figure is a new page, drawn afresh.
    report(dataset["south"], "2025/26-Q1", RJ01="31", VS02="10")
    changed = client.get("/dashboards/performance?year=2025-26&measure=RJ01").data.decode()
    assert "dashboards/_charts.html" in drawing and "31" in changed


def _tables(page: str) -> list[str]:
    return re.findall(r"<table.*?</table>", page, flags=re.S)


def _summaries(page: str) -> list[str]:
    return re.findall(r'pam-chart-summary"[^>]*>([^<]*)<', page)


@pytest.mark.parametrize(
    "url, change, shown",
    [
        ("/dashboards/", "UPDATE service_categories SET name = 'Renamed service'",
         "Renamed service"),
        ("/dashboards/", "UPDATE areas SET name = 'Renamed area' WHERE name = 'North'",
         "Renamed area"),
        ("/dashboards/", "UPDATE contracts SET annual_value = 1234567 WHERE reference = 'DASH-N'",
         "£1,234,567"),
        ("/dashboards/", "UPDATE organisations SET name = 'Renamed provider' WHERE id IN "
         "(SELECT provider_id FROM contracts WHERE reference = 'DASH-N')", "Renamed provider"),
        ("/dashboards/performance", "UPDATE metric_versions SET name = 'Renamed measure' "
         "WHERE metric_id IN (SELECT id FROM metrics WHERE code = 'RJ01')", "Renamed measure"),
        ("/dashboards/outcomes", "UPDATE areas SET name = 'Renamed area' WHERE name = 'North'",
         "Renamed area"),
        ("/dashboards/performance", "UPDATE return_facts SET value = 777 WHERE code = 'RJ01' "
         "AND kind = 'K' AND breakdown = ''", "1,554"),
    ],
)  # fmt: skip
def test_a_kept_page_shows_a_change_made_behind_pams_back(dataset, client_as, url, change,
                                                          shown):  # fmt: skip
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    report(dataset["south"], "2025/26-Q1", RJ01="19", VS02="5")
    client = client_as(Role.OFFICER)
    memo.forget_this_process()
    address = f"{url}?year=2025-26"
    assert shown not in client.get(address).data.decode()
    db.session.execute(text(change))
    db.session.commit()
    assert shown in client.get(address).data.decode()


def test_a_page_one_process_built_is_read_by_the_others(dataset, client_as):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    report(dataset["south"], "2025/26-Q1", RJ01="3", VS02="5")  # small: suppressed
    client = client_as(Role.BOARD_MEMBER)
    _nothing_kept()
    built = {url: _summaries(client.get(f"{url}?year=2025-26").data.decode())
             for url in KEPT_PAGES}  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(KeptPage)) == len(KEPT_PAGES)
    for url in KEPT_PAGES:
        memo.forget_this_process()  # another process: it reads the page, not the figures
        tables = _tables_read(client, f"{url}?year=2025-26")
        assert "kept_pages" in tables and "return_facts" not in tables, url
        assert _summaries(client.get(f"{url}?year=2025-26").data.decode()) == built[url]
    # A figure changed: the stamps change, and every process builds a page again once.
    # The page kept under the old stamps stays until a newer one of it is kept (shown
    # meanwhile if a newer one would need a pattern worked out: pam.dashboards.pages).
    db.session.execute(update(ReturnFact).where(ReturnFact.code == "VS02", ReturnFact.kind == "K",
                                                ReturnFact.breakdown == "")
                       .values(value=ReturnFact.value + 100))  # fmt: skip
    db.session.commit()
    memo.forget_this_process()
    assert "return_facts" in _tables_read(
        client, "/dashboards/performance?year=2025-26&measure=VS02"
    )
    kept_stamps = db.session.scalars(select(KeptPage.stamps).where(KeptPage.page == "performance"))
    assert len(set(kept_stamps)) == 2  # one of each filter, each under its own stamps


def test_every_page_is_kept_exactly_as_it_was_built(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    report(dataset["south"], "2025/26-Q1", RJ01="3", VS02="5")
    for threshold in (0, 4):
        filters = Filters(YEAR)
        choices = performance.measure_choices(filters)
        pages = [portfolio.build(filters, TODAY), outcomes.build(filters, threshold),
                 (choices, performance.build(filters, TODAY, choices, threshold))]  # fmt: skip
        for page in pages:
            again = kept.unpack(json.loads(json.dumps(kept.pack(page))))
            assert again == page
        charts = [*pages[0], *pages[1], *pages[2][1]]
        shown = [cell for chart in charts for row in chart.table.rows for cell in row]
        assert (SUPPRESSED in shown) == (threshold == 4)  # the south's RJ01 of 3: [c]
    with pytest.raises(TypeError):
        kept.pack([object()])


@pytest.mark.parametrize(
    "body",
    [b"not a page", zlib.compress(b'[{"d": "not a number"}]'),
     zlib.compress(b'[{"chart": {"no such field": 1}}]'), zlib.compress(b'[{"?": 1}]')],
    ids=["not compressed", "not a number", "no such field", "no such tag"],
)  # fmt: skip
def test_a_kept_page_that_cannot_be_read_is_built_again(dataset, client_as, caplog, body):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    client = client_as(Role.OFFICER)
    _nothing_kept()
    first = _summaries(client.get("/dashboards/?year=2025-26").data.decode())
    db.session.execute(update(KeptPage).values(body=body))
    db.session.commit()
    memo.forget_this_process()
    with caplog.at_level(logging.WARNING, logger="pam.dashboards.kept"):
        assert _summaries(client.get("/dashboards/?year=2025-26").data.decode()) == first
    assert "unreadable: building it again" in caplog.text


def test_long_lists_on_the_portfolio_page_show_the_soonest_and_say_where_the_rest_are(
    dataset, client_as, monkeypatch
):
    for contract, expires in ((dataset["north"], date(2026, 12, 1)),
                              (dataset["south"], date(2026, 12, 20))):  # fmt: skip
        db.session.add(ComplianceItem(contract_id=contract.id, kind=ComplianceKind.INSURANCE,
                                      expires_on=expires))  # fmt: skip
    db.session.commit()
    filters, today = Filters(YEAR), date(2026, 11, 24)
    every = portfolio.build(filters, today)
    assert [len(chart.table.rows) for chart in every[-2:]] == [2, 2]  # ending, compliance
    assert every[-2].more is None and every[-2].note == ""
    monkeypatch.setattr(portfolio, "ROWS_ON_PAGE", 1)
    ending, compliance = portfolio.build(filters, today)[-2:]
    assert [row[0] for row in ending.table.rows] == ["DASH-N"]  # the soonest (by reference)
    assert (
        ending.summary == every[-2].summary == "2 end within 6 months and 0 more within 12 months."
    )
    assert ending.note == "Showing the 1 ending soonest of 2."
    assert ending.more == (
        "contracts.index",
        {"status": "live", "sort": "end"},
        "Every live contract by end date, in the contract register",
    )
    assert [row[0] for row in compliance.table.rows] == ["DASH-N"]  # expires first
    assert compliance.summary == "0 expired and 2 expiring soon."
    assert "the board pack lists them all" in compliance.note
    assert len(portfolio.compliance_expiring(filters, today).table.rows) == 2  # the pack's
    narrowed = portfolio.ending_soon(Filters(YEAR, area_id=dataset["areas"][0].id), today, 0)
    assert narrowed.more[1] == {"status": "live", "sort": "end", "area": dataset["areas"][0].id}
    page = client_as(Role.BOARD_MEMBER).get("/dashboards/?year=2025-26").data.decode()
    assert 'href="/contracts?status=live&amp;sort=end"' in page
    assert "Showing the 1 ending soonest of 2." in page


def test_a_figure_changed_behind_pams_back_is_seen_on_the_next_view(
    app, two_rj_contracts, monkeypatch
):
    memo.forget_this_process()
    assert _board_in_a_request(app, Filters(YEAR))["processes"][1][5] == 14  # 8 + 6
    read = _cells_read(monkeypatch)
    db.session.execute(
        update(ReturnFact).where(ReturnFact.category == "indirect-shuttle-or-letter")
        .values(value=ReturnFact.value + 10)
    )  # fmt: skip
    db.session.commit()
    assert _board_in_a_request(app, Filters(YEAR))["processes"][1][5] == 34
    assert "processes" in read
    # So is a contract moved to another area (the filters' sets change).
    south = two_rj_contracts["areas"][1]
    db.session.execute(
        update(contract_areas).where(contract_areas.c.contract_id == two_rj_contracts["a"].id)
        .values(area_id=south.id)
    )  # fmt: skip
    db.session.commit()
    south_only = _board_in_a_request(app, Filters(YEAR, area_id=south.id))
    assert south_only["processes"][-1][5] == 42  # A's 20 with B's 22, not B's alone


def _pattern_row(figures=((0,),), small: bool = True, **cells) -> bytes:
    """A kept pattern's bytes as a fault or a hand might leave them (not sealed for the
    row it is put in)."""
    content = {"figures": [list(figure) for figure in figures], "small": small,
               "year_sums": True, "stamps": None,
               "cells": {"place": [3], "contract": [1], "quarter": [1], "period": [0],
                         "part": [0], "periods": ["2025/26-Q1"], "parts": [["RJ04", ""]],
                         **cells}}  # fmt: skip
    return stored.pack("another pattern", content)


def _cut_short() -> bytes:
    seal, written = stored.unpack(_pattern_row())
    return zlib.compress(seal.encode() + b"\n" + written[:-2])


TAMPERED = {
    "unreadable": lambda: b"not a pattern",
    "shows a small figure": lambda: _pattern_row(()),
    "says there is nothing small": lambda: _pattern_row((), small=False),
    "a figure of a cell it does not have": lambda: _pattern_row(((1,),)),
    # Rows a fault or a hand could leave: none may hang, fail the page or be believed.
    "as kept before (masks)": lambda: zlib.compress(b'["-1"]'),
    "no seal": lambda: zlib.compress(b'{"figures": [], "small": true, "year_sums": true}'),
    "a negative place": lambda: _pattern_row(place=[-1]),
    "a vast place": lambda: _pattern_row(place=[1 << 30]),
    "a period it does not name": lambda: _pattern_row(period=[5]),
    "a part of three names": lambda: _pattern_row(parts=[["a", "b", "c"]]),
    "a figure of no cells": lambda: _pattern_row(((), (0,))),
    "numbers cut short": _cut_short,
}


@pytest.mark.parametrize("tampered", list(TAMPERED))
def test_a_kept_pattern_that_cannot_be_right_is_worked_out_again(
    app, two_rj_contracts, monkeypatch, tampered
):
    _as_another_process(monkeypatch)
    first = _board_in_a_request(app, Filters(YEAR))
    db.session.execute(update(StoredPattern).values(hidden=TAMPERED[tampered]()))
    db.session.commit()
    worked_out = _as_another_process(monkeypatch)
    assert _board_in_a_request(app, Filters(YEAR)) == first
    assert worked_out


@pytest.fixture
def three_rj_contracts(two_rj_contracts, make_contract, make_organisation):
    """A and C in the north (each its own provider), B in the south: one service."""
    north = two_rj_contracts["areas"][0]
    c = _measures(make_contract(make_organisation("Third Mediation"), reference="C",
                                service=two_rj_contracts["service"], areas=[north]),
                  "RJ04", "RJ05", "RJ07", "RJ09")  # fmt: skip
    submit_answers(c, "2025/26-Q1", {"K:RJ04": "3", "K:RJ05": "2", "K:RJ09": "40",
                                     "K:RJ07": "9", "E:age:under-18": "3",
                                     "E:sex:female": "9"})  # fmt: skip
    submit_answers(c, "2025/26-Q2", {"K:RJ04": "12", "K:RJ05": "6", "K:RJ09": "60"})
    return {"c": c, **two_rj_contracts}


def _every_filter(contracts: dict) -> list[Filters]:
    areas = [None, *(area.id for area in contracts["areas"])]
    providers = [None, *(contracts[name].provider_id for name in "abc")]
    return [
        Filters(YEAR, quarter=quarter, area_id=area, service_id=service, provider_id=provider)
        for quarter in (None, 1, 2)
        for area in areas
        for service in (None, contracts["service"].id)
        for provider in providers
    ]


def _every_view(app, filters: list[Filters]) -> list:
    """Every board table of the outcomes and performance pages, each filter in a request
    of its own (what it works out is kept when the request ends)."""
    views = []
    for chosen in filters:
        with app.app_context():
            views.append(_board(chosen))
            for code in ("RJ04", "RJ05", "RJ09"):
                views.append(_performance(Filters(**{**vars(chosen), "measure": code})))
    return views


def _describing(monkeypatch) -> list[str]:
    """Forget this process's patterns (as _as_another_process) and note each family this
    process goes on to describe in full."""
    _as_another_process(monkeypatch)
    described = []
    describe = patterns.Figures._describe

    def noting(figures):
        described.append(figures.family.name)
        return describe(figures)

    monkeypatch.setattr(patterns.Figures, "_describe", noting)
    return described


def test_another_process_answers_every_filter_from_the_sealed_patterns_alone(
    app, three_rj_contracts, monkeypatch
):
    """A page for an area, service, provider or quarter, in a process that has not worked
    the year out, reads the kept patterns without describing every figure of the family
    first (minutes at national scale): and answers exactly as the working would."""
    filters = _every_filter(three_rj_contracts)
    _describing(monkeypatch)
    worked_out = _every_view(app, filters)
    assert "SUPPRESSED" in repr(worked_out)  # there is something to hide
    described = _describing(monkeypatch)
    assert _every_view(app, filters) == worked_out
    assert described == []


def test_a_kept_pattern_without_its_seal_is_checked_in_full_once_and_then_sealed(
    app, three_rj_contracts, monkeypatch
):
    filters = _every_filter(three_rj_contracts)[:6]
    _describing(monkeypatch)
    worked_out = _every_view(app, filters)
    for row in db.session.scalars(select(StoredPattern)):  # the seal lost, the rest kept
        row.hidden = zlib.compress(b"lost\n" + stored.unpack(row.hidden)[1])
    db.session.commit()
    described = _describing(monkeypatch)
    assert _every_view(app, filters) == worked_out
    assert described  # checked against every figure, as any unsealed pattern is
    db.session.expire_all()
    assert all(stored.load(row.digest).sealed for row in db.session.scalars(select(StoredPattern)))
    described = _describing(monkeypatch)
    assert _every_view(app, filters) == worked_out
    assert described == []


def _reseal(app, change, **claims) -> None:
    """Rewrite every kept pattern as change(digest, its figures) says: (the figures it
    hides, each its cells' keys; the key that seals it); and with what else it says
    (`small`, `year_sums`) as `claims` give."""
    for row in db.session.scalars(select(StoredPattern)):
        content = stored.read(row.hidden)
        content["figures"], secret = change(row.digest, content["figures"])
        content.update(claims)
        kept_secret, app.config["SECRET_KEY"] = app.config["SECRET_KEY"], secret
        row.hidden = stored.pack(row.digest, content)
        app.config["SECRET_KEY"] = kept_secret
    db.session.commit()


def _not_published(figures: list) -> list:
    """A figure of cells from two different hidden figures: no view asks for it."""
    return [[figures[0][0], figures[-1][-1]]] if figures else []


def test_a_pattern_sealed_with_another_servers_key_is_checked_in_full(
    app, three_rj_contracts, monkeypatch
):
    filters = _every_filter(three_rj_contracts)[:6]
    _describing(monkeypatch)
    worked_out = _every_view(app, filters)
    _reseal(app, lambda digest, cells: (cells, "not this server's"))
    described = _describing(monkeypatch)
    assert _every_view(app, filters) == worked_out
    assert described


def test_a_pattern_from_another_server_is_kept_as_this_ones_cells_say_not_as_it_said(
    app, three_rj_contracts, monkeypatch
):
    """A pattern another key sealed is checked (its hidden figures) and kept again,
    sealed: as made from this process's own cells, never with what else the row said
    (here, that the family has no small numbers, which a filter's reader would trust and
    show every figure of)."""
    filters = _every_filter(three_rj_contracts)
    worked_out = _every_view(app, filters)
    _reseal(app, lambda digest, figures: (figures, "not this server's"), small=False)
    _as_another_process(monkeypatch)
    _every_view(app, [Filters(YEAR)])  # reads each family in full: kept again
    db.session.expire_all()
    rows = [stored.load(row.digest) for row in db.session.scalars(select(StoredPattern))]
    assert all(kept.sealed for kept in rows) and any(kept.small for kept in rows)
    _as_another_process(monkeypatch)
    assert _every_view(app, filters) == worked_out
    assert _small_numbers_shown(worked_out) == []


def _small_numbers_shown(views) -> list:
    found = []
    for view in views:
        for table in view.values() if isinstance(view, dict) else view:
            for row in table:
                found += [cell for cell in row if isinstance(cell, int | Decimal)
                          and is_small(cell, 4)]  # fmt: skip
    return found


def test_a_sealed_pattern_that_would_show_a_small_number_never_does(
    app, three_rj_contracts, monkeypatch, caplog
):
    """Only a fault could seal such a pattern (the working changed without a new
    PATTERN_VERSION), but even then no small number is shown: a page that meets one is
    built again from the start with the family described in full, and the pattern is
    worked out afresh and kept in its place. (A sealed pattern is trusted for the
    figures it hides alongside: the year's work-out, after each acceptance and by the
    command, checks every kept pattern in full and replaces one that is wrong.)"""
    filters = _every_filter(three_rj_contracts)
    _describing(monkeypatch)
    worked_out = _every_view(app, filters)
    assert _small_numbers_shown(worked_out) == []
    # Nothing hidden but a figure nobody publishes, sealed with this server's own key.
    _reseal(app, lambda digest, figures: (_not_published(figures), app.config["SECRET_KEY"]))
    monkeypatch.setattr(logging.getLogger("pam"), "propagate", True)  # for caplog
    described = _describing(monkeypatch)
    assert _small_numbers_shown(_every_view(app, filters)) == []
    assert described
    assert "shows a small number: working it out" in caplog.text
    assert {r.levelname for r in caplog.records if "kept pattern" in r.message} == {"ERROR"}
    with app.app_context():
        patterns.work_out_year(YEAR, 4)
    described = _describing(monkeypatch)
    assert _every_view(app, filters) == worked_out  # kept afresh, and right
    assert described == []


def test_a_sealed_pattern_refused_after_it_answered_sends_the_output_back_to_the_start(
    app, three_rj_contracts, monkeypatch, caplog
):
    """A figure the family publishes is answered from the seal; a figure it does not (an
    evaluation's own periods) is worked out in full, and if that refuses the sealed
    pattern, the figures it answered may be wrong: the output starts again."""
    _describing(monkeypatch)
    _every_view(app, _every_filter(three_rj_contracts)[:1])
    _reseal(app, lambda digest, figures: (_not_published(figures), app.config["SECRET_KEY"]))
    monkeypatch.setattr(logging.getLogger("pam"), "propagate", True)  # for caplog
    a = three_rj_contracts["a"].id
    runs = []

    @patterns.consistent
    def output() -> list:
        runs.append(1)
        figures, code = YearPatterns(YEAR, 4).measure("RJ04")
        everyone = figures.figure(None, patterns.YEAR, code)  # from the seal, at first
        own_periods = figures.figure({a}, patterns.YEAR, code, periods={"2025/26-Q1"})
        return [everyone, own_periods]

    _describing(monkeypatch)
    with app.app_context():
        answers = output()
    assert len(runs) == 2
    assert "kept pattern for RJ04 was refused" in caplog.text
    with app.app_context():
        patterns.work_out_year(YEAR, 4)
    _describing(monkeypatch)
    with app.app_context():
        assert output() == answers  # as a process that never met the wrong pattern


def test_a_pattern_that_cannot_be_kept_costs_the_cache_not_the_page(
    two_rj_contracts, client_as, monkeypatch, caplog
):
    def refuse(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(stored, "insert", refuse)
    monkeypatch.setattr(logging.getLogger("pam"), "propagate", True)  # for caplog
    _as_another_process(monkeypatch)
    response = client_as(Role.BOARD_MEMBER).get("/dashboards/outcomes?year=2025-26")
    assert response.status_code == 200 and suppression.SUPPRESSED_MARK.encode() in response.data
    assert "suppression patterns could not be kept" in caplog.text
    assert _kept() == {}


def test_the_command_works_a_years_patterns_out_before_anyone_views_them(
    app, two_rj_contracts, runner, monkeypatch
):
    _as_another_process(monkeypatch)
    result = runner.invoke(args=["pam", "work-out-patterns", "--year", "2025/26"])
    assert result.exit_code == 0, result.output
    kept = {family: stored.load(row.digest) for family, row in _kept().items()}
    # RJ04, RJ05, RJ09, processes (RJ07), satisfaction and the five equality families,
    # each kept (those with nothing small to hide too) under the stamps it was read under
    assert len(kept) == 10 and {"processes", "satisfaction", "equality:age"} <= set(kept)
    assert {pattern.stamps for pattern in kept.values()} == {
        stored.stamps_text(revisions.pattern_stamps("2025/26"))
    }
    small = {family for family, pattern in kept.items() if pattern.small}
    assert {"processes", "satisfaction", "equality:age", "RJ04", "RJ05"} <= small
    said = f"Suppression patterns for 2025/26 worked out: 10 families, {len(small)} with small"
    assert said in result.output
    worked_out = _as_another_process(monkeypatch)
    _board_in_a_request(app, Filters(YEAR))
    assert worked_out == []  # the board's first view read every pattern it needed
    assert "with the year's board pages, unfiltered and for each area and service" in (
        result.output
    )
    # Three pages: unfiltered, for each of the two areas A and B serve, for their service
    assert db.session.scalar(select(func.count()).select_from(KeptPage)) == 12


def test_the_work_out_holds_one_described_family_at_a_time(app, two_rj_contracts, runner,
                                                            monkeypatch):  # fmt: skip
    worked_out = _as_another_process(monkeypatch)
    described = Figures._describe
    held_at_once = []

    def describing(figures):
        held = [f for cache in (patterns._WORKED_OUT, patterns._BY_REVISION)
                for f in cache._items.values() if f._described]  # fmt: skip
        held_at_once.append(len(held))
        return described(figures)

    monkeypatch.setattr(Figures, "_describe", describing)
    result = runner.invoke(args=["pam", "work-out-patterns", "--year", "2025/26"])
    assert result.exit_code == 0, result.output
    assert len(worked_out) == len(held_at_once) >= 5  # every family with small numbers
    assert held_at_once == [0] * len(held_at_once)  # none held when the next is described
    # The pages built ahead read the kept patterns, sealed: no family described again.
    held = [f for cache in (patterns._WORKED_OUT, patterns._BY_REVISION)
            for f in cache._items.values()]  # fmt: skip
    assert held and not any(figures._described for figures in held)


def _reading_cells(monkeypatch) -> list:
    """Note the contracts each family's cells are read for (None: every contract)."""
    read = []
    load = patterns.load_cells

    def noting(family, year, within=None):
        cells, year_sums = load(family, year, within)
        if cells or within is not None:  # a family nobody reports costs nothing to read
            read.append(within)
        return cells, year_sums

    monkeypatch.setattr(patterns, "load_cells", noting)
    return read


def _narrowing(filters: list[Filters]) -> list[Filters]:
    return [chosen for chosen in filters if chosen.narrows_contracts]


def _views_read_in_full(app, filters, monkeypatch) -> list:
    _as_another_process(monkeypatch)
    with monkeypatch.context() as in_full:
        in_full.setattr(YearPatterns, "_selection_figures", lambda *_args: None)
        return _every_view(app, filters)


def test_a_filters_first_view_reads_its_own_contracts_facts_alone(
    app, three_rj_contracts, monkeypatch
):
    """A provider's (or an area's service's) first view after the work-out reads the
    facts of the contracts it shows, not the year's, and shows exactly what a view that
    read every fact shows."""
    filters = _narrowing(_every_filter(three_rj_contracts))
    with app.app_context():
        patterns.work_out_year(YEAR, 4)
    in_full = _views_read_in_full(app, filters, monkeypatch)
    assert "SUPPRESSED" in repr(in_full)  # there is something to hide
    _as_another_process(monkeypatch)
    read = _reading_cells(monkeypatch)
    assert _every_view(app, filters) == in_full
    with app.app_context():
        index = YearPatterns(YEAR, 4).index
    asked = {index.matching(f.area_id, f.service_id, f.provider_id) for f in filters}
    assert read and None not in read and set(read) == asked


def test_a_view_after_a_change_reads_in_full_until_the_year_is_worked_out_again(
    app, three_rj_contracts, monkeypatch
):
    """The kept patterns name the stamps they were worked out under: after a change, a
    filter's view cannot find one under the new stamps and reads every fact (and shows
    the change); once the year is worked out again it reads its own contracts' alone."""
    a = three_rj_contracts["a"]
    provider_a = [Filters(YEAR, provider_id=a.provider_id)]
    with app.app_context():
        patterns.work_out_year(YEAR, 4)
    before = _every_view(app, provider_a)
    submit_answers(a, "2025/26-Q3", {"K:RJ04": "7", "K:RJ05": "11", "K:RJ09": "60"})
    # A row's stamps column set to the new stamps by hand is not believed: the seal says
    # which stamps the pattern was worked out under.
    now = stored.stamps_text(revisions.pattern_stamps("2025/26"))
    db.session.execute(update(StoredPattern).values(stamps=now))
    db.session.commit()
    _as_another_process(monkeypatch)
    read = _reading_cells(monkeypatch)
    after_the_change = _every_view(app, provider_a)
    assert read and set(read) == {None}
    assert after_the_change == _views_read_in_full(app, provider_a, monkeypatch)
    assert after_the_change != before
    with app.app_context():
        patterns.work_out_year(YEAR, 4)
    _as_another_process(monkeypatch)
    read = _reading_cells(monkeypatch)
    assert _every_view(app, provider_a) == after_the_change
    assert read and set(read) == {frozenset({a.id})}


def test_a_pattern_found_by_its_cells_after_a_change_is_kept_again_under_the_new_stamps(
    app, three_rj_contracts, monkeypatch
):
    """A change to one family leaves the others' cells as they were: their patterns are
    found by digest, and kept again, sealed, exactly as they were, under the new stamps,
    so that a filter's next view reads those families for its own contracts alone."""
    with app.app_context():
        patterns.work_out_year(YEAR, 4)
    before = {family: stored.load(row.digest) for family, row in _kept().items()}
    assert before["RJ05"].figures  # A's 1 and C's 2
    # One figure corrected (a return accepted would touch every family of its contract):
    # the year's stamp moves, RJ05's cells do not.
    db.session.execute(
        update(ReturnFact)
        .values(value=7)
        .where(ReturnFact.contract_id == three_rj_contracts["a"].id, ReturnFact.code == "RJ04")
    )
    db.session.commit()
    now = revisions.pattern_stamps("2025/26")
    _as_another_process(monkeypatch)
    with app.app_context():
        for code in ("RJ04", "RJ05"):
            figures, group = YearPatterns(YEAR, 4).measure(code)
            with suppress(patterns.NotWorkedOut), patterns.without_working_out():
                figures.hidden(group=group)  # read in full: RJ05's found by its digest
    with app.app_context():
        assert stored.load_under("RJ04", "2025/26", 4, now) is None  # not worked out
        again = stored.load_under("RJ05", "2025/26", 4, now)
    assert again is not None and again.sealed and again.digest == before["RJ05"].digest
    assert again.places() == before["RJ05"].places()
    assert again.stamps == stored.stamps_text(now) != before["RJ05"].stamps
    read = _reading_cells(monkeypatch)
    _as_another_process(monkeypatch)
    with app.app_context(), patterns.without_working_out():
        figures, group = YearPatterns(YEAR, 4, Filters(YEAR, provider_id=three_rj_contracts[
            "c"].provider_id)).measure("RJ05")  # fmt: skip
        assert isinstance(figures, patterns.SelectionFigures)
    assert read == [frozenset({three_rj_contracts["c"].id})]


def test_an_output_that_asks_beyond_its_filters_contracts_is_built_again_in_full(
    app, three_rj_contracts, monkeypatch
):
    a = three_rj_contracts["a"]
    chosen = Filters(YEAR, provider_id=a.provider_id)
    with app.app_context():
        patterns.work_out_year(YEAR, 4)
    _as_another_process(monkeypatch)
    read = _reading_cells(monkeypatch)
    runs = []

    @patterns.consistent
    def output() -> list:
        runs.append(1)
        figures, code = YearPatterns(YEAR, 4, chosen).measure("RJ04")
        own = figures.figure({a.id}, patterns.YEAR, code)
        everyone = figures.figure(None, patterns.YEAR, code)  # beyond the provider's
        return [own, everyone]

    with app.app_context():
        answers = output()
    assert len(runs) == 2 and read == [frozenset({a.id}), None]
    _as_another_process(monkeypatch)
    with app.app_context():
        assert answers == [YearPatterns(YEAR, 4).measure("RJ04")[0].figure(contracts, YEAR_,
                                                                           "RJ04")
                           for contracts, YEAR_ in (({a.id}, patterns.YEAR),
                                                    (None, patterns.YEAR))]  # fmt: skip


def _review(client_as, contract, decision: str):
    """An officer reviews the contract's submitted Q2 return on its page; the response
    is not yet closed (as a server closes it once it has sent it)."""
    officer = client_as(Role.OFFICER)
    url = f"/contracts/{contract.id}/returns/{Period.parse('2025/26-Q2').slug}/review"
    return officer.post(url, data={"decision": decision, "comment": "See the note"},
                        buffered=False)  # fmt: skip


def test_accepting_a_return_works_the_years_patterns_out_once_the_response_has_gone(
    app, two_rj_contracts, client_as, monkeypatch
):
    monkeypatch.setitem(app.config, "PAM_WORK_OUT_PATTERNS_ON_ACCEPT", True)
    direct = "K:RJ07:process_type:direct-face-to-face"
    submit_answers(two_rj_contracts["a"], "2025/26-Q2", {"K:RJ07": "3", direct: "3"}, False)
    _as_another_process(monkeypatch)
    response = _review(client_as, two_rj_contracts["a"], "accepted")
    assert response.status_code == 302
    assert _kept() == {}  # the officer's page did not wait for the work-out
    response.close()
    assert ahead.wait_until_done()  # a thread of the server process works it out
    assert {"processes", "equality:age", "RJ04", "RJ05"} <= set(_kept())
    worked_out = _as_another_process(monkeypatch)
    tables = _board_in_a_request(app, Filters(YEAR))
    assert worked_out == []  # the board's next view read what the acceptance worked out
    assert tables["processes"][0][2] is C  # and it has the new quarter's 3 in it
    # The board's unfiltered pages for the year were built and kept too, under the key
    # the board's own view asks for: it reads them, and no figure.
    # And each area's and service's, as a Criminal Justice Board or a national
    # commissioner filters them; not a provider's (there are thousands nationally).
    kept_pages = db.session.scalars(select(KeptPage.page).where(KeptPage.year == "2025/26"))
    assert sorted(kept_pages) == ["outcomes"] * 4 + ["performance"] * 4 + ["portfolio"] * 4
    board = client_as(Role.BOARD_MEMBER)
    north, south = (area.id for area in two_rj_contracts["areas"])
    service = two_rj_contracts["a"].service_category_id
    for url in KEPT_PAGES:
        for filtered in ("", f"&area={north}", f"&area={south}", f"&service={service}"):
            memo.forget_this_process()
            tables = _tables_read(board, f"{url}?year=2025-26{filtered}")
            assert "kept_pages" in tables and "return_facts" not in tables, (url, filtered)
    memo.forget_this_process()
    provider = two_rj_contracts["a"].provider_id
    tables = _tables_read(board, f"/dashboards/outcomes?year=2025-26&provider={provider}")
    assert "return_facts" in tables


@pytest.mark.parametrize("setting", ["queried", "turned off"])
def test_a_query_or_the_setting_turned_off_works_nothing_out(
    app, two_rj_contracts, client_as, monkeypatch, setting
):
    monkeypatch.setitem(app.config, "PAM_WORK_OUT_PATTERNS_ON_ACCEPT", setting == "queried")
    submit_answers(two_rj_contracts["a"], "2025/26-Q2", {"K:RJ04": "2"}, False)
    worked_out = _as_another_process(monkeypatch)
    decision = "queried" if setting == "queried" else "accepted"
    response = _review(client_as, two_rj_contracts["a"], decision)
    response.close()
    assert response.status_code == 302 and ahead.wait_until_done()
    assert worked_out == [] and _kept() == {}


def test_a_failed_work_out_after_accepting_is_logged_and_the_acceptance_stands(
    app, two_rj_contracts, client_as, monkeypatch, caplog
):
    monkeypatch.setitem(app.config, "PAM_WORK_OUT_PATTERNS_ON_ACCEPT", True)
    monkeypatch.setattr(logging.getLogger("pam"), "propagate", True)  # for caplog

    def broken(_year, _threshold):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(patterns, "work_out_year", broken)
    submit_answers(two_rj_contracts["a"], "2025/26-Q2", {"K:RJ04": "2"}, False)
    response = _review(client_as, two_rj_contracts["a"], "accepted")
    response.close()
    assert response.status_code == 302 and ahead.wait_until_done()
    assert "suppression patterns and pages for 2025/26 could not be worked out" in caplog.text
    accepted = db.session.scalars(select(ReturnFact).where(ReturnFact.quarter == 2)).all()
    assert accepted  # the return's figures are in the reporting summary


def test_a_year_asked_for_while_it_is_worked_out_is_worked_out_again_and_once(app, monkeypatch):
    started, release, calls = threading.Event(), threading.Event(), []

    def slow(_app, year, _threshold):
        calls.append(year.label)
        started.set()
        release.wait(10)

    monkeypatch.setattr(ahead, "_work_out_quietly", slow)
    this, last = YEAR, FinancialYear.parse("2024/25")
    ahead.work_out_soon(app, this, 4)
    assert started.wait(10)
    ahead.work_out_soon(app, this, 4)  # accepted after the first began to read: again
    ahead.work_out_soon(app, last, 4)
    ahead.work_out_soon(app, this, 4)  # already waiting: not a third time
    release.set()
    assert ahead.wait_until_done()
    assert calls == ["2025/26", "2025/26", "2024/25"]


@pytest.mark.parametrize(
    ("args", "expected", "code"),
    [(["--year", "2025-26x"], "'2025-26x' is not a financial year like 2025/26", 2),
     (["--year", "2025/27"], "'2025/27' is not a financial year", 2)],
)  # fmt: skip
def test_the_command_refuses_a_year_it_cannot_read(runner, args, expected, code):
    result = runner.invoke(args=["pam", "work-out-patterns", *args])
    assert result.exit_code == code and expected in result.output


def test_with_suppression_off_the_command_says_there_is_nothing_to_do(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "PAM_SUPPRESSION_THRESHOLD", 0)
    result = runner.invoke(args=["pam", "work-out-patterns"])
    assert result.exit_code == 0 and "nothing to work out" in result.output
    assert _kept() == {}


def test_a_patterns_key_does_not_depend_on_the_order_a_contracts_areas_were_read_in():
    family = patterns.measure_family("VS02")

    def key(areas: list[int]) -> str:  # 1 and 9 share a slot: the set's order follows input
        contracts = ((7, 2, 5, frozenset(areas)),)
        return stored.digest(family, 4, True, {(7, 1, 1, "VS02"): 3}, contracts)

    assert key([1, 9]) == key([9, 1])
    assert key([1, 9]) != key([1, 8])


def test_a_filters_options_are_escaped_and_only_the_chosen_one_is_selected():
    from markupsafe import Markup

    from pam.core.template_helpers import option_tags

    choices = [(1, "Alpha"), (2, "<b>Bold & Co</b>"), (12, "Twelve")]
    tags = str(option_tags(choices, 2))
    assert '<option value="2" selected>&lt;b&gt;Bold &amp; Co&lt;/b&gt;</option>' in tags
    assert tags.count("selected") == 1 and "<b>" not in tags
    # Made once, marked afresh: another choice, or none, from the same list.
    assert '<option value="12" selected>Twelve' in str(option_tags(choices, 12))
    assert "selected" not in str(option_tags(choices, None))
    # Equal as keys, not as text: each list is its own.
    assert 'value="True"' in str(option_tags([(True, "Yes")], None))
    assert 'value="1"' in str(option_tags([(1, "Yes")], None))
    assert "<b>" in str(option_tags([(3, Markup("<b>T</b>"))], None))
    assert "<b>" not in str(option_tags([(3, "<b>T</b>")], None))


# --- after a change, before the year is worked out again --------------------------------

AS_AT = "These figures are as at "


def _accept_a_new_quarter(contracts) -> None:
    """A return accepted: the year's facts change, and with them its families' cells."""
    direct = "K:RJ07:process_type:direct-face-to-face"
    submit_answers(contracts["a"], "2025/26-Q2", {"K:RJ04": "2", "K:RJ07": "3", direct: "3"})


class _Queued(list):
    """The years a view queued to be worked out (ahead.work_out_soon), held back until
    start(): the work-out would otherwise begin as the response closes, while the test
    still asks what the view itself worked out."""

    def __init__(self, work_out_soon):
        super().__init__()
        self._work_out_soon, self._calls = work_out_soon, []

    def __call__(self, *args) -> None:
        self.append(args[1])
        self._calls.append(args)

    def start(self) -> bool:
        for args in self._calls:
            self._work_out_soon(*args)
        return bool(self._calls)


def _queued_work_outs(monkeypatch) -> _Queued:
    queued = _Queued(ahead.work_out_soon)
    monkeypatch.setattr(ahead, "work_out_soon", queued)
    return queued


def _as_if_national(app, monkeypatch) -> None:
    """From now on the tests' tiny year stands for a national one: no request works its
    patterns out (PAM_WORK_OUT_IN_REQUEST_CELLS), however few cells its families have."""
    monkeypatch.setitem(app.config, "PAM_WORK_OUT_IN_REQUEST_CELLS", 0)


def _page_and_summaries(client, url: str) -> tuple[str, list[str]]:
    page = client.get(url).data.decode()
    return page, _summaries(page)


@pytest.mark.parametrize(
    "url",
    [
        "/dashboards/outcomes?year=2025-26",
        "/dashboards/performance?year=2025-26&measure=RJ07",
        "/dashboards/outcomes?year=2025-26&provider={provider}",
    ],
)
def test_after_a_change_the_board_sees_the_last_page_built_until_the_year_is_worked_out(
    app, two_rj_contracts, client_as, monkeypatch, url
):
    """A national year's patterns take minutes to work out again, longer than a server lets
    a request run: until they are, the board is shown the page as it was last built, and
    told when that was."""
    monkeypatch.setitem(app.config, "PAM_WORK_OUT_PATTERNS_ON_ACCEPT", True)
    url = url.format(provider=two_rj_contracts["a"].provider_id)
    board = client_as(Role.BOARD_MEMBER)
    before, before_summaries = _page_and_summaries(board, url)
    assert AS_AT not in before
    built_at = db.session.scalar(select(func.max(KeptPage.created_at)))
    _accept_a_new_quarter(two_rj_contracts)
    _as_if_national(app, monkeypatch)
    worked_out = _as_another_process(monkeypatch)

    queued = _queued_work_outs(monkeypatch)
    shown, shown_summaries = _page_and_summaries(board, url)
    assert worked_out == []  # no pattern was worked out in the request
    assert shown_summaries == before_summaries  # the page as it was last built
    assert shown.count(AS_AT) == 1 and template_helpers.format_datetime(built_at) in shown
    assert queued == [FinancialYear.parse("2025/26")]  # the view queued the year's work-out
    assert queued.start() and ahead.wait_until_done()

    memo.forget_this_process()
    fresh = Filters(YEAR, provider_id=two_rj_contracts["a"].provider_id if "provider" in url
                    else None, measure="RJ07" if "measure" in url else None)  # fmt: skip
    after, after_summaries = _page_and_summaries(board, url)
    assert AS_AT not in after and after_summaries != before_summaries  # the new figures
    threshold = app.config["PAM_SUPPRESSION_THRESHOLD"]
    with app.test_request_context():
        if "outcomes" in url:
            expected = outcomes.build(fresh, threshold)
        else:
            choices = performance.measure_choices(fresh)
            expected = performance.build(fresh, date.today(), choices, threshold)
    assert after_summaries == [str(escape(chart.summary)) for chart in expected]


def test_a_page_shown_as_it_was_is_not_kept_as_the_new_one(app, two_rj_contracts, client_as,
                                                           monkeypatch):  # fmt: skip
    """With the work-out left to a schedule (PAM_WORK_OUT_PATTERNS_ON_ACCEPT off), the
    page stays as it was, in every process, until the schedule's work-out has run; then
    each shows the new figures, this one included."""
    board = client_as(Role.BOARD_MEMBER)
    url = "/dashboards/outcomes?year=2025-26"
    _, before = _page_and_summaries(board, url)
    _accept_a_new_quarter(two_rj_contracts)
    _as_if_national(app, monkeypatch)
    memo.forget_this_process()  # no pattern this process worked out before, for any test
    for _view in range(2):
        shown, summaries = _page_and_summaries(board, url)
        assert AS_AT in shown and summaries == before
    assert ahead.wait_until_done() and _kept_pages_for("outcomes") == 1  # nothing queued
    ahead.work_out(
        FinancialYear.parse("2025/26"), date.today(), app.config["PAM_SUPPRESSION_THRESHOLD"]
    )  # the schedule's job
    after, summaries = _page_and_summaries(board, url)  # this process: no memo of the old
    assert AS_AT not in after and summaries != before


def _kept_pages_for(page: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(KeptPage)
                             .where(KeptPage.page == page))  # fmt: skip


def test_staff_see_the_figures_as_they_stand(app, two_rj_contracts, client_as, monkeypatch):
    board, officer = client_as(Role.BOARD_MEMBER), client_as(Role.OFFICER)
    url = "/dashboards/outcomes?year=2025-26"
    board.get(url)
    _, officer_before = _page_and_summaries(officer, url)
    _accept_a_new_quarter(two_rj_contracts)
    _as_if_national(app, monkeypatch)
    memo.forget_this_process()  # no pattern this process worked out before, for any test
    shown, summaries = _page_and_summaries(officer, url)  # every figure: no pattern needed
    assert AS_AT not in shown and WITHHELD not in shown and summaries != officer_before
    # The portfolio shows no suppressed figure: always as the figures stand.
    assert AS_AT not in board.get("/dashboards/?year=2025-26").data.decode()
    assert AS_AT in board.get(url).data.decode()


SUPPRESSED_CELL = '<abbr title="suppressed">[c]</abbr>'
WITHHELD = "Some figures are not shown until they have been checked for small numbers."


def test_a_page_never_built_before_withholds_what_is_not_worked_out_until_it_is(
    app, two_rj_contracts, client_as, monkeypatch
):
    """A filter nobody has viewed since the change has no page to show as it was: it is
    built from what is worked out, every figure of a family whose pattern is not (yet)
    shown as suppressed, and the year is queued to be worked out. Nothing is worked out in
    the request, and the page is not kept as the page for the figures as they stand."""
    monkeypatch.setitem(app.config, "PAM_WORK_OUT_PATTERNS_ON_ACCEPT", True)
    board = client_as(Role.BOARD_MEMBER)
    url = "/dashboards/outcomes?year=2025-26"
    board.get(url)
    direct = "K:RJ07:process_type:direct-face-to-face"
    indirect = "K:RJ07:process_type:indirect-shuttle-or-letter"
    submit_answers(
        two_rj_contracts["a"],
        "2025/26-Q2",
        {"K:RJ07": "30", direct: "15", indirect: "15", "E:sex:female": "30"},
    )
    _as_if_national(app, monkeypatch)
    worked_out = _as_another_process(monkeypatch)
    kept_before = _kept_pages_for("outcomes")
    area = two_rj_contracts["areas"][0].id
    area_url = f"{url}&area={area}"

    queued = _queued_work_outs(monkeypatch)
    shown, summaries = _page_and_summaries(board, area_url)
    assert worked_out == [] and queued == [FinancialYear.parse("2025/26")]
    assert shown.count(WITHHELD) == 1 and AS_AT not in shown
    assert "[c] restorative processes completed ([c] direct, [c] indirect" in summaries[1]
    assert _kept_pages_for("outcomes") == kept_before  # not kept as the page as it stands
    assert WITHHELD in board.get(area_url).data.decode()  # nor remembered as it
    assert queued.start() and ahead.wait_until_done()

    memo.forget_this_process()
    after, after_summaries = _page_and_summaries(board, area_url)
    assert WITHHELD not in after and AS_AT not in after
    with app.test_request_context():
        expected = outcomes.build(Filters(YEAR, area_id=area), 4)
    assert after_summaries == [str(escape(chart.summary)) for chart in expected]
    # What the pattern shows, the withheld page did not.
    assert after.count(SUPPRESSED_CELL) < shown.count(SUPPRESSED_CELL)


def test_a_year_small_enough_is_worked_out_in_the_request_after_a_change(
    app, two_rj_contracts, client_as, monkeypatch
):
    """A single office's year (families of at most PAM_WORK_OUT_IN_REQUEST_CELLS cells)
    takes under a second to work out: the board sees the figures as they stand at once,
    never a page as it was, nor one withheld."""
    board = client_as(Role.BOARD_MEMBER)
    url = "/dashboards/outcomes?year=2025-26"
    _, before = _page_and_summaries(board, url)
    _accept_a_new_quarter(two_rj_contracts)
    worked_out = _as_another_process(monkeypatch)
    for address in (url, f"{url}&area={two_rj_contracts['areas'][0].id}"):
        shown, summaries = _page_and_summaries(board, address)
        assert AS_AT not in shown and WITHHELD not in shown
    assert worked_out  # in the request
    _, summaries = _page_and_summaries(board, url)
    assert summaries != before
    # One family larger than the limit is enough for the page to be shown as it was.
    largest = max(pattern.size for pattern in worked_out)
    monkeypatch.setitem(app.config, "PAM_WORK_OUT_IN_REQUEST_CELLS", largest - 1)
    submit_answers(two_rj_contracts["a"], "2025/26-Q3", {"K:RJ04": "2", "K:RJ07": "3"})
    memo.forget_this_process()
    assert AS_AT in board.get(url).data.decode()


def test_the_work_out_forgets_pages_nobody_asked_for_in_a_month(app, two_rj_contracts,
                                                                 client_as):  # fmt: skip
    provider, contract = two_rj_contracts["a"].provider_id, two_rj_contracts["a"].id
    client_as(Role.BOARD_MEMBER).get(f"/dashboards/outcomes?year=2025-26&provider={provider}")
    year, threshold = FinancialYear.parse("2025/26"), app.config["PAM_SUPPRESSION_THRESHOLD"]
    ahead.work_out(year, date.today(), threshold)
    pages = _kept_pages_for("outcomes")  # the provider's, and the job's

    def a_month_on() -> None:
        month_ago = datetime.now(UTC) - kept.UNASKED_FOR - timedelta(hours=1)
        db.session.execute(update(KeptPage).values(created_at=month_ago))
        db.session.commit()

    a_month_on()
    ahead.work_out(year, date.today(), threshold)
    assert _kept_pages_for("outcomes") == pages  # still the pages of the figures as they are
    a_month_on()
    _accept_a_new_quarter({"a": db.session.get(Contract, contract)})  # the job ended ours
    ahead.work_out(year, date.today(), threshold)
    # The provider's page, built a month ago under older figures, goes; the job's are new.
    assert _kept_pages_for("outcomes") == pages - 1


def test_a_page_shown_as_it_was_is_built_once_another_process_works_the_year_out(
    app, two_rj_contracts, client_as, monkeypatch
):
    """What this process learnt while it showed the page as it was (no pattern kept for
    the new figures) does not outlive the work-out another process (the schedule's job,
    another server worker) keeps."""
    board = client_as(Role.BOARD_MEMBER)
    url = f"/dashboards/outcomes?year=2025-26&provider={two_rj_contracts['a'].provider_id}"
    _, before = _page_and_summaries(board, url)
    _accept_a_new_quarter(two_rj_contracts)
    _as_if_national(app, monkeypatch)
    memo.forget_this_process()
    assert AS_AT in board.get(url).data.decode()
    this_process = dict(patterns._BY_REVISION._items)
    memo.forget_this_process()  # another process, which works the year out
    ahead.work_out(FinancialYear.parse("2025/26"), date.today(),
                   app.config["PAM_SUPPRESSION_THRESHOLD"])  # fmt: skip
    patterns._BY_REVISION._items.update(this_process)  # this one again, as it was
    after, summaries = _page_and_summaries(board, url)
    assert AS_AT not in after and summaries != before


def test_a_page_built_without_working_out_does_not_wait_for_a_thread_that_is(
    app, two_rj_contracts, monkeypatch
):
    monkeypatch.setattr(patterns, "LOCK_WAIT", 0.01)
    figures, code = YearPatterns(FinancialYear.parse("2025/26"), 4).measure("RJ04")
    mask = figures.mask(group=code)
    figures._lock.acquire()  # the year's work-out, on another thread, holds it
    try:
        with patterns.without_working_out(), pytest.raises(patterns.NotWorkedOut):
            figures.hides(mask, published=True)
    finally:
        figures._lock.release()
    with patterns.without_working_out(), pytest.raises(patterns.NotWorkedOut):
        figures.hides(mask, published=True)  # free, but no pattern kept: none worked out
    assert figures.hides(mask, published=True) in (True, False)  # worked out when it may


def test_an_output_built_withholding_hides_what_it_may_not_work_out_and_names_it(
    app, two_rj_contracts, monkeypatch
):
    """built_withholding: a figure whose family's pattern is not kept, or is being worked
    out by another thread, is answered as hidden (never a small number shown), and its
    family named; a family within the cells the output may work out is worked out."""
    monkeypatch.setattr(patterns, "LOCK_WAIT", 0.01)
    memo.forget_this_process()
    year_patterns = YearPatterns(FinancialYear.parse("2025/26"), 4)
    figures, code = year_patterns.measure("RJ05")  # 1 and 5
    shown = figures.mask([two_rj_contracts["b"].id], group=code)
    with_lock = []
    figures._lock.acquire()  # another thread is working it out
    try:
        assert patterns.built_withholding(
            lambda: with_lock.append(figures.hides(shown, published=True))
        )[1] == {"RJ05"}
    finally:
        figures._lock.release()
    value, withheld = patterns.built_withholding(lambda: figures.hides(shown, published=True))
    assert with_lock == [True] and value is True and withheld == {"RJ05"}
    # A family with no small number has no pattern to wait for: nothing withheld.
    large, large_code = year_patterns.measure("RJ09")  # 50 and 70
    value, withheld = patterns.built_withholding(lambda: large.hidden(group=large_code))
    assert value is False and withheld == set()
    worked_out = _as_another_process(monkeypatch)
    size = figures.pattern.size
    value, withheld = patterns.built_withholding(lambda: figures.hides(shown, published=True),
                                                 up_to_cells=size)  # fmt: skip
    assert withheld == set() and len(worked_out) == 1 and value is figures.hides(shown)
