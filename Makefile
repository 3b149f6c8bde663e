# PAM: the two commands a newcomer needs are `make run` and `make test`.
# Each sets up what it needs on a fresh machine (Python 3.11+, Node/npm) and is
# idempotent: stamp files mean a second run only does what changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup db demo lint format clean bench

## run: set up, migrate, load demo data and serve the portal on http://$(HOST):$(PORT)
run: setup db demo
	@echo ""
	@echo "PAM is starting on http://$(HOST):$(PORT)"
	@$(FLASK) pam demo-logins
	PAM_ENV=development $(FLASK) run --host $(HOST) --port $(PORT)

## test: set up, lint (ruff, bandit), then run the whole suite (SQLite; PostgreSQL too when PAM_TEST_DATABASE_URL is set)
test: setup
	$(BIN)/ruff check pam tests app.py bench
	$(BIN)/bandit --quiet --recursive pam app.py
	$(BIN)/pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed pam/static/dist/.built

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

pam/static/dist/.built: node_modules/.installed assets/build.mjs $(wildcard assets/scss/*.scss assets/js/* assets/images/*)
	npm run --silent build
	@touch $@

## db: apply migrations to the configured database (PAM_DATABASE_URL; default SQLite in instance/)
db: setup
	PAM_ENV=development $(FLASK) db upgrade

## demo: load the demo data (idempotent)
demo: setup
	PAM_ENV=development $(FLASK) pam demo

lint: setup
	$(BIN)/ruff check pam tests app.py bench
	$(BIN)/ruff format --check pam tests app.py bench

format: setup
	$(BIN)/ruff format pam tests app.py bench
	$(BIN)/ruff check --fix pam tests app.py

clean:
	rm -rf $(VENV) node_modules pam/static/dist .pytest_cache

## bench: the national-scale benchmark (SCALE=1.0; `make bench SCALE=0.01` for a quick run),
## each figure at 1% and 100% of SCALE; results in bench/results.json (see bench/README.md)
SCALE ?= 1.0
bench: setup
	$(BIN)/python -m bench.run --scale $(SCALE)
