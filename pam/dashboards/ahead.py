"""Working a year's suppression patterns out ahead of the board's next view.

Accepting a return changes its year's figures, so the year's patterns (pam.dashboards.
patterns) must be worked out again, and the board's pages built again; done here (the
year's pages as the board sees them, unfiltered and for each area and service:
pam.dashboards.pages), the board's next view reads them instead of its first viewer
waiting. The work runs on a background thread of the server process, never in a
request: a year takes seconds for one office and far longer for a national deployment,
and a gunicorn worker busy that long would serve nobody meanwhile and be killed by its
timeout. It is queued once the accepting officer's response has gone.

Years wait their turn, one at a time (each work-out is CPU-bound: two at once would only
share the same core), and a year asked for again while it waits is worked out once, from
the figures as they are when its turn comes. It is a cache filled ahead of time: a
failure is logged and costs the first viewer the wait, and a process that stops drops its
queue. `flask pam work-out-patterns` does the same work on demand or on a schedule.
"""

from __future__ import annotations

import logging
import threading
from datetime import date
from functools import partial

from flask import Flask, after_this_request, current_app

from pam.core.periods import FinancialYear

log = logging.getLogger(__name__)

_waiting: list[tuple[Flask, FinancialYear, int]] = []  # not yet begun
_changed = threading.Condition()
_worker: threading.Thread | None = None


def work_out_after_this_request(year: FinancialYear) -> None:
    """Queue the year's patterns to be worked out once this request's response has gone
    (PAM_WORK_OUT_PATTERNS_ON_ACCEPT; nothing to do with suppression off)."""
    app = current_app._get_current_object()
    threshold = app.config["PAM_SUPPRESSION_THRESHOLD"]
    if not threshold or not app.config["PAM_WORK_OUT_PATTERNS_ON_ACCEPT"]:
        return

    @after_this_request
    def queue_when_sent(response):
        response.call_on_close(partial(work_out_soon, app, year, threshold))
        return response


def work_out_soon(app: Flask, year: FinancialYear, threshold: int) -> None:
    """Queue a year (unless it is already waiting: one being worked out now may have read
    the figures before this change, so it is queued again) and make sure a thread is
    working."""
    global _worker
    with _changed:
        if (app, year, threshold) not in _waiting:
            _waiting.append((app, year, threshold))
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="pam-patterns", daemon=True)
            _worker.start()
        _changed.notify_all()


def wait_until_done(timeout: float = 60.0) -> bool:
    """Block until the queue is empty and nothing is being worked out (for tests and for
    a command that must not exit first). False if it timed out."""
    with _changed:
        return _changed.wait_for(lambda: _worker is None or not _worker.is_alive(), timeout)


def _work() -> None:
    """Work each waiting year out in turn; end when none is left."""
    global _worker
    while True:
        with _changed:
            if not _waiting:
                _worker = None
                _changed.notify_all()
                return
            app, year, threshold = _waiting.pop(0)
        _work_out_quietly(app, year, threshold)


def work_out(year: FinancialYear, today: date, threshold: int) -> dict[str, bool]:
    """The year's patterns worked out and kept, then its board pages built from them and
    kept (what `flask pam work-out-patterns` and the thread run). The pages read the kept
    patterns, sealed: the work-out holds one described family at a time, not them all.
    Returns, for each family, whether it has small numbers to hide."""
    from pam.dashboards.kept import forget_unasked, keep_waiting
    from pam.dashboards.pages import build_ahead
    from pam.dashboards.patterns import work_out_year
    from pam.dashboards.stored import store_waiting
    from pam.returns.revisions import page_stamps

    families = work_out_year(year, threshold)
    store_waiting()
    stamps = page_stamps(year.label)
    build_ahead(year, today, threshold)
    keep_waiting()
    forget_unasked(year.label, stamps)
    return families


def _work_out_quietly(app: Flask, year: FinancialYear, threshold: int) -> None:
    from pam.core.periods import today_in_uk

    with app.app_context():
        try:
            work_out(year, today_in_uk(), threshold)
        except Exception:  # filling a cache ahead of time: a failure costs only the cache
            log.exception(
                "suppression patterns and pages for %s could not be worked out", year.label
            )
