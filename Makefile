# The two commands of the README: `make up` (the local stack on Docker, Pulumi's local file backend)
# and `make test` (lint + every test). Both create the virtualenv they need.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STATE_DIR ?= $(HOME)/.streamstack/pulumi-state
STACK ?= local

.PHONY: up down test unit lint render bench

$(VENV)/.installed: requirements.txt components/versions.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt "$$($(BIN)/python -m components.versions pyspark)"
	touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

unit: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit

# Benchmarks on real local servers, ratios against baselines of the same run (not tests; CI does not run them).
# `make bench STAGES=transform,producer RUNS=5` runs a subset; results land in bench/.
bench: $(VENV)/.installed
	$(BIN)/python -m bench $(if $(STAGES),--stages $(STAGES)) $(if $(RUNS),--runs $(RUNS))

render: $(VENV)/.installed
	$(BIN)/python -m tools.render --stack $(STACK)

up: $(VENV)/.installed
	@test -n "$${PULUMI_CONFIG_PASSPHRASE+set}" || { echo "set PULUMI_CONFIG_PASSPHRASE (it encrypts this stack's secrets)"; exit 1; }
	mkdir -p $(STATE_DIR)
	pulumi login file://$(STATE_DIR)
	pulumi stack select --create $(STACK)
	pulumi up --yes --stack $(STACK)

down:
	pulumi destroy --yes --stack $(STACK)
