"""Organisations (the OPCC and its providers), their contacts, and the reference data
of local authority areas and service categories."""
