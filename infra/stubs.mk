# STUB targets so that `make synth` works on the infra branch before the Flink and batch
# branches are merged. Their real `package-flink` / `package-glue` targets are defined later in
# the Makefile and override these (make warns "overriding recipe"); delete this file on merge.
# A STUB marker file makes `make deploy` refuse to ship placeholders.
.PHONY: package-flink package-glue

package-flink:
	@echo "WARNING: placeholder Flink zip (infra/stubs.mk); the real one comes from flink_app/"
	mkdir -p build/flink && cd build/flink && rm -f vigia-flink.zip && echo "placeholder" > STUB \
	  && $(abspath $(PY)) -c "import zipfile; zipfile.ZipFile('vigia-flink.zip', 'w').writestr('STUB', 'placeholder')" \
	  && echo '{"python": "main.py", "jarfile": "lib/vigia-flink-connectors.jar"}' > run-options.json

package-glue:
	@echo "WARNING: placeholder Glue script (infra/stubs.mk); the real one comes from glue/"
	mkdir -p build/glue && cd build/glue && echo "placeholder" > STUB \
	  && echo 'raise SystemExit("placeholder Glue script: build the real one with make package-glue")' > raw_to_gold.py \
	  && $(abspath $(PY)) -c "import zipfile; zipfile.ZipFile('vigia_glue_libs.zip', 'w').writestr('STUB', 'placeholder')"
