"""What a server process keeps of what it has worked out or read for the board's views.

Every entry is kept under a key that names its inputs exactly (a digest, or a revision
stamp set by database triggers: pam.returns.revisions), so nothing here can go stale;
it only spares work. `forget_this_process()` empties it all, as a new process has it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import Any, TypeVar

T = TypeVar("T")

_EVERY: list[Remembered] = []


class Remembered:
    """A bounded map of what this process has worked out, the most recently used kept."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = Lock()  # a server's threads share it
        _EVERY.append(self)

    def get(self, key) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def forget_this_process() -> None:
    """Empty every cache, as a new server process has them (benchmarks, tests)."""
    for remembered in _EVERY:
        remembered.clear()


def under_revisions(cache: Remembered, stamps: tuple, key: tuple, work_out: Callable[[], T]) -> T:
    """work_out(), kept under `stamps` (revision stamps, pam.returns.revisions, read before
    anything work_out reads) and `key` (everything else it depends on: the year, the
    filters, today...). With a stamp unknown (None) it is worked out every time."""
    if None in stamps:
        return work_out()
    value = cache.get((*stamps, *key))
    if value is None:
        value = work_out()
        cache.put((*stamps, *key), value)
    return value
