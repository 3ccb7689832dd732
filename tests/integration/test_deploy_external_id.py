"""OPS-2 (MON-10, DEP-1): the audit role's external ID has one name everywhere (IAM_GUARD_AUDIT_EXTERNAL_ID,
or --audit-external-id on deploy) and is checked against the monitoring template's own AuditExternalId
parameter before anything is deployed; the value itself is never printed."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from iam_guard.build import build_stacks
from iam_guard.cli import main
from iam_guard.config import load_config
from iam_guard.deploy.external_id import EXTERNAL_ID_ENV, check_against_parameter
from iam_guard.errors import UsageError

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[2] / "templates" / "dev.yaml"


def monitoring_parameter() -> dict:
    (monitoring,) = build_stacks(load_config(CONFIG), only="monitoring")
    return dict(json.loads(monitoring.body)["Parameters"]["AuditExternalId"])


def nothing_deployed() -> bool:
    stacks = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    return stacks == [] and boto3.client("s3").list_buckets()["Buckets"] == []


def test_ops_2_a_short_external_id_stops_deploy_before_anything_is_deployed(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    minimum = int(monitoring_parameter()["MinLength"])
    secret = "s" * (minimum - 1)
    monkeypatch.setenv(EXTERNAL_ID_ENV, secret)

    assert main(["deploy", "--config", str(CONFIG), "--out", str(tmp_path / "out")]) == 2

    err = capsys.readouterr().err.strip()
    assert err == (
        f"iam-guard deploy: {EXTERNAL_ID_ENV}: the external ID for stack iam-guard-monitoring-dev's "
        f"AuditExternalId ({minimum - 1} characters, not shown) "
        f"is shorter than the template's MinLength {minimum}"
    )
    assert secret not in err
    assert nothing_deployed(), "the data-store stack comes first and must not be deployed either"
    assert not (tmp_path / "out").exists()


def test_ops_2_the_flag_is_checked_against_the_allowed_pattern(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(EXTERNAL_ID_ENV, raising=False)
    secret = "a perfectly long external id with spaces!"

    rc = main(["deploy", "--config", str(CONFIG), "--out", str(tmp_path), "--audit-external-id", secret])

    assert rc == 2
    err = capsys.readouterr().err.strip()
    pattern = monitoring_parameter()["AllowedPattern"]
    assert err.startswith(
        "iam-guard deploy: --audit-external-id: the external ID for stack iam-guard-monitoring-dev"
    )
    assert err.endswith(f"does not match the template's AllowedPattern {pattern}: it refuses ' ', '!'")
    assert secret not in err
    assert nothing_deployed()


def test_ops_2_the_check_follows_the_template_not_a_copy_of_it() -> None:
    parameter = monitoring_parameter()
    good = "Ab1+=,.@:/-_" * 3  # every character class the pattern allows, 36 characters
    check_against_parameter(good, parameter, EXTERNAL_ID_ENV, "s")
    stricter = {**parameter, "MinLength": 40}
    with pytest.raises(UsageError, match="MinLength 40"):
        check_against_parameter(good, stricter, EXTERNAL_ID_ENV, "s")
    with pytest.raises(UsageError, match="MaxLength 20"):
        check_against_parameter(good, {**parameter, "MaxLength": 20}, EXTERNAL_ID_ENV, "s")
    with pytest.raises(UsageError, match="AllowedPattern"):
        check_against_parameter("é" * 40, parameter, EXTERNAL_ID_ENV, "s")  # \w is ASCII in CloudFormation


def test_ops_2_audit_account_reads_the_same_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(EXTERNAL_ID_ENV, raising=False)
    monkeypatch.setenv("IAM_GUARD_EXTERNAL_ID", "x" * 40)  # the old name is no longer read

    rc = main(["audit-account", "--role-arn", "arn:aws:iam::111122223333:role/iam-guard-audit"])

    assert rc == 2
    assert (
        capsys.readouterr().err.strip().endswith(f"environment variable {EXTERNAL_ID_ENV} is empty or unset")
    )
