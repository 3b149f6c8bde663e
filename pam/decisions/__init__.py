"""Funding decisions, budget lines and closed financial years."""
