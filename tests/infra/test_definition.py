"""The `deploy:` section of pipeline.yaml and the helpers that turn the definition into names,
prefixes and packaging inputs (no synth needed)."""

from __future__ import annotations

import pytest

from vigia_core import config


def _with(**deploy) -> dict:
    data = config.load().model_dump(mode="json")
    data["deploy"].update(deploy)
    return data


def test_unknown_deploy_key_is_rejected_with_its_path():
    data = _with(flink={"kpu": 4})
    with pytest.raises(config.ConfigError, match=r"deploy\.flink\.kpu: unknown key"):
        config.parse(data)


def test_a_deployed_source_must_be_defined():
    data = _with(producer={"sources": ["nosuch"]})
    with pytest.raises(config.ConfigError, match="source 'nosuch' is not defined under producer.sources"):
        config.parse(data)


@pytest.mark.parametrize("update, delete", [("UPDATE_IN_DATABASE", "LOG"), ("LOG", "DEPRECATE_IN_DATABASE")])
def test_incremental_crawls_only_log_schema_changes(update, delete):
    """CreateCrawler rejects RecrawlBehavior CRAWL_NEW_FOLDERS_ONLY unless UpdateBehavior and
    DeleteBehavior are both LOG (InvalidInputException): AWS Glue developer guide, "Scheduling
    incremental crawls for adding new partitions", https://docs.aws.amazon.com/glue/latest/dg/incremental-crawls.html"""
    data = config.load().model_dump(mode="json")
    raw = next(c for c in data["glue"]["crawlers"] if c["recrawl"] == "CRAWL_NEW_FOLDERS_ONLY")
    raw["schema_change"] = {"update": update, "delete": delete}
    with pytest.raises(config.ConfigError, match="CRAWL_NEW_FOLDERS_ONLY requires schema_change.update: LOG"):
        config.parse(data)
    raw["recrawl"] = "CRAWL_EVERYTHING"
    config.parse(data)


def test_flink_parallelism_is_capped_at_the_shard_count():
    """Each Kinesis shard is read by one source subtask; subtasks beyond the shard count idle and
    still take a KPU. Autoscaling raises the parallelism "up to ParallelismPerKPU times the maximum
    KPUs for the application" with no maximum of its own (Managed Service for Apache Flink API,
    ParallelismConfiguration, https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_ParallelismConfiguration.html),
    so it is refused with a provisioned stream."""
    data = config.load().model_dump(mode="json")
    data["flink"]["parallelism"] = data["stream"]["shard_count"] + 1
    with pytest.raises(config.ConfigError, match=r"flink.parallelism \(3\) must not exceed stream.shard_count \(2\)"):
        config.parse(data)
    data["flink"]["parallelism"] = 1
    data["deploy"]["flink"]["autoscaling"] = True
    with pytest.raises(config.ConfigError, match="autoscaling must be false with a provisioned stream"):
        config.parse(data)
    data["stream"] = {**data["stream"], "mode": "on_demand", "shard_count": None}
    assert config.parse(data).deploy.flink.autoscaling is True


def test_the_default_sizes_are_the_smallest():
    """One Flink subtask reads both shards (the connector keeps per-shard watermarks): one KPU
    fewer; one producer run at a time."""
    p = config.load()
    assert p.flink.parallelism == 1 and p.deploy.flink.parallelism_per_kpu == 1
    assert p.deploy.flink.autoscaling is False
    assert p.deploy.producer.reserved_concurrency == 1


