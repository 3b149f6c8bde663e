"""Providers' quarterly returns: templates, uploads, validation, submission and review."""
