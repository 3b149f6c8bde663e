"""Throughput under concurrent load: a real server (gunicorn, several worker processes) on a
scale's database, with simulated users signed in through the real form, each repeating a
mix of what its role does for a bounded time:

* a board member: the three dashboards (page views);
* an officer: the contract register, a contract page, the returns data download (CSV);
* a provider: their returns, a return template download, and an upload of that template
  filled in (a multipart POST that the upload checks and stores, as a real one is).

It reports requests per second, p50 and p95 latency and errors (an answer of 500 or more,
or no answer), next to the same server's throughput on a trivial page (/health) with the
same number of users for the same time: the ratio says what PAM's own work costs.

Dashboards are viewed once before the clock starts, so the suppression patterns are
worked out and the measurement is of a server in service, not of its first minutes; the
returns data is kept already too (the export's own measurement made it, bench/exports.py),
as after an officer's first download since the year's last change.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.imports import scratch_copy
from bench.users import BOARD, DEMO_PASSWORD, OFFICER, PROVIDER, csrf_token

HERE = Path(__file__).resolve().parent
YEAR = "2025/26"


@dataclass
class Tally:
    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    failed: list[str] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, ok: bool, step: str = "") -> None:
        with self.lock:
            self.seconds.append(seconds)
            self.by_step.setdefault(step, []).append(seconds)
            self.errors += 0 if ok else 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving app:app on the database at `url`."""

    def __init__(self, url: str, workers: int):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {
            **os.environ, "PAM_DATABASE_URL": url, "PAM_ENV": "development",
            "PAM_REQUIRE_TWO_FACTOR": "0", "PAM_SECRET_KEY": "bench-" + "x" * 40,
        }  # fmt: skip
        command = [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                   "--bind", f"127.0.0.1:{self.port}", "--timeout", "600",
                   "--log-level", "warning", "app:app"]  # fmt: skip
        from bench import run

        run.DATA.mkdir(exist_ok=True)
        self.log = (run.DATA / "gunicorn.log").open("w")  # each request is logged
        self.process = subprocess.Popen(command, cwd=HERE.parent, env=environment,  # noqa: S603
                                        stdout=self.log, stderr=subprocess.STDOUT)  # fmt: skip

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 180  # a busy machine can take a while
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/health", timeout=10).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or still starting
                time.sleep(0.5)
        self.process.kill()
        raise RuntimeError("gunicorn did not start within three minutes")

    def __exit__(self, *_exc) -> None:
        self.process.terminate()  # workers still busy (a first view over budget) are killed
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def sign_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/sign-in", timeout=60).text
    form = {"csrf_token": csrf_token(page), "email": email, "password": DEMO_PASSWORD}
    answer = session.post(f"{base}/sign-in", data=form, timeout=60, allow_redirects=False)
    if answer.status_code != 302:
        raise RuntimeError(f"Could not sign in as {email}: {answer.status_code}")
    return session


def _provider_return(app) -> tuple[str, str]:
    """A path of one of the demo provider's returns that can be uploaded, and its template."""
    from sqlalchemy import select

    from pam.auth.models import User
    from pam.contracts.models import Contract
    from pam.core.periods import today_in_uk
    from pam.extensions import db
    from pam.returns import services
    from pam.returns.models import ReturnStatus

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == PROVIDER))
        contracts = db.session.scalars(
            select(Contract).where(Contract.provider_id == user.organisation_id)
        ).all()
        for contract in contracts:
            for period in services.reporting_periods(contract, today_in_uk()):
                found = services.find_return(contract, period)
                if found is None or found.status != ReturnStatus.ACCEPTED:
                    return f"/contracts/{contract.id}/returns/{period.slug}"
    raise RuntimeError("The demo provider has no return open for an upload")


def actions(return_path: str, contract_path: str) -> dict[str, list[tuple[str, str, str]]]:
    """The requests each role repeats: (method, path, the step's name in the figures)."""
    board = [("get", f"/dashboards/?year={YEAR}", "portfolio"),
             ("get", f"/dashboards/performance?year={YEAR}", "performance"),
             ("get", f"/dashboards/outcomes?year={YEAR}", "outcomes")]  # fmt: skip
    officer = [("get", "/contracts", "contract register"),
               ("get", contract_path, "contract page"),
               ("get", f"/exports/returns-data.csv?year={YEAR}",
                "returns data export")]  # fmt: skip
    provider = [("get", "/returns", "provider's returns"),
                ("get", f"{return_path}/template.xlsx", "return template"),
                ("upload", f"{return_path}/upload", "return upload")]  # fmt: skip
    return {BOARD: board, OFFICER: officer, PROVIDER: provider}


