# signal_rest: `make run` serves the API, `make test` runs every test, `make check` all but the slow tiers.
# Each sets everything up first.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 2
THREADS ?= 8
# the provisioned signal-cli lives here unless SIGNAL_CLI_BIN names an existing one
SIGNAL_CLI_DIR ?= .signal-cli
# pytest-xdist workers (the contract tests start a JVM per case)
TEST_WORKERS ?= 4

# the signal-cli release to provision (empty: 0.14.6; README, "Provisioning signal-cli") and an
# optional pin of its asset's SHA-256, from make's command line or the environment
SIGNAL_CLI_VERSION ?=
SIGNAL_CLI_SHA256 ?=
PROVISION_OPTIONS = $(if $(strip $(SIGNAL_CLI_VERSION)),--signal-cli-version $(strip $(SIGNAL_CLI_VERSION))) \
	$(if $(strip $(SIGNAL_CLI_SHA256)),--signal-cli-sha256 $(strip $(SIGNAL_CLI_SHA256)))

ifeq ($(strip $(SIGNAL_CLI_BIN)),)
SIGNAL_CLI_BIN := $(abspath $(SIGNAL_CLI_DIR))/bin/signal-cli
PROVISION := yes
endif
export SIGNAL_CLI_BIN

.PHONY: run test check lint install provision clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[provision,test]'
	touch $@

# Home Assistant pins pysignalclirestapi 0.3.24; the test extra has 0.3.25. One environment cannot hold
# both under the same name, so 0.3.24 gets a folder of its own (tests/test_clients.py loads each from its place).
CLIENTS_DIR := $(VENV)/clients
$(CLIENTS_DIR)/.installed: | $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(CLIENTS_DIR)/pysignalclirestapi-0.3.24 pysignalclirestapi==0.3.24
	touch $@

install: $(VENV)/.installed $(CLIENTS_DIR)/.installed

provision: install
ifdef PROVISION
	$(BIN)/python -m signal_rest.provision --dest $(SIGNAL_CLI_DIR) $(strip $(PROVISION_OPTIONS))
else
	@test -x "$(SIGNAL_CLI_BIN)" || { echo "SIGNAL_CLI_BIN=$(SIGNAL_CLI_BIN) is not an executable file." >&2; exit 1; }
endif

GUNICORN = env SIGNAL_REST_BIND=$(HOST):$(PORT) SIGNAL_REST_WORKERS=$(WORKERS) SIGNAL_REST_THREADS=$(THREADS) \
	$(BIN)/gunicorn -c python:signal_rest.gunicorn_conf wsgi:app

# In json-rpc mode (SIGNAL_REST_MODE=json-rpc) `signal-rest daemon` runs signal-cli's daemon beside gunicorn;
# with SIGNAL_REST_RECEIVER on (normal mode), the receiver does. Ctrl-C (or either one ending) stops both.
run: provision
	@companion=; \
	case "$${SIGNAL_REST_MODE:-}" in json-rpc|JSON-RPC) companion=daemon ;; esac; \
	case "$${SIGNAL_REST_RECEIVER:-}" in 1|[Tt]rue|TRUE|[Yy]es|YES|[Oo]n|ON) companion=$${companion:-receiver} ;; esac; \
	if [ -n "$$companion" ]; then \
	    trap 'kill -TERM $$helper $$server 2>/dev/null; wait' INT TERM; \
	    $(BIN)/signal-rest $$companion & helper=$$!; \
	    $(GUNICORN) & server=$$!; \
	    wait -n; kill -TERM $$helper $$server 2>/dev/null; wait; \
	else exec $(GUNICORN); fi

