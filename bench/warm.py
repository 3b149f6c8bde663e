"""Warm board views three ways, side by side in one process.

    python -m bench.warm --scale 0.05

Each dashboard is viewed warm:
* "page kept": as PAM serves it, the page's charts kept under the revision stamps of
  everything they read (pam.returns.revisions.page_stamps);
* "page built": the page stamps hidden, so the charts are built again on every view from
  SQL aggregates, with the suppression patterns still kept under the facts revision (the
  warm path of the fifth sitting);
* "cells read": the facts revision hidden too, so each view reads every cell of each
  family to know nothing changed (the warm path before it);
then kept again. Medians of `--repeat` views, in milliseconds. docs/performance.md
("fifth sitting", "sixth sitting") records runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import ExitStack, contextmanager

from bench.run import BOARD, DASHBOARDS, build, print_ways, signed_in


@contextmanager
def hidden(name: str, unknown: tuple):
    """revisions.<name> answers `unknown` (no stamp known): nothing is kept under it."""
    from pam.returns import revisions

    real = getattr(revisions, name)
    setattr(revisions, name, lambda *_args: unknown)
    try:
        yield
    finally:
        setattr(revisions, name, real)


def pages_not_kept(stack: ExitStack) -> None:
    stack.enter_context(hidden("page_stamps", (None, None, None)))
    stack.enter_context(hidden("board_inputs_revision", None))


def cells_read(stack: ExitStack) -> None:
    pages_not_kept(stack)
    stack.enter_context(hidden("pattern_stamps", (None, None)))


WAYS = {"page kept (ms)": None, "page built (ms)": pages_not_kept,
        "cells read (ms)": cells_read, "page kept again (ms)": None}  # fmt: skip


def view(client, path: str) -> None:
    status = client.get(path).status_code
    if status != 200:
        raise RuntimeError(f"{path} answered {status}")


def median_view(client, path: str, repeat: int) -> float:
    """The median time of `repeat` views (ms), after one to warm it."""
    view(client, path)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        view(client, path)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(scale: float, repeat: int) -> dict[str, dict[str, float]]:
    from pam.dashboards import memo

    app = build(scale, f"{scale:g}".replace(".", "_"), False, print)
    client = signed_in(app, BOARD)
    results: dict[str, dict[str, float]] = {}
    for name, path in DASHBOARDS.items():
        results[name] = {}
        for way, hide in WAYS.items():
            with ExitStack() as stack:
                if hide:
                    hide(stack)
                memo.forget_this_process()
                results[name][way] = round(median_view(client, path, repeat), 1)
    return results


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    return print_ways(measure(args.scale, args.repeat))


if __name__ == "__main__":
    main()
