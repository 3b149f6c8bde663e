"""A board page's first view just after a return changed, before the year's work-out has
run, the ways PAM can answer it, side by side.

    python -m bench.changed --scale 0.2

The year's patterns and pages are worked out first, as `flask pam work-out-patterns`
leaves them. Then one figure of the year's restorative processes changes (bench.run.
a_return_changed), and each filtered dashboard is viewed by a board member in a new
server process, as a deployment whose families are past PAM_WORK_OUT_IN_REQUEST_CELLS
(a national one) answers it:
* "as it was": the page kept before the change is shown, with the time it was built,
  where building it would work a pattern out (pam.dashboards.pages);
* "never built, withheld": the same page for the provider with the most contracts, which
  nobody viewed before the change (the work-out builds the unfiltered, area and service
  pages only): built from the patterns kept, the changed families' figures withheld;
and as a deployment that works every pattern out in the request (the way before):
* "built" and "never built, built": the same two views, the changed families' patterns
  worked out in the request.
Then the figure is put back. Times in milliseconds; each view is abandoned past the
budget (infinite). docs/performance.md ("eleventh" and "twelfth sitting") records runs.
"""

from __future__ import annotations

import argparse
import math
from contextlib import contextmanager

from bench.run import (
    DASHBOARDS,
    FILTERED,
    _first_view,
    a_return_changed,
    build,
    busiest_provider,
    print_ways,
    signed_in,
    work_out_the_year,
)
from bench.users import BOARD

AS_AT = "These figures are as at"
WITHHELD = "Some figures are not shown until they have been checked"


@contextmanager
def working_out_up_to(app, cells: float):
    """PAM_WORK_OUT_IN_REQUEST_CELLS as given: 0 as a national deployment (its families
    are past the default), infinite as PAM was before it had the setting."""
    before = app.config["PAM_WORK_OUT_IN_REQUEST_CELLS"]
    app.config["PAM_WORK_OUT_IN_REQUEST_CELLS"] = cells
    try:
        yield
    finally:
        app.config["PAM_WORK_OUT_IN_REQUEST_CELLS"] = before


def measure(scale: float, budget: int) -> dict[str, dict[str, float]]:
    app = build(scale, f"{scale:g}".replace(".", "_"), False, print)
    _seconds, kept = work_out_the_year(app)
    board = signed_in(app, BOARD)
    with app.app_context():
        provider = busiest_provider()
    results = {}
    for name in FILTERED:
        path = DASHBOARDS[name]
        never_built = f"{path}&provider={provider}"
        # Each view after a change of its own: one that works a pattern out keeps it,
        # and the next would find it by its digest.
        with working_out_up_to(app, 0), a_return_changed(app, kept):
            as_it_was = _first_view(app, board, path, budget)
            shown_as_it_was = AS_AT in board.get(path).data.decode()
        with working_out_up_to(app, 0), a_return_changed(app, kept):
            withheld = _first_view(app, board, never_built, budget)
            shown_withheld = WITHHELD in board.get(never_built).data.decode()
        with working_out_up_to(app, math.inf), a_return_changed(app, kept):
            built = _first_view(app, board, path, budget)
        with working_out_up_to(app, math.inf), a_return_changed(app, kept):
            never_built_built = _first_view(app, board, never_built, budget)
        results[name] = {"as it was (ms)": round(as_it_was * 1000, 1),
                         "built (ms)": round(built * 1000, 1),
                         "never built, withheld (ms)": round(withheld * 1000, 1),
                         "never built, built (ms)": round(never_built_built * 1000, 1),
                         "shown as it was": shown_as_it_was,
                         "shown withheld": shown_withheld}  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--budget", type=int, default=600, help="seconds a view may take")
    args = parser.parse_args(argv)
    return print_ways(measure(args.scale, args.budget))


if __name__ == "__main__":
    main()
