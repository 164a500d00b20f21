# Two commands set everything up on a fresh Debian machine (as root):
#   make run    install what is missing, migrate, seed demo data, serve on http://127.0.0.1:5000
#   make test   install what is missing (plus Chromium, PostgreSQL), run ruff and every test
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app spastic
STAMPS := .make
HOST ?= 127.0.0.1
PORT ?= 5000
# Test processes: the suite's tests are independent (each has its own SQLite file, and each
# process its own PostgreSQL server, browser and ports). Four on a 2-core machine: tests often
# wait on browsers, servers and subprocesses, and with fewer the cores idle meanwhile (3 Dec
# 2026: 10 min 54 s wall for 15.2 min of user CPU with four; see the README).
TEST_WORKERS ?= 4

# WeasyPrint needs Pango and HarfBuzz's subsetter; the rest is for tests and benchmarks.
RUN_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
TEST_DEBS := $(RUN_DEBS) chromium postgresql poppler-utils sqlite3 redis-server
# ApacheBench drives the worker-scaling benchmark (a C load generator, not the bottleneck).
BENCH_DEBS := apache2-utils

.PHONY: help run test fuzz bench setup-run setup-test lint format clean

help:
	@echo "make run    set up and serve the app on http://$(HOST):$(PORT) with demo data"
	@echo "make test   set up and run ruff and the whole test suite (SQLite and PostgreSQL)"
	@echo "make fuzz   longer hypothesis runs of hostile input, and the full 8 x 50 concurrent saves"
	@echo "make bench  benchmarks; writes bench/results.json"

run: setup-run
	SPASTIC_ENV_NAME=$${SPASTIC_ENV_NAME:-development} $(FLASK) db upgrade
	SPASTIC_ENV_NAME=$${SPASTIC_ENV_NAME:-development} $(FLASK) seed-demo
	SPASTIC_ENV_NAME=$${SPASTIC_ENV_NAME:-development} $(FLASK) run --host $(HOST) --port $(PORT)

test: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

fuzz: setup-test
	SPASTIC_FUZZ_EXAMPLES=$${SPASTIC_FUZZ_EXAMPLES:-2000} SPASTIC_FUZZ_DATABASES=$${SPASTIC_FUZZ_DATABASES:-sqlite,postgresql} $(PY) -m pytest -m fuzz $(PYTEST_ARGS)
	SPASTIC_LOAD_VISITS_EACH=$${SPASTIC_LOAD_VISITS_EACH:-50} $(PY) -m pytest tests/test_concurrency.py $(PYTEST_ARGS)

bench: setup-test $(STAMPS)/debs-bench
	$(PY) bench/run.py $(BENCH_ARGS)

setup-run: $(STAMPS)/debs-run $(STAMPS)/venv-run
setup-test: $(STAMPS)/debs-test $(STAMPS)/venv-test tests/a11y/node_modules/axe-core/axe.min.js

lint: setup-test
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup-test
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

# Installs only the Debian packages that are missing (apt-get update only when needed).
$(STAMPS)/debs-%: Makefile
	@pkgs="$(if $(filter test,$*),$(TEST_DEBS),$(if $(filter bench,$*),$(BENCH_DEBS),$(RUN_DEBS)))"; missing=""; \
	for p in $$pkgs; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p $(STAMPS) && touch $@

$(VENV)/bin/python:
	@python3 -m venv --help >/dev/null 2>&1 || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(STAMPS)/venv-run: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e .
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv-test: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[test]'
	@mkdir -p $(STAMPS) && touch $@ $(STAMPS)/venv-run

tests/a11y/node_modules/axe-core/axe.min.js: tests/a11y/package.json tests/a11y/package-lock.json
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm)
	cd tests/a11y && npm ci --no-audit --no-fund --silent
	@touch $@

clean:
	rm -rf $(STAMPS) $(VENV) tests/a11y/node_modules
