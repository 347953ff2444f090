# The two commands of the README: `make up` (the local stack on Docker, Pulumi's local file backend)
# and `make test` (lint + every test). Both create the virtualenv they need: `up` and the other
# deployment commands install only what the Pulumi program and its tools need (requirements-deploy.txt);
# `test` adds the workloads' and the tests' own (requirements.txt).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STATE_DIR ?= $(HOME)/.streamstack/pulumi-state
STACK ?= local
TAIL ?= 200
DEPLOY := $(VENV)/.deploy-installed

.PHONY: up down plan status logs test unit lint render bench pin-digests

$(DEPLOY): requirements-deploy.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-deploy.txt
	touch $@

$(VENV)/.installed: requirements.txt components/versions.py $(DEPLOY)
	$(BIN)/python -m pip install --quiet -r requirements.txt "$$($(BIN)/python -m components.versions pyspark)"
	touch $@

# What `pulumi up` would start, offline: services, replicas, images, memory, published URLs.
plan: $(DEPLOY)
	$(BIN)/python -m tools.plan --stack $(STACK)

# Shows the preview and asks before applying; `make up YES=1` applies without asking.
up: $(DEPLOY)
	$(BIN)/python -m tools.preflight --stack $(STACK) --for up
	mkdir -p $(STATE_DIR)
	pulumi login file://$(STATE_DIR)
	pulumi stack select --create $(STACK)
	pulumi up --stack $(STACK) $(if $(YES),--yes)

down: $(DEPLOY)
	$(BIN)/python -m tools.preflight --stack $(STACK) --for down
	pulumi login file://$(STATE_DIR)
	pulumi destroy --stack $(STACK) $(if $(YES),--yes)

# Each service's state, the one-shot tasks' exit codes and whether data flows; exit status 0 only if it does.
status: $(DEPLOY)
	$(BIN)/python -m tools.preflight --stack $(STACK) --for status
	$(BIN)/python -m tools.status --stack $(STACK)

logs: $(DEPLOY)
	$(BIN)/python -m tools.logs --stack $(STACK) --tail $(TAIL) $(SERVICE)

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

# Resolve every upstream image's tag to its digest (components/image-digests.json); needs the registries.
pin-digests: $(DEPLOY)
	$(BIN)/python -m tools.pin_digests

render: $(VENV)/.installed
	$(BIN)/python -m tools.render --stack $(STACK)
