"""Accounts, sign-in and the permissions module (the one place that knows who may do what)."""
