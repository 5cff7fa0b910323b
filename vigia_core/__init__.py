"""The shared core: what every component stands on and every AWS bundle ships whole.

- `config`: `pipeline.yaml` loaded into typed, validated objects;
- `contract`: the event envelope (JSON Schema), its validation and the checks derived from it;
- `clock`: the one "now" of the pipeline.

It imports nothing else of the project (tests/unit/test_import_floors.py checks it), so the Lambda,
Glue and Managed Flink bundles can copy this folder as it is.
"""
