"""URL converters."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# The largest id a database INTEGER column holds (PostgreSQL's int4).
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` that stops at MAX_ID: a longer number in an address is a 404 like any
    other missing record, not an overflow in the database driver (a 500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
