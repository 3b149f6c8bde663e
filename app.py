"""The entry point: `flask --app app ...`, or a WSGI server pointed at app:app."""

from pam import create_app

app = create_app()
