"""Variants of a pipeline definition for tests and benchmarks: unique names, changed settings."""

from __future__ import annotations

import socket

from vigia_core import config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_pipeline(base: config.Pipeline, suffix: str) -> config.Pipeline:
    """A copy of `base` whose AWS resource names all end in `suffix`."""
    data = base.model_dump(mode="json")
    data["stream"]["name"] += f"-{suffix}"
    for k in data["buckets"]:
        data["buckets"][k] += f"-{suffix}"
    data["alerts"]["topic"] += f"-{suffix}"
    data["alerts"]["dead_letter_queue"] += f"-{suffix}"
    data["operations"]["topic"] += f"-{suffix}"
    data["firehose"]["name"] += f"-{suffix}"
    data["glue"]["database"] += f"_{suffix.replace('-', '_')}"
    return config.parse(data)


def with_source(p: config.Pipeline, name: str, **changes) -> config.Pipeline:
    """A copy of `p` with fields of source `name` changed (e.g. its url)."""
    data = p.model_dump(mode="json")
    for s in data["producer"]["sources"]:
        if s["name"] == name:
            s.update(changes)
    return config.parse(data)


def with_settings(p: config.Pipeline, section: str, **changes) -> config.Pipeline:
    """A copy of `p` with keys of a dotted `section` (e.g. "producer.kinesis") changed."""
    data = p.model_dump(mode="json")
    node = data
    for key in section.split("."):
        node = node[key]
    node.update(changes)
    return config.parse(data)
