# Vigia: `make demo` and `make test` are all a newcomer needs; both install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS := local,flink,spark,infra,dev

.PHONY: demo test test-unit bench up down status install clean flink-connector glue-jars glue-udf package-glue package-flink

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

# Vigia's JVM code is one Maven reactor (jvm/pom.xml): the record checks (jvm/checks), shaded into
# the Glue job's jar (glue/udf) and the Flink job's jar (flink_app/connector). Each jar is rebuilt
# only when its sources or the checks' change; JUnit runs in the build.
JVM := mvn -q -B -Dstyle.color=never -f jvm/pom.xml
CHECKS_SRC := jvm/pom.xml jvm/checks/pom.xml $(shell find jvm/checks/src -type f 2>/dev/null)

# Jars for local Spark: s3a -> S3 (Glue in AWS brings its own) and the job's record checks.
JARS := build/jars/hadoop-aws-3.3.4.jar build/jars/aws-java-sdk-bundle-1.12.262.jar
GLUE_UDF_JAR := build/jars/vigia-glue-checks.jar
glue-jars: $(JARS) $(GLUE_UDF_JAR)
$(JARS) &: glue/pom.xml
	mvn -q -B -f glue/pom.xml package -Djars.dir=$(CURDIR)/build/jars
	touch $(JARS)

# The Glue job's JVM code: the record checks as a Spark UDF (glue/README.md), --extra-jars in AWS.
glue-udf: $(GLUE_UDF_JAR)
$(GLUE_UDF_JAR): $(CHECKS_SRC) glue/udf/pom.xml $(shell find glue/udf/src -type f 2>/dev/null)
	$(JVM) -pl :vigia-glue-checks -am package
	mkdir -p $(dir $@)
	cp glue/udf/target/vigia-glue-checks.jar $@

# The Glue job's script, --extra-py-files zip and --extra-jars jar, which the CDK app uploads.
package-glue: $(STAMP) $(GLUE_UDF_JAR)
	$(PY) -m glue.package

# Our Kinesis table source for Flink 2.2 (flink_app/connector/README.md): one shaded jar, rebuilt
# only when its sources change; its JUnit tests run in the build (about 3 s). Maven fetches what it
# needs on a clean machine.
CONNECTOR_DIR := flink_app/connector
CONNECTOR_JAR := build/flink-connector/vigia-kinesis-connector.jar

flink-connector: $(CONNECTOR_JAR)

$(CONNECTOR_JAR): $(CHECKS_SRC) $(CONNECTOR_DIR)/pom.xml $(shell find $(CONNECTOR_DIR)/src -type f 2>/dev/null)
	$(JVM) -pl :vigia-kinesis-connector -am package
	mkdir -p $(dir $@)
	cp $(CONNECTOR_DIR)/target/vigia-kinesis-connector.jar $@

# The Managed Service for Apache Flink application: build/flink/vigia-flink.zip (main.py, lib/ with the
# Kinesis connector jar, python-packages/) and build/flink/run-options.json (flink_app/README.md).
package-flink: $(STAMP) $(CONNECTOR_JAR)
	$(PY) -m flink_app.package

include infra/infra.mk
