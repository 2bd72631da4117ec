# The two commands that matter: `make run` (service with the Bazhong reference data) and
# `make test`. Both set up everything on a fresh Debian 12 machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export REDLINE_PGPORT ?= 55432
HOST ?= 127.0.0.1
PORT ?= 8000
LOCAL_DB := postgresql+psycopg://postgres@127.0.0.1:$(REDLINE_PGPORT)

.PHONY: run test fuzz bench venv db system web lint reference

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV) || { \
	  [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq python3-venv \
	  && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

venv: $(BIN)/.installed

# The map page's MapLibre GL comes from the npm registry (package-lock.json pins it).
WEB_STAMP := app/web/node_modules/.installed
$(WEB_STAMP): app/web/package.json app/web/package-lock.json
	cd app/web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web: $(WEB_STAMP)

db:
	scripts/db.sh redline redline_test

system:
	scripts/system_packages.sh

run: system venv web
	@[ -n "$$DATABASE_URL" ] || scripts/db.sh redline redline_test
	DATABASE_URL=$${DATABASE_URL:-$(LOCAL_DB)/redline} $(BIN)/redline setup
	@echo "Redline: open http://$(HOST):$(PORT)/ (map), /docs (API), /ogc (OGC API Features)"
	DATABASE_URL=$${DATABASE_URL:-$(LOCAL_DB)/redline} scripts/run.sh $(BIN) $(HOST) $(PORT)

test: system venv web
	@[ -n "$$TEST_DATABASE_URL" ] || env -u DATABASE_URL scripts/db.sh redline redline_test
	DATABASE_URL=$${TEST_DATABASE_URL:-$(LOCAL_DB)/redline_test} $(BIN)/python -m pytest -q

# A longer schemathesis run than the one in `make test` (not part of it): FUZZ_EXAMPLES random
# cases per operation on top of the boundary values.
FUZZ_EXAMPLES ?= 200
fuzz: system venv web
	@[ -n "$$TEST_DATABASE_URL" ] || env -u DATABASE_URL scripts/db.sh redline redline_test
	DATABASE_URL=$${TEST_DATABASE_URL:-$(LOCAL_DB)/redline_test} FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	  $(BIN)/python -m pytest -q tests/test_fuzz.py

# Every benchmark end to end (not part of `make test`; several minutes per data scale):
# bench/results.json and bench/results.md. BENCH_SCALES (default 1,10,100), BENCH_REPEAT,
# BENCH_QUICK=1 (a smoke run: scale 1, few repeats); see scripts/bench/run.py.
bench: system venv
	scripts/bench/system.sh
	@[ -n "$$DATABASE_URL" ] || scripts/db.sh
	$(BIN)/python scripts/bench/run.py

lint: venv
	$(BIN)/ruff check app tests scripts migrations

reference: venv
	$(BIN)/pip install -q -e '.[build]'
	$(BIN)/python scripts/build_reference_data.py
