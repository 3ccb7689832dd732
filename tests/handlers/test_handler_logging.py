"""H-1 / H-2 (issue 14): the handlers' log lines in Powertools for AWS Lambda's structured format, written
with the standard library's logging: level, timestamp, service, the function request ID, and the
CloudTrail event ID (the audit's run ID) as correlation ID; filtered by the level Lambda passes from the
function's LoggingConfig. Metrics are EMF lines printed at once, so a failing invocation loses none."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest
from audit_helpers import ClockContext, scheduled
from botocore.exceptions import ClientError
from handler_helpers import (
    ACCOUNT,
    FakeContext,
    Monitoring,
    emf_records,
    load_event,
    log_lines,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)

import audit_run
import daily_audit
import policy_change
import structured_log
from support import HANDLERS_DIR

EVENT_ID = "5f6e7d8c-0000-4000-8000-000000000004"  # put_role_policy_url_encoded.json's eventID
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def create_app_runner(monitoring: Monitoring) -> None:
    monitoring.iam.create_role(RoleName="app-runner", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))


@pytest.mark.integration
def test_h_1_every_policy_change_line_carries_the_request_id_and_the_event_id(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_app_runner(monitoring)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL", raising=False)
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f;Sampled=1"
    )
    context = FakeContext()

    policy_change.handler(load_event("put_role_policy_url_encoded"), context)

    lines = log_lines(capsys.readouterr().out)
    assert "policy change processed" in [line["message"] for line in lines]
    for line in lines:
        assert line["function_request_id"] == context.aws_request_id, line
        assert line["correlation_id"] == EVENT_ID, line
        assert line["service"] == "iam-guard-policy-change", line
        assert line["function_name"] == "iam-guard-policy-change-dev", line
        assert line["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793", line
        assert line["level"] in ("DEBUG", "INFO", "WARN", "ERROR"), line
        assert ISO_MILLIS.match(line["timestamp"]), line
        assert line["location"].startswith(("policy_change:", "lambda_support:", "event_marks:")), line
    [processed] = [line for line in lines if line["message"] == "policy change processed"]
    # the caller's fields stay at the top level
    assert (processed["eventId"], processed["eventName"], processed["level"]) == (
        EVENT_ID,
        "PutRolePolicy",
        "INFO",
    )
    assert processed["location"].startswith("policy_change:_report:")


def test_h_1_cold_start_is_true_on_the_first_invocation_of_a_container_and_false_after() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(HANDLERS_DIR)!r})
        import structured_log

        class Context:
            aws_request_id = "r-1"
            function_name = "iam-guard-policy-change-dev"

        for request in ("r-1", "r-2"):
            Context.aws_request_id = request
            with structured_log.invocation(Context, "policy_change", correlation_id="e-" + request):
                structured_log.log("INFO", "hello")
        structured_log.log("INFO", "between invocations")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env={"LOG_LEVEL": "INFO"}
    ).stdout
    first, second, between = (json.loads(line) for line in out.splitlines())
    assert (first["cold_start"], first["function_request_id"], first["correlation_id"]) == (
        True,
        "r-1",
        "e-r-1",
    )
    assert (second["cold_start"], second["function_request_id"], second["correlation_id"]) == (
        False,
        "r-2",
        "e-r-2",
    )
    assert (between["function_request_id"], between["correlation_id"], between["service"]) == (
        None,
        None,
        "iam-guard",
    )


def test_h_1_the_level_lambda_passes_overrides_log_level(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "WARN")  # Lambda's name for WARNING
    for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        structured_log.log(level, f"at {level}")
    monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL")
    structured_log.log("DEBUG", "LOG_LEVEL applies without it")

    lines = log_lines(capsys.readouterr().out)
    assert [(line["level"], line["message"]) for line in lines] == [
        ("WARN", "at WARNING"),
        ("ERROR", "at ERROR"),
        ("DEBUG", "LOG_LEVEL applies without it"),
    ]


@pytest.mark.integration
def test_h_1_an_invocation_at_warn_writes_no_info_lines(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_app_runner(monitoring)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "WARN")

    result = policy_change.handler(load_event("put_role_policy_url_encoded"), FakeContext())

    out = capsys.readouterr().out
    assert result["findings"] >= 1
    assert log_lines(out) == []
    assert len(emf_records(out)) == 1  # metrics are not log lines: never filtered


def test_h_1_a_field_with_a_lone_surrogate_still_prints(capsys: pytest.CaptureFixture[str]) -> None:
    structured_log.log("WARNING", "odd name \udcff", principal="role/\ud800x")

    [line] = log_lines(capsys.readouterr().out)
    assert (line["message"], line["principal"]) == ("odd name \udcff", "role/\ud800x")


def test_h_1_a_field_cannot_overwrite_the_correlation_keys(capsys: pytest.CaptureFixture[str]) -> None:
    context = FakeContext()
    with structured_log.invocation(context, "policy_change", correlation_id=EVENT_ID):
        structured_log.log("INFO", "spoof", correlation_id="forged", level="DEBUG", function_request_id="x")

    [line] = log_lines(capsys.readouterr().out)
    assert (line["correlation_id"], line["level"], line["function_request_id"]) == (
        EVENT_ID,
        "INFO",
        context.aws_request_id,
    )


@pytest.mark.integration
def test_h_1_metrics_of_a_failing_invocation_are_on_stdout_when_the_exception_propagates(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_app_runner(monitoring)
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    monkeypatch.setenv("QUARANTINE_POLICY_ARN", f"arn:aws:iam::{ACCOUNT}:policy/deleted-quarantine")

    with pytest.raises(ClientError) as raised:
        policy_change.handler(load_event("put_role_policy_url_encoded"), FakeContext())
    out = capsys.readouterr().out  # read before anything else runs: emit_metrics buffers nothing

    assert raised.value.response["Error"]["Code"] == "NoSuchEntity"
    [metrics] = emf_records(out)
    assert (metrics["PolicyChangesAnalyzed"], metrics["RemediationsApplied"]) == (1.0, 0.0)
    assert metrics["FindingsHigh"] >= 1


@pytest.mark.integration
def test_h_2_audit_lines_carry_the_run_id_as_correlation_id(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    audit_run.set_container_memory(audit_run.ContainerMemory())

    [run] = daily_audit.handler(scheduled("nightly-logs"), ClockContext(60_000, aws_request_id="audit-1"))[
        "runs"
    ]

    lines = log_lines(capsys.readouterr().out)
    assert run["runId"] == "nightly-logs"
    assert "audit run started" in [line["message"] for line in lines]
    for line in lines:
        assert (line["correlation_id"], line["function_request_id"]) == ("nightly-logs", "audit-1"), line
        assert line["service"] == "iam-guard-daily-audit", line


def test_h_1_lines_carry_the_level_names_lambdas_filter_reads(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lambda's log-level filter knows TRACE, DEBUG, INFO, WARN, ERROR and FATAL; any other "level" is filed
    as INFO, so a WARNING line would be discarded by an ApplicationLogLevel of WARN."""
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL", raising=False)
    for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        structured_log.log(level, f"at {level}")

    lines = log_lines(capsys.readouterr().out)
    assert [line["level"] for line in lines] == ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
