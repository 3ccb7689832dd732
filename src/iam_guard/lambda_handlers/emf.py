"""CloudWatch embedded metric format (EMF): metrics written as one structured JSON line on stdout, which
the Lambda log pipeline turns into CloudWatch metrics without a PutMetricData call (EDGE-4).

A dozen lines of our own instead of Powertools for AWS Lambda: no dependency to bundle or pin as a layer,
and nothing to import at cold start beyond json. Spec:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from iam_guard.analysis import Severity

COUNT = "Count"
SECONDS = "Seconds"
# EMF allows at most 100 metrics in one directive.
MAX_METRICS_PER_RECORD = 100


def severity_metric_name(severity: Severity) -> str:
    """FindingsCritical, FindingsHigh, ... for a severity."""
    return f"Findings{severity.label.capitalize()}"


def findings_metrics(counts: Mapping[Severity, int]) -> dict[str, tuple[float, str]]:
    """One Count metric per severity (zeros included, so dashboards and alarms see explicit zeros)."""
    return {severity_metric_name(sev): (float(counts.get(sev, 0)), COUNT) for sev in Severity}


def emf_record(
    namespace: str,
    dimensions: Mapping[str, str],
    metrics: Mapping[str, tuple[float, str]],
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """The EMF document for `metrics` ({name: (value, unit)}) under one dimension set."""
    if not metrics:
        raise ValueError("an EMF record needs at least one metric")
    if len(metrics) > MAX_METRICS_PER_RECORD:
        raise ValueError(f"an EMF record holds at most {MAX_METRICS_PER_RECORD} metrics, got {len(metrics)}")
    stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    directive = {
        "Namespace": namespace,
        "Dimensions": [sorted(dimensions)],
        "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in sorted(metrics.items())],
    }
    record: dict[str, Any] = {"_aws": {"Timestamp": stamp, "CloudWatchMetrics": [directive]}}
    record.update(dimensions)
    record.update({name: value for name, (value, _) in metrics.items()})
    return record


def emit_metrics(
    namespace: str,
    dimensions: Mapping[str, str],
    metrics: Mapping[str, tuple[float, str]],
    stream: TextIO | None = None,
) -> dict[str, Any]:
    """Write the EMF record for `metrics` as one line on stdout (or `stream`); returns the record."""
    record = emf_record(namespace, dimensions, metrics)
    out = sys.stdout if stream is None else stream
    out.write(json.dumps(record, sort_keys=True) + "\n")
    out.flush()
    return record