# pytest rewrites the assertions of every module of its plugins' packages (hypothesis, schemathesis, ...)
# and of the tests, and keeps the result as bytecode; where PYTHONDONTWRITEBYTECODE is set it would redo
# that in every worker of every run (about 5 s each). An empty value lets Python write bytecode.
# The tests write many small files (pytest's tmp_path, the fake signal-cli's state and locks, spool files, SQLite
# inboxes): they go to memory where /dev/shm is a writable directory (about 5 s less for `make check`), to
# $TMPDIR or /tmp otherwise. TEST_TMPDIR= (empty) keeps $TMPDIR.
TEST_TMPDIR ?= $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm)
PYTEST = PYTHONDONTWRITEBYTECODE= $(if $(strip $(TEST_TMPDIR)),TMPDIR=$(strip $(TEST_TMPDIR))) $(BIN)/python -m pytest

# The console's browser tests (tests/test_console_browser.py) drive Debian's Chromium through its ChromeDriver:
# installed here when missing (apt-get, as root or through sudo). If that fails, the browser tests fail and say
# what to install; they are never skipped.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
.PHONY: browser
browser:
	@if [ ! -x "$(CHROMIUM)" ] || [ ! -x "$(CHROMEDRIVER)" ]; then \
	    as_root=; [ "$$(id -u)" = 0 ] || as_root="sudo -n"; \
	    echo "Installing Debian's chromium and chromium-driver for the console's browser tests"; \
	    { $$as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$as_root apt-get install -y -qq --no-install-recommends chromium chromium-driver; } \
	    || echo "Could not install chromium and chromium-driver (apt-get install chromium chromium-driver): the browser tests will fail." >&2; \
	fi

# loadgroup: the tests of one xdist_group run in one worker (the daemon contract tests share one daemon)
test: provision browser
	$(PYTEST) -n $(TEST_WORKERS) --dist loadgroup

# The fast loop: every test but the slow tiers (markers in setup.cfg): the real signal-cli (contract),
# schemathesis, what starts gunicorn, `make run` or the load test, and the browser. Needs no provisioned signal-cli.
# Four workers on two cores: many of these tests wait (time limits, lock timeouts, child processes), so
# more workers than cores keep both busy. worksteal: a worker that runs out of tests takes some of another's
# queue, so the slow tests (time limits, lock timeouts) that sort together do not all end up in one worker.
# The API suite runs against a fake signal-cli of each release in tests/conftest.py (FAKE_RELEASES);
# `make test` runs both, the fast loop only the newest (CHECK_FAKE_SIGNAL_CLI=0.13.19 for the oldest), and
# only in normal mode (`make test` also runs it in json-rpc mode, against the fake's daemon).
CHECK_WORKERS ?= 4
CHECK_TIERS := not contract and not schemathesis and not server and not browser
CHECK_FAKE_SIGNAL_CLI ?= 0.14.6
# The schemathesis tier is one module, and only it needs schemathesis, hypothesis and anyio (which their pytest
# plugins import): the fast loop does not import it or load them (about 1.4 s of CPU less in each worker).
CHECK_UNLOADED := --ignore=tests/test_schemathesis.py -p no:schemathesis -p no:hypothesispytest -p no:anyio
check: install
	$(PYTEST) -n $(CHECK_WORKERS) --dist worksteal -m "$(CHECK_TIERS)" $(CHECK_UNLOADED) --fake-signal-cli=$(CHECK_FAKE_SIGNAL_CLI) --service-mode=normal

# Benchmarks (tests/bench.py): prints one table, exits non-zero if a target fails; takes several minutes.
.PHONY: bench
bench: provision
	$(BIN)/python tests/bench.py

# Load test (tests/loadtest.py): gunicorn with the package's settings against the fake signal-cli, hundreds of
# concurrent requests, then checks on what signal-cli saw; exits non-zero if a check fails (about two minutes).
.PHONY: load
load: install
	$(BIN)/python tests/loadtest.py

lint: install
	$(BIN)/ruff check signal_rest tests wsgi.py setup.py
	$(BIN)/ruff format --check signal_rest tests wsgi.py setup.py

clean:
	rm -rf $(VENV) $(SIGNAL_CLI_DIR) build dist *.egg-info .pytest_cache .ruff_cache
