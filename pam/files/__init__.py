"""Uploaded files (evidence, documents, returns), kept in the database with their checksum."""
