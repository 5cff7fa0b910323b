"""The CDK app: `python -m infra.app [OUTDIR]` synthesizes the stack offline into build/cdk.out.

cdk-nag's AwsSolutions checks run on every synth; an unacknowledged finding fails the synth.
`make deploy` hands the synthesized assembly to the CDK CLI (`cdk deploy --app build/cdk.out`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.artifacts import ROOT, Artifacts
from infra.stack import VigiaStack
from vigia_core import config

DEFAULT_OUTDIR = ROOT / "build" / "cdk.out"


def stack_name(p: config.Pipeline) -> str:
    return f"{p.project}-pipeline"


def build(p: config.Pipeline, artifacts: Artifacts, outdir: Path = DEFAULT_OUTDIR) -> tuple[App, VigiaStack]:
    # Access logs are delivered under a bucket policy, not the legacy log-delivery ACL.
    app = App(outdir=str(outdir), context={"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True})
    # Region from the definition; the account from the CDK CLI's credentials if any, else
    # account-agnostic (offline synth).
    env = Environment(region=p.region, account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
    stack = VigiaStack(app, stack_name(p), pipeline=p, artifacts=artifacts, env=env)
    # Acknowledged rules are also written into the template metadata (cdk_nag.rules_to_suppress)
    # so that reviewers and tests see each suppression with its reason.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True))
    return app, stack


def nag_violations(outdir: Path) -> list[str]:
    """Unacknowledged cdk-nag findings from the validation report of a failed synth."""
    report = json.loads((outdir / "validation-report.json").read_text())
    return [f"{v['ruleName']} ({v['severity']}): {c['constructPath']}: {v['description']}"
            for plugin in report["pluginReports"] for v in plugin["violations"] for c in v["violatingConstructs"]]


def main(argv: list[str]) -> int:
    outdir = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTDIR
    try:
        p = config.load()
        artifacts = Artifacts.from_repo().check()
        app, stack = build(p, artifacts, outdir)
    except (config.ConfigError, FileNotFoundError, ValueError) as err:
        print(f"synth failed: {err}", file=sys.stderr)
        return 2
    try:
        app.synth()
    except RuntimeError as err:  # cdk-nag reports through CDK's policy validation, which raises
        if not (outdir / "validation-report.json").exists():
            raise
        for line in nag_violations(outdir):
            print(line, file=sys.stderr)
        print(f"synth failed: {err}", file=sys.stderr)
        return 1
    print(f"synthesized {stack.stack_name} into {outdir} (cdk-nag AwsSolutions: no unacknowledged findings)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
