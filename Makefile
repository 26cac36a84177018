# Manage risk panels: `make run` and `make test` are the whole set-up (README).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
ASSETS := static/assets

.PHONY: install run test lint bench demo-prod clean-db screenshots

install: $(VENV)/.installed $(ASSETS)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(ASSETS)/.installed: node_modules/.installed
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)/css $(ASSETS)/js
	cp -r node_modules/govuk-frontend/dist/govuk/assets/fonts node_modules/govuk-frontend/dist/govuk/assets/images $(ASSETS)/
	cp node_modules/govuk-frontend/dist/govuk/assets/manifest.json $(ASSETS)/
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css $(ASSETS)/css/
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js $(ASSETS)/js/
	cp node_modules/@ministryofjustice/frontend/moj/moj-frontend.min.css $(ASSETS)/css/
	cp node_modules/@ministryofjustice/frontend/moj/moj-frontend.min.js $(ASSETS)/js/
	cp -r node_modules/@ministryofjustice/frontend/moj/assets/images/. $(ASSETS)/images/ 2>/dev/null || true
	cp node_modules/htmx.org/dist/htmx.min.js $(ASSETS)/js/
	cp node_modules/axe-core/axe.min.js $(ASSETS)/js/
	touch $@

# Creates or migrates the database, loads the demo partnership into an empty one, serves.
run: install
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty
	START_SCHEDULER=1 $(FLASK) run --host 127.0.0.1 --port 5000

# A pytest-xdist worker per core (TEST_WORKERS=0: one process); each worker has its own
# PostgreSQL database (tests/conftest.py).
TEST_WORKERS ?= auto
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load $(PYTEST_ARGS)

# Every page each role reaches, at 1280 and 375 px, as PNGs in screenshots/ (for review; not committed).
screenshots: install
	SCREENSHOTS=$(CURDIR)/screenshots REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q tests/a11y/test_layout.py -k "not postgresql"

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m bench.run_all

# The production shape on one machine: PostgreSQL, gunicorn workers, a scheduler process.
demo-prod: install  ## PostgreSQL + gunicorn (4 workers) + scheduler, on http://127.0.0.1:8000
	bash bench/demo_prod.sh

clean-db:
	rm -f instance/tracker.sqlite instance/tracker.sqlite-wal instance/tracker.sqlite-shm
