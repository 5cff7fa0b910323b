"""Deployed names. Bucket names are global across all AWS accounts, so by default each bucket
gets the suffix `-<account>-<region>`; the deployed code learns it from VIGIA_BUCKET_SUFFIX
(`vigia_core.config.load()` applies it), so every component still reads the one definition."""

from __future__ import annotations

from aws_cdk import Aws

from vigia_core.config import BUCKET_SUFFIX_ENV, Pipeline

__all__ = ["BUCKET_SUFFIX_ENV", "bucket_suffix", "check_bucket_names"]

# "-" + 12-digit account + "-" + the longest region name (e.g. ap-southeast-5).
_SUFFIX_MAX = 1 + 12 + 1 + len("ap-southeast-5")
_BUCKET_MAX = 63


def bucket_suffix(p: Pipeline) -> str:
    """The suffix appended to every bucket name of the definition (a CloudFormation expression)."""
    return f"-{Aws.ACCOUNT_ID}-{Aws.REGION}" if p.deploy.bucket_suffix == "account_region" else ""


def check_bucket_names(p: Pipeline) -> None:
    if p.deploy.bucket_suffix != "account_region":
        return
    limit = _BUCKET_MAX - _SUFFIX_MAX
    too_long = {k: v for k, v in p.buckets.model_dump().items() if len(v) > limit}
    if too_long:
        raise ValueError(f"buckets {too_long}: at most {limit} characters when deploy.bucket_suffix is "
                         f"account_region (S3 allows {_BUCKET_MAX} with the suffix -<account>-<region>)")
