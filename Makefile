# signal_rest: `make run` serves the API, `make test` runs every test. Both set everything up first.

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

ifeq ($(strip $(SIGNAL_CLI_BIN)),)
SIGNAL_CLI_BIN := $(abspath $(SIGNAL_CLI_DIR))/bin/signal-cli
PROVISION := yes
endif
export SIGNAL_CLI_BIN

.PHONY: run test lint install provision clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[provision,test]'
	touch $@

install: $(VENV)/.installed

provision: install
ifdef PROVISION
	$(BIN)/python -m signal_rest.provision --dest $(SIGNAL_CLI_DIR)
else
	@test -x "$(SIGNAL_CLI_BIN)" || { echo "SIGNAL_CLI_BIN=$(SIGNAL_CLI_BIN) is not an executable file." >&2; exit 1; }
endif

run: provision
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers $(WORKERS) --threads $(THREADS) --timeout 200 wsgi:app

test: provision
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: install
	$(BIN)/ruff check signal_rest tests wsgi.py setup.py

clean:
	rm -rf $(VENV) $(SIGNAL_CLI_DIR) build dist *.egg-info .pytest_cache .ruff_cache
