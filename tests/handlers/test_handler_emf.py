"""EDGE-4: the embedded-metric-format writer, and the alert/log helpers it sits beside."""

from __future__ import annotations

import io
import json

import handler_helpers  # noqa: F401 (puts the handler modules on sys.path)
import pytest

from alerts import MAX_SUBJECT_CHARS, _batches, log_stream_name, safe_subject
from emf import COUNT, SECONDS, emf_record, emit_metrics, findings_metrics
from iam_guard.analysis import Severity


def test_edge_4_emf_record_follows_the_cloudwatch_specification() -> None:
    record = emf_record(
        "IamGuard",
        {"Environment": "prod"},
        {"PoliciesAudited": (42.0, COUNT), "AuditDurationSeconds": (12.5, SECONDS)},
        timestamp_ms=1_795_000_000_000,
    )

    assert record == {
        "_aws": {
            "Timestamp": 1_795_000_000_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "IamGuard",
                    "Dimensions": [["Environment"]],
                    "Metrics": [
                        {"Name": "AuditDurationSeconds", "Unit": "Seconds"},
                        {"Name": "PoliciesAudited", "Unit": "Count"},
                    ],
                }
            ],
        },
        "Environment": "prod",
        "PoliciesAudited": 42.0,
        "AuditDurationSeconds": 12.5,
    }


def test_edge_4_emit_metrics_writes_exactly_one_json_line() -> None:
    stream = io.StringIO()

    emit_metrics("IamGuard", {"Environment": "dev"}, {"PolicyChangesAnalyzed": (1.0, COUNT)}, stream)

    [line] = stream.getvalue().splitlines()
    parsed = json.loads(line)
    assert parsed["PolicyChangesAnalyzed"] == 1.0
    assert parsed["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "IamGuard"


def test_edge_4_findings_metrics_name_every_severity_including_zeros() -> None:
    metrics = findings_metrics({Severity.CRITICAL: 2, Severity.LOW: 1})

    assert metrics == {
        "FindingsCritical": (2.0, COUNT),
        "FindingsHigh": (0.0, COUNT),
        "FindingsMedium": (0.0, COUNT),
        "FindingsLow": (1.0, COUNT),
        "FindingsInfo": (0.0, COUNT),
    }


def test_edge_4_emf_limits_are_enforced() -> None:
    with pytest.raises(ValueError, match="at least one metric"):
        emf_record("IamGuard", {"Environment": "dev"}, {})
    too_many = {f"M{number}": (1.0, COUNT) for number in range(101)}
    with pytest.raises(ValueError, match="at most 100 metrics"):
        emf_record("IamGuard", {"Environment": "dev"}, too_many)


def test_h_1_alert_subjects_are_one_ascii_line_under_100_characters() -> None:
    subject = safe_subject("[iam-guard dev] CRITICAL:\nPutRolePolicy role é" + "x" * 200)

    assert len(subject) == MAX_SUBJECT_CHARS
    assert "\n" not in subject
    assert subject.isascii()
    assert subject.endswith("...")
    assert safe_subject("short subject") == "short subject"


def test_h_1_security_log_batches_respect_put_log_events_limits() -> None:
    events = [{"timestamp": 2_000 - number, "message": "x" * 200_000} for number in range(12)]

    batches = list(_batches(events))

    assert sum(len(batch) for batch in batches) == 12
    for batch in batches:
        assert sum(len(event["message"]) + 26 for event in batch) <= 1_048_576
        assert [event["timestamp"] for event in batch] == sorted(event["timestamp"] for event in batch)
    assert ":" not in log_stream_name("fn", "run:1*2")
