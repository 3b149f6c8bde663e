"""`make bench`: PAM's figures at a small and a full national scale, measured side by side
in one run on this machine, written to bench/results.json and printed as a table.

    python -m bench.run --scale 1.0 --small 0.01      # what `make bench` runs
    python -m bench.run --scale 0.01 --small 0.001    # `make bench SCALE=0.01`

Each scale gets its own database, built once and kept (bench/.data/, or PostgreSQL
databases pam_bench_<n> when PAM_BENCH_DATABASE_URL names a PostgreSQL server); --fresh
builds them again. Every figure is a ratio to something measured in the same run, so the
numbers compare on any machine: a page's time at full scale to its time at the small
scale, the dashboard to the raw SQL a naive implementation would run over the same data.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import signal
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, event, func, select, text, update

from bench.exports import measure_board_pack, measure_returns_export
from bench.imports import measure_imports
from bench.load import measure_load
from bench.users import BOARD, DEMO_PASSWORD, OFFICER, csrf_token

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
RESULTS = HERE / "results.json"


# --- the databases -----------------------------------------------------------------------


def database_url(label: str) -> str:
    from pam.config import normalise_database_url

    server = normalise_database_url(os.environ.get("PAM_BENCH_DATABASE_URL", ""))
    if server.startswith("postgresql"):  # postgresql:// as the README says: psycopg 3
        base, _, _ = server.rpartition("/")
        return f"{base}/pam_bench_{label}"
    DATA.mkdir(exist_ok=True)
    return f"sqlite:///{DATA / f'pam-{label}.db'}"


def _create_postgres_database(url: str, fresh: bool) -> bool:
    """Create the database if needed; True when it is new (or was dropped for --fresh)."""
    from pam.config import normalise_database_url

    base, _, name = normalise_database_url(url).rpartition("/")
    server = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        )
        if exists and fresh:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if not exists or fresh:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return not exists or fresh


def make_app(url: str):
    from pam import create_app

    # The benchmark works the year out itself, when it says (work_out_the_year): a view
    # after a change queues no work-out of its own on a thread of this process.
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PAM_ENV": "development",
                      "PAM_REQUIRE_TWO_FACTOR": False,
                      "PAM_WORK_OUT_PATTERNS_ON_ACCEPT": False})  # fmt: skip
    logging.getLogger("pam.requests").setLevel(logging.WARNING)  # the table, not every request
    return app


def build(scale: float, label: str, fresh: bool, say: Callable[[str], None]) -> Any:
    """The app on a database holding the demo plus a generated world of this scale."""
    url = database_url(label)
    if url.startswith("sqlite"):
        marker = DATA / f"pam-{label}.json"
        path = Path(url.removeprefix("sqlite:///"))
        new = fresh or not path.exists() or not marker.exists()
        if new and path.exists():
            path.unlink()
    else:  # each kind of database has its own marker; one without it may be half-built
        marker = DATA / f"pam-{label}-postgresql.json"
        new = _create_postgres_database(url, fresh or not marker.exists())
    from flask_migrate import upgrade

    if not new and json.loads(marker.read_text()).get("scale") == scale:
        say(f"Using the {label} database built earlier ({url})")
        app = make_app(url)
        with app.app_context():
            upgrade()  # a migration since (an index, say) is measured too
            _analyse()
        return app

    from bench.generate import generate
    from pam.demo import load

    app = make_app(url)
    with app.app_context():
        say(f"Building the {label} database (scale {scale}) at {url}")
        started = time.perf_counter()
        upgrade()
        load()
        counts = generate(scale, progress=say)
        _analyse()
        seconds = time.perf_counter() - started
    DATA.mkdir(exist_ok=True)
    marker.write_text(json.dumps({"scale": scale, "rows": counts, "seconds": round(seconds)}))
    return app


def _analyse() -> None:
    """Give the planner statistics of the rows just loaded, as a real bulk load would
    (PostgreSQL's autovacuum gets there in its own time; until it does, a plan made for
    an empty table can be a poor one: the portfolio dashboard at 20% took 1.16 s a view
    under the profiler before, 0.28 s after)."""
    from pam.extensions import db

    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


# --- measuring ---------------------------------------------------------------------------


def signed_in(app, email: str):
    """A test client signed in through the real sign-in form (CSRF token and all)."""
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = csrf_token(page)
    answer = client.post(
        "/sign-in", data={"csrf_token": token, "email": email, "password": DEMO_PASSWORD}
    )
    if answer.status_code != 302:
        raise RuntimeError(f"Could not sign in as {email}: {answer.status_code}")
    return client


@contextmanager
def counting_statements(engine):
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


@dataclass
class Timing:
    cold: float  # the first view after the figures changed (no pattern worked out yet)
    restart: float  # the first view in a new server process (patterns kept in the database)
    p50: float
    p95: float
    statements: float  # infinite when the page was abandoned
    # The same page for one area, first viewed in a new server process: the page was built
    # ahead with the year's patterns (unfiltered, each area's and each service's:
    # pages.build_ahead).
    one_area: float = math.nan
    # And for one provider: the patterns are kept, the page is not (built when first asked).
    one_provider: float = math.nan
    # The first view in a new process just after one figure changed: the page as the
    # work-out last built it is shown (pam.dashboards.pages), not built.
    after_a_change: float = math.nan


# --- the year's work-out, and its figures changing -----------------------------------------


def work_out_the_year(app) -> tuple[float, dict[str, list[dict]]]:
    """What a deployment runs after the year's figures change (`flask pam
    work-out-patterns`, or each server process after an acceptance): every family's
    suppression pattern worked out and the year's unfiltered board pages built, from
    nothing kept. Timed with no budget (at national scale it is a job of minutes, which no
    page waits for), and returns what it kept: every figure that empties the kept patterns
    puts these back afterwards (figures_changed)."""
    from pam.cli import _work_out_patterns
    from pam.core.periods import FinancialYear
    from pam.dashboards import memo
    from pam.extensions import db

    with app.app_context():
        _empty_kept(db)
        memo.forget_this_process()
        started = time.perf_counter()
        _work_out_patterns(FinancialYear.parse(YEAR))
        seconds = time.perf_counter() - started
        kept = {table.name: [dict(row) for row in db.session.execute(select(table)).mappings()]
                for table in _kept_tables()}  # fmt: skip
        db.session.remove()
    return seconds, kept


@contextmanager
def figures_changed(app, kept: dict[str, list[dict]]):
    """As just after a return is accepted, before the year's work-out has run: the
    patterns and pages kept in the database, and this process's caches, emptied. Then
    put back as the work-out left them, so every figure starts from the same place, and
    one abandoned over budget leaves the next something to read."""
    from pam.dashboards import memo
    from pam.extensions import db

    with app.app_context():
        _empty_kept(db)
        db.session.remove()
    memo.forget_this_process()
    try:
        yield
    finally:
        _put_back(app, kept)


def _put_back(app, kept: dict[str, list[dict]]) -> None:
    """The patterns and pages kept as the work-out left them, and nothing else."""
    from pam.dashboards import memo
    from pam.extensions import db

    with app.app_context():
        _empty_kept(db)
        for table in _kept_tables():
            if kept[table.name]:
                db.session.execute(table.insert(), kept[table.name])
        db.session.commit()
        db.session.remove()
    memo.forget_this_process()


def _kept_tables() -> tuple:
    """The suppression patterns and whole pages kept for every server process."""
    from pam.dashboards.models import KeptPage, StoredPattern

    return StoredPattern.__table__, KeptPage.__table__


def _empty_kept(db) -> None:
    for table in _kept_tables():
        db.session.execute(delete(table))
    db.session.commit()


class TooSlow(Exception):
    pass


@contextmanager
def within_budget(seconds: int):
    """Raise TooSlow in the work if it takes longer than `seconds` (a request that is cut
    off this way is answered by the portal's error page, and the flag says so)."""
    abandoned = []

    def give_up(*_args):
        abandoned.append(True)
        raise TooSlow

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    try:
        yield abandoned
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def a_return_changed(app, kept: dict[str, list[dict]]):
    """As just after a return is accepted, before the year's work-out has run: one figure
    of the year's restorative processes changed (the year's stamp with it), the patterns
    and pages kept left as they were. Then the figure, the stamp and what the work-out
    kept (`kept`) are put back as they were."""
    from pam.dashboards import memo
    from pam.extensions import db
    from pam.returns.models import FactRevision, ReturnFact

    with app.app_context():
        fact = db.session.execute(
            select(ReturnFact.id, ReturnFact.value)
            .where(ReturnFact.year == YEAR, ReturnFact.kind == "K", ReturnFact.breakdown == "")
            .order_by((ReturnFact.code == "RJ07").desc(), ReturnFact.id).limit(1)
        ).one()  # fmt: skip
        stamp = db.session.scalar(select(FactRevision.revision).where(FactRevision.year == YEAR))
        changed = update(ReturnFact).where(ReturnFact.id == fact.id)
        db.session.execute(changed.values(value=fact.value + 1))
        db.session.commit()
        db.session.remove()
    memo.forget_this_process()
    try:
        yield
    finally:
        with app.app_context():
            db.session.execute(changed.values(value=fact.value))
            db.session.execute(update(FactRevision).where(FactRevision.year == YEAR)
                               .values(revision=stamp))  # fmt: skip
            db.session.commit()
            db.session.remove()
        _put_back(app, kept)


def _first_view(app, client, path: str, budget: int, changed: dict | None = None) -> float:
    """With `changed` (what the year's work-out kept), the first request after the
    figures changed, before the work-out has run: the page is built and the suppression
    patterns it needs are worked out afresh (figures_changed). Without it, the first
    request in a new server process: only the process's cache is emptied, and the
    patterns and pages kept in the database are read. Past the budget it is abandoned and
    reported as infinite rather than holding up the run."""
    from pam.dashboards import memo

    if changed is not None:
        with figures_changed(app, changed):
            return _first_view(app, client, path, budget)
    memo.forget_this_process()
    started = time.perf_counter()
    try:
        with within_budget(budget) as abandoned:
            response = client.get(path)
    except TooSlow:
        return math.inf
    if abandoned:
        return math.inf
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return time.perf_counter() - started


def time_requests(app, client, path: str, repeat: int, budget: int, kept: dict,
                  filtered: tuple[str, str] | None = None) -> Timing:  # fmt: skip
    from pam.extensions import db

    with app.app_context():
        engine = db.engine
    # A first view over budget is reported so; the others read what the work-out kept.
    cold = _first_view(app, client, path, budget, changed=kept)
    restart = _first_view(app, client, path, budget)
    one_area, one_provider = (
        (_first_view(app, client, path, budget) for path in filtered) if filtered
        else (math.nan, math.nan)
    )  # fmt: skip
    after_a_change = math.nan
    if filtered:
        with a_return_changed(app, kept):
            after_a_change = _first_view(app, client, path, budget)
    first = client.get(path)  # warm: templates compiled, patterns cached, as in service
    if first.status_code != 200:
        raise RuntimeError(f"{path} answered {first.status_code}")
    with counting_statements(engine) as counter:
        client.get(path)
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(path)
        seconds.append(time.perf_counter() - started)
    return Timing(cold, restart, percentile(seconds, 50), percentile(seconds, 95), counter["n"],
                  one_area, one_provider, after_a_change)  # fmt: skip


def time_sql(app, sql: str, params: dict, repeat: int) -> float:
    from pam.extensions import db

    with app.app_context():
        seconds = []
        for _ in range(repeat):
            started = time.perf_counter()
            db.session.execute(text(sql), params).all()
            seconds.append(time.perf_counter() - started)
        db.session.remove()
    return percentile(seconds, 50)


def percentile(values: list[float], percent: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


# What a naive dashboard would run: every accepted figure of the year, walking the returns
# themselves (versions, reviews, measures, metrics) rather than the maintained summary.
NAIVE_DASHBOARD_SQL = """
SELECT m.code, COUNT(DISTINCT r.contract_id), SUM(f.value)
FROM return_figures f
JOIN return_versions v ON v.id = f.version_id
JOIN returns r ON r.id = v.return_id
JOIN return_reviews rv ON rv.version_id = v.id AND rv.decision = 'accepted'
JOIN framework_measures fm ON fm.id = f.measure_id
JOIN metrics m ON m.id = fm.metric_id
WHERE r.status = 'accepted' AND r.period_end BETWEEN :first AND :last
GROUP BY m.code
"""

YEAR = "2025/26"
DASHBOARDS = {
    "portfolio dashboard": f"/dashboards/?year={YEAR}",
    "performance dashboard": f"/dashboards/performance?year={YEAR}",
    "outcomes dashboard": f"/dashboards/outcomes?year={YEAR}",
}
# Pages a board member filters: each is also viewed for one area and for one provider (see
# Timing.one_area).
FILTERED = ("performance dashboard", "outcomes dashboard")


def busiest_provider() -> int:
    """The provider with the most contracts (in an app context)."""
    from pam.contracts.models import Contract
    from pam.extensions import db

    return db.session.scalar(
        select(Contract.provider_id).group_by(Contract.provider_id)
        .order_by(func.count().desc(), Contract.provider_id).limit(1)
    )  # fmt: skip


def measure(app, repeat: int, budget: int, kept: dict) -> dict[str, float]:
    from pam.contracts.models import Contract, contract_areas
    from pam.extensions import db

    board, officer = signed_in(app, BOARD), signed_in(app, OFFICER)
    with app.app_context():
        contract_id = db.session.scalar(
            select(Contract.id).where(Contract.reference.like("NAT-%")).order_by(Contract.id)
        )
        area_id = db.session.scalar(  # the area with the most contracts
            select(contract_areas.c.area_id).group_by(contract_areas.c.area_id)
            .order_by(func.count().desc(), contract_areas.c.area_id).limit(1)
        )  # fmt: skip
        provider_id = busiest_provider()
    figures: dict[str, float] = {}
    pages = {**{name: (board, path) for name, path in DASHBOARDS.items()},
             "contract register": (officer, "/contracts"),
             "contract page": (officer, f"/contracts/{contract_id}")}  # fmt: skip
    for name, (client, path) in pages.items():
        filtered = (
            (f"{path}&area={area_id}", f"{path}&provider={provider_id}") if name in FILTERED
            else None
        )  # fmt: skip
        timing = time_requests(app, client, path, repeat, budget, kept, filtered)
        figures[f"{name} first view (ms)"] = timing.cold * 1000
        figures[f"{name} first view, new process (ms)"] = timing.restart * 1000
        if filtered:
            figures[f"{name} for one area, first view, new process (ms)"] = timing.one_area * 1000
            figures[f"{name} for one provider, first view, new process (ms)"] = (
                timing.one_provider * 1000
            )
            figures[f"{name} first view after a return changed (ms)"] = timing.after_a_change * 1000
        figures[f"{name} p50 (ms)"] = timing.p50 * 1000
        figures[f"{name} p95 (ms)"] = timing.p95 * 1000
        figures[f"{name}: SQL statements"] = timing.statements
    first, last = ("2025-04-01", "2026-03-31")
    figures["naive dashboard SQL (ms)"] = (
        time_sql(app, NAIVE_DASHBOARD_SQL, {"first": first, "last": last}, repeat) * 1000
    )
    return figures


# --- the report --------------------------------------------------------------------------


def print_ways(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A side-by-side comparison (bench.warm, bench.filtered, bench.changed), a line for
    each page: what each way measured."""
    for name, figures in results.items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return results


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "database": "postgresql" if database_url("x").startswith("postgresql") else "sqlite",
    }


def compare(small: dict[str, float], full: dict[str, float]) -> dict[str, dict[str, float]]:
    rows = {}
    for name in small:
        ratio = full[name] / small[name] if small[name] and math.isfinite(small[name]) else None
        rows[name] = {"small": _shown(small[name]), "full": _shown(full[name]),
                      "full / small": _shown(ratio) if ratio is not None else None}  # fmt: skip
    for label, scaled in (("small", small), ("full", full)):
        rows[f"one return import / raw read ({label})"] = {label: _shown(
            scaled["one return import: read + check + store p50 (ms)"]
            / scaled["one return: raw python-calamine read p50 (ms)"])}  # fmt: skip
        rows[f"raw read / bulk import speed ({label})"] = {label: _shown(
            scaled["raw python-calamine read of the same files (files/s)"]
            / scaled["bulk import of historic returns (files/s)"])}  # fmt: skip
        rows[f"trivial page / mixed load requests per second ({label})"] = {label: _shown(
            scaled["trivial page: requests per second"]
            / scaled["mixed load: requests per second"])}  # fmt: skip
    for page in DASHBOARDS:
        rows[f"{page} p50 / naive SQL (full)"] = {
            "full": _shown(full[f"{page} p50 (ms)"] / full["naive dashboard SQL (ms)"])
        }
    return rows


def _shown(value: float) -> float | str:
    """A figure for results.json: rounded, and an abandoned one as "over budget"."""
    return round(value, 2) if math.isfinite(value) else "over budget"


def table(results: dict[str, Any]) -> str:
    scales = results["scales"]
    lines = [f"{'figure':58} {scales['small']:>10} {scales['full']:>10} {'full/small':>10}"]
    for name, row in results["figures"].items():
        cells = [row.get("small", ""), row.get("full", ""), row.get("full / small", "")]
        lines.append(f"{name:58} " + " ".join(f"{cell!s:>10}" for cell in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="the full scale (1.0 = national)")
    parser.add_argument("--small", type=float, help="the small scale (default 1%% of it)")
    parser.add_argument("--repeat", type=int, default=20, help="requests per figure")
    parser.add_argument("--fresh", action="store_true", help="build the databases again")
    parser.add_argument(
        "--budget", type=int, default=300, help="seconds a first view may take before it is "
        "abandoned (reported as over budget)",
    )  # fmt: skip
    parser.add_argument("--imports", type=int, default=1000,
                        help="historic returns in the bulk import")  # fmt: skip
    parser.add_argument("--users", type=int, default=12, help="simulated users under load")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1),
                        help="gunicorn worker processes under load")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=60, help="how long the load lasts")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.small = args.small or args.scale / 100
    say = print
    measured, built = {}, set()
    for label, scale in (("small", args.small), ("full", args.scale)):
        name = f"{scale:g}".replace(".", "_")
        app = build(scale, name, args.fresh and name not in built, say)
        built.add(name)
        say(f"Measuring at scale {scale:g}: the year's work-out first")
        work_out, kept = work_out_the_year(app)
        measured[label] = {"the year's patterns and pages worked out ahead (s)": work_out}
        measured[label] |= measure(app, args.repeat, args.budget, kept)
        with app.app_context():
            from pam.extensions import db

            db.engine.dispose()
        singles = max(1, min(args.repeat, 20))
        measured[label] |= measure_imports(database_url(name), args.imports, singles, say)
        say(f"  the board pack at scale {scale:g}")
        measured[label] |= measure_board_pack(app, args.budget, kept)
        say(f"  the returns data export at scale {scale:g}")
        measured[label] |= measure_returns_export(app)
        say(f"  {args.users} users for {args.seconds:g} s on gunicorn at scale {scale:g}")
        measured[label] |= measure_load(app, database_url(name), args.users, args.seconds,
                                        args.workers, args.budget)  # fmt: skip
    results = {
        "machine": machine(),
        "scales": {"small": args.small, "full": args.scale},
        "repeat": args.repeat,
        "first view budget (s)": args.budget,
        "figures": compare(measured["small"], measured["full"]),
    }
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    say(table(results))
    return results


if __name__ == "__main__":
    main()
