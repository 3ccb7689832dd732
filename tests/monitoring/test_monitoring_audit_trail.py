"""DS-10 and DS-11: the audit trail a PCI DSS assessor accepts. The trail records the data bucket's object
reads and writes (and no other bucket's) where the config says so (prod), the trail's bucket is guarded
like the data bucket and locks every log file in governance mode, and the security findings are kept a
year in prod while the functions' own logs stay at 90 days."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from monitoring_helpers import STACK, getatt, ref

from iam_guard.build import build_stacks
from iam_guard.config import ConfigError, parse_config
from iam_guard.policies.s3 import MFA_PROTECTED_ACTIONS
from support import REPO_ROOT
from template_helpers import config, props, statement, sub_text, template


@pytest.fixture
def tpl(cfg_name: str) -> dict[str, Any]:
    return template(cfg_name, STACK)


def data_bucket_name(cfg: str) -> str:
    return props(template(cfg, "data-store"), "DataBucket")["BucketName"]["Fn::Sub"]


def test_ds_10_prod_trail_records_reads_and_writes_of_the_data_bucket_only() -> None:
    assert config("prod").monitoring.data_bucket_data_events is True
    management, data = props(template("prod", STACK), "Trail")["AdvancedEventSelectors"]
    assert management["FieldSelectors"] == [{"Field": "eventCategory", "Equals": ["Management"]}]
    fields = {selector["Field"]: selector for selector in data["FieldSelectors"]}
    assert set(fields) == {"eventCategory", "resources.type", "resources.ARN"}, (
        "no readOnly: reads and writes"
    )
    assert fields["eventCategory"]["Equals"] == ["Data"]
    assert fields["resources.type"]["Equals"] == ["AWS::S3::Object"]
    [prefix] = fields["resources.ARN"]["StartsWith"]
    assert sub_text(prefix) == f"arn:${{AWS::Partition}}:s3:::{data_bucket_name('prod')}/"


def test_ds_10_is_a_config_switch_elsewhere_and_management_events_stay_on() -> None:
    assert config("dev").monitoring.data_bucket_data_events is False
    trail = props(template("dev", STACK), "Trail")
    assert "AdvancedEventSelectors" not in trail and "EventSelectors" not in trail  # management events only
    base = config("dev")
    switched = dataclasses.replace(
        base, monitoring=dataclasses.replace(base.monitoring, data_bucket_data_events=True)
    )
    tpl = json.loads(next(a.body for a in build_stacks(switched) if a.name == STACK))
    [management, data] = props(tpl, "Trail")["AdvancedEventSelectors"]
    assert management["FieldSelectors"][0]["Equals"] == ["Management"]
    assert sub_text(data["FieldSelectors"][2]["StartsWith"][0]).endswith("-dev-us-east-1/")


def test_ds_10_data_events_need_the_stacks_own_trail() -> None:
    raw = {
        "environment": "dev",
        "region": "us-east-1",
        "owner": "o",
        "data_classification": "internal",
        "alert_emails": ["a@example.com"],
        "monitoring": {
            "data_bucket_data_events": True,
            "existing_trail_arn": "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail",
        },
    }
    with pytest.raises(ConfigError, match=r"^c\.yaml: monitoring\.data_bucket_data_events: true needs"):
        parse_config(raw, source="c.yaml")
    raw["monitoring"] = {"data_bucket_data_events": "yes"}
    with pytest.raises(
        ConfigError, match=r"monitoring\.data_bucket_data_events: expected true or false, got 'yes'"
    ):
        parse_config(raw, source="c.yaml")


def test_ds_10_readme_states_the_per_event_cost() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert "$0.10 per 100,000 data events" in readme


def test_ds_11_trail_bucket_has_the_data_buckets_mfa_guard(tpl: dict[str, Any]) -> None:
    guard = statement(
        props(tpl, "TrailBucketPolicy")["PolicyDocument"], "DenyDestructiveOperationsWithoutMfa"
    )
    data_guard = statement(
        props(template("prod", "data-store"), "DataBucketPolicy")["PolicyDocument"],
        "DenyDestructiveOperationsWithoutMfa",
    )
    assert guard["Effect"] == "Deny" and guard["Principal"] == "*"
    assert set(guard["Action"]) == set(MFA_PROTECTED_ACTIONS) == set(data_guard["Action"])
    assert (
        guard["Condition"]
        == data_guard["Condition"]
        == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    )
    assert guard["Resource"][0] == getatt("TrailBucket")
    assert sub_text(guard["Resource"][1]) == "${BucketArn}/*"


def test_ds_11_trail_bucket_locks_log_files_in_governance_mode(tpl: dict[str, Any], cfg_name: str) -> None:
    days = config(cfg_name).monitoring.trail_object_lock_days
    assert days == (365 if cfg_name == "prod" else 90)
    bucket = props(tpl, "TrailBucket")
    assert bucket["ObjectLockEnabled"] is True
    assert bucket["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": days}},
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}, "Object Lock needs versioning"


def test_ds_11_trail_bucket_access_is_logged(tpl: dict[str, Any]) -> None:
    assert props(tpl, "TrailBucket")["LoggingConfiguration"] == {
        "DestinationBucketName": ref("TrailAccessLogBucket"),
        "LogFilePrefix": "trail-bucket/",
    }


def test_ds_11_security_findings_are_kept_a_year_in_prod_function_logs_90_days() -> None:
    prod_settings = config("prod").monitoring
    assert (prod_settings.security_log_retention_days, prod_settings.log_retention_days) == (365, 90)
    assert config("dev").monitoring.security_log_retention_days == 90
    for cfg, security in (("prod", 365), ("dev", 90)):
        tpl = template(cfg, STACK)
        assert props(tpl, "SecurityEventsLogGroup")["RetentionInDays"] == security, cfg
        for group in ("PolicyAnalyzerLogGroup", "DailyAuditorLogGroup"):
            assert props(tpl, group)["RetentionInDays"] == 90, (cfg, group)
    lines = (REPO_ROOT / "templates" / "prod.yaml").read_text().splitlines()
    setting = next(i for i, line in enumerate(lines) if line.strip() == "security_log_retention_days: 365")
    reason = " ".join(lines[setting - 2 : setting])
    assert "PCI DSS 10.7" in reason and reason.lstrip().startswith("#"), "the reason sits right above it"


def access_log_expiration_days(tpl: dict[str, Any], logical_id: str) -> int:
    rules = props(tpl, logical_id)["LifecycleConfiguration"]["Rules"]
    (rule,) = [r for r in rules if "ExpirationInDays" in r]
    return int(rule["ExpirationInDays"])


def test_ds_11_trail_access_logs_follow_the_monitoring_setting_not_the_data_stores() -> None:
    base = config("dev")
    settings = dataclasses.replace(
        base,
        monitoring=dataclasses.replace(base.monitoring, trail_access_log_retention_days=400),
        data_store=dataclasses.replace(base.data_store, access_log_retention_days=30),
    )
    stacks = {artifact.name: json.loads(artifact.body) for artifact in build_stacks(settings)}
    assert access_log_expiration_days(stacks[STACK], "TrailAccessLogBucket") == 400
    assert access_log_expiration_days(stacks["data-store"], "AccessLogBucket") == 30
    for cfg in ("dev", "prod"):
        expected = config(cfg).monitoring.trail_access_log_retention_days
        assert access_log_expiration_days(template(cfg, STACK), "TrailAccessLogBucket") == expected, cfg


@pytest.mark.parametrize("bad", [0, 3651, "365", 365.0])
def test_ds_11_trail_access_log_retention_is_validated(bad: object) -> None:
    raw = {
        "environment": "dev",
        "region": "us-east-1",
        "owner": "o",
        "data_classification": "internal",
        "alert_emails": ["a@example.com"],
        "monitoring": {"trail_access_log_retention_days": bad},
    }
    with pytest.raises(ConfigError, match=r"^c\.yaml: monitoring\.trail_access_log_retention_days: "):
        parse_config(raw, source="c.yaml")
