"""`make bench` keeps working: a tiny run of the whole benchmark (build a database with the
demo and a generated world, measure every page, write results.json and the table). The
real figures come from `make bench`; nothing here asserts a time."""

from __future__ import annotations

import json
import math
import os

import pytest

from bench import run


@pytest.fixture
def bench_database(tmp_path, monkeypatch, database_url):
    """A scratch SQLite file, or on PostgreSQL runs a scratch database on the same server
    (so the generator's COPY path is proven there too)."""
    monkeypatch.setattr(run, "DATA", tmp_path)
    if database_url.startswith("postgresql"):
        monkeypatch.setenv("PAM_BENCH_DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("PAM_BENCH_DATABASE_URL", raising=False)
    return tmp_path


def test_a_tiny_benchmark_run_measures_every_figure(bench_database, capsys, monkeypatch):
    # Without suppression: the patterns are the dashboards' tests' business, and working
    # them out in each server process would make this smoke run minutes long.
    monkeypatch.setenv("PAM_SUPPRESSION_THRESHOLD", "0")
    output = bench_database / "results.json"
    results = run.main(
        ["--scale", "0.0004", "--small", "0.0004", "--repeat", "2", "--output", str(output),
         "--fresh", "--budget", "600", "--imports", "3", "--users", "3", "--seconds", "2",
         "--workers", "2"]
    )  # fmt: skip
    assert json.loads(output.read_text()) == results
    figures = results["figures"]
    for page in (*run.DASHBOARDS, "contract register", "contract page"):
        for kind in ("first view (ms)", "first view, new process (ms)", "p50 (ms)", "p95 (ms)"):
            row = figures[f"{page} {kind}"]
            assert isinstance(row["small"], float) and math.isfinite(row["small"]), (page, kind)
        assert figures[f"{page}: SQL statements"]["full"] > 0
    for page in run.FILTERED:
        for one in ("area", "provider"):
            row = figures[f"{page} for one {one}, first view, new process (ms)"]
            assert isinstance(row["full"], float) and math.isfinite(row["full"]), (page, one)
        row = figures[f"{page} first view after a return changed (ms)"]
        assert math.isfinite(row["small"]) and math.isfinite(row["full"]), page
    assert figures["naive dashboard SQL (ms)"]["full"] > 0
    assert figures["the year's patterns and pages worked out ahead (s)"]["full"] > 0
    for figure in ("one return import: read + check + store p50 (ms)",
                   "bulk import of historic returns (files/s)",
                   "raw python-calamine read of the same files (files/s)"):  # fmt: skip
        assert figures[figure]["full"] > 0, figure
    for figure in ("board pack first build (ms)", "board pack peak memory (MB)",
                   "XlsxWriter alone peak memory (MB)", "board pack cells"):  # fmt: skip
        assert figures[figure]["full"] > 0, figure
    export = figures["returns data export rows"]["full"]
    assert export > 0 and figures["returns data export peak memory (MB)"]["full"] > 0
    for figure in ("returns data export kept, sent as gzip (ms)",
                   "returns data export kept, size (MB)"):  # fmt: skip
        assert figures[figure]["full"] > 0, figure  # kept, and sent from there
    assert figures["mixed load: requests per second"]["full"] > 0
    assert figures["mixed load: errors"]["full"] == 0
    assert figures["trivial page: errors"]["full"] == 0
    assert not list(bench_database.glob("*imports*")), "the scratch copy is left behind"
    kind = "-postgresql" if os.environ.get("PAM_BENCH_DATABASE_URL") else ""
    marker = json.loads((bench_database / f"pam-0_0004{kind}.json").read_text())
    assert marker["rows"]["contracts"] == 2 and marker["rows"]["return_figures"] > 0
    assert "contract page p50 (ms)" in capsys.readouterr().out  # the printed table


@pytest.mark.parametrize("given", ["postgresql://u@db:5432/any", "postgres://u@db:5432/any"])
def test_a_plain_postgresql_address_is_driven_by_psycopg_3(given, monkeypatch, tmp_path):
    # bench/README.md says `postgresql://`; PAM installs psycopg 3, not psycopg2.
    monkeypatch.setattr(run, "DATA", tmp_path)
    monkeypatch.setenv("PAM_BENCH_DATABASE_URL", given)
    assert run.database_url("0_01") == "postgresql+psycopg://u@db:5432/pam_bench_0_01"


def test_without_a_server_address_the_bench_database_is_a_local_sqlite_file(monkeypatch, tmp_path):
    monkeypatch.setattr(run, "DATA", tmp_path)
    monkeypatch.delenv("PAM_BENCH_DATABASE_URL", raising=False)
    assert run.database_url("0_01") == f"sqlite:///{tmp_path / 'pam-0_01.db'}"


def test_the_warm_view_comparison_runs(bench_database, monkeypatch):
    # bench/warm.py: each dashboard warm with its page kept, built, and its cells read.
    from bench import warm

    monkeypatch.setenv("PAM_SUPPRESSION_THRESHOLD", "0")
    results = warm.main(["--scale", "0.0004", "--repeat", "1"])
    assert set(results) == set(run.DASHBOARDS)
    for figures in results.values():
        assert set(figures) == set(warm.WAYS)
        assert all(value > 0 for value in figures.values())


def test_the_filtered_first_build_comparison_runs(bench_database):
    # bench/filtered.py: a filtered page's first build, its own contracts' facts against
    # every fact with sealed patterns and checked in full; with the demo's small numbers,
    # so every way has patterns to read.
    from bench import filtered

    results = filtered.main(["--scale", "0.0004"])
    assert len(results) == 8
    for figures in results.values():
        ways = ("own contracts (ms)", "sealed (ms)", "checked in full (ms)")
        assert all(figures[way] > 0 for way in ways)


def test_the_view_after_a_change_comparison_runs(bench_database):
    # bench/changed.py: the page as it was against the page built, just after a change;
    # with the demo's small numbers, so the changed family has a pattern to work out.
    from bench import changed

    results = changed.main(["--scale", "0.0004", "--budget", "120"])
    assert set(results) == set(changed.FILTERED)
    ways = ("as it was (ms)", "built (ms)", "never built, withheld (ms)",
            "never built, built (ms)")  # fmt: skip
    for figures in results.values():
        assert all(figures[way] > 0 for way in ways)
    # The outcomes page shows processes, the changed family.
    assert results["outcomes dashboard"]["shown as it was"]
    assert results["outcomes dashboard"]["shown withheld"]


def test_a_first_view_abandoned_over_budget_leaves_the_year_as_its_work_out_kept_it(
    bench_database, monkeypatch
):
    """At national scale a first view after a change outlasts its budget: what the
    year's work-out kept is put back, so the next figures (a new process's first view, the
    warm views, the board pack) read it rather than being abandoned in turn."""
    from contextlib import contextmanager

    from sqlalchemy import func, select

    from pam.dashboards.models import KeptPage, StoredPattern
    from pam.extensions import db

    app = run.build(0.0004, "0_0004", True, lambda _line: None)
    seconds, kept = run.work_out_the_year(app)
    assert seconds > 0 and kept["suppression_patterns"] and kept["kept_pages"]

    @contextmanager
    def no_time_at_all(_seconds):
        raise run.TooSlow
        yield  # pragma: no cover

    client = run.signed_in(app, run.BOARD)
    path = run.DASHBOARDS["outcomes dashboard"]
    with monkeypatch.context() as patched:
        patched.setattr(run, "within_budget", no_time_at_all)
        assert math.isinf(run._first_view(app, client, path, 1, changed=kept))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StoredPattern)) == len(
            kept["suppression_patterns"]
        )
        assert db.session.scalar(select(func.count()).select_from(KeptPage)) == len(
            kept["kept_pages"]
        )
    assert math.isfinite(run._first_view(app, client, path, 600))


def test_on_a_generated_database_the_templates_are_the_demos_contracts_only(bench_database):
    """The import figures' templates come from the demo's contracts: on a national
    database reading every generated contract's return as a template took an hour."""
    from bench.generate import GENERATED, templates
    from pam.extensions import db

    app = run.build(0.0004, "0_0004", True, lambda _line: None)
    with app.app_context():
        shapes = templates(db.session.connection())
        references = [shape.contract["reference"] for shape in shapes]
    assert shapes and not [ref for ref in references if ref.split("-")[0] in GENERATED]
