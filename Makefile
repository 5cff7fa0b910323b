# Vigia: `make demo` and `make test` are all a newcomer needs; both install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS := local,flink,spark,infra,dev

.PHONY: demo test test-unit bench up down status install clean flink-connector glue-jars package-glue package-flink

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

demo: $(STAMP) glue-jars flink-connector
	$(VENV)/bin/vigia demo

test: $(STAMP) glue-jars flink-connector
	$(PY) -m pytest -q

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

bench: $(STAMP) glue-jars flink-connector
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

# Our Kinesis table source for Flink 2.2 (flink_app/connector/README.md): one shaded jar, rebuilt
# only when its sources change; its JUnit tests run in the build (about 3 s). Maven fetches what it
# needs on a clean machine.
CONNECTOR_DIR := flink_app/connector
CONNECTOR_JAR := build/flink-connector/vigia-kinesis-connector.jar

flink-connector: $(CONNECTOR_JAR)

$(CONNECTOR_JAR): $(CONNECTOR_DIR)/pom.xml $(shell find $(CONNECTOR_DIR)/src -type f 2>/dev/null)
	mvn -q -B -Dstyle.color=never -f $(CONNECTOR_DIR)/pom.xml package
	mkdir -p $(dir $@)
	cp $(CONNECTOR_DIR)/target/vigia-kinesis-connector.jar $@

# The Managed Service for Apache Flink application: build/flink/vigia-flink.zip (main.py, lib/ with the
# Kinesis connector jar, python-packages/) and build/flink/run-options.json (flink_app/README.md).
package-flink: $(STAMP) $(CONNECTOR_JAR)
	$(PY) -m flink_app.package

include infra/infra.mk
