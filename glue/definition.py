"""The Glue job's settings, derived from the pipeline definition, for the CDK app in `infra/`.

`make package-glue` builds the two files the job needs (`build/glue/raw_to_gold.py` and
`build/glue/vigia_glue_libs.zip`) plus `build/glue/pipeline.yaml`, which the job reads from S3.
"""

from __future__ import annotations

from vigia.config import Pipeline

GLUE_VERSION = "5.0"
SCRIPT = "build/glue/raw_to_gold.py"
LIBS_ZIP = "build/glue/vigia_glue_libs.zip"
PIPELINE_FILE = "build/glue/pipeline.yaml"
# Imported by the shared `vigia` modules and not part of the Glue 5.0 runtime: installed by Glue
# from PyPI when the job starts.
ADDITIONAL_MODULES = ["pydantic>=2.6,<3", "jsonschema>=4.20", "PyYAML>=6"]


def default_arguments(p: Pipeline, libs_uri: str, pipeline_uri: str, temp_uri: str) -> dict[str, str]:
    """DefaultArguments of the job: bookmarks on (only new raw files are read), libraries, metrics."""
    return {
        "--job-bookmark-option": "job-bookmark-enable",
        "--extra-py-files": libs_uri,
        "--additional-python-modules": ",".join(ADDITIONAL_MODULES),
        "--pipeline_uri": pipeline_uri,
        "--TempDir": temp_uri,
        "--enable-metrics": "true",
        "--enable-continuous-cloudwatch-log": "true",
        "--enable-job-insights": "true",
        "--conf": "spark.sql.sources.partitionOverwriteMode=dynamic",
    }