STEPS = ("portfolio", "performance", "outcomes", "contract register", "contract page",
         "returns data export", "provider's returns", "return template",
         "return upload")  # fmt: skip


def _user(base: str, email: str, steps: list, until: float, tally: Tally, once: bool,
          timeout: float) -> None:  # fmt: skip
    session = sign_in(base, email)
    template = None
    while once or time.monotonic() < until:
        for method, path, step in steps:
            if not once and time.monotonic() >= until:
                return
            started = time.perf_counter()
            try:
                if method == "upload":
                    answer = _upload(session, base, path, template)
                else:
                    answer = session.get(base + path, timeout=timeout)
                    if path.endswith("template.xlsx"):
                        template = answer.content
                ok = answer.status_code in (200, 302)  # anything else: the user is let down
            except requests.RequestException:
                ok = False
            tally.add(time.perf_counter() - started, ok, step)
            if not ok:
                tally.failed.append(f"{method} {path}")
        if once:
            return


def _upload(session: requests.Session, base: str, path: str, template: bytes | None):
    token = csrf_token(session.get(base + path, timeout=600).text)
    return session.post(
        base + path, timeout=600, allow_redirects=False,
        data={"csrf_token": token, "signed_off_by": "Amy Turner, Service manager",
              "confirm": "y"},
        files={"file": ("return.xlsx", template or b"", "application/octet-stream")},
    )  # fmt: skip


def run_users(base: str, plan: list[tuple[str, list]], seconds: float, once: bool = False,
              timeout: float = 600) -> Tally:  # fmt: skip
    """Each (user, steps) of the plan in its own thread, repeating its steps for `seconds`
    (or going through them once); a request not answered within `timeout` fails."""
    tally = Tally()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_user, args=(base, email, steps, until, tally, once, timeout))
        for email, steps in plan
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.elapsed = time.perf_counter() - started
    return tally


LOAD_FIGURES = (
    "mixed load: requests per second", "mixed load: p50 (ms)", "mixed load: p95 (ms)",
    "mixed load: errors", "trivial page: requests per second", "trivial page: errors",
    *(f"mixed load, {step}: p95 (ms)" for step in STEPS),
)  # fmt: skip


def measure_load(app, url: str, users: int, seconds: float, workers: int,
                 budget: float) -> dict[str, float]:  # fmt: skip
    from sqlalchemy import select

    from bench.run import percentile
    from pam.contracts.models import Contract
    from pam.extensions import db

    return_path = _provider_return(app)
    with app.app_context():
        contract_id = db.session.scalar(
            select(Contract.id).where(Contract.reference.like("NAT-%")).order_by(Contract.id)
        )
        db.session.remove()  # give the connection back, or dispose() leaves it open
        db.engine.dispose()
    roles = actions(return_path, f"/contracts/{contract_id}")
    mixed = [(email, roles[email]) for email in list(roles) * users][:users]
    with scratch_copy(url) as scratch, Server(scratch, workers) as server:  # uploads write
        # Patterns worked out before the clock starts, in every worker: as many users as
        # workers view each dashboard at once, so each sync worker serves one of them.
        # Past the first-view budget the figures are "over budget", as the dashboards' are.
        warm = run_users(server.base, [(BOARD, roles[BOARD])] * workers, 0, True, budget)
        if warm.errors:
            return dict.fromkeys(LOAD_FIGURES, math.inf)
        load = run_users(server.base, mixed, seconds)
        for failed in sorted(set(load.failed)):
            print(f"  failed under load: {failed} (see bench/.data/gunicorn.log)", file=sys.stderr)
        trivial = run_users(server.base, [(BOARD, [("get", "/health", "")])] * users, seconds)
    return {  # in the order of LOAD_FIGURES
        "mixed load: requests per second": len(load.seconds) / load.elapsed,
        "mixed load: p50 (ms)": percentile(load.seconds, 50) * 1000,
        "mixed load: p95 (ms)": percentile(load.seconds, 95) * 1000,
        "mixed load: errors": load.errors,
        "trivial page: requests per second": len(trivial.seconds) / trivial.elapsed,
        "trivial page: errors": trivial.errors,
        # Which requests the load's time goes to (each user repeats its role's steps).
        **{f"mixed load, {step}: p95 (ms)": percentile(load.by_step.get(step, [math.inf]), 95)
           * 1000 for step in STEPS},
    }  # fmt: skip
