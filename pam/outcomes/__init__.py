"""Outcomes: outcome frameworks, measures and providers' quarterly returns (issue 3)."""
