# AWS deployment (infra/README.md): synth is offline; deploy/destroy need AWS credentials.
# Included by the top-level Makefile, which defines PY and STAMP.
.PHONY: package-producer synth deploy destroy
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
