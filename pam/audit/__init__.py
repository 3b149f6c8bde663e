"""The audit trail: append-only, hash-chained events for every change, login and export."""
