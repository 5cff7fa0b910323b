"""Locally, do what CloudWatch Logs does with Embedded Metric Format lines: turn them into metrics.

In Lambda, Powertools prints EMF JSON to stdout and CloudWatch extracts the metrics from the log.
Locally we capture those lines and put the same metrics on the moto CloudWatch endpoint.
"""

from __future__ import annotations

import json


def parse(lines: str) -> list[dict]:
    """EMF documents in `lines` (other output is ignored)."""
    docs = []
    for line in lines.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            doc = json.loads(line)
            if "CloudWatchMetrics" in doc.get("_aws", {}):
                docs.append(doc)
    return docs


def to_metric_data(doc: dict) -> tuple[str, list[dict]]:
    """(namespace, MetricData) for one EMF document."""
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    dims = [{"Name": d, "Value": str(doc[d])} for dset in directive["Dimensions"] for d in dset]
    data = []
    for m in directive["Metrics"]:
        values = doc[m["Name"]]
        for v in values if isinstance(values, list) else [values]:
            data.append({"MetricName": m["Name"], "Dimensions": dims, "Value": float(v),
                         "Unit": m.get("Unit", "None")})
    return directive["Namespace"], data


def forward(cloudwatch, lines: str) -> int:
    """Put the metrics of every EMF line on `cloudwatch`; the number of data points."""
    n = 0
    for doc in parse(lines):
        namespace, data = to_metric_data(doc)
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)
        n += len(data)
    return n
