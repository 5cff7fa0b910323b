"""A local SparkSession that reaches the moto S3 endpoint through s3a, like Glue reaches S3.

The jars (hadoop-aws matching pyspark's bundled Hadoop 3.3.4 and the AWS SDK bundle) come from
Maven via `make glue-jars` (glue/pom.xml) into build/jars/, beside the job's own jar with the record
checks (`vigia-glue-checks.jar`, glue/udf), which Glue in AWS gets as `--extra-jars`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pyspark.sql import SparkSession

ROOT = Path(__file__).resolve().parent.parent
JARS_DIR = ROOT / "build" / "jars"
JARS = ("hadoop-aws-3.3.4.jar", "aws-java-sdk-bundle-1.12.262.jar", "vigia-glue-checks.jar")
DRIVER_MEMORY = "3g"


def jars() -> list[str]:
    paths = [JARS_DIR / j for j in JARS]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"missing {missing} in {JARS_DIR}: run `make glue-jars`")
    return [str(p) for p in paths]


def session(endpoint: str, region: str, app: str = "vigia-raw-to-gold") -> SparkSession:
    """Local Spark on 127.0.0.1 with s3a pointed at `endpoint` (the moto server)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # bind (and say so) on loopback only
    # 4 task slots on 2 cores: reading many small objects from S3 waits on the network, not the CPU.
    b = (SparkSession.builder.master("local[4]").appName(app)
         .config("spark.jars", ",".join(jars()))
         # The default 1 GiB runs out on a day of records (1 M) with 4 tasks sorting at once; a Glue
         # G.1X worker has 16 GB. Only read when this call starts the JVM.
         .config("spark.driver.memory", DRIVER_MEMORY)
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.shuffle.partitions", "4")
         .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
         .config("spark.sql.parquet.compression.codec", "snappy"))
    hadoop = {
        "fs.s3a.endpoint": endpoint,
        "fs.s3a.endpoint.region": region,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
        "fs.s3a.access.key": "testing",
        "fs.s3a.secret.key": "testing",
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.change.detection.mode": "none",   # moto's ETags are fine, but keep reads simple
        "mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",  # no _SUCCESS files in tables
        # Task output is renamed once, not twice: an S3 "rename" is a copy and a delete per file.
        # (Glue in AWS commits through its own S3-optimised committer.)
        "mapreduce.fileoutputcommitter.algorithm.version": "2",
    }
    for k, v in hadoop.items():
        b = b.config(f"spark.hadoop.{k}", v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
