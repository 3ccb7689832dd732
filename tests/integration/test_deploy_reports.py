"""DEP-1 / DS-9 reports that need no emulator: the change-set review table (with replacements, which
moto never reports), the failing-event block in CloudFormation's own event shape (moto records no
*_FAILED events), flat outputs, and the retained resources read from the generated templates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from iam_guard.build import build_stacks
from iam_guard.config import load_config
from iam_guard.deploy.changes import format_change_set, format_failure
from iam_guard.deploy.runner import flat_outputs, retained_resources
from iam_guard.deploy.stacks import StackResult
from iam_guard.sandbox.emulator import MOTO_GAPS, unsupported_resources

CHANGES = [
    {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Add",
            "LogicalResourceId": "NewQueue",
            "ResourceType": "AWS::SQS::Queue",
        },
    },
    {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Modify",
            "LogicalResourceId": "DataBucket",
            "ResourceType": "AWS::S3::Bucket",
            "Replacement": "True",
        },
    },
    {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Modify",
            "LogicalResourceId": "PolicyAnalyzerRole",
            "ResourceType": "AWS::IAM::Role",
            "Replacement": "Conditional",
        },
    },
    {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Remove",
            "LogicalResourceId": "OldTopic",
            "ResourceType": "AWS::SNS::Topic",
        },
    },
]


def test_dep_1_review_table_shows_add_modify_remove_and_flags_replacement() -> None:
    table = format_change_set("iam-guard-data-store-dev", CHANGES)

    lines = table.splitlines()
    assert lines[0] == "Change set for stack iam-guard-data-store-dev: 4 resource change(s)"
    rows = {line.split()[1]: line.split(maxsplit=3) for line in lines[2:]}
    assert rows["NewQueue"] == ["Add", "NewQueue", "AWS::SQS::Queue"]
    assert rows["DataBucket"][:3] == ["Modify", "DataBucket", "AWS::S3::Bucket"]
    assert rows["DataBucket"][3] == "True (REPLACED: new physical resource)"
    assert rows["PolicyAnalyzerRole"][3] == "Conditional"
    assert rows["OldTopic"] == ["Remove", "OldTopic", "AWS::SNS::Topic"]


def cloudformation_events() -> list[dict[str, object]]:
    """DescribeStackEvents of a failed create, newest first, as CloudFormation returns them."""
    start = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    shape = [
        ("iam-guard-monitoring-dev", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", ""),
        ("PolicyAnalyzerFunction", "AWS::Lambda::Function", "DELETE_COMPLETE", ""),
        ("AlertTopic", "AWS::SNS::Topic", "CREATE_FAILED", "Resource creation cancelled"),
        (
            "PolicyAnalyzerFunction",
            "AWS::Lambda::Function",
            "CREATE_FAILED",
            'Resource handler returned message: "Error occurred while GetObject. S3 Error Code: NoSuchKey"',
        ),
        ("PolicyAnalyzerFunction", "AWS::Lambda::Function", "CREATE_IN_PROGRESS", ""),
    ]
    return [
        {
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceStatus": status,
            "ResourceStatusReason": reason,
            "Timestamp": start - timedelta(seconds=index),
        }
        for index, (logical_id, resource_type, status, reason) in enumerate(shape)
    ]


def test_dep_1_failure_block_lists_each_failing_resource_oldest_first() -> None:
    block = format_failure("iam-guard-monitoring-dev", "ROLLBACK_COMPLETE", "", cloudformation_events())

    lines = block.splitlines()
    assert lines[0] == "Deploy of stack iam-guard-monitoring-dev FAILED: ROLLBACK_COMPLETE"
    table = [line.split(maxsplit=3) for line in lines[lines.index("  failing resource events:") + 1 :]]
    assert table[0] == ["LogicalId", "Type", "Status", "Reason"]
    assert table[1][:3] == ["PolicyAnalyzerFunction", "AWS::Lambda::Function", "CREATE_FAILED"]
    assert "NoSuchKey" in table[1][3]
    assert table[2] == ["AlertTopic", "AWS::SNS::Topic", "CREATE_FAILED", "Resource creation cancelled"]
    assert len(table) == 3, "only the failed events"


def test_dep_1_flat_outputs_merge_stacks_sorted_and_refuse_a_clash() -> None:
    first = StackResult("a", "us-east-1", "created", "", {"Zeta": "1", "Alpha": "2"})
    second = StackResult("b", "us-east-1", "unchanged", "", {"Mid": "3"})
    assert list(flat_outputs([first, second]).items()) == [("Alpha", "2"), ("Mid", "3"), ("Zeta", "1")]
    clash = StackResult("c", "us-east-1", "created", "", {"Alpha": "other"})
    with pytest.raises(ValueError, match="Alpha"):
        flat_outputs([first, clash])


def test_ds_9_destroy_knows_the_retained_data_keys_and_logs_from_the_template() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "templates" / "dev.yaml")
    (data_store,) = build_stacks(config, only="data-store")

    retained = retained_resources(data_store.body)

    assert retained["DataBucket"] == "AWS::S3::Bucket"
    assert retained["AccessLogBucket"] == "AWS::S3::Bucket"
    assert retained["DataKey"] == "AWS::KMS::Key"
    assert retained["DataStoreAuditLogGroup"] == "AWS::Logs::LogGroup"
    resources = json.loads(data_store.body)["Resources"]
    assert all(resources[name]["DeletionPolicy"] == "Retain" for name in retained)
    assert "DataAnalystRole" not in retained


@pytest.mark.parametrize("config_name", ["dev.yaml", "prod.yaml"])
def test_dep_2_every_resource_type_moto_skips_is_listed_in_the_gap_list(config_name: str) -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "templates" / config_name)
    listed = MOTO_GAPS["unsupported-resource-types"]
    for artifact in build_stacks(config):
        for logical_id, resource_type in unsupported_resources(artifact.body).items():
            assert resource_type in listed, f"{artifact.name}/{logical_id}: add {resource_type} to MOTO_GAPS"
