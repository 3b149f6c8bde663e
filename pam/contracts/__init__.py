"""Contracts: the register, variations and extensions, compliance items, documents (issue 3)."""
