# Read by the `flask` command (python-dotenv) when run from a checkout, so that
# `flask --app app pam demo` works for a developer. Servers (gunicorn) do not read
# this file and therefore start in production mode: see README "Configuration".
FLASK_APP=app
PAM_ENV=development
