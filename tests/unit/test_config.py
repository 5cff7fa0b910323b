"""The pipeline definition: the repo's file loads; bad definitions name the key and the reason."""

import copy

import pytest
import yaml

from vigia_core import config


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(config.DEFAULT_PATH.read_text())


def broken(raw: dict, path: str, value) -> dict:
    data = copy.deepcopy(raw)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def error_of(data: dict) -> str:
    with pytest.raises(config.ConfigError) as err:
        config.parse(data)
    return str(err.value)


def test_repo_definition_loads():
    p = config.load()
    assert p.stream.shard_count >= 1
    assert p.producer.source("simulator").type == "simulator"
    assert {r.name for r in p.rules} and all(r.metric in p.metrics for r in p.rules)


@pytest.mark.parametrize("path,value,expected", [
    ("stream.shard_count", 0, "stream.shard_count: Input should be greater than or equal to 1 (got 0)"),
    ("stream.shard_count", "two", "stream.shard_count: Input should be a valid integer"),
    ("stream.colour", "blue", "stream.colour: unknown key"),
    ("buckets.raw", "Not_A_Bucket", "buckets.raw: String should match pattern"),
    ("producer.kinesis.max_batch_records", 501, "producer.kinesis.max_batch_records: Input should be less than or equal to 500"),
    ("flink.out_of_orderness_s", -1, "flink.out_of_orderness_s: Input should be greater than or equal to 0"),
    ("rules.0.aggregate", "median", "rules.0.aggregate: Input should be 'count', 'sum', 'avg', 'min' or 'max'"),
    ("rules.0.window", {"type": "hop", "size_s": 60}, "rules.0.window: Value error, a hop window needs slide_s"),
    ("rules.0.window", {"type": "hop", "size_s": 60, "slide_s": 25}, "size_s (60) must be a multiple of slide_s (25)"),
    ("alerts.subscriptions.0", {"protocol": "sms", "endpoint": "555-0100"}, "is not an E.164 phone number"),
    ("firehose.buffering.size_mib", 0, "firehose.buffering.size_mib: Input should be greater than or equal to 1"),
    ("firehose.error_output_prefix", "errors/", "must contain !{firehose:error-output-type}"),
])
def test_bad_values_name_key_and_reason(raw, path, value, expected):
    assert expected in error_of(broken(raw, path, value))


def test_on_demand_stream_must_not_set_shards(raw):
    data = broken(raw, "stream.mode", "on_demand")
    assert "shard_count must not be set when mode is 'on_demand'" in error_of(data)
    del data["stream"]["shard_count"]
    assert config.parse(data).stream.mode == "on_demand"


def test_duplicate_and_cross_references(raw):
    data = broken(raw, "rules.1.name", raw["rules"][0]["name"])
    assert f"duplicate rule name '{raw['rules'][0]['name']}'" in error_of(data)
    data = broken(raw, "rules.0.metric", "radiation")
    assert "metric 'radiation' is not declared under 'metrics'" in error_of(data)


def test_missing_section_and_file(raw, tmp_path):
    data = copy.deepcopy(raw)
    del data["stream"]
    assert "stream: Field required" in error_of(data)
    with pytest.raises(config.ConfigError, match="not found"):
        config.load(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("stream: [unclosed")
    with pytest.raises(config.ConfigError, match="not valid YAML"):
        config.load(tmp_path / "bad.yaml")
