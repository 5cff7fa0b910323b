# Vigia: `make demo` and `make test` are all a newcomer needs; both install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS := local,flink,spark,infra,dev

.PHONY: demo test test-unit bench up down status install clean glue-jars package-glue

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

demo: $(STAMP) glue-jars
	$(VENV)/bin/vigia demo

test: $(STAMP) glue-jars
	$(PY) -m pytest -q

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

bench: $(STAMP) glue-jars
	$(PY) -m bench

clean: down
	rm -rf .local

# Jars for local Spark -> S3 (s3a); Glue in AWS brings its own.
JARS := build/jars/hadoop-aws-3.3.4.jar build/jars/aws-java-sdk-bundle-1.12.262.jar
glue-jars: $(JARS)
$(JARS) &: glue/pom.xml
	mvn -q -B -f glue/pom.xml package -Djars.dir=$(CURDIR)/build/jars
	touch $(JARS)

# The Glue job's script and --extra-py-files zip, which the CDK app uploads.
package-glue: $(STAMP)
	$(PY) -m glue.package
