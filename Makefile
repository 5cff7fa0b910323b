# Vigia: `make demo` and `make test` are all a newcomer needs; both install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS := local,flink,spark,infra,dev

.PHONY: demo test test-unit bench up down status install clean package-producer synth deploy destroy

install: $(STAMP)

# Re-install when the dependency list changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

up: $(STAMP)
	$(VENV)/bin/vigia up

down:
	@if test -x $(VENV)/bin/vigia; then $(VENV)/bin/vigia down; fi

status: $(STAMP)
	$(VENV)/bin/vigia status

demo: $(STAMP)
	$(VENV)/bin/vigia demo

test: $(STAMP)
	$(PY) -m pytest -q

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

bench: $(STAMP)
	$(PY) -m bench

clean: down
	rm -rf .local build/cdk.out

# --- AWS deployment (infra/): synth is offline; deploy/destroy need AWS credentials.
include infra/stubs.mk
CDK := infra/node_modules/.bin/cdk
CDK_OUT := build/cdk.out
# The machine has Node 20 (end-of-life for jsii since 2026-10-30; it still works): no banner per run.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

package-producer: $(STAMP)
	$(PY) -m infra.package_producer

synth: $(STAMP) package-producer package-flink package-glue
	$(PY) -m infra.app $(CDK_OUT)

$(CDK): infra/package.json infra/package-lock.json
	npm ci --prefix infra --no-audit --no-fund --silent

deploy: synth $(CDK)
	$(PY) -m infra.artifacts
	$(CDK) bootstrap --app $(CDK_OUT)
	$(CDK) deploy --app $(CDK_OUT) --all --require-approval never

destroy: $(CDK)
	test -d $(CDK_OUT) || $(MAKE) synth
	$(CDK) destroy --app $(CDK_OUT) --all --force
