"""A board page's first view just after a return changed, before the year's work-out has
run, two ways, side by side.

    python -m bench.changed --scale 0.2

The year's patterns and pages are worked out first, as `flask pam work-out-patterns`
leaves them. Then one figure of the year's restorative processes changes (bench.run.
a_return_changed), and each filtered dashboard is viewed by a board member in a new
server process:
* "as it was": as PAM does, the page kept before the change is shown, with the time it
  was built, where building it would work a pattern out (pam.dashboards.pages);
* "built": the page built in the request, the changed families' patterns worked out
  there (the way before).
Then the figure is put back. Times in milliseconds; each view is abandoned past the
budget (infinite). docs/performance.md ("eleventh sitting") records runs.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager

from bench.run import (
    DASHBOARDS,
    FILTERED,
    _first_view,
    a_return_changed,
    build,
    print_ways,
    signed_in,
    work_out_the_year,
)
from bench.users import BOARD

AS_AT = "These figures are as at"


@contextmanager
def built_in_the_request():
    """No page kept before a change is shown: every page is built from the figures."""
    from pam.dashboards import pages

    older_page = pages._older_page
    pages._older_page = lambda *_args: None
    try:
        yield
    finally:
        pages._older_page = older_page


def measure(scale: float, budget: int) -> dict[str, dict[str, float]]:
    app = build(scale, f"{scale:g}".replace(".", "_"), False, print)
    _seconds, kept = work_out_the_year(app)
    board = signed_in(app, BOARD)
    results = {}
    for name in FILTERED:
        path = DASHBOARDS[name]
        with a_return_changed(app, kept):
            as_it_was = _first_view(app, board, path, budget)
            shown_as_it_was = AS_AT in board.get(path).data.decode()
        with built_in_the_request(), a_return_changed(app, kept):
            built = _first_view(app, board, path, budget)
        results[name] = {"as it was (ms)": round(as_it_was * 1000, 1),
                         "built (ms)": round(built * 1000, 1),
                         "shown as it was": shown_as_it_was}  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--budget", type=int, default=600, help="seconds a view may take")
    args = parser.parse_args(argv)
    return print_ways(measure(args.scale, args.budget))


if __name__ == "__main__":
    main()
