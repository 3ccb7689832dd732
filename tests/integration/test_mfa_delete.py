"""DS-2's command on moto's server: `iam-guard mfa-delete status|enable`. moto ignores the MFA header and
never reports MFADelete (MOTO_GAPS["mfa-delete"]), so these tests check what reaches S3 (the x-amz-mfa
header and the MFADelete element, observed with a botocore event hook, not a mock) and that the command
reports the state S3 gives back, never claiming MFA delete is on when S3 does not say so."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from fault_injection import FaultProxy, FaultRule
from iam_guard.cli import main
from iam_guard.deploy.mfa_delete import enable, read_state

pytestmark = pytest.mark.integration

BUCKET = "iam-guard-data-123456789012-dev-us-east-1"
SERIAL = "arn:aws:iam::123456789012:mfa/root-account-mfa-device"
LIFECYCLE = {
    "Rules": [
        {
            "ID": "abort-incomplete-multipart",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]
}


def make_bucket(versioned: bool = False, lifecycle: bool = False) -> Any:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    if versioned:
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    if lifecycle:
        s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration=LIFECYCLE)
    return s3


def header(request: Any, name: str) -> str:
    value = request.headers[name]
    return value.decode() if isinstance(value, bytes) else str(value)


def recorded_versioning_requests(s3: Any) -> list[Any]:
    """Every PutBucketVersioning request the client sends, as sent (headers and body)."""
    sent: list[Any] = []
    s3.meta.events.register("before-send.s3.PutBucketVersioning", lambda request, **_: sent.append(request))
    return sent


def test_ds_2_status_reports_versioning_mfa_delete_and_lifecycle_rules(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(versioned=True, lifecycle=True)

    assert main(["mfa-delete", "status", "--bucket", BUCKET]) == 0

    lines = [line.split(":", 1) for line in capsys.readouterr().out.splitlines() if ":" in line]
    state = {key.strip(): value.strip() for key, value in lines}
    assert state["versioning"] == "Enabled"
    assert state["MFA delete"] == "Disabled"
    assert state["lifecycle rules"] == "1"


def test_ds_2_status_of_an_unversioned_bucket(aws: str) -> None:
    s3 = make_bucket()
    state = read_state(s3, BUCKET)
    assert (state.versioning, state.mfa_delete, state.lifecycle_rules) == (
        "Off (never enabled)",
        "Disabled",
        0,
    )


def test_ds_2_enable_refuses_while_lifecycle_rules_exist(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(lifecycle=True)

    rc = main(["mfa-delete", "enable", "--bucket", BUCKET, "--serial", SERIAL, "--code", "123456"])

    assert rc == 1
    out = capsys.readouterr().out
    assert "only be switched on by the bucket owner's root user" in out
    assert "CloudFormation" in out
    assert "refusing" in out and "lifecycle" in out and "--accept-lifecycle-conflict" in out
    assert "Status" not in boto3.client("s3").get_bucket_versioning(Bucket=BUCKET), "nothing may be changed"


def test_ds_2_enable_with_accepted_conflict_prints_the_consequence_and_sends_the_mfa_header(aws: str) -> None:
    s3 = make_bucket(lifecycle=True)
    sent = recorded_versioning_requests(s3)
    said: list[str] = []

    rc = enable(s3, BUCKET, SERIAL, "654321", accept_lifecycle_conflict=True, say=said.append)

    (request,) = sent
    assert header(request, "x-amz-mfa") == f"{SERIAL} 654321"
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
    assert "<MfaDelete>Enabled</MfaDelete>" in body and "<Status>Enabled</Status>" in body
    text = "\n".join(said)
    assert "--accept-lifecycle-conflict given. Consequence:" in text
    assert "noncurrent versions and incomplete uploads accumulate" in text
    assert boto3.client("s3").get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    # moto does not model MFA delete, so S3 (moto) does not report it: the command must say it is NOT on.
    assert rc == 1
    assert "it is NOT on" in text


def test_ds_2_enable_without_lifecycle_rules_calls_s3_once(aws: str) -> None:
    s3 = make_bucket()
    sent = recorded_versioning_requests(s3)

    enable(s3, BUCKET, SERIAL, "000111", accept_lifecycle_conflict=False, say=lambda _: None)

    assert [header(r, "x-amz-mfa") for r in sent] == [f"{SERIAL} 000111"]


@pytest.mark.parametrize(
    ("flag", "value", "other"),
    [
        ("--serial", "arn:aws:iam::123456789012:user/alice", ["--code", "123456"]),
        ("--serial", "not-a-serial", ["--code", "123456"]),
        ("--code", "12345", ["--serial", SERIAL]),
        ("--code", "12345a", ["--serial", SERIAL]),
        ("--code", "1234567", ["--serial", SERIAL]),
    ],
)
def test_ds_2_enable_rejects_a_bad_serial_or_code_with_exit_2_naming_the_field(
    aws: str, capsys: pytest.CaptureFixture[str], flag: str, value: str, other: list[str]
) -> None:
    s3 = make_bucket()

    rc = main(["mfa-delete", "enable", "--bucket", BUCKET, flag, value, *other])

    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert flag in err and repr(value) in err
    assert "Status" not in s3.get_bucket_versioning(Bucket=BUCKET)


def test_ds_2_status_of_a_missing_bucket_is_a_usage_error(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mfa-delete", "status", "--bucket", "no-such-bucket-here"]) == 2
    err = capsys.readouterr().err
    assert "--bucket" in err and "no-such-bucket-here" in err and "does not exist" in err


def test_ds_2_an_s3_server_error_is_one_block_naming_the_bucket(
    fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bucket()
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    fault_proxy.add(FaultRule("s3", "", "error500"))  # S3 is REST: the proxy sees no operation name

    assert main(["mfa-delete", "status", "--bucket", BUCKET]) == 1

    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line.strip() for line in err.strip().splitlines()]
    assert lines[0] == "iam-guard mfa-delete status: AWS error, stopped"
    assert lines[1] == f"bucket:    {BUCKET}"
    assert lines[2] == "operation: GetBucketVersioning"
    assert lines[3].startswith("error:     InternalFailure: injected error500")