def test_glue_modules_are_pinned_with_everything_they_need():
    """`--additional-python-modules` is pip-installed at every job start (AWS Glue developer guide,
    "Using Python libraries with AWS Glue", https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html):
    each module and its requirements pinned to the version the tests ran with."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from infra.components.glue import GLUE_REQUIREMENTS, python_modules

    pins = dict(m.split("==") for m in python_modules())
    assert all("," not in m and ">" not in m and "<" not in m for m in python_modules())
    assert {r.lower() for r in GLUE_REQUIREMENTS} <= {n.lower() for n in pins}
    pinned = {canonicalize_name(n) for n in pins}
    for name, version in pins.items():
        assert metadata.version(name) == version
        for req in map(Requirement, metadata.requires(name) or []):
            if not (req.marker and "extra" in str(req.marker)):
                assert canonicalize_name(req.name) in pinned, (name, str(req))


def test_producer_timeout_must_fit_in_the_schedule_period():
    data = _with(producer={"timeout_s": 61})
    with pytest.raises(config.ConfigError, match=r"timeout_s \(61\) must not exceed .*rate\(1 minute\).* \(60 s\)"):
        config.parse(data)
    data["producer"]["schedule"] = "rate(5 minutes)"
    assert config.parse(data).deploy.producer.timeout_s == 61


def test_deployed_code_sees_suffixed_bucket_names(monkeypatch):
    plain = config.load().buckets
    monkeypatch.setenv(config.BUCKET_SUFFIX_ENV, "-123456789012-eu-west-1")
    deployed = config.load().buckets
    assert deployed.raw == plain.raw + "-123456789012-eu-west-1"
    assert deployed.athena_results == plain.athena_results + "-123456789012-eu-west-1"


def test_bucket_names_must_leave_room_for_the_account_region_suffix():
    from infra.naming import check_bucket_names

    data = config.load().model_dump(mode="json")
    data["buckets"]["gold"] = "g" * 36
    with pytest.raises(ValueError, match="'gold'.*at most 35 characters"):
        check_bucket_names(config.parse(data))
    data["deploy"]["bucket_suffix"] = "none"  # the user picked globally unique names themselves
    check_bucket_names(config.parse(data))


def test_severity_filter_lists_the_minimum_and_everything_above():
    from infra.components.alerts import severities_at_least

    assert severities_at_least("info") == ["info", "warning", "critical"]
    assert severities_at_least("warning") == ["warning", "critical"]
    assert severities_at_least("critical") == ["critical"]


def test_firehose_prefix_helper():
    from firehose.definition import static_prefix

    assert static_prefix("raw/src=!{partitionKeyFromQuery:src}/dt=!{partitionKeyFromQuery:dt}/") == "raw/src="
    assert static_prefix("errors/!{firehose:error-output-type}/") == "errors/"
    assert static_prefix("plain/path/") == "plain/path/"


def test_missing_artifacts_name_the_make_target(tmp_path):
    from infra.artifacts import Artifacts, MissingArtifact

    art = Artifacts.from_repo(tmp_path)
    with pytest.raises(MissingArtifact) as err:
        art.check()
    for target in ("make package-producer", "make package-flink", "make package-glue"):
        assert target in str(err.value)
    assert art.queries() == {}  # no athena/queries folder: no named queries, not an error


def test_run_options_are_read_from_the_property_group_or_its_map(tmp_path):
    import json

    from infra.artifacts import RUN_OPTIONS_GROUP, Artifacts

    art = Artifacts.from_repo(tmp_path)
    art.flink_run_options.parent.mkdir(parents=True)
    options = {"python": "main.py", "jarfile": "lib/k.jar", "pyFiles": "python-packages/"}
    art.flink_run_options.write_text(json.dumps({"PropertyGroupId": RUN_OPTIONS_GROUP, "PropertyMap": options}))
    assert art.run_options() == options
    art.flink_run_options.write_text(json.dumps(options))
    assert art.run_options() == options
    art.flink_run_options.write_text(json.dumps({"PropertyGroupId": "other", "PropertyMap": options}))
    with pytest.raises(ValueError, match="PropertyGroupId must be"):
        art.run_options()
    art.flink_run_options.write_text('{"python": "main.py"}')
    with pytest.raises(ValueError, match="'python' and 'jarfile'"):
        art.run_options()


def test_lambda_requirements_leave_out_the_runtimes_boto3():
    from infra.package_producer import requirements

    reqs = requirements()
    assert not [r for r in reqs if r.startswith(("boto3", "botocore"))]
    assert any(r.startswith("aws-lambda-powertools[tracer]") for r in reqs)
    assert any(r.startswith("pydantic") for r in reqs)


def test_placeholder_artifacts_are_recognised_and_real_ones_are_not(tmp_path):
    import zipfile

    from infra.artifacts import PLACEHOLDER
    from tests.infra.conftest import placeholder_artifacts

    real = placeholder_artifacts(tmp_path / "real")  # ordinary files: what a build makes
    assert real.placeholders() == []
    with zipfile.ZipFile(real.flink_zip, "w") as z:
        z.writestr(PLACEHOLDER, "")
    real.glue_script.write_text(f"raise SystemExit('{PLACEHOLDER}')\n")
    assert real.placeholders() == [real.glue_script, real.flink_zip]


def test_synth_entry_point_stops_with_the_missing_make_targets(tmp_path, monkeypatch, capsys):
    import infra.app
    from infra.artifacts import Artifacts

    unbuilt = Artifacts.from_repo(tmp_path)  # a checkout where no make package-* ran
    monkeypatch.setattr(infra.app.Artifacts, "from_repo", classmethod(lambda cls: unbuilt))
    assert infra.app.main(["app", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "synth failed: code artifacts not built" in err and "make package-flink" in err


def test_dashboard_reads_the_producers_metric_namespace():
    from infra.components.monitoring import PRODUCER_NAMESPACE
    from producer.handler import NAMESPACE

    assert PRODUCER_NAMESPACE == NAMESPACE


def test_firehose_ingestion_is_billed_in_5_kb_increments_per_record():
    """"Ingestion pricing is tiered and billed per GB ingested in 5KB increments (a 3KB record is
    billed as 5KB, a 12KB record is billed as 15KB)" (Amazon Data Firehose pricing,
    https://aws.amazon.com/firehose/pricing/)."""
    from infra.cost import GB, firehose_billed_gb

    assert firehose_billed_gb(1, 100) == firehose_billed_gb(1, 5120) == 5120 / GB
    assert firehose_billed_gb(1, 5121) == 2 * 5120 / GB
    assert firehose_billed_gb(1000, 12 * 1024) == 1000 * 15 * 1024 / GB  # the pricing page's 12 KB example


def test_readme_cost_tables_are_the_computed_ones():
    """The cost in infra/README.md is `python -m infra.cost` for the region pipeline.yaml deploys to,
    and README.md quotes its total and fixed part."""
    from pathlib import Path

    from infra.cost import PRICES, readme_tables, stack_estimate

    p = config.load()
    assert p.region in PRICES
    root = Path(__file__).resolve().parents[2]
    assert readme_tables(p) in (root / "infra" / "README.md").read_text()
    lines = stack_estimate(p)
    total, fixed = round(sum(x.usd for x in lines)), round(sum(x.fixed_usd for x in lines))
    assert f"about {total} USD" in (root / "README.md").read_text()
    assert f"{fixed} USD of it fixed" in (root / "README.md").read_text()
