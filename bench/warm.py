"""Warm board views with and without the facts revision, side by side in one process.

    python -m bench.warm --scale 0.05

Each dashboard is viewed warm (its patterns worked out and kept) with the year's facts
revision (pam.returns.revisions), then with the revision hidden from the dashboards, so
they read every cell of each family to know nothing changed, as before the revision
existed; then with it again. Medians of `--repeat` views, in milliseconds. docs/
performance.md ("fifth sitting") records a run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager

from bench.run import BOARD, DASHBOARDS, build, signed_in


@contextmanager
def revision_hidden():
    """The dashboards see no revision: each view reads the cells (the old warm path)."""
    from pam.returns import revisions

    real = revisions.pattern_stamps
    revisions.pattern_stamps = lambda _year: (None, None)
    try:
        yield
    finally:
        revisions.pattern_stamps = real


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
    results = {}
    for name, path in DASHBOARDS.items():
        memo.forget_this_process()
        with_revision = median_view(client, path, repeat)
        with revision_hidden():
            memo.forget_this_process()
            cells_read = median_view(client, path, repeat)
        again = median_view(client, path, repeat)
        results[name] = {"with revision (ms)": round(with_revision, 1),
                         "cells read (ms)": round(cells_read, 1),
                         "with revision again (ms)": round(again, 1)}  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    results = measure(args.scale, args.repeat)
    for name, figures in results.items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return results


if __name__ == "__main__":
    main()
